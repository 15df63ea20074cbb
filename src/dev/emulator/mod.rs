//! A local emulator of Vercel's authorization server (Sign in with Vercel),
//! following Vercel's Authorization Server API as closely as a test double
//! can, so that an app that works against it works against Vercel.
//!
//! It serves discovery, the JWK Set, `/oauth/authorize` with a sign-in and
//! consent page, and the token, revocation, introspection and userinfo
//! endpoints at Vercel's paths. Users, clients and token lifetimes come
//! from [`EmulatorConfig`]. It runs over HTTP ([`Emulator::serve`], the
//! `emulator` binary, `cargo run`) or in process as an [`HttpClient`].

mod endpoints;
mod keys;
mod pages;
mod store;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use keys::{Signing, SigningKey};

use crate::auth::Clock;
use crate::transport::{BoxFuture, HttpClient, HttpRequest, HttpResponse, TransportError};

/// A user who can sign in at the emulator.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct User {
    /// Subject identifier.
    pub sub: String,
    /// Full name (`profile` scope).
    pub name: String,
    /// Username (`profile` scope).
    pub preferred_username: String,
    /// Email address (`email` scope).
    pub email: String,
    /// Whether the address is verified.
    #[serde(default = "yes")]
    pub email_verified: bool,
    /// Avatar URL (`profile` scope).
    #[serde(default)]
    pub picture: Option<String>,
}

fn yes() -> bool {
    true
}

/// An app registered at the emulator, as in the Vercel dashboard.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Client {
    /// The client ID.
    pub client_id: String,
    /// The app's name on the consent page.
    #[serde(default = "default_app_name")]
    pub name: String,
    /// The client secret; none for a public client.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// `client_secret_post`, `client_secret_basic` or `none`.
    #[serde(default = "default_auth_method")]
    pub token_endpoint_auth_method: String,
    /// The Authorization Callback URLs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// The permissions configured for the app.
    #[serde(default = "all_scopes")]
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "token_endpoint_auth_method",
                &self.token_endpoint_auth_method,
            )
            .field("redirect_uris", &self.redirect_uris)
            .field("scopes", &self.scopes)
            .finish()
    }
}

fn default_app_name() -> String {
    "Local app".to_owned()
}

fn default_auth_method() -> String {
    "client_secret_post".to_owned()
}

/// Every scope Sign in with Vercel offers.
pub const SCOPES: [&str; 4] = ["openid", "email", "profile", "offline_access"];

fn all_scopes() -> Vec<String> {
    SCOPES.iter().map(|s| (*s).to_owned()).collect()
}

/// What the token endpoint does when a spent refresh token comes back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReusePolicy {
    /// Only the reused token fails.
    #[default]
    Reject,
    /// The whole grant is revoked too (RFC 9700 §4.14.2).
    RevokeGrant,
}

/// Users, clients and lifetimes. Read from a JSON file or built in code;
/// [`EmulatorConfig::default`] has one demo user and no client.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmulatorConfig {
    /// Who can sign in.
    #[serde(default = "demo_users")]
    pub users: Vec<User>,
    /// Registered apps.
    #[serde(default)]
    pub clients: Vec<Client>,
    /// Access token lifetime, seconds (Vercel: 1 hour).
    #[serde(default = "hour")]
    pub access_token_ttl: u64,
    /// Refresh token lifetime, seconds (Vercel: 30 days).
    #[serde(default = "thirty_days")]
    pub refresh_token_ttl: u64,
    /// ID token lifetime, seconds.
    #[serde(default = "hour")]
    pub id_token_ttl: u64,
    /// Authorization code lifetime, seconds.
    #[serde(default = "minute")]
    pub code_ttl: u64,
    /// What a refresh-token reuse does.
    #[serde(default)]
    pub refresh_token_reuse: ReusePolicy,
}

fn hour() -> u64 {
    3600
}
fn thirty_days() -> u64 {
    30 * 24 * 3600
}
fn minute() -> u64 {
    60
}

/// The built-in demo user.
pub fn demo_user() -> User {
    User {
        sub: "usr_demo1234567890".to_owned(),
        name: "Demo User".to_owned(),
        preferred_username: "demo".to_owned(),
        email: "demo@example.com".to_owned(),
        email_verified: true,
        picture: Some(pages::avatar_data_url("DU")),
    }
}

fn demo_users() -> Vec<User> {
    vec![demo_user()]
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            users: demo_users(),
            clients: Vec::new(),
            access_token_ttl: hour(),
            refresh_token_ttl: thirty_days(),
            id_token_ttl: hour(),
            code_ttl: minute(),
            refresh_token_reuse: ReusePolicy::default(),
        }
    }
}

impl EmulatorConfig {
    /// Reads the configuration: the JSON file named by `EMULATOR_CONFIG`
    /// when set, else the default; then `EMULATOR_ACCESS_TOKEN_TTL`,
    /// `EMULATOR_REFRESH_TOKEN_TTL`, `EMULATOR_ID_TOKEN_TTL` and
    /// `EMULATOR_CODE_TTL` (seconds) override the lifetimes.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut config = match lookup("EMULATOR_CONFIG") {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("EMULATOR_CONFIG: cannot read {path}: {e}"))?;
                serde_json::from_str(&text).map_err(|e| {
                    format!("EMULATOR_CONFIG: {path} is not a valid configuration: {e}")
                })?
            }
            None => Self::default(),
        };
        for (name, slot) in [
            ("EMULATOR_ACCESS_TOKEN_TTL", &mut config.access_token_ttl),
            ("EMULATOR_REFRESH_TOKEN_TTL", &mut config.refresh_token_ttl),
            ("EMULATOR_ID_TOKEN_TTL", &mut config.id_token_ttl),
            ("EMULATOR_CODE_TTL", &mut config.code_ttl),
        ] {
            if let Some(value) = lookup(name) {
                *slot = value
                    .trim()
                    .parse()
                    .map_err(|_| format!("{name} must be a whole number of seconds"))?;
            }
        }
        if config.users.is_empty() {
            return Err("EMULATOR_CONFIG: at least one user is needed".into());
        }
        Ok(config)
    }
}

/// How many requests each endpoint has served.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// `/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.
    pub discovery: u64,
    /// `/.well-known/jwks`.
    pub jwks: u64,
    /// `/oauth/authorize` (page and decision).
    pub authorize: u64,
    /// `/login/oauth/token`.
    pub token: u64,
    /// `/login/oauth/token/revoke`.
    pub revoke: u64,
    /// `/login/oauth/token/introspect`.
    pub introspect: u64,
    /// `/login/oauth/userinfo`.
    pub userinfo: u64,
}

#[derive(Default)]
struct Counters {
    discovery: AtomicU64,
    jwks: AtomicU64,
    authorize: AtomicU64,
    token: AtomicU64,
    revoke: AtomicU64,
    introspect: AtomicU64,
    userinfo: AtomicU64,
}

/// A claims edit applied to every ID token issued while set.
pub type ClaimsEdit = Arc<dyn Fn(&mut Map<String, Value>) + Send + Sync>;

/// Deliberate misbehaviour, for the relying party's rejection tests. Set
/// through [`Emulator::faults`]; never reachable over HTTP.
#[derive(Clone, Default)]
pub struct Faults {
    /// How ID tokens are signed.
    pub signing: Signing,
    /// Edits the claims of ID tokens before signing.
    pub id_token_claims: Option<ClaimsEdit>,
    /// Makes userinfo answer with this `sub`.
    pub userinfo_sub: Option<String>,
    /// Makes the token endpoint answer with this status and JSON body.
    pub token_response: Option<(u16, String)>,
    /// Makes revocation answer with this status.
    pub revocation_status: Option<u16>,
    /// Makes every endpoint answer with this status.
    pub all_status: Option<u16>,
}

/// The emulator: configuration, keys and the tokens it has issued.
pub struct Emulator {
    issuer: String,
    config: Mutex<EmulatorConfig>,
    keys: Mutex<Vec<SigningKey>>,
    store: Mutex<store::Store>,
    faults: Mutex<Faults>,
    counters: Counters,
    clock: Clock,
}

impl Emulator {
    /// An emulator whose issuer identifier is `issuer` (for example
    /// `http://127.0.0.1:3001`), with a freshly generated signing key.
    pub fn new(issuer: impl Into<String>, config: EmulatorConfig) -> Arc<Self> {
        Self::with_key(issuer, config, SigningKey::generate())
    }

    /// Like [`Emulator::new`] with a given key ([`SigningKey::shared`] in tests).
    pub fn with_key(
        issuer: impl Into<String>,
        config: EmulatorConfig,
        key: SigningKey,
    ) -> Arc<Self> {
        Arc::new(Self {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            config: Mutex::new(config),
            keys: Mutex::new(vec![key]),
            store: Mutex::new(store::Store::default()),
            faults: Mutex::new(Faults::default()),
            counters: Counters::default(),
            clock: Arc::new(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64)
            }),
        })
    }

    /// Replaces the clock (tests move time forward without sleeping).
    pub fn set_clock(self: &mut Arc<Self>, clock: Clock) {
        if let Some(this) = Arc::get_mut(self) {
            this.clock = clock;
        }
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Registers (or replaces) a client.
    pub fn register_client(&self, client: Client) {
        let mut config = lock(&self.config);
        config.clients.retain(|c| c.client_id != client.client_id);
        config.clients.push(client);
    }

    /// The configured users.
    pub fn users(&self) -> Vec<User> {
        lock(&self.config).users.clone()
    }

    /// Sets the access token lifetime for tokens issued from now on.
    pub fn set_access_token_ttl(&self, seconds: u64) {
        lock(&self.config).access_token_ttl = seconds;
    }

    /// Sets what a refresh-token reuse does from now on.
    pub fn set_refresh_token_reuse(&self, policy: ReusePolicy) {
        lock(&self.config).refresh_token_reuse = policy;
    }

    /// The current faults, to change: `emulator.faults().signing = Signing::None`.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    /// Starts signing with a new key. With `keep_old`, the old key stays in
    /// the JWK Set (a graceful rotation); without, it is dropped.
    pub fn rotate_key(&self, keep_old: bool) {
        let mut keys = lock(&self.keys);
        if !keep_old {
            keys.clear();
        }
        keys.insert(0, SigningKey::generate());
    }

    /// Request counts per endpoint since start.
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            discovery: get(&c.discovery),
            jwks: get(&c.jwks),
            authorize: get(&c.authorize),
            token: get(&c.token),
            revoke: get(&c.revoke),
            introspect: get(&c.introspect),
            userinfo: get(&c.userinfo),
        }
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Answers one request. Bodies are fully buffered; the HTTP server and
    /// the in-process client both come here.
    pub fn handle(&self, request: &http::Request<Vec<u8>>) -> http::Response<Bytes> {
        endpoints::handle(self, request)
    }

    /// Serves the emulator over HTTP on `listener` until the returned
    /// server is dropped.
    pub fn serve(
        self: &Arc<Self>,
        listener: std::net::TcpListener,
    ) -> std::io::Result<crate::dev::Server> {
        let emulator = self.clone();
        crate::dev::serve(listener, move |request| {
            let emulator = emulator.clone();
            async move { emulator.handle(&request) }
        })
    }
}

impl HttpClient for Emulator {
    /// Runs the request in process: no socket, same code as over HTTP.
    fn execute(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let response = self.handle(&request);
        Box::pin(async move {
            let (parts, body) = response.into_parts();
            Ok(http::Response::from_parts(parts, body.to_vec()))
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Parameters of a form body or query, refusing repeats.
fn form_params(bytes: &[u8]) -> Result<HashMap<String, String>, &'static str> {
    let mut params = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(bytes) {
        if params.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err("a parameter is repeated");
        }
    }
    Ok(params)
}
