//! The relying party against a hostile OpenID Provider: axa-group's
//! `oauth2-mock-server` (pinned in `e2e/oauth2-mock-server/package.json`),
//! run by `node e2e/oauth2-mock-server/server.mjs` on loopback, whose hooks
//! spoil one answer at a time: the discovery document, the authorization
//! redirect, the token response (its ID token re-signed by the provider's
//! own key, so that only the check under test can refuse it), userinfo;
//! its key set also holds keys unfit for its ID tokens. The app is the
//! `dev` binary (what `cargo run` starts) configured for that issuer, as a
//! user would configure it for any provider.
//!
//! Each spoiled answer must be refused where it arrives, with the error
//! its kind calls for (OpenID Connect Core §3.1.3.7 and §12.2, RFC 6749
//! §4.1.2 and §5, RFC 7515, RFC 8725, RFC 9207), and no one signed in; and
//! each fault must have been used (a fault the provider never applied
//! would pass for a refusal).
//!
//! Needs Node.js (>= 20) on PATH. Installs the provider with `npm ci` when
//! `node_modules` is missing.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use testkit::{
    Browser, ChildLog, Process, clean_command, free_port, node_suite, spawn, spawn_command,
};

/// `cargo run`'s binary: the dev server.
static DEV: std::sync::LazyLock<String> = std::sync::LazyLock::new(testkit::dev_server_bin);
const OP_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/e2e/oauth2-mock-server");
/// The user every token of this provider names.
const SUBJECT: &str = "johndoe";

/// Node.js is there and the provider's packages are installed, once per
/// test binary.
fn node_ready() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        node_suite("oauth2-mock-server", "oauth2-mock-server");
    });
}

/// The provider process, and its stderr.
struct Provider {
    _process: Process,
    issuer: String,
    _stderr: ChildLog,
}

impl Provider {
    /// Starts `server.mjs` on a port the OS picks, its tokens living
    /// `expires_in` seconds.
    fn start(expires_in: u64) -> Self {
        node_ready();
        let stderr = ChildLog::new("oauth2-mock-server");
        let mut command = clean_command("node");
        command
            .arg(Path::new(OP_DIR).join("server.mjs"))
            .current_dir(OP_DIR)
            .env_remove("NODE_OPTIONS")
            .env("PORT", "0")
            .env("HOST", "127.0.0.1")
            .env("EXPIRES_IN", expires_in.to_string())
            .stderr(stderr.file());
        let (process, ready) = spawn_command(&mut command, "oauth2-mock-server", "READY ");
        let ready: Value = serde_json::from_str(ready.trim_start_matches("READY ")).unwrap();
        let issuer = ready["issuer"].as_str().unwrap().to_owned();
        assert_eq!(
            issuer,
            format!("http://127.0.0.1:{}", ready["port"].as_u64().unwrap())
        );
        Self {
            _process: process,
            issuer,
            _stderr: stderr,
        }
    }

    /// Arms `fault` for the next answer it applies to.
    async fn arm(&self, fault: &str) {
        let page = Browser::default()
            .post(&format!("{}/_fault/{fault}", self.issuer), &[])
            .await;
        assert_eq!(page.status, 204, "arming {fault}: {}", page.body);
    }

    /// Fails unless the armed fault was used.
    async fn assert_used(&self, fault: &str) {
        let page = Browser::default()
            .get(&format!("{}/_fault", self.issuer))
            .await;
        assert_eq!(
            page.json()["armed"],
            Value::Null,
            "{fault} was never applied: the case proves nothing"
        );
    }
}

/// The provider and the app configured for it.
struct Stack {
    // Dropped in this order: the app, then the provider.
    _app: Process,
    op: Provider,
    app: String,
}

impl Stack {
    fn start(expires_in: u64) -> Self {
        let op = Provider::start(expires_in);
        let (app, url) = start_app(&op);
        Self {
            _app: app,
            op,
            app: url,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app)
    }

    /// Clicks "Sign in" (the provider answers at once, no page of its
    /// own) and follows every redirect; where the browser lands.
    async fn sign_in(&self, browser: &mut Browser) -> String {
        let landing = browser.visit(&self.url("/api/auth/authorize")).await;
        assert_eq!(landing.status, 200, "{}: {}", landing.url, landing.body);
        landing.url
    }

    /// Who the session names (`None`: signed out).
    async fn who(&self, browser: &mut Browser) -> Option<String> {
        let page = browser.get(&self.url("/api/auth/session")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        page.json()["user"]["sub"].as_str().map(str::to_owned)
    }
}

/// The app (`cargo run`'s server) configured for `op` as a user would
/// configure it for any provider: its process and its URL.
fn start_app(op: &Provider) -> (Process, String) {
    let port = free_port();
    let env = [
        ("PORT", port.to_string()),
        ("VERCEL_APP_CLIENT_ID", "hostile-suite-client".to_owned()),
        (
            "VERCEL_APP_CLIENT_SECRET",
            "hostile-suite-secret".to_owned(),
        ),
        ("VERCEL_APP_TOKEN_AUTH", String::new()),
        ("VERCEL_OAUTH_ISSUER", op.issuer.clone()),
        ("APP_URL", String::new()),
        (
            "AUTH_SECRET",
            "oauth2-mock-server-suite-secret-0123456789".into(),
        ),
    ];
    let (app, _) = spawn(&DEV, &env, "Press Ctrl+C to stop.");
    (app, format!("http://localhost:{port}"))
}

/// Every spoiled answer of a sign-in lands on the error page with the
/// code its kind calls for, and signs no one in; the same sign-in
/// unspoiled goes through, and so do one without `kid` while the set has
/// one key of its algorithm and one signed by a key published since the
/// app last fetched the set (after which a token without `kid` is
/// ambiguous, and refused).
#[tokio::test(flavor = "multi_thread")]
async fn every_spoiled_sign_in_is_refused() {
    let stack = Stack::start(3600);
    let cases: &[(&str, &str)] = &[
        // The ID token's claims and header (OpenID Connect Core §3.1.3.7,
        // RFC 7515 §4.1.11, RFC 8725 §3.11).
        ("aud_other", "invalid_token"),
        ("aud_extra", "invalid_token"),
        ("azp_other", "invalid_token"),
        ("iss_other", "invalid_token"),
        ("iss_trailing_slash", "invalid_token"),
        ("expired", "invalid_token"),
        ("exp_missing", "invalid_token"),
        ("iat_future", "invalid_token"),
        ("iat_missing", "invalid_token"),
        ("nbf_future", "invalid_token"),
        ("nonce_other", "invalid_token"),
        ("nonce_missing", "invalid_token"),
        ("sub_missing", "invalid_token"),
        ("at_hash_wrong", "invalid_token"),
        ("kid_unknown", "invalid_token"),
        ("crit", "invalid_token"),
        ("typ_at_jwt", "invalid_token"),
        ("typ_logout_jwt", "invalid_token"),
        // The key it names (RFC 7517 §4.2–4.4, RFC 7518 §3.3, RFC 8725
        // §3.1): none published, too short, for encryption, bound to
        // another algorithm, of another type.
        ("key_unpublished", "invalid_token"),
        ("key_weak_1024", "invalid_token"),
        ("key_use_enc", "invalid_token"),
        ("key_ops_encrypt", "invalid_token"),
        ("key_alg_rs512", "invalid_token"),
        ("key_of_another_type", "invalid_token"),
        // Its signature and algorithm (RFC 8725 §2.1, §3.1).
        ("signature_swapped", "invalid_token"),
        ("alg_none", "invalid_token"),
        ("hs256_public_key", "invalid_token"),
        ("rs512_unlisted", "invalid_token"),
        // The token response (RFC 6749 §5.1, §5.2).
        ("id_token_missing", "configuration"),
        ("id_token_number", "provider_unavailable"),
        ("token_type_mac", "provider_unavailable"),
        ("access_token_missing", "provider_unavailable"),
        ("invalid_grant", "token_rejected"),
        ("invalid_client", "configuration"),
        ("server_error_html", "provider_unavailable"),
        // The authorization response (RFC 6749 §4.1.2, RFC 9207).
        ("state_other", "invalid_state"),
        ("state_missing", "invalid_state"),
        ("code_missing", "invalid_response"),
        ("code_twice", "invalid_request"),
        ("iss_param_other", "invalid_response"),
        ("error_access_denied", "access_denied"),
        ("error_unknown_with_text", "provider_error"),
    ];
    for (fault, code) in cases {
        let mut browser = Browser::default();
        stack.op.arm(fault).await;
        let landing = stack.sign_in(&mut browser).await;
        stack.op.assert_used(fault).await;
        assert_eq!(
            landing,
            stack.url(&format!("/auth/error?error={code}")),
            "{fault}"
        );
        assert_eq!(stack.who(&mut browser).await, None, "{fault} signed in");
        testkit::assert_no_session(browser.jar("localhost"));
    }
    // The provider unspoiled: signed in, its key found among the unfit
    // ones of its set.
    let mut browser = Browser::default();
    assert_eq!(stack.sign_in(&mut browser).await, stack.url("/profile"));
    assert_eq!(stack.who(&mut browser).await.as_deref(), Some(SUBJECT));
    // No `kid`, and one key of its algorithm in the set: that key
    // (OpenID Connect Core §10.1; the certification's
    // kid-absent-single-jwks).
    let mut browser = Browser::default();
    stack.op.arm("kid_absent").await;
    assert_eq!(stack.sign_in(&mut browser).await, stack.url("/profile"));
    stack.op.assert_used("kid_absent").await;
    // A key rotated in since the app fetched the set (OpenID Connect Core
    // §10.1.1): the token's unknown `kid` makes the app fetch it again.
    let mut browser = Browser::default();
    stack.op.arm("key_rotated").await;
    assert_eq!(stack.sign_in(&mut browser).await, stack.url("/profile"));
    stack.op.assert_used("key_rotated").await;
    assert_eq!(stack.who(&mut browser).await.as_deref(), Some(SUBJECT));
    // Now two keys of its algorithm: a token without `kid` is refused
    // rather than tried against each (kid-absent-multiple-jwks).
    let mut browser = Browser::default();
    stack.op.arm("kid_absent").await;
    assert_eq!(
        stack.sign_in(&mut browser).await,
        stack.url("/auth/error?error=invalid_token")
    );
    stack.op.assert_used("kid_absent").await;
    assert_eq!(stack.who(&mut browser).await, None);
}

/// userinfo that names another user ends the session (OpenID Connect Core
/// §5.3.4); one that refuses the token is asked again with a refreshed
/// one; one that is not JSON is the provider's trouble, the session kept.
#[tokio::test(flavor = "multi_thread")]
async fn spoiled_userinfo_answers() {
    let stack = Stack::start(3600);
    let cases: &[(&str, u16, &str, bool)] = &[
        ("userinfo_sub_other", 401, "subject_mismatch", false),
        ("userinfo_invalid_token", 200, "", true),
        ("userinfo_not_json", 502, "provider_unavailable", true),
    ];
    for (fault, status, code, kept) in cases {
        let mut browser = Browser::default();
        assert_eq!(stack.sign_in(&mut browser).await, stack.url("/profile"));
        stack.op.arm(fault).await;
        let info = browser.get(&stack.url("/api/user-info")).await;
        stack.op.assert_used(fault).await;
        assert_eq!(info.status, *status, "{fault}: {}", info.body);
        if info.status == 200 {
            assert_eq!(info.json()["userInfo"]["sub"], SUBJECT, "{fault}");
        } else {
            assert_eq!(info.json()["error"], *code, "{fault}: {}", info.body);
        }
        let who = stack.who(&mut browser).await;
        assert_eq!(who.is_some(), *kept, "{fault}: the session is {who:?}");
    }
}

/// A refresh whose answer is spoiled: a refreshed ID token that fails a
/// check (§12.2: the same user, issuer and audience; its signature, its
/// type) ends the session; a refused grant ends it (409: without a store
/// it may be a race lost); a refused client or a broken provider keeps it.
#[tokio::test(flavor = "multi_thread")]
async fn spoiled_refreshes() {
    const EXPIRES_IN: u64 = 3;
    let stack = Stack::start(EXPIRES_IN);
    let cases: &[(&str, u16, &str, bool)] = &[
        ("sub_other", 401, "invalid_token", false),
        ("aud_other", 401, "invalid_token", false),
        ("iss_other", 401, "invalid_token", false),
        ("signature_swapped", 401, "invalid_token", false),
        ("alg_none", 401, "invalid_token", false),
        ("typ_at_jwt", 401, "invalid_token", false),
        ("invalid_grant", 409, "session_refresh_conflict", false),
        ("invalid_client", 500, "configuration", true),
        ("server_error_html", 502, "provider_unavailable", true),
    ];
    // Every browser signs in first, then all wait out the tokens' life
    // once; each refresh then takes its own fault, one after another.
    let mut browsers = Vec::new();
    for _ in cases {
        let mut browser = Browser::default();
        assert_eq!(stack.sign_in(&mut browser).await, stack.url("/profile"));
        browsers.push(browser);
    }
    tokio::time::sleep(Duration::from_millis(EXPIRES_IN * 1000 + 600)).await;
    for ((fault, status, code, kept), browser) in cases.iter().zip(&mut browsers) {
        stack.op.arm(fault).await;
        let info = browser.get(&stack.url("/api/user-info")).await;
        stack.op.assert_used(fault).await;
        assert_eq!(info.status, *status, "{fault}: {}", info.body);
        assert_eq!(info.json()["error"], *code, "{fault}: {}", info.body);
        let who = stack.who(browser).await;
        assert_eq!(who.is_some(), *kept, "{fault}: the session is {who:?}");
    }
    // Unspoiled, the refresh goes through.
    let mut browser = Browser::default();
    assert_eq!(stack.sign_in(&mut browser).await, stack.url("/profile"));
    tokio::time::sleep(Duration::from_millis(EXPIRES_IN * 1000 + 600)).await;
    let info = browser.get(&stack.url("/api/user-info")).await;
    assert_eq!(info.status, 200, "{}", info.body);
    assert_eq!(stack.who(&mut browser).await.as_deref(), Some(SUBJECT));
}

/// A spoiled discovery document (OpenID Connect Discovery 1.0 §3, §4.3):
/// the app, reading it at its first sign-in, starts none (its
/// configuration or the provider at fault, said on the error page); a
/// promise of `iss` in authorization responses (RFC 9207 §3) that the
/// provider does not keep fails the sign-in at the callback. Each case is
/// a fresh app, as the document is read once per instance.
#[tokio::test(flavor = "multi_thread")]
async fn spoiled_discovery_documents() {
    let op = Provider::start(3600);
    let cases: &[(&str, &str)] = &[
        ("discovery_issuer_other", "configuration"),
        ("discovery_authorization_endpoint_script", "configuration"),
        (
            "discovery_token_endpoint_plain_http_elsewhere",
            "configuration",
        ),
        ("discovery_jwks_uri_missing", "provider_unavailable"),
        ("discovery_not_json", "provider_unavailable"),
        ("discovery_iss_parameter_promised", "invalid_response"),
    ];
    for (fault, code) in cases {
        op.arm(fault).await;
        let (_app, app) = start_app(&op);
        let mut browser = Browser::default();
        let landing = browser.visit(&format!("{app}/api/auth/authorize")).await;
        op.assert_used(fault).await;
        assert_eq!(
            landing.url,
            format!("{app}/auth/error?error={code}"),
            "{fault}"
        );
        assert_eq!(landing.status, 200, "{fault}");
        testkit::assert_no_session(browser.jar("localhost"));
    }
    // Unspoiled, a fresh app signs in.
    let (_app, app) = start_app(&op);
    let mut browser = Browser::default();
    let landing = browser.visit(&format!("{app}/api/auth/authorize")).await;
    assert_eq!(landing.url, format!("{app}/profile"));
}

/// A token endpoint that answers more than the app reads (256 KiB) or
/// after its deadline: the sign-in ends on the error page as the
/// provider's trouble, without waiting for the late answer, and no one is
/// signed in.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_answer_too_large_or_too_late_is_cut_off() {
    let stack = Stack::start(3600);
    for fault in ["token_huge", "token_slow"] {
        let mut browser = Browser::default();
        stack.op.arm(fault).await;
        let started = std::time::Instant::now();
        let landing = stack.sign_in(&mut browser).await;
        let took = started.elapsed();
        stack.op.assert_used(fault).await;
        assert_eq!(
            landing,
            stack.url("/auth/error?error=provider_unavailable"),
            "{fault}"
        );
        // The app's calls time out at 8 s (`REQUEST_TIMEOUT`); the answer
        // comes 12 s after the request: a sign-in that waited for it would
        // take longer.
        assert!(
            took < Duration::from_secs(12),
            "{fault}: the sign-in took {took:?}"
        );
        testkit::assert_no_session(browser.jar("localhost"));
    }
}
