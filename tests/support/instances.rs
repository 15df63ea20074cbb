//! The app as Vercel runs it, for the cross-instance suites: every function
//! its own process (several instances of the identity routes), behind
//! testkit's router on one origin; the emulator serving its three origins
//! over HTTP;
//! and, when asked, a real `redis-server` as the shared session store.

use std::path::PathBuf;
use std::sync::Arc;

use sign_in_with_vercel_emulator::{
    Client, Emulator, EmulatorConfig, ReusePolicy, Running, SigningKey,
};
use testkit::{Function, Functions, RedisServer};

use testkit::{Browser, Page};

pub const CLIENT: &str = "cl_instances";
pub const SECRET: &str = "instances-client-secret-0123456789abcdef";
pub const AUTH_SECRET: &str = "instances-auth-secret-0123456789abcdef-01";
/// The app's origin: the router is in the test, so every stack has the same.
const APP: &str = "http://localhost:3000";

/// The routes a burst hits: each a function of its own.
pub const IDENTITY_ROUTES: [&str; 3] =
    ["/api/user-info", "/api/validate-token", "/api/auth/session"];

/// The function binaries of the app (built by Cargo for this package's tests).
fn exe(name: &str) -> PathBuf {
    let path = match name {
        "authorize" => env!("CARGO_BIN_EXE_authorize"),
        "callback" => env!("CARGO_BIN_EXE_callback"),
        "session" => env!("CARGO_BIN_EXE_session"),
        "signout" => env!("CARGO_BIN_EXE_signout"),
        "user-info" => env!("CARGO_BIN_EXE_user-info"),
        "validate-token" => env!("CARGO_BIN_EXE_validate-token"),
        other => panic!("no function {other}"),
    };
    PathBuf::from(path)
}

/// How a stack is set up.
pub struct Setup {
    /// Instances of each identity route's function.
    pub instances: usize,
    /// What the emulator does with a reused refresh token.
    pub reuse: ReusePolicy,
    /// The access token's life, seconds.
    pub access_token_ttl: u64,
    /// Whether the functions share a `redis-server`.
    pub store: bool,
    /// `REDIS_URL` to give instead of the server's (a store that is not
    /// there, or does not answer).
    pub store_url: Option<String>,
    /// `REDIS_CA_PEM`: the authorities a `rediss://` store is trusted by.
    pub store_authorities: Option<String>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            instances: 2,
            reuse: ReusePolicy::RevokeGrant,
            access_token_ttl: 3600,
            store: true,
            store_url: None,
            store_authorities: None,
        }
    }
}

pub struct Stack {
    pub emulator: Arc<Emulator>,
    pub functions: Arc<Functions>,
    pub redis: Option<RedisServer>,
    _servers: Running,
}

impl Stack {
    /// Starts everything; must run in a multi-threaded Tokio runtime.
    pub fn start(setup: Setup) -> Self {
        let bind = || std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let running = Emulator::start(
            [bind(), bind(), bind()],
            EmulatorConfig::default(),
            SigningKey::shared(),
        )
        .unwrap();
        let emulator = running.emulator().clone();
        let issuer = emulator.issuer().to_owned();
        emulator.set_access_token_ttl(setup.access_token_ttl);
        emulator.set_refresh_token_reuse(setup.reuse);

        let redis = setup.store.then(RedisServer::start);
        let mut env = vec![
            ("VERCEL_APP_CLIENT_ID", CLIENT.to_owned()),
            ("VERCEL_APP_CLIENT_SECRET", SECRET.to_owned()),
            ("VERCEL_OAUTH_ISSUER", issuer),
            ("AUTH_SECRET", AUTH_SECRET.to_owned()),
        ];
        if let Some(url) = setup
            .store_url
            .clone()
            .or_else(|| redis.as_ref().map(RedisServer::url))
        {
            env.push(("REDIS_URL", url));
        }
        if let Some(pem) = setup.store_authorities.clone() {
            env.push(("REDIS_CA_PEM", pem));
        }
        let (authorize, callback, signout) = (exe("authorize"), exe("callback"), exe("signout"));
        let (user_info, validate, session) =
            (exe("user-info"), exe("validate-token"), exe("session"));
        let one = |path, exe| Function {
            path,
            exe,
            instances: 1,
        };
        let many = |path, exe| Function {
            path,
            exe,
            instances: setup.instances,
        };
        let functions = Functions::start(
            APP,
            &[
                one("/api/auth/authorize", &authorize),
                one("/api/auth/callback", &callback),
                one("/api/auth/signout", &signout),
                many("/api/user-info", &user_info),
                many("/api/validate-token", &validate),
                many("/api/auth/session", &session),
            ],
            &env,
        );
        emulator.register_client(Client {
            client_id: CLIENT.into(),
            name: "Instances".into(),
            client_secret: Some(SECRET.into()),
            token_endpoint_auth_method: "client_secret_post".into(),
            redirect_uris: vec![format!("{APP}/api/auth/callback")],
            scopes: sign_in_with_vercel::SCOPES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        });
        Self {
            emulator,
            functions: Arc::new(functions),
            redis,
            _servers: running,
        }
    }

    pub fn app(&self) -> &str {
        self.functions.url()
    }

    /// A browser with no cookies that reaches the app through the router.
    pub fn browser(&self) -> Browser {
        Browser::new(self.functions.clone())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app())
    }

    /// Signs `browser` in as the demo user (the emulator's page, Allow).
    pub async fn sign_in(&self, browser: &mut Browser) {
        let consent = browser.visit(&self.url("/api/auth/authorize")).await;
        let page = if consent.url.starts_with(self.app()) {
            consent
        } else {
            let answer = browser.through_provider(consent, "allow").await;
            browser.follow(answer).await
        };
        assert_eq!(page.url, self.url("/profile"), "signed in");
    }

    /// Token requests the emulator has served so far.
    pub fn token_calls(&self) -> u64 {
        self.emulator.stats().token
    }

    /// Who `browser` is, as the session function sees it (`None`: signed out).
    pub async fn who(&self, browser: &Browser) -> Option<String> {
        let mut browser = browser.clone();
        let page = browser.get(&self.url("/api/auth/session")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        page.json()["user"]["sub"].as_str().map(str::to_owned)
    }
}

/// Applies `pages`' cookies to a copy of `jar`, in the order given.
pub fn apply<'a>(jar: &Browser, pages: impl Iterator<Item = &'a Page>) -> Browser {
    let mut end = jar.clone();
    for page in pages {
        end.store("localhost", &page.headers);
    }
    end
}
