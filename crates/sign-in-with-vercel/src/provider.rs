//! The bottom layer of the relying party: [`Provider`], what every
//! protocol step, the refresh, the session and the routes take. It holds
//! the configuration, the HTTP client, the clock and the [`Issuer`]'s
//! caches (metadata, signing keys), built once per function instance;
//! nothing in it is per user.
//!
//! An [`Issuer`] is one OpenID Provider seen from here: its metadata,
//! built in or discovered once (a failed discovery answered from memory
//! for [`DISCOVERY_RETRY_AFTER`]), and its key set, cached and refetched once
//! when a token names a key the cached set lacks, or has a signature the
//! cached key does not verify (OpenID Connect Core §10.1.1). The sign-in
//! has one; the marketplace SSO exchange ([`crate::sso`]) has its own.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use http::HeaderMap;
use tokio::sync::OnceCell;

use crate::clock::{Clock, system_clock, system_now, system_now_ms, time_left};
use crate::config::{Config, ConfigError};
use crate::discovery::{IssuerMetadata, ProviderMetadata, discovered};
use crate::error::{Endpoint, Error, UpstreamProblem};
use crate::id_token::{self, Expected, IdTokenClaims, IdTokenError};
use crate::jwks::{JwkSet, JwksCache};
use crate::jws::Algorithms;
use crate::origin::Origin;
use crate::paths::Paths;
use crate::secret::{AccessToken, IdToken, Nonce};
use crate::transport::{
    HttpClient, HttpRequest, HttpResponse, REQUEST_TIMEOUT, ReqwestClient, TransportError,
    Unbuildable,
};

/// Runs one provider call through `http`, within what is left of the
/// request's deadline ([`REQUEST_TIMEOUT`] outside a request). A request
/// that could not be built (an endpoint that is not a URL) is
/// [`Error::Unbuildable`], a configuration problem.
pub(crate) async fn send(
    http: &dyn HttpClient,
    endpoint: Endpoint,
    request: Result<HttpRequest, Unbuildable>,
) -> Result<HttpResponse, Error> {
    let request = request.map_err(|Unbuildable| Error::Unbuildable(endpoint))?;
    let left = time_left().unwrap_or(REQUEST_TIMEOUT);
    if left.is_zero() {
        return Err(endpoint.unreachable(TransportError::Timeout));
    }
    match tokio::time::timeout(left, http.execute(request)).await {
        Ok(result) => result.map_err(|t| endpoint.unreachable(t)),
        Err(_) => Err(endpoint.unreachable(TransportError::Timeout)),
    }
}

/// One OpenID Provider: its issuer identifier, its metadata (`M`: the
/// sign-in's whole [`ProviderMetadata`], or only what verifying its tokens
/// needs) and its keys.
pub(crate) struct Issuer<M = ProviderMetadata> {
    issuer: String,
    metadata: OnceCell<M>,
    failed_discovery: RecentFailure,
    jwks: JwksCache,
}

/// How long a failed discovery stands for the instance: its requests
/// within this time get the same error at once, without a call. While a
/// provider does not answer, each request would otherwise wait its own
/// call out (up to 8 s; the instance's requests queue for
/// the one discovery in flight, then each tries again), and an issuer
/// already in trouble would get a discovery request for every request the
/// app serves.
pub const DISCOVERY_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The last failure of a call many requests wait on (discovery), and when
/// it came.
#[derive(Default)]
struct RecentFailure(Mutex<Option<(Instant, Error)>>);

impl RecentFailure {
    /// The failure, if it came within [`DISCOVERY_RETRY_AFTER`].
    fn get(&self) -> Option<Error> {
        let failure = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        failure
            .as_ref()
            .filter(|(at, _)| at.elapsed() < DISCOVERY_RETRY_AFTER)
            .map(|(_, error)| error.clone())
    }

    /// Remembers `error`, unless it is a call cut off by its request's
    /// deadline (a timeout with no time left): that says nothing of the
    /// provider.
    fn note(&self, error: &Error) {
        let cut_off = matches!(
            error,
            Error::Upstream(_, UpstreamProblem::Transport(TransportError::Timeout))
        ) && time_left().is_some_and(|left| left.is_zero());
        if !cut_off {
            *self.0.lock().unwrap_or_else(PoisonError::into_inner) =
                Some((Instant::now(), error.clone()));
        }
    }
}

/// What an ID token must match besides the issuer and the clock, which
/// the [`Issuer`] and its caller supply.
pub(crate) struct Audience<'a> {
    /// The client ID that must be an audience.
    pub client_id: &'a str,
    /// The other audiences the client trusts (OpenID Connect Core
    /// §3.1.3.7 step 3): `VERCEL_OAUTH_TRUSTED_AUDIENCES`, none by default.
    pub trusted: &'a [String],
    /// The access token that came with the ID token (`at_hash`).
    pub access_token: Option<&'a AccessToken>,
    /// The nonce sent in the authorization request.
    pub nonce: Option<&'a Nonce>,
    /// The signed-in user, for the ID token of a refresh.
    pub subject: Option<&'a str>,
}

impl<M: IssuerMetadata> Issuer<M> {
    /// The provider whose issuer identifier is `issuer`; `known` metadata
    /// (Vercel's, built in) spares the discovery request.
    pub(crate) fn new(issuer: String, known: Option<M>) -> Self {
        Self {
            issuer,
            metadata: OnceCell::new_with(known),
            failed_discovery: RecentFailure::default(),
            jwks: JwksCache::default(),
        }
    }

    /// The provider's metadata: built in, or discovered once per instance
    /// (OpenID Connect Discovery §4). A failed discovery stands for
    /// [`DISCOVERY_RETRY_AFTER`], then the next request tries again.
    pub(crate) async fn metadata(&self, http: &dyn HttpClient) -> Result<&M, Error> {
        self.metadata
            .get_or_try_init(|| async {
                if let Some(failed) = self.failed_discovery.get() {
                    return Err(failed);
                }
                let request = ProviderMetadata::request(&self.issuer);
                send(http, Endpoint::Discovery, request)
                    .await
                    .and_then(|response| discovered(&self.issuer, &response))
                    .inspect_err(|failed| self.failed_discovery.note(failed))
            })
            .await
    }

    /// The key set: cached for [`crate::jwks::JWKS_TTL_SECS`], or fetched
    /// now (`fresh`, or when the cache is stale). The flag says whether it
    /// was fetched by this call.
    async fn keys(
        &self,
        http: &dyn HttpClient,
        jwks_uri: &str,
        fresh: bool,
        now: i64,
    ) -> Result<(Arc<JwkSet>, bool), Error> {
        if !fresh && let Some(set) = self.jwks.get(now) {
            return Ok((set, false));
        }
        let mut request = JwkSet::request(jwks_uri);
        if fresh && let Ok(request) = &mut request {
            // A rotation the cached set does not show: a cache on the way
            // (a CDN in front of the provider) may not either.
            request.headers_mut().insert(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-cache"),
            );
        }
        let response = send(http, Endpoint::Jwks, request).await?;
        let set = Arc::new(JwkSet::from_response(&response)?);
        self.jwks.store(set.clone(), now);
        Ok((set, true))
    }

    /// Fetches the key set unless a fresh one is cached, so that an ID token
    /// on its way can be verified without waiting for it: a cold instance's
    /// callback fetches the keys while its code is exchanged. A failure is
    /// left to [`Issuer::verify`], which fetches again and reports it; a
    /// token naming a key the prefetched set lacks also gets its one
    /// refetch, as on a warm instance.
    pub(crate) async fn prefetch_keys(&self, http: &dyn HttpClient, now: i64) {
        if let Ok(metadata) = self.metadata(http).await {
            let _ = self.keys(http, metadata.jwks_uri(), false, now).await;
        }
    }

    /// Verifies an ID token of this issuer (OpenID Connect Core §3.1.3.7).
    /// A key rotation (§10.1.1) shows up against a cached key set as a
    /// token naming a key the set lacks, or, when the provider replaces a
    /// key under the same `kid` (or the one key of the token's algorithm in
    /// a set whose tokens name none), as a signature the cached key does
    /// not verify: either way the set is fetched again and the token
    /// verified once more. At most one
    /// fetch per verification (none more when this verification fetched
    /// it; a set fetched just before, as a cold callback's prefetch does,
    /// counts as cached). A bad signature whose refetch fails stays a bad
    /// signature: only a key the set lacks is "the keys did not load".
    pub(crate) async fn verify(
        &self,
        http: &dyn HttpClient,
        token: &IdToken,
        audience: &Audience<'_>,
        now: i64,
    ) -> Result<IdTokenClaims, Error> {
        let metadata = self.metadata(http).await?;
        let expected = expected(metadata, audience, now);
        let (keys, fetched) = self.keys(http, metadata.jwks_uri(), false, now).await?;
        match id_token::verify(token, &keys, &expected) {
            Err(refused @ (IdTokenError::UnknownKey | IdTokenError::BadSignature)) if !fetched => {
                let keys = match self.keys(http, metadata.jwks_uri(), true, now).await {
                    Ok((keys, _)) => keys,
                    Err(_) if refused == IdTokenError::BadSignature => return Err(refused.into()),
                    Err(unavailable) => return Err(unavailable),
                };
                Ok(id_token::verify(token, &keys, &expected)?)
            }
            result => Ok(result?),
        }
    }

    /// Checks the claims of an ID token the token endpoint has just
    /// returned, without its signature, as [`id_token::check_unsigned`]
    /// does: only for a refresh's ID token whose key set cannot be fetched.
    pub(crate) async fn check_unsigned(
        &self,
        http: &dyn HttpClient,
        token: &IdToken,
        audience: &Audience<'_>,
        now: i64,
    ) -> Result<(), Error> {
        let metadata = self.metadata(http).await?;
        Ok(id_token::check_unsigned(
            token,
            &expected(metadata, audience, now),
        )?)
    }
}

/// What an ID token of the issuer `metadata` describes must match for
/// `audience`, at `now`.
fn expected<'a>(
    metadata: &'a impl IssuerMetadata,
    audience: &Audience<'a>,
    now: i64,
) -> Expected<'a> {
    Expected {
        issuer: metadata.issuer(),
        client_id: audience.client_id,
        trusted_audiences: audience.trusted,
        nonce: audience.nonce,
        subject: audience.subject,
        access_token: audience.access_token,
        now,
        algorithms: Algorithms::accepted(metadata.signing_algorithms()),
    }
}

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

    /// The origin of `headers`, as [`Origin::from_request`] reads it.
    fn of(&self, headers: &HeaderMap) -> Option<Origin> {
        let mut key = Vec::with_capacity(64);
        for name in Self::HEADERS {
            match headers.get(name) {
                Some(value) => {
                    key.push(1);
                    key.extend_from_slice(value.as_bytes());
                }
                None => key.push(0),
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
        let audience = Audience {
            client_id: &config.client_id,
            trusted: &config.trusted_audiences,
            access_token: Some(access_token),
            nonce,
            subject,
        };
        let verify = self
            .issuer
            .verify(self.http(), token, &audience, self.now());
        crate::clock::keeping_back(verify).await
    }

    /// Checks the claims of a refresh's ID token of user `subject` without
    /// its signature, when the key set cannot be fetched (see
    /// [`id_token::check_unsigned`]; OpenID Connect Core §3.1.3.7 step 6,
    /// §12.2). Never for the callback's ID token.
    pub(crate) async fn check_refreshed_id_token_unsigned(
        &self,
        token: &IdToken,
        access_token: &AccessToken,
        subject: &str,
    ) -> Result<(), Error> {
        let config = self.config()?;
        let audience = Audience {
            client_id: &config.client_id,
            trusted: &config.trusted_audiences,
            access_token: Some(access_token),
            nonce: None,
            subject: Some(subject),
        };
        self.issuer
            .check_unsigned(self.http(), token, &audience, self.now())
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use serde_json::{Value, json};

    use super::*;
    use crate::discovery::KeyMetadata;
    use crate::id_token::tests::{
        KEY_B, KID_EC, NOW, Signing, claims, ec_jwk, jwk, jwk_of, sign, sign_ec,
    };
    use crate::origin::tests::headers;
    use crate::transport::BoxFuture;
    use crate::transport::tests::{Fake, response};

    /// An issuer's key set endpoint serving `keys`, counting its fetches.
    struct KeyServer {
        keys: Mutex<Vec<Value>>,
        fetches: AtomicUsize,
        /// Each fetch's `Cache-Control`, in order (`None` without one).
        cache_control: Mutex<Vec<Option<String>>>,
        /// Answers every fetch with a connection failure.
        down: AtomicBool,
    }

    impl KeyServer {
        fn serving(keys: Vec<Value>) -> Self {
            Self {
                keys: Mutex::new(keys),
                fetches: AtomicUsize::new(0),
                cache_control: Mutex::default(),
                down: Default::default(),
            }
        }

        fn go_down(&self) {
            self.down.store(true, Ordering::SeqCst);
        }

        fn serve(&self, keys: Vec<Value>) {
            *self.keys.lock().unwrap() = keys;
        }

        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }
    }

    impl HttpClient for KeyServer {
        fn execute(
            &self,
            request: HttpRequest,
        ) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            let cache_control = request
                .headers()
                .get(http::header::CACHE_CONTROL)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
            self.cache_control.lock().unwrap().push(cache_control);
            if self.down.load(Ordering::SeqCst) {
                return Box::pin(async { Err(TransportError::Connect) });
            }
            let body = json!({ "keys": *self.keys.lock().unwrap() }).to_string();
            Box::pin(async move { Ok(response(200, &body)) })
        }
    }

    fn issuer() -> Issuer<KeyMetadata> {
        issuer_signing(None)
    }

    /// What a refreshed ID token of user `u1`, for client `cl`, must match.
    const REFRESH_OF_U1: Audience<'static> = Audience {
        client_id: "cl",
        trusted: &[],
        access_token: None,
        nonce: None,
        subject: Some("u1"),
    };

    /// The issuer, its metadata listing `algorithms` as its
    /// `id_token_signing_alg_values_supported`.
    fn issuer_signing(algorithms: Option<&[&str]>) -> Issuer<KeyMetadata> {
        let metadata = KeyMetadata {
            issuer: "https://op.example".into(),
            jwks_uri: "https://op.example/jwks".into(),
            id_token_signing_alg_values_supported: algorithms
                .map(|list| list.iter().map(|alg| (*alg).to_owned()).collect()),
        };
        Issuer::new(metadata.issuer.clone(), Some(metadata))
    }

    /// What the issuer's metadata lists decides whether its ES256 ID tokens
    /// are accepted, signed or (a refresh whose keys did not load)
    /// unsigned; Vercel's lists RS256 only.
    #[tokio::test]
    async fn es256_is_accepted_from_an_issuer_whose_metadata_lists_it() {
        let keys = KeyServer::serving(vec![jwk(), ec_jwk()]);
        let token = sign_ec(&claims(), "ES256", Some(KID_EC), false);
        let audience = REFRESH_OF_U1;
        let unsupported = || Error::IdToken(IdTokenError::UnsupportedAlgorithm("ES256".into()));
        for (listed, accepted) in [
            (Some(&["RS256", "ES256"][..]), true),
            (Some(&["ES256"][..]), true),
            (Some(&["RS256"][..]), false),
            (Some(&[][..]), false),
            (None, false),
        ] {
            let issuer = issuer_signing(listed);
            let signed = issuer.verify(&keys, &token, &audience, NOW).await;
            let unsigned = issuer.check_unsigned(&keys, &token, &audience, NOW).await;
            if accepted {
                assert!(signed.is_ok(), "{listed:?}: {signed:?}");
                assert!(unsigned.is_ok(), "{listed:?}: {unsigned:?}");
            } else {
                assert_eq!(signed.map(drop), Err(unsupported()), "{listed:?}");
                assert_eq!(unsigned, Err(unsupported()), "{listed:?}");
            }
        }
        assert_eq!(
            expected(&ProviderMetadata::vercel(), &audience, NOW).algorithms,
            Algorithms::DEFAULT,
            "Vercel signs RS256 only"
        );
    }

    /// A token signed as `signing`, verified as a refresh of `u1`.
    async fn verify_signed(
        issuer: &Issuer<KeyMetadata>,
        keys: &KeyServer,
        signing: Signing,
    ) -> Result<(), Error> {
        let token = IdToken::new(sign(&claims(), signing));
        let audience = REFRESH_OF_U1;
        issuer.verify(keys, &token, &audience, NOW).await.map(drop)
    }

    /// An issuer whose key set (key A) is cached, and its key server.
    async fn warm() -> (Issuer<KeyMetadata>, KeyServer) {
        let (issuer, keys) = (issuer(), KeyServer::serving(vec![jwk()]));
        issuer.prefetch_keys(&keys, NOW).await;
        (issuer, keys)
    }

    #[tokio::test]
    async fn a_key_replaced_under_the_same_kid_refetches_the_cached_set_once() {
        let (issuer, keys) = warm().await;
        // The provider replaces key A by key B, keeping the `kid`.
        keys.serve(vec![jwk_of(KEY_B)]);
        assert_eq!(
            verify_signed(&issuer, &keys, Signing::ForeignKey).await,
            Ok(())
        );
        assert_eq!(keys.fetches(), 2);
        // The refetch asks past a cache on the way (a CDN in front of the
        // provider would hide the rotation too); the first fetch does not.
        assert_eq!(
            *keys.cache_control.lock().unwrap(),
            [None, Some("no-cache".to_owned())]
        );
        // The refetched set is cached: the next token needs no fetch.
        assert_eq!(
            verify_signed(&issuer, &keys, Signing::ForeignKey).await,
            Ok(())
        );
        assert_eq!(keys.fetches(), 2);
    }

    #[tokio::test]
    async fn a_bad_signature_refetches_at_most_once_per_verification() {
        let (issuer, keys) = warm().await;
        let refused = Err(Error::IdToken(IdTokenError::BadSignature));
        assert_eq!(
            verify_signed(&issuer, &keys, Signing::ForeignKey).await,
            refused
        );
        assert_eq!(keys.fetches(), 2, "one refetch");
        assert_eq!(
            verify_signed(&issuer, &keys, Signing::ForeignKey).await,
            refused
        );
        assert_eq!(keys.fetches(), 3, "one refetch each");
    }

    /// Only a key the set lacks may be "the keys did not load" (which a
    /// refresh survives on its claims alone): a signature the cached key
    /// refuses stays refused when the refetch fails.
    #[tokio::test]
    async fn a_bad_signature_whose_refetch_fails_stays_a_bad_signature() {
        let (issuer, keys) = warm().await;
        keys.go_down();
        assert_eq!(
            verify_signed(&issuer, &keys, Signing::ForeignKey).await,
            Err(Error::IdToken(IdTokenError::BadSignature))
        );
        assert_eq!(keys.fetches(), 2, "the refetch was tried");
        assert!(
            matches!(
                verify_signed(&issuer, &keys, Signing::UnpublishedKid).await,
                Err(Error::Upstream(..))
            ),
            "a key the set lacks, with the set unreachable, is the provider's outage"
        );
    }

    #[tokio::test]
    async fn a_bad_signature_against_a_set_fetched_for_it_is_not_refetched() {
        let (issuer, keys) = (issuer(), KeyServer::serving(vec![jwk()]));
        let refused = Err(Error::IdToken(IdTokenError::BadSignature));
        assert_eq!(
            verify_signed(&issuer, &keys, Signing::ForeignKey).await,
            refused
        );
        assert_eq!(keys.fetches(), 1);
    }

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
        let mut failure = provider.issuer.failed_discovery.0.lock().unwrap();
        let (at, _) = failure.as_mut().expect("a failure is remembered");
        *at = at.checked_sub(by).unwrap();
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
