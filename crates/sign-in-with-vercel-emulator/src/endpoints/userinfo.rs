//! The userinfo endpoint (OpenID Connect Core §5.3), on the API origin (and at
//! the `/api/login/oauth/userinfo` of Vercel's Authorization Server API
//! reference on the issuer origin), and the user claims the ID token shares.

use http::header::AUTHORIZATION;
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value, json};

use super::respond::{json_response, oauth_error};
use super::{Request, Response};
use crate::{Emulator, lock};

/// `GET`/`POST /login/oauth/userinfo`, with the access token as a bearer token
/// (RFC 6750 §2.1), as the example of Vercel's Authorization Server API
/// reference sends it: `Authorization: Bearer <token>`.
///
/// Undocumented by Vercel, decided on the strict side: the scheme must be
/// spelled `Bearer`. RFC 7235 §2.1 makes schemes case-insensitive, so
/// Vercel may well accept `bearer`; an app that sends `Bearer` works either
/// way, one that sends `bearer` only if Vercel is lenient. Likewise, a
/// token granted without `openid` is refused with `403
/// insufficient_scope` (RFC 6750 §3.1): userinfo is OpenID Connect's, and
/// an app that needs it asks for `openid`.
pub(super) fn userinfo(emu: &Emulator, request: &Request) -> Response {
    let unauthorized = || {
        bearer_error(
            401,
            "invalid_token",
            "the access token is missing, expired or revoked",
            "Bearer error=\"invalid_token\"",
        )
    };
    let Some(token) = bearer_token(request) else {
        // No bearer token at all: a bare challenge, no error code
        // (RFC 6750 §3.1).
        let mut response = http::Response::new(bytes::Bytes::new());
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        response.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"Vercel\""),
        );
        return response;
    };
    let grant = {
        let store = lock(&emu.store);
        match store.access_tokens.get(token) {
            Some(t) if store.is_live(t, emu.now()) => t.grant.clone(),
            _ => return unauthorized(),
        }
    };
    if !grant.scopes.iter().any(|s| s == "openid") {
        return bearer_error(
            403,
            "insufficient_scope",
            "the access token was granted without the openid scope",
            "Bearer error=\"insufficient_scope\", scope=\"openid\"",
        );
    }
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

/// The bearer token of `Authorization: Bearer <token>` (RFC 6750 §2.1,
/// the scheme spelled so), trimmed; `None` without one.
pub(super) fn bearer_token(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// An RFC 6750 §3 refusal: the error body, and its `WWW-Authenticate`
/// challenge.
pub(super) fn bearer_error(
    status: u16,
    error: &str,
    description: &str,
    challenge: &'static str,
) -> Response {
    let mut response = oauth_error(status, error, description);
    response.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// The claims `scopes` allow (Vercel's Authorization Server API reference,
/// "User Info Endpoint response"; the ID token claims of Vercel's
/// documentation, Sign in with Vercel → Tokens): `profile` gives `name`,
/// `preferred_username` and `picture` (an absolute URL on the issuer origin),
/// `email` gives `email` (and, at userinfo, `email_verified`).
pub(super) fn user_claims(
    emu: &Emulator,
    sub: &str,
    scopes: &[String],
    claims: &mut Map<String, Value>,
    email_verified: bool,
) {
    let Some(user) = emu.user(sub) else {
        return;
    };
    let has = |scope: &str| scopes.iter().any(|s| s == scope);
    if has("profile") {
        claims.insert("name".into(), json!(user.name));
        claims.insert("preferred_username".into(), json!(user.preferred_username));
        claims.insert("picture".into(), json!(emu.picture_of(&user)));
    }
    if has("email") {
        claims.insert("email".into(), json!(user.email));
        if email_verified {
            claims.insert("email_verified".into(), json!(user.email_verified));
        }
    }
}
