//! The introspection endpoint (RFC 7662), on the API origin (and at the
//! `/api/login/oauth/token/introspect` of Vercel's Authorization Server API
//! reference on the issuer origin).

use http::StatusCode;
use http::header::AUTHORIZATION;
use serde_json::json;

use super::client_auth::{At, authenticate};
use super::respond::{form_body, json_response, oauth_error};
use super::userinfo::{bearer_error, bearer_token};
use super::{Request, Response};
use crate::{Emulator, lock};

/// `POST /login/oauth/token/introspect`. Client authentication is optional, as
/// in Vercel's Authorization Server API reference (its `validate-token` route
/// sends only `token`), but checked when sent. A protected resource may
/// authorize the call with a bearer token instead (RFC 7662 §2.1): a live
/// access token of this emulator's, else `401 invalid_token` (RFC 6750
/// §3.1); with client credentials in the body as well, it is
/// `invalid_request` (RFC 6749 §2.3: one method per request).
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
    if let Some(bearer) = bearer_token(request) {
        if params.contains_key("client_id") || params.contains_key("client_secret") {
            return oauth_error(
                400,
                "invalid_request",
                "a bearer token and client credentials: use one",
            );
        }
        let live = {
            let store = lock(&emu.store);
            store
                .access_tokens
                .get(bearer)
                .is_some_and(|t| store.is_live(t, emu.now()))
        };
        if !live {
            return bearer_error(
                401,
                "invalid_token",
                "the bearer token is missing, expired or revoked",
                "Bearer error=\"invalid_token\"",
            );
        }
    } else if (request.headers().contains_key(AUTHORIZATION) || params.contains_key("client_id"))
        && let Err(response) = authenticate(emu, request, &params, At::Introspection)
    {
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
