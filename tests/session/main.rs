//! The signed-in session: one sealed cookie, identity with no provider
//! call, refresh that is early, shared and race-proof, sign-out. In
//! process, against the emulator.

#[path = "../support/mod.rs"]
mod support;

mod cookie;
mod identity;
mod refresh;
mod rest_api;
mod routes;
mod signout;

use std::sync::Arc;
use std::time::Duration;

use http::header::{CACHE_CONTROL, HOST, SET_COOKIE};
use sign_in_with_vercel::{
    AccessToken, REQUEST_DEADLINE, SESSION, TransportError, USER_INFO, VALIDATE_TOKEN,
};
pub use support::*;

const DEMO_SUB: &str = "usr_demo1234567890";

async fn signed_in(method: &str) -> Rp {
    let mut rp = rp(method);
    assert_eq!(location(&rp.sign_in().await), "/profile");
    rp.clear_log();
    rp
}

/// A signed-in relying party whose session was due for its refresh, and
/// that refresh's answer, not yet applied to the browser's cookies (a
/// request in flight), with the tokens it brought.
async fn with_a_refresh_in_flight() -> (Rp, http::Response<bytes::Bytes>, (String, String)) {
    let rp = signed_in("client_secret_post").await;
    rp.advance(3601);
    let old = rp.jar().clone();
    let refreshed = rp.send_with(&old, "GET", "/api/auth/session").await;
    assert_eq!(body_json(&refreshed)["user"]["sub"], DEMO_SUB);
    let tokens = rp.issued();
    (rp, refreshed, tokens)
}

/// `late` (a refresh's answer) applied to the browser's cookies now: no
/// one is signed in, and no session cookie is left.
async fn lands_signed_out(rp: &Rp, late: &http::Response<bytes::Bytes>) {
    let mut jar = rp.jar().clone();
    jar.store(late.headers());
    let who = rp.send_with(&jar, "GET", "/api/auth/session").await;
    assert_eq!(body_json(&who)["user"], serde_json::Value::Null);
    jar.store(who.headers());
    assert_no_session(&jar);
}

/// A signed-in relying party, a real `redis-server`, and an instance of
/// the app that shares its sessions through it.
async fn signed_in_with_store() -> (Rp, testkit::RedisServer, sign_in_with_vercel::Auth) {
    let redis = testkit::RedisServer::start();
    let rp = signed_in("client_secret_post").await;
    let instance = rp.instance(&[("REDIS_URL", redis.url().as_str())]);
    (rp, redis, instance)
}

/// Signs the browser out through `instance`, and checks that the store
/// took the ending (an ended-session key).
async fn signs_out_into_the_store(
    rp: &Rp,
    instance: &sign_in_with_vercel::Auth,
    redis: &testkit::RedisServer,
) {
    let sign_out = rp.request("POST", "/api/auth/signout");
    assert_eq!(instance.dispatch(&sign_out).unwrap().await.status(), 200);
    let ended = redis.keys_of_kind("s");
    assert!(
        !ended.is_empty(),
        "the sign-out reached the store: {:?}",
        redis.keys()
    );
    // Kept as long as a session can live (a refresh token's 30 days) and
    // two minutes for the clocks, not longer.
    for key in ended {
        let ttl = redis.command(&format!("TTL {key}")).unwrap();
        let ttl: i64 = ttl.trim_start_matches(':').parse().unwrap();
        assert!(
            (30 * 86_400..=30 * 86_400 + 120).contains(&ttl),
            "{key}: {ttl}"
        );
    }
}

/// The access token of the browser's session, as the app opens it.
async fn access_token(rp: &Rp) -> AccessToken {
    rp.auth
        .session(&rp.request("GET", "/"))
        .await
        .unwrap()
        .access_token()
}

/// `GET path` as the app receives it on https behind Vercel's proxy, at
/// `app.example.com`, with `cookies` if any.
fn https_get(path: &str, cookies: Option<String>) -> http::Request<()> {
    let mut request = http::Request::get(path)
        .header(HOST, "app.example.com")
        .header("x-forwarded-proto", "https");
    if let Some(cookies) = cookies {
        request = request.header("cookie", cookies);
    }
    request.body(()).unwrap()
}

/// Revokes a token at the provider, as the user removing the app would.
fn revoke_at_provider(rp: &Rp, token: &str) {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{SECRET}"));
    let response = rp.emulator.handle(
        &http::Request::post("/login/oauth/token/revoke")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", format!("Basic {basic}"))
            .body(format!("token={token}").into_bytes())
            .unwrap(),
    );
    assert_eq!(response.status(), 200);
}

fn provider_calls(rp: &Rp) -> usize {
    rp.recorder.requests.lock().unwrap().len()
}
