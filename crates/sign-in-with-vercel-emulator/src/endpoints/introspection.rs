//! The introspection endpoint (RFC 7662), on the API origin (and at the
//! `/api/login/oauth/token/introspect` of Vercel's Authorization Server API
//! reference on the issuer origin).

use http::StatusCode;
use http::header::AUTHORIZATION;
use serde_json::json;

use super::client_auth::{At, authenticate};
use super::respond::{form_body, json_response, oauth_error};
use super::{Request, Response};
use crate::{Emulator, lock};

/// `POST /login/oauth/token/introspect`. Client authentication is optional, as
/// in Vercel's Authorization Server API reference (its `validate-token` route
/// sends only `token`), but checked when sent.
///
/// An active token's answer has exactly the members of the reference's example
/// ("Token Introspection response"): `active`, `client_id`,
/// `token_type: "bearer"`, `exp`, `iat`, `sub`, `iss`, `jti` and `session_id`
/// (UUIDs), and `aud` only when the token has one (the reference's
/// `IntrospectionResponse` type; the emulator's tokens have none). No `scope`:
/// the reference shows none. A refresh token is also `"bearer"`, the only
/// `token_type` the reference's type allows (a guess). Anything else is
/// `{"active": false}` (RFC 7662 §2.2).
pub(super) fn introspect(emu: &Emulator, request: &Request) -> Response {
    let params = match form_body(request) {
        Ok(p) => p,
        Err(response) => return response,
    };
    let authenticated =
        request.headers().contains_key(AUTHORIZATION) || params.contains_key("client_id");
    if authenticated && let Err(response) = authenticate(emu, request, &params, At::Introspection) {
        return response;
    }
    let Some(token) = params.get("token") else {
        return oauth_error(400, "invalid_request", "token is required");
    };
    let now = emu.now();
    let sub_fault = emu.faults().introspection_sub.clone();
    let store = lock(&emu.store);
    let found = store
        .access_tokens
        .get(token)
        .or_else(|| store.refresh_tokens.get(token));
    let body = match found {
        Some(t) if store.is_live(t, now) => json!({
            "active": true,
            "client_id": t.grant.client_id,
            "token_type": "bearer",
            "exp": t.expires_at,
            "iat": t.issued_at,
            "sub": sub_fault.as_deref().unwrap_or(&t.grant.sub),
            "iss": emu.issuer(),
            "jti": t.jti,
            "session_id": t.grant.id,
        }),
        _ => json!({ "active": false }),
    };
    json_response(StatusCode::OK, &body)
}
