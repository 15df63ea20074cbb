//! The authorization endpoint: the sign-in and consent page, and the
//! user's decision (RFC 6749 §4.1.1–4.1.2).

use bytes::Bytes;
use http::StatusCode;
use url::Url;

use super::{Response, html};
use crate::dev::emulator::store::{Code, Grant, Pending};
use crate::dev::emulator::{Emulator, form_params, lock, pages};
use crate::pkce::is_valid_verifier;
use crate::secret::random_token;

const CANCEL_DESCRIPTION: &str = "The user canceled the authorization process";

/// `GET /oauth/authorize` (RFC 6749 §4.1.1). Errors about the client or
/// the redirect URI are shown as a page, never redirected (§4.1.2.1);
/// other errors go back to the (verified) redirect URI.
pub(super) fn authorize(emu: &Emulator, query: &str) -> Response {
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
    let Some(challenge) = params.get("code_challenge") else {
        return back("invalid_request", "code_challenge is required (PKCE)");
    };
    if params.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return back("invalid_request", "code_challenge_method must be S256");
    }
    if !is_valid_verifier(challenge) {
        return back("invalid_request", "code_challenge is malformed");
    }
    if params.values().any(|v| v.len() > 2048) {
        return back("invalid_request", "a parameter is too long");
    }
    if params
        .get("prompt")
        .is_some_and(|p| p.split(' ').any(|p| p == "none"))
    {
        return back("login_required", "the emulator always asks for consent");
    }
    // Scopes not configured for the app are filtered out; no scope means
    // all of the app's scopes (Vercel's documented behaviour).
    let scopes: Vec<String> = match params.get("scope") {
        None => client.scopes.clone(),
        Some(requested) => crate::dev::emulator::SCOPES
            .iter()
            .filter(|s| {
                requested.split(' ').any(|r| r == **s) && client.scopes.iter().any(|c| c == *s)
            })
            .map(|s| (*s).to_owned())
            .collect(),
    };
    let request_id = random_token();
    let pending = Pending {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        scopes: scopes.clone(),
        state,
        nonce: params.get("nonce").cloned(),
        code_challenge: challenge.clone(),
        expires_at: emu.now() + 600,
    };
    {
        let mut store = lock(&emu.store);
        store.sweep(emu.now());
        store.pending.insert(request_id.clone(), pending);
    }
    html(
        StatusCode::OK,
        pages::consent(&client.name, &scopes, &emu.users(), &request_id),
    )
}

/// `POST /oauth/authorize/decision`: Allow redirects with `code`, `state`
/// and `iss`; Cancel with `error=access_denied`.
pub(super) fn decision(emu: &Emulator, request: &http::Request<Vec<u8>>) -> Response {
    let params = match form_params(request.body()) {
        Ok(p) => p,
        Err(why) => return html(StatusCode::BAD_REQUEST, pages::error(why)),
    };
    let pending = params
        .get("request_id")
        .and_then(|id| lock(&emu.store).pending.remove(id))
        .filter(|p| p.expires_at > emu.now());
    let Some(pending) = pending else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(
                "This authorization request expired or was already answered. Start again from the app.",
            ),
        );
    };
    match params.get("decision").map(String::as_str) {
        Some("allow") => {}
        Some("cancel") => {
            return redirect_back(
                emu,
                &pending.redirect_uri,
                &[
                    ("error", "access_denied"),
                    ("error_description", CANCEL_DESCRIPTION),
                ],
                pending.state.as_deref(),
            );
        }
        _ => {
            return html(
                StatusCode::BAD_REQUEST,
                pages::error("Choose Allow or Cancel."),
            );
        }
    }
    let users = emu.users();
    let user = match params.get("user") {
        Some(sub) => users.iter().find(|u| &u.sub == sub),
        None => users.first(),
    };
    let Some(user) = user else {
        return html(StatusCode::BAD_REQUEST, pages::error("Unknown user."));
    };
    let code = random_token();
    let grant = Grant {
        id: random_token(),
        client_id: pending.client_id,
        sub: user.sub.clone(),
        scopes: pending.scopes,
        nonce: pending.nonce,
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
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        // RFC 9207: the issuer identifies who answered.
        query.append_pair("iss", emu.issuer());
    }
    http::Response::builder()
        .status(StatusCode::FOUND)
        .header(http::header::LOCATION, url.as_str())
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Bytes::new())
        .unwrap_or_default()
}
