//! Vercel's REST API as an app signed in with Vercel calls it: the
//! authenticated user, the user's tokens (Vercel's REST API reference,
//! "Authentication"), and how Vercel refuses a token (as seen in public CI logs
//! and integrations).

use http::Method;
use serde_json::{Value, json};
use sign_in_with_vercel_emulator::Emulator;

use crate::support::*;

/// Vercel's REST API, as seen widely in public CI logs and integrations: an
/// expired, revoked or unknown token gets
/// `403 {"error":{"code":"forbidden","message":"Not authorized","invalidToken":true}}`.
#[test]
fn an_unknown_token_is_vercels_403_invalid_token() {
    let response = rest_get(&emulator(), "/v2/user", Some("vca_unknown"));
    assert_eq!(response.status(), 403);
    assert_eq!(
        json(&response),
        json!({"error": {"code": "forbidden", "message": "Not authorized", "invalidToken": true}})
    );
}

/// The same refusal for a revoked token and an expired one.
#[test]
fn revoked_and_expired_tokens_are_vercels_403_invalid_token() {
    let emu = emulator();
    let revoked = tokens(&emu, None);
    revoke(&emu, str_of(&revoked, "access_token"));
    let expired = tokens(&emu, None);
    emu.expire_access_token(str_of(&expired, "access_token"));
    for token in [&revoked, &expired] {
        let response = rest_get(
            &emu,
            "/v5/user/tokens/current",
            Some(str_of(token, "access_token")),
        );
        assert_eq!(response.status(), 403);
        assert_eq!(json(&response)["error"]["invalidToken"], true);
    }
}

/// A request without a token is answered as one with an invalid token (a guess:
/// what has been seen of Vercel's answers covers only invalid tokens).
#[test]
fn a_missing_token_is_answered_as_an_invalid_one() {
    let response = rest_get(&emulator(), "/v5/user/tokens", None);
    assert_eq!(response.status(), 403);
    assert_eq!(json(&response)["error"]["invalidToken"], true);
}

/// Vercel's "Get the User" (`GET /v2/user`): `{"user": {…}}` with the
/// authenticated user's `id`, `email`, `name`, `username` and `avatar`.
#[test]
fn v2_user_answers_the_tokens_user() {
    let emu = emulator();
    for sub in [DEMO, SECOND] {
        let t = tokens_as(&emu, sub, None);
        let response = rest_get(&emu, "/v2/user", Some(str_of(&t, "access_token")));
        assert_eq!(response.status(), 200, "{}", text(&response));
        let user = &json(&response)["user"];
        assert_eq!(user["id"], sub);
        let info = json(&userinfo(&emu, str_of(&t, "access_token")));
        assert_eq!(user["email"], info["email"]);
        assert_eq!(user["name"], info["name"]);
        assert_eq!(user["username"], info["preferred_username"]);
        let avatar = str_of(user, "avatar");
        assert_eq!(avatar.len(), 40, "a SHA-1-sized hex ID, as Vercel's");
        assert_eq!(
            info["picture"],
            format!("{ISSUER}/api/www/avatar/{avatar}"),
            "the avatar endpoint's ID"
        );
        assert_eq!(user["version"], "northstar");
        assert!(user["defaultTeamId"].is_string());
        assert!(user["createdAt"].is_number());
    }
}

/// `GET /v2/user` refuses tokens as every REST endpoint does, and only
/// `GET` is served there.
#[test]
fn v2_user_refuses_bad_tokens_and_other_methods() {
    let emu = emulator();
    assert_eq!(rest_get(&emu, "/v2/user", None).status(), 403);
    let t = tokens(&emu, None);
    let delete = api_call(
        &emu,
        Method::DELETE,
        "/v2/user",
        Some(str_of(&t, "access_token")),
        None,
    );
    assert_eq!(delete.status(), 405);
    assert_eq!(json(&delete)["error"]["code"], "method_not_allowed");
}

/// Every REST endpoint refuses a method it does not serve in Vercel's
/// error shape (`405 method_not_allowed`), and answers only on the API
/// origin; the SSO redirect login only on the issuer origin.
#[test]
fn rest_endpoints_refuse_other_methods_and_other_origins() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let access = str_of(&t, "access_token");
    for (method, path) in [
        (Method::GET, "/v3/user/tokens"),
        (Method::POST, "/v5/user/tokens"),
        (Method::DELETE, "/v5/user/tokens/current"),
        (Method::GET, "/v3/user/tokens/current"),
        (Method::GET, "/v1/integrations/sso/token"),
    ] {
        let refused = api_call(&emu, method.clone(), path, Some(access), None);
        assert_eq!(refused.status(), 405, "{method} {path}");
        assert_eq!(
            json(&refused)["error"]["code"],
            "method_not_allowed",
            "{method} {path}"
        );
    }
    for url in [
        format!("{ISSUER}/v2/user"),
        format!("{ISSUER}/v5/user/tokens"),
        format!("{ISSUER}/v5/user/tokens/current"),
        format!("{ISSUER}/v1/integrations/sso/token"),
        format!("{API}/sso/integrations/{CLIENT}"),
        format!("{API}/v5/user/tokens/current/more"),
    ] {
        assert_eq!(get(&emu, &url).status(), 404, "{url}");
    }
}

/// Vercel's REST API reference, `DELETE /v3/user/tokens/{tokenId}`: "Invalidate
/// an authentication token"; `current` "invalidates the token that the HTTP
/// request was authenticated with". For an OAuth access token, its refresh
/// token goes with it, as revoking it does (Vercel's Authorization Server API
/// reference: "If the Access Token is revoked, the Refresh Token is also
/// revoked").
#[test]
fn deleting_the_current_oauth_token_revokes_its_refresh_token() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let access = str_of(&t, "access_token");
    let deleted = api_call(
        &emu,
        Method::DELETE,
        "/v3/user/tokens/current",
        Some(access),
        None,
    );
    assert_eq!(deleted.status(), 200, "{}", text(&deleted));
    assert!(json(&deleted)["tokenId"].is_string());
    assert_eq!(userinfo(&emu, access).status(), 401);
    assert!(!active(&emu, str_of(&t, "refresh_token")));
    assert_eq!(
        json(&refresh(&emu, str_of(&t, "refresh_token")))["error"],
        "invalid_grant"
    );
}

/// The same by the token's ID, from another of the user's tokens.
#[test]
fn deleting_an_oauth_token_by_id_revokes_its_refresh_token() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let access = str_of(&t, "access_token");
    let meta = json(&rest_get(&emu, "/v5/user/tokens/current", Some(access)));
    let id = str_of(&meta["token"], "id").to_owned();
    let other = tokens(&emu, None);
    let deleted = api_call(
        &emu,
        Method::DELETE,
        &format!("/v3/user/tokens/{id}"),
        Some(str_of(&other, "access_token")),
        None,
    );
    assert_eq!(deleted.status(), 200, "{}", text(&deleted));
    assert!(!active(&emu, str_of(&t, "refresh_token")));
    assert!(active(&emu, str_of(&other, "refresh_token")));
}

/// Vercel's REST API reference, `GET /v5/user/tokens/{tokenId}`: 404 "Token not
/// found with the requested tokenId", in Vercel's error shape.
#[test]
fn an_unknown_token_id_is_not_found() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let response = rest_get(
        &emu,
        &format!("/v5/user/tokens/{}", "0".repeat(64)),
        Some(str_of(&t, "access_token")),
    );
    assert_eq!(response.status(), 404);
    assert_eq!(json(&response)["error"]["code"], "not_found");
}

/// Vercel's REST API reference, `POST /v3/user/tokens`: "The bearerToken
/// property is only provided once"; the new token authenticates REST requests
/// as the user.
#[test]
fn a_created_token_calls_the_api_as_the_user() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let created = api_call(
        &emu,
        Method::POST,
        "/v3/user/tokens",
        Some(str_of(&t, "access_token")),
        Some(r#"{"name": "ci"}"#),
    );
    assert_eq!(created.status(), 200, "{}", text(&created));
    let bearer = str_of(&json(&created), "bearerToken").to_owned();
    let user = json(&rest_get(&emu, "/v2/user", Some(&bearer)));
    assert_eq!(user["user"]["id"], DEMO);
}

/// Vercel's REST API reference lists the token list as `GET /v6/user/tokens`
/// today, where an older page shows `/v5`: both answer, alike.
#[test]
fn the_token_list_answers_at_v6_as_at_v5() {
    let (emu, _clock) = emulator_on_a_clock();
    let t = tokens(&emu, None);
    let access = str_of(&t, "access_token");
    let v5 = rest_get(&emu, "/v5/user/tokens?limit=5", Some(access));
    let v6 = rest_get(&emu, "/v6/user/tokens?limit=5", Some(access));
    assert_eq!(v6.status(), 200, "{}", text(&v6));
    assert_eq!(json(&v6), json(&v5));
    assert_eq!(json(&v6)["tokens"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest_get(&emu, "/v6/user/tokens", None).status(), 403);
    assert_eq!(
        api_call(&emu, Method::POST, "/v6/user/tokens", Some(access), None).status(),
        405
    );
}

/// `POST /v3/user/tokens` with `body` as `bearer`: status and JSON.
fn create_token(emu: &Emulator, bearer: &str, query: &str, body: &str) -> (u16, Value) {
    let answer = api_call(
        emu,
        Method::POST,
        &format!("/v3/user/tokens{query}"),
        Some(bearer),
        Some(body),
    );
    (answer.status().as_u16(), json(&answer))
}

/// `GET /v6/user/tokens{query}` as `bearer`: status and JSON.
fn list_tokens(emu: &Emulator, bearer: &str, query: &str) -> (u16, Value) {
    let answer = rest_get(emu, &format!("/v6/user/tokens{query}"), Some(bearer));
    (answer.status().as_u16(), json(&answer))
}

/// Vercel's REST API reference, `POST /v3/user/tokens`: `name` is required,
/// `expiresAt` optional (milliseconds; the emulator's guess: it must be in
/// the future, and a name is 1 to 256 characters, not only spaces); a
/// team's token (`teamId` or `slug`) is 403 for the emulated users, who
/// have no team. The answer is the token's metadata and its bearer value.
#[test]
fn creating_a_token_checks_its_name_expiry_and_owner() {
    let (emu, clock) = emulator_on_a_clock();
    let now_ms = clock.load(std::sync::atomic::Ordering::SeqCst) * 1000;
    let t = tokens(&emu, None);
    let access = str_of(&t, "access_token");
    for body in [
        json!({}),
        json!({ "name": "" }),
        json!({ "name": "   " }),
        json!({ "name": "n".repeat(257) }),
        json!({ "name": 7 }),
        json!({ "name": "ci", "expiresAt": now_ms }),
        json!({ "name": "ci", "expiresAt": now_ms - 1 }),
        json!({ "name": "ci", "expiresAt": "tomorrow" }),
    ] {
        let (status, answer) = create_token(&emu, access, "", &body.to_string());
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "bad_request", "{body}");
    }
    for query in ["?teamId=team_1", "?slug=my-team"] {
        let (status, _) = create_token(&emu, access, query, r#"{"name": "ci"}"#);
        assert_eq!(status, 403, "{query}");
    }
    let name = "n".repeat(256);
    let body = json!({ "name": name, "expiresAt": now_ms + 1 });
    let (status, answer) = create_token(&emu, access, "", &body.to_string());
    assert_eq!(status, 200, "{answer}");
    let token = &answer["token"];
    assert_eq!(
        (&token["name"], &token["type"], &token["origin"]),
        (&json!(name), &json!("token"), &json!("manual"))
    );
    assert_eq!(token["expiresAt"], now_ms + 1);
    assert_eq!(token["id"].as_str().map(str::len), Some(64));
    let (status, answer) = create_token(
        &emu,
        access,
        "",
        r#"{"name": "forever", "expiresAt": null}"#,
    );
    assert_eq!(status, 200, "{answer}");
    assert!(answer["token"].get("expiresAt").is_none(), "{answer}");
}

/// Vercel's REST API reference, `GET /v6/user/tokens`: the caller's own
/// tokens, newest first, OAuth and manual alike, each with distinct
/// `createdAt` (so that `until` and `since` page exactly, even for tokens
/// made in the same second), a `limit` of 1 to 100, and none of another
/// user's tokens.
#[test]
fn the_token_list_is_the_callers_own_newest_first_and_pages_exactly() {
    let (emu, _clock) = emulator_on_a_clock();
    let demo = tokens(&emu, None);
    let access = str_of(&demo, "access_token");
    for name in ["one", "two"] {
        let (status, _) = create_token(&emu, access, "", &json!({ "name": name }).to_string());
        assert_eq!(status, 200);
    }
    // Another user's tokens, made in the same second.
    let second = tokens_as(&emu, SECOND, None);
    let theirs = r#"{"name": "theirs"}"#;
    create_token(&emu, str_of(&second, "access_token"), "", theirs);
    let (status, list) = list_tokens(&emu, access, "");
    assert_eq!(status, 200, "{list}");
    let tokens = list["tokens"].as_array().unwrap();
    let names: Vec<&str> = tokens.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["two", "one", "Conformance app"], "{list}");
    let created: Vec<i64> = tokens
        .iter()
        .map(|t| t["createdAt"].as_i64().unwrap())
        .collect();
    assert!(
        created[0] > created[1] && created[1] > created[2],
        "{created:?}"
    );
    assert_eq!(list["pagination"]["count"], 3);
    assert_eq!(list["pagination"]["next"], Value::Null, "the last page");

    let (_, first_page) = list_tokens(&emu, access, "?limit=1");
    assert_eq!(first_page["tokens"][0]["name"], "two");
    let next = first_page["pagination"]["next"].as_i64().unwrap();
    assert_eq!(next, created[0]);
    let (_, rest) = list_tokens(&emu, access, &format!("?until={next}"));
    let rest: Vec<&str> = rest["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(rest, ["one", "Conformance app"]);
    let (_, one) = list_tokens(&emu, access, &format!("?until={next}&limit=1"));
    assert_eq!(one["tokens"][0]["name"], "one", "the newest before `until`");
    let (_, newer) = list_tokens(&emu, access, &format!("?since={}", created[2]));
    assert_eq!(newer["pagination"]["count"], 2, "{newer}");

    assert_eq!(list_tokens(&emu, access, "?limit=100").0, 200);
    // A token ID is 64 hexadecimal digits (or `current`); anything else is
    // a bad request, not an unknown token.
    for id in ["abc123".to_owned(), "g".repeat(64), "0".repeat(63)] {
        let answer = rest_get(&emu, &format!("/v5/user/tokens/{id}"), Some(access));
        assert_eq!(answer.status(), 400, "{id}");
    }
    for bad in ["?limit=0", "?limit=101", "?limit=x", "?until=x"] {
        assert_eq!(list_tokens(&emu, access, bad).0, 400, "{bad}");
    }
}

/// `Faults::rest_status` fails the user and user-token endpoints in the REST
/// API's own error shape, whatever the token, and nothing else: the OAuth
/// endpoints and the SSO exchange beside them answer as before.
#[test]
fn the_rest_fault_fails_the_user_endpoints_only() {
    let emu = emulator();
    let live = tokens(&emu, None);
    let token = str_of(&live, "access_token");
    emu.update_faults(|f| f.rest_status = Some(503));
    for path in ["/v2/user", "/v5/user/tokens/current", "/v6/user/tokens"] {
        let response = rest_get(&emu, path, Some(token));
        assert_eq!(response.status(), 503, "{path}");
        assert_eq!(
            json(&response)["error"]["code"],
            "injected_failure",
            "{path}"
        );
    }
    assert_eq!(userinfo(&emu, token).status(), 200);
    let exchange = api_call(
        &emu,
        Method::POST,
        "/v1/integrations/sso/token",
        None,
        Some("{}"),
    );
    assert_eq!(exchange.status(), 400, "{}", text(&exchange));
    emu.update_faults(|f| f.rest_status = None);
    assert_eq!(rest_get(&emu, "/v2/user", Some(token)).status(), 200);
}
