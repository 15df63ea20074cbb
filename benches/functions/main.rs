//! Performance benchmark of the Vercel function binaries (one per route of
//! [`sign_in_with_vercel::ROUTES`]), release build, on loopback against the
//! emulator of Vercel's authorization server. One command:
//!
//! ```text
//! cargo bench --bench functions
//! ```
//!
//! It prints a summary and writes `BENCHMARKS.md` next to `Cargo.toml`.
//! It measures, it never asserts a target: a missed target is reported as
//! FAIL in the table, not as a failed run. It does fail loudly when it
//! cannot measure (wrk missing, a function answering the wrong thing).
//!
//! The phases, one module each: [`cold`] starts, [`load`] (wrk),
//! [`session`] (the sealed session: in process, and a burst at expiry),
//! the complete [`flow`]; [`procfs`], [`raw`], [`provider`] and
//! [`machine`] are what they use, [`report`] writes the file. Child
//! processes, ports, cookies and the consent page come from
//! `testkit`, shared with the tests.
//!
//! Knobs (environment): `BENCH_COLD_RUNS` (default 50), `BENCH_FLOWS`
//! (default 500), `BENCH_WRK_SECS` (default 10), `BENCH_BURST` (parallel
//! requests per burst at expiry, default 16), `BENCH_NO_WRITE=1` to leave
//! `BENCHMARKS.md` alone, `BENCH_BIN_DIR=<dir>` to measure other builds of
//! the functions (implies `BENCH_NO_WRITE`), `BENCH_QUIET_WAIT_SECS`.

mod cold;
mod flow;
mod load;
mod machine;
mod procfs;
mod provider;
mod quantiles;
mod raw;
mod report;
mod session;

use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Instant;

/// The app's URL layout: the library's defaults.
pub static PATHS: LazyLock<sign_in_with_vercel::Paths> =
    LazyLock::new(sign_in_with_vercel::Paths::default);

use sign_in_with_vercel::{Config, ROUTES, Route};

/// The app's public origin, pinned with `APP_URL` in every function.
pub const APP: &str = "http://localhost:3000";
pub const APP_HOST: &str = "localhost:3000";
pub const CLIENT_ID: &str = "cl_bench_app";
pub const SECRET: &str = "bench-client-secret-0123456789abcdef";

/// One Vercel function: its route and its release binary.
pub struct Function {
    pub route: &'static Route,
    pub exe: PathBuf,
}

impl Function {
    pub fn name(&self) -> &'static str {
        self.route.name
    }
}

/// The functions, one per route of the table, in its order. The binaries
/// are cargo's: `target/<profile>/<name>`, next to this benchmark's
/// `deps/` directory (cargo builds every `[[bin]]` before a bench), or
/// `$BENCH_BIN_DIR/<name>`.
pub fn functions() -> Vec<Function> {
    let dir = match std::env::var("BENCH_BIN_DIR") {
        Ok(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let exe = std::env::current_exe().expect("the benchmark's path");
            exe.parent()
                .and_then(|deps| deps.parent())
                .expect("target/<profile>/deps/functions-…")
                .to_owned()
        }
    };
    ROUTES
        .iter()
        .map(|route| Function {
            route,
            exe: dir.join(route.name),
        })
        .collect()
}

/// The function serving `route`.
pub fn function<'a>(functions: &'a [Function], route: &Route) -> &'a Function {
    functions
        .iter()
        .find(|f| f.route.path(&crate::PATHS) == route.path(&crate::PATHS))
        .expect("every route has its function")
}

/// The functions' configuration: the default issuer (`None`: Vercel's
/// endpoints are built in, no discovery) or the emulator's. No
/// `AUTH_SECRET`: the cookies are sealed with a key derived from the
/// client secret, so the library in this process opens and makes the
/// same cookies as the functions.
pub fn function_env(issuer: Option<&str>) -> Vec<(&'static str, String)> {
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
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter we do
    // not support: everything runs.
    let knobs = Knobs {
        cold_runs: env_usize("BENCH_COLD_RUNS", 50),
        flows: env_usize("BENCH_FLOWS", 500),
        wrk_secs: env_usize("BENCH_WRK_SECS", 10) as u64,
        burst: env_usize("BENCH_BURST", 16),
    };
    load::wrk_available();
    let functions = functions();
    for f in &functions {
        assert!(
            f.exe.exists(),
            "{} is not built at {} (run through `cargo bench --bench functions`)",
            f.name(),
            f.exe.display()
        );
    }
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut machine = machine::probe();
    let sizes = machine::sizes(&functions);
    eprintln!("emulator: starting (RSA key generation)…");
    let provider = provider::start();

    machine.before("cold starts");
    eprintln!(
        "cold starts: {} runs × {} functions × 2 modes…",
        knobs.cold_runs,
        functions.len()
    );
    let usage = procfs::Usage::start(&[]);
    let cold = cold::run(&functions, &provider, &rt, knobs.cold_runs);
    machine.during("cold starts", usage.other_cores());

    machine.before("warm load");
    eprintln!("warm load: wrk on authorize and session…");
    let load = load::run(&functions, &provider, &rt, knobs.wrk_secs);

    machine.before("sessions");
    eprintln!("sessions: Auth::session in process, bursts at expiry…");
    let sessions = session::run(&functions, &provider, &rt, knobs.burst);

    machine.before("complete flow");
    eprintln!("complete flow: {} flows…", knobs.flows);
    let flow = flow::run(&functions, &provider, &rt, knobs.flows);
    machine.during("complete flow", flow.other_cores);

    let results = report::Results {
        machine: &machine,
        knobs: &knobs,
        functions: &functions,
        cold: &cold,
        load: &load,
        sessions: &sessions,
        flow: &flow,
        sizes: &sizes,
        wall: started.elapsed(),
    };
    report::print_summary(&results);
    let markdown = report::markdown(&results);
    let other_binaries = std::env::var("BENCH_BIN_DIR").is_ok_and(|d| !d.is_empty());
    if std::env::var("BENCH_NO_WRITE").is_ok_and(|v| v == "1") || other_binaries {
        println!("\n(BENCH_NO_WRITE=1 or BENCH_BIN_DIR set: BENCHMARKS.md left alone)");
    } else {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md");
        report::write(path, &markdown);
        println!("\nwrote {path}");
    }
}
