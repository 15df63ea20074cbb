//! The emulator's endpoints, at Vercel's paths: the dispatcher, discovery,
//! the JWK Set, and what the endpoints share (client authentication,
//! response helpers).

// Handlers bail out with a finished response; its size does not matter here.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{HeaderValue, Method, StatusCode};
use serde_json::{Map, Value, json};

use super::{Client, Emulator, form_params, lock, pages};
use crate::secret::ct_eq;

mod authorize;
mod sso;
mod token;
mod token_checks;
mod user_tokens;

use authorize::{authorize, decision};
use token::token;
use token_checks::{introspect, revoke, userinfo};

type Response = http::Response<Bytes>;

const AUTHORIZE: &str = "/oauth/authorize";
const DECISION: &str = "/oauth/authorize/decision";
const TOKEN: &str = "/login/oauth/token";
const REVOKE: &str = "/login/oauth/token/revoke";
const INTROSPECT: &str = "/login/oauth/token/introspect";
const USERINFO: &str = "/login/oauth/userinfo";
const JWKS: &str = "/.well-known/jwks";

pub(super) fn handle(emu: &Emulator, request: &http::Request<Vec<u8>>) -> Response {
    if let Some(r) = user_tokens::handle(emu, request).or_else(|| sso::handle(emu, request)) {
        return r;
    }
    let c = &emu.counters;
    let path = request.uri().path();
    let counter = match path {
        "/.well-known/openid-configuration" | "/.well-known/oauth-authorization-server" => {
            Some(&c.discovery)
        }
        JWKS => Some(&c.jwks),
        AUTHORIZE | DECISION => Some(&c.authorize),
        TOKEN => Some(&c.token),
        REVOKE => Some(&c.revoke),
        INTROSPECT => Some(&c.introspect),
        USERINFO => Some(&c.userinfo),
        _ => None,
    };
    if let Some(counter) = counter {
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(status) = emu.faults().all_status {
            return oauth_error(status, "server_error", "injected failure");
        }
    }
    let method = request.method();
    match (method, path) {
        (
            &Method::GET,
            "/.well-known/openid-configuration" | "/.well-known/oauth-authorization-server",
        ) => json_response(StatusCode::OK, &discovery(emu.issuer())),
        (&Method::GET, JWKS) => {
            let keys: Vec<Value> = lock(&emu.keys).iter().map(|k| k.jwk()).collect();
            json_response(StatusCode::OK, &json!({ "keys": keys }))
        }
        (&Method::GET, AUTHORIZE) => authorize(emu, request.uri().query().unwrap_or("")),
        (&Method::POST, DECISION) => decision(emu, request),
        (&Method::POST, TOKEN) => token(emu, request),
        (&Method::POST, REVOKE) => revoke(emu, request),
        (&Method::POST, INTROSPECT) => introspect(emu, request),
        (&Method::GET | &Method::POST, USERINFO) => userinfo(emu, request),
        (&Method::GET, "/_emulator/stats") => json_response(StatusCode::OK, &json!(emu.stats())),
        (&Method::GET, "/") => html(StatusCode::OK, pages::index(emu.issuer())),
        (
            _,
            "/.well-known/openid-configuration"
            | "/.well-known/oauth-authorization-server"
            | JWKS
            | AUTHORIZE
            | DECISION
            | TOKEN
            | REVOKE
            | INTROSPECT
            | USERINFO,
        ) => oauth_error(405, "invalid_request", "method not allowed"),
        _ => json_response(StatusCode::NOT_FOUND, &json!({ "error": "not_found" })),
    }
}

/// Authorization server metadata (RFC 8414 §2, OpenID Connect Discovery §3).
fn discovery(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{AUTHORIZE}"),
        "token_endpoint": format!("{issuer}{TOKEN}"),
        "revocation_endpoint": format!("{issuer}{REVOKE}"),
        "introspection_endpoint": format!("{issuer}{INTROSPECT}"),
        "userinfo_endpoint": format!("{issuer}{USERINFO}"),
        "jwks_uri": format!("{issuer}{JWKS}"),
        "scopes_supported": super::SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "nonce", "name", "preferred_username", "picture", "email", "email_verified"],
        "authorization_response_iss_parameter_supported": true,
    })
}

/// Client authentication as the client is registered (RFC 6749 §2.3.1).
/// `basic_only` is the revocation endpoint's rule for confidential clients.
pub(super) fn authenticate(
    emu: &Emulator,
    request: &http::Request<Vec<u8>>,
    params: &HashMap<String, String>,
    basic_only: bool,
) -> Result<Client, Response> {
    let invalid = |description: &str| oauth_error(401, "invalid_client", description);
    let basic = match request.headers().get(AUTHORIZATION) {
        None => None,
        Some(value) => {
            Some(parse_basic(value).ok_or_else(|| invalid("malformed Authorization header"))?)
        }
    };
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    let client_id = match (&basic, body_id) {
        (Some((id, _)), Some(body)) if id != body => return Err(invalid("client_id mismatch")),
        (Some((id, _)), _) => id.clone(),
        (None, Some(id)) => id.clone(),
        (None, None) => return Err(invalid("no client authentication")),
    };
    let client = emu
        .client(&client_id)
        .ok_or_else(|| invalid("unknown client"))?;
    let registered = client.client_secret.as_deref();
    let method = if basic_only && registered.is_some() {
        "client_secret_basic"
    } else {
        client.token_endpoint_auth_method.as_str()
    };
    let ok = match (method, &basic, body_secret, registered) {
        ("client_secret_basic", Some((_, secret)), None, Some(expected)) => ct_eq(secret, expected),
        ("client_secret_post", None, Some(secret), Some(expected)) => ct_eq(secret, expected),
        ("none", None, None, None) => true,
        _ => false,
    };
    if ok {
        Ok(client)
    } else {
        Err(invalid(&format!(
            "client authentication failed (registered method: {method})"
        )))
    }
}

pub(super) fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    let encoded = value.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let decode = |s: &str| -> Option<String> {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|d| d.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

pub(super) fn form_body(
    request: &http::Request<Vec<u8>>,
) -> Result<HashMap<String, String>, Response> {
    let is_form = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !is_form {
        return Err(oauth_error(
            400,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    form_params(request.body()).map_err(|why| oauth_error(400, "invalid_request", why))
}

pub(super) fn user_claims(
    emu: &Emulator,
    sub: &str,
    scopes: &[String],
    claims: &mut Map<String, Value>,
    email_verified: bool,
) {
    let Some(user) = emu.users().into_iter().find(|u| u.sub == sub) else {
        return;
    };
    let has = |scope: &str| scopes.iter().any(|s| s == scope);
    if has("profile") {
        claims.insert("name".into(), json!(user.name));
        claims.insert("preferred_username".into(), json!(user.preferred_username));
        if let Some(picture) = user.picture {
            claims.insert("picture".into(), json!(picture));
        }
    }
    if has("email") {
        claims.insert("email".into(), json!(user.email));
        if email_verified {
            claims.insert("email_verified".into(), json!(user.email_verified));
        }
    }
}

pub(super) fn json_response(status: StatusCode, body: &Value) -> Response {
    raw_json(status.as_u16(), body.to_string())
}

pub(super) fn raw_json(status: u16, body: String) -> Response {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::CACHE_CONTROL, "no-store")
        .header(http::header::PRAGMA, "no-cache")
        .body(Bytes::from(body))
        .unwrap_or_default()
}

/// An RFC 6749 §5.2 error body.
pub(super) fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    raw_json(
        status,
        json!({ "error": error, "error_description": description }).to_string(),
    )
}

pub(super) fn html(status: StatusCode, body: String) -> Response {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(http::header::CACHE_CONTROL, "no-store")
        .header(
            http::header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'",
        )
        .header(http::header::X_FRAME_OPTIONS, "DENY")
        .header(http::header::REFERRER_POLICY, "no-referrer")
        .body(Bytes::from(body))
        .unwrap_or_default()
}

impl Emulator {
    pub(super) fn client(&self, client_id: &str) -> Option<Client> {
        lock(&self.config)
            .clients
            .iter()
            .find(|c| c.client_id == client_id)
            .cloned()
    }
}
