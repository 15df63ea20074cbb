//! The provider: the emulator of Vercel's authorization server on its own
//! thread and socket, what it counts, and sign-ins made in process through
//! the real routes (authorize → consent → callback) for the runs that need
//! a flow cookie or a session (testkit's browser, in process).

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use http::header::{COOKIE, HOST};
use sign_in_with_vercel::{AUTHORIZE, Auth, CALLBACK, HttpClient};
use sign_in_with_vercel_emulator::{
    Client, Emulator, EmulatorConfig, Origin, SCOPES, SigningKey, Stats,
};
use testkit::{Browser, InProcess, Jar};

use crate::{APP, APP_HOST, CLIENT_ID, SECRET, function_config};

/// The host whose cookies the browser keeps for the app.
pub const APP_DOMAIN: &str = "localhost";

pub struct Provider {
    pub emulator: Arc<Emulator>,
    pub issuer: String,
    /// The library in process, configured like the functions and wired to
    /// the emulator without sockets: it makes flow cookies and sessions.
    pub auth: Arc<Auth>,
    /// Time spent inside the emulator's handler (HTTP excluded).
    pub timing: Arc<Timing>,
}

/// Nanoseconds the emulator spent answering, all endpoints and the token
/// endpoint alone (it signs the ID token: RS256 with a 2048-bit key).
#[derive(Default)]
pub struct Timing {
    total_ns: AtomicU64,
    token_ns: AtomicU64,
}

impl Timing {
    pub fn snapshot(&self) -> (u64, u64) {
        (self.total_ns.load(Relaxed), self.token_ns.load(Relaxed))
    }
}

/// Starts the emulator on its own thread and runtime, so that it answers
/// while the main thread blocks on a cold-start exchange.
pub fn start() -> Provider {
    // Two origins, as Vercel's: the issuer's (vercel.com) and the API's
    // (api.vercel.com), each on its own port.
    let listener = TcpListener::bind("127.0.0.1:0").expect("emulator port");
    let api_listener = TcpListener::bind("127.0.0.1:0").expect("emulator API port");
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let api = format!("http://{}", api_listener.local_addr().unwrap());
    let config = EmulatorConfig {
        // Codes are prepared before each cold callback run; a minute is
        // enough, ten is comfortable.
        code_ttl: 600,
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::with_origins(issuer.clone(), api, config, SigningKey::generate());
    emulator.register_client(Client {
        client_id: CLIENT_ID.to_owned(),
        name: "Benchmark app".to_owned(),
        client_secret: Some(SECRET.to_owned()),
        token_endpoint_auth_method: "client_secret_post".to_owned(),
        redirect_uris: vec![format!("{APP}{}", CALLBACK.path(&crate::PATHS))],
        scopes: SCOPES.map(String::from).to_vec(),
    });
    let served = emulator.clone();
    let timing = Arc::new(Timing::default());
    let timed = timing.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("emulator".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("emulator runtime");
            rt.block_on(async move {
                // The emulator's own handler, timed: what a flow spends
                // at the provider.
                let timed_origin = |origin: Origin, listener: TcpListener| {
                    let served = served.clone();
                    let timed = timed.clone();
                    sign_in_with_vercel_emulator::serve(listener, move |request| {
                        let emulator = served.clone();
                        let timing = timed.clone();
                        async move {
                            let start = Instant::now();
                            let response = emulator.handle_at(origin, &request);
                            let ns = start.elapsed().as_nanos() as u64;
                            timing.total_ns.fetch_add(ns, Relaxed);
                            if request.uri().path() == "/login/oauth/token" {
                                timing.token_ns.fetch_add(ns, Relaxed);
                            }
                            response
                        }
                    })
                    .expect("emulator serve")
                };
                let issuer_server = timed_origin(Origin::Issuer, listener);
                let _api_server = timed_origin(Origin::Api, api_listener);
                ready_tx.send(()).unwrap();
                issuer_server.wait().await;
            });
        })
        .expect("emulator thread");
    ready_rx.recv().expect("emulator started");

    let auth =
        Arc::new(Auth::new(function_config(Some(&issuer))).with_http_client(
            testkit::EmulatorClient::new(emulator.clone()) as Arc<dyn HttpClient>,
        ));
    Provider {
        emulator,
        issuer,
        auth,
        timing,
    }
}

/// A request to the app as the browser sends it (no body).
pub fn app_request(method: &str, path: &str, jar: &Jar) -> http::Request<()> {
    let mut request = http::Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, APP_HOST);
    if let Some(cookies) = jar.header() {
        request = request.header(COOKIE, cookies);
    }
    request.body(()).expect("a request")
}

impl Provider {
    /// A browser that reaches the library (the app) and the emulator in
    /// process: sign-ins through the real routes without sockets.
    fn browser(&self) -> Browser {
        let transport = InProcess::default()
            .app(APP, self.auth.clone())
            .emulator(self.emulator.clone());
        Browser::new(Arc::new(transport))
    }

    /// A sign-in started in process with the authorize route, consented at
    /// the emulator: the callback's path and query, and the browser's
    /// cookies (its flow cookie).
    pub fn started_sign_in(&self, rt: &tokio::runtime::Runtime) -> (String, Jar) {
        let mut browser = self.browser();
        let back = rt.block_on(async {
            let start = browser
                .get(&format!("{APP}{}", AUTHORIZE.path(&crate::PATHS)))
                .await;
            assert_eq!(start.status, 302, "in-process authorize: {}", start.body);
            let to_provider = start.location().unwrap_or_default();
            browser.consent(&to_provider, "allow").await
        });
        let callback = back
            .strip_prefix(APP)
            .unwrap_or_else(|| panic!("consent sent the browser to {back}"))
            .to_owned();
        (callback, browser.jar(APP_DOMAIN).clone())
    }

    /// A signed-in browser's cookies: the whole sign-in through the routes
    /// in process (authorize, consent, callback).
    pub fn signed_in(&self, rt: &tokio::runtime::Runtime) -> Jar {
        let (callback, jar) = self.started_sign_in(rt);
        let mut browser = self.browser();
        *browser.jar_mut(APP_DOMAIN) = jar;
        let done = rt.block_on(browser.get(&format!("{APP}{callback}")));
        assert_eq!(done.status, 302, "in-process callback: {}", done.body);
        testkit::assert_session(browser.jar(APP_DOMAIN));
        browser.jar(APP_DOMAIN).clone()
    }
}

/// The counts of `after` less those of `before`.
pub fn delta(after: &Stats, before: &Stats) -> Stats {
    Stats {
        discovery: after.discovery - before.discovery,
        jwks: after.jwks - before.jwks,
        authorize: after.authorize - before.authorize,
        token: after.token - before.token,
        revoke: after.revoke - before.revoke,
        introspect: after.introspect - before.introspect,
        userinfo: after.userinfo - before.userinfo,
    }
}

pub fn add(a: &mut Stats, b: &Stats) {
    a.discovery += b.discovery;
    a.jwks += b.jwks;
    a.authorize += b.authorize;
    a.token += b.token;
    a.revoke += b.revoke;
    a.introspect += b.introspect;
    a.userinfo += b.userinfo;
}

/// The function → provider requests (the emulator's `authorize` counter is
/// the browser's consent page and decision, not a function's).
pub fn upstream_counts(s: &Stats) -> [(&'static str, u64); 6] {
    [
        ("discovery", s.discovery),
        ("token", s.token),
        ("jwks", s.jwks),
        ("userinfo", s.userinfo),
        ("introspect", s.introspect),
        ("revoke", s.revoke),
    ]
}

/// Those requests in words: `token 1, jwks 1`, or `none`.
pub fn upstream(s: &Stats) -> String {
    let parts: Vec<String> = upstream_counts(s)
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}

pub fn upstream_total(s: &Stats) -> u64 {
    upstream_counts(s).iter().map(|(_, n)| n).sum()
}

/// Those requests per event, every endpoint listed.
pub fn upstream_mean(s: &Stats, n: usize) -> String {
    upstream_counts(s)
        .iter()
        .map(|(name, count)| format!("{name} {:.2}", *count as f64 / n.max(1) as f64))
        .collect::<Vec<_>>()
        .join(", ")
}
