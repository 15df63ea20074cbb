//! The signed-in session: read from cookies, checked with the provider,
//! refreshed when the access token has expired (RFC 6749 §6, OpenID
//! Connect Core §12).
//!
//! [`Auth::session`] is the one call a function makes to learn who is
//! signed in, the way NextAuth users call `getSession`.

use http::HeaderValue;
use serde_json::{Map, Value};

use crate::auth::Auth;
use crate::cookies::{self, RequestCookies, SessionCookies};
use crate::error::{Endpoint, Error};
use crate::introspect::{self, Introspection};
use crate::origin::Origin;
use crate::request::RequestParts;
use crate::response::{self, Response};
use crate::secret::{AccessToken, RefreshToken};
use crate::token;
use crate::userinfo::{self, UserInfoResponse};

/// A signed-in user, as the provider's userinfo endpoint describes them
/// right now.
#[derive(Debug)]
pub struct Session {
    /// The user's subject identifier, verified by the ID token at sign-in
    /// and matched by userinfo.
    pub sub: String,
    /// The userinfo claims: `sub`, `email`, `email_verified`, `name`,
    /// `preferred_username`, `picture`, as the scopes allow.
    pub user: Map<String, Value>,
    /// The access token, to call Vercel's API on the user's behalf.
    pub access_token: AccessToken,
    set_cookies: Vec<HeaderValue>,
}

impl Session {
    /// Adds the cookies of a refresh, if one happened, to your response.
    /// Call it on every response you build from this session: the refresh
    /// token rotates, and the new one must reach the browser.
    pub fn finish<B>(&self, mut response: http::Response<B>) -> http::Response<B> {
        for cookie in &self.set_cookies {
            response
                .headers_mut()
                .append(http::header::SET_COOKIE, cookie.clone());
        }
        response
    }
}

/// Why there is no session, as a ready answer: 401 when signed out (or the
/// session ended, with its cookies cleared), 502/504 when the provider is
/// unreachable, 500 when the app is misconfigured.
#[derive(Debug)]
pub struct Rejection {
    error: Error,
    set_cookies: Vec<HeaderValue>,
}

impl Rejection {
    fn new(error: Error, origin: Option<&Origin>, pending: Vec<HeaderValue>) -> Self {
        let set_cookies = match origin {
            Some(origin) if error.ends_session() => cookies::clear_session_cookies(origin),
            // A refresh that succeeded before a later failure has rotated
            // the refresh token: the browser must still get the new one.
            _ => pending,
        };
        Self { error, set_cookies }
    }

    /// A rejection that sets no cookies.
    pub(crate) fn without_cookies(error: Error) -> Self {
        Self::new(error, None, Vec::new())
    }

    /// What went wrong.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The JSON error answer, with its cookies.
    pub fn into_response(self) -> Response {
        response::with_cookies(response::error_json(&self.error), self.set_cookies)
    }
}

/// Which provider call proves the access token.
#[derive(Clone, Copy)]
pub(crate) enum TokenCheck {
    /// userinfo (OpenID Connect Core §5.3).
    Userinfo,
    /// Introspection (RFC 7662).
    Introspection,
}

/// A provider call made with a live access token.
pub(crate) struct Authorized {
    pub sub: String,
    pub claims: Map<String, Value>,
    pub access_token: AccessToken,
    pub set_cookies: Vec<HeaderValue>,
}

impl Auth {
    /// The signed-in user of `request`, or a [`Rejection`] to return as is.
    ///
    /// Reads the session cookies and asks the provider's userinfo endpoint
    /// who the access token belongs to; that `sub` must be the one the ID
    /// token proved at sign-in. If the access token has expired and a
    /// refresh token is there, refreshes first (storing the rotated refresh
    /// token through [`Session::finish`]).
    ///
    /// ```no_run
    /// use sign_in_with_vercel::Auth;
    /// use vercel_runtime::{Error, Request, Response, ResponseBody, run, service_fn};
    ///
    /// async fn handler(req: Request) -> Result<Response<ResponseBody>, Error> {
    ///     let session = match Auth::global().session(&req).await {
    ///         Ok(session) => session,
    ///         Err(rejection) => return Ok(rejection.into_response().map(ResponseBody::from)),
    ///     };
    ///     let name = session.user.get("name").and_then(|n| n.as_str()).unwrap_or("there");
    ///     let response = Response::new(format!("Hello, {name}!"));
    ///     Ok(session.finish(response).map(ResponseBody::from))
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
        let parts = RequestParts::from(request);
        async move {
            let origin = self
                .origin(&parts.headers)
                .map_err(|e| Rejection::new(e, None, Vec::new()))?;
            let authorized = self
                .authorized(&parts, &origin, TokenCheck::Userinfo)
                .await?;
            Ok(Session {
                sub: authorized.sub,
                user: authorized.claims,
                access_token: authorized.access_token,
                set_cookies: authorized.set_cookies,
            })
        }
    }

    /// The request's origin: pinned by `APP_URL`, or from its headers.
    pub(crate) fn origin(&self, headers: &http::HeaderMap) -> Result<Origin, Error> {
        let config = self.config()?;
        Origin::from_request(headers, config.app_url.as_ref()).ok_or(Error::BadRequest(
            "cannot tell the app's origin from the Host header",
        ))
    }

    /// Proves the session's access token with `check`, refreshing once when
    /// it is missing (the cookie expired) or rejected.
    pub(crate) async fn authorized(
        &self,
        parts: &RequestParts,
        origin: &Origin,
        check: TokenCheck,
    ) -> Result<Authorized, Rejection> {
        let reject =
            |error, pending: Vec<HeaderValue>| Rejection::new(error, Some(origin), pending);
        let session = RequestCookies::from_headers(&parts.headers)
            .and_then(|c| SessionCookies::read(&c))
            .map_err(|e| reject(e, Vec::new()))?;
        if !session.is_signed_in() {
            return Err(reject(Error::NotSignedIn, Vec::new()));
        }
        let sub = session
            .sub
            .clone()
            .filter(|s| s.len() <= 255)
            .ok_or_else(|| reject(Error::InvalidSession("no subject cookie"), Vec::new()))?;

        if let Some(token) = &session.access_token {
            match self.check_token(check, token, &sub).await {
                Ok(Some(claims)) => {
                    return Ok(Authorized {
                        sub,
                        claims,
                        access_token: token.clone(),
                        set_cookies: Vec::new(),
                    });
                }
                Ok(None) if session.refresh_token.is_none() => {
                    return Err(reject(Error::TokenInactive, Vec::new()));
                }
                Ok(None) => {}
                Err(e) => return Err(reject(e, Vec::new())),
            }
        }
        let Some(refresh_token) = &session.refresh_token else {
            return Err(reject(Error::NotSignedIn, Vec::new()));
        };
        let (access_token, set_cookies) = self
            .refresh(origin, refresh_token, &sub)
            .await
            .map_err(|e| reject(e, Vec::new()))?;
        match self.check_token(check, &access_token, &sub).await {
            Ok(Some(claims)) => Ok(Authorized {
                sub,
                claims,
                access_token,
                set_cookies,
            }),
            Ok(None) => Err(reject(Error::TokenInactive, set_cookies)),
            Err(e) => Err(reject(e, set_cookies)),
        }
    }

    /// Asks the provider about `token`: its claims if it is live, `None` if
    /// the provider says it is not (expired, revoked, unknown).
    async fn check_token(
        &self,
        check: TokenCheck,
        token: &AccessToken,
        sub: &str,
    ) -> Result<Option<Map<String, Value>>, Error> {
        let config = self.config()?;
        let metadata = self.metadata().await?;
        match check {
            TokenCheck::Userinfo => {
                let endpoint = metadata
                    .userinfo_endpoint
                    .as_deref()
                    .ok_or(Error::Unsupported("userinfo"))?;
                let response = self
                    .send(Endpoint::Userinfo, userinfo::request(endpoint, token))
                    .await?;
                match userinfo::parse_response(&response, sub)? {
                    UserInfoResponse::Claims(claims) => Ok(Some(claims)),
                    UserInfoResponse::TokenRejected => Ok(None),
                }
            }
            TokenCheck::Introspection => {
                let endpoint = metadata
                    .introspection_endpoint
                    .as_deref()
                    .ok_or(Error::Unsupported("introspection"))?;
                let response = self
                    .send(
                        Endpoint::Introspection,
                        introspect::request(endpoint, config, token),
                    )
                    .await?;
                match introspect::parse_response(&response, &config.client_id)? {
                    Introspection::Active(info) => {
                        if info
                            .get("sub")
                            .and_then(Value::as_str)
                            .is_some_and(|s| !crate::secret::ct_eq(s, sub))
                        {
                            return Err(Error::SubjectMismatch);
                        }
                        Ok(Some(info))
                    }
                    Introspection::Inactive => Ok(None),
                }
            }
        }
    }

    /// Exchanges the refresh token (RFC 6749 §6). The response's refresh
    /// token replaces the old one, which is now spent; an ID token in it
    /// must verify and be about the same user (OpenID Connect Core §12.2).
    /// Returns the new access token and the cookies that store the tokens.
    pub(crate) async fn refresh(
        &self,
        origin: &Origin,
        refresh_token: &RefreshToken,
        sub: &str,
    ) -> Result<(AccessToken, Vec<HeaderValue>), Error> {
        let config = self.config()?;
        let metadata = self.metadata().await?;
        let response = self
            .send(
                Endpoint::Token,
                token::refresh_request(&metadata.token_endpoint, config, refresh_token),
            )
            .await?;
        let tokens = token::parse_response(&response)?;
        if let Some(id_token) = &tokens.id_token {
            self.verify_id_token(id_token, &tokens.access_token, None, Some(sub))
                .await?;
        }
        let set_cookies = cookies::session_cookies(
            origin,
            &tokens.access_token,
            tokens.expires_in,
            tokens.refresh_token.as_ref(),
            true,
            sub,
        )?;
        Ok((tokens.access_token, set_cookies))
    }
}
