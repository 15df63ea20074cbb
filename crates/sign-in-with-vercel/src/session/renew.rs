//! The refresh of a session (RFC 6749 §6): one per session generation,
//! shared by the requests of an instance and, with the shared store, by
//! all instances; the generation it makes, and what a refused refresh
//! does to the session.

use std::sync::{Arc, Mutex};

use super::cookie::{self, SessionData};
use super::end::{end, end_after_refusal};
use super::flights::{self, Refreshed};
use super::revocation::Pending;
use super::{Session, Sessions, current, replace_generation, shared};
use crate::answer::Reply;
use crate::error::{Endpoint, Error};
use crate::origin::Origin;
use crate::provider::Provider;
use crate::refresh::Renewed;
use crate::secret::{AccessToken, RefreshToken};

/// One refresh per session generation, however many requests need it: in
/// this instance (the requests share one call, and latecomers get its
/// outcome for a few seconds), and with a shared store in all of them.
/// The refresh owns what it uses: it runs on if the request is cut off.
pub(super) async fn refresh_shared(
    sessions: &Sessions,
    origin: &Origin,
    data: &SessionData,
) -> Result<Arc<Refreshed>, Error> {
    let refresh_token = data.refresh_token.as_deref().unwrap_or_default();
    let id = data.id();
    let key = flights::key(&id, refresh_token, data.rotation, origin.as_str());
    let refresh = || {
        let (provider, store) = (sessions.provider.clone(), sessions.store.clone());
        let (origin, data) = (origin.clone(), data.clone());
        async move {
            match store {
                Some(store) => {
                    // Answered from this instance's cache when the request
                    // has just asked (the usual case), or at once when the
                    // store is resting.
                    let ended = store.ended(&data.id(), &data.sub, data.started_ms).await;
                    let lifetime = match ended {
                        Some(false) => Lifetime::Extended,
                        // Ended since the request read it (signed out in
                        // another tab while a handler ran, which then asked
                        // for a refresh): no new tokens that no one keeps.
                        Some(true) => return Err(Error::NotSignedIn),
                        None => Lifetime::Kept,
                    };
                    shared::refresh(&provider, &store, &key, &origin, &data, lifetime).await
                }
                None => refresh_here(&provider, &origin, &data, Lifetime::Extended).await,
            }
        }
    };
    // Without a store, refused before in this instance: the same refusal,
    // no token call (a copy of a spent or dead generation, however often
    // it is sent). With one, a refusal ends the session in the store, which
    // every request checks first; and a refusal that the store did not
    // hear of (in an outage) may be a race another instance won, whose
    // outcome, published late, a copy of this generation must still get.
    let remembers = sessions.store.is_none();
    let now = sessions.provider.now();
    if remembers && let Some(refusal) = sessions.spent.refusal(&key, now) {
        return Err(refusal);
    }
    let outcome = sessions.flights.share(key, &id, refresh).await;
    if remembers && let Err(e) = &outcome {
        sessions.spent.refused(key, data.expires_at, e, now);
    }
    outcome
}

/// Whether a refresh may move the session's end (a refresh token's life
/// from now) or must keep the end it had.
///
/// With a store, a session's end outlives every mark that ends it
/// ("sign out everywhere", a sign-out whose revocation failed) only if the
/// store said "not ended" when the end was moved: the marks are kept for a
/// refresh token's life. A refresh made while the store does not answer
/// keeps the end it had, so no copy of an ended session refreshed in an
/// outage outlives its mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lifetime {
    /// The store said "not ended", or there is no store: the session's end
    /// moves to a refresh token's life from now.
    Extended,
    /// The store did not answer: the session ends when it would have.
    Kept,
}

/// Refreshes `data` with one token call of this instance's own.
pub(super) async fn refresh_here(
    provider: &Provider,
    origin: &Origin,
    data: &SessionData,
    lifetime: Lifetime,
) -> Result<Refreshed, Error> {
    let config = provider.config()?;
    let refresh_token = RefreshToken::new(data.refresh_token.clone().unwrap_or_default());
    // Before the call: the new access token's life counts from no later
    // than the provider issued it.
    let asked_at = provider.now();
    let renewed = crate::refresh::grant(provider, &refresh_token, &data.sub).await?;
    let new = next_generation(data, renewed, asked_at, lifetime);
    match cookie::write(origin, config, &new, provider.now()) {
        Ok(sealed) => Ok(Refreshed { data: new, sealed }),
        Err(e) => {
            // Tokens no browser will hold (too large for the cookies; the
            // error ends the session): revoked (RFC 7009), as a sign-in's
            // are, the refresh token too if the provider did not rotate it.
            Pending::of(&new).revoke(provider, "refresh").await;
            Err(e)
        }
    }
}

/// The session that replaces `old` after a refresh: the new tokens, one
/// more rotation, the same user and start; the profile of the refreshed ID
/// token when it verified, else the one the session had; its access token
/// issued at `asked_at`, when the refresh was asked for, or when the old
/// one was if that is later (an instance whose clock is behind the one
/// that signed the user in, refreshing at once: a generation issued before
/// its session began opens nowhere); its end moved or kept as `lifetime`
/// says.
fn next_generation(
    old: &SessionData,
    renewed: Renewed,
    asked_at: i64,
    lifetime: Lifetime,
) -> SessionData {
    let Renewed { tokens, claims } = renewed;
    let refresh_token = tokens
        .refresh_token
        .map(|t| t.secret().to_owned())
        // RFC 6749 §6: without a new one, the old refresh token stays valid.
        .or_else(|| old.refresh_token.clone());
    let mut new = SessionData::issued(
        old.id().into_owned(),
        old.sub.clone(),
        &tokens.access_token,
        tokens.expires_in,
        refresh_token,
        claims.map_or_else(|| old.profile.clone(), cookie::Profile::from),
        (old.started_ms, old.rotation.saturating_add(1)),
        asked_at.max(old.access_issued_at),
    );
    if lifetime == Lifetime::Kept {
        new.expires_at = new.expires_at.min(old.expires_at);
    }
    new
}

/// Refreshes the session's tokens now, whatever their age: for a call
/// the provider refused with 401 although the token looked fresh. The
/// new session's cookies join the session's; the new access token is
/// returned.
///
/// The refresh, and what it does to the session, run as a task of their
/// own: a function that cuts off its own call (a timeout around a REST
/// call) does not lose the generation the provider made, whose refresh
/// token is the only one left. It reaches the session when the refresh
/// ends; [`Auth::protect`](crate::Auth::protect) waits for it before
/// answering.
pub(crate) async fn refresh_now(
    sessions: &Sessions,
    session: &Session,
) -> Result<AccessToken, Error> {
    let origin = session.origin.clone().ok_or(Error::NotSignedIn)?;
    let data = session.lock().0.clone();
    if data.refresh_token.is_none() {
        return Err(Error::TokenInactive);
    }
    let landing = session.landing.clone().read_owned().await;
    let (sessions, state, pending) = (
        sessions.clone(),
        session.data.clone(),
        session.pending.clone(),
    );
    // Called from a function's own code, maybe outside any request: the
    // refresh still keeps to a request's deadline, which ends before the
    // shared store's claim on it lapses.
    crate::clock::to_the_end(async move {
        let landed = land(&sessions, &origin, &data, &state, &pending).await;
        drop(landing);
        landed
    })
    .await
    .unwrap_or_else(|| Err(Endpoint::Token.unreachable(crate::TransportError::Other)))
}

/// [`refresh_now`]'s refresh of `data`, landed in the session's `state`
/// and `pending` cookies.
async fn land(
    sessions: &Sessions,
    origin: &Origin,
    data: &SessionData,
    state: &Mutex<(SessionData, Vec<String>)>,
    pending: &Mutex<Vec<http::HeaderValue>>,
) -> Result<AccessToken, Error> {
    let refreshed =
        match crate::clock::with_deadline(Box::pin(refresh_shared(sessions, origin, data))).await {
            Ok(refreshed) => refreshed,
            Err(e) => {
                let (e, over) = after_refused_refresh(sessions, data, e).await;
                // The answer the session finishes deletes this generation
                // (only it: the others are other sessions, or newer).
                if over {
                    // The error goes to the function's own code, which may
                    // not log it: the end of a session is said here.
                    if !matches!(e, Error::RefreshConflict) {
                        e.log("refresh");
                    }
                    let read = std::mem::take(&mut current::lock_data(state).1);
                    current::lock_pending(pending).extend(crate::cookies::clear_all(origin, &read));
                }
                return Err(e);
            }
        };
    let mut reply = Reply::default();
    {
        let mut state = current::lock_data(state);
        reply.session_names = std::mem::take(&mut state.1);
        replace_generation(&mut reply, origin, &refreshed.sealed);
        *state = (refreshed.data.clone(), reply.session_names);
    }
    current::lock_pending(pending).extend(reply.set_cookies);
    Ok(AccessToken::new(refreshed.data.access_token.clone()))
}

/// After the provider refused the access token of `data` (RFC 6750 §3.1:
/// userinfo's 401; RFC 7662: introspection's `active: false`) though the
/// session held it live: one refresh (RFC 6749 §6), which a token revoked
/// alone, or clocks far apart, leave possible; the caller asks once more
/// with the new token. The new generation's cookies join `reply`. `None`
/// without a refresh token. A failed refresh is answered as
/// [`after_refused_refresh`] says (a refused grant without a store: 409,
/// as `load` answers it once the access token is dead).
pub(crate) async fn refresh_refused(
    sessions: &Sessions,
    data: &SessionData,
    reply: &mut Reply,
) -> Result<Option<SessionData>, Error> {
    let origin = reply.origin.clone().ok_or(Error::NotSignedIn)?;
    if data.refresh_token.is_none() {
        return Ok(None);
    }
    match Box::pin(refresh_shared(sessions, &origin, data)).await {
        Ok(refreshed) => {
            replace_generation(reply, &origin, &refreshed.sealed);
            Ok(Some(refreshed.data.clone()))
        }
        // The answer deletes the generation for any error that ends it.
        Err(e) => Err(after_refused_refresh(sessions, data, e).await.0),
    }
}

/// A refresh asked for right after the provider refused `data`'s access
/// token ([`refresh_now`], [`refresh_refused`]) failed with `e`: what to
/// answer, and whether this generation is over. The grant refused (the app
/// removed, the grant revoked) ends the session in every instance when
/// the store takes the news, and the refusal is answered; without one (or
/// when it does not answer) the refusal may be a race lost to another
/// instance, whose answer carries the newer generation, so it is
/// `RefreshConflict` (409: a retry tells a lost race from a dead grant).
/// A refreshed ID token that is not this session's ends it too. A race
/// lost with a store (`RefreshConflict` itself) or a provider out of reach
/// keeps the session: another instance refreshed it, or the next try will.
/// Logs only the refusal it answers as a conflict: the error it returns
/// is the caller's to log.
async fn after_refused_refresh(sessions: &Sessions, data: &SessionData, e: Error) -> (Error, bool) {
    if e.is_grant_refusal() {
        if end_after_refusal(sessions, data).await {
            return (e, true);
        }
        // Answered as a conflict: the refusal is said here, the route
        // says the conflict.
        e.log("refresh");
        return (Error::RefreshConflict, true);
    }
    if e.ends_session() && !matches!(e, Error::RefreshConflict) {
        end(sessions, data).await;
        return (e, true);
    }
    (e, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::TokenResponse;
    use cookie::REFRESH_TOKEN_TTL_SECS;
    use cookie::tests::{NOW, data};

    fn renewed() -> Renewed {
        Renewed {
            tokens: TokenResponse {
                access_token: AccessToken::new("vca_new"),
                expires_in: 3600,
                refresh_token: Some(RefreshToken::new("vcr_new".to_owned())),
                id_token: None,
            },
            claims: None,
        }
    }

    /// A refresh moves the session's end to a refresh token's life from
    /// now only when the store said "not ended" (or there is none); made
    /// while the store does not answer, it renews the tokens and keeps
    /// the end the session had.
    #[test]
    fn a_refresh_moves_the_sessions_end_only_when_the_store_allows() {
        let old = data();
        let later = NOW + 7200;
        let extended = next_generation(&old, renewed(), later, Lifetime::Extended);
        assert_eq!(extended.expires_at, later + REFRESH_TOKEN_TTL_SECS);
        let kept = next_generation(&old, renewed(), later, Lifetime::Kept);
        assert_eq!(kept.expires_at, old.expires_at);
        assert_eq!(kept.expires_at, NOW + REFRESH_TOKEN_TTL_SECS);
        assert_eq!(
            (kept.access_token.as_str(), kept.refresh_token.as_deref()),
            ("vca_new", Some("vcr_new"))
        );
        assert_eq!((kept.access_expires_at, kept.rotation), (later + 3600, 1));
    }

    /// Refreshed at once by an instance whose clock is behind the one
    /// that signed the user in (here by a fraction of a second, or by 30
    /// seconds): the new generation opens in either instance.
    #[test]
    fn a_refresh_on_a_clock_behind_the_sign_ins_makes_a_readable_session() {
        let mut old = data();
        old.started_ms = 101_100;
        (old.access_issued_at, old.access_expires_at) = (101, 3701);
        old.expires_at = 101 + REFRESH_TOKEN_TTL_SECS;
        for behind in [100, 72] {
            let new = next_generation(&old, renewed(), behind, Lifetime::Extended);
            assert!(old.within_policy(101), "{behind}");
            assert!(
                new.within_policy(101) && new.within_policy(behind),
                "{behind}"
            );
            assert_eq!(new.access_issued_at, 101);
        }
    }
}
