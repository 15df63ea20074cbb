//! Serving the emulator's three origins over HTTP: [`Emulator::start`] on
//! listeners of the caller's, [`Emulator::start_local`] on free ports of
//! `127.0.0.1`, [`Emulator::serve_origin`] for one origin, and the
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
    /// Outside a tokio runtime with I/O enabled: each origin is served by
    /// a task of the current runtime, and stops with it. A test that also
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
        Ok(Running { emulator, servers })
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
