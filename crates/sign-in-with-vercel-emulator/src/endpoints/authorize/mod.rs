//! The authorization endpoint (RFC 6749 §4.1.1–4.1.2): the request's checks,
//! then the login screen for a browser not signed in, the consent page, and the
//! redirect back. "If the user is not logged in, Vercel will show a login
//! screen and then the consent page to grant or deny the requested permissions.
//! If they have already authorized the app, they will be redirected
//! immediately" (Vercel's Authorization Server API reference, Authorization
//! Endpoint). Consent is remembered per user and app.

mod decision;
mod params;

use http::{Method, StatusCode};
use url::Url;
use url::form_urlencoded;

use super::respond::{found, html, is_form};
use super::session::{self, SignedIn};
use super::{AUTHORIZE, Request, Response, login};
use crate::config::expiry;
use crate::secret::random_token;
use crate::store::{Code, Grant, Pending, uuid_v4};
use crate::{Emulator, lock, pages};

pub(super) use decision::decision;
use params::{Asked, Params, after_sign_in, too_old};

/// How long a consent page stays answerable (undocumented by Vercel: one
/// of the emulator's guesses).
const PAGE_TTL: i64 = 600;

/// `GET` or `POST /oauth/authorize` (RFC 6749 §4.1.1, OpenID Connect Core
/// §3.1.2.1). Errors about the client or the redirect URI are shown as a
/// page, never redirected (§4.1.2.1); other errors go back to the
/// (verified) redirect URI.
pub(super) fn authorize(emu: &Emulator, request: &Request) -> Response {
    let params = match read_params(request) {
        Ok(p) => p,
        Err(why) => return html(StatusCode::BAD_REQUEST, pages::error(why)),
    };
    if params
        .repeated_among(&["client_id", "redirect_uri"])
        .is_some()
    {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error("The client_id or the redirect_uri is repeated."),
        );
    }
    let Some(client) = params.get("client_id").and_then(|id| emu.client(id)) else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error("Unknown or missing client_id."),
        );
    };
    let Some(redirect_uri) = params
        .get("redirect_uri")
        .filter(|r| client.redirect_uris.iter().any(|u| u == r))
    else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(
                "The redirect_uri is missing or is not one of the app's Authorization Callback URLs.",
            ),
        );
    };
    let state = params.get("state");
    let back = |error: &str, description: &str| {
        redirect_back(
            emu,
            redirect_uri,
            &[("error", error), ("error_description", description)],
            state,
        )
    };
    let Asked {
        scopes,
        prompt,
        max_age,
        code_challenge,
    } = match Asked::check(&params, &client) {
        Ok(asked) => asked,
        Err((error, description)) => return back(error, description),
    };

    let now = emu.now();
    let browser = session::signed_in(emu, request);
    // OpenID Connect Core §3.1.2.1, `max_age`: a login older than it is
    // made again.
    let recent = |b: &SignedIn| !too_old(b.auth_time, max_age, now);
    let consented = |sub: &str| emu.has_consented(sub, &client.client_id, &scopes);
    let pending = |browser: &SignedIn| Pending {
        session: browser.session.clone(),
        sub: browser.user.sub.clone(),
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scopes: scopes.clone(),
        state: state.map(str::to_owned),
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge: code_challenge.clone(),
        auth_time: browser.auth_time,
        expires_at: now.saturating_add(PAGE_TTL),
    };
    // OpenID Connect Core §3.1.2.1: `none` shows no page, and says which
    // one it would have needed.
    if prompt.none {
        return match &browser {
            None => back("login_required", "no user is signed in to the emulator"),
            Some(b) if !recent(b) => back(
                "login_required",
                "the user signed in longer ago than max_age allows",
            ),
            Some(b) if consented(&b.user.sub) => grant_code(emu, pending(b)),
            Some(_) => back(
                "consent_required",
                "the user has not authorized this app for these scopes",
            ),
        };
    }
    let browser = match browser {
        Some(b) if !prompt.asks_to_sign_in() && recent(&b) => b,
        _ => return login::screen(emu, request, &after_sign_in(AUTHORIZE, &params.values)),
    };
    if consented(&browser.user.sub) && !prompt.consent {
        return grant_code(emu, pending(&browser));
    }
    let request_id = random_token();
    {
        let mut store = lock(&emu.store);
        store.pending.insert(request_id.clone(), pending(&browser));
        store.inserted(now);
    }
    html(
        StatusCode::OK,
        pages::consent(
            &client.name,
            &scopes,
            &browser.user,
            &request_id,
            &after_sign_in(AUTHORIZE, &params.values),
        ),
    )
}

/// The authorization request's parameters: the query's and, for a POST,
/// the form body's, which OpenID Connect Core §3.1.2.1 has the endpoint
/// take as well ("Authorization Servers MUST support the use of the HTTP
/// GET and POST methods"). Both are one request: a parameter in both is
/// repeated. A body that is not a form is refused.
fn read_params(request: &Request) -> Result<Params, &'static str> {
    let query = request.uri().query().unwrap_or("");
    let mut pairs: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
    if request.method() == Method::POST && !request.body().is_empty() {
        if !is_form(request) {
            return Err("The body must be application/x-www-form-urlencoded.");
        }
        pairs.extend(form_urlencoded::parse(request.body()));
    }
    Ok(Params::read(pairs))
}

/// Issues a code for the user of `pending` and redirects back with it.
fn grant_code(emu: &Emulator, pending: Pending) -> Response {
    let code = random_token();
    let grant = Grant {
        id: uuid_v4(),
        client_id: pending.client_id,
        sub: pending.sub,
        scopes: pending.scopes,
        nonce: pending.nonce,
        auth_time: Some(pending.auth_time),
        refresh_expires_at: None,
    };
    let now = emu.now();
    let expires_at = expiry(now, lock(&emu.config).code_ttl);
    {
        let mut store = lock(&emu.store);
        store.codes.insert(
            code.clone(),
            Code {
                grant,
                redirect_uri: pending.redirect_uri.clone(),
                code_challenge: pending.code_challenge,
                expires_at,
                used: false,
            },
        );
        store.inserted(now);
    }
    redirect_back(
        emu,
        &pending.redirect_uri,
        &[("code", &code)],
        pending.state.as_deref(),
    )
}

/// The authorization response (RFC 6749 §4.1.2) or error (§4.1.2.1) in
/// the redirect URI's query, with `state`, and `iss` (RFC 9207 §2) when
/// the setting `authorization_response_iss` is on: Vercel documents no
/// `iss`.
fn redirect_back(
    emu: &Emulator,
    redirect_uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error("The redirect_uri is not a URL."),
        );
    };
    let with_iss = lock(&emu.config).authorization_response_iss;
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        if with_iss {
            query.append_pair("iss", emu.issuer());
        }
    }
    found(url.as_str())
}

impl Emulator {
    /// Records that user `sub` has authorized `client_id` for `scopes`
    /// (one scope each, as `["openid", "email"]`), as the consent page's
    /// *Allow* does: that user's next authorization request of the app
    /// for those scopes is answered with a code at once, unless it asks
    /// for a page (`prompt=consent`, `prompt=login`, a `max_age` the
    /// sign-in is older than). With [`Emulator::sign_in`], a test signs in
    /// without a browser. `false`, and nothing recorded, when no user
    /// `sub` or client `client_id` is configured, or a scope is not one
    /// the client may ask for.
    pub fn grant_consent(&self, sub: &str, client_id: &str, scopes: &[&str]) -> bool {
        let known = {
            let config = lock(&self.config);
            config.users.iter().any(|u| u.sub == sub)
                && config.clients.iter().any(|c| {
                    c.client_id == client_id
                        && scopes
                            .iter()
                            .all(|scope| c.scopes.iter().any(|s| s == scope))
                })
        };
        if known {
            lock(&self.store).grant_consent(sub, client_id, scopes);
        }
        known
    }

    /// Whether `sub` has authorized `client_id` for every one of `scopes`.
    pub(super) fn has_consented(&self, sub: &str, client_id: &str, scopes: &[String]) -> bool {
        lock(&self.store)
            .consents
            .get(&(sub.to_owned(), client_id.to_owned()))
            .is_some_and(|granted| scopes.iter().all(|s| granted.contains(s)))
    }
}
