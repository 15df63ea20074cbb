//! The emulator's endpoints: one table of routes, each served on one of
//! the two origins (Vercel's `vercel.com` / `api.vercel.com` split), and
//! the dispatcher that reads it. Adding an endpoint is one module and one
//! row of [`ROUTES`].

// Handlers bail out with a finished response; its size does not matter here.
#![allow(clippy::result_large_err)]

use std::sync::atomic::{AtomicU64, Ordering};

use http::StatusCode;
use serde_json::json;

use super::origins::{Origin, Reached};
use super::{Counters, Emulator, pages};

mod account;
mod authorize;
mod avatar;
mod client_auth;
mod discovery;
mod introspection;
mod respond;
mod revocation;
mod sso;
mod token;
mod user_tokens;
mod userinfo;

pub(super) use respond::Response;
use respond::{html, json_response, oauth_error};

pub(super) const AUTHORIZE: &str = "/oauth/authorize";
pub(super) const DECISION: &str = "/oauth/authorize/decision";
pub(super) const TOKEN: &str = "/login/oauth/token";
pub(super) const REVOKE: &str = "/login/oauth/token/revoke";
pub(super) const INTROSPECT: &str = "/login/oauth/token/introspect";
pub(super) const USERINFO: &str = "/login/oauth/userinfo";
pub(super) const JWKS: &str = "/.well-known/jwks";
pub(super) const AVATAR_PREFIX: &str = "/api/www/avatar/";
pub(super) const ACCOUNT: &str = "/account/authorizations";
pub(super) const ACCOUNT_REMOVE: &str = "/account/authorizations/remove";

type Request = http::Request<Vec<u8>>;
type Handler = fn(&Emulator, &Request) -> Response;

/// Which path a route answers.
enum Path {
    Exact(&'static str),
    /// Everything under a prefix, e.g. `/api/www/avatar/<id>`.
    Prefix(&'static str),
}

/// Which request counter of [`super::Stats`] a route adds to.
#[derive(Clone, Copy)]
enum Count {
    Discovery,
    Jwks,
    Authorize,
    Token,
    Revoke,
    Introspect,
    Userinfo,
}

impl Counters {
    fn of(&self, count: Count) -> &AtomicU64 {
        match count {
            Count::Discovery => &self.discovery,
            Count::Jwks => &self.jwks,
            Count::Authorize => &self.authorize,
            Count::Token => &self.token,
            Count::Revoke => &self.revoke,
            Count::Introspect => &self.introspect,
            Count::Userinfo => &self.userinfo,
        }
    }
}

/// One endpoint: where it is served, what it answers, who handles it.
struct Route {
    origin: Origin,
    path: Path,
    methods: &'static [&'static str],
    handler: Handler,
    /// Counted in [`super::Stats`], and failed by `Faults::all_status`.
    count: Option<Count>,
}

const fn route(
    origin: Origin,
    path: Path,
    methods: &'static [&'static str],
    handler: Handler,
    count: Option<Count>,
) -> Route {
    Route {
        origin,
        path,
        methods,
        handler,
        count,
    }
}

use Origin::{Api, Issuer};
use Path::{Exact, Prefix};

/// Every endpoint. The issuer origin is `vercel.com`'s part, the API
/// origin `api.vercel.com`'s (`../shared/notes/vercel-platform.md`).
const ROUTES: &[Route] = &[
    // RFC 8414 §3 and OpenID Connect Discovery §4.
    route(
        Issuer,
        Exact("/.well-known/openid-configuration"),
        &["GET"],
        discovery::metadata,
        Some(Count::Discovery),
    ),
    route(
        Issuer,
        Exact("/.well-known/oauth-authorization-server"),
        &["GET"],
        discovery::metadata,
        Some(Count::Discovery),
    ),
    route(
        Issuer,
        Exact(JWKS),
        &["GET"],
        discovery::jwks,
        Some(Count::Jwks),
    ),
    route(
        Issuer,
        Exact(AUTHORIZE),
        &["GET"],
        authorize::authorize,
        Some(Count::Authorize),
    ),
    route(
        Issuer,
        Exact(DECISION),
        &["POST"],
        authorize::decision,
        Some(Count::Authorize),
    ),
    route(
        Issuer,
        Prefix(AVATAR_PREFIX),
        &["GET"],
        avatar::avatar,
        None,
    ),
    route(Issuer, Exact(ACCOUNT), &["GET"], account::list, None),
    route(
        Issuer,
        Exact(ACCOUNT_REMOVE),
        &["POST"],
        account::remove,
        None,
    ),
    route(Issuer, Exact("/"), &["GET"], index, None),
    route(
        Issuer,
        Exact("/favicon.ico"),
        &["GET"],
        avatar::favicon,
        None,
    ),
    route(Issuer, Exact("/_emulator/stats"), &["GET"], stats, None),
    route(
        Api,
        Exact(TOKEN),
        &["POST"],
        token::token,
        Some(Count::Token),
    ),
    route(
        Api,
        Exact(REVOKE),
        &["POST"],
        revocation::revoke,
        Some(Count::Revoke),
    ),
    route(
        Api,
        Exact(INTROSPECT),
        &["POST"],
        introspection::introspect,
        Some(Count::Introspect),
    ),
    route(
        Api,
        Exact(USERINFO),
        &["GET", "POST"],
        userinfo::userinfo,
        Some(Count::Userinfo),
    ),
];

impl Path {
    fn matches(&self, path: &str) -> bool {
        match self {
            Exact(p) => *p == path,
            Prefix(p) => path.len() > p.len() && path.starts_with(p),
        }
    }
}

/// Answers a request that reached `reached`: the route for its path on
/// that origin, else 404, as another origin's endpoint is on Vercel.
pub(super) fn handle(emu: &Emulator, reached: Reached, request: &Request) -> Response {
    let path = request.uri().path();
    // Vercel's REST API (seed 003) on the API origin; the SSO login page,
    // like every page, on the issuer's.
    let (api, issuer) = match reached {
        Reached::Origin(Origin::Api) => (true, false),
        Reached::Origin(Origin::Issuer) => (false, true),
        Reached::Unaddressed => (true, true),
        Reached::Elsewhere => (false, false),
    };
    let rest = api
        .then(|| user_tokens::handle(emu, request))
        .flatten()
        .or_else(|| {
            (api && path == sso::EXCHANGE || issuer && path.starts_with(sso::LOGIN_PREFIX))
                .then(|| sso::handle(emu, request))
                .flatten()
        });
    if let Some(response) = rest {
        return response;
    }
    let on_origin = |route: &&Route| match reached {
        Reached::Origin(origin) => route.origin == origin,
        Reached::Unaddressed => true,
        Reached::Elsewhere => false,
    };
    let Some(route) = ROUTES
        .iter()
        .filter(on_origin)
        .find(|r| r.path.matches(path))
    else {
        return json_response(StatusCode::NOT_FOUND, &json!({ "error": "not_found" }));
    };
    if let Some(count) = route.count {
        emu.counters.of(count).fetch_add(1, Ordering::Relaxed);
        if let Some(status) = emu.faults().all_status {
            return oauth_error(status, "server_error", "injected failure");
        }
    }
    if !route.methods.contains(&request.method().as_str()) {
        let mut response = oauth_error(405, "invalid_request", "method not allowed");
        if let Ok(allow) = http::HeaderValue::from_str(&route.methods.join(", ")) {
            response.headers_mut().insert(http::header::ALLOW, allow);
        }
        return response;
    }
    (route.handler)(emu, request)
}

/// `GET /`: what the emulator is, and which of its behaviours are guesses.
fn index(emu: &Emulator, _: &Request) -> Response {
    html(
        StatusCode::OK,
        pages::index(emu.issuer(), emu.api_origin(), &lock_config(emu)),
    )
}

/// `GET /_emulator/stats`: request counts per endpoint.
fn stats(emu: &Emulator, _: &Request) -> Response {
    json_response(StatusCode::OK, &json!(emu.stats()))
}

fn lock_config(emu: &Emulator) -> super::EmulatorConfig {
    super::lock(&emu.config).clone()
}
