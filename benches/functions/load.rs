//! Warm load with wrk: authorize (no provider call, default issuer) and
//! the protected `session` function with a valid session cookie (emulator
//! issuer, so any provider call it made would be counted), their primary
//! runs interleaved so that both see the same machine; session again with
//! `REDIS_URL` set (the shared store), interleaved with them.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sign_in_with_vercel::{AUTHORIZE, Auth, SESSION};
use sign_in_with_vercel_emulator::Stats;
use testkit::{Process, free_port};

use crate::provider::{self, Provider, app_request};
use crate::store::{self, Store};
use crate::{Function, function, function_config, function_env, machine, procfs, raw};

/// Runs of each primary configuration, authorize and session alternating.
pub const PRIMARY_RUNS: usize = 3;
/// A run in which other processes took more than this many cores is run again.
pub const DISTURBED: f64 = 0.15;

pub fn wrk_available() {
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
pub struct WrkResult {
    pub function: &'static str,
    pub label: String,
    pub threads: u32,
    pub connections: u32,
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    /// Cores the function used during the run.
    pub server_cores: f64,
    /// Cores wrk used.
    pub wrk_cores: f64,
    /// Cores the rest of the machine used (other processes, interrupts).
    pub other_cores: f64,
}

/// The request a binary is compared with the floor on: the same request
/// for its cold start, its wrk run and its instruction count. `session`
/// gets a live session cookie (the protected request, emulator issuer);
/// every other function its route's request with no cookie and the
/// default issuer: authorize's redirect, and for the others the answer
/// they give before any provider call (each real request of theirs needs
/// a fresh code or calls the provider).
pub struct Probe {
    pub env: Vec<(&'static str, String)>,
    pub cookie: Option<String>,
    pub label: String,
}

pub fn probe(function: &Function, provider: &Provider, rt: &tokio::runtime::Runtime) -> Probe {
    if function.serves(&SESSION) {
        let jar = provider.signed_in(rt);
        return Probe {
            env: function.env(Some(&provider.issuer)),
            cookie: jar.header(),
            label: "GET + live session cookie".to_owned(),
        };
    }
    Probe {
        env: function.env(None),
        cookie: None,
        label: format!("{}, no cookie", function.method()),
    }
}

/// One function instance under load.
struct Target {
    name: &'static str,
    url: String,
    cookie: Option<String>,
    process: Process,
    /// The status of its first answer, which wrk must see on every request.
    status: u16,
    /// Its method: wrk sends it, with what a browser's `POST` carries.
    method: &'static str,
}

impl Target {
    fn start(function: &Function, env: &[(&'static str, String)], cookie: Option<String>) -> Self {
        let port = free_port();
        let mut process = procfs::spawn(function, port, env);
        let mut stream = process.connect(port, Duration::from_secs(10));
        let first = raw::exchange(
            &mut stream,
            &raw::request(function.method(), function.path(), cookie.as_deref()),
        )
        .expect("first response");
        assert!(
            first.status < 500,
            "{}: {}",
            function.name,
            first.describe()
        );
        Self {
            name: function.name,
            url: format!("http://127.0.0.1:{port}{}", function.path()),
            cookie,
            process,
            status: first.status,
            method: function.method(),
        }
    }

    fn wrk(&self, label: &str, threads: u32, connections: u32, secs: u64) -> WrkResult {
        let mut args = vec![
            format!("-t{threads}"),
            format!("-c{connections}"),
            format!("-d{secs}s"),
            "--latency".to_owned(),
        ];
        if let Some(cookie) = &self.cookie {
            args.push("-H".to_owned());
            args.push(format!("Cookie: {cookie}"));
        }
        let script = wrk_script(self.method);
        args.push("-s".to_owned());
        args.push(script.display().to_string());
        args.push(self.url.clone());
        let mut result = run_wrk(&args, self.process.pid(), self.status >= 400);
        let _ = std::fs::remove_file(script);
        result.function = self.name;
        result.label = label.to_owned();
        (result.threads, result.connections) = (threads, connections);
        result
    }

    /// [`Target::wrk`] again (at most twice) while other processes took
    /// more than [`DISTURBED`] cores: on 2 cores such a run measures the
    /// neighbours.
    fn wrk_undisturbed(&self, label: &str, threads: u32, connections: u32, secs: u64) -> WrkResult {
        let mut result = self.wrk(label, threads, connections, secs);
        for _ in 0..2 {
            if result.other_cores <= DISTURBED {
                break;
            }
            eprintln!(
                "wrk {} {label}: other processes took {:.2} cores; running it again",
                self.name, result.other_cores
            );
            machine::wait_for_quiet("warm load");
            result = self.wrk(label, threads, connections, secs);
        }
        result
    }
}

/// A wrk script that sends `method`, a `POST` with the `Origin` and the
/// empty body a browser's sign-out carries, as [`raw::keep_alive`] writes
/// it. It sets the request once: no Lua runs per request (a `response`
/// hook would, and would make wrk, not the function, the bottleneck).
fn wrk_script(method: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("bench-wrk-{}-{method}.lua", std::process::id()));
    let post = if method == "POST" {
        format!(
            "wrk.headers[\"Origin\"] = \"{}\"\nwrk.headers[\"Content-Length\"] = \"0\"\n",
            crate::APP
        )
    } else {
        String::new()
    };
    std::fs::write(&path, format!("wrk.method = \"{method}\"\n{post}")).expect("the wrk script");
    path
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

/// Runs wrk with `args` and reads its figures, with the CPU the server
/// (`server_pid`), wrk and everything else used meanwhile.
/// `errors_expected`: every answer is a 4xx, which wrk counts as errors.
fn run_wrk(args: &[String], server_pid: u32, errors_expected: bool) -> WrkResult {
    let ticks = procfs::clock_ticks_per_sec();
    let server_before = procfs::cpu_ticks(server_pid);
    let machine_before = procfs::machine_ticks();
    let t0 = Instant::now();
    let mut child = Command::new("wrk")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wrk");
    // wrk's own CPU, sampled until it exits (a zombie keeps its totals
    // until reaped), to tell the load tool from other processes.
    let mut wrk_ticks = 0;
    loop {
        wrk_ticks = wrk_ticks.max(procfs::cpu_ticks(child.id()));
        if child.try_wait().expect("wrk").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("wrk");
    let wall = t0.elapsed().as_secs_f64();
    let server_after = procfs::cpu_ticks(server_pid);
    let machine_cores = procfs::busy(machine_before, procfs::machine_ticks());
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        (errors_expected || !text.contains("Non-2xx or 3xx")) && !text.contains("Socket errors"),
        "wrk saw errors:\n{text}"
    );
    let percentile = |p: &str| {
        text.lines()
            .find_map(|l| parse_wrk_duration(l.trim().strip_prefix(p)?))
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
    // A function whose answer is a 4xx gives it to every request: one that
    // answered 2xx or 3xx instead would be missing from wrk's count. (A 5xx
    // among the 4xx is not told apart without a per-request script.)
    if errors_expected {
        let non_2xx: u64 = text
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Non-2xx or 3xx responses:")?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or(0);
        assert_eq!(
            non_2xx, requests,
            "an answer under load was not a 4xx:\n{text}"
        );
    }
    let server_cores = (server_after - server_before) as f64 / ticks / wall;
    let wrk_cores = wrk_ticks as f64 / ticks / wall;
    WrkResult {
        function: "",
        label: String::new(),
        threads: 0,
        connections: 0,
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

pub struct LoadResult {
    /// Every reported run, in the order run.
    pub runs: Vec<WrkResult>,
    /// Provider requests the session function made during its runs.
    pub session_upstream: Stats,
    pub session_requests: u64,
    /// What the store counted over the primary runs of session with it.
    pub session_store: store::RoundTrips,
    /// (function, VmRSS after its first response, VmHWM after the load), KiB.
    pub memory: Vec<(&'static str, u64, u64)>,
    /// The authorize route alone, in process: µs per request.
    pub handler_us: f64,
    /// The floor and every function, `wrk -t1 -c16` on its [`Probe`].
    pub against_floor: Vec<FloorRun>,
}

/// One binary's run against the floor.
pub struct FloorRun {
    pub wrk: WrkResult,
    /// The status every answer had.
    pub status: u16,
    /// VmHWM after the run, KiB.
    pub peak_kb: u64,
}

/// `wrk -t1 -c16` on the floor and on every function, each on its
/// [`Probe`], after a 2 s warm-up; the peak RSS after it.
fn against_floor(
    all: &[&Function],
    provider: &Provider,
    rt: &tokio::runtime::Runtime,
    secs: u64,
) -> Vec<FloorRun> {
    all.iter()
        .map(|f| {
            let probe = probe(f, provider, rt);
            let target = Target::start(f, &probe.env, probe.cookie);
            target.wrk("warm-up", 1, 16, 2);
            let wrk = target.wrk_undisturbed(&probe.label, 1, 16, secs);
            FloorRun {
                wrk,
                status: target.status,
                peak_kb: procfs::status_kb(target.process.pid(), "VmHWM"),
            }
        })
        .collect()
}

/// The primary runs and the others on one authorize and one session
/// instance, the primary runs of session with the store (`probed`'s
/// function with `REDIS_URL`), then [`against_floor`] on every binary of
/// `probed`.
pub fn run(
    functions: &[Function],
    probed: &[&Function],
    store: &Store,
    provider: &Provider,
    rt: &tokio::runtime::Runtime,
    secs: u64,
) -> LoadResult {
    let authorize = Target::start(function(functions, &AUTHORIZE), &function_env(None), None);
    let jar = provider.signed_in(rt);
    let session = Target::start(
        function(functions, &SESSION),
        &function_env(Some(&provider.issuer)),
        jar.header(),
    );
    let stored = probed
        .iter()
        .find(|f| f.store.is_some())
        .expect("session with the store");
    let session_store = Target::start(stored, &stored.env(Some(&provider.issuer)), jar.header());
    let rss_first: Vec<u64> = [&authorize, &session]
        .iter()
        .map(|t| procfs::status_kb(t.process.pid(), "VmRSS"))
        .collect();
    // Warm-up, not reported.
    authorize.wrk("warm-up", 1, 32, 2);
    session.wrk("warm-up", 1, 32, 2);
    session_store.wrk("warm-up", 1, 32, 2);

    let mut runs = Vec::new();
    let mut session_requests = 0;
    let mut store_requests = 0;
    let stats_before = provider.emulator.stats();
    let store_before = store.counts();
    for i in 1..=PRIMARY_RUNS {
        let label = format!("primary {i}/{PRIMARY_RUNS}");
        let a = authorize.wrk_undisturbed(&label, 1, 32, secs);
        let s = session.wrk_undisturbed(&label, 1, 32, secs);
        let t = session_store.wrk_undisturbed(&label, 1, 32, secs);
        session_requests += s.requests;
        store_requests += t.requests;
        runs.extend([a, s, t]);
    }
    let session_upstream = provider::delta(&provider.emulator.stats(), &stats_before);
    let session_store_use = store::RoundTrips {
        label: format!("under wrk -t1 -c32, its {PRIMARY_RUNS} primary runs"),
        requests: store_requests,
        counts: store.since(store_before),
    };
    drop(session_store);
    let short = (secs / 2).max(3);
    for (label, threads, connections) in [
        ("fewer connections", 1, 8),
        ("more connections", 1, 128),
        ("2 wrk threads", 2, 32),
    ] {
        runs.push(authorize.wrk_undisturbed(label, threads, connections, short));
    }
    let memory = [&authorize, &session]
        .iter()
        .zip(rss_first)
        .map(|(t, first)| (t.name, first, procfs::status_kb(t.process.pid(), "VmHWM")))
        .collect();
    drop((authorize, session));

    LoadResult {
        runs,
        session_upstream,
        session_requests,
        session_store: session_store_use,
        memory,
        handler_us: authorize_in_process(rt),
        against_floor: against_floor(probed, provider, rt, secs),
    }
}

/// What one authorize request costs without HTTP or a runtime's I/O: the
/// route served in process (default issuer), the request built each time
/// since [`Auth::serve`] takes it by value.
fn authorize_in_process(rt: &tokio::runtime::Runtime) -> f64 {
    let auth = Auth::new(function_config(None));
    let empty = testkit::Jar::default();
    rt.block_on(async {
        let once = async || {
            std::hint::black_box(
                auth.serve(
                    &AUTHORIZE,
                    app_request("GET", AUTHORIZE.path(&crate::PATHS), &empty),
                )
                .await,
            )
        };
        for _ in 0..2_000 {
            once().await;
        }
        let n = 100_000;
        let t0 = Instant::now();
        for _ in 0..n {
            once().await;
        }
        t0.elapsed().as_secs_f64() * 1e6 / n as f64
    })
}
