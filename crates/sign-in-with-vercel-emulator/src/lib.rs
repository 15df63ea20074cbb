//! A local emulator of Vercel's authorization server (Sign in with Vercel)
//! and of the parts of Vercel around it an app meets: the REST API's user
//! endpoints and the marketplace's SSO token exchange. It follows Vercel's
//! documentation as closely as a test double can, so that an app that
//! works against it works against Vercel; where Vercel documents nothing,
//! it takes the stricter reading and says so ([Guesses](#guesses)).
//!
//! # Origins
//!
//! Like Vercel, the emulator answers on three origins, each on its own
//! port when served over HTTP, and an endpoint asked for on another origin
//! answers 404, as on Vercel:
//!
//! | Origin | Like | Serves |
//! | --- | --- | --- |
//! | issuer ([`Emulator::issuer`], default port 3001) | `https://vercel.com` | discovery (`/.well-known/openid-configuration`, `/.well-known/oauth-authorization-server`), the JWK Set (`/.well-known/jwks`), `/oauth/authorize` with the login screen and the consent page, `/login`, `/logout`, avatars (`/api/www/avatar/<id>`), the account page (`/account/authorizations`), the SSO redirect login (`/sso/integrations/<client_id>`), the `/api/login/oauth/*` URLs of the examples in Vercel's Authorization Server API reference, and `/` (settings and guesses) |
//! | API ([`Emulator::api_origin`], default port 3002) | `https://api.vercel.com` | `/login/oauth/token`, `/login/oauth/token/revoke`, `/login/oauth/token/introspect`, `/login/oauth/userinfo`; the REST API's `GET /v2/user`, `POST /v3/user/tokens`, `GET /v6/user/tokens` (and `/v5`, as an older page of the reference has it), `GET /v5/user/tokens/<id>`, `DELETE /v3/user/tokens/<id>`; the SSO exchange `POST /v1/integrations/sso/token` |
//! | marketplace ([`Emulator::marketplace_issuer`], default port 3003) | `https://marketplace.vercel.com` | the issuer of SSO ID tokens: its discovery (`/.well-known/openid-configuration`) and JWK Set (`/.well-known/jwks`), with a signing key of its own |
//!
//! Discovery advertises the token, revocation, introspection and userinfo
//! endpoints on the API origin, as Vercel's does
//! (`https://vercel.com/.well-known/oauth-authorization-server`); the examples
//! in Vercel's Authorization Server API reference post to
//! `https://vercel.com/api/login/oauth/token` and its siblings instead, and the
//! issuer origin answers those too. `/login/oauth/*` without `/api` on the
//! issuer origin is a 404, as neither source names it.
//!
//! # Running it
//!
//! - In process: [`Emulator::new`] (origins derived from the issuer, see
//!   [`Origins::derived_from`]) or [`Emulator::at`], then
//!   [`Emulator::handle`] answers an [`http::Request`], routed by the
//!   origin its URL (or `Host`) names. A relying party's HTTP client trait
//!   is a few lines over it (the `sign-in-with-vercel` workspace's
//!   `testkit::InProcess` is one), so an app signs in with no socket.
//! - Over HTTP: [`Emulator::start_local`] serves the three origins on free
//!   ports of `127.0.0.1` until the [`Running`] it returns is dropped;
//!   [`Emulator::start`] does the same on listeners you bind, and
//!   [`Emulator::serve_origin`] serves one origin on one. Each needs a
//!   tokio runtime (the servers are tasks of the current one).
//! - Without a browser: [`Emulator::sign_in`] gives a test the session
//!   cookie of a signed-in browser and [`Emulator::grant_consent`] the
//!   consent of the consent page, so an authorization request is answered
//!   with a code at once.
//! - As a program: `cargo install sign-in-with-vercel-emulator` (or, in its
//!   repository, `cargo run -p sign-in-with-vercel-emulator`) runs
//!   `sign-in-with-vercel-emulator`, which prints its three origins.
//!
//! # Build profile
//!
//! An emulator makes an RSA key when it starts ([`SigningKey::generate`];
//! [`Emulator::new`] and [`Emulator::start_local`] call it), and its
//! marketplace issuer another when first asked. The `rsa` crate takes 1.5
//! to 6 seconds for one in an unoptimised (`dev` profile) build, a
//! fraction of a second optimised. Cargo reads profiles only from the workspace's
//! root manifest, so this crate cannot set them for you: in a project
//! whose tests use the emulator, add to the root `Cargo.toml`
//!
//! ```toml
//! # The emulator's RSA key generation is unusably slow unoptimised.
//! [profile.dev.package.num-bigint-dig]
//! opt-level = 3
//! [profile.dev.package.rsa]
//! opt-level = 3
//! ```
//!
//! (only those two crates are optimised; the rest of the build stays as it
//! is). Tests that start many emulators can also share one key
//! ([`SigningKey::shared`], with [`Emulator::with_key`] or
//! [`Emulator::start`]), made once per process.
//!
//! # Settings
//!
//! [`EmulatorConfig`] is read from a JSON file (`EMULATOR_CONFIG`) or built
//! in code; environment variables override some fields
//! ([`EmulatorConfig::from_lookup`]), and setters change some at run time.
//!
//! | Field | Variable | Setter | Default |
//! | --- | --- | --- | --- |
//! | `users` ([`User`]: `sub`, `name`, `preferred_username`, `email`, `email_verified`, `picture`, `account_id`, `role`) | | [`Emulator::set_user_role`] | [`demo_user`], ADMIN of the demo account |
//! | `clients` ([`Client`]) | | [`Emulator::register_client`] | none |
//! | `access_token_ttl` | `EMULATOR_ACCESS_TOKEN_TTL` | [`Emulator::set_access_token_ttl`] | 3600 s (Vercel: 1 hour) |
//! | `refresh_token_ttl` | `EMULATOR_REFRESH_TOKEN_TTL` | | 30 days (Vercel: 30 days), from the sign-in |
//! | `id_token_ttl` | `EMULATOR_ID_TOKEN_TTL` | | 3600 s |
//! | `code_ttl` | `EMULATOR_CODE_TTL` | | 60 s |
//! | `refresh_token_reuse` ([`ReusePolicy`]) | `EMULATOR_REFRESH_TOKEN_REUSE` | [`Emulator::set_refresh_token_reuse`] | `revoke_grant` |
//! | `authorization_response_iss` | `EMULATOR_AUTHORIZATION_RESPONSE_ISS` | [`Emulator::set_authorization_response_iss`] | `false` |
//! | `installations` ([`Installation`]) | | | derived IDs ([`Emulator::installation_id`]) |
//!
//! The program also reads `EMULATOR_PORT`, `EMULATOR_API_PORT` and
//! `EMULATOR_MARKETPLACE_PORT` (defaults 3001, 3002, 3003; 0 picks a free
//! port).
//!
//! # Signing in to the emulator
//!
//! Vercel's Authorization Server API reference (Authorization Endpoint): "If
//! the user is not logged in, Vercel will show a login screen and then the
//! consent page". Each browser has its own session (the `emulator_session`
//! cookie on the issuer origin): the login screen lists the configured users,
//! one click signs in as one (no password), and `POST /logout` signs out.
//! Consent is remembered per user and app, so two browsers can be two users.
//! `prompt=none` answers `login_required` in a browser that is not signed in.
//! The time of the browser's sign-in is the `auth_time` of its ID tokens; a
//! request whose `max_age` it exceeds shows the login screen again (OpenID
//! Connect Core §3.1.2.1).
//!
//! # Marketplace SSO tokens
//!
//! The SSO exchange's `id_token` is issued by the marketplace origin, as
//! Vercel's are by `https://marketplace.vercel.com` (Vercel's Marketplace
//! documentation, Partner API user authentication: OIDC tokens): RS256, `aud`
//! the integration's client ID, and the claims `sub`
//! (`account:<account_id>:user:<user_id>`), `account_id`, `installation_id`,
//! `user_id`, `user_role` (`ADMIN` or `USER`), `user_name`, `user_avatar_url`,
//! `user_email` when the user has one, `type` (`id_token`), `iat`, `exp` and
//! `nbf`.
//!
//! # Faults
//!
//! [`Emulator::set_faults`], [`Emulator::update_faults`] and
//! [`Emulator::faults`] make the emulator misbehave on purpose (bad
//! signatures, edited claims, failing endpoints) for a relying party's
//! rejection tests; they apply to the sign-in's ID tokens and to the
//! marketplace's alike, and are never reachable over HTTP. The guard
//! [`Emulator::faults`] returns must not be held across a request.
//!
//! # Guesses
//!
//! What Vercel does not document, and what the emulator does instead (also
//! listed on its index page, `/`):
//!
#![doc = include_str!("guesses.md")]
#![warn(missing_docs)]
#![warn(unnameable_types)]
#![warn(missing_debug_implementations)]

mod config;
mod endpoints;
mod faults;
mod keys;
mod origins;
mod pages;
mod pkce;
mod secret;
pub mod server;
mod stats;
mod store;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use serde_json::{Map, Value};

pub use config::{
    Client, DEMO_ACCOUNT_ID, EmulatorConfig, Installation, ReusePolicy, Role, SCOPES, User,
    demo_user,
};
pub use faults::{ClaimsEdit, Faults};
pub use keys::{Signing, SigningKey};
pub use origins::{Origin, Origins};

pub use server::{Server, serve};
use stats::Counters;
pub use stats::Stats;

/// The guesses listed on the index page and in this crate's documentation.
const GUESSES: &str = include_str!("guesses.md");

/// The current time in seconds since the epoch; tests pass one they move
/// forward without sleeping.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The emulator: configuration, keys and the tokens it has issued.
pub struct Emulator {
    origins: Origins,
    authorities: origins::Authorities,
    config: Mutex<EmulatorConfig>,
    /// The sign-in issuer's keys, current first; each shared, so that a
    /// token is signed after the lock is let go.
    keys: Mutex<Vec<Arc<SigningKey>>>,
    /// The marketplace issuer's keys, generated when first needed.
    marketplace_keys: Mutex<Vec<Arc<SigningKey>>>,
    store: Mutex<store::Store>,
    faults: Mutex<Faults>,
    counters: Counters,
    clock: Clock,
}

/// Its origins only: its configuration holds the clients' secrets, its
/// store the tokens it issued, its keys their private halves.
impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// An emulator whose issuer identifier is `issuer` (for example
    /// `http://127.0.0.1:3001`), with a freshly generated signing key. Its
    /// API and marketplace origins are derived from the issuer
    /// ([`Origins::derived_from`]): the next ports (`:3002`, `:3003`), or
    /// `api.` and `marketplace.` before a host without a port.
    pub fn new(issuer: impl Into<String>, config: EmulatorConfig) -> Arc<Self> {
        Self::with_key(issuer, config, SigningKey::generate())
    }

    /// Like [`Emulator::new`] with a given key ([`SigningKey::shared`] in tests).
    pub fn with_key(
        issuer: impl Into<String>,
        config: EmulatorConfig,
        key: SigningKey,
    ) -> Arc<Self> {
        Self::at(Origins::derived_from(&issuer.into()), config, key)
    }

    /// An emulator with the issuer and API origins given (`https://vercel.com`
    /// and `https://api.vercel.com`, or ports chosen at run time) and the
    /// marketplace origin derived ([`Origins::with_api`]).
    pub fn with_origins(
        issuer: impl Into<String>,
        api_origin: impl Into<String>,
        config: EmulatorConfig,
        key: SigningKey,
    ) -> Arc<Self> {
        Self::at(
            Origins::with_api(&issuer.into(), &api_origin.into()),
            config,
            key,
        )
    }

    /// An emulator on the three `origins` given; `key` signs the sign-in's
    /// ID tokens. The marketplace's key is generated when first needed.
    pub fn at(origins: Origins, config: EmulatorConfig, key: SigningKey) -> Arc<Self> {
        let origins = origins.normalized();
        Arc::new(Self {
            authorities: origins::Authorities::new(&origins),
            origins,
            config: Mutex::new(config),
            keys: Mutex::new(vec![Arc::new(key)]),
            marketplace_keys: Mutex::new(Vec::new()),
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
    ///
    /// # Panics
    ///
    /// When the emulator is already shared (cloned, or served): its other
    /// holders would go on with the old clock, and a test would run on the
    /// system clock without noticing.
    pub fn set_clock(self: &mut Arc<Self>, clock: Clock) {
        Arc::get_mut(self)
            .expect("set_clock is called before the emulator is shared")
            .clock = clock;
    }

    /// The issuer identifier, also the origin of the authorization
    /// endpoint, the JWK Set, discovery, avatars and the account page.
    pub fn issuer(&self) -> &str {
        &self.origins.issuer
    }

    /// The origin of the token, revocation, introspection and userinfo
    /// endpoints, the REST API and the SSO exchange (like
    /// `https://api.vercel.com`).
    pub fn api_origin(&self) -> &str {
        &self.origins.api
    }

    /// The marketplace issuer identifier, also its origin (like
    /// `https://marketplace.vercel.com`): the `iss` of SSO ID tokens.
    pub fn marketplace_issuer(&self) -> &str {
        &self.origins.marketplace
    }

    /// The three origins.
    pub fn origins(&self) -> &Origins {
        &self.origins
    }

    /// What the user does with "Remove" next to an app in Vercel's account
    /// settings (Vercel's user guide to Sign in with Vercel, "Revoking
    /// third-party application access"): every grant of `sub` to `client_id` is
    /// revoked, its codes and tokens with it, and the consent is forgotten, so
    /// the next sign-in shows the consent page again.
    pub fn remove_app(&self, sub: &str, client_id: &str) {
        let mut store = lock(&self.store);
        store
            .consents
            .remove(&(sub.to_owned(), client_id.to_owned()));
        let now = self.now();
        store.revoke_grants_of(sub, client_id, now);
    }

    /// Registers (or replaces) a client, checked as a configuration file's
    /// clients are ([`Emulator::try_register_client`]).
    ///
    /// # Panics
    ///
    /// When the client is one a configuration file could not register: a
    /// `token_endpoint_auth_method` other than `client_secret_basic` or
    /// `client_secret_post` with a secret, or `none` (or
    /// `client_secret_post`, the default) without one; a redirect URI that
    /// is not an absolute `http(s)` URL, or has a fragment. The message
    /// says which (never the secret). Such a client would otherwise fail
    /// later and elsewhere: `client_secret_basic` without a secret served
    /// as a public client, an unknown method refused at every token
    /// request.
    pub fn register_client(&self, client: Client) {
        if let Err(e) = self.try_register_client(client) {
            panic!("Emulator::register_client: {e}");
        }
    }

    /// Registers (or replaces) a client, unless it is one a configuration
    /// file could not register ([`Emulator::register_client`] says which):
    /// then nothing changes, and the error says why.
    pub fn try_register_client(&self, client: Client) -> Result<(), String> {
        client.check()?;
        let mut config = lock(&self.config);
        config.clients.retain(|c| c.client_id != client.client_id);
        config.clients.push(client);
        Ok(())
    }

    /// The configured users.
    pub fn users(&self) -> Vec<User> {
        lock(&self.config).users.clone()
    }

    /// Sets the role of user `sub` in its account (the marketplace's
    /// `user_role`) for tokens issued from now on. Unknown users are
    /// ignored.
    pub fn set_user_role(&self, sub: &str, role: Role) {
        if let Some(user) = lock(&self.config).users.iter_mut().find(|u| u.sub == sub) {
            user.role = role;
        }
    }

    /// Sets the access token lifetime for tokens issued from now on.
    pub fn set_access_token_ttl(&self, seconds: u64) {
        lock(&self.config).access_token_ttl = seconds;
    }

    /// Sets what a refresh-token reuse does from now on.
    pub fn set_refresh_token_reuse(&self, policy: ReusePolicy) {
        lock(&self.config).refresh_token_reuse = policy;
    }

    /// Sets whether authorization responses carry `iss` (RFC 9207) and
    /// discovery advertises `authorization_response_iss_parameter_supported`.
    pub fn set_authorization_response_iss(&self, on: bool) {
        lock(&self.config).authorization_response_iss = on;
    }

    /// Ends the life of one access token now, as its hour running out does
    /// at the provider, and leaves its refresh token alone: what an app
    /// whose clock runs behind the provider's meets. Unknown tokens are
    /// ignored.
    pub fn expire_access_token(&self, access_token: &str) {
        let now = self.now();
        if let Some(token) = lock(&self.store).access_tokens.get_mut(access_token) {
            token.expires_at = token.expires_at.min(now);
        }
    }

    /// Ends the life of every access token of user `sub` now, as
    /// [`Emulator::expire_access_token`] does one: for a test that cannot
    /// see the tokens (the app's functions hold them in their cookies).
    pub fn expire_access_tokens_of(&self, sub: &str) {
        let now = self.now();
        for token in lock(&self.store).access_tokens.values_mut() {
            if token.grant.sub == sub {
                token.expires_at = token.expires_at.min(now);
            }
        }
    }

    /// The current faults, to change in place:
    /// `emulator.faults().signing = Signing::None;`.
    ///
    /// # Deadlocks
    ///
    /// The guard holds the lock that the endpoints take on every request:
    /// while it lives, [`Emulator::handle`] on this thread deadlocks, and
    /// requests served on other threads wait. Change the faults in one
    /// statement, as above (the guard is dropped at its end), and never keep
    /// the guard in a variable across a request or an `.await`; or use
    /// [`Emulator::set_faults`] or [`Emulator::update_faults`], which cannot
    /// be held.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    /// Replaces every fault: `emulator.set_faults(Faults::default())` ends
    /// them all.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.faults) = faults;
    }

    /// Changes the faults with `change`, as one step:
    /// `emulator.update_faults(|f| f.all_status = Some(503))`. The faults'
    /// lock is held while `change` runs, so `change` must not call the
    /// emulator.
    pub fn update_faults(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut lock(&self.faults));
    }

    /// Starts signing the sign-in's ID tokens with a new key. With
    /// `keep_old`, the old key stays in the JWK Set (a graceful rotation);
    /// without, it is dropped.
    pub fn rotate_key(&self, keep_old: bool) {
        rotate(&self.keys, keep_old);
    }

    /// [`Emulator::rotate_key`] for the marketplace issuer's key.
    pub fn rotate_marketplace_key(&self, keep_old: bool) {
        // The key made on first use, to be kept beside the new one (the
        // 1.5–6 s of an unoptimised RSA key only when it is).
        if keep_old {
            drop(self.marketplace_keys());
        }
        rotate(&self.marketplace_keys, keep_old);
    }

    /// The installation ID of integration `client_id` on account
    /// `account_id`: the configured one ([`EmulatorConfig::installations`]),
    /// else `icfg_` and 24 characters derived from the two.
    pub fn installation_id(&self, client_id: &str, account_id: &str) -> String {
        let configured = lock(&self.config)
            .installations
            .iter()
            .find(|i| i.client_id == client_id && i.account_id == account_id)
            .map(|i| i.installation_id.clone());
        configured.unwrap_or_else(|| {
            let derived = config::sha256_hex(format!("{client_id}\n{account_id}").as_bytes(), 24);
            format!("icfg_{derived}")
        })
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

    fn user(&self, sub: &str) -> Option<User> {
        lock(&self.config)
            .users
            .iter()
            .find(|u| u.sub == sub)
            .cloned()
    }

    /// The marketplace issuer's keys, the first one generated on first use,
    /// outside the lock: generating an RSA key takes a while (seconds in an
    /// unoptimised build), and the lock's other users (every marketplace
    /// request) would wait for it. Requests racing to the first use may
    /// each generate one; the first pushed is kept.
    fn marketplace_keys(&self) -> MutexGuard<'_, Vec<Arc<SigningKey>>> {
        if lock(&self.marketplace_keys).is_empty() {
            let key = Arc::new(SigningKey::generate());
            let mut keys = lock(&self.marketplace_keys);
            if keys.is_empty() {
                keys.push(key);
            }
            return keys;
        }
        lock(&self.marketplace_keys)
    }

    /// Signs an ID token's `claims` with the current key of the sign-in
    /// issuer, or of the marketplace issuer, after the [`Faults`]: they
    /// apply to both alike.
    fn sign_id_token(&self, mut claims: Map<String, Value>, marketplace: bool) -> String {
        let (edit, signing, by_sign_in_key) = {
            let faults = self.faults();
            (
                faults.id_token_claims.clone(),
                faults.signing,
                faults.marketplace_signed_by_sign_in_key,
            )
        };
        if let Some(edit) = edit {
            edit(&mut claims);
        }
        let claims = Value::Object(claims);
        // Signed after the lock is let go: a key a rotation drops meanwhile
        // still signs this one token.
        let key = if marketplace && !by_sign_in_key {
            self.marketplace_keys()[0].clone()
        } else {
            lock(&self.keys)[0].clone()
        };
        key.sign(&claims, signing)
    }

    /// Answers one request, routed by the origin its URL names (or, as a
    /// server receives it, its `Host`): an endpoint asked for on another
    /// origin answers 404, as on Vercel. A bare path with no `Host` (a test
    /// calling this directly) is answered by whichever origin serves it.
    /// Bodies are fully buffered.
    pub fn handle(&self, request: &http::Request<Vec<u8>>) -> http::Response<Bytes> {
        endpoints::handle(self, self.authorities.reached(request), request)
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

    /// Starts an emulator on three listeners of yours (issuer, API,
    /// marketplace, in that order), each origin `http://<its address>`,
    /// signing with `key` ([`SigningKey::generate`] for a new one,
    /// [`SigningKey::shared`] for a test's fixed one): what a test, or a
    /// program, needs in one call. It serves until the returned [`Running`] is dropped. A
    /// listener on an unspecified address (`0.0.0.0`, `[::]`) or a scoped
    /// IPv6 one names no origin a browser can use: `InvalidInput`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled: each origin is served by
    /// a task of the current runtime, and stops with it. A test that also
    /// blocks on an HTTP client needs a multi-thread runtime
    /// (`#[tokio::test(flavor = "multi_thread")]`), or the servers never
    /// run while it waits.
    pub fn start(
        [issuer, api, marketplace]: [std::net::TcpListener; 3],
        config: EmulatorConfig,
        key: SigningKey,
    ) -> std::io::Result<Running> {
        let url = |listener: &std::net::TcpListener| {
            let addr = listener.local_addr()?;
            let scoped = matches!(addr, std::net::SocketAddr::V6(v6) if v6.scope_id() != 0);
            if addr.ip().is_unspecified() || scoped {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{addr} names no origin: bind a specific address, such as 127.0.0.1"),
                ));
            }
            Ok(format!("http://{addr}"))
        };
        let origins = Origins {
            issuer: url(&issuer)?,
            api: url(&api)?,
            marketplace: url(&marketplace)?,
        };
        let emulator = Self::at(origins, config, key);
        let servers = [
            emulator.serve_origin(Origin::Issuer, issuer)?,
            emulator.serve_origin(Origin::Api, api)?,
            emulator.serve_origin(Origin::Marketplace, marketplace)?,
        ];
        Ok(Running { emulator, servers })
    }

    /// [`Emulator::start`] on three free ports of `127.0.0.1` with a new
    /// signing key (and the same runtime requirement).
    ///
    /// ```
    /// use sign_in_with_vercel_emulator::{Emulator, EmulatorConfig};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let running = Emulator::start_local(EmulatorConfig::default())?;
    /// let issuer = running.emulator().issuer(); // the app's VERCEL_OAUTH_ISSUER
    /// assert!(issuer.starts_with("http://127.0.0.1:"));
    /// drop(running); // the three origins stop answering (at the runtime's next turn)
    /// # Ok(())
    /// # }
    /// ```
    pub fn start_local(config: EmulatorConfig) -> std::io::Result<Running> {
        let free = || std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0));
        Self::start([free()?, free()?, free()?], config, SigningKey::generate())
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
            async move {
                let delay = request
                    .uri()
                    .path()
                    .ends_with("/login/oauth/token")
                    .then(|| emulator.faults().token_delay)
                    .flatten();
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                emulator.handle_at(origin, &request)
            }
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
                self.origins.issuer,
                endpoints::AVATAR_PREFIX,
                pages::avatar_id(&user.sub)
            ),
        }
    }
}

/// An emulator serving its three origins, from [`Emulator::start`]:
/// dropping it stops all three, open connections included, as soon as the
/// runtime next runs their tasks (a test that needs the ports closed polls
/// for it).
#[must_use = "dropping it stops the emulator's servers"]
pub struct Running {
    emulator: Arc<Emulator>,
    servers: [Server; 3],
}

/// The emulator (its origins only) and the servers' addresses.
impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("emulator", &self.emulator)
            .field("addrs", &self.addrs())
            .finish()
    }
}

impl Running {
    /// The emulator: its origins, and every setter a test uses (clients,
    /// users, faults, key rotation).
    pub fn emulator(&self) -> &Arc<Emulator> {
        &self.emulator
    }

    /// The addresses of the issuer, API and marketplace servers.
    pub fn addrs(&self) -> [std::net::SocketAddr; 3] {
        self.servers.each_ref().map(Server::addr)
    }

    /// Serves until the process ends (a program's `main`).
    pub async fn wait(self) {
        let Self {
            emulator: _emulator,
            servers: [issuer, _api, _marketplace],
        } = self;
        issuer.wait().await;
    }
}

/// Puts a new key first in `keys`, dropping the others unless `keep_old`;
/// the key is generated before the lock is taken.
fn rotate(keys: &Mutex<Vec<Arc<SigningKey>>>, keep_old: bool) {
    let key = Arc::new(SigningKey::generate());
    let mut keys = lock(keys);
    if !keep_old {
        keys.clear();
    }
    keys.insert(0, key);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One GET over a fresh connection; `None` when nothing answers.
    fn get(addr: std::net::SocketAddr, path: &str) -> Option<String> {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(addr).ok()?;
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        (!answer.is_empty()).then_some(answer)
    }

    // The test's blocking client blocks the test's own thread: the servers
    // need worker threads of their own.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn start_local_serves_three_origins_named_after_their_listeners_until_dropped() {
        let running = Emulator::start_local(EmulatorConfig::default()).unwrap();
        let [issuer, api, marketplace] = running.addrs();
        let unspecified = || std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let refused = Emulator::start(
            [unspecified(), unspecified(), unspecified()],
            EmulatorConfig::default(),
            SigningKey::shared(),
        );
        assert_eq!(
            refused.err().map(|e| e.kind()),
            Some(std::io::ErrorKind::InvalidInput),
            "0.0.0.0 names no origin"
        );
        let origins = running.emulator().origins().clone();
        assert_eq!(origins.issuer, format!("http://{issuer}"));
        assert_eq!(origins.api, format!("http://{api}"));
        assert_eq!(origins.marketplace, format!("http://{marketplace}"));
        let discovery = get(issuer, "/.well-known/openid-configuration").expect("discovery");
        assert!(discovery.starts_with("HTTP/1.1 200"), "{discovery}");
        assert!(
            discovery.contains(&format!("\"issuer\":\"http://{issuer}\"")),
            "{discovery}"
        );
        assert!(
            discovery.contains(&format!("\"token_endpoint\":\"http://{api}/")),
            "{discovery}"
        );
        let marketplace_discovery =
            get(marketplace, "/.well-known/openid-configuration").expect("marketplace");
        assert!(
            marketplace_discovery.contains(&format!("\"issuer\":\"http://{marketplace}\"")),
            "{marketplace_discovery}"
        );
        drop(running);
        for addr in [issuer, api, marketplace] {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while get(addr, "/.well-known/openid-configuration").is_some() {
                assert!(std::time::Instant::now() < deadline, "{addr} still answers");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    }

    #[test]
    #[should_panic(expected = "before the emulator is shared")]
    fn the_clock_of_a_shared_emulator_cannot_be_replaced() {
        let mut emulator = Emulator::with_key(
            "http://127.0.0.1:3001",
            EmulatorConfig::default(),
            SigningKey::shared(),
        );
        let _shared = emulator.clone();
        emulator.set_clock(Arc::new(|| 0));
    }

    fn app(method: &str, secret: Option<&str>, redirect_uri: &str) -> Client {
        Client {
            client_id: "cl_app".to_owned(),
            name: "App".to_owned(),
            client_secret: secret.map(str::to_owned),
            token_endpoint_auth_method: method.to_owned(),
            redirect_uris: vec![redirect_uri.to_owned()],
            scopes: vec!["openid".to_owned()],
        }
    }

    /// A client registered in code is checked as a configuration file's
    /// are: one that would fail later and elsewhere is refused now, and
    /// nothing is registered.
    #[test]
    fn a_client_is_checked_as_a_configuration_file_s_are() {
        let emulator = Emulator::with_key(
            "http://127.0.0.1:3001",
            EmulatorConfig::default(),
            SigningKey::shared(),
        );
        let callback = "http://localhost:3000/api/auth/callback";
        for (client, says) in [
            (
                app("client_secret_basic", None, callback),
                "client_secret_basic needs a client_secret",
            ),
            (
                app("none", Some("s3cret"), callback),
                "none is for a client without a client_secret",
            ),
            (
                app("private_key_jwt", Some("s3cret"), callback),
                "\"private_key_jwt\" is not one the emulator implements",
            ),
            (
                app(
                    "client_secret_post",
                    Some("s3cret"),
                    &format!("{callback}#x"),
                ),
                "has a fragment",
            ),
            (
                app("client_secret_post", Some("s3cret"), "/api/auth/callback"),
                "is not an absolute http or https URL",
            ),
        ] {
            let e = emulator.try_register_client(client).unwrap_err();
            assert!(e.starts_with("client cl_app: ") && e.contains(says), "{e}");
            assert!(!e.contains("s3cret"), "{e}");
            assert!(emulator.client("cl_app").is_none());
        }
        for client in [
            app("client_secret_basic", Some("s3cret"), callback),
            app("client_secret_post", Some("s3cret"), callback),
            app("client_secret_post", None, callback),
            app("none", None, callback),
        ] {
            let method = client.token_endpoint_auth_method.clone();
            emulator.try_register_client(client).unwrap();
            assert_eq!(
                emulator
                    .client("cl_app")
                    .unwrap()
                    .token_endpoint_auth_method,
                method
            );
        }
    }

    #[test]
    #[should_panic(
        expected = "Emulator::register_client: client cl_app: token_endpoint_auth_method client_secret_basic needs a client_secret"
    )]
    fn registering_a_client_a_configuration_file_could_not_have_panics() {
        let emulator = Emulator::with_key(
            "http://127.0.0.1:3001",
            EmulatorConfig::default(),
            SigningKey::shared(),
        );
        emulator.register_client(app(
            "client_secret_basic",
            None,
            "http://localhost:3000/api/auth/callback",
        ));
    }

    /// `Debug` shows the origins, never a client's secret.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn debug_shows_origins_and_no_secret() {
        let running = Emulator::start_local(EmulatorConfig::default()).unwrap();
        running.emulator().register_client(app(
            "client_secret_post",
            Some("s3cret-of-the-app"),
            "http://localhost:3000/api/auth/callback",
        ));
        let shown = format!("{running:?}");
        assert!(shown.contains(running.emulator().issuer()), "{shown}");
        assert!(shown.contains("addrs"), "{shown}");
        assert!(!shown.contains("s3cret-of-the-app"), "{shown}");
    }

    fn token_request(emulator: &Emulator) -> http::Response<Bytes> {
        emulator.handle(
            &http::Request::post("/login/oauth/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(b"grant_type=refresh_token".to_vec())
                .unwrap(),
        )
    }

    #[test]
    fn faults_are_set_and_updated_without_holding_a_guard() {
        let emulator = Emulator::with_key(
            "http://127.0.0.1:3001",
            EmulatorConfig::default(),
            SigningKey::shared(),
        );
        assert_eq!(token_request(&emulator).status(), 401, "no client");
        emulator.set_faults(Faults {
            token_response: Some((503, "{}".to_owned())),
            ..Faults::default()
        });
        assert_eq!(token_request(&emulator).status(), 503);
        emulator.update_faults(|f| f.token_response = Some((502, "{}".to_owned())));
        assert_eq!(token_request(&emulator).status(), 502);
        emulator.update_faults(|f| f.all_status = Some(500));
        assert_eq!(token_request(&emulator).status(), 500, "both kept");
        emulator.set_faults(Faults::default());
        assert_eq!(token_request(&emulator).status(), 401, "none left");
    }
}

// The README's example runs as a doctest, so it cannot drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
