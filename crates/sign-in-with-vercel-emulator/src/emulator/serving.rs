//! Serving the emulator's three origins over HTTP: [`Emulator::start`] on
//! listeners of the caller's, [`Emulator::start_local`] on free ports of
//! `127.0.0.1`, [`Emulator::start_local_detached`] there on a runtime of
//! its own, [`Emulator::serve_origin`] for one origin, and the
//! [`Running`] emulator they return, which stops the servers when dropped.

use std::sync::Arc;

use super::Emulator;
use crate::{EmulatorConfig, Origin, Origins, Server, SigningKey, serve};

impl Emulator {
    /// Starts an emulator on three listeners of yours (issuer, API,
    /// marketplace, in that order), each origin `http://<its address>`,
    /// signing with `key` ([`SigningKey::generate`] for a new one,
    /// [`SigningKey::shared`] for a test's fixed one): what a test, or a
    /// program, needs in one call. It serves until the returned [`Running`] is dropped. A
    /// listener on an unspecified address (`0.0.0.0`, `[::]`) or a scoped
    /// IPv6 one names no origin a browser can use: `InvalidInput`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O and time enabled: each origin is
    /// served by a task of the current runtime, and stops with it (an
    /// emulator shared by several `#[tokio::test]`s, or used by blocking
    /// clients, wants [`Emulator::start_local_detached`]). A test that also
    /// blocks on an HTTP client needs a multi-thread runtime
    /// (`#[tokio::test(flavor = "multi_thread")]`), or the servers never
    /// run while it waits.
    pub fn start(
        [issuer, api, marketplace]: [std::net::TcpListener; 3],
        config: EmulatorConfig,
        key: SigningKey,
    ) -> std::io::Result<Running> {
        let url = |listener: &std::net::TcpListener| {
            let addr = listener.local_addr()?;
            let scoped = matches!(addr, std::net::SocketAddr::V6(v6) if v6.scope_id() != 0);
            if addr.ip().is_unspecified() || scoped {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{addr} names no origin: bind a specific address, such as 127.0.0.1"),
                ));
            }
            Ok(format!("http://{addr}"))
        };
        let origins = Origins {
            issuer: url(&issuer)?,
            api: url(&api)?,
            marketplace: url(&marketplace)?,
        };
        let emulator = Self::at(origins, config, key);
        let servers = [
            emulator.serve_origin(Origin::Issuer, issuer)?,
            emulator.serve_origin(Origin::Api, api)?,
            emulator.serve_origin(Origin::Marketplace, marketplace)?,
        ];
        Ok(Running {
            emulator,
            servers,
            runtime: None,
        })
    }

    /// [`Emulator::start_local`] on a tokio runtime of its own (one worker
    /// thread), which it shuts down when the returned [`Running`] is
    /// dropped: callable from anywhere, in a runtime or not. For an
    /// emulator that outlives the runtime that asked for it (one shared
    /// by a test binary's `#[tokio::test]`s, each on a runtime of its own
    /// that ends with the test), and for blocking HTTP clients in plain
    /// `#[test]`s.
    ///
    /// ```
    /// use std::sync::OnceLock;
    /// use sign_in_with_vercel_emulator::{Emulator, EmulatorConfig, Running};
    ///
    /// /// One emulator for every test of the binary.
    /// fn emulator() -> &'static Running {
    ///     static EMULATOR: OnceLock<Running> = OnceLock::new();
    ///     EMULATOR.get_or_init(|| {
    ///         Emulator::start_local_detached(EmulatorConfig::default()).expect("free ports")
    ///     })
    /// }
    ///
    /// let issuer = emulator().emulator().issuer();
    /// assert!(issuer.starts_with("http://127.0.0.1:"));
    /// ```
    pub fn start_local_detached(config: EmulatorConfig) -> std::io::Result<Running> {
        Self::detached(|| Self::start_local(config))
    }

    /// What `start` makes, on a runtime of its own (see
    /// [`Emulator::start_local_detached`]).
    fn detached(start: impl FnOnce() -> std::io::Result<Running>) -> std::io::Result<Running> {
        // Owned by `Detached` before anything can fail: a runtime dropped
        // the ordinary way blocks, which tokio refuses (a panic) inside
        // another runtime, where this is meant to be called.
        let runtime = Detached(Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("emulator")
                .enable_all()
                .build()?,
        ));
        let running = {
            let _in_it = runtime.0.as_ref().map(tokio::runtime::Runtime::enter);
            start()?
        };
        Ok(Running {
            runtime: Some(runtime),
            ..running
        })
    }

    /// [`Emulator::start`] on three free ports of `127.0.0.1` with a new
    /// signing key (and the same runtime requirement).
    ///
    /// ```
    /// use sign_in_with_vercel_emulator::{Emulator, EmulatorConfig};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let running = Emulator::start_local(EmulatorConfig::default())?;
    /// let issuer = running.emulator().issuer(); // the app's VERCEL_OAUTH_ISSUER
    /// assert!(issuer.starts_with("http://127.0.0.1:"));
    /// drop(running); // the three origins stop answering (at the runtime's next turn)
    /// # Ok(())
    /// # }
    /// ```
    pub fn start_local(config: EmulatorConfig) -> std::io::Result<Running> {
        let free = || std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0));
        Self::start([free()?, free()?, free()?], config, SigningKey::generate())
    }

    /// Serves one origin on `listener`.
    pub fn serve_origin(
        self: &Arc<Self>,
        origin: Origin,
        listener: std::net::TcpListener,
    ) -> std::io::Result<Server> {
        let emulator = self.clone();
        serve(listener, move |request| {
            let emulator = emulator.clone();
            async move {
                let delay = request
                    .uri()
                    .path()
                    .ends_with("/login/oauth/token")
                    .then(|| emulator.faults().token_delay)
                    .flatten();
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                emulator.handle_at(origin, &request)
            }
        })
    }
}

/// An emulator serving its three origins, from [`Emulator::start`]:
/// dropping it stops all three, open connections included, as soon as the
/// runtime next runs their tasks (a test that needs the ports closed polls
/// for it).
#[must_use = "dropping it stops the emulator's servers"]
pub struct Running {
    emulator: Arc<Emulator>,
    servers: [Server; 3],
    /// The runtime of [`Emulator::start_local_detached`]'s servers,
    /// dropped after them (fields drop in order).
    runtime: Option<Detached>,
}

/// A runtime of the emulator's own, shut down without waiting when
/// dropped: a `Running` may be dropped inside another runtime, where a
/// runtime may not block.
struct Detached(Option<tokio::runtime::Runtime>);

impl Drop for Detached {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The emulator (its origins only) and the servers' addresses.
impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("emulator", &self.emulator)
            .field("addrs", &self.addrs())
            .finish()
    }
}

impl Running {
    /// The emulator: its origins, and every setter a test uses (clients,
    /// users, faults, key rotation).
    pub fn emulator(&self) -> &Arc<Emulator> {
        &self.emulator
    }

    /// The addresses of the issuer, API and marketplace servers.
    pub fn addrs(&self) -> [std::net::SocketAddr; 3] {
        self.servers.each_ref().map(Server::addr)
    }

    /// Serves until the process ends (a program's `main`).
    pub async fn wait(self) {
        let Self {
            emulator: _emulator,
            servers: [issuer, _api, _marketplace],
            runtime: _runtime,
        } = self;
        issuer.wait().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One GET over a fresh connection; `None` when nothing answers.
    fn get(addr: std::net::SocketAddr, path: &str) -> Option<String> {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(addr).ok()?;
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        (!answer.is_empty()).then_some(answer)
    }

    /// A detached emulator answers blocking clients with no runtime of the
    /// caller's, outlives the runtime that started it, and stops when
    /// dropped, inside another runtime too.
    #[test]
    fn a_detached_emulator_outlives_the_runtime_that_started_it() {
        let running = Emulator::start_local_detached(EmulatorConfig::default()).unwrap();
        let [issuer, ..] = running.addrs();
        let discovery = get(issuer, "/.well-known/openid-configuration").expect("discovery");
        assert!(discovery.starts_with("HTTP/1.1 200"), "{discovery}");

        let started_in_a_test = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async { Emulator::start_local_detached(EmulatorConfig::default()) })
            .unwrap();
        let [other, ..] = started_in_a_test.addrs();
        assert!(
            get(other, "/.well-known/openid-configuration").is_some(),
            "the runtime that asked for it has ended; the emulator has not"
        );

        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                drop(started_in_a_test);
                drop(running);
            });
        for addr in [issuer, other] {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while get(addr, "/.well-known/openid-configuration").is_some() {
                assert!(std::time::Instant::now() < deadline, "{addr} still answers");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }

    /// A detached start that fails (no port to bind) inside another
    /// runtime returns its error: its runtime is shut down without
    /// blocking, where dropping it the ordinary way would panic there.
    #[test]
    fn a_detached_start_that_fails_in_a_runtime_returns_its_error() {
        let failed = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async { Emulator::detached(|| Err(std::io::Error::other("no free port"))) });
        assert_eq!(failed.unwrap_err().to_string(), "no free port");
    }

    /// Without the runtime's timer, starting panics at once, as `# Panics`
    /// says, rather than every connection being reset.
    #[test]
    #[should_panic(expected = "timers are disabled")]
    fn a_runtime_without_a_timer_is_refused_at_start() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let _in_it = runtime.enter();
        let _running = Emulator::start_local(EmulatorConfig::default());
    }

    // The test's blocking client blocks the test's own thread: the servers
    // need worker threads of their own.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn start_local_serves_three_origins_named_after_their_listeners_until_dropped() {
        let running = Emulator::start_local(EmulatorConfig::default()).unwrap();
        let [issuer, api, marketplace] = running.addrs();
        let unspecified = || std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let refused = Emulator::start(
            [unspecified(), unspecified(), unspecified()],
            EmulatorConfig::default(),
            SigningKey::shared(),
        );
        assert_eq!(
            refused.err().map(|e| e.kind()),
            Some(std::io::ErrorKind::InvalidInput),
            "0.0.0.0 names no origin"
        );
        let origins = running.emulator().origins().clone();
        assert_eq!(origins.issuer, format!("http://{issuer}"));
        assert_eq!(origins.api, format!("http://{api}"));
        assert_eq!(origins.marketplace, format!("http://{marketplace}"));
        let discovery = get(issuer, "/.well-known/openid-configuration").expect("discovery");
        assert!(discovery.starts_with("HTTP/1.1 200"), "{discovery}");
        assert!(
            discovery.contains(&format!("\"issuer\":\"http://{issuer}\"")),
            "{discovery}"
        );
        assert!(
            discovery.contains(&format!("\"token_endpoint\":\"http://{api}/")),
            "{discovery}"
        );
        let marketplace_discovery =
            get(marketplace, "/.well-known/openid-configuration").expect("marketplace");
        assert!(
            marketplace_discovery.contains(&format!("\"issuer\":\"http://{marketplace}\"")),
            "{marketplace_discovery}"
        );
        drop(running);
        for addr in [issuer, api, marketplace] {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while get(addr, "/.well-known/openid-configuration").is_some() {
                assert!(std::time::Instant::now() < deadline, "{addr} still answers");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    }
}
