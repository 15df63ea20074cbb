//! [`Auth`]: the configured relying party, one per function instance, and
//! the provider calls the routes share.

use std::future::Future;

use bytes::Bytes;
use http::HeaderMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::answer::Exchange;
use crate::config::{Config, ConfigError};
use crate::discovery::ProviderMetadata;
use crate::error::{Endpoint, Error};
use crate::id_token::{self, Expected, IdTokenClaims, IdTokenError};
use crate::jwks::{JwkSet, JwksCache};
use crate::origin::Origin;
use crate::routes::Route;
use crate::secret::{AccessToken, IdToken, Nonce};
use crate::session::{self, Flights, Need, Rejection, Session, SessionTokens};
use crate::transport::{
    HttpClient, HttpRequest, HttpResponse, REQUEST_TIMEOUT, ReqwestClient, TransportError,
    Unbuildable,
};
use crate::vercel_api::{VercelApi, api_base};

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
/// Every entry point is a method on it: [`Auth::serve`] answers one of the
/// [`ROUTES`](crate::ROUTES) (what each function's shim calls),
/// [`Auth::session`] and [`Auth::protect`] tell your own functions who is
/// signed in, [`Auth::vercel_api`] calls Vercel's REST API as them.
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

    /// Answers `request` with `route`: what each function's shim does.
    pub fn serve<'a, B>(
        &'a self,
        route: &'static Route,
        request: http::Request<B>,
    ) -> impl Future<Output = crate::Response> + Send + 'a {
        crate::routes::serve(self, route, request)
    }

    /// The signed-in user of `request`, from the session cookie: no
    /// provider call while the access token is fresh. A few minutes before
    /// it expires, the tokens are refreshed (one token call shared by the
    /// instance's concurrent requests); if that fails, the user is still
    /// known as long as the session cookie is valid.
    ///
    /// ```no_run
    /// use sign_in_with_vercel::Auth;
    /// use vercel_runtime::{Error, Request, Response, ResponseBody, run, service_fn};
    ///
    /// async fn handler(req: Request) -> Result<Response<ResponseBody>, Error> {
    ///     let auth = Auth::global();
    ///     Ok(auth
    ///         .protect(&req, async |session| {
    ///             let name = session.user().name.as_deref().unwrap_or("there");
    ///             Response::new(ResponseBody::from(format!("Hello, {name}!")))
    ///         })
    ///         .await)
    /// }
    ///
    /// #[tokio::main]
    /// async fn main() -> Result<(), Error> {
    ///     run(service_fn(handler)).await
    /// }
    /// ```
    pub fn session<B>(
        &self,
        request: &http::Request<B>,
    ) -> impl Future<Output = Result<Session, Rejection>> + Send + '_ {
        let start = session::request(self, request.headers());
        with_deadline(async move {
            let mut exchange = Exchange::default();
            match session::load(self, start, &mut exchange, Need::Identity).await {
                Ok(data) => Ok(session::session_of(data, exchange)),
                Err(error) => Err(Rejection { error, exchange }),
            }
        })
    }

    /// Runs `handler` with the signed-in user of `request` and returns its
    /// response with the session's cookies; answers a signed-out request
    /// itself (401 JSON, stale cookies deleted). The provider calls of the
    /// whole request, the handler's REST API calls included, share one
    /// [`REQUEST_DEADLINE`].
    pub async fn protect<B, RB, F>(
        &self,
        request: &http::Request<B>,
        handler: F,
    ) -> http::Response<RB>
    where
        F: AsyncFnOnce(Session) -> http::Response<RB>,
        RB: From<Bytes>,
    {
        let session = self.session(request);
        with_deadline(async move {
            match session.await {
                Ok(session) => {
                    let pending = session.pending.clone();
                    let mut response = handler(session).await;
                    let cookies =
                        std::mem::take(&mut *pending.lock().unwrap_or_else(|p| p.into_inner()));
                    for cookie in cookies {
                        response
                            .headers_mut()
                            .append(http::header::SET_COOKIE, cookie);
                    }
                    response
                }
                Err(rejection) => rejection.into_response().map(RB::from),
            }
        })
        .await
    }

    /// Vercel's REST API acting as the signed-in user: the session's access
    /// token against `https://api.vercel.com` (or, for another issuer, the
    /// origin of its token endpoint). A 401 refreshes the session once and
    /// retries once; the new cookies reach the browser with the session's.
    pub async fn vercel_api<'a>(&'a self, session: &'a Session) -> Result<VercelApi<'a>, Error> {
        let metadata = self.metadata().await?;
        let base = api_base(metadata)
            .ok_or_else(|| Error::Discovery("token_endpoint has no origin".into()))?;
        Ok(VercelApi::new(
            self.http(),
            base,
            SessionTokens {
                auth: self,
                session,
            },
        ))
    }

    /// The request's origin: pinned by `APP_URL`, or from its headers.
    pub(crate) fn origin(&self, headers: &HeaderMap) -> Result<Origin, Error> {
        let config = self.config()?;
        Origin::from_request(headers, config.app_url.as_ref()).ok_or(Error::BadRequest(
            "cannot tell the app's origin from the Host header",
        ))
    }

    /// Refreshes the session's tokens now, whatever their age: for a call
    /// the provider refused with 401 although the token looked fresh. The
    /// new session's cookies join the session's; the new access token is
    /// returned.
    pub async fn refresh_session(&self, session: &Session) -> Result<AccessToken, Error> {
        session::refresh_now(self, session).await
    }

    /// Runs one provider call, within what is left of the request's
    /// deadline. A request that could not be built (an endpoint that is
    /// not a URL) is [`Error::Unbuildable`], a configuration problem.
    pub(crate) async fn send(
        &self,
        endpoint: Endpoint,
        request: Result<HttpRequest, Unbuildable>,
    ) -> Result<HttpResponse, Error> {
        let request = request.map_err(|Unbuildable| Error::Unbuildable(endpoint))?;
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
