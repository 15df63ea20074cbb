//! Performance benchmark of the five Vercel function binaries, release
//! build, on loopback against the in-process emulator of Vercel's
//! authorization server. One command:
//!
//! ```text
//! CARGO_TARGET_DIR=target/h-bench cargo bench --bench functions
//! ```
//!
//! It prints a table and writes `BENCHMARKS.md` next to `Cargo.toml`.
//! It measures, it never asserts a target: a missed target is reported as
//! FAIL in the table, not as a failed run. It does fail loudly when it
//! cannot measure (wrk missing, a function answering the wrong thing).
//!
//! Knobs (environment): `BENCH_COLD_RUNS` (default 50), `BENCH_FLOWS`
//! (default 500), `BENCH_WRK_SECS` (default 10), `BENCH_NO_WRITE=1` to
//! leave `BENCHMARKS.md` alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{COOKIE, HOST, LOCATION, SET_COOKIE};
use sign_in_with_vercel::authorize::{Flow, authorization_url};
use sign_in_with_vercel::cookies::flow_cookie;
use sign_in_with_vercel::dev::emulator::{Client, Emulator, EmulatorConfig, SigningKey, Stats};
use sign_in_with_vercel::origin::{DEFAULT_RETURN_PATH, Origin};
use sign_in_with_vercel::{Auth, Config, HttpClient, ProviderMetadata};

// ---------------------------------------------------------------------------
// Set-up
// ---------------------------------------------------------------------------

/// The app's public origin, pinned with `APP_URL` in every function.
const APP: &str = "http://localhost:3000";
const APP_HOST: &str = "localhost:3000";
const CLIENT_ID: &str = "cl_bench_app";
const SECRET: &str = "bench-secret-0123456789";

struct Function {
    name: &'static str,
    exe: &'static str,
    route: &'static str,
}

impl Function {
    /// The binary: cargo's, or `$BENCH_BIN_DIR/<name>` to measure another
    /// build (a candidate fix built elsewhere).
    fn path(&self) -> String {
        match std::env::var("BENCH_BIN_DIR") {
            Ok(dir) if !dir.is_empty() => format!("{dir}/{}", self.name),
            _ => self.exe.to_owned(),
        }
    }
}

const FUNCTIONS: [Function; 5] = [
    Function {
        name: "authorize",
        exe: env!("CARGO_BIN_EXE_authorize"),
        route: "/api/auth/authorize",
    },
    Function {
        name: "callback",
        exe: env!("CARGO_BIN_EXE_callback"),
        route: "/api/auth/callback",
    },
    Function {
        name: "signout",
        exe: env!("CARGO_BIN_EXE_signout"),
        route: "/api/auth/signout",
    },
    Function {
        name: "validate-token",
        exe: env!("CARGO_BIN_EXE_validate-token"),
        route: "/api/validate-token",
    },
    Function {
        name: "user-info",
        exe: env!("CARGO_BIN_EXE_user-info"),
        route: "/api/user-info",
    },
];

/// Variables a developer's shell might carry into the children.
const CLEARED_VARS: [&str; 10] = [
    "VERCEL_APP_CLIENT_ID",
    "NEXT_PUBLIC_VERCEL_APP_CLIENT_ID",
    "VERCEL_APP_CLIENT_SECRET",
    "VERCEL_APP_TOKEN_AUTH",
    "VERCEL_OAUTH_ISSUER",
    "APP_URL",
    "VERCEL_IPC_PATH",
    "VERCEL_DEV_PORT",
    "VERCEL_DEV",
    "RUST_LOG",
];

/// The functions' configuration: the default issuer (`None`: Vercel's
/// endpoints are built in, no discovery) or the emulator's.
fn function_env(issuer: Option<&str>) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        ("VERCEL_APP_CLIENT_ID", CLIENT_ID.to_owned()),
        ("VERCEL_APP_CLIENT_SECRET", SECRET.to_owned()),
        ("VERCEL_APP_TOKEN_AUTH", "client_secret_post".to_owned()),
        ("APP_URL", APP.to_owned()),
    ];
    if let Some(issuer) = issuer {
        vars.push(("VERCEL_OAUTH_ISSUER", issuer.to_owned()));
    }
    vars
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A child process, killed (SIGKILL) and reaped on drop.
struct Proc(Child);

impl Proc {
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(function: &Function, port: u16, env: &[(&'static str, String)]) -> Proc {
    let mut command = Command::new(function.path());
    for var in CLEARED_VARS {
        command.env_remove(var);
    }
    command
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("VERCEL_DEV_PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Proc(
        command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", function.path())),
    )
}

/// Connects to `port`, retrying until the child listens (or 10 s).
fn poll_connect(port: u16, child: &mut Proc, name: &str) -> TcpStream {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    let mut tries = 0u32;
    loop {
        match TcpStream::connect(addr) {
            Ok(stream) => {
                stream.set_nodelay(true).expect("TCP_NODELAY");
                stream
                    .set_read_timeout(Some(Duration::from_secs(20)))
                    .expect("read timeout");
                return stream;
            }
            Err(e) => {
                tries += 1;
                if tries.is_multiple_of(256) {
                    if let Ok(Some(status)) = child.0.try_wait() {
                        panic!("{name} exited before listening: {status}");
                    }
                    if start.elapsed() > Duration::from_secs(10) {
                        panic!("{name} did not listen on 127.0.0.1:{port} within 10 s: {e}");
                    }
                }
                std::thread::yield_now();
            }
        }
    }
}

/// `VmRSS`, `VmHWM`… of a live process, in KiB.
fn proc_status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} for pid {pid}"))
}

/// utime + stime of a live process, in clock ticks.
fn proc_cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(11) + get(12)
}

/// (busy, total) jiffies of the whole machine.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu = stat.lines().next().unwrap_or("");
    let v: Vec<u64> = cpu
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// CPU ticks of this process: (its own, its reaped children's).
fn self_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let get = |i: usize| f.get(i).copied().unwrap_or(0);
    (get(11) + get(12), get(13) + get(14))
}

/// Cores used by everything but `own_ticks` between two machine samples.
fn other_cores(before: (u64, u64), after: (u64, u64), own_ticks: u64) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let total = after.1.saturating_sub(before.1).max(1) as f64;
    let busy = after.0.saturating_sub(before.0) as f64;
    ((busy - own_ticks as f64) / total * cores).max(0.0)
}

fn clock_ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

// ---------------------------------------------------------------------------
// A minimal blocking HTTP/1.1 client for cold starts (no pooling, no
// runtime: the least client overhead between spawn and response).
// ---------------------------------------------------------------------------

struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn set_cookies(&self) -> impl Iterator<Item = &str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.as_str())
    }

    fn describe(&self) -> String {
        format!(
            "{} location={:?} body={}",
            self.status,
            self.header("location"),
            String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
        )
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn exchange(stream: &mut TcpStream, request: &[u8]) -> std::io::Result<Raw> {
    stream.write_all(request)?;
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 16384];
    let eof = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(eof());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: Option<usize> = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok());
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    });
    loop {
        let body = &buf[head_end..];
        let done = match length {
            Some(n) => body.len() >= n,
            None if chunked => body.ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if done {
            break;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            if length.is_none() && !chunked {
                break;
            }
            return Err(eof());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(Raw {
        status,
        headers,
        body: buf[head_end..].to_vec(),
    })
}

fn raw_request(method: &str, path: &str, cookie: Option<&str>, origin: bool) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: {APP_HOST}\r\nUser-Agent: bench\r\n");
    if let Some(cookie) = cookie {
        let _ = write!(r, "Cookie: {cookie}\r\n");
    }
    if origin {
        let _ = write!(r, "Origin: {APP}\r\n");
    }
    if method == "POST" {
        r.push_str("Content-Length: 0\r\n");
    }
    r.push_str("Connection: close\r\n\r\n");
    r.into_bytes()
}

// ---------------------------------------------------------------------------
// The emulator and what the functions' first requests need
// ---------------------------------------------------------------------------

struct Provider {
    emulator: Arc<Emulator>,
    issuer: String,
    metadata: ProviderMetadata,
    origin: Origin,
    /// The library in process, wired to the emulator without sockets: it
    /// makes the sessions the cold signout/validate-token/user-info runs use.
    auth: Auth,
    /// Time spent inside the emulator's handler (HTTP excluded).
    timing: Arc<ProviderTiming>,
}

/// Nanoseconds the emulator spent answering, all endpoints and the token
/// endpoint alone (it signs the ID token: RS256 with a 2048-bit key).
#[derive(Default)]
struct ProviderTiming {
    total_ns: std::sync::atomic::AtomicU64,
    token_ns: std::sync::atomic::AtomicU64,
}

impl ProviderTiming {
    fn snapshot(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.total_ns.load(Relaxed), self.token_ns.load(Relaxed))
    }
}

/// Starts the emulator on its own thread and runtime, so that it answers
/// while the main thread blocks on a cold-start exchange.
fn start_provider() -> Provider {
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
        redirect_uris: vec![format!("{APP}/api/auth/callback")],
        scopes: ["openid", "email", "profile", "offline_access"]
            .map(String::from)
            .to_vec(),
    });
    let served = emulator.clone();
    let timing = Arc::new(ProviderTiming::default());
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
                // The emulator's own servers (issuer and API origins, told
                // apart by Host), with the time inside its handler measured
                // (what the flow spends at the provider).
                let handler = move |request: http::Request<Vec<u8>>| {
                    let emulator = served.clone();
                    let timing = timed.clone();
                    async move {
                        use std::sync::atomic::Ordering::Relaxed;
                        let start = Instant::now();
                        let response = emulator.handle(&request);
                        let ns = start.elapsed().as_nanos() as u64;
                        timing.total_ns.fetch_add(ns, Relaxed);
                        if request.uri().path() == "/login/oauth/token" {
                            timing.token_ns.fetch_add(ns, Relaxed);
                        }
                        response
                    }
                };
                let server = sign_in_with_vercel::dev::serve(listener, handler.clone())
                    .expect("emulator serve");
                let _api_server = sign_in_with_vercel::dev::serve(api_listener, handler)
                    .expect("emulator API serve");
                ready_tx.send(()).unwrap();
                server.wait().await;
            });
        })
        .expect("emulator thread");
    ready_rx.recv().expect("emulator started");

    let discovery = emulator.handle(
        &http::Request::get("/.well-known/openid-configuration")
            .body(Vec::new())
            .unwrap(),
    );
    let (parts, body) = discovery.into_parts();
    let metadata =
        ProviderMetadata::from_response(&issuer, &http::Response::from_parts(parts, body.to_vec()))
            .expect("emulator metadata");
    let vars = function_env(Some(&issuer));
    let config =
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .expect("config");
    let auth = Auth::new(config).with_http_client(emulator.clone() as Arc<dyn HttpClient>);
    Provider {
        emulator,
        issuer,
        metadata,
        origin: Origin::parse_configured(APP).expect("origin"),
        auth,
        timing,
    }
}

fn location<B>(response: &http::Response<B>) -> String {
    response
        .headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn request_id_in(html: &str) -> String {
    html.split("name=\"request_id\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no request_id in the consent page: {html:.300}"))
        .to_owned()
}

/// `name=value` of a `Set-Cookie` value.
fn cookie_pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap_or("").trim()
}

impl Provider {
    /// Consent in process: the consent page, then Allow. Returns the
    /// redirect back to the app (`…/api/auth/callback?code=…`).
    fn consent(&self, authorize_url: &str) -> String {
        let path = authorize_url
            .strip_prefix(&self.issuer)
            .expect("an emulator URL");
        let page = self
            .emulator
            .handle(&http::Request::get(path).body(Vec::new()).unwrap());
        // Consent is remembered: a repeat sign-in comes straight back.
        if page.status() == 302 {
            return location(&page);
        }
        assert_eq!(page.status(), 200, "consent page");
        let request_id = request_id_in(&String::from_utf8_lossy(page.body()));
        let answer = self.emulator.handle(
            &http::Request::post("/oauth/authorize/decision")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("request_id={request_id}&decision=allow").into_bytes())
                .unwrap(),
        );
        assert_eq!(answer.status(), 302, "consent decision");
        location(&answer)
    }

    /// What a cold callback needs: a flow made with the library, its flow
    /// cookie, and a code from consenting at the emulator. Returns
    /// (path and query, Cookie header).
    fn callback_request(&self) -> (String, String) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let flow = Flow::new(
            self.origin.redirect_uri(),
            DEFAULT_RETURN_PATH.to_owned(),
            now,
        );
        let url = authorization_url(&self.metadata, CLIENT_ID, &flow).expect("authorization URL");
        let cookie = flow_cookie(&self.origin, &flow).expect("flow cookie");
        let back = self.consent(&url);
        let path = back.strip_prefix(APP).expect("back at the app").to_owned();
        (
            path,
            cookie_pair(cookie.to_str().expect("ASCII cookie")).to_owned(),
        )
    }

    /// A signed-in session made in process (authorize, consent, callback
    /// through the library with the emulator as its HTTP client); returns
    /// the Cookie header a browser would send.
    fn session(&self, rt: &tokio::runtime::Runtime) -> String {
        rt.block_on(async {
            let start = self.auth.authorize(
                &http::Request::get("/api/auth/authorize")
                    .header(HOST, APP_HOST)
                    .body(())
                    .unwrap(),
            );
            let start = start.await;
            assert_eq!(start.status(), 302);
            let flow: Vec<String> = start
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .map(|v| cookie_pair(v.to_str().unwrap()).to_owned())
                .collect();
            let back = self.consent(&location(&start));
            let done = self
                .auth
                .callback(
                    &http::Request::get(back.strip_prefix(APP).unwrap())
                        .header(HOST, APP_HOST)
                        .header(COOKIE, flow.join("; "))
                        .body(())
                        .unwrap(),
                )
                .await;
            assert_eq!(done.status(), 302, "in-process callback");
            let mut jar = Jar::default();
            for v in done.headers().get_all(SET_COOKIE) {
                jar.store(v.to_str().unwrap());
            }
            assert!(jar.0.contains_key("access_token"), "no session: {jar:?}");
            jar.header().unwrap()
        })
    }
}

/// A browser's cookies for the app's origin.
#[derive(Default, Debug)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn store(&mut self, set_cookie: &str) {
        let cookie = cookie::Cookie::parse(set_cookie.to_owned()).expect("a Set-Cookie");
        let expired = cookie
            .max_age()
            .is_some_and(|a| a.is_zero() || a.is_negative());
        if expired || cookie.value().is_empty() {
            self.0.remove(cookie.name());
        } else {
            self.0
                .insert(cookie.name().to_owned(), cookie.value().to_owned());
        }
    }

    fn store_all(&mut self, headers: &http::HeaderMap) {
        for v in headers.get_all(SET_COOKIE) {
            self.store(v.to_str().expect("ASCII Set-Cookie"));
        }
    }

    fn header(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| {
            self.0
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

fn stats_delta(after: &Stats, before: &Stats) -> Stats {
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

fn stats_add(a: &mut Stats, b: &Stats) {
    a.discovery += b.discovery;
    a.jwks += b.jwks;
    a.authorize += b.authorize;
    a.token += b.token;
    a.revoke += b.revoke;
    a.introspect += b.introspect;
    a.userinfo += b.userinfo;
}

/// The function → provider requests of a delta (the emulator's `authorize`
/// counter is the browser's consent page and decision, not the function).
fn upstream(s: &Stats) -> String {
    let mut parts = Vec::new();
    for (name, n) in [
        ("discovery", s.discovery),
        ("token", s.token),
        ("jwks", s.jwks),
        ("userinfo", s.userinfo),
        ("introspect", s.introspect),
        ("revoke", s.revoke),
    ] {
        if n > 0 {
            parts.push(format!("{name} {n}"));
        }
    }
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}

fn upstream_total(s: &Stats) -> u64 {
    s.discovery + s.token + s.jwks + s.userinfo + s.introspect + s.revoke
}

// ---------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Default)]
struct Summary {
    n: usize,
    median: f64,
    p10: f64,
    p90: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

fn summarize(values: &[f64]) -> Summary {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    Summary {
        n: v.len(),
        median: q(0.5),
        p10: q(0.1),
        p90: q(0.9),
        p99: q(0.99),
        max: v[v.len() - 1],
        mean: v.iter().sum::<f64>() / v.len() as f64,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// ---------------------------------------------------------------------------
// Cold start
// ---------------------------------------------------------------------------

struct ColdRun {
    total_ms: f64,
    listen_ms: f64,
    rss_kb: u64,
    upstream: Stats,
}

/// Spawn → poll-connect → the route's request → the complete response.
fn cold_run(
    function: &Function,
    env: &[(&'static str, String)],
    request: &[u8],
    provider: &Provider,
    check: &dyn Fn(&Raw) -> bool,
) -> ColdRun {
    let port = free_port();
    let before = provider.emulator.stats();
    let t0 = Instant::now();
    let mut child = spawn(function, port, env);
    let mut stream = poll_connect(port, &mut child, function.name);
    let listen = t0.elapsed();
    let response = exchange(&mut stream, request)
        .unwrap_or_else(|e| panic!("{}: no response on a cold start: {e}", function.name));
    let total = t0.elapsed();
    let rss_kb = proc_status_kb(child.pid(), "VmRSS");
    let after = provider.emulator.stats();
    drop(child);
    assert!(
        check(&response),
        "{}: unexpected cold-start response: {}",
        function.name,
        response.describe()
    );
    ColdRun {
        total_ms: ms(total),
        listen_ms: ms(listen),
        rss_kb,
        upstream: stats_delta(&after, &before),
    }
}

/// Whether a response is the one the route should give.
type Check = Box<dyn Fn(&Raw) -> bool>;

struct ColdResult {
    function: &'static str,
    mode: &'static str,
    request: String,
    total: Summary,
    listen: Summary,
    rss_kb: Summary,
    upstream: Stats,
}

#[allow(clippy::too_many_arguments)] // one call site per mode; a struct would only rename them
fn cold_series(
    function: &Function,
    mode: &'static str,
    request_label: String,
    runs: usize,
    env: &[(&'static str, String)],
    provider: &Provider,
    mut make_request: impl FnMut() -> Vec<u8>,
    check: &dyn Fn(&Raw) -> bool,
) -> ColdResult {
    // One unmeasured run: the binary into the page cache.
    let request = make_request();
    cold_run(function, env, &request, provider, check);
    let mut totals = Vec::new();
    let mut listens = Vec::new();
    let mut rss = Vec::new();
    let mut upstream_first = None;
    for _ in 0..runs {
        let request = make_request();
        let run = cold_run(function, env, &request, provider, check);
        totals.push(run.total_ms);
        listens.push(run.listen_ms);
        rss.push(run.rss_kb as f64);
        match &upstream_first {
            None => upstream_first = Some(run.upstream),
            Some(first) => assert_eq!(
                first, &run.upstream,
                "{}: upstream requests differ between cold runs",
                function.name
            ),
        }
    }
    ColdResult {
        function: function.name,
        mode,
        request: request_label,
        total: summarize(&totals),
        listen: summarize(&listens),
        rss_kb: summarize(&rss),
        upstream: upstream_first.unwrap_or_default(),
    }
}

fn cold_starts(provider: &Provider, rt: &tokio::runtime::Runtime, runs: usize) -> Vec<ColdResult> {
    let default_env = function_env(None);
    let emulator_env = function_env(Some(&provider.issuer));
    let mut results = Vec::new();
    let emu_authorize = format!("{}/oauth/authorize?", provider.issuer);

    // A. Start-up only: requests that need no provider call, production
    // configuration (default issuer: endpoints built in).
    for f in &FUNCTIONS {
        let (method, label, check): (&str, &str, Check) = match f.name {
            "authorize" => (
                "GET",
                "GET, no cookie → 302 to vercel.com/oauth/authorize",
                Box::new(|r: &Raw| {
                    r.status == 302
                        && r.header("location")
                            .is_some_and(|l| l.starts_with("https://vercel.com/oauth/authorize?"))
                }),
            ),
            "callback" => (
                "GET",
                "GET, no query/cookie → 302 /auth/error",
                Box::new(|r: &Raw| {
                    r.status == 302
                        && r.header("location")
                            .is_some_and(|l| l.starts_with("/auth/error"))
                }),
            ),
            "signout" => (
                "POST",
                "POST, no cookie → 401",
                Box::new(|r: &Raw| r.status == 401),
            ),
            _ => (
                "GET",
                "GET, no cookie → 401",
                Box::new(|r: &Raw| r.status == 401),
            ),
        };
        let request = raw_request(method, f.route, None, method == "POST");
        results.push(cold_series(
            f,
            "startup",
            label.to_owned(),
            runs,
            &default_env,
            provider,
            || request.clone(),
            &*check,
        ));
    }

    // B. The route's real first response, against the emulator (issuer
    // set to it, so each instance also discovers the endpoints once).
    for f in &FUNCTIONS {
        let result = match f.name {
            "authorize" => {
                let check = |r: &Raw| {
                    r.status == 302
                        && r.header("location")
                            .is_some_and(|l| l.starts_with(&emu_authorize))
                };
                cold_series(
                    f,
                    "first",
                    "GET → 302 to the emulator's /oauth/authorize".to_owned(),
                    runs,
                    &emulator_env,
                    provider,
                    || raw_request("GET", f.route, None, false),
                    &check,
                )
            }
            "callback" => {
                let check = |r: &Raw| {
                    r.status == 302
                        && r.header("location") == Some(DEFAULT_RETURN_PATH)
                        && r.set_cookies().any(|c| c.starts_with("access_token="))
                };
                cold_series(
                    f,
                    "first",
                    "GET ?code&state&iss + flow cookie → 302 /profile + session".to_owned(),
                    runs,
                    &emulator_env,
                    provider,
                    || {
                        let (path, cookie) = provider.callback_request();
                        raw_request("GET", &path, Some(&cookie), false)
                    },
                    &check,
                )
            }
            "signout" => {
                let check = |r: &Raw| {
                    r.status == 200 && String::from_utf8_lossy(&r.body).contains("\"revoked\":true")
                };
                cold_series(
                    f,
                    "first",
                    "POST + session cookies → 200 revoked".to_owned(),
                    runs,
                    &emulator_env,
                    provider,
                    // A fresh session per run: revoking live tokens.
                    || raw_request("POST", f.route, Some(&provider.session(rt)), true),
                    &check,
                )
            }
            "validate-token" => {
                let session = provider.session(rt);
                let check = |r: &Raw| {
                    r.status == 200 && String::from_utf8_lossy(&r.body).contains("Token is valid")
                };
                cold_series(
                    f,
                    "first",
                    "GET + session cookies → 200 tokenInfo".to_owned(),
                    runs,
                    &emulator_env,
                    provider,
                    || raw_request("GET", f.route, Some(&session), false),
                    &check,
                )
            }
            _ => {
                let session = provider.session(rt);
                let check = |r: &Raw| {
                    r.status == 200 && String::from_utf8_lossy(&r.body).contains("userInfo")
                };
                cold_series(
                    f,
                    "first",
                    "GET + session cookies → 200 userInfo".to_owned(),
                    runs,
                    &emulator_env,
                    provider,
                    || raw_request("GET", f.route, Some(&session), false),
                    &check,
                )
            }
        };
        results.push(result);
    }
    results
}

// ---------------------------------------------------------------------------
// Warm load: wrk on GET /api/auth/authorize
// ---------------------------------------------------------------------------

fn wrk_available() {
    match Command::new("wrk").arg("-v").output() {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "\n\nwrk is not installed; the warm-load part of this benchmark needs it.\n\
             Install it:  apt-get install wrk\n\n"
        ),
        Err(e) => panic!("cannot run wrk: {e}"),
    }
}

#[derive(Clone)]
struct WrkResult {
    label: String,
    threads: u32,
    connections: u32,
    rps: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    requests: u64,
    /// Cores the function used during the run.
    server_cores: f64,
    /// Cores wrk used.
    wrk_cores: f64,
    /// Cores the rest of the machine used (other processes, interrupts).
    other_cores: f64,
}

/// A wrk run repeated (at most 3 times) while other processes took more
/// than 0.15 cores during it: on 2 cores such a run measures the neighbours.
fn run_wrk_undisturbed(
    label: &str,
    threads: u32,
    connections: u32,
    secs: u64,
    url: &str,
    server_pid: u32,
) -> WrkResult {
    let mut result = run_wrk(label, threads, connections, secs, url, server_pid);
    for _ in 0..2 {
        if result.other_cores <= 0.15 {
            break;
        }
        eprintln!(
            "wrk {label}: other processes took {:.2} cores; running it again",
            result.other_cores
        );
        wait_for_quiet("warm load");
        result = run_wrk(label, threads, connections, secs, url, server_pid);
    }
    result
}

fn parse_wrk_duration(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, factor) = if let Some(n) = s.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1e3)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60e3)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|v| v * factor)
}

fn run_wrk(
    label: &str,
    threads: u32,
    connections: u32,
    secs: u64,
    url: &str,
    server_pid: u32,
) -> WrkResult {
    let mut command = Command::new("wrk");
    command.args([
        format!("-t{threads}"),
        format!("-c{connections}"),
        format!("-d{secs}s"),
        "--latency".to_owned(),
        url.to_owned(),
    ]);
    let ticks = clock_ticks_per_sec();
    let server_before = proc_cpu_ticks(server_pid);
    let machine_before = machine_ticks();
    let t0 = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wrk");
    // wrk's own CPU, sampled until it exits (a zombie keeps its totals
    // until reaped), to tell the load tool from other processes.
    let mut wrk_ticks = 0;
    loop {
        wrk_ticks = wrk_ticks.max(proc_cpu_ticks(child.id()));
        if child.try_wait().expect("wrk").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("wrk");
    let wall = t0.elapsed().as_secs_f64();
    let server_after = proc_cpu_ticks(server_pid);
    let machine_after = machine_ticks();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !text.contains("Non-2xx or 3xx") && !text.contains("Socket errors"),
        "wrk saw errors:\n{text}"
    );
    let percentile = |p: &str| {
        text.lines()
            .find_map(|l| {
                let l = l.trim();
                let rest = l.strip_prefix(p)?;
                parse_wrk_duration(rest)
            })
            .unwrap_or_else(|| panic!("no {p} latency in wrk output:\n{text}"))
    };
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"));
    let requests = text
        .lines()
        .find_map(|l| {
            let l = l.trim();
            l.contains(" requests in ")
                .then(|| l.split_whitespace().next()?.parse().ok())?
        })
        .unwrap_or(0);
    let (mb, mt) = machine_before;
    let (ma, mt2) = machine_after;
    let server_cores = (server_after - server_before) as f64 / ticks / wall;
    let wrk_cores = wrk_ticks as f64 / ticks / wall;
    let machine_cores = if mt2 > mt {
        (ma - mb) as f64 / (mt2 - mt) as f64
            * std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
    } else {
        0.0
    };
    WrkResult {
        label: label.to_owned(),
        threads,
        connections,
        rps,
        p50_ms: percentile("50%"),
        p90_ms: percentile("90%"),
        p99_ms: percentile("99%"),
        requests,
        server_cores,
        wrk_cores,
        other_cores: (machine_cores - server_cores - wrk_cores).max(0.0),
    }
}

/// Runs of the primary wrk configuration; the median one is reported.
const PRIMARY_RUNS: usize = 3;

struct LoadResult {
    runs: Vec<WrkResult>,
    /// The median (by req/s) of the primary runs; the machine is a VM
    /// whose throughput moves by ±15 % from one run to the next.
    primary: WrkResult,
    primary_rps: Vec<f64>,
    rss_first_kb: u64,
    hwm_kb: u64,
    /// The authorize handler alone, in process, µs per call.
    handler_us: f64,
}

fn warm_load(secs: u64, rt: &tokio::runtime::Runtime) -> LoadResult {
    let f = &FUNCTIONS[0];
    let port = free_port();
    let mut child = spawn(f, port, &function_env(None));
    let mut stream = poll_connect(port, &mut child, f.name);
    let first = exchange(&mut stream, &raw_request("GET", f.route, None, false)).expect("first");
    assert_eq!(first.status, 302, "authorize: {}", first.describe());
    let rss_first_kb = proc_status_kb(child.pid(), "VmRSS");
    let url = format!("http://127.0.0.1:{port}{}", f.route);
    let mut runs = Vec::new();
    // Warm-up, not reported.
    run_wrk("warm-up", 1, 32, 2, &url, child.pid());
    let mut primaries: Vec<WrkResult> = (1..=PRIMARY_RUNS)
        .map(|i| {
            let label = format!("primary {i}/{PRIMARY_RUNS}");
            run_wrk_undisturbed(&label, 1, 32, secs, &url, child.pid())
        })
        .collect();
    runs.extend(primaries.iter().cloned());
    let primary_rps: Vec<f64> = primaries.iter().map(|r| r.rps).collect();
    primaries.sort_by(|a, b| a.rps.partial_cmp(&b.rps).unwrap());
    let primary = primaries[primaries.len() / 2].clone();
    let short = (secs / 2).max(3);
    for (label, threads, connections) in [
        ("fewer connections", 1, 8),
        ("more connections", 1, 128),
        ("2 wrk threads", 2, 32),
    ] {
        runs.push(run_wrk_undisturbed(
            label,
            threads,
            connections,
            short,
            &url,
            child.pid(),
        ));
    }
    let hwm_kb = proc_status_kb(child.pid(), "VmHWM");
    drop(child);

    // The handler alone: what one request costs without HTTP or runtime.
    let vars = function_env(None);
    let auth = Auth::new(
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap(),
    );
    let request = http::Request::get(f.route)
        .header(HOST, APP_HOST)
        .body(())
        .unwrap();
    let handler_us = rt.block_on(async {
        for _ in 0..2_000 {
            std::hint::black_box(auth.authorize(&request).await);
        }
        let n = 100_000;
        let t0 = Instant::now();
        for _ in 0..n {
            std::hint::black_box(auth.authorize(&request).await);
        }
        t0.elapsed().as_secs_f64() * 1e6 / n as f64
    });
    LoadResult {
        runs,
        primary,
        primary_rps,
        rss_first_kb,
        hwm_kb,
        handler_us,
    }
}

// ---------------------------------------------------------------------------
// The complete flow through the five warm functions
// ---------------------------------------------------------------------------

#[derive(Default)]
struct FlowTimes {
    total: Vec<f64>,
    authorize: Vec<f64>,
    consent_page: Vec<f64>,
    consent_decision: Vec<f64>,
    callback: Vec<f64>,
    user_info: Vec<f64>,
    validate_token: Vec<f64>,
    signout: Vec<f64>,
    /// Inside the emulator's handler during the flow (consent, token, userinfo).
    provider: Vec<f64>,
    /// The flow minus the above: the functions, HTTP and the client.
    rest: Vec<f64>,
    /// The token endpoint alone (ID token signing).
    token: Vec<f64>,
}

struct FlowResult {
    flows: usize,
    times: FlowTimes,
    /// Upstream requests of the very first flow on fresh instances.
    first_sign_in: Stats,
    first_profile: Stats,
    /// Totals over the timed flows (warm instances).
    sign_in: Stats,
    profile: Stats,
    validate: Stats,
    signout: Stats,
    /// Most function → provider requests one warm sign-in made.
    max_sign_in: u64,
    rss_first_kb: Vec<(&'static str, u64)>,
    hwm_kb: Vec<(&'static str, u64)>,
    /// Cores other processes used during the timed flows.
    other_cores: f64,
}

struct Stage {
    emulator: Arc<Emulator>,
    timing: Arc<ProviderTiming>,
    issuer: String,
    client: reqwest::Client,
    ports: Vec<u16>,
}

impl Stage {
    fn url(&self, function: usize, path_and_query: &str) -> String {
        format!("http://127.0.0.1:{}{path_and_query}", self.ports[function])
    }

    async fn send(
        &self,
        method: http::Method,
        url: &str,
        jar: &mut Jar,
        body: Option<String>,
    ) -> (u16, http::HeaderMap, String) {
        let mut request = self.client.request(method, url);
        let to_app = !url.starts_with(&self.issuer);
        if to_app && let Some(cookies) = jar.header() {
            request = request.header(COOKIE, cookies);
        }
        if to_app {
            request = request.header("origin", APP);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        if to_app {
            jar.store_all(&headers);
        }
        (status, headers, body)
    }

    /// One request to the JSON route `path` of function `function`; the
    /// flow stops unless it answers 200 with `expect` in the body.
    async fn json_step(
        &self,
        method: http::Method,
        function: usize,
        path: &str,
        jar: &mut Jar,
        expect: &str,
    ) {
        let (status, _, body) = self
            .send(method, &self.url(function, path), jar, None)
            .await;
        assert!(
            status == 200 && body.contains(expect),
            "{path}: {status} {body}"
        );
    }

    /// One sign-in and profile view, like a browser: returns the step
    /// times (ms) and the stats snapshots between the steps.
    async fn flow(&self, times: &mut FlowTimes) -> [Stats; 5] {
        let mut jar = Jar::default();
        let loc = |h: &http::HeaderMap| {
            h.get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let s0 = self.emulator.stats();
        let p0 = self.timing.snapshot();
        let t0 = Instant::now();

        let (status, headers, _) = self
            .send(
                http::Method::GET,
                &self.url(0, "/api/auth/authorize"),
                &mut jar,
                None,
            )
            .await;
        let to_provider = loc(&headers);
        assert!(
            status == 302 && to_provider.starts_with(&self.issuer),
            "authorize: {status} {to_provider}"
        );
        let t1 = Instant::now();

        // The emulator remembers consent, as Vercel does; each measured
        // flow asks for the page again, as a first sign-in shows it.
        let (status, _, html) = self
            .send(
                http::Method::GET,
                &format!("{to_provider}&prompt=consent"),
                &mut jar,
                None,
            )
            .await;
        assert_eq!(status, 200, "consent page");
        let request_id = request_id_in(&html);
        let t2 = Instant::now();

        let (status, headers, _) = self
            .send(
                http::Method::POST,
                &format!("{}/oauth/authorize/decision", self.issuer),
                &mut jar,
                Some(format!("request_id={request_id}&decision=allow")),
            )
            .await;
        let back = loc(&headers);
        assert!(status == 302, "decision: {status}");
        let callback = back
            .strip_prefix(APP)
            .unwrap_or_else(|| panic!("decision redirected to {back}"));
        let t3 = Instant::now();

        let (status, headers, _) = self
            .send(http::Method::GET, &self.url(1, callback), &mut jar, None)
            .await;
        assert!(
            status == 302
                && loc(&headers) == DEFAULT_RETURN_PATH
                && jar.0.contains_key("access_token"),
            "callback: {status} {}",
            loc(&headers)
        );
        let t4 = Instant::now();
        let s1 = self.emulator.stats();

        self.json_step(http::Method::GET, 4, "/api/user-info", &mut jar, "userInfo")
            .await;
        let t5 = Instant::now();
        let p5 = self.timing.snapshot();
        let s2 = self.emulator.stats();

        // Not part of the flow target: the other two functions, per session.
        self.json_step(
            http::Method::GET,
            3,
            "/api/validate-token",
            &mut jar,
            "Token is valid",
        )
        .await;
        let t6 = Instant::now();
        let s3 = self.emulator.stats();
        self.json_step(
            http::Method::POST,
            2,
            "/api/auth/signout",
            &mut jar,
            "\"revoked\":true",
        )
        .await;
        let t7 = Instant::now();
        let s4 = self.emulator.stats();
        assert!(jar.0.is_empty(), "signout left cookies: {jar:?}");

        let d = |a: Instant, b: Instant| ms(b - a);
        times.total.push(d(t0, t5));
        let provider_ms = (p5.0 - p0.0) as f64 / 1e6;
        times.provider.push(provider_ms);
        times.rest.push(d(t0, t5) - provider_ms);
        times.token.push((p5.1 - p0.1) as f64 / 1e6);
        times.authorize.push(d(t0, t1));
        times.consent_page.push(d(t1, t2));
        times.consent_decision.push(d(t2, t3));
        times.callback.push(d(t3, t4));
        times.user_info.push(d(t4, t5));
        times.validate_token.push(d(t5, t6));
        times.signout.push(d(t6, t7));
        [s0, s1, s2, s3, s4]
    }
}

fn complete_flow(provider: &Provider, rt: &tokio::runtime::Runtime, flows: usize) -> FlowResult {
    let env = function_env(Some(&provider.issuer));
    let mut children = Vec::new();
    let mut ports = Vec::new();
    for f in &FUNCTIONS {
        let port = free_port();
        let mut child = spawn(f, port, &env);
        drop(poll_connect(port, &mut child, f.name));
        children.push(child);
        ports.push(port);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stage = Stage {
        emulator: provider.emulator.clone(),
        timing: provider.timing.clone(),
        issuer: provider.issuer.clone(),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(4)
            .timeout(Duration::from_secs(20))
            .build()
            .expect("reqwest client"),
        ports,
    };
    rt.block_on(async {
        // The first flow, on fresh instances: measured for its upstream
        // requests only, then the RSS after each function's first response.
        let mut discard = FlowTimes::default();
        let [s0, s1, s2, _, _] = stage.flow(&mut discard).await;
        let first_sign_in = stats_delta(&s1, &s0);
        let first_profile = stats_delta(&s2, &s1);
        let rss_first_kb = FUNCTIONS
            .iter()
            .zip(&children)
            .map(|(f, c)| (f.name, proc_status_kb(c.pid(), "VmRSS")))
            .collect();
        for _ in 0..20 {
            stage.flow(&mut discard).await;
        }
        let mut times = FlowTimes::default();
        let (mut sign_in, mut profile, mut validate, mut signout) = (
            Stats::default(),
            Stats::default(),
            Stats::default(),
            Stats::default(),
        );
        let mut max_sign_in = 0;
        let functions_ticks = || {
            children
                .iter()
                .map(|c| proc_cpu_ticks(c.pid()))
                .sum::<u64>()
        };
        let (m0, s0, f0) = (machine_ticks(), self_ticks().0, functions_ticks());
        for _ in 0..flows {
            let [s0, s1, s2, s3, s4] = stage.flow(&mut times).await;
            let one = stats_delta(&s1, &s0);
            max_sign_in = max_sign_in.max(upstream_total(&one));
            stats_add(&mut sign_in, &one);
            stats_add(&mut profile, &stats_delta(&s2, &s1));
            stats_add(&mut validate, &stats_delta(&s3, &s2));
            stats_add(&mut signout, &stats_delta(&s4, &s3));
        }
        let (m1, s1, f1) = (machine_ticks(), self_ticks().0, functions_ticks());
        let other_cores = other_cores(m0, m1, (s1 - s0) + (f1 - f0));
        let hwm_kb = FUNCTIONS
            .iter()
            .zip(&children)
            .map(|(f, c)| (f.name, proc_status_kb(c.pid(), "VmHWM")))
            .collect();
        FlowResult {
            flows,
            times,
            first_sign_in,
            first_profile,
            sign_in,
            profile,
            validate,
            signout,
            max_sign_in,
            rss_first_kb,
            hwm_kb,
            other_cores,
        }
    })
}

// ---------------------------------------------------------------------------
// Machine, sizes, report
// ---------------------------------------------------------------------------

fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

struct Machine {
    cpu: String,
    cores: usize,
    memory: String,
    kernel: String,
    rustc: String,
    wrk: String,
    date: String,
    revision: String,
    /// Cores busy with other work just before each phase.
    background: Vec<(&'static str, f64)>,
    /// Cores other processes used during the cold-start and flow phases.
    during: Vec<(&'static str, f64)>,
}

/// The commit measured, `-dirty` when src/, api/ or the manifest differ from it.
fn revision() -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let head = command_line("git", &["-C", dir, "rev-parse", "--short", "HEAD"]);
    let dirty = Command::new("git")
        .args([
            "-C",
            dir,
            "status",
            "--porcelain",
            "--",
            "src",
            "api",
            "Cargo.toml",
            "Cargo.lock",
        ])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    if dirty { format!("{head}-dirty") } else { head }
}

/// Cores busy over one second, whoever uses them.
fn busy_cores() -> f64 {
    let (b0, t0) = machine_ticks();
    std::thread::sleep(Duration::from_secs(1));
    let (b1, t1) = machine_ticks();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    (b1 - b0) as f64 / (t1 - t0).max(1) as f64 * cores
}

/// Waits until other processes leave the machine alone (under 0.15 cores
/// busy over a second), at most `BENCH_QUIET_WAIT_SECS` (default 180);
/// returns the last figure, which the report shows.
fn wait_for_quiet(phase: &str) -> f64 {
    let limit = Duration::from_secs(env_usize("BENCH_QUIET_WAIT_SECS", 180) as u64);
    let start = Instant::now();
    loop {
        let cores = busy_cores();
        if cores < 0.15 {
            return cores;
        }
        if start.elapsed() >= limit {
            eprintln!("{phase}: the machine is still busy ({cores:.2} cores); measuring anyway");
            return cores;
        }
        eprintln!("{phase}: waiting for a quiet machine ({cores:.2} cores busy with other work)");
    }
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".to_owned());
    let virt = command_line("systemd-detect-virt", &["--vm"]);
    let hypervisor = cpuinfo.contains(" hypervisor");
    Machine {
        cpu: if hypervisor {
            format!(
                "{cpu} (virtual machine{})",
                if virt != "unknown" && virt != "none" {
                    format!(", {virt}")
                } else {
                    String::new()
                }
            )
        } else {
            cpu
        },
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
        rustc: command_line("rustc", &["-V"]),
        wrk: Command::new("wrk")
            .arg("-v")
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .next()
                    .map(|l| l.split(" [").next().unwrap_or(l).to_owned())
            })
            .unwrap_or_else(|| "wrk".to_owned()),
        date: command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        revision: revision(),
        background: Vec::new(),
        during: Vec::new(),
    }
}

struct Size {
    function: &'static str,
    bytes: u64,
    stripped: bool,
    file: String,
}

fn sizes() -> Vec<Size> {
    FUNCTIONS
        .iter()
        .map(|f| {
            let bytes = std::fs::metadata(f.path()).map(|m| m.len()).unwrap_or(0);
            let file = command_line("file", &["-b", &f.path()]);
            Size {
                function: f.name,
                bytes,
                stripped: file.contains(", stripped"),
                file,
            }
        })
        .collect()
}

/// Everything from this line on in BENCHMARKS.md is written by hand (the
/// analysis of missed targets) and kept when the benchmark rewrites the file.
const ANALYSIS_MARKER: &str = "<!-- Analysis: written by hand, kept by the benchmark -->";

fn pass(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

/// KiB (as /proc reports them) to MB (10^6 bytes), the unit of the targets.
fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 * 1024.0 / 1e6)
}

fn mib_bytes(b: u64) -> String {
    format!("{:.2} MB", b as f64 / 1e6)
}

/// Under 10 MB (10^6 bytes) resident.
fn rss_ok(kb: u64) -> bool {
    kb * 1024 < 10_000_000
}

/// Under 3 MB (10^6 bytes) on disk.
fn size_ok(bytes: u64) -> bool {
    bytes < 3_000_000
}

#[allow(clippy::too_many_arguments)]
fn report(
    m: &Machine,
    cold: &[ColdResult],
    load: &LoadResult,
    flow: &FlowResult,
    sizes: &[Size],
    runs: usize,
    wall: Duration,
) -> String {
    let mut o = String::new();
    let cold_of = |mode: &str, name: &str| {
        cold.iter()
            .find(|c| c.mode == mode && c.function == name)
            .expect("cold result")
    };
    let primary = &load.primary;
    let peak_kb = |name: &str| {
        let rss = flow
            .hwm_kb
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, k)| *k);
        if name == "authorize" {
            rss.max(load.hwm_kb)
        } else {
            rss
        }
    };
    let worst_peak = FUNCTIONS.iter().map(|f| peak_kb(f.name)).max().unwrap_or(0);
    let worst_size = sizes.iter().map(|s| s.bytes).max().unwrap_or(0);
    let worst_cold_first = FUNCTIONS
        .iter()
        .map(|f| cold_of("first", f.name).total.median)
        .fold(0.0, f64::max);
    let worst_cold_startup = FUNCTIONS
        .iter()
        .map(|f| cold_of("startup", f.name).total.median)
        .fold(0.0, f64::max);
    let flow_total = summarize(&flow.times.total);

    let _ = writeln!(o, "# Benchmarks\n");
    let _ = writeln!(
        o,
        "Generated by `benches/functions.rs`; do not edit by hand, run it again.\n"
    );
    let _ = writeln!(
        o,
        "## Command\n\n```sh\nCARGO_TARGET_DIR=target/h-bench cargo bench --bench functions\n```\n"
    );
    let _ = writeln!(
        o,
        "Release settings (the `bench` profile inherits `release`: fat LTO, 1 codegen unit, stripped). \
         Needs `wrk` (`apt-get install wrk`). This run: {runs} cold starts per function and mode, \
         {} complete flows, wrk {} s; the whole benchmark took {:.0} s.\n",
        flow.flows,
        std::env::var("BENCH_WRK_SECS").unwrap_or_else(|_| "10".into()),
        wall.as_secs_f64()
    );
    let _ = writeln!(o, "## Machine\n");
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(o, "| CPU | {} |", m.cpu);
    let _ = writeln!(o, "| Cores | {} |", m.cores);
    let _ = writeln!(o, "| Memory | {} |", m.memory);
    let _ = writeln!(o, "| Kernel | Linux {} |", m.kernel);
    let _ = writeln!(o, "| Rust | {} |", m.rustc);
    let _ = writeln!(o, "| Load tool | {} |", m.wrk);
    let _ = writeln!(o, "| Date | {} |", m.date);
    let _ = writeln!(o, "| Commit measured | {} |", m.revision);
    let _ = writeln!(
        o,
        "| Other processes during the phases | {}; wrk: see the warm-load table |",
        m.during
            .iter()
            .map(|(phase, cores)| format!("{phase}: {cores:.2} cores"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        o,
        "| Other load before each phase | {} |\n",
        m.background
            .iter()
            .map(|(phase, cores)| format!("{phase}: {cores:.2} cores"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let _ = writeln!(o, "## Summary\n");
    let _ = writeln!(
        o,
        "Reference: the Next.js version of Vercel's guide on this 2-core machine in production mode.\n"
    );
    let _ = writeln!(
        o,
        "| Figure | Rust functions | Target | Reference (Next.js) | |\n|---|---|---|---|---|"
    );
    let _ = writeln!(
        o,
        "| Cold start, route's first response incl. its provider calls, median, worst function | {:.2} ms | < 5 ms every function | ~350 ms (first redirect) | {} |",
        worst_cold_first,
        pass(worst_cold_first < 5.0)
    );
    let _ = writeln!(
        o,
        "| Cold start, no provider call (startup + response), median, worst function | {:.2} ms | < 5 ms every function | ~350 ms | {} |",
        worst_cold_startup,
        pass(worst_cold_startup < 5.0)
    );
    let _ = writeln!(
        o,
        "| Cold start of authorize to its redirect (default issuer, no provider call), median | {:.2} ms | < 5 ms | ~350 ms | {} |",
        cold_of("startup", "authorize").total.median,
        pass(cold_of("startup", "authorize").total.median < 5.0)
    );
    let _ = writeln!(
        o,
        "| Authorize throughput, wrk -t{} -c{} -d{}s, median of {} runs (range) | {:.0} req/s ({:.0}–{:.0}) | ≥ 44,000 req/s | ~2,200 req/s | {} |",
        primary.threads,
        primary.connections,
        std::env::var("BENCH_WRK_SECS").unwrap_or_else(|_| "10".into()),
        load.primary_rps.len(),
        primary.rps,
        load.primary_rps.iter().copied().fold(f64::MAX, f64::min),
        load.primary_rps.iter().copied().fold(0.0, f64::max),
        pass(primary.rps >= 44_000.0)
    );
    let _ = writeln!(
        o,
        "| Authorize latency p50 / p99 (that run) | {:.2} / {:.2} ms | p99 < 2 ms | 6.4 / 16 ms | {} |",
        primary.p50_ms,
        primary.p99_ms,
        pass(primary.p99_ms < 2.0)
    );
    let _ = writeln!(
        o,
        "| RSS after first response, worst function | {} | | ~90 MB | |",
        mb(flow
            .rss_first_kb
            .iter()
            .map(|(_, k)| *k)
            .max()
            .unwrap_or(0)
            .max(load.rss_first_kb))
    );
    let _ = writeln!(
        o,
        "| Peak RSS (VmHWM) under load, worst function | {} | < 10 MB every function | ~240 MB | {} |",
        mb(worst_peak),
        pass(rss_ok(worst_peak))
    );
    let _ = writeln!(
        o,
        "| Stripped binary size, largest function | {} | < 3 MB every function | | {} |",
        mib_bytes(worst_size),
        pass(size_ok(worst_size) && sizes.iter().all(|s| s.stripped))
    );
    let _ = writeln!(
        o,
        "| Complete flow (authorize, consent, callback, user-info), median / p99 | {:.2} / {:.2} ms | < 5 ms | ~13 ms | {} |",
        flow_total.median,
        flow_total.p99,
        pass(flow_total.median < 5.0)
    );
    let per_sign_in = |s: &Stats, n: usize| {
        format!(
            "token {:.2}, jwks {:.2}, discovery {:.2}",
            s.token as f64 / n as f64,
            s.jwks as f64 / n as f64,
            s.discovery as f64 / n as f64
        )
    };
    let warm_ok = flow.sign_in.token == flow.flows as u64
        && flow.sign_in.jwks == 0
        && flow.sign_in.discovery == 0
        && flow.max_sign_in <= 2;
    let _ = writeln!(
        o,
        "| Provider requests per warm sign-in (mean over {} flows) | {} | 1 token + ≤ 1 JWKS per instance, no discovery (default issuer) | | {} |",
        flow.flows,
        per_sign_in(&flow.sign_in, flow.flows),
        pass(
            warm_ok
                && cold_of("first", "callback").upstream.jwks <= 1
                && cold_of("first", "callback").upstream.token == 1
        )
    );
    let _ = writeln!(
        o,
        "| Provider requests per warm profile view | userinfo {:.2} (others {}) | | | |\n",
        flow.profile.userinfo as f64 / flow.flows as f64,
        upstream_total(&flow.profile) - flow.profile.userinfo
    );

    let _ = writeln!(o, "## Cold start\n");
    let _ = writeln!(
        o,
        "Spawn of the release binary (`VERCEL_DEV_PORT`, no `VERCEL_IPC_PATH`) → poll-connect to 127.0.0.1 → \
         the route's request (`Connection: close`) → the complete response read. {runs} runs each after one \
         unmeasured run (binary in the page cache). \"listening\" is spawn → first accepted connect. \
         Provider requests are counted by the emulator for each run and were identical in every run.\n"
    );
    let _ = writeln!(
        o,
        "| Function | Mode | Request | median | p10 | p90 | max | listening (median) | RSS after response (median) | Provider requests per cold start |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for mode in ["startup", "first"] {
        for f in &FUNCTIONS {
            let c = cold_of(mode, f.name);
            let provider_calls = if mode == "startup" {
                if f.name == "authorize" {
                    "none (Vercel endpoints built in)".to_owned()
                } else {
                    "none (rejected before any)".to_owned()
                }
            } else {
                upstream(&c.upstream)
            };
            let _ = writeln!(
                o,
                "| {} | {} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {} | {} |",
                c.function,
                if mode == "startup" {
                    "no provider call, default issuer"
                } else {
                    "first real response, emulator issuer"
                },
                c.request,
                c.total.median,
                c.total.p10,
                c.total.p90,
                c.total.max,
                c.listen.median,
                mb(c.rss_kb.median as u64),
                provider_calls
            );
        }
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "## Warm load: `GET /api/auth/authorize`\n");
    let _ = writeln!(
        o,
        "Default issuer, so authorize makes no provider call: every request makes a fresh state, nonce and \
         PKCE verifier, the flow cookie and the 302. wrk runs on the same 2 cores as the function \
         (current_thread tokio runtime: one core at most). \"function CPU\", \"wrk CPU\" and \"other CPU\" \
         (everything else on the machine) are cores busy during the run, from /proc; a run in which other \
         processes took more than 0.15 cores is run again (at most twice). The primary configuration runs \
         {PRIMARY_RUNS} times and the run with the median req/s is the one in the summary: this VM's throughput \
         moves by ±10–15 % between identical undisturbed runs.\n"
    );
    let _ = writeln!(
        o,
        "| Run | wrk | req/s | p50 | p90 | p99 | requests | function CPU | wrk CPU | other CPU |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in &load.runs {
        let _ = writeln!(
            o,
            "| {} | -t{} -c{} | {:.0} | {:.3} ms | {:.3} ms | {:.3} ms | {} | {:.2} cores | {:.2} cores | {:.2} cores |",
            r.label,
            r.threads,
            r.connections,
            r.rps,
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.requests,
            r.server_cores,
            r.wrk_cores,
            r.other_cores
        );
    }
    let _ = writeln!(
        o,
        "\nThe authorize handler alone (the library's `Auth::authorize`, in process, no HTTP): **{:.2} µs** per request, \
         i.e. {:.0} req/s on one core if nothing else cost anything.\n",
        load.handler_us,
        1e6 / load.handler_us
    );

    let _ = writeln!(o, "## Memory\n");
    let _ = writeln!(
        o,
        "VmRSS from /proc/<pid>/status after the first response; peak is VmHWM after the load \
         (authorize: the wrk runs above; the others: {} complete flows plus validate-token and signout per flow).\n",
        flow.flows
    );
    let _ = writeln!(
        o,
        "| Function | RSS after first response | Peak RSS (VmHWM) | Target < 10 MB |\n|---|---|---|---|"
    );
    for f in &FUNCTIONS {
        let first = if f.name == "authorize" {
            load.rss_first_kb
        } else {
            flow.rss_first_kb
                .iter()
                .find(|(n, _)| *n == f.name)
                .map_or(0, |(_, k)| *k)
        };
        let peak = peak_kb(f.name);
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            f.name,
            mb(first),
            mb(peak),
            pass(rss_ok(peak))
        );
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "## Binary size\n");
    let _ = writeln!(
        o,
        "| Function | Size | Stripped (`file`) | Target < 3 MB |\n|---|---|---|---|"
    );
    for s in sizes {
        let _ = writeln!(
            o,
            "| {} | {} ({} bytes) | {} | {} |",
            s.function,
            mib_bytes(s.bytes),
            s.bytes,
            if s.stripped { "yes" } else { "NO" },
            pass(size_ok(s.bytes) && s.stripped)
        );
    }
    let _ = writeln!(
        o,
        "\n`file`: {}\n",
        sizes.first().map_or("", |s| s.file.as_str())
    );

    let _ = writeln!(o, "## Complete flow\n");
    let _ = writeln!(
        o,
        "The five functions warm, emulator issuer. Per flow, like a browser with a cookie jar \
         (reqwest, keep-alive, no redirects followed): GET authorize → GET the emulator's consent page → \
         POST Allow → GET callback (token request, ID token verified with the cached JWKS) → GET user-info \
         (userinfo request). {} flows after 21 unmeasured ones. validate-token and signout run after each flow \
         and are timed separately (not part of the flow figure).\n",
        flow.flows
    );
    let _ = writeln!(
        o,
        "| Step | median | p90 | p99 | mean |\n|---|---|---|---|---|"
    );
    for (label, v) in [
        ("**Complete flow**", &flow.times.total),
        ("authorize (function)", &flow.times.authorize),
        ("consent page (emulator)", &flow.times.consent_page),
        ("consent Allow (emulator)", &flow.times.consent_decision),
        (
            "callback (function + token at emulator)",
            &flow.times.callback,
        ),
        (
            "user-info (function + userinfo at emulator)",
            &flow.times.user_info,
        ),
        (
            "validate-token (function + introspection)",
            &flow.times.validate_token,
        ),
        ("signout (function + 2 revocations)", &flow.times.signout),
        (
            "flow: time inside the emulator's handler",
            &flow.times.provider,
        ),
        (
            "flow: of which the token endpoint (signs the ID token)",
            &flow.times.token,
        ),
        (
            "flow: the rest (functions, loopback HTTP, client)",
            &flow.times.rest,
        ),
    ] {
        let s = summarize(v);
        let _ = writeln!(
            o,
            "| {label} | {:.3} ms | {:.3} ms | {:.3} ms | {:.3} ms |",
            s.median, s.p90, s.p99, s.mean
        );
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "## Provider requests\n");
    let _ = writeln!(
        o,
        "Counted by the emulator per endpoint (deltas around each step). Function → provider requests only; \
         the consent page and decision are the browser's (2 per sign-in, not listed).\n"
    );
    let _ = writeln!(o, "| When | Provider requests |\n|---|---|");
    let n = flow.flows as f64;
    let mean = |s: &Stats| {
        format!(
            "discovery {:.2}, token {:.2}, jwks {:.2}, userinfo {:.2}, introspect {:.2}, revoke {:.2}",
            s.discovery as f64 / n,
            s.token as f64 / n,
            s.jwks as f64 / n,
            s.userinfo as f64 / n,
            s.introspect as f64 / n,
            s.revoke as f64 / n
        )
    };
    let _ = writeln!(
        o,
        "| Warm sign-in (authorize + callback), mean per flow | {} |",
        mean(&flow.sign_in)
    );
    let _ = writeln!(
        o,
        "| Warm sign-in, most in one flow | {} |",
        flow.max_sign_in
    );
    let _ = writeln!(
        o,
        "| Warm profile view (user-info), mean | {} |",
        mean(&flow.profile)
    );
    let _ = writeln!(
        o,
        "| Warm validate-token, mean | {} |",
        mean(&flow.validate)
    );
    let _ = writeln!(o, "| Warm signout, mean | {} |", mean(&flow.signout));
    let _ = writeln!(
        o,
        "| First sign-in on fresh authorize + callback instances | {} |",
        upstream(&flow.first_sign_in)
    );
    let _ = writeln!(
        o,
        "| First profile view on a fresh user-info instance | {} |",
        upstream(&flow.first_profile)
    );
    for f in &FUNCTIONS {
        let _ = writeln!(
            o,
            "| Cold {} (its first request) | {} |",
            f.name,
            upstream(&cold_of("first", f.name).upstream)
        );
    }
    let _ = writeln!(
        o,
        "| Cold authorize, default issuer | none: `ProviderMetadata::vercel()` is built in (the 302 goes to https://vercel.com/oauth/authorize without any request) |\n"
    );
    o
}

fn print_table(cold: &[ColdResult], load: &LoadResult, flow: &FlowResult, sizes: &[Size]) {
    println!();
    println!(
        "{:<15} {:>9} {:>9} {:>9} {:>9} {:>9}   provider calls (first)",
        "cold start ms", "startup", "p10", "p90", "first", "p90"
    );
    for f in &FUNCTIONS {
        let a = cold
            .iter()
            .find(|c| c.mode == "startup" && c.function == f.name)
            .unwrap();
        let b = cold
            .iter()
            .find(|c| c.mode == "first" && c.function == f.name)
            .unwrap();
        println!(
            "{:<15} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}   {}",
            f.name,
            a.total.median,
            a.total.p10,
            a.total.p90,
            b.total.median,
            b.total.p90,
            upstream(&b.upstream)
        );
    }
    println!();
    for r in &load.runs {
        println!(
            "wrk -t{} -c{:<4} {:>9.0} req/s  p50 {:.3} ms  p99 {:.3} ms  function {:.2} cores, wrk {:.2}, other {:.2}",
            r.threads,
            r.connections,
            r.rps,
            r.p50_ms,
            r.p99_ms,
            r.server_cores,
            r.wrk_cores,
            r.other_cores
        );
    }
    println!(
        "authorize handler in process (the library linked into this bench): {:.2} µs/request",
        load.handler_us
    );
    println!();
    println!(
        "{:<15} {:>10} {:>10} {:>12}",
        "function", "RSS first", "peak", "size"
    );
    for (i, f) in FUNCTIONS.iter().enumerate() {
        let first = if i == 0 {
            load.rss_first_kb
        } else {
            flow.rss_first_kb[i].1
        };
        let peak = if i == 0 {
            load.hwm_kb.max(flow.hwm_kb[0].1)
        } else {
            flow.hwm_kb[i].1
        };
        println!(
            "{:<15} {:>10} {:>10} {:>12}",
            f.name,
            mb(first),
            mb(peak),
            mib_bytes(sizes[i].bytes)
        );
    }
    println!();
    let t = summarize(&flow.times.total);
    println!(
        "complete flow: median {:.3} ms, p99 {:.3} ms ({} flows)",
        t.median, t.p99, t.n
    );
    println!(
        "per warm sign-in: {}; per profile view: {}",
        upstream(&flow.sign_in),
        upstream(&flow.profile)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter we do
    // not support: everything runs.
    let runs = env_usize("BENCH_COLD_RUNS", 50);
    let flows = env_usize("BENCH_FLOWS", 500);
    let wrk_secs = env_usize("BENCH_WRK_SECS", 10) as u64;
    wrk_available();
    for f in &FUNCTIONS {
        assert!(
            std::path::Path::new(&f.path()).exists(),
            "{} is not built at {}",
            f.name,
            f.path()
        );
    }
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut machine = machine();
    let sizes = sizes();
    eprintln!("emulator: starting (RSA key generation)…");
    let provider = start_provider();
    machine
        .background
        .push(("cold starts", wait_for_quiet("cold starts")));
    eprintln!("cold starts: {runs} runs × 5 functions × 2 modes…");
    let (m0, s0) = (machine_ticks(), self_ticks());
    let cold = cold_starts(&provider, &rt, runs);
    let (m1, s1) = (machine_ticks(), self_ticks());
    let own = (s1.0 - s0.0) + (s1.1 - s0.1);
    machine
        .during
        .push(("cold starts", other_cores(m0, m1, own)));
    machine
        .background
        .push(("warm load", wait_for_quiet("warm load")));
    eprintln!("warm load: wrk on authorize…");
    let load = warm_load(wrk_secs, &rt);
    machine
        .background
        .push(("complete flow", wait_for_quiet("complete flow")));
    eprintln!("complete flow: {flows} flows…");
    let flow = complete_flow(&provider, &rt, flows);
    machine.during.push(("complete flow", flow.other_cores));
    let wall = started.elapsed();
    print_table(&cold, &load, &flow, &sizes);
    let markdown = report(&machine, &cold, &load, &flow, &sizes, runs, wall);
    let other_binaries = std::env::var("BENCH_BIN_DIR").is_ok_and(|d| !d.is_empty());
    if std::env::var("BENCH_NO_WRITE").is_ok_and(|v| v == "1") || other_binaries {
        println!("\n(BENCH_NO_WRITE=1 or BENCH_BIN_DIR set: BENCHMARKS.md left alone)");
    } else {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md");
        // The hand-written analysis below the marker survives a new run.
        let kept = std::fs::read_to_string(path)
            .ok()
            .and_then(|old| old.find(ANALYSIS_MARKER).map(|i| old[i..].to_owned()))
            .unwrap_or_else(|| format!("{ANALYSIS_MARKER}\n"));
        std::fs::write(path, format!("{markdown}{kept}")).expect("write BENCHMARKS.md");
        println!("\nwrote {path}");
    }
}
