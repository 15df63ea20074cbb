//! [`Session`]: a signed-in user, known from the session cookie alone,
//! with the cookies a refresh produced for the answer to carry.

use std::sync::{Arc, Mutex, MutexGuard};

use http::HeaderValue;

use super::Sessions;
use super::cookie::SessionData;
use super::user_info::UserInfo;
use crate::answer::Reply;
use crate::error::Error;
use crate::origin::Origin;
use crate::secret::AccessToken;
use crate::transport::BoxFuture;
use crate::vercel_api::TokenSource;

/// A signed-in user, known from the session cookie alone.
///
/// If reading it refreshed the tokens, it carries the new session's
/// cookies: answer through [`Auth::protect`](crate::Auth::protect), or
/// pass your response through [`Session::finish`], so that they reach the
/// browser.
#[must_use = "a session may carry refreshed cookies that must reach the browser"]
pub struct Session {
    pub(crate) user: UserInfo,
    /// The session and the names of its cookie generation; shared with
    /// a refresh under way, which replaces them when it ends.
    pub(crate) data: Arc<Mutex<(SessionData, Vec<String>)>>,
    pub(crate) origin: Option<Origin>,
    /// `Set-Cookie` values the answer must carry.
    pub(crate) pending: Arc<Mutex<Vec<HeaderValue>>>,
    /// Held (read) by each refresh under way, so that
    /// [`Auth::protect`](crate::Auth::protect) answers once they landed.
    pub(crate) landing: Arc<tokio::sync::RwLock<()>>,
}

/// Prints when the session started and ends, nothing about the person or
/// the tokens.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let data = &self.lock().0;
        f.debug_struct("Session")
            .field("signed_in_at", &data.started_at())
            .field("access_token_expires_at", &data.access_expires_at)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The signed-in user, as the ID token proved them when this request
    /// read the session. A refresh made later in the same request
    /// ([`Auth::refresh_session`](crate::Auth::refresh_session), or a
    /// refused token retried by [`Auth::vercel_api`](crate::Auth::vercel_api))
    /// keeps the user (another `sub` ends the session) but may bring newer
    /// profile claims: they reach the cookie, and the next request's
    /// `user()`, not this one.
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
        self.lock().0.started_at()
    }

    /// Adds the session's cookies (a refresh's, if one happened) to your
    /// response, and keeps it out of shared caches: a response that sets
    /// cookies is `Cache-Control: no-store` in place of yours (RFC 9111
    /// §7.3: `Set-Cookie` alone does not stop caching); any other keeps
    /// yours only when it says `private` or `no-store`, and is `no-store`
    /// otherwise, since a CDN does not key its cache on the `Cookie`
    /// header and would hand one user's page to the next visitor. The
    /// cache controls a CDN reads before `Cache-Control` (RFC 9213:
    /// `Vercel-CDN-Cache-Control`, `CDN-Cache-Control`, and
    /// `Surrogate-Control`) are removed.
    /// [`Auth::protect`](crate::Auth::protect) does it for you.
    ///
    /// It takes the session, so that nothing done with it afterwards (a
    /// [`VercelApi`](crate::VercelApi) call that refreshes it) can set
    /// cookies no answer carries: the browser would keep a spent refresh
    /// token. A refresh your code cut off (a timeout around a REST call)
    /// still ends, and lands in the session: `finish` carries it only once
    /// it has, so await [`Session::settled`] first if your code cuts calls
    /// off ([`Auth::protect`](crate::Auth::protect) does).
    ///
    /// ```
    /// # async fn page(auth: &sign_in_with_vercel::Auth, request: http::Request<()>) {
    /// let Ok(session) = auth.session(&request).await else { return };
    /// if let Ok(api) = auth.vercel_api(&session).await {
    ///     let _ = api.get("/v2/user").await;
    /// }
    /// let response = session.finish(http::Response::new(()));
    /// # drop(response);
    /// # }
    /// ```
    ///
    /// and not the other way round:
    ///
    /// ```compile_fail
    /// # async fn page(auth: &sign_in_with_vercel::Auth, request: http::Request<()>) {
    /// let Ok(session) = auth.session(&request).await else { return };
    /// let response = session.finish(http::Response::new(()));
    /// if let Ok(api) = auth.vercel_api(&session).await {
    ///     let _ = api.get("/v2/user").await;
    /// }
    /// # drop(response);
    /// # }
    /// ```
    pub fn finish<B>(self, response: http::Response<B>) -> http::Response<B> {
        with_cookies(&self.pending, response)
    }

    /// Waits for the refreshes of this session that your code cut off (a
    /// timeout around a [`VercelApi`](crate::VercelApi) call after a
    /// `401`) to land in it, each within the deadline of the call that
    /// started it ([`REQUEST_DEADLINE`](crate::REQUEST_DEADLINE) from that
    /// REST call or [`Auth::refresh_session`](crate::Auth::refresh_session)): the
    /// provider has rotated the tokens, and the new generation, which
    /// [`Session::finish`] then carries, holds the only refresh token
    /// left. At once when none is under way.
    pub async fn settled(&self) {
        drop(self.landing.write().await);
    }

    /// The cookies and origin a route's answer carries, back from the
    /// session it lent them to.
    pub(crate) fn into_reply(self) -> Reply {
        let session_names = std::mem::take(&mut self.lock().1);
        let set_cookies = std::mem::take(&mut *lock_pending(&self.pending));
        Reply {
            origin: self.origin,
            set_cookies,
            session_names,
            ..Reply::default()
        }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, (SessionData, Vec<String>)> {
        lock_data(&self.data)
    }
}

/// A session's data and the names of its generation, locked.
pub(crate) fn lock_data(
    data: &Mutex<(SessionData, Vec<String>)>,
) -> MutexGuard<'_, (SessionData, Vec<String>)> {
    data.lock().unwrap_or_else(|p| p.into_inner())
}

/// The `Set-Cookie` values a session's answer must carry.
pub(crate) fn lock_pending(pending: &Mutex<Vec<HeaderValue>>) -> MutexGuard<'_, Vec<HeaderValue>> {
    pending.lock().unwrap_or_else(|p| p.into_inner())
}

/// `response` with the cookies `pending` holds, which it no longer holds:
/// [`Session::finish`], and [`Auth::protect`](crate::Auth::protect) once
/// the handler has consumed the session. A signed-in user's response is
/// theirs alone, so no shared cache may store it (RFC 9111 §3, §5.2.2.7):
/// one that sets cookies is `Cache-Control: no-store` whatever the handler
/// said; otherwise the handler's `Cache-Control` stays only when it says
/// `private` or `no-store`, and is `no-store` in every other case (none,
/// `public`, `s-maxage`, a `private` limited to some fields). The fields a
/// CDN reads before `Cache-Control` ([`TARGETED_CACHE_CONTROL`]) are
/// removed: Vercel's CDN would cache by them whatever `Cache-Control` says.
pub(crate) fn with_cookies<B>(
    pending: &Mutex<Vec<HeaderValue>>,
    response: http::Response<B>,
) -> http::Response<B> {
    let cookies = std::mem::take(&mut *lock_pending(pending));
    for_this_browser_only(response, cookies)
}

/// `response` with `cookies`, kept from shared caches as [`with_cookies`]
/// says: an answer that depends on the request's cookies (a signed-in
/// user's, and a signed-out visitor's page too, which a CDN that does not
/// key its cache on `Cookie` would hand to signed-in users). One that sets
/// cookies is `no-store` whatever it said: a shared cache must never hand
/// one browser's cookies to another (RFC 9111 §7.3: `Set-Cookie` alone
/// does not stop caching).
pub(crate) fn for_this_browser_only<B>(
    mut response: http::Response<B>,
    cookies: Vec<HeaderValue>,
) -> http::Response<B> {
    let headers = response.headers_mut();
    for name in TARGETED_CACHE_CONTROL {
        headers.remove(name);
    }
    if !cookies.is_empty() || !kept_from_shared_caches(headers) {
        headers.insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
    }
    for cookie in cookies {
        headers.append(http::header::SET_COOKIE, cookie);
    }
    response
}

/// The cache controls a CDN obeys before `Cache-Control` (RFC 9213):
/// Vercel's own, the targeted field of every CDN, and the older
/// `Surrogate-Control`.
const TARGETED_CACHE_CONTROL: [&str; 3] = [
    "vercel-cdn-cache-control",
    "cdn-cache-control",
    "surrogate-control",
];

/// Whether `headers`' `Cache-Control` forbids shared caches to store the
/// response: an unqualified `private` or a `no-store` directive (RFC 9111
/// §5.2.2.5, §5.2.2.7; directive names are case-insensitive, §5.2). A
/// `private="field"` leaves the rest of the response to shared caches.
fn kept_from_shared_caches(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|directive| {
            directive.eq_ignore_ascii_case("private") || directive.eq_ignore_ascii_case("no-store")
        })
}

/// The session as the REST client's token source: its access token, and
/// on a refusal one refresh ([`super::refresh_now`]), whose rotated
/// cookies join the session's.
pub(crate) struct SessionTokens<'a> {
    pub(crate) sessions: &'a Sessions,
    pub(crate) session: &'a Session,
}

impl TokenSource for SessionTokens<'_> {
    fn access_token(&self) -> AccessToken {
        self.session.access_token()
    }

    fn refresh(&self) -> BoxFuture<'_, Result<AccessToken, Error>> {
        Box::pin(super::refresh_now(self.sessions, self.session))
    }
}

#[cfg(test)]
mod tests {
    use super::super::cookie::Profile;
    use super::*;

    const NOW: i64 = 1_800_000_000;

    /// A session of `usr_1` begun half a second into `NOW`, with one
    /// generation and one pending `Set-Cookie`.
    fn session() -> Session {
        let data = SessionData::issued(
            "sid".into(),
            "usr_1".into(),
            &AccessToken::new("vca_x"),
            3600,
            Some("vcr_x".into()),
            Profile::default(),
            (NOW * 1000 + 500, 0),
            NOW,
        );
        Session {
            user: UserInfo::from_session(&data),
            data: Arc::new(Mutex::new((data, vec!["session.a.0".into()]))),
            origin: Some(Origin::parse_configured("http://localhost:3000").unwrap()),
            pending: Arc::new(Mutex::new(vec![HeaderValue::from_static("session.b.0=v")])),
            landing: Arc::default(),
        }
    }

    /// The accessors read the session's user, token, expiry and start;
    /// `Debug` shows only the times.
    #[test]
    fn a_session_names_its_user_token_expiry_and_start() {
        let session = session();
        assert_eq!(
            (session.sub(), session.user().sub.as_str()),
            ("usr_1", "usr_1")
        );
        assert_eq!(session.access_token().secret(), "vca_x");
        assert_eq!(session.access_token_expires_at(), NOW + 3600);
        assert_eq!(session.signed_in_at(), NOW);
        let printed = format!("{session:?}");
        assert!(printed.starts_with("Session {"), "{printed}");
        assert!(
            printed.contains(&format!("signed_in_at: {NOW}")),
            "{printed}"
        );
        assert!(!printed.contains("vca_x") && !printed.contains("usr_1"));
    }

    /// A route's answer gets back the session's origin, its pending
    /// cookies and its generation's names.
    #[test]
    fn into_reply_hands_back_the_origin_cookies_and_names() {
        let reply = session().into_reply();
        assert_eq!(reply.origin.unwrap().as_str(), "http://localhost:3000");
        assert_eq!(
            reply.set_cookies,
            [HeaderValue::from_static("session.b.0=v")]
        );
        assert_eq!(reply.session_names, ["session.a.0"]);
    }
}
