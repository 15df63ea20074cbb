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
    let renewed = crate::refresh::grant(provider, &refresh_token, &data.sub)
        .await
        // Said here, once per token call: a copy of the generation sent
        // again is answered from memory (`spent`) or the store, unsaid.
        .inspect_err(|e| {
            if e.is_grant_refusal() {
                e.log("refresh");
            }
        })?;
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
                    // not log it: the end of a session is said here (a
                    // refused grant was, where the provider refused it).
                    if !matches!(e, Error::RefreshConflict) && !e.is_grant_refusal() {
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
        // Answered as a conflict (the refusal was said where the provider
        // made it), which the route says.
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
    use crate::session::REFRESH_GRACE_SECS;
    use crate::session::tests::{
        NEW_TOKENS, after_a_long_handler, again, signed_in_earlier, signed_in_ten_seconds_later,
    };
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

    /// A provider whose token endpoint answers [`NEW_TOKENS`], and
    /// nothing else.
    fn refreshing_provider() -> std::sync::Arc<crate::transport::tests::Fake> {
        use crate::transport::tests::{Fake, response};
        Fake::new(|path| {
            Ok(match path {
                "/login/oauth/token" => response(200, NEW_TOKENS),
                _ => response(404, ""),
            })
        })
    }

    /// Two instances without a store each ask userinfo about the same
    /// session, and each is refused (clocks far apart): both refresh; the
    /// first wins, the second's refresh token is spent, and its refusal
    /// may be that race lost, so it answers 409 (the page retries once,
    /// and finds the winner's generation), not a 401 that signs the page
    /// out while the browser holds a live session.
    #[tokio::test]
    async fn a_refresh_after_a_refusal_lost_to_another_instance_is_a_conflict() {
        use crate::transport::tests::response;
        use crate::transport::{BoxFuture, HttpClient, HttpRequest, HttpResponse, TransportError};
        use std::sync::atomic::{AtomicUsize, Ordering};
        /// Takes only `vca_new`; the refresh token works once.
        #[derive(Default)]
        struct Provider {
            token_calls: AtomicUsize,
        }
        impl HttpClient for Provider {
            fn execute(
                &self,
                request: HttpRequest,
            ) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
                let bearer = request
                    .headers()
                    .get(http::header::AUTHORIZATION)
                    .is_some_and(|v| v == "Bearer vca_new");
                let answer = match request.uri().path() {
                    "/login/oauth/userinfo" if bearer => response(200, r#"{"sub":"usr_1"}"#),
                    "/login/oauth/userinfo" => response(401, ""),
                    "/login/oauth/token" => match self.token_calls.fetch_add(1, Ordering::SeqCst) {
                        0 => response(200, NEW_TOKENS),
                        _ => response(400, r#"{"error":"invalid_grant"}"#),
                    },
                    _ => response(404, ""),
                };
                Box::pin(async move { Ok(answer) })
            }
        }
        let provider: std::sync::Arc<dyn HttpClient> = std::sync::Arc::new(Provider::default());
        let (a, request_a) = signed_in_ten_seconds_later(provider.clone());
        let (b, request_b) = signed_in_ten_seconds_later(provider);
        let won = a.serve(&crate::USER_INFO, request_a).await;
        assert_eq!(won.status(), 200);
        crate::log::tests::taken();
        let body: serde_json::Value = serde_json::from_slice(won.body()).unwrap();
        assert_eq!(body["userInfo"]["sub"], "usr_1", "{body}");
        let lost = b.serve(&crate::USER_INFO, request_b).await;
        assert_eq!(lost.status(), 409);
        let body: serde_json::Value = serde_json::from_slice(lost.body()).unwrap();
        assert_eq!(body["error"], "session_refresh_conflict");
        // The refusal, said by the refresh; the conflict, by the route.
        let lines = crate::log::tests::taken();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with(
                "warn: refresh: token_rejected (provider refused the grant: error=invalid_grant)"
            ),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("warn: user-info: session_refresh_conflict"),
            "{lines:?}"
        );
        let deleted = lost
            .headers()
            .get_all(http::header::SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap().contains("Max-Age=0"));
        assert!(deleted, "the generation it read is deleted");
    }

    /// A copy of a generation whose refresh the provider refused (spent
    /// by another instance, or its grant dead), sent again and again: one
    /// token call in all, and each request answered as the first was
    /// (without a store; with one, the first refusal ends the session in
    /// the store). Before, each copy made a token call of its own, for as
    /// long as the seal opens (thirty days), and a copy's sender could
    /// spend the app's client credentials at the provider at will.
    #[tokio::test]
    async fn a_replayed_refused_generation_costs_one_token_call() {
        use crate::transport::tests::{Fake, response};
        // Past the access token's expiry (409, the generation deleted),
        // and in the early-refresh window (the user still named).
        for (later, status) in [(3700, 409), (3590, 200)] {
            let fake = Fake::new(|path| {
                Ok(match path {
                    "/login/oauth/token" => response(400, r#"{"error":"invalid_grant"}"#),
                    _ => response(404, ""),
                })
            });
            let (auth, request) = signed_in_earlier(fake.clone(), later);
            crate::log::tests::taken();
            for sent in 0..5 {
                let answer = auth
                    .serve(&crate::SESSION, again(&request, http::Method::GET))
                    .await;
                assert_eq!(answer.status(), status, "{later}: copy {sent}");
            }
            assert_eq!(fake.calls("/login/oauth/token"), 1, "{later}");
            // Said once, where the provider refused: not again for each
            // copy answered from memory.
            let said = crate::log::tests::taken();
            let refusals = said.iter().filter(|l| l.contains("invalid_grant")).count();
            assert_eq!(refusals, 1, "{later}: {said:?}");
        }
    }

    /// With a store, a refusal is not remembered: a refusal the store
    /// did not hear of (here it never answers) may be a race another
    /// instance won, whose outcome, published once the store is back, a
    /// copy of this generation must still be handed; so each copy asks
    /// (through the store when it answers).
    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn with_a_store_a_refusal_is_not_remembered() {
        use crate::transport::tests::{Fake, response};
        let fake = Fake::new(|path| {
            Ok(match path {
                "/login/oauth/token" => response(400, r#"{"error":"invalid_grant"}"#),
                _ => response(404, ""),
            })
        });
        // A port nothing listens on: the store refuses every connection.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("redis://{}", closed.local_addr().unwrap());
        drop(closed);
        let (_, request) = signed_in_earlier(fake.clone(), 3700);
        let auth = crate::Auth::from_lookup(|k| match k {
            "VERCEL_APP_CLIENT_ID" => Some("cl".to_owned()),
            "AUTH_SECRET" => Some("0123456789abcdef0123456789abcdef-cookie".to_owned()),
            "REDIS_URL" => Some(url.clone()),
            _ => None,
        })
        .with_http_client(fake.clone())
        .with_clock(std::sync::Arc::new(|| NOW + 3700));
        for sent in 0..2 {
            let answer = auth
                .serve(&crate::SESSION, again(&request, http::Method::GET))
                .await;
            assert_eq!(answer.status(), 409, "copy {sent}");
        }
        assert_eq!(fake.calls("/login/oauth/token"), 2);
        crate::log::tests::taken();
    }

    /// Vercel: the token endpoint answers in 1.5 s with new tokens; the
    /// API refuses the token after `api_delay`. The fake counts the calls.
    fn slow_token(
        api_delay: std::time::Duration,
    ) -> (
        std::sync::Arc<crate::transport::tests::Fake>,
        std::sync::Arc<crate::transport::tests::Delayed>,
    ) {
        use crate::transport::tests::{Delayed, Fake, response};
        let fake = Fake::new(|path| {
            Ok(match path {
                "/login/oauth/token" => response(200, NEW_TOKENS),
                _ => response(401, r#"{"error":{"code":"forbidden","message":"x"}}"#),
            })
        });
        let slow = Delayed::new(&fake, move |path| match path {
            "/login/oauth/token" => std::time::Duration::from_millis(1500),
            _ => api_delay,
        });
        (fake, slow)
    }

    /// A handler that bounds its own call to Vercel's API (a timeout
    /// around `api.get`) cuts it off while the refresh it asked for
    /// (after a 401) is out: the refresh lands in the session all the
    /// same, so the answer carries the new generation, whose refresh
    /// token is the only one left. `Auth::protect` waits for it before
    /// answering; `Session::finish` carries it once it has landed.
    #[tokio::test(start_paused = true)]
    async fn a_refresh_the_handler_cuts_off_still_reaches_the_answer() {
        use std::time::Duration;

        let rotated = |headers: &http::HeaderMap| {
            headers
                .get_all(http::header::SET_COOKIE)
                .iter()
                .any(|c| !c.to_str().unwrap().contains("Max-Age=0"))
        };

        // `Session::finish` after `Session::settled`.
        let (vercel, slow) = slow_token(Duration::ZERO);
        let (auth, request) = signed_in_ten_seconds_later(slow);
        let session = auth.session(&request).await.map_err(|r| r.error).unwrap();
        let api = auth.vercel_api(&session).await.unwrap();
        let bounded = tokio::time::timeout(Duration::from_secs(1), api.get("/v2/user")).await;
        assert!(bounded.is_err(), "not cut off");
        drop(api);
        let settled = tokio::time::timeout(Duration::from_secs(60), session.settled()).await;
        settled.expect("a refresh outlives its deadline");
        assert_eq!(
            vercel.calls("/login/oauth/token"),
            1,
            "the provider rotated"
        );
        let answer = session.finish(http::Response::new(()));
        assert!(
            rotated(answer.headers()),
            "the rotated generation never reaches the browser"
        );

        // `Auth::protect`, whose handler answers as soon as it gives up.
        let (vercel, slow) = slow_token(Duration::ZERO);
        let (auth, request) = signed_in_ten_seconds_later(slow);
        let started = tokio::time::Instant::now();
        let protected = auth.protect(&request, async |session| {
            let api = auth.vercel_api(&session).await.unwrap();
            let bounded = tokio::time::timeout(Duration::from_secs(1), api.get("/v2/user")).await;
            assert!(bounded.is_err(), "not cut off");
            http::Response::new(bytes::Bytes::new())
        });
        let answer = tokio::time::timeout(Duration::from_secs(60), protected)
            .await
            .expect("protect waits past the refresh's deadline");
        assert_eq!(vercel.calls("/login/oauth/token"), 1);
        assert!(
            rotated(answer.headers()),
            "protect answered before the refresh landed"
        );
        assert!(started.elapsed() >= Duration::from_millis(1500));
    }

    /// A refresh the provider cannot be asked for is logged once: by the
    /// route when it answers the failure (past the grace), by the refresh
    /// when the session outlives it (within the grace).
    #[tokio::test]
    async fn a_failed_refresh_is_logged_once() {
        use crate::transport::TransportError;
        use crate::transport::tests::Fake;
        let past_grace = 3600 + REFRESH_GRACE_SECS + 10;
        for (later, status, line) in [
            (
                past_grace,
                502,
                "error: session: provider_unavailable (token request failed: connection failed)",
            ),
            (
                3600,
                200,
                "error: refresh: provider_unavailable (token request failed: connection failed)",
            ),
        ] {
            let vercel = Fake::new(|_| Err(TransportError::Connect));
            let (auth, request) = signed_in_earlier(vercel, later);
            crate::log::tests::taken();
            let answer = auth.serve(&crate::SESSION, request).await;
            let lines = crate::log::tests::taken();
            assert_eq!(answer.status(), status, "{lines:?}");
            assert_eq!(lines, [line.to_owned()], "{later}");
        }
        // A function's own page for the rejection logs it as the JSON
        // answer does.
        let vercel = Fake::new(|_| Err(TransportError::Connect));
        let (auth, request) = signed_in_earlier(vercel, past_grace);
        crate::log::tests::taken();
        let rejection = auth.session(&request).await.unwrap_err();
        assert!(crate::log::tests::taken().is_empty());
        let _page = rejection.finish(http::Response::new(()));
        assert_eq!(
            crate::log::tests::taken(),
            ["error: session: provider_unavailable (token request failed: connection failed)"]
        );
    }

    /// A refresh the function asks for (`Auth::refresh_session`, the REST
    /// client's after a refused token) that the provider refuses ends the
    /// session as a route's refresh does: the answer the session finishes
    /// deletes its generation. A refresh the provider could not be asked
    /// for (unreachable) keeps it.
    #[tokio::test]
    async fn a_refused_refresh_the_function_asks_for_ends_the_session() {
        use crate::transport::tests::{Fake, response};
        for (answer, ends) in [
            (Ok(response(400, r#"{"error":"invalid_grant"}"#)), true),
            (Err(crate::transport::TransportError::Connect), false),
        ] {
            let answer = std::sync::Mutex::new(Some(answer));
            let vercel = Fake::new(move |path| match path {
                "/login/oauth/token" => answer.lock().unwrap().take().unwrap(),
                _ => Ok(response(200, "")),
            });
            let (auth, request) = signed_in_ten_seconds_later(vercel);
            let session = auth.session(&request).await.map_err(|r| r.error).unwrap();
            crate::log::tests::taken();
            let refused = auth.refresh_session(&session).await.unwrap_err();
            assert_eq!(refused.ends_session(), ends, "{refused:?}");
            // The end of the session is logged (the refusal behind the
            // conflict); an error the function's code answers is its own.
            let lines = crate::log::tests::taken();
            if ends {
                assert_eq!(lines.len(), 1, "{lines:?}");
                assert!(
                    lines[0].starts_with("warn: refresh: token_rejected"),
                    "{lines:?}"
                );
            } else {
                assert_eq!(lines, [] as [String; 0]);
            }
            // Without a store, a refused grant may be a race lost to
            // another instance: a conflict, the generation deleted.
            assert_eq!(refused == Error::RefreshConflict, ends, "{refused:?}");
            let answer = session.finish(http::Response::new(()));
            let deleted = answer
                .headers()
                .get_all(http::header::SET_COOKIE)
                .iter()
                .any(|c| c.to_str().unwrap().contains("Max-Age=0"));
            assert_eq!(deleted, ends, "{refused:?}");
        }
    }

    /// Outside `Auth::protect` (a handler that called `Auth::session`),
    /// the API refuses the token late in the call (7 s), and the refresh
    /// it asks for takes 1.5 s: the refresh is waited for whole, and its
    /// new generation joins the session's cookies, though the retry then
    /// runs out of time.
    #[tokio::test(start_paused = true)]
    async fn a_refresh_the_api_asks_for_late_reaches_the_session() {
        use std::time::Duration;

        let (vercel, slow) = slow_token(Duration::from_secs(7));
        let (auth, request) = signed_in_ten_seconds_later(slow);
        let session = auth.session(&request).await.map_err(|r| r.error).unwrap();
        let api = auth.vercel_api(&session).await.unwrap();
        assert!(
            api.get("/v2/user").await.is_err(),
            "the retry ran out of time"
        );
        assert_eq!(vercel.calls("/login/oauth/token"), 1, "one refresh");
        assert_eq!(session.lock().0.access_token, "vca_new");
    }

    /// A handler of `Auth::protect` that has spent the request's own
    /// deadline and then refreshes the session (its call refused) gets the
    /// refresh: it has a deadline of its own.
    #[tokio::test(start_paused = true)]
    async fn a_refresh_after_a_long_handler_has_its_own_deadline() {
        let vercel = refreshing_provider();
        let (auth, request) =
            signed_in_ten_seconds_later(crate::transport::tests::Delayed::new(&vercel, |_| {
                std::time::Duration::from_millis(100)
            }));
        let refreshed = after_a_long_handler(&auth, &request, async |session| {
            let token = auth.refresh_session(session).await;
            token.is_ok_and(|token| token.ct_eq("vca_new"))
        })
        .await;
        assert!(refreshed);
        assert_eq!(vercel.calls("/login/oauth/token"), 1);
    }

    /// Two sessions of two users hold the same refresh token (a provider
    /// that hands one token to two sign-ins, or a hostile one), both due
    /// for a refresh in one instance, one request after the other: each is
    /// refreshed on its own, and each request gets its own user back, never
    /// the other session's new generation.
    #[tokio::test]
    async fn two_sessions_with_one_refresh_token_do_not_share_a_refresh() {
        let vercel = refreshing_provider();
        let secret = "0123456789abcdef0123456789abcdef-cookie";
        let lookup = move |k: &str| match k {
            "VERCEL_APP_CLIENT_ID" => Some("cl".to_owned()),
            "AUTH_SECRET" => Some(secret.to_owned()),
            _ => None,
        };
        let later = NOW + 3601;
        let auth = crate::Auth::from_lookup(lookup)
            .with_http_client(vercel.clone())
            .with_clock(std::sync::Arc::new(move || later));
        let config = crate::Config::from_lookup(lookup).unwrap();
        let origin = Origin::parse_configured("http://localhost:3000").unwrap();
        for (sid, sub) in [("sid_alice", "usr_alice"), ("sid_bob", "usr_bob")] {
            let mut session = data();
            (session.sid, session.sub) = (sid.into(), sub.into());
            assert_eq!(session.refresh_token.as_deref(), Some("vcr_x"));
            let sealed = cookie::write(&origin, &config, &session, NOW).unwrap();
            let pairs: Vec<&str> = sealed
                .set_cookies
                .iter()
                .map(|c| c.to_str().unwrap().split(';').next().unwrap())
                .collect();
            let request = http::Request::get("/api/protected")
                .header(http::header::HOST, "localhost:3000")
                .header(http::header::COOKIE, pairs.join("; "))
                .body(())
                .unwrap();
            let found = auth.session(&request).await.map_err(|r| r.error);
            assert_eq!(found.as_ref().map(|s| s.sub()), Ok(sub), "{sid}");
            assert_eq!(found.unwrap().lock().0.sid, sid);
        }
        assert_eq!(vercel.calls("/login/oauth/token"), 2, "one refresh each");
    }
}
