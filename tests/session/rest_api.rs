//! Vercel's REST API as the signed-in user, from the session.

use super::*;

#[tokio::test]
async fn validate_token_shows_the_tokens_own_metadata() {
    let mut rp = signed_in("client_secret_post").await;
    let answer = rp.get("/api/validate-token").await;
    assert_eq!(answer.status(), 200);
    let body = body_json(&answer);
    assert!(body["tokenMetadata"]["id"].is_string(), "{body}");
    assert!(body.get("tokenMetadataError").is_none());
    assert_eq!(rp.sent_to("/v5/user/tokens/current").len(), 1);
}

#[tokio::test]
async fn the_rest_api_refreshes_the_session_once_when_the_token_is_refused_and_the_new_cookies_reach_the_browser()
 {
    let mut rp = signed_in("client_secret_post").await;
    let before = rp.jar().session_names();
    // The access token stops working at the provider, the refresh token
    // does not: the API call's refusal is answered by one refresh and a
    // retry. (Deleting the token would revoke its refresh token too.)
    rp.emulator.expire_access_token(&rp.issued().0);
    rp.clear_log();
    let response: http::Response<bytes::Bytes> = rp
        .auth
        .protect(&rp.request("GET", "/api/mine"), async |session| {
            let api = rp.auth.vercel_api(&session).await.unwrap();
            let token = api.token("current").await.unwrap();
            http::Response::new(bytes::Bytes::from(serde_json::to_vec(&token).unwrap()))
        })
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 1, "one refresh");
    assert_eq!(rp.sent_to("/v5/user/tokens/current").len(), 2, "one retry");
    rp.jar_mut().store(response.headers());
    let after = rp.jar().session_names();
    assert_eq!(after.len(), 1);
    assert_ne!(after, before, "the refreshed session reached the browser");
    assert_eq!(rp.get("/api/validate-token").await.status(), 200);
}

/// The app removed at Vercel: a REST call's refused token, then the
/// refused refresh it asks for, end the session: the handler's answer
/// deletes its cookies, and the next request is signed out.
#[tokio::test]
async fn a_grant_refused_at_the_rest_clients_refresh_ends_the_session() {
    let mut rp = signed_in("client_secret_post").await;
    rp.emulator.remove_app(DEMO_SUB, CLIENT_ID);
    rp.clear_log();
    let response: http::Response<bytes::Bytes> = rp
        .auth
        .protect(&rp.request("GET", "/api/mine"), async |session| {
            let api = rp.auth.vercel_api(&session).await.unwrap();
            let refused = api.get("/v2/user").await.unwrap_err();
            http::Response::new(bytes::Bytes::from(refused.to_string()))
        })
        .await;
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 1, "one refresh");
    assert!(
        response.headers().get_all("set-cookie").iter().count() > 0,
        "the generation deleted"
    );
    rp.jar_mut().store(response.headers());
    testkit::assert_no_session(rp.jar());
    let who = body_json(&rp.get("/api/auth/session").await);
    assert_eq!(who["user"], serde_json::Value::Null, "{who}");
}
