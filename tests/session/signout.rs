//! Sign-out: revocation, cookies deleted in every case, cross-origin refusal.

use super::*;

#[tokio::test]
async fn signout_revokes_the_tokens_and_deletes_the_session() {
    let mut rp = signed_in("client_secret_post").await;
    let access = rp
        .auth
        .session(&rp.request("GET", "/"))
        .await
        .unwrap()
        .access_token();
    let answer = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        body_json(&answer),
        serde_json::json!({"signedOut": true, "revoked": true})
    );
    assert!(rp.jar().is_empty(), "all cookies cleared: {:?}", rp.jar());
    assert!(!active(&rp, access.secret()));
    assert_eq!(
        rp.sent_to("/login/oauth/token/revoke").len(),
        2,
        "access and refresh"
    );
    assert_eq!(rp.get("/api/user-info").await.status(), 401);
}

#[tokio::test]
async fn signout_deletes_the_session_when_revocation_fails() {
    let mut rp = signed_in("client_secret_post").await;
    rp.emulator.faults().revocation_status = Some(503);
    let answer = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(body_json(&answer)["revoked"], false);
    assert!(rp.jar().is_empty());
}

#[tokio::test]
async fn signout_when_the_provider_is_unreachable_still_deletes_the_session() {
    let mut rp = signed_in("client_secret_post").await;
    *rp.recorder.fail.lock().unwrap() = Some(TransportError::Connect);
    let answer = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(answer.status(), 200);
    assert!(rp.jar().is_empty());
}

#[tokio::test]
async fn signout_when_signed_out_is_401() {
    let mut rp = rp("client_secret_post");
    let answer = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(answer.status(), 401);
    assert_eq!(body_json(&answer)["error"], "not_signed_in");
}

#[tokio::test]
async fn signout_with_get_is_405_and_signs_no_one_out() {
    let mut rp = signed_in("client_secret_post").await;
    let answer = rp.get("/api/auth/signout").await;
    assert_eq!(answer.status(), 405);
    assert_eq!(answer.headers()["allow"], "POST");
    assert_eq!(rp.jar().session_names().len(), 1);
}

#[tokio::test]
async fn signout_from_another_origin_is_refused() {
    let mut rp = signed_in("client_secret_post").await;
    let mut request = rp.request("POST", "/api/auth/signout");
    request
        .headers_mut()
        .insert(ORIGIN, "https://evil.example".parse().unwrap());
    let answer = rp.auth.dispatch(&request).unwrap().await;
    assert_eq!(answer.status(), 403);
    rp.jar_mut().store(answer.headers());
    assert_eq!(rp.jar().session_names().len(), 1);
    assert_eq!(provider_calls(&rp), 0);
}

#[tokio::test]
async fn signout_from_the_same_origin_is_allowed() {
    let rp = signed_in("client_secret_post").await;
    let mut request = rp.request("POST", "/api/auth/signout");
    request.headers_mut().insert(ORIGIN, APP.parse().unwrap());
    let answer = rp.auth.dispatch(&request).unwrap().await;
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn public_client_signs_in_refreshes_and_signs_out() {
    let mut rp = signed_in("none").await;
    rp.advance(3601);
    assert_eq!(rp.get("/api/user-info").await.status(), 200);
    assert_eq!(rp.get("/api/validate-token").await.status(), 200);
    let answer = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(body_json(&answer)["revoked"], true);
}
