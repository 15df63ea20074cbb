//! The emulator's endpoints: one table of routes, each served on one of
//! the three origins (Vercel's `vercel.com` / `api.vercel.com` /
//! `marketplace.vercel.com` split), and the dispatcher that reads it.
//! Adding an endpoint is one module and one row of [`ROUTES`].

// Handlers bail out with a finished response; its size does not matter here.
#![allow(clippy::result_large_err)]

use std::sync::atomic::{AtomicU64, Ordering};

use http::{Method, StatusCode};
use serde_json::json;

use super::origins::{Origin, Reached};
use super::{Counters, Emulator, lock, pages};

mod account;
mod authorize;
mod avatar;
mod client_auth;
mod cors;
mod discovery;
mod introspection;
mod login;
mod marketplace;
mod respond;
mod rest;
mod revocation;
mod session;
mod sso;
mod token;
mod userinfo;

pub(super) use respond::Response;
use respond::{html, json_response, not_found, oauth_error, rest_method_not_allowed};

pub(super) const AUTHORIZE: &str = "/oauth/authorize";
pub(super) const DECISION: &str = "/oauth/authorize/decision";
pub(super) const LOGIN: &str = "/login";
pub(super) const LOGOUT: &str = "/logout";
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
    /// Called from browsers of other origins: answers preflights and
    /// carries CORS headers ([`cors`]).
    cors: bool,
    /// Vercel's REST API (or the SSO endpoints beside it): a method it does
    /// not serve is refused in Vercel's REST error shape, not OAuth's.
    rest: bool,
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
        cors: false,
        rest: false,
    }
}

/// A route an SPA calls across origins.
const fn cors_route(
    origin: Origin,
    path: &'static str,
    methods: &'static [&'static str],
    handler: Handler,
    count: Count,
) -> Route {
    Route {
        cors: true,
        ..route(origin, Exact(path), methods, handler, Some(count))
    }
}

/// The marketplace's SSO token exchange, on the REST API's origin.
const SSO_EXCHANGE: &str = "/v1/integrations/sso/token";

/// A route of Vercel's REST API, or of the marketplace's SSO.
const fn rest_route(
    origin: Origin,
    path: Path,
    methods: &'static [&'static str],
    handler: Handler,
) -> Route {
    Route {
        rest: true,
        ..route(origin, path, methods, handler, None)
    }
}

use Origin::{Api, Issuer, Marketplace};
use Path::{Exact, Prefix};

/// Every endpoint. The issuer origin is `vercel.com`'s part, the API origin
/// `api.vercel.com`'s (Vercel's authorization server metadata), the marketplace
/// origin `marketplace.vercel.com`'s (Vercel's Marketplace documentation,
/// Partner API user authentication: OIDC tokens).
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
    // OpenID Connect Core §3.1.2.1: GET and POST.
    route(
        Issuer,
        Exact(AUTHORIZE),
        &["GET", "POST"],
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
    route(Issuer, Exact(LOGIN), &["GET", "POST"], login_route, None),
    route(Issuer, Exact(LOGOUT), &["POST"], login::sign_out, None),
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
    // The examples of Vercel's Authorization Server API reference post to
    // `https://vercel.com/api/login/oauth/…`.
    cors_route(
        Issuer,
        "/api/login/oauth/token",
        &["POST"],
        token::token,
        Count::Token,
    ),
    cors_route(
        Issuer,
        "/api/login/oauth/token/revoke",
        &["POST"],
        revocation::revoke,
        Count::Revoke,
    ),
    route(
        Issuer,
        Exact("/api/login/oauth/token/introspect"),
        &["POST"],
        introspection::introspect,
        Some(Count::Introspect),
    ),
    cors_route(
        Issuer,
        "/api/login/oauth/userinfo",
        &["GET", "POST"],
        userinfo::userinfo,
        Count::Userinfo,
    ),
    // Discovery's endpoints, on `api.vercel.com`.
    cors_route(Api, TOKEN, &["POST"], token::token, Count::Token),
    cors_route(Api, REVOKE, &["POST"], revocation::revoke, Count::Revoke),
    route(
        Api,
        Exact(INTROSPECT),
        &["POST"],
        introspection::introspect,
        Some(Count::Introspect),
    ),
    cors_route(
        Api,
        USERINFO,
        &["GET", "POST"],
        userinfo::userinfo,
        Count::Userinfo,
    ),
    // Vercel's REST API (its reference's "Authentication" section).
    rest_route(Api, Exact("/v2/user"), &["GET"], rest::user),
    rest_route(Api, Exact("/v3/user/tokens"), &["POST"], rest::create_token),
    // The current reference lists the tokens at `/v6`, an older page at `/v5`.
    rest_route(Api, Exact("/v6/user/tokens"), &["GET"], rest::list_tokens),
    rest_route(Api, Exact("/v5/user/tokens"), &["GET"], rest::list_tokens),
    rest_route(Api, Prefix(rest::GET_TOKEN), &["GET"], rest::get_token),
    rest_route(
        Api,
        Prefix(rest::DELETE_TOKEN),
        &["DELETE"],
        rest::delete_token,
    ),
    // The marketplace's SSO (Vercel's REST API reference,
    // `POST /v1/integrations/sso/token`): the exchange on the API origin, the
    // redirect login, a page, on the issuer's.
    rest_route(Api, Exact(SSO_EXCHANGE), &["POST"], sso::exchange),
    rest_route(Issuer, Prefix(sso::LOGIN_PREFIX), &["GET"], sso::login),
    // The marketplace issuer.
    route(
        Marketplace,
        Exact("/.well-known/openid-configuration"),
        &["GET"],
        marketplace::metadata,
        None,
    ),
    route(Marketplace, Exact(JWKS), &["GET"], marketplace::jwks, None),
    route(
        Marketplace,
        Exact("/.well-known/jwks.json"),
        &["GET"],
        marketplace::jwks,
        None,
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
        let json = reached == Reached::Origin(Origin::Api) || path.starts_with("/api/");
        return not_found(json);
    };
    if route.cors && request.method() == Method::OPTIONS {
        return cors::preflight(emu, request, route.methods);
    }
    let response = answer(emu, route, request);
    if route.cors {
        cors::decorate(emu, request, response)
    } else {
        response
    }
}

/// The route's answer: counted, failed by `Faults::all_status`, 405 for a
/// method it does not serve (in Vercel's REST shape on a REST route).
fn answer(emu: &Emulator, route: &Route, request: &Request) -> Response {
    if let Some(count) = route.count {
        emu.counters.of(count).fetch_add(1, Ordering::Relaxed);
        if let Some(status) = emu.faults().all_status {
            return oauth_error(status, "server_error", "injected failure");
        }
    }
    if !route.methods.contains(&request.method().as_str()) {
        let mut response = if route.rest {
            rest_method_not_allowed()
        } else {
            oauth_error(405, "invalid_request", "method not allowed")
        };
        if let Ok(allow) = http::HeaderValue::from_str(&route.methods.join(", ")) {
            response.headers_mut().insert(http::header::ALLOW, allow);
        }
        return response;
    }
    // The user and user-token endpoints: not the SSO exchange beside them.
    let user_api =
        route.rest && matches!(route.origin, Api) && !matches!(route.path, Exact(SSO_EXCHANGE));
    if let Some(status) = emu.faults().rest_status.filter(|_| user_api) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return respond::rest_error(status, "injected_failure", "An injected failure.");
    }
    (route.handler)(emu, request)
}

/// `/login`: the login screen (`GET`) or signing in (`POST`).
fn login_route(emu: &Emulator, request: &Request) -> Response {
    if request.method() == Method::POST {
        login::sign_in(emu, request)
    } else {
        login::page(emu, request)
    }
}

/// `GET /`: what the emulator is, its settings, and which of its
/// behaviours are guesses.
fn index(emu: &Emulator, request: &Request) -> Response {
    let config = lock(&emu.config).clone();
    let signed_in = session::signed_in(emu, request).map(|s| s.user);
    html(
        StatusCode::OK,
        pages::index(&pages::IndexFacts {
            origins: emu.origins(),
            config: &config,
            signed_in: signed_in.as_ref(),
        }),
    )
}

/// `GET /_emulator/stats`: request counts per endpoint.
fn stats(emu: &Emulator, _: &Request) -> Response {
    json_response(StatusCode::OK, &json!(emu.stats()))
}
