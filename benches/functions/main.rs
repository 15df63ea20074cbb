//! Performance benchmark of the Vercel function binaries (one per route of
//! [`sign_in_with_vercel::ROUTES`]) and of the floor (`examples/floor.rs`:
//! the same runtime answering a 302 with one cookie), release build, on
//! loopback against the emulator of Vercel's authorization server:
//!
//! ```text
//! cargo bench --bench functions
//! ```
//!
//! It prints its tables and rewrites the generated part of
//! `BENCHMARKS.md` (the hand-written part below the marker is kept). It
//! measures, it never asserts a target; it fails loudly when it cannot
//! measure (wrk or valgrind missing, a function answering the wrong thing).
//!
//! The phases, one module each: [`cold`] starts, [`load`] (wrk),
//! [`session`] (in process, bursts at expiry), [`instances`] (bursts at
//! expiry across processes, with and without the store), the complete
//! [`flow`], [`callgrind`] (instructions per request, the profile). [`procfs`],
//! [`raw`], [`provider`] and [`machine`] are what they use; [`report`]
//! turns the results into [`table`]s. The browser, child processes and
//! ports come from `testkit`, shared with the tests.
//!
//! The shared session store: a local `redis-server` ([`store`]; the run
//! fails when it cannot start one). Every function's start-up cold start,
//! session's first request, its wrk run and its instruction count are
//! measured again with `REDIS_URL` set (rows `<function> + REDIS_URL`),
//! and the store's round trips per protected request are counted.
//!
//! Knobs (environment): `BENCH_COLD_RUNS` (default 15), `BENCH_FLOWS`
//! (default 500), `BENCH_WRK_SECS` (default 10), `BENCH_BURST` (parallel
//! requests per burst at expiry, default 16), `BENCH_PROFILE=0` to skip
//! the callgrind profile (and its unstripped build), `BENCH_NO_WRITE=1`
//! to leave `BENCHMARKS.md` alone, `BENCH_BIN_DIR=<dir>` to measure other
//! builds of the functions (implies `BENCH_NO_WRITE`),
//! `BENCH_QUIET_WAIT_SECS`, `BENCH_ONLY=callgrind` to count instructions
//! and print the profile only (a minute, for working on a hot path;
//! `BENCHMARKS.md` is left alone), `BENCH_ONLY=instances` to run the
//! bursts across instances only (two minutes; their table replaces its own
//! section of `BENCHMARKS.md`, every other byte of it kept, unless
//! `BENCH_NO_WRITE=1`), `BENCH_KEEP_CALLGRIND=1` to keep the profile's
//! callgrind outputs for `callgrind_annotate`. Any other `BENCH_ONLY` is
//! refused.

mod callgrind;
mod cold;
mod flow;
mod instances;
mod load;
mod machine;
mod procfs;
mod provider;
mod quantiles;
mod raw;
mod report;
mod session;
mod store;
mod table;

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Instant;

use sign_in_with_vercel::{Config, ROUTES, Route, SESSION};

/// The app's URL layout: the library's defaults.
pub static PATHS: LazyLock<sign_in_with_vercel::Paths> =
    LazyLock::new(sign_in_with_vercel::Paths::default);

/// The app's public origin, pinned with `APP_URL` in every function.
pub const APP: &str = "http://localhost:3000";
pub const APP_HOST: &str = "localhost:3000";
pub const CLIENT_ID: &str = "cl_bench_app";
pub const SECRET: &str = "bench-client-secret-0123456789abcdef";
/// The functions' session key.
pub const AUTH_SECRET: &str = "bench-auth-secret-0123456789abcdef-0123456789";
/// The floor's name in every table.
pub const FLOOR: &str = "floor";

/// One measured binary: a Vercel function (its route) or the floor.
pub struct Function {
    pub name: &'static str,
    /// `None` for the floor.
    pub route: Option<&'static Route>,
    pub exe: PathBuf,
    /// The shared store it runs with (`REDIS_URL`); `None`: without.
    pub store: Option<String>,
}

/// The end of the name of a function run with `REDIS_URL`.
pub const WITH_STORE: &str = " + REDIS_URL";

impl Function {
    /// The same binary run with `REDIS_URL` set to `url`, named
    /// `<name> + REDIS_URL`.
    pub fn with_store(&self, url: &str) -> Function {
        Function {
            name: format!("{}{WITH_STORE}", self.name).leak(),
            route: self.route,
            exe: self.exe.clone(),
            store: Some(url.to_owned()),
        }
    }

    /// Its environment: [`function_env`], and `REDIS_URL` when run with the store.
    pub fn env(&self, issuer: Option<&str>) -> Vec<(&'static str, String)> {
        let mut vars = function_env(issuer);
        vars.extend(self.store.clone().map(|url| ("REDIS_URL", url)));
        vars
    }

    /// The method of its route (the floor answers any).
    pub fn method(&self) -> &'static str {
        self.route.map_or("GET", |r| r.method.as_str())
    }

    /// The path of its route (the floor answers any).
    pub fn path(&self) -> &'static str {
        self.route.map_or("/", |r| r.path(&PATHS))
    }

    /// Whether it serves `route`.
    pub fn serves(&self, route: &Route) -> bool {
        self.route
            .is_some_and(|r| r.path(&PATHS) == route.path(&PATHS))
    }
}

/// Where cargo put this benchmark's binaries: `target/<profile>`, the
/// parent of the benchmark's own `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the benchmark's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/functions-…")
        .to_owned()
}

/// The functions, one per route of the table, in its order: cargo's
/// binaries (it builds every `[[bin]]` before a bench) or
/// `$BENCH_BIN_DIR/<name>`.
pub fn functions() -> Vec<Function> {
    let dir = match std::env::var("BENCH_BIN_DIR") {
        Ok(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => profile_dir(),
    };
    ROUTES
        .iter()
        .map(|route| Function {
            name: route.name,
            route: Some(route),
            exe: dir.join(route.name),
            store: None,
        })
        .collect()
}

/// Runs `cargo build --profile <profile> <args>` in the workspace, for the
/// binaries `cargo bench` does not build itself.
pub fn cargo_build(profile: &str, args: &[&str]) {
    testkit::cargo_build(&[&["--profile", profile], args].concat());
}

/// The floor, built now with the benchmark's own profile (`bench`, which
/// inherits `release`): `target/release/examples/floor`.
pub fn floor() -> Function {
    cargo_build("bench", &["--example", FLOOR]);
    Function {
        name: FLOOR,
        route: None,
        exe: profile_dir().join("examples").join(FLOOR),
        store: None,
    }
}

/// The function serving `route`.
pub fn function<'a>(functions: &'a [Function], route: &Route) -> &'a Function {
    functions
        .iter()
        .find(|f| f.serves(route))
        .expect("every route has its function")
}

/// The functions' configuration: the default issuer (`None`: Vercel's
/// endpoints are built in, no discovery) or the emulator's, and an
/// `AUTH_SECRET`, as every deployment has (a key derived from the client
/// secret is for a developer's machine, and costs a check of each
/// request's own host behind a pinned `APP_URL`). The library in this
/// process, configured alike, opens and makes the same cookies as the
/// functions.
pub fn function_env(issuer: Option<&str>) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        ("VERCEL_APP_CLIENT_ID", CLIENT_ID.to_owned()),
        ("VERCEL_APP_CLIENT_SECRET", SECRET.to_owned()),
        ("VERCEL_APP_TOKEN_AUTH", "client_secret_post".to_owned()),
        ("APP_URL", APP.to_owned()),
        ("AUTH_SECRET", AUTH_SECRET.to_owned()),
    ];
    if let Some(issuer) = issuer {
        vars.push(("VERCEL_OAUTH_ISSUER", issuer.to_owned()));
    }
    vars
}

/// The library configured exactly like the functions with `issuer`.
pub fn function_config(issuer: Option<&str>) -> Config {
    let vars = function_env(issuer);
    Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .expect("the functions' configuration")
}

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// What one run was asked to do.
pub struct Knobs {
    pub cold_runs: usize,
    pub flows: usize,
    pub wrk_secs: u64,
    pub burst: usize,
    pub profile: bool,
}

/// What `BENCH_ONLY` asks for: the whole run, or one phase alone.
#[derive(Clone, Copy, PartialEq)]
enum Only {
    Everything,
    Callgrind,
    Instances,
}

fn only() -> Only {
    match std::env::var("BENCH_ONLY").unwrap_or_default().as_str() {
        "" => Only::Everything,
        "callgrind" => Only::Callgrind,
        "instances" => Only::Instances,
        other => panic!("BENCH_ONLY={other}: not a phase run alone (callgrind, instances)"),
    }
}

/// `BENCHMARKS.md`, unless the run leaves it alone (`BENCH_NO_WRITE=1`,
/// or other binaries measured with `BENCH_BIN_DIR`), which it then says.
fn benchmarks_md() -> Option<&'static str> {
    let other_binaries = std::env::var("BENCH_BIN_DIR").is_ok_and(|d| !d.is_empty());
    if std::env::var("BENCH_NO_WRITE").is_ok_and(|v| v == "1") || other_binaries {
        println!("\n(BENCH_NO_WRITE=1 or BENCH_BIN_DIR set: BENCHMARKS.md left alone)");
        None
    } else {
        Some(concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md"))
    }
}

/// `BENCH_ONLY=instances`: the bursts across instances, their table
/// printed and written in place of its own section of `BENCHMARKS.md`.
fn instances_alone(functions: &[Function], rt: &tokio::runtime::Runtime, parallel: usize) {
    eprintln!("emulator: starting (RSA key generation)…");
    let provider = provider::start();
    eprintln!("redis-server: starting (testkit::RedisServer)…");
    let store = store::Store::start();
    machine::wait_for_quiet("cross-instance bursts");
    eprintln!(
        "cross-instance bursts: {parallel} requests over {} processes…",
        instances::PROCESSES
    );
    let result = instances::run(functions, &store, &provider, rt, parallel);
    let mut table = report::instances(&result);
    // Said in the table: the "Run" section above it is the last whole run's.
    table.note.push_str(&format!(
        " Measured alone (`BENCH_ONLY=instances`) at {}, {}; the other tables are the last whole run's.",
        machine::revision(),
        machine::command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
    ));
    print!("{}", table.text());
    if let Some(path) = benchmarks_md() {
        table::write_section(path, &table, report::BURSTS);
        println!("\nwrote the section \"{}\" of {path}", table.title);
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter we do
    // not support: everything runs (or the phase `BENCH_ONLY` names).
    let knobs = Knobs {
        cold_runs: env_usize("BENCH_COLD_RUNS", 15),
        flows: env_usize("BENCH_FLOWS", 500),
        wrk_secs: env_usize("BENCH_WRK_SECS", 10) as u64,
        burst: env_usize("BENCH_BURST", 16),
        profile: std::env::var("BENCH_PROFILE").map_or(true, |v| v != "0"),
    };
    let only = only();
    if only == Only::Everything {
        load::wrk_available();
    }
    if only != Only::Instances {
        callgrind::valgrind_available();
    }
    let functions = functions();
    for f in &functions {
        assert!(
            f.exe.exists(),
            "{} is not built at {} (run through `cargo bench --bench functions`)",
            f.name,
            f.exe.display()
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if only == Only::Instances {
        instances_alone(&functions, &rt, knobs.burst);
        return;
    }
    let started = Instant::now();
    eprintln!("building the floor (examples/floor.rs)…");
    let floor = floor();
    let profiled = if knobs.profile {
        eprintln!("building authorize and session with their symbols (profile `symbols`)…");
        Some(callgrind::symbol_builds())
    } else {
        None
    };
    let mut machine = machine::probe();
    let mut all: Vec<&Function> = vec![&floor];
    all.extend(&functions);
    let sizes = machine::sizes(&all);
    eprintln!("emulator: starting (RSA key generation)…");
    let provider = provider::start();
    eprintln!("redis-server: starting (testkit::RedisServer)…");
    let store = store::Store::start();
    let with_store: Vec<Function> = functions
        .iter()
        .map(|f| f.with_store(&store.url()))
        .collect();
    let session_store = function(&with_store, &SESSION);
    // Every binary on its probe, session with the store next to session.
    let mut probed = all.clone();
    let after_session = probed
        .iter()
        .position(|f| f.serves(&SESSION))
        .expect("session")
        + 1;
    probed.insert(after_session, session_store);

    if only == Only::Callgrind {
        let counts = callgrind::counts(&probed, &provider, &rt);
        let profiles = profiled
            .map(|builds| callgrind::profiles(&builds, &provider, &rt))
            .unwrap_or_default();
        for t in report::instruction_tables(&counts, &profiles) {
            print!("{}", t.text());
        }
        return;
    }

    machine.before("cold starts");
    eprintln!(
        "cold starts: {} runs per function and mode…",
        knobs.cold_runs
    );
    let usage = procfs::Usage::start(&[]);
    let cold = cold::run(&all, &with_store, &store, &provider, &rt, knobs.cold_runs);
    machine.during("cold starts", usage.other_cores());

    machine.before("warm load");
    eprintln!("warm load: wrk on authorize and session, then every function and the floor…");
    let load = load::run(&functions, &probed, &store, &provider, &rt, knobs.wrk_secs);

    machine.before("store round trips");
    eprintln!("store: round trips per protected request…");
    let round_trips = store::round_trips(session_store, &provider, &rt, &store);

    machine.before("sessions");
    eprintln!("sessions: Auth::session in process, bursts at expiry…");
    let sessions = session::run(&functions, &provider, &rt, knobs.burst);

    machine.before("cross-instance bursts");
    eprintln!(
        "cross-instance bursts: {} requests over {} processes, with and without the store…",
        knobs.burst,
        instances::PROCESSES
    );
    let instances = instances::run(&functions, &store, &provider, &rt, knobs.burst);

    machine.before("complete flow");
    eprintln!("complete flow: {} flows…", knobs.flows);
    let flow = flow::run(&functions, &provider, &rt, knobs.flows);
    machine.during("complete flow", flow.other_cores);

    eprintln!("callgrind: instructions per request…");
    let instructions = callgrind::counts(&probed, &provider, &rt);
    let profiles = profiled.map(|builds| callgrind::profiles(&builds, &provider, &rt));

    let results = report::Results {
        machine: &machine,
        knobs: &knobs,
        functions: &functions,
        cold: &cold,
        load: &load,
        sessions: &sessions,
        instances: &instances,
        flow: &flow,
        store: &store,
        round_trips: &round_trips,
        sizes: &sizes,
        instructions: &instructions,
        profiles: profiles.as_deref().unwrap_or_default(),
        wall: started.elapsed(),
    };
    let tables = report::tables(&results);
    for t in &tables {
        print!("{}", t.text());
    }
    if let Some(path) = benchmarks_md() {
        table::write(path, &report::markdown(&tables));
        println!("\nwrote {path}");
    }
}
