//! Refresh: early, shared by the requests of an instance, race-proof across instances, never losing rotated tokens; a dead grant or a removed app ends the session; the request deadline.

use super::*;

#[tokio::test]
async fn refresh_happens_a_few_minutes_before_expiry() {
    let mut rp = signed_in("client_secret_post").await;
    rp.advance(3600 - 6 * 60);
    assert_eq!(rp.get("/api/auth/session").await.status(), 200);
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 0, "not due yet");
    rp.advance(2 * 60);
    let before = rp.jar().session_names();
    assert_eq!(rp.get("/api/auth/session").await.status(), 200);
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 1, "refreshed early");
    assert_ne!(rp.jar().session_names(), before);
}

#[tokio::test]
async fn expired_access_token_is_refreshed_and_the_rotated_refresh_token_kept() {
    let mut rp = signed_in("client_secret_post").await;
    let old_access = access_token(&rp).await;
    rp.advance(3601);
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 200);
    let new_access = access_token(&rp).await;
    assert_ne!(new_access.secret(), old_access.secret());
    assert!(active(&rp, new_access.secret()));
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 1);
}

#[tokio::test]
async fn concurrent_requests_in_one_instance_share_one_refresh() {
    let rp = signed_in("client_secret_post").await;
    rp.advance(3601);
    let jar = rp.jar().clone();
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
    // And it is a new generation: the session the jar had, replaced.
    assert!(!new[0].is_empty(), "no response set the new session");
    let mut after = jar.clone();
    after.store(a.headers());
    assert!(!after.session_names().is_empty());
    assert_ne!(after.session_names(), jar.session_names());
}

#[tokio::test]
async fn a_late_request_with_the_replaced_session_gets_the_new_one() {
    let mut rp = signed_in("client_secret_post").await;
    rp.advance(3601);
    let old = rp.jar().clone();
    assert_eq!(rp.get("/api/user-info").await.status(), 200);
    let late = rp.send_with(&old, "GET", "/api/validate-token").await;
    assert_eq!(late.status(), 200);
    let mut jar = old.clone();
    jar.store(late.headers());
    assert_eq!(jar.session_names(), rp.jar().session_names());
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 1);
}

/// The request that started a refresh is cut off (the browser navigated
/// away and aborted its fetches, so the server drops the request) while
/// the provider has already spent the refresh token: the token call runs
/// to its end all the same, and the other requests of the burst, those
/// already waiting and those that come next, get the new generation
/// instead of spending the rotated refresh token again.
#[tokio::test]
async fn a_request_cut_off_mid_refresh_leaves_the_new_session_to_the_burst() {
    let rp = signed_in("client_secret_post").await;
    *rp.recorder.token_answer_delay.lock().unwrap() = Some(Duration::from_millis(400));
    rp.advance(3601);
    let jar = rp.jar().clone();
    let cut_off = tokio::time::timeout(
        Duration::from_millis(100),
        rp.send_with(&jar, "GET", "/api/user-info"),
    );
    let waiting = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        rp.send_with(&jar, "GET", "/api/validate-token").await
    };
    let (cut_off, waiting) = tokio::join!(cut_off, waiting);
    assert!(cut_off.is_err(), "the first request was not cut off");
    assert_eq!(waiting.status(), 200);
    let next = rp.send_with(&jar, "GET", "/api/user-info").await;
    assert_eq!(next.status(), 200);
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 1, "one token call");
    // Both carry the refresh's new generation, the same one.
    let (mut a, mut b) = (jar.clone(), jar.clone());
    a.store(waiting.headers());
    b.store(next.headers());
    assert_ne!(a.session_names(), jar.session_names());
    assert_eq!(a.session_names(), b.session_names());
    let who = rp.send_with(&a, "GET", "/api/auth/session").await;
    assert_eq!(body_json(&who)["user"]["sub"], DEMO_SUB);
}
/// With the store, a refresh's outcome is kept as long as its new session
/// can take to reach the browser: it rides on the answer of the request
/// that refreshed, and a protected function answers when its handler does
/// (on Vercel, up to 800 s). A copy of the old generation sent meanwhile,
/// to any instance, gets the new session instead of spending the old
/// refresh token again (which the provider refuses, ending the session).
#[tokio::test]
async fn a_refresh_outcome_is_kept_as_long_as_a_function_can_answer() {
    let (rp, redis, a) = signed_in_with_store().await;
    rp.advance(3601);
    let request = rp.request_with(rp.jar(), "/api/auth/session");
    let first = a.dispatch(&request).unwrap().await;
    assert_eq!(body_json(&first)["user"]["sub"], DEMO_SUB);
    let [outcome] = <[String; 1]>::try_from(redis.keys_of_kind("o")).expect("one outcome");
    let ttl = redis.command(&format!("PTTL {outcome}")).expect("PTTL");
    let ttl: u64 = ttl.trim_start_matches(':').parse().expect("a time to live");
    assert!((14 * 60 * 1000..=15 * 60 * 1000).contains(&ttl), "{ttl} ms");

    // Ten minutes later for the app (the store's own clock, which expires
    // keys, is the machine's: the time to live above is what holds there).
    rp.advance(10 * 60);
    let b = rp.instance(&[("REDIS_URL", redis.url().as_str())]);
    let late = b.dispatch(&request).unwrap().await;
    assert_eq!(body_json(&late)["user"]["sub"], DEMO_SUB);
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 1, "one token call");
    let (mut from_a, mut from_b) = (rp.jar().clone(), rp.jar().clone());
    from_a.store(first.headers());
    from_b.store(late.headers());
    assert_ne!(from_a.session_names(), rp.jar().session_names());
    assert_eq!(from_a.session_names(), from_b.session_names());
}

/// Two instances of the app refresh the same session, each unaware of the
/// other's refresh, as two requests sent at once would be: sent one after
/// the other here, so that which one wins is known (the parallel bursts,
/// each instance its own process, are in `tests/refresh_burst.rs`); the
/// browser applies their responses in `order`. Returns the final jar and
/// the two answers' statuses.
async fn race_between_instances(rp: &Rp, path: &str, winner_first: bool) -> (Jar, u16, u16) {
    let other = rp.instance(&[]);
    let jar = rp.jar().clone();
    let winner = rp.send_with(&jar, "GET", path).await;
    // The other instance never saw that refresh: it spends the same token.
    let loser = other.dispatch(&rp.request_with(&jar, path)).unwrap().await;
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
    // Early (the token still valid): the loser still knows the user.
    // At expiry: the loser answers 409, and the retry finds the new cookie.
    for (advance, loser_status) in [(3600 - 120, 200), (3601, 409)] {
        for winner_first in [true, false] {
            race_round(advance, loser_status, winner_first).await;
        }
    }
}

/// One race between two instances after `advance` seconds, the winner's
/// response applied first or last.
async fn race_round(advance: i64, loser_status: u16, winner_first: bool) {
    let mut rp = signed_in("client_secret_post").await;
    rp.emulator
        .set_refresh_token_reuse(sign_in_with_vercel_emulator::ReusePolicy::Reject);
    rp.advance(advance);
    let (end, winner, loser) = race_between_instances(&rp, "/api/auth/session", winner_first).await;
    assert_eq!(
        (winner, loser),
        (200, loser_status),
        "after {advance} s, winner first: {winner_first}"
    );
    let names = end.session_names();
    assert_eq!(names.len(), 1, "one generation left: {end:?}");
    *rp.jar_mut() = end;
    rp.clear_log();
    let answer = rp.get("/api/user-info").await;
    assert_eq!(
        answer.status(),
        200,
        "order {winner_first}: the newest session works"
    );
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 0);
}

/// Early (the access token still valid), the loser's response applied
/// alone, the winner's still on its way (behind a slow handler): the
/// browser keeps its session, and its next request still knows the user.
#[tokio::test]
async fn an_early_race_losers_answer_alone_leaves_the_browser_signed_in() {
    let rp = signed_in("client_secret_post").await;
    rp.emulator
        .set_refresh_token_reuse(sign_in_with_vercel_emulator::ReusePolicy::Reject);
    rp.advance(3600 - 120);
    let other = rp.instance(&[]);
    let jar = rp.jar().clone();
    let winner = rp.send_with(&jar, "GET", "/api/auth/session").await;
    assert_eq!(winner.status(), 200);
    let loser = other
        .dispatch(&rp.request_with(&jar, "/api/auth/session"))
        .unwrap()
        .await;
    assert_eq!(body_json(&loser)["user"]["sub"], DEMO_SUB);
    let mut after = jar.clone();
    after.store(loser.headers());
    assert_eq!(after.session_names(), jar.session_names(), "kept");
    let next = other
        .dispatch(&rp.request_with(&after, "/api/auth/session"))
        .unwrap()
        .await;
    assert_eq!(body_json(&next)["user"]["sub"], DEMO_SUB);
}

#[tokio::test]
async fn a_request_needing_the_token_that_lost_the_race_gets_409_not_401() {
    let rp = signed_in("client_secret_post").await;
    rp.emulator
        .set_refresh_token_reuse(sign_in_with_vercel_emulator::ReusePolicy::Reject);
    rp.advance(3601);
    let (end, winner, loser) = race_between_instances(&rp, "/api/user-info", true).await;
    assert_eq!(winner, 200);
    assert_eq!(loser, 409, "told apart from signed out");
    assert_eq!(end.session_names().len(), 1);
}

#[tokio::test]
async fn a_refresh_that_fails_still_knows_the_user() {
    let mut rp = signed_in("client_secret_post").await;
    // 59 minutes past the access token's expiry: inside the hour of grace
    // (REFRESH_GRACE_SECS) a provider outage goes unnoticed.
    rp.advance(3600 + 59 * 60);
    rp.emulator.faults().all_status = Some(503);
    let before = rp.jar().session_names();
    let answer = rp.get("/api/auth/session").await;
    assert_eq!(body_json(&answer)["user"]["sub"], DEMO_SUB);
    assert_eq!(rp.jar().session_names(), before, "the session is kept");
    // A request that needs the token says the provider is unavailable.
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 502);
    assert_eq!(rp.jar().session_names(), before);
}

#[tokio::test]
async fn a_dead_grant_ends_the_session_at_the_next_refresh() {
    let mut rp = signed_in("client_secret_post").await;
    // The grant dies at the provider (the user removed the app).
    revoke_at_provider(&rp, access_token(&rp).await.secret());
    // Identity still answers from the seal until the refresh is due...
    assert_eq!(
        body_json(&rp.get("/api/auth/session").await)["user"]["sub"],
        DEMO_SUB
    );
    // The refresh attempt ends the session: the cookie is deleted, and
    // the answer (409) sends the page to ask once more, signed out.
    rp.advance(3600);
    let answer = rp.get("/api/auth/session").await;
    assert_eq!(answer.status(), 409);
    testkit::assert_no_session(rp.jar());
    assert_eq!(
        body_json(&rp.get("/api/auth/session").await)["user"],
        serde_json::Value::Null
    );
}

/// The user-info route asks the provider, so it knows at once: the
/// refused access token is refreshed once, the grant refuses the refresh,
/// and the generation is deleted. Without a store the refusal may be a
/// race lost to another instance (whose answer carries the newer
/// generation): 409, and the page's one retry finds the user signed out.
#[tokio::test]
async fn a_dead_grant_ends_the_session_when_user_info_asks() {
    let mut rp = signed_in("client_secret_post").await;
    revoke_at_provider(&rp, access_token(&rp).await.secret());
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 409);
    assert_eq!(body_json(&answer)["error"], "session_refresh_conflict");
    assert_eq!(
        rp.sent_to("/login/oauth/token").len(),
        1,
        "one refresh tried"
    );
    testkit::assert_no_session(rp.jar());
    assert_eq!(
        body_json(&rp.get("/api/auth/session").await)["user"],
        serde_json::Value::Null
    );
}

/// A refresh refused in another shape than RFC 6749 §5.2's (Vercel's
/// REST API writes `{"error": {"code": …}}`), with another code than
/// `invalid_grant`, or with no readable code at all, ends the session as
/// `invalid_grant` does, rather than counting as an outage that every
/// request meets again for as long as the cookie lives. A refused client
/// does not: that is the app's configuration.
#[tokio::test]
async fn a_refresh_refused_in_any_shape_ends_the_session() {
    for body in [
        r#"{"error":{"code":"invalid_grant","message":"Refresh token expired"}}"#,
        r#"{"error":"invalid_request"}"#,
        "Bad Request",
    ] {
        let mut rp = signed_in("client_secret_post").await;
        rp.emulator.faults().token_response = Some((400, body.into()));
        rp.advance(3601);
        let answer = rp.get("/api/auth/session").await;
        assert_eq!(answer.status(), 409, "{body}");
        testkit::assert_no_session(rp.jar());
        let after = body_json(&rp.get("/api/auth/session").await);
        assert_eq!(after["user"], serde_json::Value::Null, "{body}");
    }
    let mut rp = signed_in("client_secret_post").await;
    rp.emulator.faults().token_response = Some((400, r#"{"error":"invalid_client"}"#.into()));
    rp.advance(3601);
    let before = rp.jar().session_names();
    let answer = rp.get("/api/auth/session").await;
    assert_eq!(body_json(&answer)["user"]["sub"], DEMO_SUB);
    assert_eq!(rp.jar().session_names(), before, "the session is kept");
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
    // Whether the request needs the access token or only who is signed in.
    for path in ["/api/user-info", "/api/auth/session"] {
        let mut rp = signed_in("client_secret_post").await;
        rp.emulator.faults().id_token_claims = Some(Arc::new(|c| {
            c.insert("sub".into(), serde_json::json!("usr_someone_else"));
        }));
        rp.advance(3601);
        let answer = rp.get(path).await;
        assert_eq!(answer.status(), 401, "{path}");
        assert_eq!(body_json(&answer)["error"], "invalid_token", "{path}");
        testkit::assert_no_session(rp.jar());
        // The tokens that came with it are nobody's now: revoked, not left live.
        let (access, refresh) = rp.issued();
        assert_eq!(rp.sent_to("/login/oauth/token/revoke").len(), 2, "{path}");
        assert!(!active(&rp, &access) && !active(&rp, &refresh), "{path}");
    }
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

#[tokio::test]
async fn removing_the_app_in_the_account_settings_ends_the_session() {
    let mut rp = signed_in("client_secret_post").await;
    // Vercel's user guide to Sign in with Vercel, "Revoking third-party
    // application access".
    rp.emulator.remove_app(DEMO_SUB, CLIENT_ID);
    // The route that asks the provider knows at once (its refresh after
    // the refusal is refused too; without a store that may be a race lost
    // to another instance, so 409: the page's retry then finds no
    // session)...
    let answer = rp
        .send_with(&rp.jar().clone(), "GET", "/api/user-info")
        .await;
    assert_eq!(answer.status(), 409);
    assert_eq!(body_json(&answer)["error"], "session_refresh_conflict");
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
    testkit::assert_no_session(rp.jar());
}

#[tokio::test]
async fn a_copied_cookie_cannot_keep_a_refused_session_alive() {
    let rp = signed_in("client_secret_post").await;
    revoke_at_provider(&rp, access_token(&rp).await.secret());
    rp.advance(3600);
    let copy = rp.jar().clone();
    // Whoever ignores the deletion and sends the cookie again is never
    // told who the user is once the provider has refused the refresh.
    for _ in 0..3 {
        let answer = rp.send_with(&copy, "GET", "/api/auth/session").await;
        assert_eq!(answer.status(), 409);
        assert!(body_json(&answer).get("user").is_none());
        let mine = rp.auth.session(&rp.request_with(&copy, "/api/mine")).await;
        assert!(mine.is_err());
    }
}

/// Past the grace period the user is no longer named, but the session,
/// whose refresh token was never spent, is kept for when the provider
/// answers again.
fn assert_unavailable_and_kept(answer: &http::Response<bytes::Bytes>, rp: &Rp, before: &[String]) {
    assert_eq!(answer.status(), 502);
    let body = body_json(answer);
    assert_eq!(body["error"], "provider_unavailable");
    assert!(body.get("user").is_none(), "{body}");
    assert_eq!(rp.jar().session_names(), before, "the session is kept");
}

#[tokio::test]
async fn a_refresh_failing_past_the_grace_period_names_no_one_and_keeps_the_session() {
    let mut rp = signed_in("client_secret_post").await;
    rp.advance(3601);
    rp.emulator.faults().all_status = Some(503);
    // The provider is down: the user is still known for a while...
    let answer = rp.get("/api/auth/session").await;
    assert_eq!(body_json(&answer)["user"]["sub"], DEMO_SUB);
    rp.advance(sign_in_with_vercel::REFRESH_GRACE_SECS - 10);
    let answer = rp.get("/api/auth/session").await;
    assert_eq!(body_json(&answer)["user"]["sub"], DEMO_SUB);
    // ...but not for as long as the cookie lives.
    rp.advance(20);
    let before = rp.jar().session_names();
    let answer = rp.get("/api/auth/session").await;
    assert_unavailable_and_kept(&answer, &rp, &before);
    assert!(
        rp.auth
            .session(&rp.request("GET", "/api/mine"))
            .await
            .is_err()
    );
    // Back: the same session refreshes, and the user is known again.
    rp.emulator.faults().all_status = None;
    let answer = rp.get("/api/auth/session").await;
    assert_eq!(body_json(&answer)["user"]["sub"], DEMO_SUB);
    assert_ne!(rp.jar().session_names(), before, "refreshed");
}

/// A user away for longer than the grace period whose first refresh meets
/// a blip of the provider is not signed out by it.
#[tokio::test]
async fn one_failed_refresh_after_a_long_absence_does_not_sign_the_user_out() {
    let mut rp = signed_in("client_secret_post").await;
    rp.advance(3600 + sign_in_with_vercel::REFRESH_GRACE_SECS + 3600);
    rp.emulator.faults().all_status = Some(503);
    let before = rp.jar().session_names();
    let answer = rp.get("/api/auth/session").await;
    assert_unavailable_and_kept(&answer, &rp, &before);
    rp.emulator.faults().all_status = None;
    let answer = rp.get("/api/auth/session").await;
    assert_eq!(body_json(&answer)["user"]["sub"], DEMO_SUB);
}

/// The token endpoint refuses the refresh with `error`.
fn refuse_refresh(rp: &Rp, status: u16, error: &str) {
    rp.emulator.faults().token_response =
        Some((status, serde_json::json!({ "error": error }).to_string()));
}

#[tokio::test]
async fn the_apps_own_misconfiguration_does_not_sign_the_user_out() {
    for (status, error) in [(401, "invalid_client"), (400, "unauthorized_client")] {
        let mut rp = signed_in("client_secret_post").await;
        rp.advance(3601);
        refuse_refresh(&rp, status, error);
        let before = rp.jar().session_names();
        let answer = rp.get("/api/auth/session").await;
        assert_eq!(body_json(&answer)["user"]["sub"], DEMO_SUB, "{error}");
        assert_eq!(
            rp.jar().session_names(),
            before,
            "{error}: the session is kept"
        );
        // A route that needs the token says the service is misconfigured.
        let answer = rp.get("/api/user-info").await;
        assert_eq!(answer.status(), 500, "{error}");
        assert_eq!(body_json(&answer)["error"], "configuration");
        assert_eq!(
            rp.jar().session_names(),
            before,
            "{error}: the session is kept"
        );
        // Fixed (the secret rotated back): the same session refreshes.
        rp.emulator.faults().token_response = None;
        assert_eq!(rp.get("/api/user-info").await.status(), 200, "{error}");
    }
}

/// The tokens a refresh brought that no cookie can hold (an access token
/// larger than the session's cookies) are revoked, not left live, and so
/// is the old refresh token when the provider did not rotate it: the
/// session ends, and nothing holds it any more.
#[tokio::test]
async fn tokens_too_large_for_the_cookies_are_revoked() {
    for rotated in [true, false] {
        let mut rp = signed_in("client_secret_post").await;
        let (_, held_refresh) = rp.issued();
        rp.advance(3601);
        let huge = format!("vca_{}", "x".repeat(20_000));
        let mut body = serde_json::json!({
            "access_token": huge, "token_type": "Bearer", "expires_in": 3600,
        });
        if rotated {
            body["refresh_token"] = "vcr_rotated_but_unstorable".into();
        }
        rp.emulator.faults().token_response = Some((200, body.to_string()));
        let answer = rp.get("/api/user-info").await;
        assert_eq!(body_json(&answer)["error"], "unstorable_token", "{rotated}");
        let revoked: Vec<String> = rp
            .sent_to("/login/oauth/token/revoke")
            .iter()
            .map(|r| String::from_utf8_lossy(r.body()).into_owned())
            .collect();
        let names = |token: &str| {
            revoked
                .iter()
                .any(|form| form.split('&').any(|p| p == format!("token={token}")))
        };
        assert!(
            names(&huge),
            "rotated {rotated}: the new access token is revoked"
        );
        // The session ends with the error: whichever refresh token it
        // would have kept is revoked too.
        assert_eq!(names("vcr_rotated_but_unstorable"), rotated);
        assert_eq!(names(&held_refresh), !rotated, "rotated {rotated}");
        assert_eq!(active(&rp, &held_refresh), rotated, "rotated {rotated}");
    }
}

#[tokio::test]
async fn a_throttled_refresh_does_not_sign_the_user_out() {
    for (status, error) in [(429, "rate_limited"), (400, "temporarily_unavailable")] {
        let mut rp = signed_in("client_secret_post").await;
        rp.advance(3601);
        refuse_refresh(&rp, status, error);
        let before = rp.jar().session_names();
        let answer = rp.get("/api/user-info").await;
        assert!(
            [502, 503].contains(&answer.status().as_u16()),
            "{error}: {}",
            answer.status()
        );
        assert_eq!(body_json(&answer)["error"], "provider_unavailable");
        assert_eq!(
            rp.jar().session_names(),
            before,
            "{error}: the session is kept"
        );
    }
}

#[tokio::test]
async fn a_refused_grant_still_ends_the_session() {
    let mut rp = signed_in("client_secret_post").await;
    rp.advance(3601);
    refuse_refresh(&rp, 400, "invalid_grant");
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 409);
    assert_no_session(rp.jar());
}

#[tokio::test]
async fn a_signed_out_session_is_not_handed_to_a_copy_of_an_older_generation() {
    let mut rp = signed_in("client_secret_post").await;
    rp.advance(3601);
    let copy = rp.jar().clone();
    // A refresh: the instance remembers it for latecomers of the burst.
    assert_eq!(rp.get("/api/user-info").await.status(), 200);
    let late = rp.send_with(&copy, "GET", "/api/auth/session").await;
    assert_eq!(
        body_json(&late)["user"]["sub"],
        DEMO_SUB,
        "a burst's latecomer"
    );
    // The user signs out: the copy gets nothing from the instance any more,
    // and its own refresh token was spent.
    assert_eq!(rp.send("POST", "/api/auth/signout").await.status(), 200);
    let calls = rp.sent_to("/login/oauth/token").len();
    let replay = rp.send_with(&copy, "GET", "/api/user-info").await;
    assert_eq!(
        replay.status(),
        409,
        "{}",
        String::from_utf8_lossy(replay.body())
    );
    assert_eq!(
        rp.sent_to("/login/oauth/token").len(),
        calls + 1,
        "asked the provider"
    );
    let replay = rp.send_with(&copy, "GET", "/api/auth/session").await;
    assert_eq!(replay.status(), 409);
    assert_eq!(body_json(&replay)["error"], "session_refresh_conflict");
}

/// With a shared store (a real `redis-server`): instance A claims a
/// refresh and spends the refresh token, but the provider's answer never
/// reaches it (A's request is dropped too), so A gives its claim up at
/// its deadline with no outcome to publish, as a frozen or killed
/// instance lets it lapse. Instance B, which waited on that claim, spends
/// the same token again and is refused: a race lost to A, not a dead
/// grant. B keeps the session instead of ending it in every instance, and
/// a provider that rejects only the reused token is the one where that
/// matters.
#[tokio::test]
async fn a_refusal_after_waiting_on_a_lapsed_claim_does_not_end_the_session() {
    let redis = testkit::RedisServer::start();
    let url = redis.url();
    let rp = signed_in("client_secret_post").await;
    rp.emulator
        .set_refresh_token_reuse(sign_in_with_vercel_emulator::ReusePolicy::Reject);
    let with_store = [("REDIS_URL", url.as_str())];
    let (a, b) = (rp.instance(&with_store), rp.instance(&with_store));
    // Due for its early refresh, the access token still valid.
    rp.advance(3600 - 120);
    let jar = rp.jar().clone();
    let request = rp.request_with(&jar, "/api/auth/session");

    *rp.recorder.token_answer_delay.lock().unwrap() = Some(Duration::from_secs(60));
    let spent_at = {
        let cut_off = a.dispatch(&request).unwrap();
        tokio::pin!(cut_off);
        let spent = async {
            while rp.sent_to("/login/oauth/token").is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::select! {
            _ = &mut cut_off => panic!("A answered although its token answer is held"),
            waited = tokio::time::timeout(Duration::from_secs(30), spent) => {
                waited.expect("A reaches the token endpoint");
            }
        }
        let spent_at = std::time::Instant::now();
        // A's token call is handled; its answer never comes: A is cut off.
        let held = tokio::time::timeout(Duration::from_millis(200), &mut cut_off).await;
        assert!(held.is_err(), "A is still waiting for its answer");
        spent_at
    };
    *rp.recorder.token_answer_delay.lock().unwrap() = None;
    let calls = rp.sent_to("/login/oauth/token").len();
    assert_eq!(calls, 1, "A spent the refresh token");

    // B starts while A's claim (10 s, taken just before its token call)
    // holds, early enough that it lapses well inside B's deadline (9 s).
    tokio::time::sleep(Duration::from_secs(4).saturating_sub(spent_at.elapsed())).await;
    let answer = b.dispatch(&request).unwrap().await;
    assert_eq!(
        rp.sent_to("/login/oauth/token").len(),
        calls + 1,
        "B waited out A's claim and spent the token again"
    );
    assert_eq!(
        body_json(&answer)["user"]["sub"],
        DEMO_SUB,
        "the session is kept: {}",
        String::from_utf8_lossy(answer.body())
    );
    // And not ended in the store for every instance: no ended-session key
    // (`siv:<app>:s:<hash>`) was written.
    let ended = redis.keys_of_kind("s");
    assert!(ended.is_empty(), "ended in the store: {ended:?}");
    // The rest of the burst (C, which did not wait) is told the token was
    // spent, instead of spending it again and ending the session.
    let c = rp.instance(&with_store);
    let later = c.dispatch(&request).unwrap().await;
    assert_eq!(body_json(&later)["user"]["sub"], DEMO_SUB);
    assert_eq!(
        rp.sent_to("/login/oauth/token").len(),
        calls + 1,
        "no third spend"
    );
    assert!(redis.keys_of_kind("s").is_empty());
    // The check can see one: a sign-out through B ends it in the store.
    signs_out_into_the_store(&rp, &b, &redis).await;
}

/// With a shared store (a real `redis-server`): instance A's request is
/// dropped while its refresh is at the provider, the refresh token spent.
/// A's refresh runs on and publishes its outcome, and instance B's
/// request, waiting on A's claim, adopts the new generation: one token
/// call, and the user known with a live access token.
#[tokio::test]
async fn a_request_cut_off_mid_refresh_still_publishes_its_outcome() {
    let redis = testkit::RedisServer::start();
    let url = redis.url();
    let rp = signed_in("client_secret_post").await;
    rp.emulator
        .set_refresh_token_reuse(sign_in_with_vercel_emulator::ReusePolicy::Reject);
    let with_store = [("REDIS_URL", url.as_str())];
    let (a, b) = (rp.instance(&with_store), rp.instance(&with_store));
    rp.advance(3601);
    let jar = rp.jar().clone();
    let request = rp.request_with(&jar, "/api/user-info");

    *rp.recorder.token_answer_delay.lock().unwrap() = Some(Duration::from_millis(600));
    {
        let cut_off = a.dispatch(&request).unwrap();
        tokio::pin!(cut_off);
        let spent = async {
            while rp.sent_to("/login/oauth/token").is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::select! {
            _ = &mut cut_off => panic!("A answered although its token answer is held"),
            waited = tokio::time::timeout(Duration::from_secs(30), spent) => {
                waited.expect("A reaches the token endpoint");
            }
        }
    }
    *rp.recorder.token_answer_delay.lock().unwrap() = None;
    let answer = b.dispatch(&request).unwrap().await;
    assert_eq!(
        answer.status(),
        200,
        "{}",
        String::from_utf8_lossy(answer.body())
    );
    assert_eq!(body_json(&answer)["userInfo"]["sub"], DEMO_SUB);
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 1, "one token call");
    let mut after = jar.clone();
    after.store(answer.headers());
    assert_ne!(
        after.session_names(),
        jar.session_names(),
        "the new generation"
    );
    assert!(redis.keys_of_kind("s").is_empty(), "nothing ended");
}

/// With a shared store: the app's own misconfiguration (`invalid_client`)
/// is not the provider's last word on the generation, so it is not
/// published for the other instances to adopt: once fixed, the next
/// request, in another instance, refreshes the same session itself.
#[tokio::test]
async fn a_refusal_of_the_client_is_not_published_to_the_other_instances() {
    let (rp, _redis, a) = signed_in_with_store().await;
    let b = rp.instance(&[("REDIS_URL", _redis.url().as_str())]);
    rp.advance(3601);
    let request = rp.request_with(rp.jar(), "/api/user-info");
    refuse_refresh(&rp, 401, "invalid_client");
    let refused = a.dispatch(&request).unwrap().await;
    assert_eq!(body_json(&refused)["error"], "configuration");
    rp.emulator.faults().token_response = None;
    let fixed = b.dispatch(&request).unwrap().await;
    assert_eq!(
        fixed.status(),
        200,
        "{}",
        String::from_utf8_lossy(fixed.body())
    );
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 2, "B's own call");
    let mut jar = rp.jar().clone();
    jar.store(fixed.headers());
    assert_ne!(jar.session_names(), rp.jar().session_names(), "refreshed");
}

/// With a shared store: another instance holds the refresh's claim and
/// never publishes (it was frozen mid-refresh, its claim not yet lapsed).
/// A request waiting on it gives up within its own deadline, and answers
/// as if the provider could not be reached: the user still known, the
/// session kept, no token call of its own.
#[tokio::test]
async fn a_request_waiting_on_a_claim_that_never_resolves_answers_within_its_deadline() {
    let (rp, redis, a) = signed_in_with_store().await;
    let b = rp.instance(&[("REDIS_URL", redis.url().as_str())]);
    rp.advance(3600 - 120);
    let request = rp.request_with(rp.jar(), "/api/auth/session");
    // A claims the refresh; its token call is held back until the claim
    // has been seen and taken over by a frozen instance, and fails (503),
    // so A has no outcome to publish.
    fail_refresh_slowly(&rp);
    let answer = a.dispatch(&request).unwrap();
    tokio::pin!(answer);
    let claim = claim_seen(&redis, answer.as_mut()).await;
    let frozen = format!("SET {claim} frozen-instance EX 60");
    assert_eq!(redis.command(&frozen).as_deref(), Some("+OK"));
    answer.await;
    *rp.recorder.delay.lock().unwrap() = None;
    rp.emulator.faults().token_response = None;
    assert!(redis.keys_of_kind("o").is_empty(), "{:?}", redis.keys());
    assert!(
        redis
            .command(&format!("TTL {claim}"))
            .is_some_and(|ttl| ttl != ":-2")
    );
    let calls = rp.sent_to("/login/oauth/token").len();
    let commands = || redis.stat("stats", "total_commands_processed");
    let before = commands();

    let started = std::time::Instant::now();
    let waited = tokio::time::timeout(REQUEST_DEADLINE + Duration::from_secs(2), async {
        b.dispatch(&request).unwrap().await
    })
    .await
    .expect("B answered within its deadline");
    // Its deadline, with a second for a loaded machine's scheduling.
    assert!(started.elapsed() <= REQUEST_DEADLINE + Duration::from_secs(1));
    assert_eq!(body_json(&waited)["user"]["sub"], DEMO_SUB);
    assert!(
        set_cookies(&waited)
            .iter()
            .all(|c| !c.contains("Max-Age=0")),
        "the session is kept: {:?}",
        set_cookies(&waited)
    );
    assert_eq!(
        rp.sent_to("/login/oauth/token").len(),
        calls,
        "no call of B's"
    );
    // B looked at the claim with pauses growing to 200 ms: some forty
    // round trips in its nine seconds (three commands each: the outcome,
    // the claim, its holder), not a busy loop.
    let looked = commands() - before;
    assert!(looked < 180, "{looked} store commands while waiting");
}

/// With a shared store: a claim taken by an instance that then vanished
/// (frozen before its token call) lapses; the request that waited on it
/// wins the claim, and its own refresh, answered, is the session's next
/// generation, not a race lost.
#[tokio::test]
async fn a_request_that_wins_a_lapsed_claim_refreshes_the_session() {
    let (rp, redis, a) = signed_in_with_store().await;
    let b = rp.instance(&[("REDIS_URL", redis.url().as_str())]);
    rp.advance(3601);
    let request = rp.request_with(rp.jar(), "/api/user-info");
    // The claim's key, from a refresh of A's that fails (503) and gives
    // its claim up.
    fail_refresh_slowly(&rp);
    let answer = a.dispatch(&request).unwrap();
    tokio::pin!(answer);
    let claim = claim_seen(&redis, answer.as_mut()).await;
    answer.await;
    *rp.recorder.delay.lock().unwrap() = None;
    rp.emulator.faults().token_response = None;
    // A frozen instance's claim, lapsing in 700 ms.
    let frozen = format!("SET {claim} frozen-instance PX 700");
    assert_eq!(redis.command(&frozen).as_deref(), Some("+OK"));
    let calls = rp.sent_to("/login/oauth/token").len();

    let answer = b.dispatch(&request).unwrap().await;
    assert_eq!(
        answer.status(),
        200,
        "{}",
        String::from_utf8_lossy(answer.body())
    );
    assert_eq!(
        rp.sent_to("/login/oauth/token").len(),
        calls + 1,
        "B's call"
    );
    let mut jar = rp.jar().clone();
    jar.store(answer.headers());
    assert_ne!(jar.session_names(), rp.jar().session_names(), "refreshed");
    assert!(redis.keys_of_kind("s").is_empty(), "nothing ended");
}

/// With a shared store: the refresh's token call fails for the provider's
/// trouble (503), so the claim is given up for another request to try. If
/// the claim lapsed meanwhile and another instance took it (here: the test
/// writes another value), giving up leaves that one's claim alone.
#[tokio::test]
async fn giving_up_a_claim_leaves_another_instances_claim() {
    let (rp, redis, instance) = signed_in_with_store().await;
    rp.advance(3600 - 120);
    let request = rp.request_with(rp.jar(), "/api/auth/session");
    fail_refresh_slowly(&rp);
    let answer = instance.dispatch(&request).unwrap();
    tokio::pin!(answer);
    let claim = claim_seen(&redis, answer.as_mut()).await;
    let taken = redis.command(&format!("SET {claim} another-instance KEEPTTL"));
    assert_eq!(taken.as_deref(), Some("+OK"));
    let answered = answer.await;
    assert_eq!(
        answered.status(),
        200,
        "within the grace: the user is still known"
    );
    assert!(
        rp.sent_to("/login/oauth/token").len() == 1,
        "the token call was made and failed"
    );
    assert_eq!(
        redis.command(&format!("EXISTS {claim}")).as_deref(),
        Some(":1"),
        "the other instance's claim stands"
    );
    // Its own claim, it does give up.
    assert_eq!(
        redis.command(&format!("DEL {claim}")).as_deref(),
        Some(":1")
    );
    let again = instance.dispatch(&request).unwrap().await;
    assert_eq!(again.status(), 200);
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 2);
    assert_eq!(
        redis.command(&format!("EXISTS {claim}")).as_deref(),
        Some(":0")
    );
}

/// Drives `answer` (a request whose refresh is under way) until its claim
/// appears in the store, and returns the claim's key.
async fn claim_seen<F: std::future::Future>(
    redis: &testkit::RedisServer,
    mut answer: std::pin::Pin<&mut F>,
) -> String {
    loop {
        tokio::select! {
            _ = answer.as_mut() => panic!("answered before the claim was seen"),
            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
        if let Some(key) = redis.keys_of_kind("c").pop() {
            return key;
        }
    }
}

/// The provider's trouble, slowly: every call takes 300 ms, and the token
/// endpoint then answers 503, so a refresh's claim is seen in the store
/// before it is given up with no outcome.
fn fail_refresh_slowly(rp: &Rp) {
    rp.emulator.faults().token_response = Some((503, "{}".into()));
    *rp.recorder.delay.lock().unwrap() = Some(Duration::from_millis(300));
}
