//! Who is signed in: read from the sealed session cookie with no provider
//! call, refreshed a few minutes before the access token expires (RFC 6749
//! §6, OpenID Connect Core §12), the refresh shared by the requests of an
//! instance.
//!
//! [`Auth::session`] is the call a function makes to learn who is signed
//! in, the way NextAuth users call `getSession`; [`Auth::protect`] wraps a
//! whole handler.

pub(crate) mod cookie;
mod refresh;

use std::future::Future;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub(crate) use refresh::Flights;
use refresh::Refreshed;

use crate::answer::{Exchange, Kind, answer};
use crate::auth::Auth;
use crate::cookies::RequestCookies;
use crate::error::Error;
use crate::origin::Origin;
use crate::secret::AccessToken;
use crate::transport::BoxFuture;
use crate::vercel_api::{TokenSource, VercelApi, api_base};
use cookie::SessionData;

/// The signed-in user: the standard claims (OpenID Connect Core §5.1) the
/// provider proved, plus any others it sent.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    /// The subject: the user's stable identifier at the provider.
    pub sub: String,
    /// Full name (`profile` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Username (`profile` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Avatar URL (`profile` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    /// Email address (`email` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the provider verified the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Every other claim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Names no personal data.
impl std::fmt::Debug for UserInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserInfo([redacted])")
    }
}

impl UserInfo {
    pub(crate) fn from_session(data: &SessionData) -> Self {
        let p = &data.profile;
        Self {
            sub: data.sub.clone(),
            name: p.name.clone(),
            preferred_username: p.preferred_username.clone(),
            picture: p.picture.clone(),
            email: p.email.clone(),
            email_verified: None,
            other: Map::new(),
        }
    }
}

/// A signed-in user, known from the session cookie alone.
///
/// If reading it refreshed the tokens, it carries the new session's
/// cookies: answer through [`Auth::protect`], or pass your response
/// through [`Session::finish`], so that they reach the browser.
#[must_use = "a session may carry refreshed cookies that must reach the browser"]
pub struct Session {
    user: UserInfo,
    data: Mutex<(SessionData, Vec<String>)>,
    origin: Option<Origin>,
    pending: Arc<Mutex<Vec<HeaderValue>>>,
}

/// Prints when the session started and ends, nothing about the person or
/// the tokens.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let data = &self.lock().0;
        f.debug_struct("Session")
            .field("signed_in_at", &data.started_at)
            .field("access_token_expires_at", &data.access_expires_at)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The signed-in user, as the ID token proved them.
    pub fn user(&self) -> &UserInfo {
        &self.user
    }

    /// The user's subject identifier.
    pub fn sub(&self) -> &str {
        &self.user.sub
    }

    /// The access token, to call Vercel's API on the user's behalf.
    pub fn access_token(&self) -> AccessToken {
        AccessToken::new(self.lock().0.access_token.clone())
    }

    /// When the access token expires, seconds since the epoch.
    pub fn access_token_expires_at(&self) -> i64 {
        self.lock().0.access_expires_at
    }

    /// When the user signed in, seconds since the epoch.
    pub fn signed_in_at(&self) -> i64 {
        self.lock().0.started_at
    }

    /// Adds the session's cookies (a refresh's, if one happened) to your
    /// response. [`Auth::protect`] does it for you.
    pub fn finish<B>(&self, mut response: http::Response<B>) -> http::Response<B> {
        let cookies = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        for cookie in cookies {
            response
                .headers_mut()
                .append(http::header::SET_COOKIE, cookie);
        }
        response
    }

    /// The cookies and origin a route's answer carries, back from the
    /// session it lent them to.
    pub(crate) fn into_exchange(self) -> Exchange {
        let (_, session_names) = self.data.into_inner().unwrap_or_else(|p| p.into_inner());
        let set_cookies =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        Exchange {
            origin: self.origin,
            set_cookies,
            session_names,
            ..Exchange::default()
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (SessionData, Vec<String>)> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The session as the REST client's token source: its access token, and
/// on a 401 one refresh through [`Auth::refresh_session`], whose rotated
/// cookies join the session's.
struct SessionTokens<'a> {
    auth: &'a Auth,
    session: &'a Session,
}

impl TokenSource for SessionTokens<'_> {
    fn access_token(&self) -> AccessToken {
        self.session.access_token()
    }

    fn refresh(&self) -> BoxFuture<'_, Result<AccessToken, Error>> {
        Box::pin(self.auth.refresh_session(self.session))
    }
}

/// Why there is no session, as a ready answer (a thin view of the
/// [`Error`] and the cookies its answer carries).
#[must_use = "a rejection carries cookies that must reach the browser"]
pub struct Rejection {
    error: Error,
    exchange: Exchange,
}

impl std::fmt::Debug for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Rejection").field(&self.error).finish()
    }
}

impl Rejection {
    /// What went wrong.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The JSON error answer (401 when signed out), with its cookies.
    pub fn into_response(self) -> crate::Response {
        answer("session", Kind::Api, Err(self.error), self.exchange)
    }
}

/// What a request needs from the session.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Who is signed in: a valid seal is enough, whatever a refresh does.
    Identity,
    /// A live access token, to call the provider with.
    AccessToken,
}

/// What a session request reads before its first await: so its future
/// holds no borrow of the request.
pub(crate) struct SessionRequest {
    origin: Result<Origin, Error>,
    cookies: Option<RequestCookies>,
}

impl Auth {
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
        let start = self.session_request(request.headers());
        async move {
            let mut exchange = Exchange::default();
            match self
                .load_session(start, &mut exchange, Need::Identity)
                .await
            {
                Ok(data) => Ok(self.session_of(data, exchange)),
                Err(error) => Err(Rejection { error, exchange }),
            }
        }
    }

    /// Runs `handler` with the signed-in user of `request` and returns its
    /// response with the session's cookies; answers a signed-out request
    /// itself (401 JSON, stale cookies deleted).
    pub async fn protect<B, RB, F>(
        &self,
        request: &http::Request<B>,
        handler: F,
    ) -> http::Response<RB>
    where
        F: AsyncFnOnce(Session) -> http::Response<RB>,
        RB: From<Bytes>,
    {
        match self.session(request).await {
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

    /// Reads what a session needs from the request headers.
    pub(crate) fn session_request(&self, headers: &HeaderMap) -> SessionRequest {
        let origin = self.origin(headers);
        let cookies = origin
            .as_ref()
            .ok()
            .map(|o| RequestCookies::parse(headers, o));
        SessionRequest { origin, cookies }
    }

    pub(crate) fn session_of(&self, data: SessionData, exchange: Exchange) -> Session {
        Session {
            user: UserInfo::from_session(&data),
            data: Mutex::new((data, exchange.session_names)),
            origin: exchange.origin,
            pending: Arc::new(Mutex::new(exchange.set_cookies)),
        }
    }

    /// The session of a request, refreshed when due; records in
    /// `exchange` the cookies the answer must carry and the generation it
    /// reads.
    pub(crate) async fn load_session(
        &self,
        start: SessionRequest,
        exchange: &mut Exchange,
        need: Need,
    ) -> Result<SessionData, Error> {
        let origin = start.origin?;
        exchange.origin = Some(origin.clone());
        let config = self.config()?;
        let now = self.now();
        let cookies = start
            .cookies
            .unwrap_or_else(|| RequestCookies::parse(&HeaderMap::new(), &origin));
        let read = cookie::read(&cookies, &origin, config, now);
        exchange
            .set_cookies
            .extend(cookie::clear(&origin, &read.stale));
        let current = read.current.ok_or(Error::NotSignedIn)?;
        exchange.session_names = current.names.clone();
        let mut data = current.data;

        if data.refresh_due(now) {
            match self.refresh_shared(&origin, &data).await {
                Ok(refreshed) => {
                    exchange
                        .set_cookies
                        .extend(cookie::clear(&origin, &current.names));
                    exchange
                        .set_cookies
                        .extend(refreshed.sealed.set_cookies.iter().cloned());
                    exchange.session_names = refreshed.sealed.names.clone();
                    data = refreshed.data.clone();
                }
                // Refused: the grant is dead, or a parallel request in
                // another instance spent the refresh token first (its
                // response carries the new session). Either way this
                // generation is done: delete it, and only it.
                Err(Error::TokenRejected(code)) => {
                    Error::TokenRejected(code).log("refresh");
                    if need == Need::AccessToken && !data.access_token_live(now) {
                        return Err(Error::RefreshConflict);
                    }
                    exchange
                        .set_cookies
                        .extend(cookie::clear(&origin, &current.names));
                    exchange.session_names.clear();
                }
                // An ID token about someone else: not this session any more.
                Err(e) if e.ends_session() => return Err(e),
                // The provider could not be reached: keep the session.
                Err(e) => {
                    if need == Need::AccessToken && !data.access_token_live(now) {
                        return Err(e);
                    }
                    e.log("refresh");
                }
            }
        } else if current.old_key {
            // Sealed with a retired key: seal again with the newest.
            let sealed = cookie::write(&origin, config, &data, now)?;
            exchange
                .set_cookies
                .extend(cookie::clear(&origin, &current.names));
            exchange.set_cookies.extend(sealed.set_cookies);
            exchange.session_names = sealed.names;
        }
        if need == Need::AccessToken && !data.access_token_live(now) {
            return Err(Error::NotSignedIn);
        }
        Ok(data)
    }

    /// Refreshes the session's tokens now, whatever their age: for a call
    /// the provider refused with 401 although the token looked fresh. The
    /// new session's cookies join the session's; the new access token is
    /// returned.
    pub async fn refresh_session(&self, session: &Session) -> Result<AccessToken, Error> {
        let origin = session.origin.clone().ok_or(Error::NotSignedIn)?;
        let data = session.lock().0.clone();
        if data.refresh_token.is_none() {
            return Err(Error::TokenInactive);
        }
        let refreshed = self.refresh_shared(&origin, &data).await?;
        let mut cookies = {
            let mut state = session.lock();
            let old_names = std::mem::replace(&mut state.1, refreshed.sealed.names.clone());
            state.0 = refreshed.data.clone();
            cookie::clear(&origin, &old_names)
        };
        cookies.extend(refreshed.sealed.set_cookies.iter().cloned());
        session
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(cookies);
        Ok(AccessToken::new(refreshed.data.access_token.clone()))
    }

    /// One refresh per session generation per instance, however many
    /// requests need it.
    async fn refresh_shared(
        &self,
        origin: &Origin,
        data: &SessionData,
    ) -> Result<Arc<Refreshed>, Error> {
        let refresh_token = data.refresh_token.as_deref().unwrap_or_default();
        self.flights()
            .share(refresh_token, origin.as_str(), async || {
                let data = self.refresh_grant(data).await?;
                let sealed = cookie::write(origin, self.config()?, &data, self.now())?;
                Ok(Refreshed { data, sealed })
            })
            .await
    }
}
