//! The token endpoint, on the API origin (and at the `/api/login/oauth/token`
//! of Vercel's Authorization Server API reference on the issuer origin): the
//! authorization code and refresh token grants (RFC 6749 §4.1.3, §6) and the ID
//! token (OpenID Connect Core §2).

use http::StatusCode;
use serde_json::{Map, json};

use super::client_auth::{At, authenticate};
use super::respond::{form_body, json_response, oauth_error, raw_json};
use super::userinfo::user_claims;
use super::{Request, Response};
use crate::config::{expiry, seconds};
use crate::pkce;
use crate::secret::random_token;
use crate::store::{Grant, Token, uuid_v4};
use crate::{Emulator, ReusePolicy, lock};

/// Which grant the tokens come from: a refreshed ID token carries no
/// `nonce` (OpenID Connect Core §12.2 allows either; a repeated nonce would
/// hide an app that checks it where it should not).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum From {
    Code,
    Refresh,
}

/// `POST /login/oauth/token` (RFC 6749 §3.2, §4.1.3, §6).
pub(super) fn token(emu: &Emulator, request: &Request) -> Response {
    if let Some((status, body)) = emu.faults().token_response.clone() {
        return raw_json(status, body);
    }
    let params = match form_body(request) {
        Ok(p) => p,
        Err(response) => return response,
    };
    let client = match authenticate(emu, request, &params, At::Token) {
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
                let mut guard = lock(&emu.store);
                let store = &mut *guard;
                let removed = store
                    .codes
                    .get(code)
                    .is_some_and(|c| store.is_revoked(&c.grant.id));
                let Some(entry) = store.codes.get_mut(code) else {
                    return oauth_error(400, "invalid_grant", "unknown authorization code");
                };
                // RFC 6749 §4.1.3: the code's client first, so that another
                // client replaying a spent code cannot revoke its grant.
                if entry.grant.client_id != client.client_id {
                    return oauth_error(400, "invalid_grant", "code was issued to another client");
                }
                if entry.used {
                    // RFC 6749 §4.1.2: a reused code revokes what it issued,
                    // however late: the sweep keeps a spent code while a
                    // token of its grant is known, so what the replay does
                    // does not depend on whether it has run (once none is,
                    // the description may say "unknown" instead).
                    let grant_id = entry.grant.id.clone();
                    store.revoke_grant(grant_id, now);
                    return oauth_error(400, "invalid_grant", "authorization code already used");
                }
                if entry.expires_at <= now {
                    return oauth_error(400, "invalid_grant", "authorization code expired");
                }
                if removed {
                    return oauth_error(400, "invalid_grant", "authorization was removed");
                }
                if &entry.redirect_uri != redirect_uri {
                    return oauth_error(
                        400,
                        "invalid_grant",
                        "redirect_uri differs from the authorization request",
                    );
                }
                if !pkce::s256_matches(verifier, &entry.code_challenge) {
                    return oauth_error(400, "invalid_grant", "PKCE verification failed");
                }
                entry.used = true;
                entry.grant.clone()
            };
            issue_tokens(emu, &grant, now, From::Code)
        }
        Some("refresh_token") => {
            let Some(refresh_token) = params.get("refresh_token") else {
                return oauth_error(400, "invalid_request", "refresh_token is required");
            };
            let reuse = lock(&emu.config).refresh_token_reuse;
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
                // RFC 6749 §6: a scope may narrow the grant's, never
                // widen it (the tokens keep the grant's scope, §3.3). The
                // description is fixed: the request's text is not echoed
                // (§5.2 limits what an `error_description` may hold).
                if params.get("scope").is_some_and(|scope| {
                    scope
                        .split(' ')
                        .any(|s| !s.is_empty() && !entry.grant.scopes.iter().any(|g| g == s))
                }) {
                    return oauth_error(
                        400,
                        "invalid_scope",
                        "the scope exceeds the one originally granted",
                    );
                }
                // One the sweep would forget is unknown: no reuse to act on.
                if entry.used && store.is_known(&entry, now) && reuse == ReusePolicy::RevokeGrant {
                    // RFC 9700 §4.14.2: a reuse means two parties hold the
                    // grant; revoke all of it, the newest pair included.
                    store.revoke_grant(entry.grant.id.clone(), now);
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
            issue_tokens(emu, &grant, now, From::Refresh)
        }
        Some(_) => oauth_error(
            400,
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token",
        ),
        None => oauth_error(400, "invalid_request", "grant_type is required"),
    }
}

/// The token response (RFC 6749 §5.1, Vercel's Authorization Server API
/// reference, "Token Endpoint response example"): an access token; a refresh
/// token with `offline_access`, which expires with the grant's first one,
/// however often it is rotated; an ID token with `openid` (OpenID Connect
/// Core §3.1.3.3).
fn issue_tokens(emu: &Emulator, grant: &Grant, now: i64, from: From) -> Response {
    let (access_ttl, refresh_ttl, id_ttl) = {
        let c = lock(&emu.config);
        (c.access_token_ttl, c.refresh_token_ttl, c.id_token_ttl)
    };
    let has = |scope: &str| grant.scopes.iter().any(|s| s == scope);
    let access_token = format!("vca_{}", random_token());
    let refresh_token = has("offline_access").then(|| format!("vcr_{}", random_token()));
    let refresh_expires_at = grant
        .refresh_expires_at
        .unwrap_or_else(|| expiry(now, refresh_ttl));
    let grant = Grant {
        refresh_expires_at: Some(refresh_expires_at),
        ..grant.clone()
    };
    let record = |expires_at: i64| Token {
        grant: grant.clone(),
        jti: uuid_v4(),
        issued_at: now,
        expires_at,
        used: false,
    };
    {
        let mut store = lock(&emu.store);
        store
            .access_tokens
            .insert(access_token.clone(), record(expiry(now, access_ttl)));
        if let Some(refresh) = &refresh_token {
            store
                .refresh_tokens
                .insert(refresh.clone(), record(refresh_expires_at));
        }
        store.inserted(now);
    }
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": seconds(access_ttl),
        "scope": grant.scopes.join(" "),
    });
    if let Some(refresh) = refresh_token {
        body["refresh_token"] = json!(refresh);
    }
    if has("openid") {
        body["id_token"] = json!(id_token(emu, &grant, now, id_ttl, from));
    }
    json_response(StatusCode::OK, &body)
}

/// An ID token (OpenID Connect Core §2) with the claims the scopes allow.
fn id_token(emu: &Emulator, grant: &Grant, now: i64, ttl: u64, from: From) -> String {
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(emu.issuer()));
    claims.insert("sub".into(), json!(grant.sub));
    claims.insert("aud".into(), json!(grant.client_id));
    claims.insert("exp".into(), json!(expiry(now, ttl)));
    claims.insert("iat".into(), json!(now));
    claims.insert("nbf".into(), json!(now));
    claims.insert("jti".into(), json!(uuid_v4()));
    if let (Some(nonce), From::Code) = (&grant.nonce, from) {
        claims.insert("nonce".into(), json!(nonce));
    }
    // §2 `auth_time`: when the user signed in to the emulator for this
    // grant, the same in refreshed ID tokens (§12.2).
    if let Some(auth_time) = grant.auth_time {
        claims.insert("auth_time".into(), json!(auth_time));
    }
    user_claims(emu, &grant.sub, &grant.scopes, &mut claims, false);
    emu.sign_id_token(claims, false)
}
