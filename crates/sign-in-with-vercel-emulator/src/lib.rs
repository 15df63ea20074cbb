//! A local emulator of Vercel's authorization server (Sign in with Vercel),
//! following Vercel's Authorization Server API as closely as a test double
//! can, so that an app that works against it works against Vercel.
//!
//! Like Vercel, it answers on two origins: the issuer's (discovery, the JWK
//! Set, `/oauth/authorize` with a sign-in and consent page, avatars, and the
//! account page listing authorized apps) and the API's (the token,
//! revocation, introspection and userinfo endpoints), at Vercel's paths.
//! Users, clients, token lifetimes and the policies for what Vercel does not
//! document come from [`EmulatorConfig`]. It runs over HTTP
//! ([`Emulator::serve`], the `emulator` binary, `cargo run`) or in process
//! as an [`HttpClient`], routing by the request URL's authority either way.

mod config;
mod endpoints;
mod keys;
mod origins;
mod pages;
mod pkce;
mod secret;
pub mod server;
mod store;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value};

pub use config::{Client, EmulatorConfig, ReusePolicy, SCOPES, User, demo_user};
pub use keys::{Signing, SigningKey};
pub use origins::Origin;

pub use server::{Server, serve};

/// The current time in seconds since the epoch; tests pass one they move
/// forward without sleeping.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

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
    origins: origins::Origins,
    config: Mutex<EmulatorConfig>,
    keys: Mutex<Vec<SigningKey>>,
    store: Mutex<store::Store>,
    faults: Mutex<Faults>,
    counters: Counters,
    clock: Clock,
}

impl Emulator {
    /// An emulator whose issuer identifier is `issuer` (for example
    /// `http://127.0.0.1:3001`), with a freshly generated signing key. Its
    /// API origin is derived from the issuer: the next port
    /// (`http://127.0.0.1:3002`), or `api.` before a host without a port.
    pub fn new(issuer: impl Into<String>, config: EmulatorConfig) -> Arc<Self> {
        Self::with_key(issuer, config, SigningKey::generate())
    }

    /// Like [`Emulator::new`] with a given key ([`SigningKey::shared`] in tests).
    pub fn with_key(
        issuer: impl Into<String>,
        config: EmulatorConfig,
        key: SigningKey,
    ) -> Arc<Self> {
        let issuer = issuer.into();
        let api = origins::derive_api_origin(&issuer);
        Self::with_origins(issuer, api, config, key)
    }

    /// An emulator with both origins given: `issuer` (the issuer identifier,
    /// like `https://vercel.com`) and `api_origin` (like
    /// `https://api.vercel.com`), for servers on ports chosen at run time.
    pub fn with_origins(
        issuer: impl Into<String>,
        api_origin: impl Into<String>,
        config: EmulatorConfig,
        key: SigningKey,
    ) -> Arc<Self> {
        let issuer = issuer.into().trim_end_matches('/').to_owned();
        Arc::new(Self {
            origins: origins::Origins::new(&issuer, &api_origin.into()),
            issuer,
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

    /// The issuer identifier, also the origin of the authorization
    /// endpoint, the JWK Set, discovery, avatars and the account page.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The origin of the token, revocation, introspection and userinfo
    /// endpoints (like `https://api.vercel.com`).
    pub fn api_origin(&self) -> &str {
        &self.origins.api_origin
    }

    /// What the user does with "Remove" next to an app in Vercel's account
    /// settings (seed 004, "Revoking third-party application access"):
    /// every grant of `sub` to `client_id` is revoked, its codes and tokens
    /// with it, and the consent is forgotten, so the next sign-in shows the
    /// consent page again.
    pub fn remove_app(&self, sub: &str, client_id: &str) {
        let mut store = lock(&self.store);
        store
            .consents
            .remove(&(sub.to_owned(), client_id.to_owned()));
        store.revoke_grants_of(sub, client_id);
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

    fn client(&self, client_id: &str) -> Option<Client> {
        lock(&self.config)
            .clients
            .iter()
            .find(|c| c.client_id == client_id)
            .cloned()
    }

    /// Answers one request, routed by the origin its URL names (or, as a
    /// server receives it, its `Host`): an endpoint asked for on the other
    /// origin answers 404, as on Vercel. A bare path with no `Host` (a test
    /// calling this directly) is answered by whichever origin serves it.
    /// Bodies are fully buffered.
    pub fn handle(&self, request: &http::Request<Vec<u8>>) -> http::Response<Bytes> {
        endpoints::handle(self, self.origins.reached(request), request)
    }

    /// Answers one request that reached `origin`, whatever its `Host` says:
    /// what a server listening for that origin does.
    pub fn handle_at(
        &self,
        origin: Origin,
        request: &http::Request<Vec<u8>>,
    ) -> http::Response<Bytes> {
        endpoints::handle(self, origins::Reached::Origin(origin), request)
    }

    /// Serves the issuer origin on `issuer` and the API origin on `api`
    /// until the returned servers are dropped.
    pub fn serve(
        self: &Arc<Self>,
        issuer: std::net::TcpListener,
        api: std::net::TcpListener,
    ) -> std::io::Result<(Server, Server)> {
        Ok((
            self.serve_origin(Origin::Issuer, issuer)?,
            self.serve_origin(Origin::Api, api)?,
        ))
    }

    /// Serves one origin on `listener`.
    pub fn serve_origin(
        self: &Arc<Self>,
        origin: Origin,
        listener: std::net::TcpListener,
    ) -> std::io::Result<Server> {
        let emulator = self.clone();
        serve(listener, move |request| {
            let emulator = emulator.clone();
            async move { emulator.handle_at(origin, &request) }
        })
    }

    /// The avatar URL served for `user` from the issuer origin, at Vercel's
    /// path (`/api/www/avatar/<id>`), unless the user was configured with
    /// a picture of its own.
    pub fn picture_of(&self, user: &User) -> String {
        match &user.picture {
            Some(picture) => picture.clone(),
            None => format!(
                "{}{}{}",
                self.issuer,
                endpoints::AVATAR_PREFIX,
                pages::avatar_id(&user.sub)
            ),
        }
    }
}

/// With the `sign-in-with-vercel` feature, the emulator is the relying
/// party's HTTP client: `Auth::new(config).with_http_client(emulator)`
/// signs in against it with no socket.
#[cfg(feature = "sign-in-with-vercel")]
impl sign_in_with_vercel::HttpClient for Emulator {
    /// Runs the request in process: the same code as over HTTP, and the
    /// same routing by the URL's origin.
    fn execute(
        &self,
        request: sign_in_with_vercel::HttpRequest,
    ) -> sign_in_with_vercel::BoxFuture<
        '_,
        Result<sign_in_with_vercel::HttpResponse, sign_in_with_vercel::TransportError>,
    > {
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
