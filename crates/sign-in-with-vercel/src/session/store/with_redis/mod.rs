//! The shared store over Redis (the `redis` feature): [`Store`], one per
//! instance, with one lazily opened connection and what the instance
//! remembers of the store. What it does comes in three parts:
//! - [`connection`]: the connection, each round trip within the store's
//!   limit and the request's deadline, and the store's health: a store
//!   that does not answer rests and is said once in the log, a command it
//!   refuses is told apart from no answer;
//! - [`ended`]: ended sessions, a session's own sign-out and its user's
//!   "sign out everywhere", checked in one `MGET`, a "not ended" answer
//!   trusted per instance for [`LIVE_FOR`](ended::LIVE_FOR);
//! - [`refresh`]: one refresh per session generation, the claim on it
//!   (`SET … NX PX`), its outcome published for the other instances (late,
//!   when the store did not answer the claim) and the claim's release.

use std::sync::Mutex;
use std::time::Instant;

use redis::aio::MultiplexedConnection;

use super::{Keys, StoreUrl};
use ended::Live;
use refresh::Late;

mod connection;
mod ended;
mod refresh;

/// The shared store of one instance: one lazily opened connection,
/// reused by every request, and what the instance remembers of it.
pub(crate) struct Store {
    client: redis::Client,
    /// Whether the store is reached over TLS (`rediss://`).
    tls: bool,
    keys: Keys,
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    /// Until when the instance leaves a failed store alone.
    resting_until: Mutex<Option<Instant>>,
    /// Why the store failed, as the instance last said it in its log,
    /// and when; `None` while it answers.
    said_down: Mutex<Option<(String, Instant)>>,
    /// When a refusal asking to wait was last logged: once a minute
    /// at most, whatever retries it (a late publication, every second).
    said_wait: Mutex<Option<Instant>>,
    /// Sessions seen not ended: trusted for [`LIVE_FOR`](ended::LIVE_FOR).
    live: Mutex<Live>,
    /// The late publications still to make, and the sessions ended in
    /// this instance, which cancel theirs.
    late: Mutex<Late>,
}

impl Store {
    /// The store at `url`, not yet connected: a cold start makes no
    /// network call for it. `None` (logged) if the URL does not parse,
    /// which the configuration has already refused
    /// ([`StoreUrl::parse`]); kept for a `StoreUrl` that comes another way.
    pub(crate) fn new(url: &StoreUrl, keys: Keys) -> Option<Self> {
        // No `CLIENT SETINFO` after connecting: that would be one
        // more round trip on each instance's first protected request.
        let info = redis::IntoConnectionInfo::into_connection_info(url.secret()).map(|info| {
            let settings = info.redis_settings().clone().set_skip_set_lib_name();
            info.set_redis_settings(settings)
        });
        // `REDIS_CA_PEM`: its authorities replace Mozilla's roots.
        let client = info.and_then(|info| match url.authorities() {
            None => redis::Client::open(info),
            Some(pem) => redis::Client::build_with_tls(
                info,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.as_bytes().to_vec()),
                },
            ),
        });
        match client {
            Ok(client) => Some(Self {
                tls: url.is_tls(),
                client,
                keys,
                connection: tokio::sync::Mutex::new(None),
                resting_until: Mutex::new(None),
                said_down: Mutex::new(None),
                said_wait: Mutex::new(None),
                live: Mutex::new(Live::default()),
                late: Mutex::default(),
            }),
            Err(e) => {
                // The error names the URL's problem, not its password.
                crate::log::error(&format!(
                    "REDIS_URL is not usable ({:?}): sessions are not shared across instances",
                    e.kind()
                ));
                None
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listener that accepts connections and never answers.
    pub(super) fn silent_store() -> Store {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("redis://{}", silent.local_addr().unwrap());
        std::thread::spawn(move || {
            let held: Vec<_> = silent.incoming().flatten().collect();
            drop(held);
        });
        let url = StoreUrl::parse(&url).unwrap();
        Store::new(&url, Keys::new("https://vercel.com", "cl_app")).unwrap()
    }
}
