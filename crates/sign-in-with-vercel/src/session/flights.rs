//! Refreshes shared within an instance: concurrent requests that carry the
//! same session share one token call, and requests that arrive a little
//! later with the session it replaced get the same result instead of
//! spending the old refresh token again (which a rotating provider refuses,
//! or punishes by revoking the grant, RFC 9700 §4.14.2).
//!
//! Across instances nothing is shared: see the README's "Sessions" section
//! for what a burst at expiry does there.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use tokio::sync::OnceCell;

use super::cookie::{Sealed, SessionData};
use crate::error::Error;

/// How long a finished refresh is remembered for latecomers holding the
/// session it replaced. Short: such a latecomer is a parallel request, not
/// a replay.
const REMEMBER: Duration = Duration::from_secs(30);

/// A finished refresh: the new session and its sealed cookies, identical
/// for every request that shares it.
pub(crate) struct Refreshed {
    pub data: SessionData,
    pub sealed: Sealed,
}

type Outcome = Result<Arc<Refreshed>, Error>;

struct Flight {
    started: Instant,
    outcome: Arc<OnceCell<Outcome>>,
}

/// The refreshes of one instance, keyed by a hash of the refresh token
/// and the origin (never the token itself).
#[derive(Default)]
pub(crate) struct Flights {
    flights: Mutex<HashMap<[u8; 32], Flight>>,
}

impl Flights {
    /// Runs `refresh` for `refresh_token`, unless a request in this
    /// instance is running it or ran it moments ago: then its outcome.
    pub(crate) async fn share<F, Fut>(
        &self,
        refresh_token: &str,
        origin: &str,
        refresh: F,
    ) -> Outcome
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Refreshed, Error>>,
    {
        let key: [u8; 32] = Sha256::new()
            .chain_update(refresh_token.as_bytes())
            .chain_update([0])
            .chain_update(origin.as_bytes())
            .finalize()
            .into();
        let cell = {
            let mut flights = self.lock();
            // Forget what is older than REMEMBER: the tokens of a finished
            // refresh stay in memory no longer than they are useful. (A
            // refresh is at most one per session per access-token life, so
            // the map is small and this is cheap.)
            flights.retain(|_, f| f.started.elapsed() < REMEMBER);
            flights
                .entry(key)
                .or_insert_with(|| Flight {
                    started: Instant::now(),
                    outcome: Arc::new(OnceCell::new()),
                })
                .outcome
                .clone()
        };
        let outcome = cell
            .get_or_init(|| async { refresh().await.map(Arc::new) })
            .await
            .clone();
        // A refusal is final for this refresh token; a failure to reach
        // the provider is not, so the next request tries again.
        if matches!(&outcome, Err(e) if !matches!(e, Error::TokenRejected(_))) {
            let mut flights = self.lock();
            if flights
                .get(&key)
                .is_some_and(|f| Arc::ptr_eq(&f.outcome, &cell))
            {
                flights.remove(&key);
            }
        }
        outcome
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Flight>> {
        self.flights.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn refreshed() -> Refreshed {
        Refreshed {
            data: SessionData {
                sub: "u".into(),
                access_token: "a".into(),
                access_issued_at: 0,
                access_expires_at: 1,
                refresh_token: None,
                profile: Default::default(),
                started_at: 0,
                rotation: 1,
                expires_at: 1,
            },
            sealed: Sealed {
                set_cookies: Vec::new(),
                names: Vec::new(),
            },
        }
    }

    #[tokio::test]
    async fn concurrent_refreshes_of_one_token_make_one_call() {
        let flights = Flights::default();
        let calls = AtomicUsize::new(0);
        let run = || {
            flights.share("rt", "o", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                Ok(refreshed())
            })
        };
        let (a, b, c) = tokio::join!(run(), run(), run());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(Arc::ptr_eq(&a.unwrap(), &b.unwrap()) && c.is_ok());
    }

    #[tokio::test]
    async fn a_latecomer_gets_the_finished_refresh() {
        let flights = Flights::default();
        let calls = AtomicUsize::new(0);
        for _ in 0..2 {
            flights
                .share("rt", "o", || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok(refreshed())
                })
                .await
                .unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_transport_failure_is_retried_by_the_next_request() {
        let flights = Flights::default();
        let calls = AtomicUsize::new(0);
        for _ in 0..2 {
            let _ = flights
                .share("rt", "o", || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err(Error::Upstream(
                        crate::error::Endpoint::Token,
                        crate::error::UpstreamProblem::Status(503),
                    ))
                })
                .await;
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn different_tokens_refresh_separately() {
        let flights = Flights::default();
        let calls = AtomicUsize::new(0);
        for token in ["a", "b"] {
            flights
                .share(token, "o", || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok(refreshed())
                })
                .await
                .unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
