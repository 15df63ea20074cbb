//! Marketplace integrations' "Open in Provider" SSO (Vercel's REST API
//! reference): the redirect login and the token exchange
//! `POST /v1/integrations/sso/token`.
//!
//! An integration is a registered client with a secret; its first redirect URI
//! is its redirect login URL. `GET /sso/integrations/{client_id}` (the
//! emulator's stand-in for the dashboard's "Open in Provider", with `state`,
//! and `user` and deep-link parameters such as `resource_id` optional) issues a
//! code for a user and redirects there with `mode=sso`, `code` and `state`, as
//! Vercel's marketplace documentation lists them. The exchange takes the JSON
//! body of Vercel's REST API reference (or a form with
//! `grant_type=authorization_code`) and answers `id_token` (issued by the
//! marketplace origin: [`super::marketplace::id_token`]), `access_token`,
//! `token_type` and `expires_in`; 400 for a refused code or credentials, 404
//! for an unknown integration.

use std::collections::HashMap;

use http::StatusCode;
use serde_json::{Value, json};
use url::Url;

use super::respond::{found, json_response, rest_bad_request, rest_error};
use super::{Response, html, marketplace, session};
use crate::config::{expiry, seconds};
use crate::secret::{ct_eq, random_token};
use crate::store::{Grant, SsoCode, Token, uuid_v4};
use crate::{Emulator, form_params, lock, pages};

pub(super) const LOGIN_PREFIX: &str = "/sso/integrations/";
/// What the SSO access token covers.
const SSO_SCOPES: [&str; 3] = ["openid", "email", "profile"];
/// Deep-link parameters passed on to the redirect login URL.
const DEEP_LINK: [&str; 6] = [
    "product_id",
    "resource_id",
    "project_id",
    "invoice_id",
    "path",
    "url",
];

fn page_error(message: &str) -> Response {
    html(StatusCode::BAD_REQUEST, pages::error(message))
}

/// `GET /sso/integrations/{client_id}`: a fresh code for `user`, else the
/// user the browser is signed in to the emulator as, else the first user,
/// in a redirect to the redirect login URL. The browser's own sign-in is
/// left as it is.
pub(super) fn login(emu: &Emulator, request: &http::Request<Vec<u8>>) -> Response {
    let client_id = request
        .uri()
        .path()
        .strip_prefix(LOGIN_PREFIX)
        .unwrap_or_default();
    let query = request.uri().query().unwrap_or("");
    let Ok(params) = form_params(query.as_bytes()) else {
        return page_error("A parameter is repeated.");
    };
    let Some(client) = emu.client(client_id).filter(|c| c.client_secret.is_some()) else {
        return page_error("Unknown integration (a registered client with a secret).");
    };
    let Some(redirect_uri) = client.redirect_uris.first().cloned() else {
        return page_error("The integration has no redirect login URL.");
    };
    let user = match params.get("user") {
        Some(sub) => emu.user(sub),
        None => session::signed_in(emu, request)
            .map(|s| s.user)
            .or_else(|| emu.users().into_iter().next()),
    };
    let Some(user) = user else {
        return page_error("Unknown user.");
    };
    let Ok(mut url) = Url::parse(&redirect_uri) else {
        return page_error("The redirect login URL is not a URL.");
    };
    let code = random_token();
    let state = params.get("state").cloned();
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("mode", "sso");
        query.append_pair("code", &code);
        if let Some(state) = &state {
            query.append_pair("state", state);
        }
        for name in DEEP_LINK {
            if let Some(value) = params.get(name) {
                query.append_pair(name, value);
            }
        }
    }
    let now = emu.now();
    let expires_at = expiry(now, lock(&emu.config).code_ttl);
    {
        let mut store = lock(&emu.store);
        store.sso_codes.insert(
            code,
            SsoCode {
                client_id: client.client_id,
                sub: user.sub.clone(),
                state,
                redirect_uri,
                expires_at,
                used: false,
            },
        );
        store.inserted(now);
    }
    found(url.as_str())
}

/// The exchange's parameters: the JSON body of Vercel's REST API reference, or
/// a form.
fn parameters(request: &http::Request<Vec<u8>>) -> Option<HashMap<String, String>> {
    let content_type = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let params = form_params(request.body()).ok()?;
        return (params.get("grant_type").map(String::as_str) == Some("authorization_code"))
            .then_some(params);
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(request.body()) else {
        return None;
    };
    body.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Some((k, s)),
            _ => None,
        })
        .collect()
}

/// `POST /v1/integrations/sso/token`.
pub(super) fn exchange(emu: &Emulator, request: &http::Request<Vec<u8>>) -> Response {
    let invalid = || rest_bad_request("body");
    let Some(params) = parameters(request) else {
        return invalid();
    };
    let (Some(client_id), Some(secret), Some(code)) = (
        params.get("client_id"),
        params.get("client_secret"),
        params.get("code"),
    ) else {
        return invalid();
    };
    let Some(client) = emu.client(client_id).filter(|c| c.client_secret.is_some()) else {
        return rest_error(StatusCode::NOT_FOUND, "not_found", "Integration not found.");
    };
    if !client
        .client_secret
        .as_deref()
        .is_some_and(|expected| ct_eq(secret, expected))
    {
        return invalid();
    }
    let now = emu.now();
    let sub = {
        let mut store = lock(&emu.store);
        let Some(entry) = store.sso_codes.get_mut(code) else {
            return invalid();
        };
        let state_ok = match (&entry.state, params.get("state")) {
            (Some(expected), Some(sent)) => ct_eq(expected, sent),
            (Some(_), None) => false,
            (None, _) => true,
        };
        let redirect_ok = params
            .get("redirect_uri")
            .is_none_or(|r| *r == entry.redirect_uri);
        if entry.used
            || entry.expires_at <= now
            || entry.client_id != client.client_id
            || !state_ok
            || !redirect_ok
        {
            return invalid();
        }
        entry.used = true;
        entry.sub.clone()
    };
    let Some(user) = emu.user(&sub) else {
        return invalid();
    };
    let access_ttl = lock(&emu.config).access_token_ttl;
    let grant = Grant {
        id: uuid_v4(),
        client_id: client.client_id.clone(),
        sub,
        scopes: SSO_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        nonce: None,
        auth_time: None,
        refresh_expires_at: None,
    };
    let access_token = format!("vca_{}", random_token());
    {
        let mut store = lock(&emu.store);
        store.access_tokens.insert(
            access_token.clone(),
            Token {
                grant: grant.clone(),
                jti: uuid_v4(),
                issued_at: now,
                expires_at: expiry(now, access_ttl),
                used: false,
            },
        );
        store.inserted(now);
    }
    json_response(
        StatusCode::OK,
        &json!({
            "id_token": marketplace::id_token(emu, &client.client_id, &user, now),
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": seconds(access_ttl),
        }),
    )
}
