//! The signed-in session: user-info, validate-token, refresh with
//! rotation, sign-out. In process, against the emulator.

mod support;

use http::header::{CACHE_CONTROL, HOST, ORIGIN};
use support::*;

async fn signed_in(method: &str) -> Rp {
    let mut rp = rp(method);
    assert_eq!(location(&rp.sign_in().await), "/profile");
    rp
}

/// Asks the emulator directly whether a token is live.
fn active(rp: &Rp, token: &str) -> bool {
    let response = rp.emulator.handle(
        &http::Request::post("/login/oauth/token/introspect")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={token}").into_bytes())
            .unwrap(),
    );
    serde_json::from_slice::<serde_json::Value>(response.body()).unwrap()["active"] == true
}

#[tokio::test]
async fn user_info_returns_the_userinfo_claims() {
    let mut rp = signed_in("client_secret_post").await;
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()[CACHE_CONTROL], "no-store");
    let user = &body_json(&answer)["userInfo"];
    assert_eq!(user["sub"], "usr_demo1234567890");
    assert_eq!(user["name"], "Demo User");
    assert_eq!(user["email"], "demo@example.com");
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["preferred_username"], "demo");
    assert!(
        user["picture"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{ISSUER}/api/www/avatar/"))
    );
}

#[tokio::test]
async fn user_info_when_signed_out_is_401() {
    let mut rp = rp("client_secret_post");
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 401);
    assert_eq!(body_json(&answer)["error"], "not_signed_in");
    assert!(
        rp.recorder.requests.lock().unwrap().is_empty(),
        "no provider call"
    );
}

#[tokio::test]
async fn userinfo_sub_mismatch_is_an_error_not_data() {
    let mut rp = signed_in("client_secret_post").await;
    rp.emulator.faults().userinfo_sub = Some("usr_someone_else".into());
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 401);
    let body = body_json(&answer);
    assert_eq!(body["error"], "subject_mismatch");
    assert!(body.get("userInfo").is_none());
    assert_eq!(rp.jar.get("access_token"), None, "session ended");
}

#[tokio::test]
async fn missing_subject_cookie_is_an_invalid_session() {
    let mut rp = signed_in("client_secret_post").await;
    rp.jar.0.remove("session_sub");
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 401);
    assert_eq!(body_json(&answer)["error"], "invalid_session");
    assert_eq!(rp.jar.get("access_token"), None);
}

#[tokio::test]
async fn a_forged_subject_cookie_does_not_impersonate() {
    let mut rp = signed_in("client_secret_post").await;
    rp.jar
        .0
        .insert("session_sub".into(), encode_sub("usr_victim"));
    let answer = rp.get("/api/user-info").await;
    assert_eq!(body_json(&answer)["error"], "subject_mismatch");
}

#[tokio::test]
async fn duplicate_session_cookies_are_refused() {
    let mut rp = signed_in("client_secret_post").await;
    let request = http::Request::get("/api/user-info")
        .header(HOST, "localhost:3000")
        .header(
            "cookie",
            format!("{}; access_token=planted", rp.jar.header().unwrap()),
        )
        .body(())
        .unwrap();
    let answer = rp.auth.user_info(&request).await;
    assert_eq!(answer.status(), 401);
    assert_eq!(body_json(&answer)["error"], "invalid_session");
    rp.jar.store(&answer);
}

#[tokio::test]
async fn validate_token_returns_the_introspection() {
    let mut rp = signed_in("client_secret_post").await;
    let answer = rp.get("/api/validate-token").await;
    assert_eq!(answer.status(), 200);
    let body = body_json(&answer);
    assert_eq!(body["message"], "Token is valid");
    assert_eq!(body["tokenInfo"]["active"], true);
    assert_eq!(body["tokenInfo"]["client_id"], CLIENT_ID);
    assert_eq!(body["tokenInfo"]["sub"], "usr_demo1234567890");
    assert!(body["tokenInfo"]["exp"].is_i64());
}

#[tokio::test]
async fn validate_token_when_signed_out_is_401() {
    let mut rp = rp("client_secret_post");
    let answer = rp.get("/api/validate-token").await;
    assert_eq!(answer.status(), 401);
    assert_eq!(body_json(&answer)["error"], "not_signed_in");
}

#[tokio::test]
async fn validate_token_with_post_is_405() {
    let mut rp = signed_in("client_secret_post").await;
    let answer = rp.send("POST", "/api/validate-token").await;
    assert_eq!(answer.status(), 405);
    assert_eq!(answer.headers()["allow"], "GET");
}

#[tokio::test]
async fn expired_access_cookie_is_refreshed_and_the_rotated_refresh_token_stored() {
    let mut rp = signed_in("client_secret_post").await;
    let old_access = rp.jar.get("access_token").unwrap().to_owned();
    let old_refresh = rp.jar.get("refresh_token").unwrap().to_owned();
    // The browser drops the access cookie when its Max-Age runs out.
    rp.advance(3601);
    rp.jar.0.remove("access_token");
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(body_json(&answer)["userInfo"]["name"], "Demo User");
    let new_access = rp.jar.get("access_token").unwrap();
    let new_refresh = rp.jar.get("refresh_token").unwrap();
    assert_ne!(new_access, old_access);
    assert_ne!(new_refresh, old_refresh, "rotated refresh token stored");
    assert!(active(&rp, new_refresh));
    assert!(!active(&rp, &old_refresh), "old refresh token spent");
}

#[tokio::test]
async fn access_token_the_provider_rejects_is_refreshed() {
    let mut rp = signed_in("client_secret_basic").await;
    rp.advance(3601); // expired at the provider, cookie still sent
    let answer = rp.get("/api/validate-token").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(body_json(&answer)["tokenInfo"]["active"], true);
    assert_eq!(
        rp.sent_to("/login/oauth/token").len(),
        2,
        "sign-in + one refresh"
    );
}

#[tokio::test]
async fn reused_refresh_token_is_invalid_grant_and_ends_the_session() {
    let mut rp = signed_in("client_secret_post").await;
    let old = rp.jar.clone();
    rp.jar.0.remove("access_token");
    assert_eq!(rp.get("/api/user-info").await.status(), 200);
    // Another tab still holding the spent refresh token:
    rp.jar = old;
    rp.jar.0.remove("access_token");
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 401);
    assert_eq!(body_json(&answer)["error"], "token_rejected");
    assert_eq!(rp.jar.get("refresh_token"), None, "cookies cleared");
}

#[tokio::test]
async fn refresh_failure_clears_the_cookies_and_answers_401() {
    let mut rp = signed_in("client_secret_post").await;
    rp.advance(31 * 24 * 3600);
    rp.jar.0.remove("access_token");
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 401);
    assert_eq!(rp.jar.get("refresh_token"), None);
    assert_eq!(rp.jar.get("session_sub"), None);
}

#[tokio::test]
async fn provider_outage_during_refresh_keeps_the_cookies() {
    let mut rp = signed_in("client_secret_post").await;
    rp.jar.0.remove("access_token");
    rp.emulator.faults().all_status = Some(503);
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 502);
    assert_eq!(body_json(&answer)["error"], "provider_unavailable");
    assert!(
        rp.jar.get("refresh_token").is_some(),
        "a transient failure does not sign out"
    );
}

#[tokio::test]
async fn refreshed_id_token_about_another_user_is_refused() {
    let mut rp = signed_in("client_secret_post").await;
    rp.emulator.faults().id_token_claims = Some(std::sync::Arc::new(|c| {
        c.insert("sub".into(), serde_json::json!("usr_someone_else"));
    }));
    rp.jar.0.remove("access_token");
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 401);
    assert_eq!(body_json(&answer)["error"], "invalid_token");
    assert_eq!(rp.jar.get("refresh_token"), None);
}

#[tokio::test]
async fn signout_revokes_the_tokens_and_clears_the_cookies() {
    let mut rp = signed_in("client_secret_post").await;
    let access = rp.jar.get("access_token").unwrap().to_owned();
    let refresh = rp.jar.get("refresh_token").unwrap().to_owned();
    let answer = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        body_json(&answer),
        serde_json::json!({"signedOut": true, "revoked": true})
    );
    assert!(rp.jar.0.is_empty(), "all cookies cleared: {:?}", rp.jar);
    assert!(!active(&rp, &access));
    assert!(!active(&rp, &refresh));
    assert_eq!(rp.get("/api/user-info").await.status(), 401);
}

#[tokio::test]
async fn signout_clears_the_cookies_when_revocation_fails() {
    let mut rp = signed_in("client_secret_post").await;
    rp.emulator.faults().revocation_status = Some(503);
    let answer = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(body_json(&answer)["revoked"], false);
    assert!(rp.jar.0.is_empty());
}

#[tokio::test]
async fn signout_when_the_provider_is_unreachable_still_clears_the_cookies() {
    let mut rp = signed_in("client_secret_post").await;
    *rp.recorder.fail.lock().unwrap() =
        Some(sign_in_with_vercel::transport::TransportError::Connect);
    let answer = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(answer.status(), 200);
    assert!(rp.jar.0.is_empty());
}

#[tokio::test]
async fn signout_when_signed_out_is_401() {
    let mut rp = rp("client_secret_post");
    let answer = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(answer.status(), 401);
    assert_eq!(body_json(&answer)["error"], "not_signed_in");
}

#[tokio::test]
async fn signout_with_get_is_405() {
    let mut rp = signed_in("client_secret_post").await;
    let answer = rp.get("/api/auth/signout").await;
    assert_eq!(answer.status(), 405);
    assert_eq!(answer.headers()["allow"], "POST");
    assert!(
        rp.jar.get("access_token").is_some(),
        "a GET signs no one out"
    );
}

#[tokio::test]
async fn signout_from_another_origin_is_refused() {
    let mut rp = signed_in("client_secret_post").await;
    let mut request = rp.request("POST", "/api/auth/signout");
    request
        .headers_mut()
        .insert(ORIGIN, "https://evil.example".parse().unwrap());
    let answer = rp.auth.signout(&request).await;
    assert_eq!(answer.status(), 403);
    rp.jar.store(&answer);
    assert!(rp.jar.get("access_token").is_some());
}

#[tokio::test]
async fn signout_from_the_same_origin_is_allowed() {
    let rp = signed_in("client_secret_post").await;
    let mut request = rp.request("POST", "/api/auth/signout");
    request.headers_mut().insert(ORIGIN, APP.parse().unwrap());
    assert_eq!(rp.auth.signout(&request).await.status(), 200);
}

#[tokio::test]
async fn public_client_signs_in_refreshes_and_signs_out() {
    let mut rp = signed_in("none").await;
    rp.jar.0.remove("access_token");
    assert_eq!(rp.get("/api/user-info").await.status(), 200);
    assert_eq!(rp.get("/api/validate-token").await.status(), 200);
    let answer = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(body_json(&answer)["revoked"], true);
}

#[tokio::test]
async fn unknown_api_paths_are_404() {
    let rp = rp("client_secret_post");
    let request = rp.request("GET", "/api/nope");
    let answer = sign_in_with_vercel::dispatch(&rp.auth, &request)
        .unwrap()
        .await;
    assert_eq!(answer.status(), 404);
    assert!(sign_in_with_vercel::dispatch(&rp.auth, &rp.request("GET", "/profile")).is_none());
}

#[tokio::test]
async fn session_is_the_one_call_for_your_own_functions() {
    let rp = signed_in("client_secret_post").await;
    let request = rp.request("GET", "/api/anything-of-yours");
    let session = rp.auth.session(&request).await.unwrap();
    assert_eq!(session.sub, "usr_demo1234567890");
    assert_eq!(session.user["name"], "Demo User");
    let printed = format!("{session:?}");
    assert!(
        !printed.contains(session.access_token.secret()),
        "Debug redacts the token"
    );

    let signed_out = http::Request::get("/api/anything-of-yours")
        .header(HOST, "localhost:3000")
        .body(())
        .unwrap();
    let rejection = rp.auth.session(&signed_out).await.unwrap_err();
    assert_eq!(rejection.into_response().status(), 401);
}

#[tokio::test]
async fn hostile_requests_never_crash_a_route() {
    let mut rp = signed_in("client_secret_post").await;
    let cookie = rp.jar.header().unwrap();
    let long = "x".repeat(100_000);
    let cookies = [
        None,
        Some(cookie.as_str()),
        Some("access_token="),
        Some("access_token=\"quoted\"; session_sub=%ZZ"),
        Some(";;;===;"),
        Some(long.as_str()),
        Some("oauth_flow=e30; refresh_token=a b"),
    ];
    let paths = [
        "/api/auth/authorize?next=%FF",
        "/api/auth/authorize?next=",
        "/api/auth/authorize?next=/a&next=/b",
        "/api/auth/callback",
        "/api/auth/callback?code=&state=",
        "/api/auth/callback?error=",
        "/api/auth/callback?code=%00&state=%FF",
        "/api/auth/signout",
        "/api/validate-token?x=1",
        "/api/user-info",
    ];
    for method in ["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD"] {
        for path in paths {
            for c in cookies {
                let mut builder = http::Request::builder()
                    .method(method)
                    .uri(path)
                    .header(HOST, "localhost:3000");
                if let Some(c) = c {
                    builder = builder.header("cookie", c);
                }
                let request = builder.body(()).unwrap();
                let answer = sign_in_with_vercel::dispatch(&rp.auth, &request)
                    .unwrap()
                    .await;
                assert!(
                    answer.status().as_u16() < 500,
                    "{method} {path} {c:?}: {}",
                    answer.status()
                );
            }
        }
    }
    rp.jar = Jar::default();
}
