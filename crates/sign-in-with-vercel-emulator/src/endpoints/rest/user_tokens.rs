//! Vercel's REST API user-token endpoints (its reference's "Authentication"
//! section), with its shapes and status codes: create `POST /v3/user/tokens`,
//! list `GET /v6/user/tokens` (the current reference's version; `/v5`, an
//! older page's, answers alike; paginated by `limit`, `since`, `until`),
//! metadata `GET /v5/user/tokens/{id}` and delete
//! `DELETE /v3/user/tokens/{id}`; `current` names the calling token. A deleted
//! token stops working at once; deleting an OAuth access token revokes its
//! grant, its refresh token included, as revoking it does (Vercel's
//! Authorization Server API reference: "If the Access Token is revoked, the
//! Refresh Token is also revoked").

use http::StatusCode;
use serde_json::{Value, json};

use super::{Caller, caller, token_id};
use crate::endpoints::respond::{json_response, not_found, rest_bad_request, rest_error};
use crate::endpoints::{Request, Response};
use crate::secret::random_token;
use crate::store::{UserToken, millis};
use crate::{Emulator, form_params, lock};

/// Where `GET /v5/user/tokens/{id}` is served.
pub(in crate::endpoints) const GET_TOKEN: &str = "/v5/user/tokens/";
/// Where `DELETE /v3/user/tokens/{id}` is served.
pub(in crate::endpoints) const DELETE_TOKEN: &str = "/v3/user/tokens/";
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

/// Every live token of `sub` as Vercel's metadata, with its bearer value.
fn tokens_of(emu: &Emulator, sub: &str) -> Vec<(String, Value)> {
    let now = emu.now();
    let store = lock(&emu.store);
    let mut out = Vec::new();
    for (bearer, t) in &store.access_tokens {
        if t.grant.sub == sub && store.is_live(t, now) {
            let name = emu
                .client(&t.grant.client_id)
                .map_or_else(|| t.grant.client_id.clone(), |c| c.name);
            let created = millis(t.issued_at);
            out.push((
                bearer.clone(),
                json!({
                    "id": token_id(bearer),
                    "name": name,
                    "type": "oauth2-token",
                    "origin": "sign-in-with-vercel",
                    "scopes": [{ "type": "user", "origin": "sign-in-with-vercel", "createdAt": created }],
                    "expiresAt": millis(t.expires_at),
                    "activeAt": millis(now),
                    "createdAt": created,
                }),
            ));
        }
    }
    for (bearer, t) in &store.user_tokens {
        if t.sub == sub && t.is_live(now) {
            out.push((bearer.clone(), user_token_json(t, now)));
        }
    }
    // Newest first, as Vercel lists them.
    out.sort_by(|a, b| {
        (b.1["createdAt"].as_i64(), b.1["id"].as_str())
            .cmp(&(a.1["createdAt"].as_i64(), a.1["id"].as_str()))
    });
    out
}

fn user_token_json(t: &UserToken, now: i64) -> Value {
    let mut value = json!({
        "id": t.id,
        "name": t.name,
        "type": "token",
        "origin": "manual",
        "scopes": [{ "type": "user", "origin": "manual", "createdAt": t.created_at }],
        "activeAt": millis(now),
        "createdAt": t.created_at,
    });
    if let Some(at) = t.expires_at {
        value["expiresAt"] = json!(at);
    }
    value
}

/// `POST /v3/user/tokens`: 200 `{"token", "bearerToken"}`; 400 for a bad
/// `name` or `expiresAt`; 403 for a team, since emulated users have none.
pub(in crate::endpoints) fn create(emu: &Emulator, request: &Request) -> Response {
    let caller = match caller(emu, request) {
        Ok(c) => c,
        Err(refused) => return refused,
    };
    let Ok(params) = form_params(query(request)) else {
        return rest_bad_request("query");
    };
    if params.contains_key("teamId") || params.contains_key("slug") {
        return rest_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "You do not have permission to access this resource.",
        );
    }
    let invalid = || rest_bad_request("body");
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(request.body()) else {
        return invalid();
    };
    let name = match body.get("name").and_then(Value::as_str) {
        Some(n) if !n.trim().is_empty() && n.len() <= 256 => n.to_owned(),
        _ => return invalid(),
    };
    let now = emu.now();
    let now_ms = millis(now);
    let expires_at = match body.get("expiresAt") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(at) if at > now_ms => Some(at),
            _ => return invalid(),
        },
    };
    let bearer = random_token();
    let mut store = lock(&emu.store);
    // Distinct creation times keep `until`/`since` pagination exact.
    let created_at = store
        .user_tokens
        .values()
        .filter(|t| t.sub == caller.sub)
        .map(|t| t.created_at + 1)
        .chain(
            store
                .access_tokens
                .values()
                .filter(|t| t.grant.sub == caller.sub)
                .map(|t| millis(t.issued_at).saturating_add(1)),
        )
        .fold(now_ms, i64::max);
    let token = UserToken {
        id: token_id(&bearer),
        sub: caller.sub.clone(),
        name,
        created_at,
        expires_at,
    };
    let metadata = user_token_json(&token, now);
    store.user_tokens.insert(bearer.clone(), token);
    store.inserted(now);
    json_response(
        StatusCode::OK,
        &json!({ "token": metadata, "bearerToken": bearer }),
    )
}

/// `GET /v6/user/tokens` and `GET /v5/user/tokens`: a page of `limit`
/// tokens created before `until` or after `since`, with
/// `pagination: {count, next, prev}`.
pub(in crate::endpoints) fn list(emu: &Emulator, request: &Request) -> Response {
    let caller = match caller(emu, request) {
        Ok(c) => c,
        Err(refused) => return refused,
    };
    let invalid = || rest_bad_request("query");
    let Ok(params) = form_params(query(request)) else {
        return invalid();
    };
    let number = |name: &str| params.get(name).map(|v| v.parse::<i64>());
    let limit = match number("limit") {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=MAX_LIMIT as i64).contains(&n) => n as usize,
        Some(_) => return invalid(),
    };
    let (since, until) = match (number("since"), number("until")) {
        (Some(Err(_)), _) | (_, Some(Err(_))) => return invalid(),
        (s, u) => (s.and_then(Result::ok), u.and_then(Result::ok)),
    };
    let all: Vec<Value> = tokens_of(emu, &caller.sub)
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| {
            let created = t["createdAt"].as_i64().unwrap_or(0);
            since.is_none_or(|s| created > s) && until.is_none_or(|u| created < u)
        })
        .collect();
    // With `since`, the page is the oldest tokens after it (the page just
    // before the one `prev` came from).
    let page: Vec<Value> = if since.is_some() && until.is_none() {
        let skip = all.len().saturating_sub(limit);
        all[skip..].to_vec()
    } else {
        all.iter().take(limit).cloned().collect()
    };
    let created = |t: Option<&Value>| t.and_then(|t| t["createdAt"].as_i64());
    let last = created(page.last());
    let more = last.is_some_and(|l| {
        all.iter()
            .any(|t| t["createdAt"].as_i64().is_some_and(|c| c < l))
    });
    json_response(
        StatusCode::OK,
        &json!({
            "tokens": page,
            "pagination": {
                "count": page.len(),
                "next": if more { last } else { None },
                "prev": created(page.first()),
            },
        }),
    )
}

/// `GET /v5/user/tokens/{id}`: the token's metadata.
pub(in crate::endpoints) fn get(emu: &Emulator, request: &Request) -> Response {
    let Some(id) = id_after(request, GET_TOKEN) else {
        return not_found(true);
    };
    let found = caller(emu, request).and_then(|caller| find(emu, &caller, id));
    match found {
        Ok((_, token)) => json_response(StatusCode::OK, &json!({ "token": token })),
        Err(refused) => refused,
    }
}

/// The token `id` names among the caller's (`current`: the calling one),
/// with its bearer value.
fn find(emu: &Emulator, caller: &Caller, id: &str) -> Result<(String, Value), Response> {
    let wanted = if id == "current" {
        token_id(&caller.bearer)
    } else if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        id.to_ascii_lowercase()
    } else {
        return Err(rest_bad_request("query"));
    };
    tokens_of(emu, &caller.sub)
        .into_iter()
        .find(|(_, t)| t["id"] == wanted.as_str())
        .ok_or_else(|| {
            rest_error(
                StatusCode::NOT_FOUND,
                "not_found",
                "Token not found with the requested tokenId.",
            )
        })
}

/// `DELETE /v3/user/tokens/{id}`: the token stops working at once; an
/// OAuth access token's grant is revoked, its refresh token with it.
pub(in crate::endpoints) fn delete(emu: &Emulator, request: &Request) -> Response {
    let Some(id) = id_after(request, DELETE_TOKEN) else {
        return not_found(true);
    };
    let found = caller(emu, request).and_then(|caller| find(emu, &caller, id));
    let (bearer, token) = match found {
        Ok(found) => found,
        Err(response) => return response,
    };
    {
        let mut store = lock(&emu.store);
        store.user_tokens.remove(&bearer);
        if let Some(grant) = store.access_tokens.get(&bearer).map(|t| t.grant.id.clone()) {
            store.revoke_grant(grant, emu.now());
        }
    }
    json_response(StatusCode::OK, &json!({ "tokenId": token["id"] }))
}

/// The request's query, for [`form_params`].
fn query(request: &Request) -> &[u8] {
    request.uri().query().unwrap_or("").as_bytes()
}

/// The token ID in the request's path after `prefix`: one segment.
fn id_after<'r>(request: &'r Request, prefix: &str) -> Option<&'r str> {
    request
        .uri()
        .path()
        .strip_prefix(prefix)
        .filter(|id| !id.contains('/'))
}
