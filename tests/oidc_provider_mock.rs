//! The relying party against a second independent OpenID Provider, of
//! another stack than `tests/oidc_provider.rs`'s: `oidc-provider-mock`
//! (Authlib and Flask, from PyPI; pinned with every file's hash in
//! `e2e/oidc-provider-mock/requirements.txt`), run by
//! `python3 -m oidc_provider_mock` on loopback. The app is the `dev`
//! binary (what `cargo run` starts) configured for that issuer, with a
//! client registered at the provider's registration endpoint (RFC 7591):
//! the provider checks the client's secret, redirect URI and
//! authentication method, and asks for a `nonce`.
//!
//! What this provider does otherwise than Vercel's, and the app must
//! take: no revocation or introspection endpoint, no client
//! authentication methods in its metadata (RFC 8414 §2's default, Basic),
//! no `offline_access` among its scopes (a refresh token all the same,
//! kept on refresh), a refusal at its page sent back without `state`,
//! and a userinfo endpoint that answers a dead token with a 400. Its
//! refresh grant takes Basic only and its token endpoint no public client
//! (Authlib's defaults), so a public client is not tried here (the other
//! suite signs one in).
//!
//! Needs Python 3.11 or later with pip, as `python3` on PATH. Installs the
//! provider under `target/e2e-python/` when it is missing there.

use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::{
    Browser, ChildLog, Page, Process, clean_command, free_port, python_suite, query_pairs, spawn,
};

/// `cargo run`'s binary: the dev server.
static DEV: std::sync::LazyLock<String> = std::sync::LazyLock::new(testkit::dev_server_bin);
/// The user every sign-in of these tests is, as the provider knows them.
const SUBJECT: &str = "ada";
/// The lifetime of the provider's access and ID tokens, in seconds: short,
/// so that a test sees the app refresh (due a quarter of it before expiry).
const TOKEN_TTL: u64 = 4;

/// The packages installed, once per test binary; their directory.
fn site() -> &'static PathBuf {
    static SITE: OnceLock<PathBuf> = OnceLock::new();
    SITE.get_or_init(|| python_suite("oidc-provider-mock", "oidc-provider-mock"))
}

/// The profile of [`SUBJECT`]: standard claims of the `profile` and
/// `email` scopes, the name beyond ASCII.
fn claims() -> Value {
    json!({
        "sub": SUBJECT,
        "name": "Ada Lovelace-Ünal",
        "preferred_username": "ada",
        "picture": "http://127.0.0.1/ada.png",
        "email": "ada@example.com",
        "email_verified": true,
    })
}

/// The provider's process, and its log (both streams).
struct Provider {
    _process: Process,
    issuer: String,
    log: ChildLog,
}

impl Provider {
    /// Starts the provider on a free loopback port, clients registered
    /// only, a `nonce` required, its tokens living [`TOKEN_TTL`] seconds,
    /// and [`SUBJECT`] with [`claims`]; waits until it answers.
    fn start() -> Self {
        let site = site();
        let port = free_port();
        // Both streams, as uvicorn logs to stderr and the app to stdout;
        // shown if the test fails, from here on.
        let log = ChildLog::new("oidc-provider-mock");
        let mut command = clean_command("python3");
        command
            .args(["-m", "oidc_provider_mock", "--host", "127.0.0.1"])
            .args(["--port", &port.to_string()])
            .args(["--require-registration", "true", "--require-nonce", "true"])
            .args(["--token-max-age", &TOKEN_TTL.to_string()])
            .args(["--user-claims", &claims().to_string()])
            .env("PYTHONPATH", site)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            // Its log lines as they happen, not when a buffer fills.
            .env("PYTHONUNBUFFERED", "1")
            .env_remove("PYTHONHOME")
            .env_remove("PYTHONSTARTUP")
            .stdout(log.file())
            .stderr(log.file());
        let mut process = Process::spawn(&mut command, "oidc-provider-mock");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = process.exited() {
                panic!("oidc-provider-mock exited ({status})");
            }
            assert!(
                Instant::now() < deadline,
                "oidc-provider-mock did not listen on {port} within a minute"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            _process: process,
            issuer: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// The provider's log so far.
    fn log(&self) -> String {
        self.log.text()
    }

    /// How many token requests the provider has answered 200.
    fn tokens_issued(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("\"POST /oauth2/token HTTP/1.1\" 200"))
            .count()
    }

    /// Fails unless the provider has answered `n` token requests 200. Its
    /// log line follows the answer: an instant later, so a count short of
    /// `n` is read again for up to two seconds.
    async fn assert_tokens_issued(&self, n: usize, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.tokens_issued() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(self.tokens_issued(), n, "{what}:\n{}", self.log());
    }

    /// Fails unless the provider has logged `line` (read again for up to
    /// two seconds, as [`Provider::assert_tokens_issued`]).
    async fn assert_logged(&self, line: &str) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.log().contains(line) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(self.log().contains(line), "no {line:?} in:\n{}", self.log());
    }

    /// Registers a client for `redirect_uri` that authenticates with
    /// `method` (RFC 7591 §3.1); its ID and secret.
    async fn register(&self, redirect_uri: &str, method: &str) -> (String, String) {
        let request = http::Request::post(format!("{}/oauth2/clients", self.issuer))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(
                json!({
                    "redirect_uris": [redirect_uri],
                    "token_endpoint_auth_method": method,
                })
                .to_string()
                .into_bytes(),
            )
            .unwrap();
        let answer = Browser::default().send(request).await;
        let page = Page::new(&self.issuer, answer);
        assert_eq!(page.status, 201, "registration: {}", page.body);
        let client = page.json();
        assert_eq!(client["token_endpoint_auth_method"], method);
        (
            client["client_id"].as_str().unwrap().to_owned(),
            client["client_secret"].as_str().unwrap().to_owned(),
        )
    }

    /// Revokes every token the provider issued to [`SUBJECT`], as an
    /// administrator would.
    async fn revoke_tokens(&self) {
        let url = format!("{}/users/{SUBJECT}/revoke-tokens", self.issuer);
        let page = Browser::default().post(&url, &[]).await;
        assert_eq!(page.status, 204, "{}", page.body);
    }
}

/// How the app authenticates to the token endpoint: the client's
/// registered method, and `VERCEL_APP_TOKEN_AUTH` (empty: unset).
#[derive(Clone, Copy, Debug)]
enum Method {
    /// Registered for Basic, the app given no method: the provider's
    /// metadata lists none, so RFC 8414 §2's default.
    BasicByDefault,
    Post,
}

impl Method {
    fn registered(self) -> &'static str {
        match self {
            Self::BasicByDefault => "client_secret_basic",
            Self::Post => "client_secret_post",
        }
    }

    fn configured(self) -> &'static str {
        match self {
            Self::BasicByDefault => "",
            Self::Post => "client_secret_post",
        }
    }
}

/// The provider and the app (`cargo run`'s server) configured for a
/// client registered there.
struct Stack {
    // Dropped in this order: the app, then the provider.
    _app: Process,
    op: Provider,
    app: String,
}

impl Stack {
    async fn start(method: Method) -> Self {
        Self::start_with(method, None).await
    }

    /// [`Stack::start`], the app given `secret` instead of the registered
    /// one when it is `Some`.
    async fn start_with(method: Method, secret: Option<&str>) -> Self {
        let op = Provider::start();
        let app_port = free_port();
        let app = format!("http://localhost:{app_port}");
        let (client_id, registered) = op
            .register(&format!("{app}/api/auth/callback"), method.registered())
            .await;
        let secret = secret.map_or(registered, str::to_owned);
        let env = [
            ("PORT", app_port.to_string()),
            ("VERCEL_APP_CLIENT_ID", client_id),
            // Empty counts as unset, and beats a stray .env.local.
            ("VERCEL_APP_CLIENT_SECRET", secret),
            ("VERCEL_APP_TOKEN_AUTH", method.configured().to_owned()),
            ("VERCEL_OAUTH_ISSUER", op.issuer.clone()),
            ("APP_URL", String::new()),
            (
                "AUTH_SECRET",
                "oidc-provider-mock-suite-secret-0123456789".into(),
            ),
        ];
        let (dev, _) = spawn(&DEV, &env, "Press Ctrl+C to stop.");
        Self { _app: dev, op, app }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app)
    }
}

/// Clicks "Sign in" and answers the provider's page: as [`SUBJECT`], or
/// with Deny. Returns the callback URL the provider sent the browser to,
/// not yet visited.
async fn to_callback(browser: &mut Browser, stack: &Stack, deny: bool) -> String {
    let start = browser.get(&stack.url("/api/auth/authorize")).await;
    assert_eq!(start.status, 302, "authorize: {}", start.body);
    let authorization = start.location().unwrap();
    assert!(
        authorization.starts_with(&format!("{}/oauth2/authorize?", stack.op.issuer)),
        "{authorization}"
    );
    let page = browser.get(&authorization).await;
    assert_eq!(page.status, 200, "the provider's page: {}", page.body);
    assert!(page.body.contains(r#"name="sub""#), "{}", page.body);
    let form: &[(&str, &str)] = if deny {
        &[("action", "deny")]
    } else {
        &[("sub", SUBJECT)]
    };
    let answered = browser.post(&authorization, form).await;
    assert_eq!(
        answered.status, 302,
        "the provider's answer: {}",
        answered.body
    );
    let callback = answered.location().unwrap();
    assert!(
        callback.starts_with(&stack.url("/api/auth/callback?")),
        "{callback}"
    );
    callback
}

fn signed_in(browser: &Browser) -> bool {
    !browser.jar("localhost").session_names().is_empty()
}

/// Waits until the access token issued at `issued` is due for a refresh.
async fn until_refresh_is_due(issued: Instant) {
    let due = issued + Duration::from_millis(TOKEN_TTL * 1000 - 500);
    tokio::time::sleep_until(due.into()).await;
}

/// Waits until the access token has expired: no request may use it.
async fn until_expired() {
    tokio::time::sleep(Duration::from_millis(TOKEN_TTL * 1000 + 500)).await;
}

/// Signs in through the provider's page: the callback, its cookies, and
/// one token request.
async fn sign_in(browser: &mut Browser, stack: &Stack) {
    let callback = to_callback(browser, stack, false).await;
    let params = query_pairs(&callback);
    assert!(params.iter().any(|(k, _)| k == "code"), "{callback}");
    assert!(params.iter().any(|(k, _)| k == "state"), "{callback}");
    let back = browser.get(&callback).await;
    assert_eq!(back.status, 302, "callback: {}", back.body);
    assert_eq!(back.location().as_deref(), Some("/profile"));
    assert_eq!(back.max_age("session.", false), Some(30 * 24 * 3600));
    assert_eq!(back.max_age("oauth_flow.", true), Some(0), "flow cookie");
    stack.op.assert_tokens_issued(1, "the sign-in's").await;
}

/// The session names the user by the ID token's claims, verified, with no
/// provider call; user-info answers the provider's userinfo.
async fn who_is_signed_in(browser: &mut Browser, stack: &Stack) {
    let who = browser.get(&stack.url("/api/auth/session")).await;
    assert_eq!(who.status, 200, "{}", who.body);
    let user = &who.json()["user"];
    let expected = claims();
    for claim in ["sub", "name", "preferred_username", "picture", "email"] {
        assert_eq!(user[claim], expected[claim], "{claim} in {user}");
    }
    let info = browser.get(&stack.url("/api/user-info")).await;
    assert_eq!(info.status, 200, "user-info: {}", info.body);
    assert_eq!(info.json()["userInfo"], expected, "{}", info.body);
}

/// Signs out: nothing to revoke at (no revocation endpoint), the session
/// cleared all the same.
async fn sign_out(browser: &mut Browser, stack: &Stack) {
    let out = browser.post(&stack.url("/api/auth/signout"), &[]).await;
    assert_eq!(out.status, 200, "signout: {}", out.body);
    assert_eq!(out.json()["signedOut"], true);
    assert_eq!(out.json()["revoked"], false);
    testkit::assert_no_session(browser.jar("localhost"));
    let info = browser.get(&stack.url("/api/user-info")).await;
    assert_eq!(info.status, 401, "{}", info.body);
    let who = browser.get(&stack.url("/api/auth/session")).await;
    assert_eq!(who.json()["user"], Value::Null, "{}", who.body);
}

/// The whole life of a session with a client that authenticates by
/// Basic, the app told nothing (the provider's metadata lists no methods:
/// RFC 8414 §2's default): sign-in through the provider's page, the
/// profile, userinfo, introspection the provider does not offer, a
/// refresh, and a sign-out with nothing to revoke at.
#[tokio::test(flavor = "multi_thread")]
async fn basic_by_default_whole_session() {
    let stack = Stack::start(Method::BasicByDefault).await;
    let mut browser = Browser::default();
    sign_in(&mut browser, &stack).await;
    // The session's first generation, and about when its tokens were
    // issued: a loaded machine may take seconds over the next requests,
    // and the one refresh may come during them.
    let (before, issued) = (browser.jar("localhost").session_names(), Instant::now());
    who_is_signed_in(&mut browser, &stack).await;

    // No introspection endpoint: said, and the session kept.
    let valid = browser.get(&stack.url("/api/validate-token")).await;
    assert_eq!(valid.status, 501, "validate-token: {}", valid.body);
    assert_eq!(valid.json()["error"], "unsupported", "{}", valid.body);
    assert!(signed_in(&browser));

    // Near expiry the app refreshes, once, with the refresh token it was
    // given though it never asked for `offline_access` (not offered).
    until_refresh_is_due(issued).await;
    for _ in 0..3 {
        let info = browser.get(&stack.url("/api/user-info")).await;
        assert_eq!(info.status, 200, "refreshed: {}", info.body);
        assert_eq!(info.json()["userInfo"]["sub"], SUBJECT);
    }
    let after = browser.jar("localhost").session_names();
    assert_eq!(after.len(), 1);
    assert_ne!(after, before, "a new session generation");
    stack.op.assert_tokens_issued(2, "one refresh").await;
    who_is_signed_in(&mut browser, &stack).await;

    sign_out(&mut browser, &stack).await;
}

/// A client that authenticates in the body (`client_secret_post`, as the
/// app is told): sign-in, userinfo and sign-out. This provider's refresh
/// grant takes Basic only (Authlib's default for it), so the refresh of
/// an expired access token is refused as `invalid_client`: the app says
/// its configuration is wrong (500) and keeps the session, which a right
/// configuration would refresh.
#[tokio::test(flavor = "multi_thread")]
async fn client_secret_post_sign_in() {
    let stack = Stack::start(Method::Post).await;
    let mut browser = Browser::default();
    sign_in(&mut browser, &stack).await;
    who_is_signed_in(&mut browser, &stack).await;

    until_expired().await;
    let info = browser.get(&stack.url("/api/user-info")).await;
    assert_eq!(info.status, 500, "{}", info.body);
    assert_eq!(info.json()["error"], "configuration", "{}", info.body);
    assert!(signed_in(&browser), "the session is kept");
    stack
        .op
        .assert_logged("token endpoint error invalid_client")
        .await;
    let who = browser.get(&stack.url("/api/auth/session")).await;
    assert_eq!(who.json()["user"]["sub"], SUBJECT, "{}", who.body);

    sign_out(&mut browser, &stack).await;
}

/// A secret the provider does not accept (a rotated one not yet set)
/// fails the sign-in as the app's configuration, not the user's doing,
/// and signs no one in.
#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_client_secret_is_a_configuration_error() {
    let stack = Stack::start_with(Method::BasicByDefault, Some("not-the-registered-secret")).await;
    let mut browser = Browser::default();
    let callback = to_callback(&mut browser, &stack, false).await;
    let page = browser.visit(&callback).await;
    assert_eq!(page.url, stack.url("/auth/error?error=configuration"));
    assert_eq!(page.status, 200);
    assert!(!signed_in(&browser));
    stack
        .op
        .assert_logged("token endpoint error invalid_client")
        .await;
    assert_eq!(stack.op.tokens_issued(), 0, "{}", stack.op.log());
}

/// Deny at the provider comes back as `access_denied` without `state`
/// (this provider leaves it out): the error page says the user cancelled,
/// no one is signed in, and the next sign-in goes through.
#[tokio::test(flavor = "multi_thread")]
async fn deny_without_state_shows_access_denied() {
    let stack = Stack::start(Method::Post).await;
    let mut browser = Browser::default();
    let callback = to_callback(&mut browser, &stack, true).await;
    let params = query_pairs(&callback);
    assert!(
        params.contains(&("error".into(), "access_denied".into())),
        "{callback}"
    );
    assert!(!params.iter().any(|(k, _)| k == "state"), "{callback}");
    let page = browser.visit(&callback).await;
    assert_eq!(page.url, stack.url("/auth/error?error=access_denied"));
    assert_eq!(page.status, 200);
    assert!(!signed_in(&browser));

    let callback = to_callback(&mut browser, &stack, false).await;
    let page = browser.visit(&callback).await;
    assert_eq!(page.url, stack.url("/profile"));
    assert!(signed_in(&browser));
}

/// A callback URL used twice, by a copy of the browser that still holds
/// the flow cookie: the provider refuses the spent code, and the copy is
/// not signed in; the first browser's session stands.
#[tokio::test(flavor = "multi_thread")]
async fn a_spent_code_signs_no_one_in() {
    let stack = Stack::start(Method::BasicByDefault).await;
    let mut browser = Browser::default();
    let callback = to_callback(&mut browser, &stack, false).await;
    let mut copy = browser.clone();
    assert_eq!(browser.visit(&callback).await.url, stack.url("/profile"));
    let page = copy.visit(&callback).await;
    assert_eq!(page.url, stack.url("/auth/error?error=token_rejected"));
    assert!(!signed_in(&copy));
    let who = browser.get(&stack.url("/api/auth/session")).await;
    assert_eq!(who.json()["user"]["sub"], SUBJECT, "{}", who.body);
}

/// The provider revokes every token of the user: the app learns it when
/// the access token has expired, at the refresh the provider refuses, and
/// the session ends
/// (without a store that may be a race lost to another instance: 409, the
/// cookie deleted, then signed out).
#[tokio::test(flavor = "multi_thread")]
async fn tokens_revoked_at_the_provider_end_the_session() {
    let stack = Stack::start(Method::BasicByDefault).await;
    let mut browser = Browser::default();
    let callback = to_callback(&mut browser, &stack, false).await;
    assert_eq!(browser.visit(&callback).await.url, stack.url("/profile"));
    stack.op.revoke_tokens().await;
    until_expired().await;
    let info = browser.get(&stack.url("/api/user-info")).await;
    assert_eq!(info.status, 409, "{}", info.body);
    assert_eq!(info.json()["error"], "session_refresh_conflict");
    testkit::assert_no_session(browser.jar("localhost"));
    let who = browser.get(&stack.url("/api/auth/session")).await;
    assert_eq!(who.status, 200, "{}", who.body);
    assert_eq!(who.json()["user"], Value::Null);
    stack
        .op
        .assert_logged("token endpoint error invalid_grant")
        .await;
}
