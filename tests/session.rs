//! The signed-in session: one sealed cookie, identity with no provider
//! call, refresh that is early, shared and race-proof, sign-out. In
//! process, against the emulator.

mod support;

use std::sync::Arc;
use std::time::Duration;

use http::header::{CACHE_CONTROL, HOST, ORIGIN, SET_COOKIE};
use sign_in_with_vercel::{REQUEST_DEADLINE, SESSION, TransportError, USER_INFO, VALIDATE_TOKEN};
use support::*;

const DEMO_SUB: &str = "usr_demo1234567890";

async fn signed_in(method: &str) -> Rp {
    let mut rp = rp(method);
    assert_eq!(location(&rp.sign_in().await), "/profile");
    rp.clear_log();
    rp
}

/// Asks the emulator directly whether a token is live.
fn active(rp: &Rp, token: &str) -> bool {
    let response = rp.emulator.handle(
        &http::Request::post("/login/oauth/token/introspect")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                format!("token={token}&client_id={CLIENT_ID}&client_secret={SECRET}").into_bytes(),
            )
            .unwrap(),
    );
    serde_json::from_slice::<serde_json::Value>(response.body()).unwrap()["active"] == true
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

// ---------------------------------------------------------------------
// One sealed, host-only cookie
// ---------------------------------------------------------------------

#[tokio::test]
async fn the_session_is_one_sealed_cookie() {
    let rp = signed_in("client_secret_post").await;
    let names = session_names(&rp.jar);
    assert_eq!(names.len(), 1, "{:?}", rp.jar);
    assert!(names[0].starts_with("session.") && names[0].ends_with(".0"));
    assert!(
        flow_names(&rp.jar).is_empty(),
        "the attempt's flow cookie is gone"
    );
    let value = rp.jar.get(&names[0]).unwrap();
    let session = rp.auth.session(&rp.request("GET", "/")).await.unwrap();
    let access = session.access_token();
    assert!(!value.contains(access.secret()) && !value.contains("vca_"));
}

#[tokio::test]
async fn the_session_cookie_has_the_security_attributes() {
    let mut rp = rp("client_secret_post");
    let callback = rp.authorize_and_consent().await;
    let answer = rp.get(&callback).await;
    let session = set_cookies(&answer)
        .into_iter()
        .find(|c| c.starts_with("session.") && !c.contains("Max-Age=0"))
        .unwrap();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(session.contains(attr), "{session}");
    }
    assert!(!session.contains("Domain"));
}

#[tokio::test]
async fn on_https_the_cookies_are_host_prefixed_and_secure() {
    let rp = rp("client_secret_post");
    let request = http::Request::get("/api/auth/authorize")
        .header(HOST, "app.example.com")
        .header("x-forwarded-proto", "https")
        .body(())
        .unwrap();
    let answer = sign_in_with_vercel::dispatch(&rp.auth, &request)
        .unwrap()
        .await;
    let cookies = set_cookies(&answer);
    assert_eq!(cookies.len(), 1);
    assert!(cookies[0].starts_with("__Host-oauth_flow."), "{cookies:?}");
    assert!(cookies[0].contains("Secure") && cookies[0].contains("Path=/"));
}

// ---------------------------------------------------------------------
// Identity costs no network
// ---------------------------------------------------------------------

#[tokio::test]
async fn session_route_answers_from_the_cookie_with_no_provider_call() {
    let mut rp = signed_in("client_secret_post").await;
    let answer = rp.get("/api/auth/session").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()[CACHE_CONTROL], "no-store");
    let user = &body_json(&answer)["user"];
    assert_eq!(user["sub"], DEMO_SUB);
    assert_eq!(user["name"], "Demo User");
    assert_eq!(user["email"], "demo@example.com");
    assert_eq!(user["preferred_username"], "demo");
    assert_eq!(provider_calls(&rp), 0);
}

#[tokio::test]
async fn session_route_when_signed_out_is_200_with_no_user() {
    let mut rp = rp("client_secret_post");
    let answer = rp.get("/api/auth/session").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(body_json(&answer), serde_json::json!({ "user": null }));
    assert_eq!(provider_calls(&rp), 0);
}

#[tokio::test]
async fn auth_session_knows_the_user_with_no_provider_call() {
    let rp = signed_in("client_secret_post").await;
    for _ in 0..3 {
        let session = rp
            .auth
            .session(&rp.request("GET", "/api/mine"))
            .await
            .unwrap();
        assert_eq!(session.sub(), DEMO_SUB);
        assert_eq!(session.user().name.as_deref(), Some("Demo User"));
        let response = session.finish(http::Response::new(()));
        assert!(
            response.headers().get(SET_COOKIE).is_none(),
            "nothing to set"
        );
    }
    assert_eq!(provider_calls(&rp), 0);
}

#[tokio::test]
async fn session_debug_prints_no_personal_data_or_token() {
    let rp = signed_in("client_secret_post").await;
    let session = rp
        .auth
        .session(&rp.request("GET", "/api/mine"))
        .await
        .unwrap();
    let printed = format!("{session:?} {:?}", session.user());
    for secret in [
        session.access_token().secret(),
        DEMO_SUB,
        "Demo User",
        "demo@example.com",
    ] {
        assert!(!printed.contains(secret), "{printed}");
    }
}

#[tokio::test]
async fn protect_runs_the_handler_for_a_signed_in_user() {
    let rp = signed_in("client_secret_post").await;
    let response: http::Response<bytes::Bytes> = rp
        .auth
        .protect(&rp.request("GET", "/api/mine"), async |session| {
            http::Response::new(bytes::Bytes::from(format!("hello {}", session.sub())))
        })
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.body(), &format!("hello {DEMO_SUB}"));
}

#[tokio::test]
async fn protect_answers_401_itself_when_signed_out() {
    let rp = rp("client_secret_post");
    let mut ran = false;
    let response: http::Response<bytes::Bytes> = rp
        .auth
        .protect(&rp.request("GET", "/api/mine"), async |_| {
            ran = true;
            http::Response::new(bytes::Bytes::new())
        })
        .await;
    assert!(!ran);
    assert_eq!(response.status(), 401);
    assert_eq!(body_json(&response)["error"], "not_signed_in");
}

#[tokio::test]
async fn protect_carries_the_refresh_cookies_onto_the_handlers_response() {
    let mut rp = signed_in("client_secret_post").await;
    rp.advance(3600);
    let response: http::Response<bytes::Bytes> = rp
        .auth
        .protect(&rp.request("GET", "/api/mine"), async |_| {
            http::Response::new(bytes::Bytes::from_static(b"ok"))
        })
        .await;
    let old = session_names(&rp.jar);
    rp.jar.store(response.headers());
    let new = session_names(&rp.jar);
    assert_eq!(new.len(), 1);
    assert_ne!(old, new, "the refreshed session reached the browser");
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 1);
}

// ---------------------------------------------------------------------
// Tampered, truncated, foreign, planted cookies
// ---------------------------------------------------------------------

/// Replaces the session cookie's value.
fn tamper(rp: &mut Rp, edit: impl Fn(&str) -> String) {
    let name = session_names(&rp.jar).pop().unwrap();
    let value = edit(rp.jar.get(&name).unwrap());
    rp.jar.set(&name, &value);
}

async fn signed_out_without_provider_calls(rp: &mut Rp) {
    for (method, path) in [
        ("GET", "/api/user-info"),
        ("GET", "/api/validate-token"),
        ("GET", "/api/auth/session"),
        ("POST", "/api/auth/signout"),
    ] {
        let jar = rp.jar.clone();
        let answer = rp.send_with(&jar, method, path).await;
        if path == "/api/auth/session" {
            assert_eq!(body_json(&answer)["user"], serde_json::Value::Null);
        } else {
            assert_eq!(answer.status(), 401, "{method} {path}");
            assert_eq!(body_json(&answer)["error"], "not_signed_in");
        }
        let mut after = jar.clone();
        after.store(answer.headers());
        assert!(
            session_names(&after).is_empty(),
            "the bad cookie is cleared"
        );
    }
    assert_eq!(
        provider_calls(rp),
        0,
        "a forged session costs no provider call"
    );
}

#[tokio::test]
async fn tampered_session_means_signed_out_with_no_provider_call() {
    let mut rp = signed_in("client_secret_post").await;
    tamper(&mut rp, |v| {
        let mut bytes = v.as_bytes().to_vec();
        let i = bytes.len() / 2;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    });
    signed_out_without_provider_calls(&mut rp).await;
}

#[tokio::test]
async fn truncated_session_means_signed_out_with_no_provider_call() {
    let mut rp = signed_in("client_secret_post").await;
    tamper(&mut rp, |v| v[..v.len() - 5].to_owned());
    signed_out_without_provider_calls(&mut rp).await;
}

#[tokio::test]
async fn forged_session_means_signed_out_with_no_provider_call() {
    let mut rp = rp("client_secret_post");
    rp.jar.set(
        "session.forged.0",
        "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA",
    );
    signed_out_without_provider_calls(&mut rp).await;
}

#[tokio::test]
async fn session_sealed_with_an_unknown_key_means_signed_out() {
    let mut rp = signed_in("client_secret_post").await;
    rp.auth = rp.instance(&[("AUTH_SECRET", "a-key-this-session-was-never-sealed-with")]);
    signed_out_without_provider_calls(&mut rp).await;
}

#[tokio::test]
async fn expired_session_means_signed_out_with_no_provider_call() {
    let mut rp = signed_in("client_secret_post").await;
    rp.advance(31 * 24 * 3600);
    signed_out_without_provider_calls(&mut rp).await;
}

#[tokio::test]
async fn foreign_cookies_with_any_bytes_break_nothing() {
    let mut rp = rp("client_secret_post");
    // A cookie of the site's parent domain with bytes that are not UTF-8.
    let foreign = |rp: &Rp, method: &str, path: &str| {
        let cookies = [
            b"theme=\xff\xfe; \xe9l\xe8ve=1; ".to_vec(),
            rp.jar.header().unwrap_or_default().into_bytes(),
        ]
        .concat();
        http::Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, "localhost:3000")
            .header("cookie", http::HeaderValue::from_bytes(&cookies).unwrap())
            .body(())
            .unwrap()
    };
    let start =
        sign_in_with_vercel::dispatch(&rp.auth, &foreign(&rp, "GET", "/api/auth/authorize"))
            .unwrap()
            .await;
    assert_eq!(start.status(), 302);
    rp.jar.store(start.headers());
    let back = rp.consent(&location(&start), "allow");
    let callback = back.strip_prefix(APP).unwrap();
    let signed_in = sign_in_with_vercel::dispatch(&rp.auth, &foreign(&rp, "GET", callback))
        .unwrap()
        .await;
    assert_eq!(location(&signed_in), "/profile");
    rp.jar.store(signed_in.headers());
    for path in ["/api/auth/session", "/api/user-info", "/api/validate-token"] {
        let answer = sign_in_with_vercel::dispatch(&rp.auth, &foreign(&rp, "GET", path))
            .unwrap()
            .await;
        assert_eq!(answer.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn planted_duplicates_do_not_lock_the_user_out() {
    let rp = signed_in("client_secret_post").await;
    let name = session_names(&rp.jar).pop().unwrap();
    // The same name again (a parent domain's copy), and another generation.
    let header = format!(
        "{}; {name}=planted; session.planted.0=garbage",
        rp.jar.header().unwrap()
    );
    for path in ["/api/auth/session", "/api/user-info"] {
        let request = http::Request::get(path)
            .header(HOST, "localhost:3000")
            .header("cookie", &header)
            .body(())
            .unwrap();
        let answer = sign_in_with_vercel::dispatch(&rp.auth, &request)
            .unwrap()
            .await;
        assert_eq!(answer.status(), 200, "{path}");
        assert!(
            set_cookies(&answer)
                .iter()
                .any(|c| c.starts_with("session.planted.0=;")),
            "the planted generation is deleted"
        );
    }
}

#[tokio::test]
async fn on_https_unprefixed_cookies_are_not_read() {
    let rp = signed_in("client_secret_post").await;
    // A sibling subdomain can set `session.*` for the parent domain, never
    // `__Host-session.*`: on https only the prefixed names count.
    let request = http::Request::get("/api/auth/session")
        .header(HOST, "app.example.com")
        .header("x-forwarded-proto", "https")
        .header("cookie", rp.jar.header().unwrap())
        .body(())
        .unwrap();
    let answer = sign_in_with_vercel::dispatch(&rp.auth, &request)
        .unwrap()
        .await;
    assert_eq!(body_json(&answer)["user"], serde_json::Value::Null);
}

// ---------------------------------------------------------------------
// Key rotation
// ---------------------------------------------------------------------

#[tokio::test]
async fn rotated_auth_secret_still_opens_old_sessions_and_reseals_them() {
    let old_key = "the-old-auth-secret-0123456789abcdef012";
    let new_key = "the-new-auth-secret-0123456789abcdef012";
    let mut rp = rp_with("client_secret_post", &[("AUTH_SECRET", old_key)]);
    rp.sign_in().await;
    let before = session_names(&rp.jar);
    rp.auth = rp.instance(&[("AUTH_SECRET", &format!("{new_key},{old_key}"))]);
    let answer = rp.get("/api/auth/session").await;
    assert_eq!(body_json(&answer)["user"]["sub"], DEMO_SUB);
    let after = session_names(&rp.jar);
    assert_eq!(after.len(), 1);
    assert_ne!(before, after, "resealed with the new key");
    // The old key can now be retired.
    rp.auth = rp.instance(&[("AUTH_SECRET", new_key)]);
    assert_eq!(
        body_json(&rp.get("/api/auth/session").await)["user"]["sub"],
        DEMO_SUB
    );
}

#[tokio::test]
async fn client_secret_alone_seals_the_session() {
    let mut rp = signed_in("client_secret_basic").await;
    assert_eq!(rp.get("/api/auth/session").await.status(), 200);
    // Another instance of the same app opens it: the key is derived, not random.
    rp.auth = rp.instance(&[("VERCEL_APP_TOKEN_AUTH", "client_secret_basic")]);
    assert_eq!(
        body_json(&rp.get("/api/auth/session").await)["user"]["sub"],
        DEMO_SUB
    );
}

// ---------------------------------------------------------------------
// Refresh: early, shared, race-proof
// ---------------------------------------------------------------------

#[tokio::test]
async fn refresh_happens_a_few_minutes_before_expiry() {
    let mut rp = signed_in("client_secret_post").await;
    rp.advance(3600 - 6 * 60);
    assert_eq!(rp.get("/api/auth/session").await.status(), 200);
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 0, "not due yet");
    rp.advance(2 * 60);
    let before = session_names(&rp.jar);
    assert_eq!(rp.get("/api/auth/session").await.status(), 200);
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 1, "refreshed early");
    assert_ne!(session_names(&rp.jar), before);
}

#[tokio::test]
async fn expired_access_token_is_refreshed_and_the_rotated_refresh_token_kept() {
    let mut rp = signed_in("client_secret_post").await;
    let old_access = rp
        .auth
        .session(&rp.request("GET", "/"))
        .await
        .unwrap()
        .access_token();
    rp.advance(3601);
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 200);
    let new_access = rp
        .auth
        .session(&rp.request("GET", "/"))
        .await
        .unwrap()
        .access_token();
    assert_ne!(new_access.secret(), old_access.secret());
    assert!(active(&rp, new_access.secret()));
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 1);
}

#[tokio::test]
async fn concurrent_requests_in_one_instance_share_one_refresh() {
    let rp = signed_in("client_secret_post").await;
    rp.advance(3601);
    let jar = rp.jar.clone();
    let (a, b, c, d) = tokio::join!(
        rp.send_with(&jar, "GET", "/api/user-info"),
        rp.send_with(&jar, "GET", "/api/validate-token"),
        rp.send_with(&jar, "GET", "/api/auth/session"),
        rp.send_with(&jar, "GET", "/api/user-info"),
    );
    for answer in [&a, &b, &c, &d] {
        assert_eq!(answer.status(), 200);
    }
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 1, "one token call");
    // Every response sets the very same new generation.
    let new: Vec<_> = [&a, &b, &c, &d]
        .iter()
        .map(|r| {
            set_cookies(r)
                .into_iter()
                .filter(|c| !c.contains("Max-Age=0"))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(new.windows(2).all(|w| w[0] == w[1]), "{new:?}");
}

#[tokio::test]
async fn a_late_request_with_the_replaced_session_gets_the_new_one() {
    let mut rp = signed_in("client_secret_post").await;
    rp.advance(3601);
    let old = rp.jar.clone();
    assert_eq!(rp.get("/api/user-info").await.status(), 200);
    let late = rp.send_with(&old, "GET", "/api/validate-token").await;
    assert_eq!(late.status(), 200);
    let mut jar = old.clone();
    jar.store(late.headers());
    assert_eq!(session_names(&jar), session_names(&rp.jar));
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 1);
}

/// Two instances of the app refresh the same session at once; the
/// browser applies their responses in `order`. Returns the final jar and
/// the two answers' statuses.
async fn race_between_instances(rp: &Rp, path: &str, winner_first: bool) -> (Jar, u16, u16) {
    let other = rp.instance(&[]);
    let jar = rp.jar.clone();
    let winner = rp.send_with(&jar, "GET", path).await;
    // The other instance never saw that refresh: it spends the same token.
    let mut request = rp.request("GET", path);
    request
        .headers_mut()
        .insert("cookie", jar.header().unwrap().parse().unwrap());
    let loser = sign_in_with_vercel::dispatch(&other, &request)
        .unwrap()
        .await;
    let mut end = jar.clone();
    if winner_first {
        end.store(winner.headers());
        end.store(loser.headers());
    } else {
        end.store(loser.headers());
        end.store(winner.headers());
    }
    (end, winner.status().as_u16(), loser.status().as_u16())
}

#[tokio::test]
async fn a_race_lost_across_instances_ends_in_the_newest_session_in_either_order() {
    for winner_first in [true, false] {
        let mut rp = signed_in("client_secret_post").await;
        rp.emulator
            .set_refresh_token_reuse(sign_in_with_vercel::dev::emulator::ReusePolicy::Reject);
        rp.advance(3601);
        let (end, winner, loser) =
            race_between_instances(&rp, "/api/auth/session", winner_first).await;
        assert_eq!(
            (winner, loser),
            (200, 200),
            "identity survives a lost refresh"
        );
        let names = session_names(&end);
        assert_eq!(names.len(), 1, "one generation left: {end:?}");
        rp.jar = end;
        rp.clear_log();
        let answer = rp.get("/api/user-info").await;
        assert_eq!(
            answer.status(),
            200,
            "order {winner_first}: the newest session works"
        );
        assert_eq!(rp.sent_to("/login/oauth/token").len(), 0);
    }
}

#[tokio::test]
async fn a_request_needing_the_token_that_lost_the_race_gets_409_not_401() {
    let rp = signed_in("client_secret_post").await;
    rp.emulator
        .set_refresh_token_reuse(sign_in_with_vercel::dev::emulator::ReusePolicy::Reject);
    rp.advance(3601);
    let (end, winner, loser) = race_between_instances(&rp, "/api/user-info", true).await;
    assert_eq!(winner, 200);
    assert_eq!(loser, 409, "told apart from signed out");
    assert_eq!(session_names(&end).len(), 1);
}

#[tokio::test]
async fn a_refresh_that_fails_still_knows_the_user() {
    let mut rp = signed_in("client_secret_post").await;
    rp.advance(3601);
    rp.emulator.faults().all_status = Some(503);
    let before = session_names(&rp.jar);
    let answer = rp.get("/api/auth/session").await;
    assert_eq!(body_json(&answer)["user"]["sub"], DEMO_SUB);
    assert_eq!(session_names(&rp.jar), before, "the session is kept");
    // A request that needs the token says the provider is unavailable.
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 502);
    assert_eq!(session_names(&rp.jar), before);
}

#[tokio::test]
async fn a_dead_grant_ends_the_session_at_the_next_refresh() {
    let mut rp = signed_in("client_secret_post").await;
    // The grant dies at the provider (the user removed the app).
    let session = rp.auth.session(&rp.request("GET", "/")).await.unwrap();
    revoke_at_provider(&rp, session.access_token().secret());
    // Identity still answers from the seal until the refresh is due...
    assert_eq!(
        body_json(&rp.get("/api/auth/session").await)["user"]["sub"],
        DEMO_SUB
    );
    // ...but the user-info route asks the provider, so it knows at once.
    let answer = rp.send_with(&rp.jar.clone(), "GET", "/api/user-info").await;
    assert_eq!(answer.status(), 401);
    assert_eq!(body_json(&answer)["error"], "token_inactive");
    // The refresh attempt ends the session: still answered, then gone.
    rp.advance(3600);
    assert_eq!(
        body_json(&rp.get("/api/auth/session").await)["user"]["sub"],
        DEMO_SUB
    );
    assert!(session_names(&rp.jar).is_empty());
    assert_eq!(
        body_json(&rp.get("/api/auth/session").await)["user"],
        serde_json::Value::Null
    );
}

#[tokio::test]
async fn rotated_tokens_survive_an_id_token_that_cannot_be_checked_now() {
    let mut rp = signed_in("client_secret_post").await;
    // The refreshed ID token will name a key the app has not cached, and
    // the key set cannot be fetched.
    rp.emulator.rotate_key(false);
    *rp.recorder.fail_path.lock().unwrap() =
        Some(("/.well-known/jwks".into(), TransportError::Timeout));
    rp.advance(3601);
    let old = rp.auth.session(&rp.request("GET", "/")).await;
    drop(old);
    let answer = rp.get("/api/auth/session").await;
    assert_eq!(
        body_json(&answer)["user"]["name"],
        "Demo User",
        "old claims kept"
    );
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 1);
    *rp.recorder.fail_path.lock().unwrap() = None;
    // The stored session holds the rotated tokens: they work.
    rp.clear_log();
    assert_eq!(rp.get("/api/validate-token").await.status(), 200);
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 0);
}

#[tokio::test]
async fn refreshed_id_token_about_another_user_ends_the_session() {
    let mut rp = signed_in("client_secret_post").await;
    rp.emulator.faults().id_token_claims = Some(Arc::new(|c| {
        c.insert("sub".into(), serde_json::json!("usr_someone_else"));
    }));
    rp.advance(3601);
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 401);
    assert_eq!(body_json(&answer)["error"], "invalid_token");
    assert!(session_names(&rp.jar).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_slow_provider_gets_an_answer_within_the_request_deadline() {
    let mut rp = signed_in("client_secret_post").await;
    *rp.recorder.delay.lock().unwrap() = Some(Duration::from_secs(60));
    rp.advance(3601);
    let started = tokio::time::Instant::now();
    let answer = rp.get("/api/validate-token").await;
    assert_eq!(answer.status(), 504);
    assert!(started.elapsed() <= REQUEST_DEADLINE + Duration::from_millis(10));
}

// ---------------------------------------------------------------------
// The provider routes
// ---------------------------------------------------------------------

#[tokio::test]
async fn user_info_returns_the_userinfo_claims() {
    let mut rp = signed_in("client_secret_post").await;
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()[CACHE_CONTROL], "no-store");
    let user = &body_json(&answer)["userInfo"];
    assert_eq!(user["sub"], DEMO_SUB);
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
    assert_eq!(rp.sent_to("/login/oauth/userinfo").len(), 1);
}

#[tokio::test]
async fn user_info_when_signed_out_is_401() {
    let mut rp = rp("client_secret_post");
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 401);
    assert_eq!(body_json(&answer)["error"], "not_signed_in");
    assert_eq!(provider_calls(&rp), 0);
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
    assert!(session_names(&rp.jar).is_empty(), "session ended");
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
    assert_eq!(body["tokenInfo"]["sub"], DEMO_SUB);
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
async fn routes_answer_only_their_method() {
    let mut rp = signed_in("client_secret_post").await;
    for (route, wrong) in [
        (&VALIDATE_TOKEN, "POST"),
        (&USER_INFO, "DELETE"),
        (&SESSION, "PUT"),
    ] {
        let answer = rp.send(wrong, route.path).await;
        assert_eq!(answer.status(), 405, "{}", route.path);
        assert_eq!(answer.headers()["allow"], "GET");
    }
}

// ---------------------------------------------------------------------
// Sign-out
// ---------------------------------------------------------------------

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
    assert!(rp.jar.is_empty(), "all cookies cleared: {:?}", rp.jar);
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
    assert!(rp.jar.is_empty());
}

#[tokio::test]
async fn signout_when_the_provider_is_unreachable_still_deletes_the_session() {
    let mut rp = signed_in("client_secret_post").await;
    *rp.recorder.fail.lock().unwrap() = Some(TransportError::Connect);
    let answer = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(answer.status(), 200);
    assert!(rp.jar.is_empty());
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
    assert_eq!(session_names(&rp.jar).len(), 1);
}

#[tokio::test]
async fn signout_from_another_origin_is_refused() {
    let mut rp = signed_in("client_secret_post").await;
    let mut request = rp.request("POST", "/api/auth/signout");
    request
        .headers_mut()
        .insert(ORIGIN, "https://evil.example".parse().unwrap());
    let answer = sign_in_with_vercel::dispatch(&rp.auth, &request)
        .unwrap()
        .await;
    assert_eq!(answer.status(), 403);
    rp.jar.store(answer.headers());
    assert_eq!(session_names(&rp.jar).len(), 1);
    assert_eq!(provider_calls(&rp), 0);
}

#[tokio::test]
async fn signout_from_the_same_origin_is_allowed() {
    let rp = signed_in("client_secret_post").await;
    let mut request = rp.request("POST", "/api/auth/signout");
    request.headers_mut().insert(ORIGIN, APP.parse().unwrap());
    let answer = sign_in_with_vercel::dispatch(&rp.auth, &request)
        .unwrap()
        .await;
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

// ---------------------------------------------------------------------
// Routing and hostile input
// ---------------------------------------------------------------------

#[tokio::test]
async fn unknown_api_paths_are_404() {
    let rp = rp("client_secret_post");
    let answer = sign_in_with_vercel::dispatch(&rp.auth, &rp.request("GET", "/api/nope"))
        .unwrap()
        .await;
    assert_eq!(answer.status(), 404);
    assert!(sign_in_with_vercel::dispatch(&rp.auth, &rp.request("GET", "/profile")).is_none());
}

#[tokio::test]
async fn hostile_requests_never_crash_a_route() {
    let rp = signed_in("client_secret_post").await;
    let cookie = rp.jar.header().unwrap();
    let long = "x".repeat(100_000);
    let cookies = [
        None,
        Some(cookie.as_str()),
        Some("session.a.0="),
        Some("session.a.0=\"quoted\"; session.b.9=%ZZ; session..0=x; session.a.x=1"),
        Some(";;;===;"),
        Some(long.as_str()),
        Some("oauth_flow.x=e30; session.a.0=a b"),
    ];
    let paths = [
        "/api/auth/authorize?next=%FF",
        "/api/auth/authorize?next=",
        "/api/auth/authorize?next=/a&next=/b",
        "/api/auth/callback",
        "/api/auth/callback?code=&state=",
        "/api/auth/callback?error=",
        "/api/auth/callback?code=%00&state=%FF",
        "/api/auth/session",
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
}

// ---------------------------------------------------------------------
// Vercel's REST API as the user, from the session
// ---------------------------------------------------------------------

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
async fn the_rest_api_refreshes_the_session_once_on_401_and_the_new_cookies_reach_the_browser() {
    let mut rp = signed_in("client_secret_post").await;
    let before = session_names(&rp.jar);
    // The access token stops working at the provider, the refresh token
    // does not: the API call's 401 is answered by one refresh and a retry.
    {
        let session = rp.auth.session(&rp.request("GET", "/")).await.unwrap();
        let api = rp.auth.vercel_api(&session).await.unwrap();
        api.delete_token("current").await.unwrap();
    }
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
    rp.jar.store(response.headers());
    let after = session_names(&rp.jar);
    assert_eq!(after.len(), 1);
    assert_ne!(after, before, "the refreshed session reached the browser");
    assert_eq!(rp.get("/api/validate-token").await.status(), 200);
}

#[tokio::test]
async fn removing_the_app_in_the_account_settings_ends_the_session() {
    let mut rp = signed_in("client_secret_post").await;
    // Seed 004, "Revoking third-party application access".
    rp.emulator.remove_app(DEMO_SUB, CLIENT_ID);
    // The route that asks the provider knows at once...
    let answer = rp.send_with(&rp.jar.clone(), "GET", "/api/user-info").await;
    assert_eq!(answer.status(), 401);
    // ...the others at the next refresh, within one access-token lifetime.
    assert_eq!(
        body_json(&rp.get("/api/auth/session").await)["user"]["sub"],
        DEMO_SUB
    );
    rp.advance(3600);
    rp.get("/api/auth/session").await;
    assert_eq!(
        body_json(&rp.get("/api/auth/session").await)["user"],
        serde_json::Value::Null
    );
    assert!(session_names(&rp.jar).is_empty());
}

#[tokio::test]
async fn a_session_too_large_for_one_cookie_is_split_and_read_back() {
    let mut rp = rp("client_secret_post");
    let long_name = "N".repeat(6000);
    let name = long_name.clone();
    rp.emulator.faults().id_token_claims = Some(Arc::new(move |c| {
        c.insert("name".into(), serde_json::json!(name));
    }));
    rp.sign_in().await;
    let names = session_names(&rp.jar);
    assert!(names.len() >= 2, "split in chunks: {names:?}");
    for name in &names {
        assert!(
            rp.jar.get(name).unwrap().len() <= 3800,
            "each chunk fits a cookie"
        );
    }
    let answer = rp.get("/api/auth/session").await;
    assert_eq!(body_json(&answer)["user"]["name"], long_name.as_str());
}
