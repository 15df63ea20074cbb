//! The relying party against an independent, certified OpenID Provider:
//! panva's `oidc-provider` (pinned in `e2e/oidc-provider/package.json`),
//! run by `node e2e/oidc-provider/server.mjs` on loopback. The app is the
//! `dev` binary (what `cargo run` starts) configured for that issuer, and
//! every step goes through the provider's own login and consent pages with
//! a cookie-jar HTTP client.
//!
//! Needs Node.js (>= 20; 22 LTS is what oidc-provider 9 supports) on PATH.
//! Installs the provider with `npm ci` when `node_modules` is missing.

use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;
use testkit::{
    Browser, ChildLog, Page, Process, clean_command, free_port, node_suite, query_pairs, spawn,
    spawn_command,
};

/// `cargo run`'s binary: the dev server.
static DEV: std::sync::LazyLock<String> = std::sync::LazyLock::new(testkit::dev_server_bin);
const OP_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/e2e/oidc-provider");
/// The one account of `server.mjs`: every login becomes this user.
const SUBJECT: &str = "user_demo_123";
/// The access token lifetime the provider is started with; distinctive, so
/// the cookie's `Max-Age` is seen to come from `expires_in`.
/// Short, so that a test sees the app refresh: the refresh is due a
/// quarter of the lifetime before expiry.
const ACCESS_TOKEN_TTL: u64 = 4;

/// The four clients `server.mjs` registers, and how the app is set up for
/// them.
#[derive(Clone, Copy, Debug)]
enum Client {
    Post,
    Basic,
    Public,
    /// `client_secret_post`, its ID tokens signed PS256 (RFC 7518 §3.5).
    Ps256,
    /// `client_secret_post`, its ID tokens signed ES256 (RFC 7518 §3.4).
    Es256,
    /// `client_secret_post`, its ID tokens signed ES384 (RFC 7518 §3.4).
    Es384,
    /// `client_secret_post`, its ID tokens signed Ed25519 (RFC 9864)
    /// by a key whose JWK names no algorithm.
    Ed25519,
    /// The Basic client, of a provider that offers only Basic and `none`,
    /// with no `VERCEL_APP_TOKEN_AUTH`: the app chooses from the metadata.
    BasicUnconfigured,
    /// The Basic client, of a provider that offers only Basic and `none`
    /// and lists no client authentication methods in its metadata, with no
    /// `VERCEL_APP_TOKEN_AUTH`: the app uses RFC 8414 §2's default, Basic.
    BasicUnlisted,
}

impl Client {
    fn id(self) -> &'static str {
        match self {
            Self::Post => "post-client",
            Self::Basic | Self::BasicUnconfigured | Self::BasicUnlisted => "basic-client",
            Self::Public => "public-client",
            Self::Ps256 => "ps256-client",
            Self::Es256 => "es256-client",
            Self::Es384 => "es384-client",
            Self::Ed25519 => "ed25519-client",
        }
    }

    fn secret(self) -> Option<&'static str> {
        match self {
            Self::Post => Some("post-secret"),
            Self::Basic | Self::BasicUnconfigured | Self::BasicUnlisted => Some("basic-secret"),
            Self::Public => None,
            Self::Ps256 => Some("ps256-secret"),
            Self::Es256 => Some("es256-secret"),
            Self::Es384 => Some("es384-secret"),
            Self::Ed25519 => Some("ed25519-secret"),
        }
    }

    /// The algorithm `server.mjs` signs this client's ID tokens with.
    fn alg(self) -> &'static str {
        match self {
            Self::Ps256 => "PS256",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Ed25519 => "Ed25519",
            _ => "RS256",
        }
    }

    /// The key type (RFC 7517 §4.1) and the `alg` member (absent: null)
    /// of the published key this client's ID tokens are signed by.
    fn key(self) -> (&'static str, Value) {
        match self {
            Self::Es256 | Self::Es384 => ("EC", self.alg().into()),
            Self::Ed25519 => ("OKP", Value::Null),
            _ => ("RSA", self.alg().into()),
        }
    }

    /// `VERCEL_APP_TOKEN_AUTH` (empty counts as unset).
    fn method(self) -> &'static str {
        match self {
            Self::Post | Self::Ps256 | Self::Es256 | Self::Es384 | Self::Ed25519 => {
                "client_secret_post"
            }
            Self::Basic => "client_secret_basic",
            Self::Public => "none",
            Self::BasicUnconfigured | Self::BasicUnlisted => "",
        }
    }

    /// The client authentication methods the provider offers and lists
    /// (`token_endpoint_auth_methods_supported`).
    fn offered(self) -> &'static str {
        match self {
            Self::BasicUnconfigured | Self::BasicUnlisted => "client_secret_basic,none",
            _ => "client_secret_basic,client_secret_post,none",
        }
    }

    /// Whether the provider's metadata leaves its client authentication
    /// methods unlisted (`UNLISTED_AUTH_METHODS`).
    fn unlisted(self) -> bool {
        matches!(self, Self::BasicUnlisted)
    }
}

/// Node.js is there (else the test fails, naming what to install) and the
/// provider's packages are installed (else `npm ci` installs them), once
/// per test binary.
fn node_ready() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        node_suite("oidc-provider", "oidc-provider");
    });
}

/// The provider process (testkit's [`Process`]: killed on drop), and its
/// stderr.
struct Provider {
    _process: Process,
    issuer: String,
    stderr: ChildLog,
}

impl Provider {
    /// Starts `server.mjs` on an ephemeral loopback port (the OS picks it,
    /// so no other process can take it first), for `redirect_uri`; `rotate`:
    /// whether a refresh issues a new refresh token; `client`: whose
    /// authentication methods it offers, and whether it lists them.
    fn start(redirect_uri: &str, rotate: bool, client: Client) -> Self {
        node_ready();
        let stderr = ChildLog::new("oidc-provider");
        let mut command = clean_command("node");
        command
            .arg(Path::new(OP_DIR).join("server.mjs"))
            .current_dir(OP_DIR)
            .stderr(stderr.file());
        for var in [
            "ISSUER",
            "HOST",
            "REFRESH_TOKEN_TTL",
            "CONFORM_ID_TOKEN_CLAIMS",
            "ROTATE_REFRESH_TOKENS",
            "CLIENT_AUTH_METHODS",
            "UNLISTED_AUTH_METHODS",
            "NODE_OPTIONS",
        ] {
            command.env_remove(var);
        }
        command
            .env("PORT", "0")
            .env("HOST", "127.0.0.1")
            .env("REDIRECT_URIS", redirect_uri)
            .env("ACCESS_TOKEN_TTL", ACCESS_TOKEN_TTL.to_string())
            .env("ROTATE_REFRESH_TOKENS", rotate.to_string())
            .env("CLIENT_AUTH_METHODS", client.offered())
            .env("UNLISTED_AUTH_METHODS", client.unlisted().to_string())
            .env("SCOPES", sign_in_with_vercel::SCOPES.join(" "));
        let (process, ready) = spawn_command(&mut command, "oidc-provider", "READY ");
        let ready: Value = serde_json::from_str(ready.trim_start_matches("READY ")).unwrap();
        let port = ready["port"].as_u64().unwrap();
        let issuer = ready["issuer"].as_str().unwrap().to_owned();
        assert_eq!(issuer, format!("http://127.0.0.1:{port}"));
        Self {
            _process: process,
            issuer,
            stderr,
        }
    }

    /// The JOSE header of each ID token the provider has issued so far, in
    /// order (`server.mjs` writes them to its stderr).
    fn id_token_headers(&self) -> Vec<Value> {
        self.stderr
            .text()
            .lines()
            .filter_map(|line| line.strip_prefix("ID_TOKEN_HEADER "))
            .map(|header| serde_json::from_str(header).unwrap())
            .collect()
    }

    /// The claims' names of each ID token the provider has issued so far,
    /// in order.
    fn id_token_claim_names(&self) -> Vec<Vec<String>> {
        self.stderr
            .text()
            .lines()
            .filter_map(|line| line.strip_prefix("ID_TOKEN_CLAIMS "))
            .map(|names| serde_json::from_str(names).unwrap())
            .collect()
    }
}

/// The provider and the app (`cargo run`'s server) configured for it as a
/// real Vercel app would be, with one of the provider's clients.
struct Stack {
    // Dropped in this order: the app, then the provider.
    _app: Process,
    op: Provider,
    app: String,
    metadata: Value,
    env: Vec<(&'static str, String)>,
}

impl Stack {
    async fn start(client: Client) -> Self {
        Self::start_with(client, true).await
    }

    /// [`Stack::start`] with a provider that rotates refresh tokens or not.
    async fn start_with(client: Client, rotate: bool) -> Self {
        let app_port = free_port();
        let app = format!("http://localhost:{app_port}");
        let op = Provider::start(&format!("{app}/api/auth/callback"), rotate, client);
        let env = [
            ("PORT", app_port.to_string()),
            ("VERCEL_APP_CLIENT_ID", client.id().to_owned()),
            // Empty counts as unset, and beats a stray .env.local.
            (
                "VERCEL_APP_CLIENT_SECRET",
                client.secret().unwrap_or_default().to_owned(),
            ),
            ("VERCEL_APP_TOKEN_AUTH", client.method().to_owned()),
            ("VERCEL_OAUTH_ISSUER", op.issuer.clone()),
            ("APP_URL", String::new()),
            // Shared by every instance of the app (the test's secrets are
            // too short to derive the session key from).
            (
                "AUTH_SECRET",
                "oidc-provider-suite-auth-secret-0123456789".into(),
            ),
        ];
        let env: Vec<(&'static str, String)> = env.to_vec();
        let (dev, _) = spawn(&DEV, &env, "Press Ctrl+C to stop.");
        let discovery = Browser::default()
            .get(&format!("{}/.well-known/openid-configuration", op.issuer))
            .await;
        assert_eq!(discovery.status, 200, "{}", discovery.body);
        let metadata = discovery.json();
        assert_eq!(metadata["issuer"], op.issuer.as_str());
        Self {
            _app: dev,
            op,
            app,
            metadata,
            env,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app)
    }

    /// Another instance of the same app (its own process, sharing nothing
    /// in memory) on another port of the same host, so the browser sends
    /// it the same cookies.
    fn another_instance(&self) -> (Process, String) {
        let port = free_port();
        let mut env = self.env.clone();
        env.retain(|(k, _)| *k != "PORT");
        env.push(("PORT", port.to_string()));
        let (process, _) = spawn(&DEV, &env, "Press Ctrl+C to stop.");
        (process, format!("http://localhost:{port}"))
    }

    fn endpoint(&self, name: &str) -> String {
        self.metadata[name]
            .as_str()
            .unwrap_or_else(|| panic!("the provider advertises no {name}"))
            .to_owned()
    }
}

/// Follows redirects from `page` until the next one goes to the app's
/// callback; returns that URL, unvisited, and the provider pages met on the
/// way ("login", "consent"), whose forms it submits (any login and password).
async fn through_provider(
    browser: &mut Browser,
    stack: &Stack,
    mut page: Page,
) -> (String, Vec<&'static str>) {
    let callback = stack.url("/api/auth/callback");
    let mut visit = Vec::new();
    for _ in 0..20 {
        if let Some(next) = page.redirect() {
            if next.starts_with(&format!("{callback}?")) {
                return (next, visit);
            }
            page = browser.get(&next).await;
            continue;
        }
        assert_eq!(page.status, 200, "{}: {}", page.url, page.body);
        assert!(
            page.url
                .starts_with(&format!("{}/interaction/", stack.op.issuer)),
            "expected one of the provider's interaction pages, got {} ({})",
            page.url,
            page.body
        );
        let mut extra: Vec<(&str, &str)> = Vec::new();
        if page.body.contains(r#"name="prompt" value="login""#) {
            assert!(page.body.contains(r#"name="password""#), "login page");
            visit.push("login");
            extra.push(("login", "demo"));
            extra.push(("password", "any password"));
        } else if page.body.contains(r#"name="prompt" value="consent""#) {
            visit.push("consent");
        } else {
            panic!("unknown provider page {}:\n{}", page.url, page.body);
        }
        page = browser.submit(&page, &extra).await;
    }
    panic!("never came back to {callback}");
}

/// Clicks "Sign in", signs in and consents at the provider; returns the
/// callback URL the provider sent the browser to, not yet visited.
async fn to_callback(browser: &mut Browser, stack: &Stack) -> String {
    let start = browser.get(&stack.url("/api/auth/authorize")).await;
    assert_eq!(start.status, 302, "authorize: {}", start.body);
    let location = start.location().unwrap();
    assert!(
        location.starts_with(&stack.endpoint("authorization_endpoint")),
        "{location}"
    );
    let (callback, visit) = through_provider(browser, stack, start).await;
    assert_eq!(
        visit,
        ["login", "consent"],
        "the provider's own login page, then its consent page"
    );
    callback
}

fn with_query(url: &str, pairs: &[(String, String)]) -> String {
    let mut url = url::Url::parse(url).unwrap();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

fn signed_in(browser: &Browser) -> bool {
    !browser.jar("localhost").session_names().is_empty()
}

/// Waits until the access token is due for a refresh.
async fn until_refresh_is_due() {
    tokio::time::sleep(std::time::Duration::from_millis(
        ACCESS_TOKEN_TTL * 1000 - 500,
    ))
    .await;
}

/// The whole life of a session with `client`: sign-in through the
/// provider's pages, userinfo, introspection, a refresh with rotation,
/// sign-out with revocation, and the provider's own word that the last
/// access token is dead.
async fn whole_session(client: Client) {
    let stack = Stack::start(client).await;
    let mut browser = Browser::default();
    let listed = &stack.metadata["token_endpoint_auth_methods_supported"];
    if client.unlisted() {
        for member in [
            "token_endpoint_auth_methods_supported",
            "introspection_endpoint_auth_methods_supported",
            "revocation_endpoint_auth_methods_supported",
        ] {
            assert!(stack.metadata.get(member).is_none(), "{member} listed");
        }
    } else {
        let mut listed: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        listed.sort_unstable();
        assert_eq!(listed.join(","), client.offered(), "the provider's list");
    }
    let algorithms = &stack.metadata["id_token_signing_alg_values_supported"];
    assert!(
        algorithms
            .as_array()
            .unwrap()
            .iter()
            .any(|alg| alg == client.alg()),
        "{algorithms}"
    );

    let callback = to_callback(&mut browser, &stack).await;
    let params = query_pairs(&callback);
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert!(param("code").is_some(), "{callback}");
    assert_eq!(param("iss").as_deref(), Some(stack.op.issuer.as_str()));
    let back = browser.get(&callback).await;
    assert_eq!(back.status, 302, "callback: {}", back.body);
    assert_eq!(back.location().as_deref(), Some("/profile"));
    // One sealed session cookie, kept as long as the refresh token lives.
    assert_eq!(back.max_age("session.", false), Some(30 * 24 * 3600));
    assert_eq!(
        back.max_age("oauth_flow.", true),
        Some(0),
        "flow cookie cleared"
    );
    let profile = browser.follow(back).await;
    assert_eq!(profile.status, 200);
    assert_eq!(profile.url, stack.url("/profile"));
    let who = browser.get(&stack.url("/api/auth/session")).await;
    assert_eq!(who.json()["user"]["sub"], SUBJECT, "the ID token's sub");

    // userinfo through the app: the provider's account.
    let user = browser.get(&stack.url("/api/user-info")).await;
    assert_eq!(user.status, 200, "user-info: {}", user.body);
    let user = user.json()["userInfo"].clone();
    assert_eq!(user["sub"], SUBJECT);
    assert_eq!(user["email"], "demo@example.com");
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["name"], "Demo User");
    assert_eq!(user["preferred_username"], "demo");
    assert_eq!(user["picture"], "http://127.0.0.1/avatar.png");

    // Introspection through the app (with this client's authentication).
    let valid = browser.get(&stack.url("/api/validate-token")).await;
    assert_eq!(valid.status, 200, "validate-token: {}", valid.body);
    let valid = valid.json();
    assert_eq!(valid["message"], "Token is valid");
    let info = &valid["tokenInfo"];
    assert_eq!(info["active"], true);
    assert_eq!(info["sub"], SUBJECT);
    assert_eq!(info["client_id"], client.id());
    assert_eq!(info["iss"], stack.op.issuer.as_str());
    let scope = info["scope"].as_str().unwrap();
    for s in sign_in_with_vercel::SCOPES {
        assert!(
            scope.split(' ').any(|x| x == *s),
            "scope {scope:?} lacks {s}"
        );
    }

    // Near expiry the app refreshes, and the provider rotates the tokens.
    let before = browser.jar("localhost").session_names();
    until_refresh_is_due().await;
    let user = browser.get(&stack.url("/api/user-info")).await;
    assert_eq!(user.status, 200, "refreshed: {}", user.body);
    assert_eq!(user.json()["userInfo"]["sub"], SUBJECT);
    let after = browser.jar("localhost").session_names();
    assert_eq!(after.len(), 1);
    assert_ne!(after, before, "a new session generation");
    // Both the sign-in's and the refresh's ID tokens were signed with the
    // client's algorithm, by a published key of that type.
    let headers = stack.op.id_token_headers();
    assert!(headers.len() >= 2, "sign-in and refresh: {headers:?}");
    let jwks = Browser::default()
        .get(&stack.endpoint("jwks_uri"))
        .await
        .json();
    let (kty, alg_member) = client.key();
    for header in &headers {
        assert_eq!(header["alg"], client.alg(), "{header}");
        let published = jwks["keys"].as_array().unwrap().iter().any(|key| {
            key["kid"] == header["kid"] && key["kty"] == kty && key["alg"] == alg_member
        });
        assert!(published, "{header} in {jwks}");
    }
    // The sign-in's ID token carried at_hash, which the app checked with
    // the hash of the token's algorithm (OpenID Connect Core §3.2.2.9).
    let names = stack.op.id_token_claim_names();
    assert!(names[0].iter().any(|name| name == "at_hash"), "{names:?}");
    let valid = browser.get(&stack.url("/api/validate-token")).await;
    assert_eq!(valid.status, 200, "{}", valid.body);

    // Sign-out revokes at the provider and clears the cookies.
    let copy = browser.clone();
    let out = browser.post(&stack.url("/api/auth/signout"), &[]).await;
    assert_eq!(out.status, 200, "signout: {}", out.body);
    assert_eq!(out.json()["signedOut"], true);
    assert_eq!(out.json()["revoked"], true);
    // The session is cleared.
    testkit::assert_no_session(browser.jar("localhost"));
    assert_eq!(browser.get(&stack.url("/api/user-info")).await.status, 401);
    // The provider's own word: a copy of the cookie from before the
    // sign-out still opens, but introspection says its token is dead, and
    // the one refresh tried then is refused: the grant is revoked. Without
    // a store that may be a race lost to another instance: 409, the copy
    // deleted. (The same if the access token expired meanwhile: the
    // refresh before introspection is refused.)
    let mut copy = copy;
    let dead = copy.get(&stack.url("/api/validate-token")).await;
    assert_eq!(
        dead.status, 409,
        "validate-token after sign-out: {}",
        dead.body
    );
    assert_eq!(
        dead.json()["error"],
        "session_refresh_conflict",
        "{}",
        dead.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn client_secret_post_whole_session() {
    whole_session(Client::Post).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn client_secret_basic_whole_session() {
    whole_session(Client::Basic).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn public_client_whole_session() {
    whole_session(Client::Public).await;
}

/// A provider that signs this client's ID tokens ES256 and lists ES256 in
/// its metadata: sign-in and refresh verify them with its P-256 key.
#[tokio::test(flavor = "multi_thread")]
async fn es256_signed_id_tokens_whole_session() {
    whole_session(Client::Es256).await;
}

/// PS256 (RSASSA-PSS), by the RSA key the provider's key set binds to
/// PS256, beside another bound to RS256.
#[tokio::test(flavor = "multi_thread")]
async fn ps256_signed_id_tokens_whole_session() {
    whole_session(Client::Ps256).await;
}

/// ES384, by its P-384 key; at_hash taken with SHA-384.
#[tokio::test(flavor = "multi_thread")]
async fn es384_signed_id_tokens_whole_session() {
    whole_session(Client::Es384).await;
}

/// Ed25519, by an Ed25519 key whose JWK names no algorithm; at_hash taken
/// with SHA-512.
#[tokio::test(flavor = "multi_thread")]
async fn ed25519_signed_id_tokens_whole_session() {
    whole_session(Client::Ed25519).await;
}

/// A provider whose metadata lists only `client_secret_basic` (and `none`)
/// for its token endpoint, and an app given no `VERCEL_APP_TOKEN_AUTH`: the
/// app authenticates with Basic at the token and introspection endpoints
/// (and revocation), where the secret in the body is refused.
#[tokio::test(flavor = "multi_thread")]
async fn basic_is_chosen_from_the_metadata_when_not_configured() {
    whole_session(Client::BasicUnconfigured).await;
}

/// A provider whose metadata lists no client authentication methods, which
/// takes the secret by Basic only, and an app given no
/// `VERCEL_APP_TOKEN_AUTH`: the app uses RFC 8414 §2's default, Basic, at
/// the token, introspection and revocation endpoints.
#[tokio::test(flavor = "multi_thread")]
async fn basic_is_the_default_when_the_metadata_lists_no_methods() {
    whole_session(Client::BasicUnlisted).await;
}

/// Cancel on the provider's login page lands on the app's error page with
/// `access_denied`, and no session.
#[tokio::test(flavor = "multi_thread")]
async fn cancel_at_the_provider_shows_access_denied() {
    let stack = Stack::start(Client::Post).await;
    let mut browser = Browser::default();
    let login = browser.visit(&stack.url("/api/auth/authorize")).await;
    assert_eq!(login.status, 200);
    assert!(
        login
            .url
            .starts_with(&format!("{}/interaction/", stack.op.issuer))
    );
    let abort = format!("{}/abort", login.url);
    assert!(
        login.body.contains(&format!("href=\"{abort}\"")),
        "the login page links to {abort}:\n{}",
        login.body
    );
    assert_eq!(browser.jar("localhost").flow_names().len(), 1);
    let cancelled = browser.get(&abort).await;
    let (callback, visit) = through_provider(&mut browser, &stack, cancelled).await;
    assert!(visit.is_empty(), "{visit:?}");
    let params = query_pairs(&callback);
    assert!(
        params.contains(&("error".into(), "access_denied".into())),
        "{callback}"
    );
    assert!(
        params.contains(&("iss".into(), stack.op.issuer.clone())),
        "{callback}"
    );
    let page = browser.visit(&callback).await;
    assert_eq!(page.url, stack.url("/auth/error?error=access_denied"));
    assert_eq!(page.status, 200);
    testkit::assert_no_session(browser.jar("localhost"));
    assert!(browser.jar("localhost").flow_names().is_empty());
}

/// A refresh token the app has rotated is spent. A tab of another
/// instance that still holds it (the old session) spends it again: the
/// provider answers `invalid_grant` and, detecting the reuse, revokes the
/// whole grant. The stale tab is told to retry (409), not that it is
/// signed out, and the newest session then ends at its next provider call
/// (a 409, then signed out): what a cross-instance race costs at a
/// provider that revokes on reuse.
#[tokio::test(flavor = "multi_thread")]
async fn reusing_a_rotated_refresh_token_ends_the_grant() {
    let stack = Stack::start(Client::Basic).await;
    let mut browser = Browser::default();
    let callback = to_callback(&mut browser, &stack).await;
    assert_eq!(browser.visit(&callback).await.url, stack.url("/profile"));
    let (_other, other) = stack.another_instance();
    let mut stale = browser.clone();
    tokio::time::sleep(std::time::Duration::from_millis(
        ACCESS_TOKEN_TTL * 1000 + 200,
    ))
    .await;
    let user = browser.get(&stack.url("/api/user-info")).await;
    assert_eq!(user.status, 200, "{}", user.body);

    let user = stale.get(&format!("{other}/api/user-info")).await;
    assert_eq!(user.status, 409, "{}", user.body);
    assert_eq!(user.json()["error"], "session_refresh_conflict");
    assert!(!signed_in(&stale), "the stale generation is deleted");

    // The grant is revoked: the newest session's token is refused, and the
    // refresh tried then too. Without a store that may be a race lost, so
    // 409 and the session cleared; the page's one retry is signed out.
    let user = browser.get(&stack.url("/api/user-info")).await;
    assert_eq!(user.status, 409, "the grant is revoked: {}", user.body);
    testkit::assert_no_session(browser.jar("localhost"));
    let user = browser.get(&stack.url("/api/user-info")).await;
    assert_eq!(user.status, 401, "{}", user.body);
}

/// A provider that keeps the refresh token on refresh (RFC 6749 §6): each
/// refresh that falls due is made, the next one seconds after the last (a
/// request must not be handed the outcome of the refresh before, which
/// used the same refresh token).
#[tokio::test(flavor = "multi_thread")]
async fn refreshes_follow_one_another_when_the_provider_keeps_the_refresh_token() {
    let stack = Stack::start_with(Client::Post, false).await;
    let mut browser = Browser::default();
    let callback = to_callback(&mut browser, &stack).await;
    assert_eq!(browser.visit(&callback).await.url, stack.url("/profile"));
    let mut generation = browser.jar("localhost").session_names();
    for refresh in 1..=3 {
        until_refresh_is_due().await;
        let user = browser.get(&stack.url("/api/user-info")).await;
        assert_eq!(user.status, 200, "refresh {refresh}: {}", user.body);
        let next = browser.jar("localhost").session_names();
        assert_ne!(next, generation, "refresh {refresh} made a new session");
        generation = next;
    }
}

/// The provider promises `iss` in authorization responses (RFC 9207), so
/// the app refuses a callback whose `iss` is another issuer or missing, and
/// takes the untouched one.
#[tokio::test(flavor = "multi_thread")]
async fn callback_iss_is_checked() {
    let stack = Stack::start(Client::Public).await;
    assert_eq!(
        stack.metadata["authorization_response_iss_parameter_supported"],
        true
    );
    let tamper = |callback: &str, iss: Option<&str>| {
        let mut params: Vec<(String, String)> = query_pairs(callback)
            .into_iter()
            .filter(|(k, _)| k != "iss")
            .collect();
        if let Some(iss) = iss {
            params.push(("iss".into(), iss.into()));
        }
        with_query(callback, &params)
    };
    let trailing_slash = format!("{}/", stack.op.issuer);
    let cases = [
        (
            Some("http://127.0.0.1:1"),
            "/auth/error?error=invalid_response",
        ),
        (Some(&*trailing_slash), "/auth/error?error=invalid_response"),
        (None, "/auth/error?error=invalid_response"),
        (Some(stack.op.issuer.as_str()), "/profile"),
    ];
    for (iss, landing) in cases {
        let mut browser = Browser::default();
        let callback = to_callback(&mut browser, &stack).await;
        let page = browser.visit(&tamper(&callback, iss)).await;
        assert_eq!(page.url, stack.url(landing), "iss={iss:?}");
        assert_eq!(page.status, 200);
        assert_eq!(signed_in(&browser), landing == "/profile", "iss={iss:?}");
    }
}
