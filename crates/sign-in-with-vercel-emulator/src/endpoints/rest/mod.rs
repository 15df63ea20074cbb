//! Vercel's REST API, the part an app signed in with Vercel calls with the
//! user's access token, on the API origin: the authenticated user
//! (`GET /v2/user`) and the user's tokens (Vercel's REST API reference,
//! "Authentication").
//!
//! Requests are authenticated by the emulator's OAuth access tokens or by
//! tokens created through `POST /v3/user/tokens`. A token that is missing,
//! expired, revoked or unknown is refused as Vercel refuses one:
//! `403 {"error":{"code":"forbidden","message":"Not authorized","invalidToken":true}}`
//! (as seen widely in public CI logs and integrations). Other errors have the
//! same `{"error": {"code", "message"}}` shape.

mod user;
mod user_tokens;

use http::header::AUTHORIZATION;

use super::Response;
use super::respond::not_authorized;
use crate::{Emulator, lock};

pub(super) use user::user;
pub(super) use user_tokens::{
    DELETE_TOKEN, GET_TOKEN, create as create_token, delete as delete_token, get as get_token,
    list as list_tokens,
};

/// Who is calling, and with which token.
struct Caller {
    sub: String,
    bearer: String,
}

/// A token's identifier: the hex SHA-256 of its value, 64 characters like
/// Vercel's.
fn token_id(bearer: &str) -> String {
    crate::config::sha256_hex(bearer.as_bytes(), 64)
}

/// The caller of `request`: a live OAuth access token or user token in
/// `Authorization: Bearer`, else Vercel's refusal.
fn caller(emu: &Emulator, request: &http::Request<Vec<u8>>) -> Result<Caller, Response> {
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(not_authorized)?;
    let now = emu.now();
    let store = lock(&emu.store);
    let sub = match (
        store.access_tokens.get(bearer),
        store.user_tokens.get(bearer),
    ) {
        (Some(t), _) if store.is_live(t, now) => t.grant.sub.clone(),
        (_, Some(t)) if t.is_live(now) => t.sub.clone(),
        _ => return Err(not_authorized()),
    };
    Ok(Caller {
        sub,
        bearer: bearer.to_owned(),
    })
}
