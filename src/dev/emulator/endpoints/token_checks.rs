//! What a token is worth afterwards: revocation (RFC 7009), introspection
//! (RFC 7662) and userinfo (OpenID Connect Core §5.3).

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value, json};

use super::{Response, authenticate, form_body, json_response, oauth_error, user_claims};
use crate::dev::emulator::{Emulator, lock};

/// `POST /login/oauth/token/revoke` (RFC 7009). Revoking either token of
/// a grant revokes both.
pub(super) fn revoke(emu: &Emulator, request: &http::Request<Vec<u8>>) -> Response {
    if let Some(status) = emu.faults().revocation_status {
        return oauth_error(status, "server_error", "injected failure");
    }
    let params = match form_body(request) {
        Ok(p) => p,
        Err(response) => return response,
    };
    let client = match authenticate(emu, request, &params, true) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let Some(token) = params.get("token") else {
        return oauth_error(400, "invalid_request", "token is required");
    };
    let mut store = lock(&emu.store);
    let grant = store
        .access_tokens
        .get(token)
        .or_else(|| store.refresh_tokens.get(token))
        .map(|t| t.grant.clone());
    if let Some(grant) = grant.filter(|g| g.client_id == client.client_id) {
        store.revoked_grants.insert(grant.id);
    }
    // RFC 7009 §2.2: 200 whether or not the token was valid.
    http::Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Bytes::new())
        .unwrap_or_default()
}

/// `POST /login/oauth/token/introspect` (RFC 7662). Client authentication
/// is optional, as in Vercel's guide, but checked when sent.
pub(super) fn introspect(emu: &Emulator, request: &http::Request<Vec<u8>>) -> Response {
    let params = match form_body(request) {
        Ok(p) => p,
        Err(response) => return response,
    };
    let authenticated =
        request.headers().contains_key(AUTHORIZATION) || params.contains_key("client_id");
    if authenticated && let Err(response) = authenticate(emu, request, &params, false) {
        return response;
    }
    let Some(token) = params.get("token") else {
        return oauth_error(400, "invalid_request", "token is required");
    };
    let now = emu.now();
    let store = lock(&emu.store);
    let found = store
        .access_tokens
        .get(token)
        .map(|t| (t, "access_token"))
        .or_else(|| {
            store
                .refresh_tokens
                .get(token)
                .map(|t| (t, "refresh_token"))
        });
    let body = match found {
        Some((t, kind)) if store.is_live(t, now) => json!({
            "active": true,
            "client_id": t.grant.client_id,
            "token_type": if kind == "access_token" { "bearer" } else { "refresh_token" },
            "scope": t.grant.scopes.join(" "),
            "exp": t.expires_at,
            "iat": t.issued_at,
            "sub": t.grant.sub,
            "iss": emu.issuer(),
            "jti": t.jti,
            "session_id": t.grant.id,
        }),
        _ => json!({ "active": false }),
    };
    json_response(StatusCode::OK, &body)
}

/// `GET`/`POST /login/oauth/userinfo` (OpenID Connect Core §5.3), with the
/// access token as a bearer token (RFC 6750 §2.1).
pub(super) fn userinfo(emu: &Emulator, request: &http::Request<Vec<u8>>) -> Response {
    let unauthorized = || {
        let mut r = oauth_error(
            401,
            "invalid_token",
            "the access token is missing, expired or revoked",
        );
        r.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        r
    };
    let token = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return unauthorized();
    };
    let grant = {
        let store = lock(&emu.store);
        match store.access_tokens.get(token.trim()) {
            Some(t) if store.is_live(t, emu.now()) => t.grant.clone(),
            _ => return unauthorized(),
        }
    };
    let mut claims = Map::new();
    let sub = emu
        .faults()
        .userinfo_sub
        .clone()
        .unwrap_or(grant.sub.clone());
    claims.insert("sub".into(), json!(sub));
    user_claims(emu, &grant.sub, &grant.scopes, &mut claims, true);
    json_response(StatusCode::OK, &Value::Object(claims))
}
