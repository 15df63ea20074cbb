//! What a signed-in request is given: the user, the session (with the
//! cookies a refresh produced), and the rejection when there is none.

use std::sync::{Arc, Mutex};

use http::HeaderValue;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::cookie::SessionData;
use crate::answer::{Exchange, Kind, answer};
use crate::auth::Auth;
use crate::error::Error;
use crate::origin::Origin;
use crate::secret::AccessToken;
use crate::transport::BoxFuture;
use crate::vercel_api::TokenSource;

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
    pub(crate) user: UserInfo,
    /// The session and the names of its cookie generation.
    pub(crate) data: Mutex<(SessionData, Vec<String>)>,
    pub(crate) origin: Option<Origin>,
    /// `Set-Cookie` values the answer must carry.
    pub(crate) pending: Arc<Mutex<Vec<HeaderValue>>>,
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

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, (SessionData, Vec<String>)> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The session as the REST client's token source: its access token, and
/// on a 401 one refresh through [`Auth::refresh_session`], whose rotated
/// cookies join the session's.
pub(crate) struct SessionTokens<'a> {
    pub(crate) auth: &'a Auth,
    pub(crate) session: &'a Session,
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
    pub(crate) error: Error,
    pub(crate) exchange: Exchange,
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
