//! The sign-in (authorize + callback) against the in-process emulator:
//! one test per behaviour, named for it.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::header::{CACHE_CONTROL, HOST, REFERRER_POLICY};
use sign_in_with_vercel::{Auth, BoxFuture, HttpClient, HttpRequest, HttpResponse, TransportError};
use support::*;

/// Runs `request` through the route its path names.
async fn route(auth: &Auth, request: &http::Request<()>) -> http::Response<bytes::Bytes> {
    auth.dispatch(request).unwrap().await
}

fn assert_error_page(response: &http::Response<bytes::Bytes>, code: &str) {
    assert_eq!(response.status(), 302);
    assert_eq!(location(response), format!("/auth/error?error={code}"));
}

fn assert_no_session(rp: &Rp) {
    testkit::assert_no_session(rp.jar());
}

#[tokio::test]
async fn whole_flow_signs_in_and_redirects_to_profile() {
    let mut rp = rp("client_secret_post");
    let done = rp.sign_in().await;
    assert_eq!(done.status(), 302);
    assert_eq!(location(&done), "/profile");
    assert_eq!(rp.jar().session_names().len(), 1);
    let session = rp.auth.session(&rp.request("GET", "/")).await.unwrap();
    assert_eq!(session.sub(), "usr_demo1234567890");
    assert!(session.access_token().secret().starts_with("vca_"));
    assert!(rp.jar().flow_names().is_empty(), "flow cookie cleared");
}

#[tokio::test]
async fn session_cookie_is_http_only_lax_for_the_refresh_token_lifetime() {
    let mut rp = rp("client_secret_post");
    let done = rp.sign_in().await;
    let cookies = set_cookies(&done);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("session.") && !c.contains("Max-Age=0"))
        .unwrap();
    assert!(
        session.contains("Max-Age=2592000")
            && session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("oauth_flow.") && c.contains("Max-Age=0"))
    );
}

#[tokio::test]
async fn without_offline_access_the_session_lives_as_long_as_the_access_token() {
    let mut rp = rp("client_secret_post");
    let mut client = client("client_secret_post");
    client.scopes.retain(|s| s != "offline_access");
    rp.emulator.register_client(client);
    let done = rp.sign_in().await;
    let session = set_cookies(&done)
        .into_iter()
        .find(|c| c.starts_with("session.") && !c.contains("Max-Age=0"))
        .unwrap();
    assert!(session.contains("Max-Age=3600"), "{session}");
}

#[tokio::test]
async fn two_tabs_signing_in_at_once_both_complete_in_either_order() {
    for first_tab_first in [true, false] {
        let mut rp = rp("client_secret_post");
        let tab_a = rp.authorize_and_consent().await;
        let tab_b = rp.authorize_and_consent().await;
        assert_eq!(
            rp.jar().flow_names().len(),
            2,
            "one flow cookie per attempt"
        );
        let (first, second) = if first_tab_first {
            (tab_a, tab_b)
        } else {
            (tab_b, tab_a)
        };
        assert_eq!(location(&rp.get(&first).await), "/profile");
        assert_eq!(
            rp.jar().flow_names().len(),
            1,
            "the callback cleared only its own attempt"
        );
        assert_eq!(location(&rp.get(&second).await), "/profile");
        assert!(rp.jar().flow_names().is_empty());
        assert_eq!(rp.jar().session_names().len(), 1, "one session");
        assert_eq!(rp.get("/api/user-info").await.status(), 200);
    }
}

#[tokio::test]
async fn the_number_of_open_attempts_is_bounded() {
    let mut rp = rp("client_secret_post");
    for _ in 0..sign_in_with_vercel::MAX_FLOWS + 3 {
        rp.get("/api/auth/authorize").await;
    }
    assert_eq!(rp.jar().flow_names().len(), sign_in_with_vercel::MAX_FLOWS);
}

#[tokio::test]
async fn a_new_sign_in_replaces_the_previous_session() {
    let mut rp = rp("client_secret_post");
    rp.sign_in().await;
    let first = rp.jar().session_names();
    rp.sign_in().await;
    let second = rp.jar().session_names();
    assert_eq!(second.len(), 1);
    assert_ne!(first, second);
}

#[tokio::test]
async fn authorize_redirects_with_pkce_state_nonce_and_sets_flow_cookie() {
    let mut rp = rp("client_secret_post");
    let start = rp.get("/api/auth/authorize").await;
    assert_eq!(start.status(), 302);
    assert_eq!(start.headers()[CACHE_CONTROL], "no-store");
    let url = url::Url::parse(&location(&start)).unwrap();
    assert_eq!(
        url.as_str().split('?').next().unwrap(),
        format!("{ISSUER}/oauth/authorize")
    );
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], format!("{APP}/api/auth/callback"));
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], sign_in_with_vercel::SCOPES.join(" "));
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert_eq!(q["state"].len(), 43);
    assert_eq!(q["nonce"].len(), 43);
    let cookie = set_cookies(&start).pop().unwrap();
    assert!(cookie.starts_with("oauth_flow."));
    assert!(
        cookie.contains("Max-Age=600")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
    );
}

#[tokio::test]
async fn authorize_over_https_uses_a_secure_host_prefixed_flow_cookie() {
    let rp = rp_with("client_secret_post", &[("AUTH_SECRET", AUTH_SECRET)]);
    let request = http::Request::get("/api/auth/authorize")
        .header(HOST, "127.0.0.1:3000")
        .header("x-forwarded-host", "app.example.com")
        .header("x-forwarded-proto", "https")
        .body(())
        .unwrap();
    let start = route(&rp.auth, &request).await;
    let cookie = set_cookies(&start).pop().unwrap();
    assert!(cookie.starts_with("__Host-oauth_flow."), "{cookie}");
    assert!(cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"));
    assert!(
        location(&start)
            .contains("redirect_uri=https%3A%2F%2Fapp.example.com%2Fapi%2Fauth%2Fcallback")
    );
}

#[tokio::test]
async fn each_authorize_makes_fresh_secrets() {
    let mut rp = rp("client_secret_post");
    let a = location(&rp.get("/api/auth/authorize").await);
    let b = location(&rp.get("/api/auth/authorize").await);
    let params = |u: &str| -> std::collections::HashMap<String, String> {
        url::Url::parse(u)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect()
    };
    for name in ["state", "nonce", "code_challenge"] {
        assert_ne!(params(&a)[name], params(&b)[name], "{name}");
    }
}

#[tokio::test]
async fn sign_in_returns_to_a_same_origin_next_path() {
    let mut rp = rp("client_secret_post");
    let start = rp
        .get("/api/auth/authorize?next=%2Fdashboard%3Ftab%3D2")
        .await;
    let back = rp.consent(&location(&start), "allow");
    let done = rp.get(back.strip_prefix(APP).unwrap()).await;
    assert_eq!(location(&done), "/dashboard?tab=2");
}

#[tokio::test]
async fn open_redirect_variants_of_next_fall_back_to_profile() {
    for next in [
        "%2F%2Fevil.com",
        "%2F%5Cevil.com",
        "https%3A%2F%2Fevil.com",
        "%2F%252F%252Fevil.com",
        "%2F%09%2Fevil.com",
        "javascript%3Aalert(1)",
        "evil.com",
        "%5C%5Cevil.com",
        // Dot segments the browser would remove, leaving `//evil.example`.
        "%2F.%2F%2Fevil.example",
        "%2Fa%2F..%2F%2Fevil.example",
        "%2F%252e%2F%2Fevil.example",
        "%2Fa%2F%252E%252E%2F%2Fevil.example",
    ] {
        let mut rp = rp("client_secret_post");
        let start = rp.get(&format!("/api/auth/authorize?next={next}")).await;
        let back = rp.consent(&location(&start), "allow");
        let done = rp.get(back.strip_prefix(APP).unwrap()).await;
        assert_eq!(location(&done), "/profile", "next={next}");
    }
}

#[tokio::test]
async fn cancel_on_the_consent_page_shows_access_denied() {
    let mut rp = rp("client_secret_post");
    let start = rp.get("/api/auth/authorize").await;
    let back = rp.consent(&location(&start), "cancel");
    assert!(back.contains("error=access_denied"));
    let done = rp.get(back.strip_prefix(APP).unwrap()).await;
    assert_error_page(&done, "access_denied");
    assert_no_session(&rp);
    assert!(rp.jar().flow_names().is_empty());
}

#[tokio::test]
async fn callback_without_flow_cookie_is_an_error() {
    let mut rp = rp("client_secret_post");
    let callback = rp.authorize_and_consent().await;
    *rp.jar_mut() = Jar::default();
    let done = rp.get(&callback).await;
    assert_error_page(&done, "sign_in_expired");
    assert_no_session(&rp);
    assert!(rp.sent_to("/token").is_empty(), "no code exchange");
}

#[tokio::test]
async fn callback_after_ten_minutes_is_an_expired_attempt() {
    let mut rp = rp("client_secret_post");
    let callback = rp.authorize_and_consent().await;
    rp.advance(601);
    assert_error_page(&rp.get(&callback).await, "sign_in_expired");
    assert_no_session(&rp);
}

#[tokio::test]
async fn callback_with_state_mismatch_is_an_error() {
    let mut rp = rp("client_secret_post");
    let callback = rp.authorize_and_consent().await;
    let tampered = callback.replace("state=", "state=x");
    let done = rp.get(&tampered).await;
    assert_error_page(&done, "invalid_state");
    assert_no_session(&rp);
    assert_eq!(
        rp.jar().flow_names().len(),
        1,
        "another attempt's cookie is not this callback's to clear"
    );
}

#[tokio::test]
async fn callback_without_state_is_an_error() {
    let mut rp = rp("client_secret_post");
    let callback = rp.authorize_and_consent().await;
    let url = url::Url::parse(&format!("{APP}{callback}")).unwrap();
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let done = rp.get(&format!("/api/auth/callback?code={code}")).await;
    assert_error_page(&done, "invalid_state");
}

#[tokio::test]
async fn callback_with_wrong_iss_is_an_error() {
    let mut rp = rp("client_secret_post");
    // Vercel sends no `iss`; the emulator does when told to (RFC 9207).
    rp.emulator.set_authorization_response_iss(true);
    let callback = rp.authorize_and_consent().await;
    let tampered = callback.replace(
        "iss=http%3A%2F%2F127.0.0.1%3A3001",
        "iss=https%3A%2F%2Fevil.example",
    );
    assert_ne!(tampered, callback);
    assert_error_page(&rp.get(&tampered).await, "invalid_response");
}

#[tokio::test]
async fn callback_without_iss_is_refused_when_the_provider_promises_it() {
    let mut rp = rp("client_secret_post");
    rp.emulator.set_authorization_response_iss(true);
    let callback = rp.authorize_and_consent().await;
    let stripped = callback.replace("&iss=http%3A%2F%2F127.0.0.1%3A3001", "");
    assert_ne!(stripped, callback);
    assert_error_page(&rp.get(&stripped).await, "invalid_response");
}

#[tokio::test]
async fn callback_with_repeated_parameters_is_a_bad_request() {
    let mut rp = rp("client_secret_post");
    let callback = rp.authorize_and_consent().await;
    let repeated = format!("{callback}&code=second");
    assert_error_page(&rp.get(&repeated).await, "invalid_request");
    assert_no_session(&rp);
}

#[tokio::test]
async fn callback_with_huge_parameter_is_a_bad_request() {
    let mut rp = rp("client_secret_post");
    let callback = rp.authorize_and_consent().await;
    let huge = format!("{callback}&state2={}", "a".repeat(10_000));
    assert_error_page(&rp.get(&huge).await, "invalid_request");
}

#[tokio::test]
async fn callback_with_tampered_flow_cookie_is_an_error() {
    let mut rp = rp("client_secret_post");
    let callback = rp.authorize_and_consent().await;
    let name = rp.jar().flow_names().pop().unwrap();
    let flow = rp.jar().get(&name).unwrap().to_owned();
    rp.jar_mut()
        .set(&name, &format!("{}A", &flow[..flow.len() - 4]));
    assert_error_page(&rp.get(&callback).await, "invalid_state");
    assert_no_session(&rp);
}

#[tokio::test]
async fn callback_with_a_foreign_non_utf8_cookie_still_signs_in() {
    let mut rp = rp("client_secret_post");
    let callback = rp.authorize_and_consent().await;
    let cookies = [
        b"other=\xff\xfe; ".to_vec(),
        rp.jar().header().unwrap().into_bytes(),
    ]
    .concat();
    let request = http::Request::get(callback)
        .header(HOST, "localhost:3000")
        .header("cookie", http::HeaderValue::from_bytes(&cookies).unwrap())
        .body(())
        .unwrap();
    let done = route(&rp.auth, &request).await;
    assert_eq!(location(&done), "/profile");
}

#[tokio::test]
async fn callback_responses_are_no_store_and_no_referrer() {
    let mut rp = rp("client_secret_post");
    let ok = rp.sign_in().await;
    assert_eq!(ok.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(ok.headers()[REFERRER_POLICY], "no-referrer");
    let failed = rp.get("/api/auth/callback?code=x&state=y").await;
    assert_eq!(failed.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(failed.headers()[REFERRER_POLICY], "no-referrer");
}

#[tokio::test]
async fn a_code_is_exchanged_once() {
    let mut rp = rp("client_secret_post");
    let callback = rp.authorize_and_consent().await;
    let jar_before = rp.jar().clone();
    assert_eq!(location(&rp.get(&callback).await), "/profile");
    *rp.jar_mut() = jar_before;
    assert_error_page(&rp.get(&callback).await, "token_rejected");
    assert_no_session(&rp);
}

#[tokio::test]
async fn token_endpoint_error_is_an_error_page() {
    let mut rp = rp("client_secret_post");
    rp.emulator.faults().token_response = Some((
        400,
        r#"{"error":"invalid_grant","error_description":"expired"}"#.into(),
    ));
    assert_error_page(&rp.sign_in().await, "token_rejected");
    assert_no_session(&rp);
}

#[tokio::test]
async fn token_endpoint_5xx_is_provider_unavailable() {
    let mut rp = rp("client_secret_post");
    rp.emulator.faults().token_response = Some((503, "<html>down</html>".into()));
    assert_error_page(&rp.sign_in().await, "provider_unavailable");
}

#[tokio::test]
async fn malformed_token_response_is_provider_unavailable() {
    let mut rp = rp("client_secret_post");
    rp.emulator.faults().token_response = Some((200, r#"{"access_token": 5}"#.into()));
    assert_error_page(&rp.sign_in().await, "provider_unavailable");
}

/// No ID token (the app's settings do not grant `openid`): refused, and
/// said to be the app's configuration, not a token that failed a check.
#[tokio::test]
async fn token_response_without_id_token_is_refused() {
    let mut rp = rp("client_secret_post");
    rp.emulator.faults().token_response = Some((
        200,
        r#"{"access_token":"vca_x","token_type":"Bearer","expires_in":3600}"#.into(),
    ));
    assert_error_page(&rp.sign_in().await, "configuration");
    assert_no_session(&rp);
}

#[tokio::test]
async fn provider_timeout_is_provider_unavailable() {
    let mut rp = rp("client_secret_post");
    let callback = rp.authorize_and_consent().await;
    *rp.recorder.fail.lock().unwrap() = Some(TransportError::Timeout);
    assert_error_page(&rp.get(&callback).await, "provider_unavailable");
    assert_no_session(&rp);
}

#[tokio::test]
async fn unknown_provider_error_codes_are_not_echoed() {
    let mut rp = rp("client_secret_post");
    let start = rp.get("/api/auth/authorize").await;
    let url = url::Url::parse(&location(&start)).unwrap();
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let done = rp
        .get(&format!(
            "/api/auth/callback?error=%3Cscript%3E&error_description=pwned&state={state}&iss=http%3A%2F%2F127.0.0.1%3A3001"
        ))
        .await;
    assert_error_page(&done, "provider_error");
}

#[tokio::test]
async fn an_error_naming_another_flow_is_not_shown_as_the_users_cancel() {
    let mut rp = rp("client_secret_post");
    let _ = rp.get("/api/auth/authorize").await;
    let done = rp
        .get("/api/auth/callback?error=access_denied&state=forged")
        .await;
    assert_error_page(&done, "invalid_state");
}

#[tokio::test]
async fn a_cancel_after_the_flow_cookie_expired_still_says_cancelled() {
    let mut rp = rp("client_secret_post");
    let done = rp.get("/api/auth/callback?error=access_denied").await;
    assert_error_page(&done, "access_denied");
}

#[tokio::test]
async fn authorize_with_post_is_405() {
    let mut rp = rp("client_secret_post");
    let response = rp.send("POST", "/api/auth/authorize").await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET");
}

#[tokio::test]
async fn missing_host_is_a_bad_request_not_a_crash() {
    let rp = rp("client_secret_post");
    let request = http::Request::get("/api/auth/authorize").body(()).unwrap();
    assert_error_page(&route(&rp.auth, &request).await, "invalid_request");
    let request = http::Request::get("/api/auth/callback?code=a&state=b")
        .body(())
        .unwrap();
    assert_error_page(&route(&rp.auth, &request).await, "invalid_request");
}

#[tokio::test]
async fn missing_configuration_is_a_configuration_error_not_a_crash() {
    let auth = Auth::from_lookup(|_| None);
    let request = http::Request::get("/api/auth/authorize")
        .header(HOST, "localhost:3000")
        .body(())
        .unwrap();
    assert_error_page(&route(&auth, &request).await, "configuration");
    let request = http::Request::get("/api/user-info")
        .header(HOST, "localhost:3000")
        .header("cookie", "session.a.0=b")
        .body(())
        .unwrap();
    let answer = route(&auth, &request).await;
    assert_eq!(answer.status(), 500);
    assert_eq!(body_json(&answer)["error"], "configuration");
}

#[tokio::test]
async fn default_issuer_needs_no_discovery_request() {
    let recorder = Arc::new(Recorder::default());
    let emulator = sign_in_with_vercel_emulator::Emulator::with_key(
        ISSUER,
        Default::default(),
        sign_in_with_vercel_emulator::SigningKey::shared(),
    );
    let auth = Auth::from_lookup(|k| match k {
        "VERCEL_APP_CLIENT_ID" => Some("cl_x".to_owned()),
        "VERCEL_APP_CLIENT_SECRET" => Some(SECRET.to_owned()),
        _ => None,
    })
    .with_http_client(Arc::new(Recording {
        emulator,
        recorder: recorder.clone(),
    }));
    let request = http::Request::get("/api/auth/authorize")
        .header(HOST, "localhost:3000")
        .body(())
        .unwrap();
    let start = route(&auth, &request).await;
    assert!(location(&start).starts_with("https://vercel.com/oauth/authorize?client_id=cl_x&"));
    assert!(
        recorder.requests.lock().unwrap().is_empty(),
        "no network at all"
    );
}

#[tokio::test]
async fn other_issuers_are_discovered_once_per_instance() {
    let mut rp = rp("client_secret_post");
    rp.sign_in().await;
    rp.sign_in().await;
    assert_eq!(rp.sent_to("/.well-known/openid-configuration").len(), 1);
}

#[tokio::test]
async fn discovered_issuer_must_match_exactly() {
    let mut rp = rp("client_secret_post");
    rp.replace_auth(rp.instance(&[("VERCEL_OAUTH_ISSUER", "http://127.0.0.1:3001/")]));
    assert_error_page(&rp.get("/api/auth/authorize").await, "configuration");
}

#[tokio::test]
async fn a_sign_in_costs_one_token_request_and_one_jwks_fetch() {
    let mut rp = rp("client_secret_post");
    rp.sign_in().await;
    assert_eq!(rp.sent_to("/login/oauth/token").len(), 1);
    assert_eq!(rp.sent_to("/.well-known/jwks").len(), 1);
    rp.clear_log();
    *rp.jar_mut() = Jar::default();
    rp.sign_in().await;
    assert_eq!(
        rp.recorder.requests.lock().unwrap().len(),
        1,
        "warm: only the token request"
    );
}

/// The provider as an HTTP client that holds each token request until a
/// key-set request has started (2 s at most) and notes whether one had;
/// it can also refuse every code and leave key-set requests unanswered.
struct Overlap {
    inner: Recording,
    jwks_started: Arc<tokio::sync::Notify>,
    overlapped: Arc<Mutex<Vec<bool>>>,
    refuse_codes_and_hang_jwks: bool,
}

impl HttpClient for Overlap {
    fn execute(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let path = request.uri().path().to_owned();
        if path.ends_with("/.well-known/jwks") {
            self.jwks_started.notify_one();
            if self.refuse_codes_and_hang_jwks {
                return Box::pin(std::future::pending());
            }
        }
        Box::pin(async move {
            if path.ends_with("/login/oauth/token") {
                let started = self.jwks_started.notified();
                let overlapped = tokio::time::timeout(Duration::from_secs(2), started)
                    .await
                    .is_ok();
                self.overlapped.lock().unwrap().push(overlapped);
                if self.refuse_codes_and_hang_jwks {
                    return Ok(http::Response::builder()
                        .status(400)
                        .header("content-type", "application/json")
                        .body(br#"{"error":"invalid_grant"}"#.to_vec())
                        .unwrap());
                }
            }
            self.inner.execute(request).await
        })
    }
}

/// `rp` served from now on by a fresh instance (no keys cached) whose
/// provider calls go through [`Overlap`]; its notes on the token requests.
fn through_overlap(rp: &mut Rp, refuse_codes_and_hang_jwks: bool) -> Arc<Mutex<Vec<bool>>> {
    let overlapped = Arc::default();
    let overlap = Overlap {
        inner: Recording {
            emulator: rp.emulator.clone(),
            recorder: rp.recorder.clone(),
        },
        jwks_started: Arc::default(),
        overlapped: Arc::clone(&overlapped),
        refuse_codes_and_hang_jwks,
    };
    rp.replace_auth(rp.instance(&[]).with_http_client(Arc::new(overlap)));
    overlapped
}

#[tokio::test]
async fn a_cold_callback_fetches_the_keys_while_the_code_is_exchanged() {
    let mut rp = rp("client_secret_post");
    let overlapped = through_overlap(&mut rp, false);
    let done = rp.sign_in().await;
    assert_eq!(location(&done), "/profile");
    assert_eq!(
        *overlapped.lock().unwrap(),
        [true],
        "keys fetched alongside"
    );
    assert_eq!(rp.sent_to("/.well-known/jwks").len(), 1);
    // Warm, the keys are cached: nothing runs alongside the exchange.
    rp.clear_log();
    *rp.jar_mut() = Jar::default();
    assert_eq!(location(&rp.sign_in().await), "/profile");
    assert_eq!(rp.sent_to("/.well-known/jwks").len(), 0);
}

#[tokio::test]
async fn a_refused_code_is_answered_without_waiting_for_the_keys() {
    let mut rp = rp("client_secret_post");
    let overlapped = through_overlap(&mut rp, true);
    let callback = rp.authorize_and_consent().await;
    let answer = tokio::time::timeout(Duration::from_secs(4), rp.get(&callback))
        .await
        .expect("answered before the key-set request (which never ends)");
    assert_error_page(&answer, "token_rejected");
    assert_eq!(*overlapped.lock().unwrap(), [true]);
    assert_no_session(&rp);
}
