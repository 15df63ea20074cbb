//! The local stack over real HTTP, with no browser and no network: the
//! `dev` binary (what `cargo run` starts) with its built-in emulator, and
//! the standalone `emulator` binary with a configured client.

use std::time::Duration;

use testkit::{Browser, Page, free_port, spawn, url_in};

/// `cargo run`'s binary: the dev server.
static DEV: std::sync::LazyLock<String> = std::sync::LazyLock::new(testkit::dev_server_bin);
/// The standalone emulator's binary.
static EMULATOR: std::sync::LazyLock<String> = std::sync::LazyLock::new(testkit::emulator_bin);

/// Starts `cargo run`'s server on free ports with a 2-second access token.
fn start_dev() -> (testkit::Process, String) {
    start_dev_with(("EMULATOR_ACCESS_TOKEN_TTL", "2"))
}

/// Starts `cargo run`'s server on free ports with one more variable set.
fn start_dev_with((name, value): (&'static str, &str)) -> (testkit::Process, String) {
    let (process, _) = spawn(
        &DEV,
        &[
            ("PORT", "0".into()),
            ("EMULATOR_PORT", "0".into()),
            (name, value.into()),
        ],
        "Press Ctrl+C to stop",
    );
    let app = url_in(
        process
            .lines
            .iter()
            .find(|l| l.contains("Open http://"))
            .unwrap(),
    );
    (process, app)
}

/// Clicks "Sign in with Vercel", signs in at the emulator's login screen
/// and answers its consent page.
async fn sign_in(browser: &mut Browser, app: &str, decision: &str) -> Page {
    let login = browser.visit(&format!("{app}/api/auth/authorize")).await;
    assert_eq!(login.status, 200, "the emulator's login screen");
    assert!(login.body.contains("Sign in to Vercel"), "{}", login.body);
    let answer = browser.through_provider(login, decision).await;
    browser.follow(answer).await
}

#[tokio::test]
async fn cargo_run_serves_the_whole_flow_against_the_built_in_emulator() {
    let (dev, app) = start_dev();
    assert!(
        dev.lines
            .iter()
            .any(|l| l.contains("you will sign in as Demo User")),
        "banner: {:?}",
        dev.lines
    );
    let mut browser = Browser::default();

    let home = browser.get(&format!("{app}/")).await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Sign in with Vercel"));
    // `vercel.json`'s headers, as the dev server serves them: no page or
    // answer may be framed (clickjacking) or leak its URL in a Referer
    // (RFC 9700 §4.2.4: the callback's URL carries the code).
    let error_page = browser.get(&format!("{app}/auth/error")).await;
    let start = browser.get(&format!("{app}/api/auth/authorize")).await;
    assert_eq!(start.status, 302);
    for page in [&home, &error_page, &start] {
        let header = |name: &str| {
            page.headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_else(|| panic!("{}: no {name}", page.url))
        };
        let csp = header("content-security-policy");
        assert!(csp.contains("default-src 'none'"), "{}: {csp}", page.url);
        assert!(
            csp.contains("frame-ancestors 'none'"),
            "{}: {csp}",
            page.url
        );
        assert_eq!(header("x-frame-options"), "DENY", "{}", page.url);
        assert_eq!(header("referrer-policy"), "no-referrer", "{}", page.url);
        assert_eq!(header("x-content-type-options"), "nosniff", "{}", page.url);
    }

    let profile = sign_in(&mut browser, &app, "allow").await;
    assert_eq!(profile.status, 200);
    assert_eq!(profile.url, format!("{app}/profile"));

    let user = browser.get(&format!("{app}/api/user-info")).await;
    assert_eq!(user.status, 200);
    assert_eq!(user.json()["userInfo"]["email"], "demo@example.com");

    let token = browser.get(&format!("{app}/api/validate-token")).await;
    assert_eq!(token.status, 200);
    assert_eq!(token.json()["tokenInfo"]["active"], true);
    let first = browser.jar("localhost").session_names();
    assert_eq!(first.len(), 1, "one sealed session cookie");
    let who = browser.get(&format!("{app}/api/auth/session")).await;
    assert_eq!(who.json()["user"]["name"], "Demo User");
    // No token reaches the page's JavaScript: the emulator's access and
    // refresh tokens (`vca_…`, `vcr_…`, as Vercel's) are in no answer.
    for answer in [&user, &token, &who] {
        for prefix in ["vca_", "vcr_"] {
            assert!(
                !answer.body.contains(prefix),
                "{}: {}",
                answer.url,
                answer.body
            );
        }
    }

    // The access token lives 2 s: the next request refreshes it silently.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let user = browser.get(&format!("{app}/api/user-info")).await;
    assert_eq!(user.status, 200, "refreshed silently: {}", user.body);
    let refreshed = browser.jar("localhost").session_names();
    assert_eq!(refreshed.len(), 1);
    assert_ne!(refreshed, first, "a new generation replaced the old one");

    let out = browser.post(&format!("{app}/api/auth/signout"), &[]).await;
    assert_eq!(out.status, 200);
    assert_eq!(out.json()["revoked"], true);
    testkit::assert_no_session(browser.jar("localhost"));
    assert_eq!(
        browser
            .get(&format!("{app}/api/validate-token"))
            .await
            .status,
        401
    );
    assert_eq!(
        browser.get(&format!("{app}/api/user-info")).await.status,
        401
    );
    let who = browser.get(&format!("{app}/api/auth/session")).await;
    assert_eq!(who.json()["user"], serde_json::Value::Null);
    assert!(
        dev.lines.iter().any(|l| l.contains("AUTH_SECRET")),
        "the banner says where the session key comes from: {:?}",
        dev.lines
    );
}

/// `AUTH_BASE_PATH` moves the routes, and the built-in emulator registers
/// the redirect URI where the callback now is.
#[tokio::test]
async fn cargo_run_signs_in_under_another_base_path() {
    let (dev, app) = start_dev_with(("AUTH_BASE_PATH", "/api/login"));
    assert!(
        dev.lines.iter().any(|l| l.contains("/api/login/callback")),
        "the banner names the moved callback: {:?}",
        dev.lines
    );
    let mut browser = Browser::default();
    let login = browser.visit(&format!("{app}/api/login/authorize")).await;
    assert_eq!(
        login.status, 200,
        "the emulator's login screen: {}",
        login.body
    );
    let answer = browser.through_provider(login, "allow").await;
    let back = answer.redirect().unwrap_or_default();
    assert!(
        back.starts_with(&format!("{app}/api/login/callback?")),
        "{back}"
    );
    let profile = browser.follow(answer).await;
    assert_eq!(profile.url, format!("{app}/profile"));
    let who = browser.get(&format!("{app}/api/login/session")).await;
    assert_eq!(who.json()["user"]["name"], "Demo User");
}

#[tokio::test]
async fn cancel_shows_the_cancelled_error_page() {
    let (_dev, app) = start_dev();
    let mut browser = Browser::default();
    let page = sign_in(&mut browser, &app, "cancel").await;
    assert_eq!(page.url, format!("{app}/auth/error?error=access_denied"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("error-title"));
    testkit::assert_no_session(browser.jar("localhost"));
    assert!(browser.jar("localhost").flow_names().is_empty());
}

#[tokio::test]
async fn pages_have_clean_urls_and_unknown_api_paths_are_404() {
    let (_dev, app) = start_dev();
    let mut browser = Browser::default();
    for path in ["/", "/profile", "/auth/error", "/app.js", "/app.css"] {
        assert_eq!(
            browser.get(&format!("{app}{path}")).await.status,
            200,
            "{path}"
        );
    }
    let redirect = browser.get(&format!("{app}/profile.html")).await;
    assert_eq!(redirect.status, 308);
    assert_eq!(redirect.location().as_deref(), Some("/profile"));
    assert_eq!(browser.get(&format!("{app}/api/unknown")).await.status, 404);
    assert_eq!(browser.get(&format!("{app}/nope")).await.status, 404);
    assert_eq!(
        browser.get(&format!("{app}/..%2fCargo.toml")).await.status,
        400
    );
}

/// The emulator on its own, with a client whose secret the test knows, and
/// the dev server configured for it as for a real Vercel app.
async fn configured_stack(
    method: &str,
) -> (testkit::Process, testkit::Process, String, String, String) {
    let app_port = free_port();
    let app = format!("http://localhost:{app_port}");
    let config = serde_json::json!({
        "clients": [{
            "client_id": "cl_configured",
            "client_secret": "configured-secret",
            "token_endpoint_auth_method": method,
            "redirect_uris": [format!("{app}/api/auth/callback")],
        }],
    });
    let (emulator, issuer, api) = testkit::spawn_emulator(&EMULATOR, &config, &[]);
    let (dev, _) = spawn(
        &DEV,
        &[
            ("PORT", app_port.to_string()),
            ("VERCEL_APP_CLIENT_ID", "cl_configured".into()),
            ("VERCEL_APP_CLIENT_SECRET", "configured-secret".into()),
            ("VERCEL_APP_TOKEN_AUTH", method.into()),
            ("VERCEL_OAUTH_ISSUER", issuer.clone()),
        ],
        "Press Ctrl+C to stop",
    );
    (emulator, dev, app, issuer, api)
}

async fn token_request(browser: &mut Browser, api: &str, form: &[(&str, &str)]) -> Page {
    let mut form = form.to_vec();
    form.push(("client_id", "cl_configured"));
    form.push(("client_secret", "configured-secret"));
    browser
        .post(&format!("{api}/login/oauth/token"), &form)
        .await
}

#[tokio::test]
async fn emulator_refuses_a_reused_code() {
    let (_emulator, _dev, app, _issuer, api) = configured_stack("client_secret_post").await;
    let mut browser = Browser::default();
    let login = browser.visit(&format!("{app}/api/auth/authorize")).await;
    let back = browser.through_provider(login, "allow").await;
    let callback = back.location().unwrap();
    let code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let done = browser.visit(&callback).await;
    assert_eq!(done.url, format!("{app}/profile"));
    let valid = browser.visit(&format!("{app}/api/validate-token")).await;
    assert_eq!(
        valid.status, 200,
        "signed in, before the replay: {}",
        valid.body
    );
    let again = token_request(
        &mut browser,
        &api,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &format!("{app}/api/auth/callback")),
            ("code_verifier", &"a".repeat(43)),
        ],
    )
    .await;
    assert_eq!(again.status, 400);
    assert_eq!(again.json()["error"], "invalid_grant");
    // Refused as reused (checked before the verifier), and the tokens of
    // the first exchange are revoked with it (RFC 6749 §4.1.2).
    assert_eq!(
        again.json()["error_description"],
        "authorization code already used"
    );
    // The access token is no longer active, and the refresh tried once
    // then is refused too: the grant is dead. Without a store that may be
    // a race lost to another instance, so 409 and the session deleted; the
    // page's one retry finds no one signed in.
    let validated = browser.visit(&format!("{app}/api/validate-token")).await;
    assert_eq!(validated.status, 409, "{}", validated.body);
    assert_eq!(validated.json()["error"], "session_refresh_conflict");
    let retried = browser.visit(&format!("{app}/api/validate-token")).await;
    assert_eq!(retried.status, 401, "{}", retried.body);
    assert_eq!(retried.json()["error"], "not_signed_in");
}

#[tokio::test]
async fn emulator_refuses_a_wrong_redirect_uri_with_a_page_not_a_redirect() {
    let (_emulator, _dev, _app, issuer, _api) = configured_stack("client_secret_post").await;
    let mut browser = Browser::default();
    let page = browser
        .get(&format!(
            "{issuer}/oauth/authorize?client_id=cl_configured&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&response_type=code&code_challenge={}&code_challenge_method=S256",
            "a".repeat(43)
        ))
        .await;
    assert_eq!(page.status, 400);
    assert!(page.location().is_none());
    assert!(page.body.contains("redirect_uri"));
}

#[tokio::test]
async fn emulator_refuses_a_request_without_pkce() {
    let (_emulator, _dev, app, issuer, _api) = configured_stack("client_secret_post").await;
    let mut browser = Browser::default();
    let redirect_uri = format!("{app}/api/auth/callback");
    let encoded: String = url::form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect();
    let page = browser
        .get(&format!("{issuer}/oauth/authorize?client_id=cl_configured&redirect_uri={encoded}&response_type=code&state=s1"))
        .await;
    assert_eq!(page.status, 302);
    let location = url::Url::parse(&page.location().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "s1");
    // No `iss`: Vercel documents none, and the emulator sends none unless told to.
    assert!(!q.contains_key("iss"), "{q:?}");
}

/// `vercel env pull` writes a Sensitive variable as `KEY=""`: the app
/// then signs in as a public client, which the banner says at start-up
/// rather than every sign-in failing with `invalid_client` unexplained.
#[test]
fn the_banner_says_when_the_client_secret_is_empty_or_missing() {
    for (secret, said) in [
        (
            Some(""),
            "VERCEL_APP_CLIENT_SECRET is empty: signing in as a public client",
        ),
        (
            None,
            "no VERCEL_APP_CLIENT_SECRET: signing in as a public client",
        ),
    ] {
        let mut vars = vec![
            ("PORT", free_port().to_string()),
            ("VERCEL_APP_CLIENT_ID", "cl_configured".to_owned()),
            ("VERCEL_OAUTH_ISSUER", "http://127.0.0.1:9".to_owned()),
        ];
        vars.extend(secret.map(|s| ("VERCEL_APP_CLIENT_SECRET", s.to_owned())));
        let (dev, _) = spawn(&DEV, &vars, "Press Ctrl+C to stop");
        assert!(
            dev.lines.iter().any(|l| l.contains(said)),
            "{:?}",
            dev.lines
        );
    }
}

#[tokio::test]
async fn real_credentials_from_the_environment_work_locally() {
    let (_emulator, dev, app, _issuer, _api) = configured_stack("client_secret_post").await;
    assert!(
        dev.lines
            .iter()
            .any(|l| l
                .contains("client ID from the environment, .env.local or .env; a client secret)")),
        "{:?}",
        dev.lines
    );
    let mut browser = Browser::default();
    let profile = sign_in(&mut browser, &app, "allow").await;
    assert_eq!(profile.url, format!("{app}/profile"));
    assert_eq!(
        browser.get(&format!("{app}/api/user-info")).await.json()["userInfo"]["name"],
        "Demo User"
    );
}
