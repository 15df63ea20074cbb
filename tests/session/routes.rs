//! The routes that ask the provider (user-info, validate-token), methods, unknown paths, and hostile input.

use super::*;

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
    let (access, refresh) = rp.issued();
    let copy = rp.jar().clone();
    rp.emulator.faults().userinfo_sub = Some("usr_someone_else".into());
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 401);
    let body = body_json(&answer);
    assert_eq!(body["error"], "subject_mismatch");
    assert!(body.get("userInfo").is_none());
    // The session ended, and its tokens, which no cookie holds any more,
    // are revoked: a copy of the cookie refreshes nothing.
    testkit::assert_no_session(rp.jar());
    assert!(!active(&rp, &access) && !active(&rp, &refresh));
    rp.emulator.faults().userinfo_sub = None;
    rp.advance(3601);
    rp.clear_log();
    let later = rp.send_with(&copy, "GET", "/api/user-info").await;
    assert_eq!(later.status(), 409, "{:?}", later.body());
    assert_eq!(body_json(&later)["error"], "session_refresh_conflict");
    let refreshes = rp.sent_to("/login/oauth/token");
    assert_eq!(refreshes.len(), 1, "one refresh, refused");
    assert!(rp.sent_to("/login/oauth/userinfo").is_empty());
}

/// The same while the provider cannot revoke: the tokens are kept,
/// sealed, and the browser's next sign-out revokes them.
#[tokio::test]
async fn tokens_of_a_userinfo_mismatch_left_unrevoked_go_with_the_next_sign_out() {
    let mut rp = signed_in("client_secret_post").await;
    let (access, refresh) = rp.issued();
    rp.emulator.faults().userinfo_sub = Some("usr_someone_else".into());
    rp.emulator.faults().revocation_status = Some(503);
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 401);
    assert!(active(&rp, &access), "the provider could not revoke");
    let kept = rp.jar().names(sign_in_with_vercel::REVOCATION_COOKIE).len();
    assert_eq!(kept, 1, "the tokens kept for a retry");
    {
        let mut faults = rp.emulator.faults();
        faults.userinfo_sub = None;
        faults.revocation_status = None;
    }
    assert_eq!(location(&rp.sign_in().await), "/profile");
    assert!(
        active(&rp, &access) && active(&rp, &refresh),
        "the sign-in revoked nothing"
    );
    assert_eq!(rp.send("POST", "/api/auth/signout").await.status(), 200);
    assert!(!active(&rp, &access) && !active(&rp, &refresh));
}

/// Introspection that names another user: an error, not data, and, as
/// for userinfo, the session ends and its tokens are revoked.
#[tokio::test]
async fn an_introspection_about_another_user_ends_the_session() {
    let mut rp = signed_in("client_secret_post").await;
    let (access, refresh) = rp.issued();
    rp.emulator.faults().introspection_sub = Some("usr_someone_else".into());
    let answer = rp.get("/api/validate-token").await;
    assert_eq!(answer.status(), 401);
    let body = body_json(&answer);
    assert_eq!(body["error"], "subject_mismatch");
    assert!(body.get("tokenInfo").is_none());
    testkit::assert_no_session(rp.jar());
    rp.emulator.faults().introspection_sub = None;
    assert!(!active(&rp, &access) && !active(&rp, &refresh));
}

/// An access token the provider refuses before its time (revoked alone,
/// or a life shorter than `expires_in` said), at userinfo (401) or at
/// introspection (`active: false`), while the refresh token lives: the
/// session is refreshed once and the question asked again with the new
/// token, which the provider takes; the session goes on in the new
/// generation (RFC 6750 §3.1, RFC 6749 §6).
#[tokio::test]
async fn an_access_token_refused_early_is_refreshed_once_and_asked_again() {
    for path in ["/api/user-info", "/api/validate-token"] {
        let mut rp = signed_in("client_secret_post").await;
        let (access, refresh) = rp.issued();
        let before = rp.jar().session_names();
        let calls = rp.sent_to("/login/oauth/token").len();
        rp.emulator.expire_access_token(&access);
        let answer = rp.get(path).await;
        assert_eq!(answer.status(), 200, "{path}: {}", body_json(&answer));
        let body = body_json(&answer);
        let answered = match path {
            "/api/user-info" => body["userInfo"]["sub"] == DEMO_SUB,
            _ => body["tokenInfo"]["active"] == true,
        };
        assert!(answered, "{path}: {body}");
        assert_eq!(
            rp.sent_to("/login/oauth/token").len(),
            calls + 1,
            "{path}: one refresh"
        );
        let (new_access, _) = rp.issued();
        assert_ne!(new_access, access, "{path}");
        assert!(
            !active(&rp, &refresh),
            "{path}: the old refresh token is spent"
        );
        let after = rp.jar().session_names();
        assert!(
            !after.is_empty() && after != before,
            "{path}: a new generation: {before:?} -> {after:?}"
        );
        assert_eq!(
            body_json(&rp.get("/api/auth/session").await)["user"]["sub"],
            DEMO_SUB
        );
    }
}

/// The provider refuses the access token, and the refreshed one too: the
/// session ends, and the tokens of the refresh, which no cookie holds any
/// more, are revoked rather than left valid for their thirty days.
#[tokio::test]
async fn a_token_refused_again_after_its_refresh_ends_the_session_and_is_revoked() {
    for (path, endpoint, status, body) in [
        ("/api/user-info", "/login/oauth/userinfo", 401, ""),
        (
            "/api/validate-token",
            "/login/oauth/token/introspect",
            200,
            r#"{"active":false}"#,
        ),
    ] {
        let mut rp = signed_in("client_secret_post").await;
        let calls = rp.sent_to("/login/oauth/token").len();
        *rp.recorder.answer_path.lock().unwrap() = Some((endpoint.into(), status, body.into()));
        let answer = rp.get(path).await;
        assert_eq!(answer.status(), 401, "{path}");
        assert_eq!(body_json(&answer)["error"], "token_inactive", "{path}");
        assert_eq!(rp.sent_to(endpoint).len(), 2, "{path}: asked twice");
        assert_eq!(
            rp.sent_to("/login/oauth/token").len(),
            calls + 1,
            "{path}: one refresh"
        );
        testkit::assert_no_session(rp.jar());
        let (access, refresh) = rp.issued();
        assert!(
            !active(&rp, &access) && !active(&rp, &refresh),
            "{path}: the refreshed tokens were left valid"
        );
    }
}

/// A refused access token without a refresh token (a grant without
/// `offline_access`): nothing to refresh, the session ends at once and the
/// access token is revoked.
#[tokio::test]
async fn a_refused_token_without_a_refresh_token_ends_the_session_at_once() {
    let mut rp = rp("client_secret_post");
    let mut client = client("client_secret_post");
    client.scopes.retain(|s| s != "offline_access");
    rp.emulator.register_client(client);
    assert_eq!(location(&rp.sign_in().await), "/profile");
    rp.clear_log();
    *rp.recorder.answer_path.lock().unwrap() =
        Some(("/login/oauth/userinfo".into(), 401, String::new()));
    let answer = rp.get("/api/user-info").await;
    assert_eq!(answer.status(), 401);
    assert_eq!(body_json(&answer)["error"], "token_inactive");
    assert!(rp.sent_to("/login/oauth/token").is_empty(), "no refresh");
    testkit::assert_no_session(rp.jar());
    assert_eq!(rp.sent_to("/login/oauth/token/revoke").len(), 1);
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
        let path = route.path(rp.auth.paths()).to_owned();
        let answer = rp.send(wrong, &path).await;
        assert_eq!(answer.status(), 405, "{path}");
        assert_eq!(answer.headers()["allow"], "GET");
    }
}

#[tokio::test]
async fn unknown_api_paths_are_404() {
    let rp = rp("client_secret_post");
    let answer = rp
        .auth
        .dispatch(&rp.request("GET", "/api/nope"))
        .unwrap()
        .await;
    assert_eq!(answer.status(), 404);
    assert!(rp.auth.dispatch(&rp.request("GET", "/profile")).is_none());
}

#[tokio::test]
async fn hostile_requests_never_crash_a_route() {
    let rp = signed_in("client_secret_post").await;
    let cookie = rp.jar().header().unwrap();
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
                let answer = rp.auth.dispatch(&request).unwrap().await;
                assert!(
                    answer.status().as_u16() < 500,
                    "{method} {path} {c:?}: {}",
                    answer.status()
                );
            }
        }
    }
}

/// The routes that act with the user's tokens on a `GET` (each may
/// refresh them, end the session, or call the provider) answer only their
/// own origin's pages: a page of another origin, a sibling subdomain's
/// included (`SameSite=Lax` sends it the cookie), gets a 403 and makes no
/// provider call (the browser-based apps BCP's same-site request
/// forgery); the app's pages, a typed URL and a client without a
/// browser's headers are answered.
#[tokio::test]
async fn the_token_routes_answer_only_their_own_origins_pages() {
    let page = format!("{APP}/profile");
    for path in ["/api/auth/session", "/api/user-info", "/api/validate-token"] {
        for (headers, refused) in [
            (&[("sec-fetch-site", "cross-site")][..], true),
            (&[("sec-fetch-site", "same-site")], true),
            (&[("origin", "https://evil.example")], true),
            (&[("referer", "https://blog.example/post")], true),
            (&[], false),
            (&[("sec-fetch-site", "same-origin")], false),
            (&[("sec-fetch-site", "none")], false),
            (&[("origin", APP)], false),
            (&[("referer", page.as_str())], false),
        ] {
            let rp = signed_in("client_secret_post").await;
            let calls = provider_calls(&rp);
            let mut request = rp.request("GET", path);
            for (name, value) in headers {
                request.headers_mut().insert(*name, value.parse().unwrap());
            }
            let answer = rp.auth.dispatch(&request).unwrap().await;
            if refused {
                assert_eq!(answer.status(), 403, "{path} {headers:?}");
                assert_eq!(body_json(&answer)["error"], "cross_origin_request");
                assert_eq!(provider_calls(&rp), calls, "{path} {headers:?}");
                assert!(answer.headers().get("set-cookie").is_none());
            } else {
                assert_eq!(answer.status(), 200, "{path} {headers:?}");
            }
        }
    }
}
