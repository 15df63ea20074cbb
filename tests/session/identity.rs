//! Who is signed in costs no network: the session route, `Auth::session` and `Auth::protect`.

use super::*;

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
    assert_eq!(
        response.headers()[CACHE_CONTROL],
        "no-store",
        "a signed-in user's page is never left to shared caches"
    );
}

/// RFC 9111 §5.2.2.7: a CDN keys its cache without the `Cookie` header, so
/// a protected response it may store would reach the next visitor.
#[tokio::test]
async fn protect_keeps_a_private_answer_and_no_shared_caching() {
    let rp = signed_in("client_secret_post").await;
    for (said, sent) in [
        ("private, max-age=60", "private, max-age=60"),
        ("No-Store", "No-Store"),
        ("public, s-maxage=60", "no-store"),
        ("max-age=60", "no-store"),
        ("private=\"set-cookie\", max-age=60", "no-store"),
    ] {
        let response: http::Response<bytes::Bytes> = rp
            .auth
            .protect(&rp.request("GET", "/api/mine"), async |_| {
                http::Response::builder()
                    .header(CACHE_CONTROL, said)
                    .body(bytes::Bytes::from_static(b"ok"))
                    .unwrap()
            })
            .await;
        let cache_control: Vec<_> = response.headers().get_all(CACHE_CONTROL).iter().collect();
        assert_eq!(cache_control, [sent], "the handler said {said}");
        assert!(response.headers().get(SET_COOKIE).is_none());
    }
}

/// A request that changes things, sent by a page of another origin (a
/// sibling subdomain's, which `SameSite=Lax` lets the cookie ride on), is
/// refused before the handler runs; the app's own pages, a `GET` from
/// anywhere, and a client that names no origin (a script, curl) reach it.
#[tokio::test]
async fn protect_refuses_a_change_another_origin_asks_for() {
    let rp = signed_in("client_secret_post").await;
    let run = async |method: &str, headers: &[(&str, &str)]| {
        let mut request = rp.request(method, "/api/mine");
        for (name, value) in headers {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        let mut ran = false;
        let response: http::Response<bytes::Bytes> = rp
            .auth
            .protect(&request, async |_| {
                ran = true;
                http::Response::new(bytes::Bytes::new())
            })
            .await;
        (ran, response)
    };
    let sibling = [
        ("origin", "https://blog.localhost:3000"),
        ("sec-fetch-site", "same-site"),
    ];
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let (ran, response) = run(method, &sibling).await;
        assert!(!ran, "{method}");
        assert_eq!(response.status(), 403, "{method}");
        assert_eq!(body_json(&response)["error"], "cross_origin_request");
        let (ran, _) = run(method, &[("referer", "http://evil.example/page")]).await;
        assert!(!ran, "{method} with only a Referer");
    }
    let own = [
        ("origin", "http://localhost:3000"),
        ("sec-fetch-site", "same-origin"),
    ];
    for (method, headers) in [("POST", &own[..]), ("POST", &[][..]), ("GET", &sibling[..])] {
        let (ran, response) = run(method, headers).await;
        assert!(ran, "{method} {headers:?}");
        assert_eq!(response.status(), 200);
    }
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
            http::Response::builder()
                .header(CACHE_CONTROL, "public, s-maxage=60")
                .body(bytes::Bytes::from_static(b"ok"))
                .unwrap()
        })
        .await;
    let cache_control: Vec<_> = response.headers().get_all(CACHE_CONTROL).iter().collect();
    assert_eq!(
        cache_control,
        ["no-store"],
        "a session cookie is never cached"
    );
    let old = rp.jar().session_names();
    rp.jar_mut().store(response.headers());
    let new = rp.jar().session_names();
    assert_eq!(new.len(), 1);
    assert_ne!(old, new, "the refreshed session reached the browser");
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 1);
}

/// A signed-in user's page never reaches a CDN's cache through the fields
/// it reads before `Cache-Control` (RFC 9213; Vercel's CDN reads
/// `Vercel-CDN-Cache-Control`, then `CDN-Cache-Control`): they are removed,
/// with the session's cookies to set or without.
#[tokio::test]
async fn protect_removes_the_cache_controls_a_cdn_reads_first() {
    let rp = signed_in("client_secret_post").await;
    for refreshed in [false, true] {
        if refreshed {
            rp.advance(3600);
        }
        let response: http::Response<bytes::Bytes> = rp
            .auth
            .protect(&rp.request("GET", "/api/mine"), async |_| {
                http::Response::builder()
                    .header(CACHE_CONTROL, "private")
                    .header("CDN-Cache-Control", "max-age=60")
                    .header("Vercel-CDN-Cache-Control", "max-age=3600")
                    .header("Surrogate-Control", "max-age=60")
                    .body(bytes::Bytes::from_static(b"mine"))
                    .unwrap()
            })
            .await;
        let headers = response.headers();
        for name in [
            "cdn-cache-control",
            "vercel-cdn-cache-control",
            "surrogate-control",
        ] {
            assert!(
                headers.get(name).is_none(),
                "{name}, refreshed: {refreshed}"
            );
        }
        let expected = if refreshed { "no-store" } else { "private" };
        assert_eq!(headers.get(CACHE_CONTROL).unwrap(), expected);
        assert_eq!(headers.contains_key(SET_COOKIE), refreshed);
    }
}

#[tokio::test]
async fn an_access_token_longer_lived_than_the_session_policy_still_signs_in() {
    let mut rp = rp("client_secret_post");
    rp.emulator.set_access_token_ttl(31 * 24 * 3600);
    assert_eq!(location(&rp.sign_in().await), "/profile");
    let answer = rp.get("/api/auth/session").await;
    assert_eq!(body_json(&answer)["user"]["sub"], DEMO_SUB);
    assert!(
        answer.headers().get(SET_COOKIE).is_none(),
        "nothing deleted"
    );
}
