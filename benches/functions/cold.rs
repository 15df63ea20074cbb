//! Cold starts: spawn → poll-connect → the route's request → the complete
//! response, for every function, in two modes: start-up only (default
//! issuer, a request answered without any provider call), and the route's
//! real first response against the emulator (its provider calls included).
//! Again with `REDIS_URL` set: every function start-up only, session's
//! first response too (with the store's commands and round trips).

use std::time::{Duration, Instant};

use sign_in_with_vercel::SESSION_COOKIE;
use sign_in_with_vercel_emulator::Stats;
use testkit::free_port;

use crate::provider::{self, Provider};
use crate::quantiles::{Summary, ms, summarize};
use crate::raw::{self, Raw};
use crate::store::{Counts, Store};
use crate::{Function, procfs};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Default issuer, no cookie: start-up and an answer with no provider call.
    Startup,
    /// Emulator issuer, the route's real request: its first provider calls.
    First,
}

pub struct ColdResult {
    pub function: &'static str,
    pub mode: Mode,
    pub request: String,
    pub total: Summary,
    pub listen: Summary,
    pub rss_kb: Summary,
    pub upstream: Stats,
    /// Run with `REDIS_URL`: what the store counted, all runs together.
    pub store: Option<Counts>,
}

struct ColdRun {
    total_ms: f64,
    listen_ms: f64,
    rss_kb: u64,
    upstream: Stats,
    store: Counts,
    response: Raw,
}

fn cold_run(
    function: &Function,
    env: &[(&'static str, String)],
    request: &[u8],
    provider: &Provider,
    store: Option<&Store>,
) -> ColdRun {
    let port = free_port();
    let store_before = store.map(Store::counts);
    let before = provider.emulator.stats();
    let t0 = Instant::now();
    let mut child = procfs::spawn(function, port, env);
    let mut stream = child.connect(port, Duration::from_secs(10));
    let listen = t0.elapsed();
    let response = raw::exchange(&mut stream, request)
        .unwrap_or_else(|e| panic!("{}: no response on a cold start: {e}", function.name));
    let total = t0.elapsed();
    let rss_kb = procfs::status_kb(child.pid(), "VmRSS");
    let after = provider.emulator.stats();
    let store = store
        .zip(store_before)
        .map_or_else(Counts::default, |(s, before)| s.since(before));
    drop(child);
    ColdRun {
        total_ms: ms(total),
        listen_ms: ms(listen),
        rss_kb,
        upstream: provider::delta(&after, &before),
        store,
        response,
    }
}

/// What one series runs: the request (made afresh per run), what the
/// answer must be, and how the table describes it.
struct Series<'a> {
    mode: Mode,
    env: Vec<(&'static str, String)>,
    make_request: Box<dyn FnMut() -> Vec<u8> + 'a>,
    check: Box<dyn Fn(&Raw) -> bool + 'a>,
    label: String,
}

fn run_series(
    function: &Function,
    runs: usize,
    provider: &Provider,
    store: &Store,
    mut s: Series,
) -> ColdResult {
    let store = function.store.as_ref().map(|_| store);
    let mut store_counts = Counts::default();
    let mut totals = Vec::new();
    let mut listens = Vec::new();
    let mut rss = Vec::new();
    let mut upstream_first = None;
    let mut answer = String::new();
    // One unmeasured run first: the binary into the page cache.
    for i in 0..=runs {
        let request = (s.make_request)();
        let run = cold_run(function, &s.env, &request, provider, store);
        assert!(
            (s.check)(&run.response),
            "{}: unexpected cold-start response: {}",
            function.name,
            run.response.describe()
        );
        if i == 0 {
            answer = describe_answer(&run.response).replace(&provider.issuer, "<emulator>");
            continue;
        }
        totals.push(run.total_ms);
        listens.push(run.listen_ms);
        rss.push(run.rss_kb as f64);
        store_counts.add(run.store);
        match &upstream_first {
            None => upstream_first = Some(run.upstream),
            Some(first) => assert_eq!(
                first, &run.upstream,
                "{}: provider requests differ between cold runs",
                function.name
            ),
        }
    }
    ColdResult {
        function: function.name,
        mode: s.mode,
        request: format!("{} → {answer}", s.label),
        total: summarize(&totals),
        listen: summarize(&listens),
        rss_kb: summarize(&rss),
        upstream: upstream_first.unwrap_or_default(),
        store: store.map(|_| store_counts),
    }
}

/// `302 /auth/error`, `401`, `200 {"user":null}`: the answer in short.
fn describe_answer(r: &Raw) -> String {
    match r.header("location") {
        Some(l) => format!("{} {}", r.status, l.split('?').next().unwrap_or(l)),
        None if r.body.len() <= 40 => format!("{} {}", r.status, r.body_text()),
        None => r.status.to_string(),
    }
}

/// Start-up only: the route's method, no cookie, production configuration
/// (default issuer: endpoints built in). Any non-5xx answer; authorize must
/// redirect to Vercel.
fn startup(function: &Function) -> Series<'static> {
    let request = raw::request(function.method(), function.path(), None);
    let is_authorize = function.serves(&sign_in_with_vercel::AUTHORIZE);
    let is_floor = function.route.is_none();
    Series {
        mode: Mode::Startup,
        env: function.env(None),
        make_request: Box::new(move || request.clone()),
        check: Box::new(move |r: &Raw| {
            r.status < 500
                && (!is_floor || r.status == 302)
                && (!is_authorize
                    || r.header("location")
                        .is_some_and(|l| l.starts_with("https://vercel.com/oauth/authorize?")))
        }),
        label: format!("{}, no cookie", function.method()),
    }
}

/// The route's real first response against the emulator: authorize to the
/// consent page, callback with a code and its flow cookie, every other
/// route with a session (a fresh one per run: signout revokes it).
fn first<'a>(
    function: &Function,
    provider: &'a Provider,
    rt: &'a tokio::runtime::Runtime,
) -> Series<'a> {
    let route = function
        .route
        .expect("the floor has no first response of a route");
    let env = function.env(Some(&provider.issuer));
    let session_prefix = format!("{SESSION_COOKIE}.");
    if route.path(&crate::PATHS) == sign_in_with_vercel::AUTHORIZE.path(&crate::PATHS) {
        let consent_page = format!("{}/oauth/authorize?", provider.issuer);
        Series {
            mode: Mode::First,
            env,
            make_request: Box::new(move || raw::request("GET", route.path(&crate::PATHS), None)),
            check: Box::new(move |r: &Raw| {
                r.status == 302
                    && r.header("location")
                        .is_some_and(|l| l.starts_with(&consent_page))
            }),
            label: "GET".to_owned(),
        }
    } else if route.path(&crate::PATHS) == sign_in_with_vercel::CALLBACK.path(&crate::PATHS) {
        Series {
            mode: Mode::First,
            env,
            make_request: Box::new(move || {
                let (path, jar) = provider.started_sign_in(rt);
                raw::request("GET", &path, jar.header().as_deref())
            }),
            check: Box::new(move |r: &Raw| {
                r.status == 302
                    && r.header("location") == Some(crate::PATHS.default_return.as_str())
                    && r.set_cookies().any(|c| c.starts_with(&session_prefix))
            }),
            label: "GET ?code&state + flow cookie (made by authorize, consented)".to_owned(),
        }
    } else {
        Series {
            mode: Mode::First,
            env,
            make_request: Box::new(move || {
                let jar = provider.signed_in(rt);
                raw::request(
                    route.method.as_str(),
                    route.path(&crate::PATHS),
                    jar.header().as_deref(),
                )
            }),
            check: Box::new(|r: &Raw| r.status == 200 && !r.body_text().contains("\"user\":null")),
            label: format!("{} + session cookie", route.method),
        }
    }
}

/// Every function in both modes, the floor (no route) start-up only;
/// each function of `with_store` (run with `REDIS_URL`) start-up only
/// after the same function without, session's first response too.
pub fn run(
    functions: &[&Function],
    with_store: &[Function],
    store: &Store,
    provider: &Provider,
    rt: &tokio::runtime::Runtime,
    runs: usize,
) -> Vec<ColdResult> {
    let stored = |f: &Function| {
        with_store
            .iter()
            .find(move |s| f.route.is_some_and(|r| s.serves(r)))
    };
    let mut results = Vec::new();
    for f in functions {
        results.push(run_series(f, runs, provider, store, startup(f)));
        if let Some(s) = stored(f) {
            results.push(run_series(s, runs, provider, store, startup(s)));
        }
    }
    for f in functions.iter().filter(|f| f.route.is_some()) {
        results.push(run_series(f, runs, provider, store, first(f, provider, rt)));
        if let Some(s) = stored(f).filter(|s| s.serves(&sign_in_with_vercel::SESSION)) {
            results.push(run_series(s, runs, provider, store, first(s, provider, rt)));
        }
    }
    results
}

/// The result of `function` in `mode`.
pub fn of<'a>(cold: &'a [ColdResult], mode: Mode, function: &str) -> &'a ColdResult {
    cold.iter()
        .find(|c| c.mode == mode && c.function == function)
        .expect("a cold result per function and mode")
}
