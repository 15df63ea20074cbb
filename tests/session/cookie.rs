//! The session is one sealed, host-only cookie: its attributes, what it hides, and what happens to cookies that were tampered with, truncated, sealed with another key, expired, planted or foreign; key rotation; chunking.

use super::*;

#[tokio::test]
async fn the_session_is_one_sealed_cookie() {
    let rp = signed_in("client_secret_post").await;
    let names = rp.jar().session_names();
    assert_eq!(names.len(), 1, "{:?}", rp.jar());
    assert!(names[0].starts_with("session.") && names[0].ends_with(".0"));
    assert!(
        rp.jar().flow_names().is_empty(),
        "the attempt's flow cookie is gone"
    );
    let value = rp.jar().get(&names[0]).unwrap();
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
    let rp = rp_with("client_secret_post", &[("AUTH_SECRET", AUTH_SECRET)]);
    let request = https_get("/api/auth/authorize", None);
    let answer = rp.auth.dispatch(&request).unwrap().await;
    let cookies = set_cookies(&answer);
    assert_eq!(cookies.len(), 1);
    assert!(cookies[0].starts_with("__Host-oauth_flow."), "{cookies:?}");
    assert!(cookies[0].contains("Secure") && cookies[0].contains("Path=/"));
}

/// Replaces the session cookie's value.
fn tamper(rp: &mut Rp, edit: impl Fn(&str) -> String) {
    let name = rp.jar().session_names().pop().unwrap();
    let value = edit(rp.jar().get(&name).unwrap());
    rp.jar_mut().set(&name, &value);
}

async fn signed_out_without_provider_calls(rp: &mut Rp) {
    for (method, path) in [
        ("GET", "/api/user-info"),
        ("GET", "/api/validate-token"),
        ("GET", "/api/auth/session"),
        ("POST", "/api/auth/signout"),
    ] {
        let jar = rp.jar().clone();
        let answer = rp.send_with(&jar, method, path).await;
        if path == "/api/auth/session" {
            assert_eq!(body_json(&answer)["user"], serde_json::Value::Null);
        } else {
            assert_eq!(answer.status(), 401, "{method} {path}");
            assert_eq!(body_json(&answer)["error"], "not_signed_in");
        }
        let mut after = jar.clone();
        after.store(answer.headers());
        // The bad cookie is cleared.
        testkit::assert_no_session(&after);
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
    rp.jar_mut().set(
        "session.forged.0",
        "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA",
    );
    signed_out_without_provider_calls(&mut rp).await;
}

#[tokio::test]
async fn session_sealed_with_an_unknown_key_means_signed_out() {
    let mut rp = signed_in("client_secret_post").await;
    rp.replace_auth(rp.instance(&[("AUTH_SECRET", "a-key-this-session-was-never-sealed-with")]));
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
            rp.jar().header().unwrap_or_default().into_bytes(),
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
    let start = rp
        .auth
        .dispatch(&foreign(&rp, "GET", "/api/auth/authorize"))
        .unwrap()
        .await;
    assert_eq!(start.status(), 302);
    rp.jar_mut().store(start.headers());
    let back = rp.consent(&location(&start), "allow");
    let callback = back.strip_prefix(APP).unwrap();
    let signed_in = rp
        .auth
        .dispatch(&foreign(&rp, "GET", callback))
        .unwrap()
        .await;
    assert_eq!(location(&signed_in), "/profile");
    rp.jar_mut().store(signed_in.headers());
    for path in ["/api/auth/session", "/api/user-info", "/api/validate-token"] {
        let answer = rp.auth.dispatch(&foreign(&rp, "GET", path)).unwrap().await;
        assert_eq!(answer.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn planted_duplicates_do_not_lock_the_user_out() {
    let rp = signed_in("client_secret_post").await;
    let name = rp.jar().session_names().pop().unwrap();
    // The same name again (a parent domain's copy), and another generation.
    let header = format!(
        "{}; {name}=planted; session.planted.0=garbage",
        rp.jar().header().unwrap()
    );
    for path in ["/api/auth/session", "/api/user-info"] {
        let request = http::Request::get(path)
            .header(HOST, "localhost:3000")
            .header("cookie", &header)
            .body(())
            .unwrap();
        let answer = rp.auth.dispatch(&request).unwrap().await;
        assert_eq!(answer.status(), 200, "{path}");
        assert!(
            set_cookies(&answer)
                .iter()
                .any(|c| c.starts_with("session.planted.0=;")),
            "the planted generation is deleted"
        );
    }
}

/// A function that answers signed-out visitors itself still deletes the
/// cookies the library found stale (`Rejection::finish`).
#[tokio::test]
async fn a_rejection_carries_its_cookie_deletions_onto_the_apps_own_answer() {
    let rp = rp("client_secret_post");
    let guest = || http::Response::new(bytes::Bytes::from_static(b"Hello, guest!"));
    let mut planted = testkit::Jar::default();
    planted.store_set_cookie("session.planted.0=garbage");
    let stale = rp
        .auth
        .session(&rp.request_with(&planted, "/"))
        .await
        .expect_err("no session");
    assert!(
        matches!(stale.error(), sign_in_with_vercel::Error::NotSignedIn),
        "{stale:?}"
    );
    let page = stale.finish(guest());
    assert_eq!(page.status(), 200);
    assert_eq!(page.body(), "Hello, guest!");
    assert!(
        set_cookies(&page)
            .iter()
            .any(|c| c.starts_with("session.planted.0=;")),
        "the stale cookie is deleted: {:?}",
        set_cookies(&page)
    );
    assert_eq!(page.headers()[CACHE_CONTROL], "no-store");
    // Nothing to delete: the app's answer as it was.
    let nothing = rp
        .auth
        .session(&rp.request_with(&testkit::Jar::default(), "/"))
        .await
        .expect_err("no session");
    let page = nothing.finish(guest());
    assert!(set_cookies(&page).is_empty());
    // Still kept from shared caches: the answer depends on the cookies.
    assert_eq!(page.headers()[CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn on_https_unprefixed_cookies_are_not_read() {
    // An AUTH_SECRET: off loopback, a key derived from the client secret is
    // refused, and the answer would say nothing about the cookies.
    let mut rp = rp_with("client_secret_post", &[("AUTH_SECRET", AUTH_SECRET)]);
    rp.sign_in().await;
    let name = rp.jar().session_names().pop().unwrap();
    let value = rp.jar().get(&name).unwrap().to_owned();
    let who = async |cookie: String| {
        let answer = rp
            .auth
            .dispatch(&https_get("/api/auth/session", Some(cookie)))
            .unwrap()
            .await;
        assert_eq!(answer.status(), 200);
        body_json(&answer)["user"]["sub"].clone()
    };
    // A sibling subdomain can set `session.*` for the parent domain, never
    // `__Host-session.*`: on https only the prefixed names count.
    assert_eq!(
        who(format!("{name}={value}")).await,
        serde_json::Value::Null
    );
    assert_eq!(who(format!("__Host-{name}={value}")).await, DEMO_SUB);
}

#[tokio::test]
async fn rotated_auth_secret_still_opens_old_sessions_and_reseals_them() {
    let old_key = "the-old-auth-secret-0123456789abcdef012";
    let new_key = "the-new-auth-secret-0123456789abcdef012";
    let mut rp = rp_with("client_secret_post", &[("AUTH_SECRET", old_key)]);
    rp.sign_in().await;
    let before = rp.jar().session_names();
    rp.replace_auth(rp.instance(&[("AUTH_SECRET", &format!("{new_key},{old_key}"))]));
    let answer = rp.get("/api/auth/session").await;
    assert_eq!(body_json(&answer)["user"]["sub"], DEMO_SUB);
    let after = rp.jar().session_names();
    assert_eq!(after.len(), 1);
    assert_ne!(before, after, "resealed with the new key");
    // The old key can now be retired.
    rp.replace_auth(rp.instance(&[("AUTH_SECRET", new_key)]));
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
    rp.replace_auth(rp.instance(&[("VERCEL_APP_TOKEN_AUTH", "client_secret_basic")]));
    assert_eq!(
        body_json(&rp.get("/api/auth/session").await)["user"]["sub"],
        DEMO_SUB
    );
}

#[tokio::test]
async fn a_session_too_large_for_one_cookie_is_split_and_read_back() {
    let mut rp = rp("client_secret_post");
    // Every profile claim as long as the session keeps it (the name past
    // it, cut): more than one cookie holds.
    let long_name = "N".repeat(6000);
    let name = long_name.clone();
    rp.emulator.faults().id_token_claims = Some(Arc::new(move |c| {
        c.insert("name".into(), serde_json::json!(name));
        c.insert(
            "email".into(),
            serde_json::json!(format!("{}@example.com", "e".repeat(500))),
        );
        c.insert(
            "preferred_username".into(),
            serde_json::json!("u".repeat(512)),
        );
        c.insert(
            "picture".into(),
            serde_json::json!(format!("https://img.example/{}", "p".repeat(2000))),
        );
    }));
    rp.sign_in().await;
    let names = rp.jar().session_names();
    assert!(names.len() >= 2, "split in chunks: {names:?}");
    for name in &names {
        assert!(
            rp.jar().get(name).unwrap().len() <= 3800,
            "each chunk fits a cookie"
        );
    }
    let answer = rp.get("/api/auth/session").await;
    assert_eq!(body_json(&answer)["user"]["name"], &long_name[..512]);
    assert_eq!(
        body_json(&answer)["user"]["preferred_username"],
        "u".repeat(512)
    );
}

#[tokio::test]
async fn off_loopback_a_key_derived_from_the_client_secret_is_refused() {
    // No AUTH_SECRET: the session key comes from the client secret, which
    // a developer's own machine may use, and no deployed app.
    let rp = rp("client_secret_post");
    let request = https_get("/api/auth/authorize", None);
    let answer = rp.auth.dispatch(&request).unwrap().await;
    assert_eq!(location(&answer), "/auth/error?error=configuration");
    assert!(set_cookies(&answer).is_empty());
    let request = https_get("/api/auth/session", None);
    let answer = rp.auth.dispatch(&request).unwrap().await;
    assert_eq!(answer.status(), 500);
    assert_eq!(body_json(&answer)["error"], "configuration");
    // On loopback the same configuration works.
    let mut rp = rp;
    assert_eq!(location(&rp.sign_in().await), "/profile");
}

/// The access token's life counts from before the token call, not from
/// its answer: a slow exchange (the clock moves 30 s between the
/// provider's handling of the call and its answer) does not make the
/// session believe the token lives longer than it does.
#[tokio::test]
async fn the_access_tokens_life_counts_from_before_the_token_call() {
    use std::sync::atomic::Ordering::SeqCst;
    let mut rp = rp("client_secret_post");
    let before = rp.clock.load(SeqCst);
    let callback = rp.authorize_and_consent().await;
    *rp.recorder.token_call_takes.lock().unwrap() = Some((rp.clock.clone(), 30));
    assert_eq!(location(&rp.get(&callback).await), "/profile");
    assert_eq!(rp.clock.load(SeqCst), before + 30, "the call took 30 s");
    let session = rp.auth.session(&rp.request("GET", "/")).await.unwrap();
    assert_eq!(session.signed_in_at(), before);
    assert_eq!(session.access_token_expires_at(), before + 3600);

    // A refresh alike.
    rp.advance(3600 - 60 - 30);
    let asked = rp.clock.load(SeqCst);
    let refreshed = rp.get("/api/auth/session").await;
    assert_eq!(body_json(&refreshed)["user"]["sub"], DEMO_SUB);
    assert_eq!(rp.clock.load(SeqCst), asked + 30, "the refresh took 30 s");
    let session = rp.auth.session(&rp.request("GET", "/")).await.unwrap();
    assert_eq!(session.access_token_expires_at(), asked + 3600);
}
