//! Sign-out: revocation, cookies deleted in every case, a failed revocation
//! said and retried, cross-origin refusal, "everywhere" without a store.

use super::*;

#[tokio::test]
async fn signout_revokes_the_tokens_and_deletes_the_session() {
    let mut rp = signed_in("client_secret_post").await;
    let access = access_token(&rp).await;
    let answer = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        body_json(&answer),
        serde_json::json!({"signedOut": true, "revoked": true, "retry": false})
    );
    testkit::assert_only_the_sign_out_mark(rp.jar());
    assert!(!active(&rp, access.secret()));
    assert_eq!(
        rp.sent_to("/login/oauth/token/revoke").len(),
        2,
        "access and refresh"
    );
    assert_eq!(rp.get("/api/user-info").await.status(), 401);
}

#[tokio::test]
async fn a_provider_that_only_revokes_refresh_tokens_has_revoked_the_grant() {
    let mut rp = signed_in("client_secret_post").await;
    let (_, refresh) = rp.issued();
    rp.emulator.faults().access_tokens_not_revocable = true;
    let answer = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(
        body_json(&answer),
        serde_json::json!({"signedOut": true, "revoked": true, "retry": false})
    );
    assert!(!active(&rp, &refresh), "the grant is revoked");
    testkit::assert_only_the_sign_out_mark(rp.jar());
}

/// RFC 7009 §2.2.1: `unsupported_token_type` for both tokens is final, so
/// the session ends, nothing is kept to retry, and the answer says the
/// grant was not revoked (the page then says where to remove the app).
#[tokio::test]
async fn a_provider_that_revokes_neither_token_signs_out_without_a_retry() {
    let mut rp = signed_in("client_secret_post").await;
    let (access, refresh) = rp.issued();
    rp.emulator.update_faults(|f| {
        f.access_tokens_not_revocable = true;
        f.refresh_tokens_not_revocable = true;
    });
    let answer = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        body_json(&answer),
        serde_json::json!({"signedOut": true, "revoked": false, "retry": false})
    );
    assert_eq!(
        rp.sent_to("/login/oauth/token/revoke").len(),
        2,
        "both tokens were tried"
    );
    assert!(active(&rp, &access) && active(&rp, &refresh), "still live");
    assert!(pending_revocations(&rp).is_empty(), "{:?}", rp.jar());
    testkit::assert_only_the_sign_out_mark(rp.jar());
    assert_eq!(rp.get("/api/user-info").await.status(), 401);
}

/// The cookies of failed revocations the jar holds.
fn pending_revocations(rp: &Rp) -> Vec<String> {
    rp.jar().names(sign_in_with_vercel::REVOCATION_COOKIE)
}

#[tokio::test]
async fn signout_deletes_the_session_when_revocation_fails_and_says_so() {
    let mut rp = signed_in("client_secret_post").await;
    let access = access_token(&rp).await;
    rp.emulator.faults().revocation_status = Some(503);
    let answer = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        body_json(&answer),
        serde_json::json!({"signedOut": true, "revoked": false, "retry": true})
    );
    assert_no_session(rp.jar());
    assert_eq!(rp.get("/api/auth/session").await.status(), 200);
    assert_eq!(
        body_json(&rp.get("/api/auth/session").await)["user"],
        serde_json::Value::Null
    );
    assert_eq!(
        pending_revocations(&rp).len(),
        1,
        "kept for a retry: {:?}",
        rp.jar()
    );
    assert!(active(&rp, access.secret()), "not revoked yet");

    // The provider is back: posting again revokes what is pending.
    rp.emulator.faults().revocation_status = None;
    let retry = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(retry.status(), 200);
    assert_eq!(
        body_json(&retry),
        serde_json::json!({"signedOut": true, "revoked": true, "retry": false})
    );
    assert!(!active(&rp, access.secret()));
    testkit::assert_only_the_sign_out_mark(rp.jar());
}

#[tokio::test]
async fn a_retry_that_fails_again_keeps_the_tokens_for_another() {
    let mut rp = signed_in("client_secret_post").await;
    rp.emulator.faults().revocation_status = Some(503);
    rp.send("POST", "/api/auth/signout").await;
    let again = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(body_json(&again)["retry"], true);
    assert_eq!(pending_revocations(&rp).len(), 1, "{:?}", rp.jar());
}

#[tokio::test]
async fn a_pending_revocation_is_sealed() {
    let mut rp = signed_in("client_secret_post").await;
    let access = access_token(&rp).await;
    rp.emulator.faults().revocation_status = Some(503);
    let answer = rp.send("POST", "/api/auth/signout").await;
    let set: Vec<&str> = answer
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap())
        .collect();
    assert!(
        set.iter()
            .any(|c| c.starts_with("revoke.") && !c.contains("Max-Age=0")),
        "a pending revocation is kept: {set:?}"
    );
    for cookie in set {
        assert!(!cookie.contains(access.secret()), "{cookie}");
        assert!(!cookie.contains("vcr_"), "{cookie}");
    }
}

#[tokio::test]
async fn signout_when_the_provider_is_unreachable_still_deletes_the_session() {
    let mut rp = signed_in("client_secret_post").await;
    *rp.recorder.fail.lock().unwrap() = Some(TransportError::Connect);
    let answer = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(body_json(&answer)["retry"], true);
    assert_no_session(rp.jar());
}

#[tokio::test]
async fn signing_out_everywhere_without_a_shared_store_signs_out_here_and_says_why() {
    let mut rp = signed_in("client_secret_post").await;
    let answer = rp.send("POST", "/api/auth/signout?everywhere").await;
    assert_eq!(answer.status(), 200);
    let body = body_json(&answer);
    assert_eq!(body["signedOut"], true);
    assert_eq!(body["revoked"], true);
    assert_eq!(body["everywhere"], false);
    assert_eq!(
        body["everywhereError"],
        "Signing out everywhere needs the app's shared session store."
    );
    testkit::assert_only_the_sign_out_mark(rp.jar());
}

#[tokio::test]
async fn sign_out_everywhere_in_code_needs_a_shared_store() {
    let rp = signed_in("client_secret_post").await;
    let session = rp.auth.session(&rp.request("GET", "/")).await.unwrap();
    assert_eq!(
        rp.auth.sign_out_everywhere(&session).await,
        Err(sign_in_with_vercel::Error::NoSharedStore)
    );
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

/// The sign-out's answer to a `POST` carrying `headers`.
async fn signout_sent_with(
    headers: &[(&'static str, &str)],
) -> (Rp, sign_in_with_vercel::Response) {
    let rp = signed_in("client_secret_post").await;
    let mut request = rp.request("POST", "/api/auth/signout");
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
    }
    let answer = rp.auth.dispatch(&request).unwrap().await;
    (rp, answer)
}

/// A page of another origin may not sign the user out, by whichever
/// header the browser names it: `Origin`, fetch metadata, or, when it
/// sends neither, `Referer`.
#[tokio::test]
async fn signout_from_another_origin_is_refused() {
    let longer_host = format!("{APP}.evil.example/");
    let longer_port = format!("{APP}0/");
    for headers in [
        &[("origin", "https://evil.example")][..],
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site")],
        &[("referer", "https://evil.example/page")],
        &[("referer", &longer_host)],
        &[("referer", &longer_port)],
        &[("origin", APP), ("sec-fetch-site", "cross-site")],
        // An opaque origin (a sandboxed frame, a redirect from elsewhere)
        // with no fetch metadata to vouch for it, or with metadata that
        // says cross-site.
        &[("origin", "null")],
        &[("origin", "null"), ("sec-fetch-site", "cross-site")],
        // Metadata that says same-origin does not excuse another origin.
        &[
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "same-origin"),
        ],
    ] {
        let (mut rp, answer) = signout_sent_with(headers).await;
        assert_eq!(answer.status(), 403, "{headers:?}");
        rp.jar_mut().store(answer.headers());
        assert_eq!(rp.jar().session_names().len(), 1, "{headers:?}");
        assert_eq!(provider_calls(&rp), 0, "{headers:?}");
    }
}

#[tokio::test]
async fn signout_from_the_same_origin_is_allowed() {
    let page = format!("{APP}/profile?tab=1");
    for headers in [
        &[("origin", APP)][..],
        &[("sec-fetch-site", "same-origin")],
        &[("referer", &page)],
        &[("referer", APP)],
        // `Origin` is what counts when the browser sends it.
        &[("origin", APP), ("referer", "https://evil.example/")],
        // A form posted from one of the app's own pages, whose referrer
        // policy (`no-referrer`) makes the browser send `Origin: null`.
        &[("origin", "null"), ("sec-fetch-site", "same-origin")],
        // The user's own action (a resubmitted form).
        &[("origin", "null"), ("sec-fetch-site", "none")],
        // Neither: a client that is not a browser.
        &[],
    ] {
        let (_, answer) = signout_sent_with(headers).await;
        assert_eq!(answer.status(), 200, "{headers:?}");
    }
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

/// Signing in over a session: another user's tokens, which this browser
/// no longer holds, are revoked; the same user's are left to the provider
/// (which may revoke all of a user's grants to the app at once).
#[tokio::test]
async fn a_new_sign_in_revokes_the_tokens_of_the_user_it_replaces() {
    let mut rp = signed_in("client_secret_post").await;
    let (first_access, first_refresh) = rp.issued();
    assert_eq!(location(&rp.sign_in().await), "/profile");
    assert!(
        rp.sent_to("/login/oauth/token/revoke").is_empty(),
        "same user"
    );
    assert!(active(&rp, &first_access) && active(&rp, &first_refresh));

    let (demo_access, demo_refresh) = rp.issued();
    rp.emulator.faults().id_token_claims = Some(Arc::new(|c| {
        c.insert("sub".into(), serde_json::json!("usr_someone_else"));
    }));
    assert_eq!(location(&rp.sign_in().await), "/profile");
    assert_eq!(rp.sent_to("/login/oauth/token/revoke").len(), 2);
    assert!(!active(&rp, &demo_access) && !active(&rp, &demo_refresh));
    let session = body_json(&rp.get("/api/auth/session").await);
    assert_eq!(session["user"]["sub"], "usr_someone_else");
}

/// Signing in as another user while the provider cannot revoke: the
/// replaced user's tokens are kept, sealed, and the new user's sign-out
/// revokes them with its own, as a failed sign-out's are.
#[tokio::test]
async fn a_new_sign_in_keeps_the_replaced_users_tokens_it_could_not_revoke() {
    let mut rp = signed_in("client_secret_post").await;
    let (demo_access, demo_refresh) = rp.issued();
    rp.emulator.faults().id_token_claims = Some(Arc::new(|c| {
        c.insert("sub".into(), serde_json::json!("usr_someone_else"));
    }));
    rp.emulator.faults().revocation_status = Some(503);
    assert_eq!(location(&rp.sign_in().await), "/profile");
    assert_eq!(pending_revocations(&rp).len(), 1);
    assert!(active(&rp, &demo_access) && active(&rp, &demo_refresh));
    rp.emulator.faults().revocation_status = None;
    let answer = body_json(&rp.send("POST", "/api/auth/signout").await);
    assert_eq!(answer["revoked"], true, "{answer}");
    assert!(!active(&rp, &demo_access) && !active(&rp, &demo_refresh));
    assert!(pending_revocations(&rp).is_empty());
}

/// Two sign-ins completed in parallel in one browser (two tabs), as two
/// users: the later one is the session, and the other user's tokens, which
/// no cookie holds once its session is deleted, are revoked; the same
/// user's are left to the provider, as for a sign-in over a session.
#[tokio::test]
async fn of_two_sign_ins_in_parallel_the_later_stands_and_the_other_users_tokens_are_revoked() {
    for later_applied_last in [true, false] {
        two_sign_ins_in_parallel(later_applied_last).await;
    }
}

async fn two_sign_ins_in_parallel(later_applied_last: bool) {
    let mut rp = signed_in("client_secret_post").await;
    let first = rp.authorize_and_consent().await;
    let second = rp.authorize_and_consent().await;
    let before = rp.jar().clone();
    rp.emulator.faults().id_token_claims = Some(Arc::new(|c| {
        c.insert("sub".into(), serde_json::json!("usr_someone_else"));
    }));
    let as_someone_else = rp.send_with(&before, "GET", &first).await;
    assert_eq!(location(&as_someone_else), "/profile");
    let (other_access, other_refresh) = rp.issued();
    rp.emulator.faults().id_token_claims = None;
    rp.advance(1);
    let as_demo = rp.send_with(&before, "GET", &second).await;
    assert_eq!(location(&as_demo), "/profile");
    let (demo_access, demo_refresh) = rp.issued();

    let order = match later_applied_last {
        true => [&as_someone_else, &as_demo],
        false => [&as_demo, &as_someone_else],
    };
    let mut jar = before.clone();
    for answer in order {
        jar.store(answer.headers());
    }
    let who = rp.send_with(&jar, "GET", "/api/auth/session").await;
    assert_eq!(body_json(&who)["user"]["sub"], DEMO_SUB);
    jar.store(who.headers());
    assert_eq!(jar.session_names().len(), 1, "the other session is deleted");
    assert!(!active(&rp, &other_access) && !active(&rp, &other_refresh));
    assert!(active(&rp, &demo_access) && active(&rp, &demo_refresh));
}

/// A sign-out that crosses a refresh of the same session (both requests
/// sent with the old generation): whichever response the browser applies
/// last, the user stays signed out, and the tokens the refresh brought,
/// which no cookie holds any more, are revoked.
#[tokio::test]
async fn a_sign_out_crossing_a_refresh_signs_out_in_either_order() {
    for refresh_applied_last in [false, true] {
        let (rp, refreshed, (access, refresh)) = with_a_refresh_in_flight().await;
        let old = rp.jar().clone();
        // The sign-out's own revocation fails (the emulator would revoke
        // the whole grant with the spent refresh token otherwise): the
        // refresh's tokens are left for the next request to revoke.
        rp.emulator.faults().revocation_status = Some(503);
        let signed_out = rp.send_with(&old, "POST", "/api/auth/signout").await;
        assert_eq!(signed_out.status(), 200);
        rp.emulator.faults().revocation_status = None;
        assert!(active(&rp, &access) && active(&rp, &refresh));
        let mut jar = old.clone();
        let (first, last) = if refresh_applied_last {
            (&signed_out, &refreshed)
        } else {
            (&refreshed, &signed_out)
        };
        jar.store(first.headers());
        jar.store(last.headers());
        let who = rp.send_with(&jar, "GET", "/api/auth/session").await;
        assert_eq!(
            body_json(&who)["user"],
            serde_json::Value::Null,
            "refresh applied last: {refresh_applied_last}"
        );
        jar.store(who.headers());
        assert_no_session(&jar);
        assert!(
            !active(&rp, &access) && !active(&rp, &refresh),
            "the refresh's tokens are revoked (refresh applied last: {refresh_applied_last})"
        );
    }
}

/// A refresh of a session that a new sign-in then replaced, answered late
/// (the request was in flight across the sign-in): while the new session
/// lives, it wins and nothing of the user's is revoked; once it is signed
/// out, the replaced session does not come back, whenever its refresh
/// lands.
#[tokio::test]
async fn a_late_refresh_of_a_replaced_session_does_not_undo_a_sign_out() {
    let (mut rp, refreshed, (late_access, late_refresh)) = with_a_refresh_in_flight().await;
    assert_eq!(location(&rp.sign_in().await), "/profile");
    let (access, refresh) = rp.issued();
    rp.clear_log();

    // Landing while the new session lives.
    let mut jar = rp.jar().clone();
    jar.store(refreshed.headers());
    let who = rp.send_with(&jar, "GET", "/api/auth/session").await;
    assert_eq!(body_json(&who)["user"]["sub"], DEMO_SUB);
    jar.store(who.headers());
    assert_eq!(jar.session_names(), rp.jar().session_names(), "the new one");
    assert!(rp.sent_to("/login/oauth/token/revoke").is_empty());
    assert!(active(&rp, &access) && active(&rp, &refresh));

    // Landing after the new session's sign-out.
    assert_eq!(rp.send("POST", "/api/auth/signout").await.status(), 200);
    lands_signed_out(&rp, &refreshed).await;
    assert!(
        !active(&rp, &late_access) && !active(&rp, &late_refresh),
        "the late session's tokens, which no cookie holds, are revoked"
    );
}

/// A refresh in flight when its session was signed out, landing after a
/// sign-in and a second sign-out in the same browser (all within one
/// request's deadline): the first sign-out's mark still refuses it. A
/// sign-in deletes only the marks that no refresh can outrun any more.
#[tokio::test]
async fn a_late_refresh_does_not_undo_a_sign_out_after_the_next_sign_in() {
    let (mut rp, refreshed, (late_access, late_refresh)) = with_a_refresh_in_flight().await;
    assert_eq!(rp.send("POST", "/api/auth/signout").await.status(), 200);
    assert_eq!(location(&rp.sign_in().await), "/profile");
    assert_eq!(rp.send("POST", "/api/auth/signout").await.status(), 200);
    rp.clear_log();
    lands_signed_out(&rp, &refreshed).await;
    assert!(!active(&rp, &late_access) && !active(&rp, &late_refresh));
    assert_landing_revoked(&rp, &late_refresh);
}

/// The same, with the refresh's answer held by a protected function whose
/// handler runs for minutes (its cookies ride on the handler's response;
/// a function may run 800 s): the sign-out, a sign-in minutes after it,
/// and a second sign-out all come before it lands; the first sign-out's
/// mark is still there to refuse it.
#[tokio::test]
async fn a_refresh_answered_minutes_later_does_not_undo_a_sign_out() {
    let (mut rp, refreshed, (late_access, late_refresh)) = with_a_refresh_in_flight().await;
    rp.advance(10);
    assert_eq!(rp.send("POST", "/api/auth/signout").await.status(), 200);
    rp.advance(780);
    assert_eq!(location(&rp.sign_in().await), "/profile");
    rp.advance(5);
    assert_eq!(rp.send("POST", "/api/auth/signout").await.status(), 200);
    rp.advance(5);
    rp.clear_log();
    lands_signed_out(&rp, &refreshed).await;
    assert!(!active(&rp, &late_access) && !active(&rp, &late_refresh));
    assert_landing_revoked(&rp, &late_refresh);
}

/// The late refresh's landing itself asked the provider to revoke
/// `token`: the emulator revokes a whole grant with any of its tokens, so
/// the sign-outs before the landing may already have made the late
/// tokens inactive, and `active` alone would not show it.
fn assert_landing_revoked(rp: &Rp, token: &str) {
    let revoked: Vec<String> = rp
        .sent_to("/login/oauth/token/revoke")
        .iter()
        .filter_map(|r| {
            url::form_urlencoded::parse(r.body())
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert!(
        revoked.iter().any(|t| t == token),
        "the landing revoked {} tokens, not the late refresh token",
        revoked.len()
    );
}

/// Sign-ins and sign-outs in a quick loop (the clock stands still): the
/// marks stay few, so they never crowd out the cookies a sign-in needs.
#[tokio::test]
async fn sign_outs_in_a_quick_loop_leave_a_bounded_number_of_marks() {
    let mut rp = signed_in("client_secret_post").await;
    for _ in 0..70 {
        assert_eq!(rp.send("POST", "/api/auth/signout").await.status(), 200);
        assert_eq!(location(&rp.sign_in().await), "/profile");
        let marks = rp.jar().names(sign_in_with_vercel::ENDED_COOKIE).len();
        assert!(marks <= 4, "{marks} marks");
    }
    assert_eq!(
        body_json(&rp.get("/api/auth/session").await)["user"]["sub"],
        DEMO_SUB
    );
}

/// A sign-out whose revocation failed, then a sign-in and a sign-out in
/// the same browser within the ten minutes: the earlier tokens, which no
/// session holds any more, are revoked with the new ones, not dropped.
#[tokio::test]
async fn an_earlier_pending_revocation_is_retried_with_the_next_sign_out() {
    let mut rp = signed_in("client_secret_post").await;
    let (first_access, first_refresh) = rp.issued();
    rp.emulator.faults().revocation_status = Some(503);
    let first = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(body_json(&first)["retry"], true);
    assert_eq!(pending_revocations(&rp).len(), 1);
    rp.emulator.faults().revocation_status = None;

    assert_eq!(location(&rp.sign_in().await), "/profile");
    let (second_access, second_refresh) = rp.issued();
    assert!(active(&rp, &first_access) && active(&rp, &first_refresh));
    rp.clear_log();
    let second = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(
        body_json(&second),
        serde_json::json!({"signedOut": true, "revoked": true, "retry": false})
    );
    // The session signed out of goes first: the retries share its deadline.
    let revocations = rp.sent_to("/login/oauth/token/revoke");
    let first_sent = String::from_utf8_lossy(revocations[0].body()).into_owned();
    assert!(
        first_sent.contains(&format!("token={second_access}"))
            || first_sent.contains(&format!("token={second_refresh}")),
        "the current session is revoked first"
    );
    for token in [first_access, first_refresh, second_access, second_refresh] {
        assert!(!active(&rp, &token), "every token revoked");
    }
    assert!(pending_revocations(&rp).is_empty());
}

/// The page's "Try again" (`?retry`) after a sign-in made meanwhile in
/// another tab: the kept revocation is retried, and the new session,
/// which the plain sign-out would end, is left alone. Then nothing is left
/// to retry (`retried` 0); `everywhere` with it, or a value that is not
/// yes or no, is refused.
#[tokio::test]
async fn a_retry_revokes_the_kept_tokens_and_leaves_a_newer_session_alone() {
    let mut rp = signed_in("client_secret_post").await;
    let (first_access, first_refresh) = rp.issued();
    rp.emulator.faults().revocation_status = Some(503);
    assert_eq!(
        body_json(&rp.send("POST", "/api/auth/signout").await)["retry"],
        true
    );
    rp.emulator.faults().revocation_status = None;
    assert_eq!(location(&rp.sign_in().await), "/profile");
    let (second_access, second_refresh) = rp.issued();

    let retry = rp.send("POST", "/api/auth/signout?retry").await;
    assert_eq!(retry.status(), 200);
    assert_eq!(
        body_json(&retry),
        serde_json::json!({"retried": 1, "revoked": true, "retry": false, "signedIn": true})
    );
    assert!(!active(&rp, &first_access) && !active(&rp, &first_refresh));
    assert!(active(&rp, &second_access) && active(&rp, &second_refresh));
    assert!(pending_revocations(&rp).is_empty());
    let session = body_json(&rp.get("/api/auth/session").await);
    assert_eq!(
        session["user"]["sub"], DEMO_SUB,
        "still signed in: {session}"
    );

    let again = rp.send("POST", "/api/auth/signout?retry=true").await;
    assert_eq!(
        body_json(&again),
        serde_json::json!({"retried": 0, "revoked": true, "retry": false, "signedIn": true})
    );
    for refused in [
        "/api/auth/signout?retry&everywhere",
        "/api/auth/signout?retry=yes",
    ] {
        assert_eq!(rp.send("POST", refused).await.status(), 400, "{refused}");
    }
    assert!(active(&rp, &second_access), "no one signed out");
    assert_eq!(
        body_json(&rp.send("POST", "/api/auth/signout").await)["signedOut"],
        true
    );
    let signed_out = rp.send("POST", "/api/auth/signout?retry=1").await;
    assert_eq!(
        body_json(&signed_out),
        serde_json::json!({"retried": 0, "revoked": true, "retry": false, "signedIn": false})
    );
}

/// Two pending revocations, the provider back: one post retries both.
#[tokio::test]
async fn every_pending_revocation_is_retried() {
    let mut issued = Vec::new();
    let mut rp = signed_in("client_secret_post").await;
    rp.emulator.faults().revocation_status = Some(503);
    for _ in 0..2 {
        issued.push(rp.issued());
        assert_eq!(rp.send("POST", "/api/auth/signout").await.status(), 200);
        assert_eq!(location(&rp.sign_in().await), "/profile");
    }
    assert_eq!(rp.send("POST", "/api/auth/signout").await.status(), 200);
    issued.push(rp.issued());
    assert_eq!(pending_revocations(&rp).len(), 3);
    rp.emulator.faults().revocation_status = None;
    let retry = rp.send("POST", "/api/auth/signout").await;
    assert_eq!(body_json(&retry)["revoked"], true);
    for (access, refresh) in issued {
        assert!(!active(&rp, &access) && !active(&rp, &refresh));
    }
    assert!(pending_revocations(&rp).is_empty());
}

/// The browser after a sign-out that a refresh of the same session
/// crossed, the refresh's answer applied last: the new generation and the
/// sign-out's mark. Returns the rp, that jar, and the refresh's tokens
/// (still live: the sign-out's own revocation failed).
async fn signed_out_with_a_late_generation() -> (Rp, Jar, (String, String)) {
    let rp = signed_in("client_secret_post").await;
    rp.advance(3601);
    let old = rp.jar().clone();
    let refreshed = rp.send_with(&old, "GET", "/api/auth/session").await;
    let issued = rp.issued();
    rp.emulator.faults().revocation_status = Some(503);
    let signed_out = rp.send_with(&old, "POST", "/api/auth/signout").await;
    rp.emulator.faults().revocation_status = None;
    let mut jar = old;
    jar.store(signed_out.headers());
    jar.store(refreshed.headers());
    assert_eq!(jar.session_names().len(), 1);
    assert_eq!(jar.names(sign_in_with_vercel::ENDED_COOKIE).len(), 1);
    rp.clear_log();
    (rp, jar, issued)
}

/// `?retry` leaves alone the tokens of a session of the user signed in
/// now that a late refresh brought back after its sign-out, as a request's
/// check does: a provider may revoke all of a user's grants to the app at
/// once, the current one with them, and the retry promises to leave the
/// current session alone.
#[tokio::test]
async fn a_retry_leaves_the_current_users_other_sessions_alone() {
    let (mut rp, jar, (access, refresh)) = signed_out_with_a_late_generation().await;
    let late_cookies: Vec<String> = jar
        .session_names()
        .into_iter()
        .map(|name| format!("{name}={}; Path=/", jar.get(&name).unwrap()))
        .collect();
    *rp.jar_mut() = jar;
    assert_eq!(location(&rp.sign_in().await), "/profile");
    // The late refresh's answer lands after the new sign-in.
    for cookie in &late_cookies {
        rp.jar_mut().store_set_cookie(cookie);
    }
    assert_eq!(rp.jar().session_names().len(), 2);
    rp.clear_log();
    // The sign-out's own tokens, whose revocation failed, are retried;
    // the late generation's are not asked for (the emulator revokes a
    // whole grant with any of its tokens, so whether they are still
    // active says nothing here).
    let revoked = |rp: &Rp| -> Vec<String> {
        rp.sent_to("/login/oauth/token/revoke")
            .iter()
            .map(|sent| String::from_utf8_lossy(sent.body()).into_owned())
            .collect()
    };
    let late = |sent: &String| {
        sent.contains(&format!("token={access}")) || sent.contains(&format!("token={refresh}"))
    };
    let retry = body_json(&rp.send("POST", "/api/auth/signout?retry").await);
    assert_eq!(retry["retried"], 1, "{retry}");
    assert_eq!(retry["signedIn"], true, "{retry}");
    assert!(!revoked(&rp).iter().any(late), "{:?}", revoked(&rp));
    let who = body_json(&rp.get("/api/auth/session").await);
    assert_eq!(who["user"]["sub"], DEMO_SUB, "{who}");
}

/// Copies of the refused session under other names (someone replaying
/// cookies to have the app call the provider for them) are revoked once.
#[tokio::test]
async fn copies_of_a_marked_session_are_revoked_once() {
    let (rp, mut jar, (access, refresh)) = signed_out_with_a_late_generation().await;
    let name = jar.session_names().remove(0);
    let value = jar.get(&name).unwrap().to_owned();
    for i in 0..20 {
        jar.store_set_cookie(&format!("session.copy{i:02}.0={value}; Path=/"));
    }
    let who = rp.send_with(&jar, "GET", "/api/auth/session").await;
    assert_eq!(body_json(&who)["user"], serde_json::Value::Null);
    assert_eq!(
        rp.sent_to("/login/oauth/token/revoke").len(),
        2,
        "one session's access and refresh tokens"
    );
    assert!(!active(&rp, &access) && !active(&rp, &refresh));
}

/// A refused session whose revocation fails is kept for a retry, as a
/// sign-out's tokens are; the next sign-out revokes it.
#[tokio::test]
async fn a_marked_session_whose_revocation_fails_is_kept_for_a_retry() {
    let (rp, mut jar, (access, refresh)) = signed_out_with_a_late_generation().await;
    rp.emulator.faults().revocation_status = Some(503);
    let who = rp.send_with(&jar, "GET", "/api/auth/session").await;
    jar.store(who.headers());
    assert_no_session(&jar);
    assert_eq!(jar.names(sign_in_with_vercel::REVOCATION_COOKIE).len(), 2);
    rp.emulator.faults().revocation_status = None;
    let retry = rp.send_with(&jar, "POST", "/api/auth/signout").await;
    assert_eq!(
        body_json(&retry)["revoked"],
        true,
        "{}",
        String::from_utf8_lossy(retry.body())
    );
    assert!(!active(&rp, &access) && !active(&rp, &refresh));
}

/// A new sign-in keeps the marks of the sign-outs before it while a
/// refresh in flight at them could still land (fifteen minutes: a
/// protected function's handler can hold its answer that long), and
/// deletes them after.
#[tokio::test]
async fn a_new_sign_in_deletes_the_sign_outs_mark_once_no_refresh_can_meet_it() {
    let mut rp = signed_in("client_secret_post").await;
    let marks = |rp: &Rp| rp.jar().names(sign_in_with_vercel::ENDED_COOKIE).len();
    assert_eq!(rp.send("POST", "/api/auth/signout").await.status(), 200);
    assert_eq!(marks(&rp), 1);
    assert_eq!(location(&rp.sign_in().await), "/profile");
    assert_eq!(marks(&rp), 1);
    assert_eq!(rp.send("POST", "/api/auth/signout").await.status(), 200);
    rp.advance(15 * 60);
    assert_eq!(location(&rp.sign_in().await), "/profile");
    let old = rp.jar().names(sign_in_with_vercel::ENDED_COOKIE);
    assert_eq!(old.len(), 2, "fifteen minutes old: still kept");
    rp.advance(1);
    assert_eq!(location(&rp.sign_in().await), "/profile");
    // What is left is the mark of the session this sign-in replaced.
    let left = rp.jar().names(sign_in_with_vercel::ENDED_COOKIE);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(old.iter().all(|name| !left.contains(name)), "{left:?}");
    assert_eq!(
        body_json(&rp.get("/api/auth/session").await)["user"]["sub"],
        DEMO_SUB
    );
}

/// A slow network to the store: a TCP proxy to `port` whose
/// client-to-server bytes wait `delay` (when set) before they go on, in
/// order; `held` counts the writes it has held.
async fn slow_proxy(
    port: u16,
    delay: Arc<std::sync::Mutex<Option<Duration>>>,
    held: Arc<std::sync::atomic::AtomicUsize>,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let (mut from_client, mut to_client) = client.into_split();
            let (mut from_server, mut to_server) = server.into_split();
            let (delay, held) = (delay.clone(), held.clone());
            tokio::spawn(async move {
                let mut buf = vec![0; 16 * 1024];
                while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                    let wait = *delay.lock().unwrap();
                    if let Some(wait) = wait {
                        held.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        tokio::time::sleep(wait).await;
                    }
                    if to_server.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
            });
        }
    });
    url
}

/// In one instance (`cargo run`, or a function that answers both): a
/// session check already on its way to the store when the session is
/// signed out answers "not ended"; that answer must not be trusted for
/// the requests after the sign-out, which a copy of the cookie then makes.
#[tokio::test(flavor = "multi_thread")]
async fn a_check_in_flight_during_a_sign_out_is_not_trusted_after_it() {
    let redis = testkit::RedisServer::start();
    let delay = Arc::new(std::sync::Mutex::new(None));
    let held = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let url = slow_proxy(redis.port(), delay.clone(), held.clone()).await;
    let rp = signed_in("client_secret_post").await;
    let instance = Arc::new(rp.instance(&[("REDIS_URL", url.as_str())]));
    let copy = rp.jar().clone();
    let check = rp.request_with(&copy, "/api/auth/session");
    let warm = instance.dispatch(&check).unwrap().await;
    assert_eq!(body_json(&warm)["user"]["sub"], DEMO_SUB);
    // Past the second for which the instance trusts that answer.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // The check's question is held 120 ms on its way; the sign-out's
    // follows it on the instance's one connection (both answered well
    // inside the store's 500 ms round-trip budget).
    *delay.lock().unwrap() = Some(Duration::from_millis(120));
    let in_flight = {
        let (instance, check) = (instance.clone(), check.clone());
        tokio::spawn(async move { instance.dispatch(&check).unwrap().await })
    };
    let asked = std::time::Instant::now();
    while held.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "the check never asked"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let sign_out = rp.request("POST", "/api/auth/signout");
    assert_eq!(instance.dispatch(&sign_out).unwrap().await.status(), 200);
    let before = in_flight.await.unwrap();
    assert_eq!(body_json(&before)["user"]["sub"], DEMO_SUB, "asked before");
    *delay.lock().unwrap() = None;
    assert!(
        !redis.keys_of_kind("s").is_empty(),
        "the store took the sign-out"
    );

    let after = instance.dispatch(&check).unwrap().await;
    assert_eq!(body_json(&after)["user"], serde_json::Value::Null);
}

/// A store that refuses a command (here: scripts, to this user, by its
/// ACL) has answered: the instance keeps using it for everything else at
/// once, instead of leaving it alone as it does a store it cannot reach.
#[tokio::test]
async fn a_command_the_store_refuses_does_not_rest_it() {
    let (rp, redis, instance) = signed_in_with_store().await;
    let session = instance.session(&rp.request("GET", "/")).await.unwrap();
    let refused = redis.command("ACL SETUSER default -@scripting");
    assert_eq!(refused.as_deref(), Some("+OK"));
    assert_eq!(
        instance.sign_out_everywhere(&session).await.unwrap_err(),
        sign_in_with_vercel::Error::StoreUnavailable
    );
    signs_out_into_the_store(&rp, &instance, &redis).await;
}

/// A connection the store closed while the instance was idle (the store's
/// idle timeout, a proxy, a NAT while the instance was frozen) is opened
/// again for the next command, which the store then takes: no rest, no
/// outage logged, no sign-out missed.
#[tokio::test]
async fn a_connection_the_store_closed_is_opened_again() {
    let (rp, redis, instance) = signed_in_with_store().await;
    let held = instance.session(&rp.request("GET", "/")).await.unwrap();
    drop(held);
    let killed = redis.command("CLIENT KILL TYPE normal").unwrap_or_default();
    assert!(killed.starts_with(':') && killed != ":0", "{killed}");
    signs_out_into_the_store(&rp, &instance, &redis).await;
}

/// A full store (`maxmemory`, no eviction) refuses writes with `OOM`, and
/// still answers: it is not taken for an outage, so the write after it
/// reaches the store once it has room, with no five-second rest.
#[tokio::test]
async fn a_full_store_refusing_a_write_is_not_taken_for_an_outage() {
    let (rp, redis, instance) = signed_in_with_store().await;
    assert_eq!(
        redis.command("CONFIG SET maxmemory 1").as_deref(),
        Some("+OK")
    );
    let sign_out = rp.request("POST", "/api/auth/signout");
    assert_eq!(instance.dispatch(&sign_out).unwrap().await.status(), 200);
    assert!(
        redis.keys_of_kind("s").is_empty(),
        "refused: {:?}",
        redis.keys()
    );
    assert_eq!(
        redis.command("CONFIG SET maxmemory 0").as_deref(),
        Some("+OK")
    );
    signs_out_into_the_store(&rp, &instance, &redis).await;
}

/// A store whose handshake refuses the instance (its password rotated
/// while instances run: `WRONGPASS`, here to RESP3's `HELLO`, which the
/// client knows by no kind of its own) has not answered a command: it rests,
/// as a store that cannot be reached does, rather than every request
/// opening a connection that fails.
#[tokio::test]
async fn a_store_refusing_the_handshake_rests() {
    let redis = testkit::RedisServer::start();
    let user = "ACL SETUSER app on >old-password ~* +@all";
    assert_eq!(redis.command(user).as_deref(), Some("+OK"));
    let rp = signed_in("client_secret_post").await;
    let url = format!(
        "redis://app:old-password@127.0.0.1:{}/?protocol=resp3",
        redis.port()
    );
    let instance = rp.instance(&[("REDIS_URL", url.as_str())]);
    signs_out_into_the_store(&rp, &instance, &redis).await;
    let rotated = "ACL SETUSER app resetpass >new-password";
    assert_eq!(redis.command(rotated).as_deref(), Some("+OK"));
    assert_eq!(redis.command("CLIENT KILL USER app").as_deref(), Some(":1"));
    let accepted = || redis.stat("stats", "total_connections_received");
    let before = accepted();
    for _ in 0..4 {
        let sign_out = rp.request("POST", "/api/auth/signout");
        assert_eq!(instance.dispatch(&sign_out).unwrap().await.status(), 200);
    }
    // One refused handshake, then rest; and this question's connection.
    assert_eq!(accepted(), before + 2);
}

/// A refresh made while the store did not answer is published later, by a
/// task of the instance; the session signed out in that instance meanwhile
/// (its end not taken by the store, which did not answer) cancels it, so
/// that no copy of the older generation is handed the newer one.
#[tokio::test]
async fn a_sign_out_cancels_the_late_publication_of_its_refresh() {
    let (rp, redis, instance) = refreshed_while("CLIENT PAUSE 1500 ALL").await;
    let sign_out = rp.request("POST", "/api/auth/signout");
    assert_eq!(instance.dispatch(&sign_out).unwrap().await.status(), 200);
    // Past the pause, and past the times the task would have tried.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(redis.keys_of_kind("o").is_empty(), "{:?}", redis.keys());
}

/// A store that answers a refresh's late publication by refusing it (a
/// full database: `OOM`) is not asked again every second for fifteen
/// minutes: the refusal is its answer.
#[tokio::test]
async fn a_refused_late_publication_is_not_asked_again() {
    // The claim's SET is refused: the refresh is this instance's alone.
    let (_rp, redis, _instance) = refreshed_while("CONFIG SET maxmemory 1").await;
    // Refused commands are not "processed": their count is the `SET`'s own.
    let refused_sets = || {
        let set = testkit::info_field(&redis.info("commandstats"), "cmdstat_set");
        set.split(',')
            .find_map(|f| f.strip_prefix("rejected_calls=")?.parse::<u64>().ok())
            .expect("rejected_calls")
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = refused_sets();
    assert!(before >= 2, "the claim's and the publication's: {before}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(refused_sets(), before, "asked again");
}

/// A signed-in relying party through a store-sharing instance, whose
/// session is refreshed right after the store was given `command` (a pause,
/// a memory limit): the refresh is this instance's alone.
async fn refreshed_while(command: &str) -> (Rp, testkit::RedisServer, sign_in_with_vercel::Auth) {
    let (rp, redis, instance) = signed_in_with_store().await;
    rp.advance(3601);
    assert_eq!(redis.command(command).as_deref(), Some("+OK"));
    let refresh = rp.request("GET", "/api/auth/session");
    let refreshed = instance.dispatch(&refresh).unwrap().await;
    assert_eq!(body_json(&refreshed)["user"]["sub"], DEMO_SUB);
    (rp, redis, instance)
}

/// A store that became a replica (a failover moved the primary, and its
/// name with it) refuses writes with `READONLY`: the instance drops that
/// connection, so that its next command connects anew, rather than
/// writing to the replica for as long as it lives.
#[tokio::test]
async fn a_replicas_refusal_drops_the_connection() {
    let primary = testkit::RedisServer::start();
    let (rp, replica, instance) = signed_in_with_store().await;
    // Connections the replica has accepted, this question's own included.
    let accepted = || replica.stat("stats", "total_connections_received");
    let follow = format!("REPLICAOF 127.0.0.1 {}", primary.port());
    assert_eq!(replica.command(&follow).as_deref(), Some("+OK"));
    let linked = std::time::Instant::now();
    while !replica
        .info("replication")
        .contains("master_link_status:up")
    {
        assert!(
            linked.elapsed() < Duration::from_secs(10),
            "the replica never linked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let check = || async {
        let held = instance.session(&rp.request("GET", "/")).await.unwrap();
        drop(held);
    };
    // Reads still work on a replica: the instance's connection is open.
    check().await;
    let before = accepted();
    let sign_out = rp.request("POST", "/api/auth/signout");
    assert_eq!(instance.dispatch(&sign_out).unwrap().await.status(), 200);
    // Two seconds on, past the instance's memory of "not ended", the next
    // check asks the store again: on a new connection.
    rp.advance(2);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    check().await;
    assert_eq!(
        accepted(),
        before + 2,
        "a new connection, and this question's"
    );
    // The store answered: it does not rest. Made a primary again, it takes
    // the next sign-out at once.
    assert_eq!(replica.command("REPLICAOF NO ONE").as_deref(), Some("+OK"));
    signs_out_into_the_store(&rp, &instance, &replica).await;
}

/// A refresh made while the store was a replica (a failover under way:
/// `READONLY` to the claim and to the publication) is published once the
/// store takes writes again: a replica's refusal is no answer, as a store
/// that does not answer is none.
#[tokio::test]
async fn a_refresh_made_during_a_failover_is_published_once_the_store_takes_writes() {
    let primary = testkit::RedisServer::start();
    let follow = format!("REPLICAOF 127.0.0.1 {}", primary.port());
    let (_rp, replica, _instance) = refreshed_while(&follow).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(replica.keys_of_kind("o").is_empty(), "a replica took it");
    assert_eq!(replica.command("REPLICAOF NO ONE").as_deref(), Some("+OK"));
    replica
        .key_of_kind_within("o", Duration::from_secs(5), Duration::from_millis(100))
        .await;
}

/// With the store, a copy of a session that "sign out everywhere" ended
/// (a stolen cookie its owner meant to disarm) is refused when it asks to
/// sign out everywhere in turn: the owner's new session stands, however
/// often the copy asks.
#[tokio::test]
async fn a_copy_of_an_ended_session_cannot_sign_out_everywhere() {
    let (mut rp, redis) = signed_in_through_the_store().await;
    let copy = rp.jar().clone();
    let mark = signs_out_everywhere(&mut rp, &redis).await;
    rp.advance(1);
    assert_eq!(location(&rp.sign_in().await), "/profile");
    let held = number(&redis, &mark);
    for _ in 0..2 {
        let answer = rp
            .send_with(&copy, "POST", "/api/auth/signout?everywhere")
            .await;
        assert_eq!(answer.status(), 200);
        let body = body_json(&answer);
        assert_eq!(body["everywhere"], false, "{body}");
        assert_eq!(body["signedOut"], true, "{body}");
        let why = body["everywhereError"].as_str().unwrap_or_default();
        assert!(why.contains("already ended"), "{body}");
    }
    assert_eq!(number(&redis, &mark), held, "the mark moved");
    assert_eq!(
        body_json(&rp.get("/api/auth/session").await)["user"]["sub"],
        DEMO_SUB
    );
}

/// `everywhere` is read for its value: `=false` (or `0`) is this session
/// only, a value that is neither is refused and signs no one out, `=true`
/// (or `1`) is every session (bare `?everywhere` is the other tests').
#[tokio::test]
async fn the_everywhere_parameter_is_read_for_its_value() {
    let (mut rp, _redis) = signed_in_through_the_store().await;
    let who = |answer: http::Response<bytes::Bytes>| body_json(&answer)["user"]["sub"].clone();
    for refused in ["maybe", "yes", "False"] {
        let query = format!("/api/auth/signout?everywhere={refused}");
        assert_eq!(rp.send("POST", &query).await.status(), 400, "{refused}");
        assert_eq!(who(rp.get("/api/auth/session").await), DEMO_SUB);
    }
    for (only_here, everywhere) in [("false", "true"), ("0", "1")] {
        let laptop = two_sessions(&mut rp).await;
        let query = format!("/api/auth/signout?everywhere={only_here}");
        let body = body_json(&rp.send("POST", &query).await);
        assert_eq!(body["signedOut"], true, "{body}");
        assert_eq!(body.get("everywhere"), None, "{body}");
        let kept = who(rp.send_with(&laptop, "GET", "/api/auth/session").await);
        assert_eq!(kept, DEMO_SUB, "{only_here}");

        let laptop = two_sessions(&mut rp).await;
        let query = format!("/api/auth/signout?everywhere={everywhere}");
        let body = body_json(&rp.send("POST", &query).await);
        assert_eq!(body["everywhere"], true, "{body}");
        let ended = who(rp.send_with(&laptop, "GET", "/api/auth/session").await);
        assert_eq!(ended, serde_json::Value::Null, "{everywhere}");
    }
}

/// A second later, two browsers of the demo user sign in, each its own
/// session: the laptop's cookies are returned, the phone's are `rp`'s.
async fn two_sessions(rp: &mut Rp) -> Jar {
    rp.advance(1);
    *rp.jar_mut() = Jar::default();
    assert_eq!(location(&rp.sign_in().await), "/profile");
    let laptop = std::mem::take(rp.jar_mut());
    assert_eq!(location(&rp.sign_in().await), "/profile");
    laptop
}

/// Two "sign out everywhere" of one user that reach the store out of
/// order (an instance whose clock is behind, or one that took its time):
/// the later mark stands.
#[tokio::test]
async fn a_sign_out_everywhere_in_order_or_not_leaves_the_later_mark() {
    let (mut rp, redis) = signed_in_through_the_store().await;
    let mark = signs_out_everywhere(&mut rp, &redis).await;
    let read = || number(&redis, &mark);
    let first = read();
    // A sign-in 10 s later, and another instance's "sign out everywhere"
    // 2 s before it (its mark held), both in the clock of the app.
    rp.advance(10);
    assert_eq!(location(&rp.sign_in().await), "/profile");
    let held = first + 8_000;
    let set = redis.command(&format!("SET {mark} {held} KEEPTTL"));
    assert_eq!(set.as_deref(), Some("+OK"));
    // This instance's clock is 5 s behind: its mark would be earlier.
    rp.advance(-5);
    let answer = rp.send("POST", "/api/auth/signout?everywhere").await;
    assert_eq!(
        body_json(&answer)["everywhere"],
        true,
        "the session was live"
    );
    assert_eq!(read(), held, "the later mark stands");
}

/// A mark a few seconds ahead of this instance's clock (another
/// instance's, within the clocks' skew) is a real one: the session it ends
/// may not sign out everywhere. Only a mark beyond the skew is a clock
/// gone wrong.
#[tokio::test]
async fn a_mark_within_the_clocks_skew_still_ends_the_session() {
    let (mut rp, redis) = signed_in_through_the_store().await;
    let mark = signs_out_everywhere(&mut rp, &redis).await;
    rp.advance(10);
    assert_eq!(location(&rp.sign_in().await), "/profile");
    // Another instance, its clock 5 s ahead, signed the user out
    // everywhere just now: after this session began, in its time.
    let now = rp.clock.load(std::sync::atomic::Ordering::SeqCst);
    let ahead = (now + 5) * 1000;
    let set = redis.command(&format!("SET {mark} {ahead} KEEPTTL"));
    assert_eq!(set.as_deref(), Some("+OK"));
    let answer = rp.send("POST", "/api/auth/signout?everywhere").await;
    let body = body_json(&answer);
    assert_eq!(body["everywhere"], false, "{body}");
    assert_eq!(number(&redis, &mark), ahead, "the mark stands");
}

/// A handler holds a session while the user signs out everywhere (another
/// tab), then asks for a refresh (a REST call the provider refused): the
/// session is ended, so no token call is made, and no new tokens exist
/// that no cookie would keep.
#[tokio::test]
async fn a_session_ended_meanwhile_is_not_refreshed_on_demand() {
    let (rp, _redis, instance) = signed_in_with_store().await;
    let session = instance.session(&rp.request("GET", "/")).await.unwrap();
    instance.sign_out_everywhere(&session).await.unwrap();
    let calls = rp.sent_to("/login/oauth/token").len();
    assert_eq!(
        instance.refresh_session(&session).await.unwrap_err(),
        sign_in_with_vercel::Error::NotSignedIn
    );
    assert_eq!(
        rp.sent_to("/login/oauth/token").len(),
        calls,
        "no token call"
    );
}

/// A handler of `Auth::protect` whose own work outlasted the request's
/// deadline, then signs its user out everywhere: the store is still asked
/// (the call has a deadline of its own), not skipped as if it did not
/// answer, and the session is ended.
#[tokio::test]
async fn sign_out_everywhere_after_a_long_handler_has_its_own_deadline() {
    let (rp, _redis, instance) = signed_in_with_store().await;
    let request = rp.request("GET", "/");
    let answer: http::Response<bytes::Bytes> = instance
        .protect(&request, async |session| {
            // The handler's work: the request's deadline passes.
            tokio::time::pause();
            tokio::time::advance(sign_in_with_vercel::REQUEST_DEADLINE + Duration::from_secs(1))
                .await;
            tokio::time::resume();
            let status = match instance.sign_out_everywhere(&session).await {
                Ok(()) => 200,
                Err(_) => 503,
            };
            http::Response::builder()
                .status(status)
                .body(bytes::Bytes::new())
                .unwrap()
        })
        .await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        instance
            .session(&rp.request("GET", "/"))
            .await
            .unwrap_err()
            .error(),
        &sign_in_with_vercel::Error::NotSignedIn
    );
}

/// The number the store holds at `key` (`INCRBY 0` answers it and changes
/// nothing).
fn number(redis: &testkit::RedisServer, key: &str) -> i64 {
    redis
        .command(&format!("INCRBY {key} 0"))
        .and_then(|n| n.strip_prefix(':')?.parse().ok())
        .unwrap_or_else(|| panic!("{key}: no number"))
}

/// A signed-in relying party whose every request goes through an instance
/// sharing its sessions through a real `redis-server`.
async fn signed_in_through_the_store() -> (Rp, testkit::RedisServer) {
    let (mut rp, redis, instance) = signed_in_with_store().await;
    rp.replace_auth(instance);
    (rp, redis)
}

/// The browser signs out everywhere; the user's mark (milliseconds) it
/// leaves in the store, by its key.
async fn signs_out_everywhere(rp: &mut Rp, redis: &testkit::RedisServer) -> String {
    let answer = rp.send("POST", "/api/auth/signout?everywhere").await;
    assert_eq!(body_json(&answer)["everywhere"], true);
    let [mark] = <[String; 1]>::try_from(redis.keys_of_kind("e")).expect("one mark");
    mark
}
