//! The authorization endpoint (RFC 6749 §4.1.1–4.1.2): the request's
//! checks, then the login screen for a browser not signed in, the consent
//! page, and the redirect back. "If the user is not logged in, Vercel will
//! show a login screen and then the consent page to grant or deny the
//! requested permissions. If they have already authorized the app, they
//! will be redirected immediately" (seed 001, Authorization Endpoint).
//! Consent is remembered per user and app.

mod decision;
mod params;

use http::StatusCode;
use url::Url;

use super::respond::{found, html};
use super::session::{self, SignedIn};
use super::{AUTHORIZE, Request, Response, login};
use crate::pkce;
use crate::secret::random_token;
use crate::store::{Code, Grant, Pending, uuid_v4};
use crate::{Emulator, form_params, lock, pages};

pub(super) use decision::decision;
use params::{Prompt, after_sign_in, granted_scopes, response_mode_supported};

/// How long a consent page stays answerable (undocumented by Vercel: one
/// of the emulator's guesses).
const PAGE_TTL: i64 = 600;

/// `GET /oauth/authorize` (RFC 6749 §4.1.1). Errors about the client or
/// the redirect URI are shown as a page, never redirected (§4.1.2.1);
/// other errors go back to the (verified) redirect URI.
pub(super) fn authorize(emu: &Emulator, request: &Request) -> Response {
    let query = request.uri().query().unwrap_or("");
    let params = match form_params(query.as_bytes()) {
        Ok(p) => p,
        Err(why) => return html(StatusCode::BAD_REQUEST, pages::error(why)),
    };
    let Some(client) = params.get("client_id").and_then(|id| emu.client(id)) else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error("Unknown or missing client_id."),
        );
    };
    let Some(redirect_uri) = params
        .get("redirect_uri")
        .filter(|r| client.redirect_uris.contains(r))
    else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(
                "The redirect_uri is missing or is not one of the app's Authorization Callback URLs.",
            ),
        );
    };
    let state = params.get("state").cloned();
    let back = |error: &str, description: &str| {
        redirect_back(
            emu,
            redirect_uri,
            &[("error", error), ("error_description", description)],
            state.as_deref(),
        )
    };
    match params.get("response_type").map(String::as_str) {
        Some("code") => {}
        None => return back("invalid_request", "response_type is required"),
        Some(_) => return back("unsupported_response_type", "response_type must be code"),
    }
    if !response_mode_supported(params.get("response_mode").map(String::as_str)) {
        return back("invalid_request", "response_mode must be query");
    }
    let Some(challenge) = params.get("code_challenge") else {
        return back("invalid_request", "code_challenge is required (PKCE)");
    };
    if params.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return back("invalid_request", "code_challenge_method must be S256");
    }
    if !pkce::well_formed(challenge) {
        return back("invalid_request", "code_challenge is malformed");
    }
    if params.values().any(|v| v.len() > 2048) {
        return back("invalid_request", "a parameter is too long");
    }
    let prompt = match Prompt::parse(params.get("prompt").map(String::as_str)) {
        Ok(p) => p,
        Err(why) => return back("invalid_request", why),
    };
    let Some(scopes) = granted_scopes(params.get("scope").map(String::as_str), &client) else {
        return back(
            "invalid_scope",
            "none of the requested scopes is configured for this app",
        );
    };

    let browser = session::signed_in(emu, request);
    let consented = |sub: &str| emu.has_consented(sub, &client.client_id, &scopes);
    let pending = |browser: &SignedIn| Pending {
        session: browser.session.clone(),
        sub: browser.user.sub.clone(),
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        scopes: scopes.clone(),
        state: state.clone(),
        nonce: params.get("nonce").cloned(),
        code_challenge: challenge.clone(),
        expires_at: emu.now() + PAGE_TTL,
    };
    // OpenID Connect Core §3.1.2.1: `none` shows no page, and says which
    // one it would have needed.
    if prompt.none {
        return match &browser {
            None => back("login_required", "no user is signed in to the emulator"),
            Some(b) if consented(&b.user.sub) => grant_code(emu, pending(b)),
            Some(_) => back(
                "consent_required",
                "the user has not authorized this app for these scopes",
            ),
        };
    }
    let browser = match browser {
        Some(b) if !prompt.asks_to_sign_in() => b,
        _ => return login::screen(emu, request, &after_sign_in(AUTHORIZE, &params)),
    };
    if consented(&browser.user.sub) && !prompt.consent {
        return grant_code(emu, pending(&browser));
    }
    let request_id = random_token();
    {
        let mut store = lock(&emu.store);
        store.sweep(emu.now());
        store.pending.insert(request_id.clone(), pending(&browser));
    }
    html(
        StatusCode::OK,
        pages::consent(
            &client.name,
            &scopes,
            &browser.user,
            &request_id,
            &after_sign_in(AUTHORIZE, &params),
        ),
    )
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
        refresh_expires_at: None,
    };
    let expires_at = emu.now() + lock(&emu.config).code_ttl as i64;
    lock(&emu.store).codes.insert(
        code.clone(),
        Code {
            grant,
            redirect_uri: pending.redirect_uri.clone(),
            code_challenge: pending.code_challenge,
            expires_at,
            used: false,
        },
    );
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
    /// Whether `sub` has authorized `client_id` for every one of `scopes`.
    pub(super) fn has_consented(&self, sub: &str, client_id: &str, scopes: &[String]) -> bool {
        lock(&self.store)
            .consents
            .get(&(sub.to_owned(), client_id.to_owned()))
            .is_some_and(|granted| scopes.iter().all(|s| granted.contains(s)))
    }
}
