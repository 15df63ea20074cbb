//! The bottom layer of the relying party: [`Provider`], what every
//! protocol step, the refresh, the session and the routes take. It holds
//! the configuration, the HTTP client, the clock and the sign-in
//! [`Issuer`] (its metadata and signing keys, in [`crate::issuer`]), built
//! once per function instance; nothing in it is per user. Each provider
//! call goes through [`Provider::send`], which runs
//! [`crate::issuer::send`] within the request's deadline.

use std::sync::Arc;

use http::HeaderMap;

use crate::clock::{Clock, system_clock, system_now, system_now_ms};
use crate::config::{Config, ConfigError};
use crate::discovery::ProviderMetadata;
use crate::error::{Endpoint, Error};
use crate::id_token::IdTokenClaims;
use crate::origin::Origin;
use crate::paths::Paths;
use crate::secret::{AccessToken, IdToken, Nonce};
use crate::transport::{HttpClient, HttpRequest, HttpResponse, ReqwestClient, Unbuildable};

use crate::issuer::{Audience, Issuer, send};

/// The configured relying party's context: configuration, HTTP client,
/// clock, and the sign-in issuer's metadata and keys. Built once per
/// function instance and shared by every request it serves.
pub struct Provider {
    config: Result<Config, ConfigError>,
    http: Arc<dyn HttpClient>,
    issuer: Issuer,
    /// A clock set in code (tests); `None` reads the system clock, to the
    /// millisecond where that matters.
    clock: Option<Clock>,
    origins: Origins,
}

/// The origins of recent requests, by the headers they were read from: a
/// function instance serves one origin or a few, so each is parsed once,
/// not on every request.
#[derive(Default)]
struct Origins(std::sync::Mutex<Vec<(Vec<u8>, Origin)>>);

impl Origins {
    /// How many distinct header sets are remembered.
    const KEPT: usize = 8;
    /// The headers [`Origin::from_request`] reads, in order.
    const HEADERS: [&'static str; 3] = ["x-forwarded-host", "x-forwarded-proto", "host"];

    /// The origin of `headers`, as [`Origin::from_request`] reads it. The
    /// key holds every value of each header, not its first only: a second
    /// `Host` line makes a request name no origin, however warm the
    /// instance (a value holds no byte under 32 but a tab, so `1` before
    /// each value and `0` after the last keep keys apart).
    fn of(&self, headers: &HeaderMap) -> Option<Origin> {
        let mut key = Vec::with_capacity(64);
        for name in Self::HEADERS {
            for value in headers.get_all(name) {
                key.push(1);
                key.extend_from_slice(value.as_bytes());
            }
            key.push(0);
        }
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, origin)) = seen.iter().find(|(k, _)| *k == key) {
            return Some(origin.clone());
        }
        let origin = Origin::from_request(headers, None)?;
        if seen.len() >= Self::KEPT {
            seen.remove(0);
        }
        seen.push((key, origin.clone()));
        Some(origin)
    }
}

impl Provider {
    /// The context of `config` (or of the configuration error that stops
    /// every route), with the production HTTP client and the system clock.
    /// A configuration built or changed in code gets the checks
    /// [`Config::from_lookup`] makes of the environment.
    pub fn new(config: Result<Config, ConfigError>) -> Self {
        Self::loaded(config.and_then(Config::checked))
    }

    /// [`Provider::new`] for a configuration [`Config::from_lookup`]
    /// already checked: a cold start checks it once.
    pub(crate) fn loaded(config: Result<Config, ConfigError>) -> Self {
        // The default issuer's endpoints are built in: no discovery request
        // on a cold start.
        let issuer = match &config {
            Ok(c) if c.is_vercel_issuer() => {
                Issuer::new(c.issuer.clone(), Some(ProviderMetadata::vercel()))
            }
            Ok(c) => Issuer::new(c.issuer.clone(), None),
            Err(_) => Issuer::new(String::new(), None),
        };
        Self {
            config,
            http: Arc::new(ReqwestClient::new()),
            issuer,
            clock: None,
            origins: Origins::default(),
        }
    }

    /// A provider with this one's configuration, HTTP client and clock,
    /// and caches of its own (empty): a copy for a builder, when this one
    /// is still in use.
    pub(crate) fn unshared(&self) -> Self {
        Self {
            http: self.http.clone(),
            clock: self.clock.clone(),
            ..Self::loaded(self.config.clone())
        }
    }

    /// Replaces the HTTP client (tests, the emulator in process).
    pub fn with_http_client(mut self, http: Arc<dyn HttpClient>) -> Self {
        self.http = http;
        self
    }

    /// Replaces the clock (tests). It counts whole seconds, so where the
    /// system clock orders events to the millisecond (a sign-in right after
    /// a "sign out everywhere") a clock set in code puts both at the start
    /// of their second: a test moves it on between the two.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Replaces the URL layout (when the configuration loaded). Paths
    /// that [`Paths::check`] refuses become the configuration error that
    /// stops every route, as they would from the environment.
    pub fn with_paths(mut self, paths: Paths) -> Self {
        if let Ok(config) = &mut self.config {
            match paths.check() {
                Ok(()) => config.paths = paths,
                Err(p) => self.config = Err(crate::config::problem("Config.paths", p)),
            }
        }
        self
    }

    /// The configuration, or the error that stops every route.
    pub fn config(&self) -> Result<&Config, Error> {
        self.config.as_ref().map_err(|e| Error::Config(e.clone()))
    }

    /// The URL layout: the configured one, or the default when the
    /// configuration did not load (the routes then answer its error).
    pub fn paths(&self) -> &Paths {
        static DEFAULT: std::sync::OnceLock<Paths> = std::sync::OnceLock::new();
        match &self.config {
            Ok(config) => &config.paths,
            Err(_) => DEFAULT.get_or_init(Paths::default),
        }
    }

    /// The current time, seconds since the epoch. Read from the system in
    /// seconds, not derived from the milliseconds: every request asks, and
    /// their 128-bit arithmetic costs it about 30 instructions.
    pub fn now(&self) -> i64 {
        match &self.clock {
            None => system_now(),
            Some(clock) => clock(),
        }
    }

    /// The current time in milliseconds since the epoch: the system
    /// clock's, or a clock set in code at the start of its second.
    pub(crate) fn now_ms(&self) -> i64 {
        match &self.clock {
            None => system_now_ms(),
            Some(clock) => clock().saturating_mul(1000),
        }
    }

    /// The HTTP client every provider call goes through.
    pub fn http(&self) -> &dyn HttpClient {
        self.http.as_ref()
    }

    /// A shared handle on the HTTP client, for a context of its own (an
    /// SSO exchange).
    pub fn http_client(&self) -> Arc<dyn HttpClient> {
        self.http.clone()
    }

    /// The clock, for a context of its own.
    pub fn clock(&self) -> Clock {
        self.clock.clone().unwrap_or_else(system_clock)
    }

    /// The provider's metadata: built in for Vercel, discovered once per
    /// instance otherwise.
    pub async fn metadata(&self) -> Result<&ProviderMetadata, Error> {
        self.config()?;
        self.issuer.metadata(self.http()).await
    }

    /// The request's origin: pinned by `APP_URL`, or from its headers.
    ///
    /// Like Auth.js, a dedicated session key is required anywhere but on a
    /// developer's machine: sessions sealed with a key derived from the
    /// client secret are accepted on a loopback origin only, since whoever
    /// holds the client secret could otherwise seal a session for anyone.
    pub fn origin(&self, headers: &HeaderMap) -> Result<Origin, Error> {
        let config = self.config()?;
        let origin = match &config.app_url {
            Some(pinned) => pinned.clone(),
            None => self.origins.of(headers).ok_or(Error::BadRequest(
                "cannot tell the app's origin from the Host header",
            ))?,
        };
        // Pinned, the origin says nothing of where the request came from:
        // a loopback `APP_URL` on a deployment that does not expose
        // `VERCEL_ENV` must not let the client secret's key seal the
        // sessions of public traffic, so the request's own origin must be
        // loopback too.
        let from_loopback = || {
            config.app_url.is_none() || self.origins.of(headers).is_some_and(|o| o.is_loopback())
        };
        if config.keys.derived_from_client_secret() {
            if !origin.is_loopback() {
                return Err(Error::Config(crate::config::derived_key_refused(&format!(
                    "on {}",
                    origin.as_str()
                ))));
            }
            if !from_loopback() {
                return Err(Error::Config(crate::config::derived_key_refused(
                    "for a request that does not come from loopback (APP_URL pins a loopback origin, and a request's own host is another)",
                )));
            }
        }
        Ok(origin)
    }

    /// Runs one provider call within what is left of the request's deadline.
    pub(crate) async fn send(
        &self,
        endpoint: Endpoint,
        request: Result<HttpRequest, Unbuildable>,
    ) -> Result<HttpResponse, Error> {
        send(self.http(), endpoint, request).await
    }

    /// Fetches the sign-in issuer's key set unless a fresh one is cached
    /// (see [`Issuer::prefetch_keys`]); never fails. Like
    /// [`Provider::verify_id_token`], it leaves
    /// [`REVOCATION_RESERVE`](crate::clock::REVOCATION_RESERVE) of the
    /// request's time: the tokens an ID token comes with are revoked if it
    /// cannot be verified, and a key set that does not answer must not take
    /// the time that needs.
    pub(crate) async fn prefetch_keys(&self) {
        let fetch = self.issuer.prefetch_keys(self.http(), self.now());
        crate::clock::keeping_back(fetch).await;
    }

    /// Verifies an ID token of the sign-in (OpenID Connect Core §3.1.3.7),
    /// with this client as its audience, leaving
    /// [`REVOCATION_RESERVE`](crate::clock::REVOCATION_RESERVE) of the
    /// request's time for revoking its tokens if it fails.
    pub(crate) async fn verify_id_token(
        &self,
        token: &IdToken,
        access_token: &AccessToken,
        nonce: Option<&Nonce>,
        subject: Option<&str>,
    ) -> Result<IdTokenClaims, Error> {
        let config = self.config()?;
        let audience = sign_in_audience(config, access_token, nonce, subject);
        let verify = self
            .issuer
            .verify(self.http(), token, &audience, self.now());
        crate::clock::keeping_back(verify).await
    }

    /// Checks the claims of a refresh's ID token of user `subject` without
    /// its signature, when the key set cannot be fetched (see
    /// [`id_token::check_unsigned`](crate::id_token::check_unsigned); OpenID Connect Core §3.1.3.7 step 6,
    /// §12.2). Never for the callback's ID token.
    pub(crate) async fn check_refreshed_id_token_unsigned(
        &self,
        token: &IdToken,
        access_token: &AccessToken,
        subject: &str,
    ) -> Result<(), Error> {
        let config = self.config()?;
        let audience = sign_in_audience(config, access_token, None, Some(subject));
        self.issuer
            .check_unsigned(self.http(), token, &audience, self.now())
            .await
    }
}

/// What an ID token of the sign-in must match: this client as its
/// audience (or one `config` trusts), and the access token, nonce and user
/// it came with.
fn sign_in_audience<'a>(
    config: &'a Config,
    access_token: &'a AccessToken,
    nonce: Option<&'a Nonce>,
    subject: Option<&'a str>,
) -> Audience<'a> {
    Audience {
        client_id: &config.client_id,
        trusted: &config.trusted_audiences,
        access_token: Some(access_token),
        nonce,
        subject,
    }
}
#[cfg(test)]
mod tests {

    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::issuer::DISCOVERY_RETRY_AFTER;

    use crate::id_token::tests::{NOW, jwk};
    use crate::origin::tests::headers;
    use crate::transport::tests::{Fake, response};
    use crate::transport::{BoxFuture, TransportError};

    #[test]
    fn remembered_origins_are_the_origins_of_their_headers() {
        let origins = Origins::default();
        let cases = [
            vec![("host", "localhost:3000")],
            vec![
                ("host", "127.0.0.1:3000"),
                ("x-forwarded-host", "app.example.com"),
            ],
            vec![
                ("host", "127.0.0.1:3000"),
                ("x-forwarded-host", "app.example.com"),
                ("x-forwarded-proto", "http"),
            ],
            vec![("host", "evil.example/path")],
            vec![
                ("x-forwarded-host", "localhost:3000"),
                ("x-forwarded-proto", "http"),
            ],
            // After the first case, whose first `Host` this shares: still
            // no origin, warm or not.
            vec![("host", "localhost:3000"), ("host", "evil.example")],
        ];
        for round in 0..2 {
            for case in &cases {
                let h = headers(case);
                assert_eq!(
                    origins.of(&h),
                    Origin::from_request(&h, None),
                    "{round}: {case:?}"
                );
            }
        }
        // Many distinct origins: the oldest are forgotten, none is wrong.
        for n in 0..20 {
            let h = headers(&[("host", &format!("app{n}.example"))]);
            assert_eq!(
                origins.of(&h).unwrap().as_str(),
                format!("https://app{n}.example")
            );
        }
        assert!(origins.0.lock().unwrap().len() <= Origins::KEPT);
    }

    /// A provider answering discovery for `https://op.example` and serving
    /// the key set.
    fn op() -> Arc<Fake> {
        Fake::new(|path| Ok(op_answer(path)))
    }

    /// What [`op`] answers a request to `path`.
    fn op_answer(path: &str) -> HttpResponse {
        let body = match path {
            "/.well-known/openid-configuration" => json!({
                "issuer": "https://op.example",
                "authorization_endpoint": "https://op.example/authorize",
                "token_endpoint": "https://op.example/token",
                "jwks_uri": "https://op.example/jwks",
            }),
            _ => json!({ "keys": [jwk()] }),
        };
        response(200, &body.to_string())
    }

    /// A provider of client `cl` at [`NOW`], configured by `env` besides
    /// the client, its provider calls answered by `op`.
    fn provider(env: &[(&str, &str)], op: &Arc<Fake>) -> Provider {
        let config = Config::from_lookup(|name| match name {
            "VERCEL_APP_CLIENT_ID" => Some("cl".into()),
            "VERCEL_APP_CLIENT_SECRET" => Some("a-client-secret-of-32-characters".into()),
            _ => env
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned()),
        });
        Provider::loaded(config)
            .with_http_client(op.clone())
            .with_clock(Arc::new(|| NOW))
    }

    const AUTH_SECRET: (&str, &str) = ("AUTH_SECRET", "0123456789abcdef0123456789abcdef");

    /// OpenID Connect Discovery §4: only Vercel's metadata is built in;
    /// another issuer's is discovered, once per instance.
    #[tokio::test]
    async fn another_issuers_metadata_is_discovered_not_vercels() {
        let op = op();
        let other = provider(
            &[AUTH_SECRET, ("VERCEL_OAUTH_ISSUER", "https://op.example")],
            &op,
        );
        let metadata = other.metadata().await.unwrap();
        assert_eq!(metadata.issuer, "https://op.example");
        assert_eq!(metadata.token_endpoint, "https://op.example/token");
        other.metadata().await.unwrap();
        assert_eq!(op.calls("/.well-known/openid-configuration"), 1);

        let vercel = provider(&[AUTH_SECRET], &op);
        assert_eq!(
            vercel.metadata().await.unwrap(),
            &ProviderMetadata::vercel()
        );
        assert_eq!(op.calls("/.well-known/openid-configuration"), 1, "built in");
    }

    /// [`op`], whose discovery answers 503 while `down` is set.
    fn flaky_op(down: &Arc<AtomicBool>) -> Arc<Fake> {
        let down = down.clone();
        Fake::new(move |path| {
            Ok(if down.load(Ordering::SeqCst) {
                response(503, "")
            } else {
                op_answer(path)
            })
        })
    }

    /// Ages the provider's remembered discovery failure by `by`.
    fn age_failed_discovery(provider: &Provider, by: Duration) {
        provider.issuer.age_failed_discovery(by);
    }

    /// A failed discovery stands for `DISCOVERY_RETRY_AFTER`: the requests
    /// meanwhile get its error without a call; the first one after it
    /// tries again, and a discovery that then succeeds is kept.
    #[tokio::test]
    async fn a_failed_discovery_stands_for_a_while_then_is_tried_again() {
        const DISCOVERY: &str = "/.well-known/openid-configuration";
        let down = Arc::new(AtomicBool::new(true));
        let op = flaky_op(&down);
        let other = provider(
            &[AUTH_SECRET, ("VERCEL_OAUTH_ISSUER", "https://op.example")],
            &op,
        );
        let failed = other.metadata().await.unwrap_err();
        assert_eq!(failed.code(), "provider_unavailable");
        assert_eq!(op.calls(DISCOVERY), 1);

        down.store(false, Ordering::SeqCst);
        for _ in 0..3 {
            assert_eq!(other.metadata().await.unwrap_err(), failed);
        }
        assert_eq!(op.calls(DISCOVERY), 1, "answered from memory");
        age_failed_discovery(&other, DISCOVERY_RETRY_AFTER / 2);
        assert_eq!(other.metadata().await.unwrap_err(), failed);
        assert_eq!(op.calls(DISCOVERY), 1, "still within the time");

        age_failed_discovery(&other, DISCOVERY_RETRY_AFTER / 2);
        assert_eq!(other.metadata().await.unwrap().issuer, "https://op.example");
        assert_eq!(op.calls(DISCOVERY), 2);
        other.metadata().await.unwrap();
        assert_eq!(op.calls(DISCOVERY), 2, "kept");
    }

    /// A provider that never answers: every call waits until it is cut
    /// off, and is counted.
    #[derive(Default)]
    struct Silent(AtomicUsize);

    impl HttpClient for Silent {
        fn execute(&self, _: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(std::future::pending())
        }
    }

    /// A discovery that timed out within its own time limit, or that the
    /// client gave up on (its connection timeout) with time left, stands
    /// like any failure; one cut off by its request's deadline says nothing
    /// of the provider, and the next request tries again.
    #[tokio::test(start_paused = true)]
    async fn a_discovery_cut_off_by_its_request_does_not_stand() {
        let env = [AUTH_SECRET, ("VERCEL_OAUTH_ISSUER", "https://op.example")];
        let discover = |http: Arc<dyn HttpClient>| {
            let p = provider(&env, &op()).with_http_client(http);
            async move {
                let first = p.metadata().await.map(drop);
                (p, first)
            }
        };

        // Outside a request: the call's own limit (8 s) ends it.
        let silent = Arc::new(Silent::default());
        let (timed_out, first) = discover(silent.clone()).await;
        assert!(first.is_err());
        assert!(timed_out.metadata().await.is_err());
        assert_eq!(silent.0.load(Ordering::SeqCst), 1, "stands");

        // The client's own timeout, with time left in the request.
        let refusing = Fake::new(|_| Err(TransportError::Timeout));
        let (p, first) = crate::clock::with_deadline_in(Duration::from_secs(9), async {
            discover(refusing.clone()).await
        })
        .await;
        assert!(first.is_err());
        assert!(p.metadata().await.is_err());
        assert_eq!(
            refusing.calls("/.well-known/openid-configuration"),
            1,
            "stands"
        );

        // Cut off by the request's deadline.
        let silent = Arc::new(Silent::default());
        let (late, first) = crate::clock::with_deadline_in(Duration::from_secs(1), async {
            discover(silent.clone()).await
        })
        .await;
        assert!(first.is_err());
        assert!(late.metadata().await.is_err());
        assert_eq!(silent.0.load(Ordering::SeqCst), 2, "tried again");
    }

    /// The copy a builder gets while the provider is still in use (a
    /// refresh's task holds it): the same configuration, HTTP client and
    /// clock, and caches of its own.
    #[tokio::test]
    async fn an_unshared_copy_keeps_the_configuration_the_client_and_the_clock() {
        let op = op();
        let env = [AUTH_SECRET, ("VERCEL_OAUTH_ISSUER", "https://op.example")];
        let original = provider(&env, &op).with_paths(Paths {
            error_page: "/oops".into(),
            ..Paths::default()
        });
        original.metadata().await.unwrap();
        let copy = original.unshared();
        assert_eq!(copy.config().unwrap().issuer, "https://op.example");
        assert_eq!(copy.paths().error_page, "/oops");
        assert_eq!(copy.now(), NOW);
        copy.metadata().await.unwrap();
        // Discovered again (its own cache), through the same client.
        assert_eq!(op.calls("/.well-known/openid-configuration"), 2);
        copy.metadata().await.unwrap();
        assert_eq!(op.calls("/.well-known/openid-configuration"), 2, "kept");
    }

    #[test]
    fn a_clock_set_in_code_gives_the_milliseconds_of_the_start_of_its_second() {
        let op = op();
        let provider = provider(&[AUTH_SECRET], &op);
        assert_eq!(provider.now(), NOW);
        assert_eq!(provider.now_ms(), NOW * 1000);
    }

    /// Sessions sealed with a key derived from the client secret are
    /// accepted on a loopback origin only: anywhere else `AUTH_SECRET` is
    /// required.
    #[test]
    fn a_key_derived_from_the_client_secret_serves_loopback_origins_only() {
        let op = op();
        let local = headers(&[("host", "localhost:3000")]);
        let public = headers(&[("host", "app.example.com")]);

        let derived = provider(&[], &op);
        assert_eq!(
            derived.origin(&local).unwrap().as_str(),
            "http://localhost:3000"
        );
        match derived.origin(&public) {
            Err(Error::Config(e)) => assert_eq!(e.variable, "AUTH_SECRET"),
            other => panic!("{other:?}"),
        }

        let dedicated = provider(&[AUTH_SECRET], &op);
        assert_eq!(
            dedicated.origin(&public).unwrap().as_str(),
            "https://app.example.com"
        );
        assert!(dedicated.origin(&local).is_ok());

        // A loopback APP_URL (a local `.env` copied to a deployment that
        // does not expose VERCEL_ENV) pins a loopback origin: the request
        // itself must come from loopback too.
        let pinned = provider(&[("APP_URL", "http://localhost:3000")], &op);
        assert!(pinned.origin(&local).is_ok());
        let forwarded = headers(&[
            ("host", "localhost:3000"),
            ("x-forwarded-host", "app.vercel.app"),
            ("x-forwarded-proto", "https"),
        ]);
        for request in [&public, &forwarded, &headers(&[])] {
            match pinned.origin(request) {
                Err(Error::Config(e)) => assert_eq!(e.variable, "AUTH_SECRET"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn prefetching_fetches_the_sign_in_issuers_keys_once() {
        let op = op();
        let provider = provider(&[AUTH_SECRET], &op);
        provider.prefetch_keys().await;
        assert_eq!(op.calls("/.well-known/jwks"), 1);
        provider.prefetch_keys().await;
        assert_eq!(op.calls("/.well-known/jwks"), 1, "cached");
    }
}
