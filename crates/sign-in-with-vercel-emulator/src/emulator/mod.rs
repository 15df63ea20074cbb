//! The emulator itself: its state (configuration, the two issuers' signing
//! keys, the tokens it has issued, the faults a test set), its three
//! origins, and the one entry point every request goes through, in
//! process or over HTTP.
//!
//! Its other methods, each concern in a module of its own: how one is
//! made, its clock and its origins (`making`, declared first: the docs
//! list its constructors first), the settings a test changes at run time and the
//! look-ups the endpoints make in them (`settings`), what a user or time
//! does to the tokens it issued, outside any request (`tokens`), its
//! signing keys and the signing of ID tokens (`signing`), and serving its
//! three origins over HTTP (`serving`).

// `making` first: rustdoc lists the impls of a type in the order their
// modules are declared, and the constructors and origins come first.
mod making;

mod serving;
mod settings;
mod signing;
mod tokens;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use crate::stats::Counters;
use crate::{
    EmulatorConfig, Faults, Origin, Origins, SigningKey, Stats, endpoints, origins, store,
};

pub use serving::Running;

/// The current time in seconds since the epoch; tests pass one they move
/// forward without sleeping.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The emulator: configuration, keys and the tokens it has issued.
pub struct Emulator {
    origins: Origins,
    authorities: origins::Authorities,
    pub(crate) config: Mutex<EmulatorConfig>,
    /// The sign-in issuer's keys, current first; each shared, so that a
    /// token is signed after the lock is let go.
    pub(crate) keys: Mutex<Vec<Arc<SigningKey>>>,
    /// The marketplace issuer's keys, generated when first needed.
    marketplace_keys: Mutex<Vec<Arc<SigningKey>>>,
    pub(crate) store: Mutex<store::Store>,
    faults: Mutex<Faults>,
    pub(crate) counters: Counters,
    clock: Clock,
}

/// Its origins only: its configuration holds the clients' secrets, its
/// store the tokens it issued, its keys their private halves.
impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// The current faults, to change in place:
    /// `emulator.faults().signing = Signing::None;`.
    ///
    /// # Deadlocks
    ///
    /// The guard holds the lock that the endpoints take on every request:
    /// while it lives, [`Emulator::handle`] on this thread deadlocks, and
    /// requests served on other threads wait. Change the faults in one
    /// statement, as above (the guard is dropped at its end), and never keep
    /// the guard in a variable across a request or an `.await`; or use
    /// [`Emulator::set_faults`] or [`Emulator::update_faults`], which cannot
    /// be held.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    /// Replaces every fault: `emulator.set_faults(Faults::default())` ends
    /// them all.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.faults) = faults;
    }

    /// Changes the faults with `change`, as one step:
    /// `emulator.update_faults(|f| f.all_status = Some(503))`. The faults'
    /// lock is held while `change` runs, so `change` must not call the
    /// emulator.
    pub fn update_faults(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut lock(&self.faults));
    }

    /// Request counts per endpoint since start.
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            discovery: get(&c.discovery),
            jwks: get(&c.jwks),
            authorize: get(&c.authorize),
            token: get(&c.token),
            revoke: get(&c.revoke),
            introspect: get(&c.introspect),
            userinfo: get(&c.userinfo),
        }
    }

    pub(crate) fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Answers one request, routed by the origin its URL names (or, as a
    /// server receives it, its `Host`): an endpoint asked for on another
    /// origin answers 404, as on Vercel. A bare path with no `Host` (a test
    /// calling this directly) is answered by whichever origin serves it.
    /// Bodies are fully buffered.
    pub fn handle(&self, request: &http::Request<Vec<u8>>) -> http::Response<Bytes> {
        endpoints::handle(self, self.authorities.reached(request), request)
    }

    /// Answers one request that reached `origin`, whatever its `Host` says:
    /// what a server listening for that origin does.
    pub fn handle_at(
        &self,
        origin: Origin,
        request: &http::Request<Vec<u8>>,
    ) -> http::Response<Bytes> {
        endpoints::handle(self, origins::Reached::Origin(origin), request)
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Client;

    #[test]
    #[should_panic(expected = "before the emulator is shared")]
    fn the_clock_of_a_shared_emulator_cannot_be_replaced() {
        let mut emulator = Emulator::with_key(
            "http://127.0.0.1:3001",
            EmulatorConfig::default(),
            SigningKey::shared(),
        );
        let _shared = emulator.clone();
        emulator.set_clock(Arc::new(|| 0));
    }

    pub(super) fn app(method: &str, secret: Option<&str>, redirect_uri: &str) -> Client {
        Client {
            client_id: "cl_app".to_owned(),
            name: "App".to_owned(),
            client_secret: secret.map(str::to_owned),
            token_endpoint_auth_method: method.to_owned(),
            redirect_uris: vec![redirect_uri.to_owned()],
            scopes: vec!["openid".to_owned()],
        }
    }

    /// `Debug` shows the origins, never a client's secret.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn debug_shows_origins_and_no_secret() {
        let running = Emulator::start_local(EmulatorConfig::default()).unwrap();
        running.emulator().register_client(app(
            "client_secret_post",
            Some("s3cret-of-the-app"),
            "http://localhost:3000/api/auth/callback",
        ));
        let shown = format!("{running:?}");
        assert!(shown.contains(running.emulator().issuer()), "{shown}");
        assert!(shown.contains("addrs"), "{shown}");
        assert!(!shown.contains("s3cret-of-the-app"), "{shown}");
    }

    fn token_request(emulator: &Emulator) -> http::Response<Bytes> {
        emulator.handle(
            &http::Request::post("/login/oauth/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(b"grant_type=refresh_token".to_vec())
                .unwrap(),
        )
    }

    #[test]
    fn faults_are_set_and_updated_without_holding_a_guard() {
        let emulator = Emulator::with_key(
            "http://127.0.0.1:3001",
            EmulatorConfig::default(),
            SigningKey::shared(),
        );
        assert_eq!(token_request(&emulator).status(), 401, "no client");
        emulator.set_faults(Faults {
            token_response: Some((503, "{}".to_owned())),
            ..Faults::default()
        });
        assert_eq!(token_request(&emulator).status(), 503);
        emulator.update_faults(|f| f.token_response = Some((502, "{}".to_owned())));
        assert_eq!(token_request(&emulator).status(), 502);
        emulator.update_faults(|f| f.all_status = Some(500));
        assert_eq!(token_request(&emulator).status(), 500, "both kept");
        emulator.set_faults(Faults::default());
        assert_eq!(token_request(&emulator).status(), 401, "none left");
    }
}
