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
mod user;

use std::sync::{Arc, Mutex};

use http::HeaderMap;

pub(crate) use refresh::Flights;
use refresh::Refreshed;
pub(crate) use user::SessionTokens;
pub use user::{Rejection, Session, UserInfo};

use crate::answer::Exchange;
use crate::auth::Auth;
use crate::cookies::RequestCookies;
use crate::error::Error;
use crate::origin::Origin;
use crate::secret::AccessToken;
use cookie::{Sealed, SessionData};

/// What a request needs from the session.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Who is signed in: a valid seal is enough, whatever a refresh does.
    Identity,
    /// A live access token, to call the provider with.
    AccessToken,
}

/// What a session request reads before its first await (the origin and
/// the app's cookies), so that its future holds no borrow of the request.
pub(crate) type SessionRequest = Result<(Origin, RequestCookies), Error>;

/// Reads what a session needs from the request headers.
pub(crate) fn request(auth: &Auth, headers: &HeaderMap) -> SessionRequest {
    let origin = auth.origin(headers)?;
    let cookies = RequestCookies::parse(headers, &origin);
    Ok((origin, cookies))
}

/// The [`Session`] handed to user code: the data, and the cookies the
/// answer must carry (a refresh's, stale generations deleted).
pub(crate) fn session_of(data: SessionData, exchange: Exchange) -> Session {
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
pub(crate) async fn load(
    auth: &Auth,
    start: SessionRequest,
    exchange: &mut Exchange,
    need: Need,
) -> Result<SessionData, Error> {
    let (origin, cookies) = start?;
    exchange.origin = Some(origin.clone());
    let config = auth.config()?;
    let now = auth.now();
    let read = cookie::read(&cookies, &origin, config, now);
    exchange
        .set_cookies
        .extend(crate::cookies::clear_all(&origin, &read.stale));
    let current = read.current.ok_or(Error::NotSignedIn)?;
    exchange.session_names = current.names.clone();
    let mut data = current.data;

    if data.refresh_due(now) {
        match refresh_shared(auth, &origin, &data).await {
            Ok(refreshed) => {
                replace_generation(exchange, &origin, &refreshed.sealed);
                data = refreshed.data.clone();
            }
            // Refused: the grant is dead, or a parallel request in
            // another instance spent the refresh token first (its
            // response carries the new session). Either way this
            // generation is done: delete it, and only it. While its access
            // token is still valid (the early-refresh window) the user is
            // still known; after that the provider's refusal is the last
            // word, so that a copied cookie whose deletion is ignored
            // cannot keep a dead session alive. 409: one retry tells a
            // lost race (the newer cookie has arrived) from a dead grant.
            Err(Error::TokenRejected(code)) => {
                Error::TokenRejected(code).log("refresh");
                if !data.access_token_live(now) {
                    return Err(Error::RefreshConflict);
                }
                exchange
                    .set_cookies
                    .extend(crate::cookies::clear_all(&origin, &current.names));
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
        replace_generation(exchange, &origin, &sealed);
    }
    if need == Need::AccessToken && !data.access_token_live(now) {
        return Err(Error::NotSignedIn);
    }
    Ok(data)
}

/// The browser's session generation (the one `exchange` read) gives way
/// to `sealed`: deleted by name, the new one set, and its names the ones a
/// later error would delete.
fn replace_generation(exchange: &mut Exchange, origin: &Origin, sealed: &Sealed) {
    let old = std::mem::replace(&mut exchange.session_names, sealed.names.clone());
    exchange
        .set_cookies
        .extend(crate::cookies::clear_all(origin, &old));
    exchange
        .set_cookies
        .extend(sealed.set_cookies.iter().cloned());
}

/// One refresh per session generation per instance, however many
/// requests need it.
async fn refresh_shared(
    auth: &Auth,
    origin: &Origin,
    data: &SessionData,
) -> Result<Arc<Refreshed>, Error> {
    let refresh_token = data.refresh_token.as_deref().unwrap_or_default();
    auth.flights()
        .share(refresh_token, origin.as_str(), async || {
            let data = crate::refresh::grant(auth, data).await?;
            let sealed = cookie::write(origin, auth.config()?, &data, auth.now())?;
            Ok(Refreshed { data, sealed })
        })
        .await
}

/// Refreshes the session's tokens now, whatever their age: for a call
/// the provider refused with 401 although the token looked fresh. The
/// new session's cookies join the session's; the new access token is
/// returned.
pub(crate) async fn refresh_now(auth: &Auth, session: &Session) -> Result<AccessToken, Error> {
    let origin = session.origin.clone().ok_or(Error::NotSignedIn)?;
    let data = session.lock().0.clone();
    if data.refresh_token.is_none() {
        return Err(Error::TokenInactive);
    }
    let refreshed = refresh_shared(auth, &origin, &data).await?;
    let mut exchange = Exchange::default();
    {
        let mut state = session.lock();
        exchange.session_names = std::mem::take(&mut state.1);
        replace_generation(&mut exchange, &origin, &refreshed.sealed);
        *state = (refreshed.data.clone(), exchange.session_names);
    }
    session
        .pending
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .extend(exchange.set_cookies);
    Ok(AccessToken::new(refreshed.data.access_token.clone()))
}
