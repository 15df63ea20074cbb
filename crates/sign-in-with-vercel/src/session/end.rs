//! The end of a session: forgotten by this instance and, with the shared
//! store, marked ended for every instance (a sign-out, a refused grant, a
//! sign-in that replaces it, "sign out everywhere"), its tokens revoked
//! where no cookie will hold them any more (RFC 7009).

use super::Sessions;
use super::cookie::SessionData;
use super::revocation::{self, Pending};
use crate::answer::Reply;
use crate::error::Error;
use crate::origin::Origin;

/// Ends the session `data` for good: forgotten by this instance, and, with
/// a shared store, marked ended for every instance. Whether the store took
/// it (always `false` without one).
pub(crate) async fn end(sessions: &Sessions, data: &SessionData) -> bool {
    end_as(sessions, data, true).await
}

/// [`end`] after the provider refused the session's grant, which, without
/// the store's word, may be a race lost to another instance whose answer
/// brings the browser the newer generation: unless the store took the
/// end, a refresh of it still under way here publishes its outcome late.
pub(super) async fn end_after_refusal(sessions: &Sessions, data: &SessionData) -> bool {
    end_as(sessions, data, false).await
}

/// [`end`]; `for_good`: even if the store does not take it.
async fn end_as(sessions: &Sessions, data: &SessionData, for_good: bool) -> bool {
    sessions.forget(data);
    match &sessions.store {
        Some(store) => {
            let id = data.id();
            store.cancel_late(&id);
            let took = store.end_session(&id).await;
            if for_good || took {
                store.ended_here(&id);
            }
            took
        }
        None => false,
    }
}

/// Ends `data`'s session, in every instance with a store, and revokes its
/// tokens (RFC 7009), when the provider's answer about it ends it: it
/// described another user than the session's (OpenID Connect Core §5.3.2:
/// the `sub` must match), so the tokens are not this user's; or it refused
/// the access token (RFC 6750 §3.1, RFC 7662 `active: false`), while the
/// refresh token may live on. The cookie that holds them is deleted with
/// the answer; without the revocation, the refresh token stayed valid,
/// held by no browser. Tokens the provider cannot revoke now are kept,
/// sealed, for the next sign-out of this browser to retry, as a
/// sign-out's are.
pub(crate) async fn end_and_revoke(
    sessions: &Sessions,
    data: &SessionData,
    reply: &mut Reply,
    route: &'static str,
) {
    let (sessions, data, origin) = (sessions.clone(), data.clone(), reply.origin.clone());
    // As a task of its own: an answer cut off after the store took the end
    // still revokes the tokens, which no cookie will hold.
    let kept = crate::clock::to_the_end(async move {
        let provider = &sessions.provider;
        let revoke = async {
            match &origin {
                Some(origin) => {
                    revocation::revoke_all([Pending::of(&data)], &sessions, origin, route)
                        .await
                        .kept
                }
                None => {
                    Pending::of(&data).revoke(provider, route).await;
                    Vec::new()
                }
            }
        };
        let (_, kept) = tokio::join!(end(&sessions, &data), revoke);
        kept
    })
    .await;
    reply.set_cookies.extend(kept.unwrap_or_default());
}

/// Ends `previous`, the session a new sign-in of user `by` replaces in
/// the same browser, so that no copy of its cookies outlives it (OWASP
/// Session Management: a new session invalidates the old one): in every
/// instance, with a store. Another user's tokens, which the browser no
/// longer holds, are revoked as well (RFC 7009); the same user's are not,
/// since a provider may revoke all of a user's grants to the app at once,
/// the new one with them. Returns the cookies that keep, sealed, those the
/// provider could not revoke now, for the next sign-out to retry.
pub(crate) async fn replaced(
    sessions: &Sessions,
    previous: &SessionData,
    by: &str,
    origin: &Origin,
) -> Vec<http::HeaderValue> {
    let (sessions, previous, origin) = (sessions.clone(), previous.clone(), origin.clone());
    let same_user = previous.sub == by;
    // As a task of its own: a sign-in cut off after the store took the end
    // still revokes the tokens, which no cookie will hold.
    crate::clock::to_the_end(async move {
        let revoke_previous = async {
            if same_user {
                return Vec::new();
            }
            revocation::revoke_all([Pending::of(&previous)], &sessions, &origin, "callback")
                .await
                .kept
        };
        let (_, kept) = tokio::join!(end(&sessions, &previous), revoke_previous);
        kept
    })
    .await
    .unwrap_or_default()
}

/// Revokes the tokens of sessions this browser signed out of (or a
/// sign-in replaced) that a refresh answered afterwards brought back (see
/// [`cookie::ended_cookie`](super::cookie::ended_cookie)): no cookie holds them any more. Those of
/// `user`, who is signed in now, are left to the provider, as
/// [`replaced`] leaves them: a provider may revoke all of a user's grants
/// to the app at once, the current one with them. Those the provider
/// could not revoke are kept for a retry, as a sign-out's are: the
/// `Set-Cookie`s returned.
pub(crate) async fn revoke_ended(
    sessions: &Sessions,
    origin: &Origin,
    ended: &[SessionData],
    user: Option<&str>,
    route: &str,
) -> Vec<http::HeaderValue> {
    // Collected: a filtering closure held across the await would tie the
    // future to one lifetime, which `Send` futures cannot be.
    let pending: Vec<_> = ended
        .iter()
        .filter(|e| Some(e.sub.as_str()) != user)
        .map(Pending::of)
        .collect();
    revocation::revoke_all(pending, sessions, origin, route)
        .await
        .kept
}

/// Ends every session of `data`'s user begun until `now_ms` (milliseconds
/// since the epoch), in every instance ("sign out everywhere"): only a
/// shared store can. Only a session the store holds live may (or one ended
/// only by a mark of a clock gone wrong, which this replaces): a copy of
/// one that was ended (a stolen cookie its owner signed out of,
/// everywhere or here) is refused ([`Error::NotSignedIn`]), or it could
/// end every new session of its user, as often as it is sent, for as long
/// as its cookie lives.
pub(crate) async fn end_everywhere(
    sessions: &Sessions,
    data: &SessionData,
    now_ms: i64,
) -> Result<(), Error> {
    let store = sessions.store.as_ref().ok_or(Error::NoSharedStore)?;
    let id = data.id();
    let may = store.may_end_user(&id, &data.sub, data.started_ms, now_ms);
    match may.await {
        Some(true) => {
            if store.end_user(&data.sub, now_ms).await {
                Ok(())
            } else {
                Err(Error::StoreUnavailable)
            }
        }
        Some(false) => Err(Error::NotSignedIn),
        None => Err(Error::StoreUnavailable),
    }
}
