//! The emulator's endpoints, at Vercel's paths.

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
use url::Url;

use super::store::{Code, Grant, Pending, Token};
use super::{Client, Emulator, form_params, lock, pages};
use crate::pkce::{is_valid_verifier, s256_challenge};
use crate::secret::{ct_eq, random_token};

type Response = http::Response<Bytes>;

const AUTHORIZE: &str = "/oauth/authorize";
const DECISION: &str = "/oauth/authorize/decision";
const TOKEN: &str = "/login/oauth/token";
const REVOKE: &str = "/login/oauth/token/revoke";
const INTROSPECT: &str = "/login/oauth/token/introspect";
const USERINFO: &str = "/login/oauth/userinfo";
const JWKS: &str = "/.well-known/jwks";
const CANCEL_DESCRIPTION: &str = "The user canceled the authorization process";

pub(super) fn handle(emu: &Emulator, request: &http::Request<Vec<u8>>) -> Response {
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

/// `GET /oauth/authorize` (RFC 6749 §4.1.1). Errors about the client or
/// the redirect URI are shown as a page, never redirected (§4.1.2.1);
/// other errors go back to the (verified) redirect URI.
fn authorize(emu: &Emulator, query: &str) -> Response {
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
        Some(requested) => super::SCOPES
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
fn decision(emu: &Emulator, request: &http::Request<Vec<u8>>) -> Response {
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

/// Client authentication as the client is registered (RFC 6749 §2.3.1).
/// `basic_only` is the revocation endpoint's rule for confidential clients.
fn authenticate(
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

fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
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

fn form_body(request: &http::Request<Vec<u8>>) -> Result<HashMap<String, String>, Response> {
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

/// `POST /login/oauth/token` (RFC 6749 §3.2, §4.1.3, §6).
fn token(emu: &Emulator, request: &http::Request<Vec<u8>>) -> Response {
    if let Some((status, body)) = emu.faults().token_response.clone() {
        return raw_json(status, body);
    }
    let params = match form_body(request) {
        Ok(p) => p,
        Err(response) => return response,
    };
    let client = match authenticate(emu, request, &params, false) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let now = emu.now();
    match params.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let (Some(code), Some(redirect_uri), Some(verifier)) = (
                params.get("code"),
                params.get("redirect_uri"),
                params.get("code_verifier"),
            ) else {
                return oauth_error(
                    400,
                    "invalid_request",
                    "code, redirect_uri and code_verifier are required",
                );
            };
            let grant = {
                let mut store = lock(&emu.store);
                let Some(entry) = store.codes.get_mut(code) else {
                    return oauth_error(400, "invalid_grant", "unknown authorization code");
                };
                if entry.used {
                    // RFC 6749 §4.1.2: a reused code revokes what it issued.
                    let grant_id = entry.grant.id.clone();
                    store.revoked_grants.insert(grant_id);
                    return oauth_error(400, "invalid_grant", "authorization code already used");
                }
                if entry.grant.client_id != client.client_id {
                    return oauth_error(400, "invalid_grant", "code was issued to another client");
                }
                if entry.expires_at <= now {
                    return oauth_error(400, "invalid_grant", "authorization code expired");
                }
                if &entry.redirect_uri != redirect_uri {
                    return oauth_error(
                        400,
                        "invalid_grant",
                        "redirect_uri differs from the authorization request",
                    );
                }
                if !is_valid_verifier(verifier)
                    || !ct_eq(&s256_challenge(verifier), &entry.code_challenge)
                {
                    return oauth_error(400, "invalid_grant", "PKCE verification failed");
                }
                entry.used = true;
                entry.grant.clone()
            };
            issue_tokens(emu, &grant, now)
        }
        Some("refresh_token") => {
            let Some(refresh_token) = params.get("refresh_token") else {
                return oauth_error(400, "invalid_request", "refresh_token is required");
            };
            let grant = {
                let mut store = lock(&emu.store);
                let Some(entry) = store.refresh_tokens.get(refresh_token).cloned() else {
                    return oauth_error(400, "invalid_grant", "unknown refresh token");
                };
                if entry.grant.client_id != client.client_id {
                    return oauth_error(
                        400,
                        "invalid_grant",
                        "refresh token was issued to another client",
                    );
                }
                if !store.is_live(&entry, now) {
                    return oauth_error(
                        400,
                        "invalid_grant",
                        "refresh token is expired, revoked or already used",
                    );
                }
                // Rotation: the old refresh token is spent now.
                if let Some(e) = store.refresh_tokens.get_mut(refresh_token) {
                    e.used = true;
                }
                entry.grant
            };
            issue_tokens(emu, &grant, now)
        }
        Some(_) => oauth_error(
            400,
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token",
        ),
        None => oauth_error(400, "invalid_request", "grant_type is required"),
    }
}

fn issue_tokens(emu: &Emulator, grant: &Grant, now: i64) -> Response {
    let (access_ttl, refresh_ttl, id_ttl) = {
        let c = lock(&emu.config);
        (
            c.access_token_ttl as i64,
            c.refresh_token_ttl as i64,
            c.id_token_ttl as i64,
        )
    };
    let has = |scope: &str| grant.scopes.iter().any(|s| s == scope);
    let access_token = format!("vca_{}", random_token());
    let refresh_token = has("offline_access").then(|| format!("vcr_{}", random_token()));
    let record = |ttl: i64| Token {
        grant: grant.clone(),
        jti: random_token(),
        issued_at: now,
        expires_at: now + ttl,
        used: false,
    };
    {
        let mut store = lock(&emu.store);
        store
            .access_tokens
            .insert(access_token.clone(), record(access_ttl));
        if let Some(refresh) = &refresh_token {
            store
                .refresh_tokens
                .insert(refresh.clone(), record(refresh_ttl));
        }
    }
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": access_ttl,
        "scope": grant.scopes.join(" "),
    });
    if let Some(refresh) = refresh_token {
        body["refresh_token"] = json!(refresh);
    }
    if has("openid") {
        body["id_token"] = json!(id_token(emu, grant, now, id_ttl));
    }
    json_response(StatusCode::OK, &body)
}

/// An ID token (OpenID Connect Core §2) with the claims the scopes allow.
fn id_token(emu: &Emulator, grant: &Grant, now: i64, ttl: i64) -> String {
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(emu.issuer()));
    claims.insert("sub".into(), json!(grant.sub));
    claims.insert("aud".into(), json!(grant.client_id));
    claims.insert("exp".into(), json!(now + ttl));
    claims.insert("iat".into(), json!(now));
    claims.insert("nbf".into(), json!(now));
    claims.insert("jti".into(), json!(random_token()));
    if let Some(nonce) = &grant.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    user_claims(emu, &grant.sub, &grant.scopes, &mut claims, false);
    let faults = emu.faults().clone();
    if let Some(edit) = &faults.id_token_claims {
        edit(&mut claims);
    }
    let keys = lock(&emu.keys);
    keys[0].sign(&Value::Object(claims), faults.signing)
}

fn user_claims(
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

/// `POST /login/oauth/token/revoke` (RFC 7009). Revoking either token of
/// a grant revokes both.
fn revoke(emu: &Emulator, request: &http::Request<Vec<u8>>) -> Response {
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
fn introspect(emu: &Emulator, request: &http::Request<Vec<u8>>) -> Response {
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
fn userinfo(emu: &Emulator, request: &http::Request<Vec<u8>>) -> Response {
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

fn json_response(status: StatusCode, body: &Value) -> Response {
    raw_json(status.as_u16(), body.to_string())
}

fn raw_json(status: u16, body: String) -> Response {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::CACHE_CONTROL, "no-store")
        .header(http::header::PRAGMA, "no-cache")
        .body(Bytes::from(body))
        .unwrap_or_default()
}

/// An RFC 6749 §5.2 error body.
fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    raw_json(
        status,
        json!({ "error": error, "error_description": description }).to_string(),
    )
}

fn html(status: StatusCode, body: String) -> Response {
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
    fn client(&self, client_id: &str) -> Option<Client> {
        lock(&self.config)
            .clients
            .iter()
            .find(|c| c.client_id == client_id)
            .cloned()
    }
}
