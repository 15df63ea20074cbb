//! [`Auth`]: the configured relying party, one per function instance, and
//! the provider calls the routes share.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::config::{Config, ConfigError};
use crate::discovery::ProviderMetadata;
use crate::error::{Endpoint, Error};
use crate::id_token::{self, Expected, IdTokenClaims, IdTokenError};
use crate::jwks::{JwkSet, JwksCache};
use crate::secret::{AccessToken, IdToken, Nonce};
use crate::session::Flights;
use crate::transport::{
    HttpClient, HttpRequest, HttpResponse, REQUEST_TIMEOUT, ReqwestClient, TransportError,
};

/// The most time one request may spend on provider calls, all of them
/// together: well inside a Vercel function's shortest limit (10 s), so a
/// slow provider gets the user an answer rather than a killed function.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(9);

tokio::task_local! {
    /// When the current request's provider calls must be done.
    static DEADLINE: Instant;
}

/// Runs `future` (one request) with a deadline for its provider calls.
pub(crate) async fn with_deadline<F: Future>(future: F) -> F::Output {
    DEADLINE
        .scope(Instant::now() + REQUEST_DEADLINE, future)
        .await
}

/// What is left of the current request's deadline for provider calls
/// ([`REQUEST_TIMEOUT`] outside a request), for calls made without
/// [`Auth::send`], such as the REST API client's.
pub(crate) fn time_left() -> Duration {
    DEADLINE
        .try_with(|deadline| deadline.saturating_duration_since(Instant::now()))
        .unwrap_or(REQUEST_TIMEOUT)
}

/// The current time in seconds since the epoch.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

fn system_clock() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The relying party: configuration, provider metadata, the signing-key
/// cache and the HTTP client, built once per instance and shared by every
/// request it serves. Nothing in it is per-user: sessions live in cookies.
///
/// The route handlers ([`Auth::authorize`], [`Auth::callback`],
/// [`Auth::signout`], [`Auth::validate_token`], [`Auth::user_info`]) and
/// [`Auth::session`] are methods on it.
pub struct Auth {
    config: Result<Config, ConfigError>,
    http: Arc<dyn HttpClient>,
    metadata: OnceCell<ProviderMetadata>,
    jwks: JwksCache,
    flights: Flights,
    clock: Clock,
}

impl Auth {
    /// A relying party for `config`, using the production HTTP client.
    pub fn new(config: Config) -> Self {
        Self::build(Ok(config))
    }

    /// A relying party configured from the environment. A configuration
    /// error is logged now, naming the variable, and every route answers
    /// with a configuration error until it is fixed; nothing panics.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Auth::from_env`], reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let config = Config::from_lookup(lookup);
        if let Err(e) = &config {
            crate::log::error(&format!("configuration error: {e}"));
        }
        Self::build(config)
    }

    /// The instance-wide [`Auth`], configured from the environment on first use.
    pub fn global() -> &'static Self {
        static AUTH: OnceLock<Auth> = OnceLock::new();
        AUTH.get_or_init(Self::from_env)
    }

    fn build(config: Result<Config, ConfigError>) -> Self {
        // The default issuer's endpoints are built in: no discovery request
        // on a cold start.
        let metadata = match &config {
            Ok(c) if c.is_vercel_issuer() => OnceCell::new_with(Some(ProviderMetadata::vercel())),
            _ => OnceCell::new(),
        };
        Self {
            config,
            http: Arc::new(ReqwestClient::new()),
            metadata,
            jwks: JwksCache::default(),
            flights: Flights::default(),
            clock: Arc::new(system_clock),
        }
    }

    /// Replaces the HTTP client (tests, the local emulator).
    pub fn with_http_client(mut self, http: Arc<dyn HttpClient>) -> Self {
        self.http = http;
        self
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The configuration, or the error that stops every route.
    pub fn config(&self) -> Result<&Config, Error> {
        self.config.as_ref().map_err(|e| Error::Config(e.clone()))
    }

    pub(crate) fn now(&self) -> i64 {
        (self.clock)()
    }

    pub(crate) fn flights(&self) -> &Flights {
        &self.flights
    }

    pub(crate) fn http(&self) -> &dyn HttpClient {
        self.http.as_ref()
    }

    /// The provider's metadata: built in for Vercel, discovered once per
    /// instance otherwise (a failed discovery is retried on the next request).
    pub async fn metadata(&self) -> Result<&ProviderMetadata, Error> {
        let issuer = &self.config()?.issuer;
        self.metadata
            .get_or_try_init(|| async {
                let response = self
                    .send(Endpoint::Discovery, ProviderMetadata::request(issuer))
                    .await?;
                ProviderMetadata::from_response(issuer, &response)
            })
            .await
    }

    /// Runs one provider call, within what is left of the request's
    /// deadline. A request that could not be built (an endpoint that is
    /// not a URL) is a configuration problem.
    pub(crate) async fn send(
        &self,
        endpoint: Endpoint,
        request: Option<HttpRequest>,
    ) -> Result<HttpResponse, Error> {
        let request = request
            .ok_or_else(|| Error::Discovery(format!("cannot build the {endpoint:?} request")))?;
        let left = DEADLINE
            .try_with(|deadline| deadline.saturating_duration_since(Instant::now()))
            .unwrap_or(REQUEST_TIMEOUT);
        if left.is_zero() {
            return Err(endpoint.unreachable(TransportError::Timeout));
        }
        match tokio::time::timeout(left, self.http.execute(request)).await {
            Ok(result) => result.map_err(|t| endpoint.unreachable(t)),
            Err(_) => Err(endpoint.unreachable(TransportError::Timeout)),
        }
    }

    /// The provider's key set: cached for [`crate::jwks::JWKS_TTL_SECS`],
    /// or fetched now (`fresh`, or when the cache is stale). The flag says
    /// whether it was fetched by this call.
    async fn keys(
        &self,
        jwks_uri: &str,
        fresh: bool,
        now: i64,
    ) -> Result<(Arc<JwkSet>, bool), Error> {
        if !fresh && let Some(set) = self.jwks.get(now) {
            return Ok((set, false));
        }
        let response = self.send(Endpoint::Jwks, JwkSet::request(jwks_uri)).await?;
        let set = Arc::new(JwkSet::from_response(&response)?);
        self.jwks.store(set.clone(), now);
        Ok((set, true))
    }

    /// Verifies an ID token against the provider's keys (OpenID Connect
    /// Core §3.1.3.7), refetching the key set once when the token names a
    /// key the cached set lacks, which is how a key rotation shows up.
    pub(crate) async fn verify_id_token(
        &self,
        token: &IdToken,
        access_token: &AccessToken,
        nonce: Option<&Nonce>,
        subject: Option<&str>,
    ) -> Result<IdTokenClaims, Error> {
        let client_id = &self.config()?.client_id;
        self.verify_id_token_for(client_id, token, Some(access_token), nonce, subject)
            .await
    }

    /// [`Auth::verify_id_token`] with another audience: the client ID of a
    /// marketplace integration, for its SSO token exchange.
    pub(crate) async fn verify_id_token_for(
        &self,
        client_id: &str,
        token: &IdToken,
        access_token: Option<&AccessToken>,
        nonce: Option<&Nonce>,
        subject: Option<&str>,
    ) -> Result<IdTokenClaims, Error> {
        let metadata = self.metadata().await?;
        let now = self.now();
        let expected = Expected {
            issuer: &metadata.issuer,
            client_id,
            nonce,
            subject,
            access_token,
            now,
        };
        let (keys, fetched) = self.keys(&metadata.jwks_uri, false, now).await?;
        match id_token::verify(token, &keys, &expected) {
            Err(IdTokenError::UnknownKey) if !fetched => {
                let (keys, _) = self.keys(&metadata.jwks_uri, true, now).await?;
                Ok(id_token::verify(token, &keys, &expected)?)
            }
            result => Ok(result?),
        }
    }
}
