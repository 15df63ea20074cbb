//! Refreshes shared within an instance: concurrent requests that carry the
//! same session share one token call, and requests that arrive moments
//! later with the session it replaced get the same result instead of
//! spending the old refresh token again (which a rotating provider refuses,
//! or punishes by revoking the grant, RFC 9700 §4.14.2).
//!
//! A refresh runs as a task of its own, not inside the request that
//! started it: a request can be cut off at any await (the browser gave up
//! on it, and the server dropped it), and a token call cut off after the
//! provider spent the refresh token would lose the new one, leaving the
//! rest of the burst to spend the old one again and be refused.
//!
//! A finished refresh is remembered for a burst: a few seconds
//! ([`REMEMBER`]), purged on a timer as well as on use, and forgotten at
//! once, finished or still running, when the session signs out. Across
//! instances, the shared store ([`super::store`]) does the same job for
//! longer: as long as the new generation can take to reach the browser
//! (fifteen minutes, [`super::cookie::LATE_LANDING_SECS`]: it rides on the
//! answer of the request that refreshed, which can be a long handler's),
//! which is also how long a copy of the old generation can be exchanged
//! for the new one there.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use ring::digest::{Context, SHA256};
use tokio::sync::watch;
use tokio::time::Instant;

use super::cookie::{Sealed, SessionData};
use crate::clock::{keep_deadline, time_left};
use crate::error::{Endpoint, Error};
use crate::transport::TransportError;

/// How long a finished refresh is remembered, from when it finished, for
/// latecomers holding the session it replaced: long enough for the
/// requests of one burst (a page and its parallel calls), short enough
/// that decrypted tokens do not wait in memory. Without a store, a copy of
/// the replaced generation sent later (while a long handler holds the new
/// one) spends the old refresh token again.
pub(crate) const REMEMBER: Duration = Duration::from_secs(5);

/// A finished refresh: the new session and its sealed cookies, identical
/// for every request that shares it.
pub(crate) struct Refreshed {
    pub data: SessionData,
    pub sealed: Sealed,
}

type Outcome = Result<Arc<Refreshed>, Error>;

/// A refresh's outcome, and when it came: it is remembered from then.
struct Settled {
    outcome: Outcome,
    at: Instant,
}

/// A refresh, running (`None`) or settled: its task sends the outcome,
/// the requests that share it wait for it.
struct Flight {
    outcome: watch::Receiver<Option<Settled>>,
    /// The session it refreshes, so that a sign-out forgets it even while
    /// it runs.
    sid: Box<str>,
}

impl Flight {
    /// Whether it settled with a failure: one its waiters forget, unless
    /// they were all cut off before it came, and the next request tries
    /// again.
    fn failed(&self) -> bool {
        matches!(
            self.outcome.borrow().as_ref(),
            Some(Settled {
                outcome: Err(_),
                ..
            })
        )
    }

    /// When it settled; `None` while it runs.
    fn settled_at(&self) -> Option<Instant> {
        self.outcome.borrow().as_ref().map(|s| s.at)
    }
}

type Map = Mutex<HashMap<[u8; 32], Flight>>;

/// The refreshes of one instance, keyed by a hash of the session's id, its
/// refresh token, its rotation and the origin (never the token itself).
#[derive(Default)]
pub(crate) struct Flights {
    flights: Arc<Map>,
    purger: OnceLock<()>,
}

/// The key of refreshing session `sid`'s `refresh_token` at its `rotation`
/// on `origin`: a SHA-256, so that no token is ever a key. The session's
/// id keeps two sessions apart that hold the same refresh token (a
/// provider that hands one grant's token to two sign-ins, or a hostile
/// one): each gets its own refresh, checked against its own user, never
/// the other's new session. The rotation tells apart the refreshes of a
/// provider that keeps the refresh token (RFC 6749 §6): each generation is
/// refreshed anew, not handed the outcome of the refresh that made it.
/// Each field is length-prefixed, so no two tuples hash alike.
pub(crate) fn key(sid: &str, refresh_token: &str, rotation: u32, origin: &str) -> [u8; 32] {
    hash_fields(
        [sid.as_bytes(), refresh_token.as_bytes(), origin.as_bytes()],
        &rotation.to_le_bytes(),
    )
}

/// A SHA-256 of `fields`, each length-prefixed (so no two lists hash
/// alike), then of `tail`, whose length the caller fixes: the keys of this
/// instance's memories, never a token itself.
pub(super) fn hash_fields<const N: usize>(fields: [&[u8]; N], tail: &[u8]) -> [u8; 32] {
    let mut hash = Context::new(&SHA256);
    for field in fields {
        hash.update(&(field.len() as u64).to_le_bytes());
        hash.update(field);
    }
    hash.update(tail);
    let mut key = [0; 32];
    key.copy_from_slice(hash.finish().as_ref());
    key
}

impl Flights {
    /// Runs the refresh `refresh` makes for `key` (of session `sid`), as a
    /// task of its own, unless a request in this instance started it or
    /// finished it moments ago; then waits for its outcome. Cutting off the
    /// request that started it does not cut off the refresh.
    pub(crate) async fn share<F, Fut>(&self, key: [u8; 32], sid: &str, refresh: F) -> Outcome
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Refreshed, Error>> + Send + 'static,
    {
        let (mut outcome, start) = {
            let mut flights = lock(&self.flights);
            purge(&mut flights);
            match flights.entry(key) {
                Entry::Occupied(flight) if !flight.get().failed() => {
                    (flight.get().outcome.clone(), None)
                }
                entry => {
                    let (settle, outcome) = watch::channel(None);
                    entry.insert_entry(Flight {
                        outcome: outcome.clone(),
                        sid: sid.into(),
                    });
                    (outcome, Some(settle))
                }
            }
        };
        self.start_purger();
        let joined = start.is_none();
        if let Some(settle) = start {
            // Within the deadline of the request that starts it.
            let refresh = keep_deadline(refresh());
            let task = async move {
                let outcome = refresh.await.map(Arc::new);
                settle.send_replace(Some(Settled {
                    outcome,
                    at: Instant::now(),
                }));
            };
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => crate::background::spawn(&runtime, task),
                // Not on a Tokio runtime (the crate needs one): in the request.
                Err(_) => task.await,
            }
        }
        // A request that joins waits no longer than its own deadline: it may
        // have spent most of it before it got here (revocations, the store),
        // and the refresh it joins runs on another's. Out of time, the
        // provider counts as unreachable, which keeps the session; the
        // refresh runs on and stays shared with the requests that follow.
        // The request that started it waits for it: its token call keeps to
        // that very deadline, and what follows the call (the ID token's
        // check, the seal) must not lose a refresh the provider made.
        let settled = {
            let wait = outcome.wait_for(Option::is_some);
            let waited = match time_left().filter(|_| joined) {
                Some(left) => match tokio::time::timeout(left, wait).await {
                    Ok(waited) => waited,
                    Err(_) => return Err(Endpoint::Token.unreachable(TransportError::Timeout)),
                },
                None => wait.await,
            };
            match waited {
                Ok(settled) => settled.as_ref().map(|s| s.outcome.clone()),
                Err(_) => None,
            }
        };
        // A task that ended without an outcome panicked: nothing is known
        // of the token call, so nothing is ended, and the next request
        // tries again.
        let settled = settled.unwrap_or(Err(Endpoint::Token.unreachable(TransportError::Other)));
        // Only a new generation is shared with the requests that come
        // later: a failure to reach the provider, or a refusal of the
        // client, is not final, and a refusal of the grant ends the session
        // (in the store, with one) or is remembered by `spent` (without).
        if settled.is_err() {
            let mut flights = lock(&self.flights);
            if flights
                .get(&key)
                .is_some_and(|f| f.outcome.same_channel(&outcome))
            {
                flights.remove(&key);
            }
        }
        settled
    }

    /// Forgets every refresh of session `sid` (it signed out, or was ended
    /// elsewhere), finished or still running, so that no copy of an older
    /// generation is handed its newer one. The requests already waiting on
    /// a running one still get its outcome: they came before the sign-out.
    pub(crate) fn forget(&self, sid: &str) {
        lock(&self.flights).retain(|_, f| &*f.sid != sid);
    }

    /// How many refreshes are remembered (tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.flights).len()
    }

    /// Purges the map every [`REMEMBER`] while the instance runs, so that
    /// a finished refresh's tokens do not wait in memory for the next
    /// refresh. One task per instance, ending when the map is dropped.
    fn start_purger(&self) {
        self.purger.get_or_init(|| {
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                return;
            };
            let weak: Weak<Map> = Arc::downgrade(&self.flights);
            runtime.spawn(async move {
                loop {
                    tokio::time::sleep(REMEMBER).await;
                    let Some(flights) = weak.upgrade() else {
                        break;
                    };
                    purge(&mut lock(&flights));
                }
            });
        });
    }
}

/// Drops what settled more than [`REMEMBER`] ago; a refresh still running
/// stays, however long it takes.
fn purge(flights: &mut HashMap<[u8; 32], Flight>) {
    flights.retain(|_, f| f.settled_at().is_none_or(|at| at.elapsed() < REMEMBER));
}

fn lock(map: &Map) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Flight>> {
    map.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A refresh that counts itself in `calls`, yields once, and answers
    /// `answer`.
    fn counted(
        calls: &Arc<AtomicUsize>,
        answer: fn() -> Result<Refreshed, Error>,
    ) -> impl Future<Output = Result<Refreshed, Error>> + Send + 'static {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            answer()
        }
    }

    fn ok() -> Result<Refreshed, Error> {
        Ok(refreshed())
    }

    fn refreshed() -> Refreshed {
        Refreshed {
            data: SessionData {
                sid: "s".into(),
                sub: "u".into(),
                access_token: "a".into(),
                access_issued_at: 0,
                access_expires_at: 1,
                refresh_token: None,
                profile: Default::default(),
                started_ms: 0,
                rotation: 1,
                expires_at: 1,
            },
            sealed: Sealed {
                id: "g".into(),
                seal: String::new(),
                set_cookies: Vec::new(),
                names: Vec::new(),
            },
        }
    }

    #[tokio::test]
    async fn concurrent_refreshes_of_one_token_make_one_call() {
        let flights = Flights::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let run = || flights.share(key("s", "rt", 0, "o"), "s", || counted(&calls, ok));
        let (a, b, c) = tokio::join!(run(), run(), run());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(Arc::ptr_eq(&a.unwrap(), &b.unwrap()) && c.is_ok());
    }

    #[tokio::test]
    async fn a_latecomer_gets_the_finished_refresh() {
        let flights = Flights::default();
        let calls = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            let shared = flights.share(key("s", "rt", 0, "o"), "s", || counted(&calls, ok));
            shared.await.unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_transport_failure_is_retried_by_the_next_request() {
        let flights = Flights::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let unavailable = || {
            Err(Error::Upstream(
                Endpoint::Token,
                crate::error::UpstreamProblem::Status(503),
            ))
        };
        for _ in 0..2 {
            let shared = flights
                .share(key("s", "rt", 0, "o"), "s", || counted(&calls, unavailable))
                .await;
            assert_eq!(shared.err().map(|e| e.code()), Some("provider_unavailable"));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn different_tokens_refresh_separately() {
        let flights = Flights::default();
        let calls = Arc::new(AtomicUsize::new(0));
        for token in ["a", "b"] {
            let shared = flights.share(key("s", token, 0, "o"), "s", || counted(&calls, ok));
            shared.await.unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_signed_out_session_is_forgotten_at_once() {
        let flights = Flights::default();
        let ready = || async { ok() };
        flights
            .share(key("s", "rt", 0, "o"), "s", ready)
            .await
            .unwrap();
        flights
            .share(key("s", "rt2", 0, "o"), "s", ready)
            .await
            .unwrap();
        assert_eq!(flights.len(), 2);
        flights.forget("another session");
        assert_eq!(flights.len(), 2);
        flights.forget("s");
        assert_eq!(flights.len(), 0);
    }

    /// The session signs out while its refresh runs: the request waiting
    /// on it gets its outcome, but a copy of the old generation arriving
    /// after the sign-out is not handed the new one: its refresh is its
    /// own (and the provider refuses the spent or revoked token).
    #[tokio::test(start_paused = true)]
    async fn a_refresh_running_when_its_session_signs_out_is_not_shared_after() {
        let flights = Flights::default();
        let running = flights.share(key("s", "rt", 0, "o"), "s", || async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            ok()
        });
        let sign_out = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            flights.forget("another session");
            assert_eq!(flights.len(), 1);
            flights.forget("s");
            assert_eq!(flights.len(), 0);
        };
        let (running, ()) = tokio::join!(running, sign_out);
        assert!(running.is_ok(), "the request before the sign-out");
        let calls = Arc::new(AtomicUsize::new(0));
        let copy = flights.share(key("s", "rt", 0, "o"), "s", || counted(&calls, ok));
        assert!(copy.await.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a refresh of its own");
    }

    #[tokio::test(start_paused = true)]
    async fn finished_refreshes_are_purged_on_a_timer() {
        let flights = Flights::default();
        flights
            .share(key("s", "rt", 0, "o"), "s", || async { Ok(refreshed()) })
            .await
            .unwrap();
        assert_eq!(flights.len(), 1);
        // Time passes with no other refresh: the timer purges the map.
        tokio::time::sleep(REMEMBER + REMEMBER / 2).await;
        assert_eq!(flights.len(), 0);
    }

    #[test]
    fn each_generation_of_a_kept_refresh_token_has_its_own_key() {
        assert_ne!(key("s", "rt", 0, "o"), key("s", "rt", 1, "o"));
        assert_ne!(key("s", "rt", 0, "o"), key("s", "rt", 0, "p"));
        assert_eq!(key("s", "rt", 1, "o"), key("s", "rt", 1, "o"));
    }

    /// Two sessions holding the same refresh token (one grant's token
    /// handed to two sign-ins) are two refreshes; and no two different
    /// tuples share a key by moving bytes from one field to the next.
    #[test]
    fn each_session_has_its_own_key() {
        assert_ne!(key("s", "rt", 0, "o"), key("t", "rt", 0, "o"));
        assert_ne!(key("s", "rt", 0, "o"), key("srt", "", 0, "o"));
        assert_ne!(key("s", "rt", 0, "o"), key("", "srt", 0, "o"));
        assert_ne!(key("s", "rt", 0, "o"), key("s", "r", 0, "to"));
    }

    /// A refresh slower than [`REMEMBER`] (a slow provider, within the
    /// request's deadline): a request right after it finishes still gets
    /// its outcome instead of spending the old refresh token again.
    #[tokio::test(start_paused = true)]
    async fn a_slow_refresh_is_remembered_from_when_it_finished() {
        let flights = Flights::default();
        flights
            .share(key("s", "rt", 0, "o"), "s", || async {
                tokio::time::sleep(REMEMBER + Duration::from_millis(200)).await;
                Ok(refreshed())
            })
            .await
            .unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let shared = flights
            .share(key("s", "rt", 0, "o"), "s", || counted(&calls, ok))
            .await;
        assert!(shared.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 0, "the outcome was shared");
    }

    /// A request that joins a refresh late in its own deadline (it spent
    /// the rest on revocations or the store) answers by that deadline, not
    /// by the one the refresh runs on; the refresh goes on, shared with
    /// the request that comes next, and no second token call is made.
    #[tokio::test(start_paused = true)]
    async fn a_request_joining_a_refresh_answers_within_its_own_deadline() {
        let flights = Arc::new(Flights::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let starter = {
            let (flights, calls) = (flights.clone(), calls.clone());
            tokio::spawn(crate::clock::with_deadline_in(
                Duration::from_secs(9),
                async move {
                    let slow = || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_secs(6)).await;
                        Ok(refreshed())
                    };
                    flights.share(key("s", "rt", 0, "o"), "s", slow).await
                },
            ))
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let begun = Instant::now();
        let joined = crate::clock::with_deadline_in(
            Duration::from_secs(1),
            flights.share(key("s", "rt", 0, "o"), "s", || counted(&calls, ok)),
        )
        .await;
        assert_eq!(begun.elapsed(), Duration::from_secs(1));
        let error = joined.err().unwrap();
        assert_eq!(error.code(), "provider_unavailable");
        assert!(!error.is_grant_refusal() && !error.ends_session());
        // The refresh still runs, and is shared with the next request.
        let next = flights.share(key("s", "rt", 0, "o"), "s", || counted(&calls, ok));
        assert!(next.await.is_ok() && starter.await.unwrap().is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    /// The request that starts a refresh gets its outcome even when the
    /// work after the token call ends past its deadline: the provider has
    /// spent the old refresh token by then, and only this answer carries
    /// the new one.
    #[tokio::test(start_paused = true)]
    async fn the_request_that_starts_a_refresh_gets_it_past_its_deadline() {
        let flights = Flights::default();
        let slow = || async move {
            tokio::time::sleep(Duration::from_millis(1001)).await;
            Ok(refreshed())
        };
        let started = crate::clock::with_deadline_in(
            Duration::from_secs(1),
            flights.share(key("s", "rt", 0, "o"), "s", slow),
        )
        .await;
        assert!(started.is_ok(), "{:?}", started.err());
    }

    #[tokio::test]
    async fn a_refusal_of_the_client_is_retried_by_the_next_request() {
        let flights = Flights::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let refused = || Err(Error::TokenRejected("invalid_client".into()));
        for _ in 0..2 {
            let shared = flights
                .share(key("s", "rt", 0, "o"), "s", || counted(&calls, refused))
                .await;
            assert_eq!(
                shared.err(),
                Some(Error::TokenRejected("invalid_client".into()))
            );
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// The request that started a refresh is cut off while the token call
    /// is out: the call runs to its end, and its outcome goes to the
    /// request that was waiting on it and to the next one, with no second
    /// call.
    #[tokio::test(start_paused = true)]
    async fn a_refresh_outlives_the_request_that_started_it() {
        let flights = Flights::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let slow = || {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(300)).await;
                ok()
            }
        };
        let cut_off = tokio::time::timeout(
            Duration::from_millis(100),
            flights.share(key("s", "rt", 0, "o"), "s", slow),
        );
        let waiting = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            flights
                .share(key("s", "rt", 0, "o"), "s", || counted(&calls, ok))
                .await
        };
        let (cut_off, waiting) = tokio::join!(cut_off, waiting);
        assert!(cut_off.is_err(), "not cut off");
        let next = flights
            .share(key("s", "rt", 0, "o"), "s", || counted(&calls, ok))
            .await;
        assert!(Arc::ptr_eq(&waiting.unwrap(), &next.unwrap()));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    /// A refresh whose task ends without an outcome (it panicked): the
    /// requests waiting on it get an error that ends nothing, and the next
    /// one refreshes anew.
    #[tokio::test]
    async fn a_refresh_that_panics_is_tried_again_by_the_next_request() {
        let flights = Flights::default();
        let shared = flights
            .share(key("s", "rt", 0, "o"), "s", || async {
                tokio::task::yield_now().await;
                panic!("a refresh that panics");
            })
            .await;
        let error = shared.err().unwrap();
        assert_eq!(error.code(), "provider_unavailable");
        assert!(!error.is_grant_refusal() && !error.ends_session());
        assert_eq!(flights.len(), 0, "forgotten");
        let calls = Arc::new(AtomicUsize::new(0));
        let next = flights.share(key("s", "rt", 0, "o"), "s", || counted(&calls, ok));
        assert!(next.await.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    /// The request that started a refresh is cut off (the browser
    /// navigated away) and the refresh then fails to reach the provider:
    /// no waiter is left to forget the failure, and the next request
    /// tries again all the same, rather than being handed the failure for
    /// [`REMEMBER`].
    #[tokio::test(start_paused = true)]
    async fn a_cut_off_starters_failure_to_reach_the_provider_is_retried() {
        let flights = Flights::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let failing = || {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(300)).await;
                Err(Error::Upstream(
                    Endpoint::Token,
                    crate::error::UpstreamProblem::Status(503),
                ))
            }
        };
        let cut_off = tokio::time::timeout(
            Duration::from_millis(100),
            flights.share(key("s", "rt", 0, "o"), "s", failing),
        )
        .await;
        assert!(cut_off.is_err(), "not cut off");
        // The refresh fails 200 ms later; the user comes back a second on.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let next = flights
            .share(key("s", "rt", 0, "o"), "s", || counted(&calls, ok))
            .await;
        assert!(next.is_ok(), "stale failure: {:?}", next.err());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
