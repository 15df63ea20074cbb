//! Instructions, counted by `valgrind --tool=callgrind`: per request for
//! every binary (the same [`Probe`] as its cold start and wrk run), and
//! where authorize's and session's go (the profile).
//!
//! A count is the difference between a run of 1,100 keep-alive requests
//! on one connection and a run of 100, divided by 1,000: start-up, the
//! first request's one-time work and shutdown cancel out, and what is left
//! repeats to within 0.01 % between runs and hosts, unlike wall-clock
//! figures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sign_in_with_vercel::{AUTHORIZE, SESSION};
use testkit::{Process, clean_command, free_port};

use crate::load::{Probe, probe};
use crate::provider::Provider;
use crate::{Function, cargo_build, raw};

/// Requests of the short and the long run.
const SHORT: usize = 100;
const LONG: usize = 1_100;

/// The profile that keeps the symbols (`Cargo.toml`): the release build
/// otherwise, instruction for instruction.
const SYMBOLS: &str = "symbols";

/// Panics, naming the package, unless valgrind is installed.
pub fn valgrind_available() {
    match Command::new("valgrind").arg("--version").output() {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "\n\nvalgrind is not installed; the instruction counts of this benchmark need it.\n\
             Install it:  apt-get install valgrind\n\n"
        ),
        Err(e) => panic!("cannot run valgrind: {e}"),
    }
}

/// One binary's instructions per request.
pub struct Count {
    pub function: &'static str,
    pub per_request: f64,
}

/// Runs `function` under callgrind, sends it `n` keep-alive requests of
/// `probe`, stops it with SIGTERM (callgrind then writes `out`), and
/// returns the instructions it executed in all.
fn run(function: &Function, probe: &Probe, n: usize, out: &Path) -> u64 {
    let port = free_port();
    let mut command = clean_command("valgrind");
    command
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&function.exe)
        .envs(probe.env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("VERCEL_DEV_PORT", port.to_string());
    let mut process = Process::spawn(&mut command, &format!("callgrind {}", function.name));
    let mut stream = process.connect(port, Duration::from_secs(60));
    let request = raw::keep_alive(function.method(), function.path(), probe.cookie.as_deref());
    let mut status = None;
    for _ in 0..n {
        let answer = raw::exchange(&mut stream, &request)
            .unwrap_or_else(|e| panic!("{} under callgrind: {e}", function.name));
        assert!(
            status.is_none_or(|s| s == answer.status) && answer.status < 500,
            "{} under callgrind: {}",
            function.name,
            answer.describe()
        );
        status = Some(answer.status);
    }
    drop(stream);
    let stopped = Command::new("kill")
        .args(["-TERM", &process.pid().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(stopped, "cannot stop callgrind {}", function.name);
    let _ = process.child_mut().wait();
    let text = std::fs::read_to_string(out)
        .unwrap_or_else(|e| panic!("no callgrind output {}: {e}", out.display()));
    text.lines()
        .find_map(|l| l.strip_prefix("summary:")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no summary in {}", out.display()))
}

/// Where the output files go.
fn out_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bench-callgrind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// Instructions per request of every binary in `all`.
pub fn counts(all: &[&Function], provider: &Provider, rt: &tokio::runtime::Runtime) -> Vec<Count> {
    let dir = out_dir();
    all.iter()
        .map(|f| {
            let probe = probe(f, provider, rt);
            let short = run(f, &probe, SHORT, &dir.join(format!("{}.short", f.name)));
            let long = run(f, &probe, LONG, &dir.join(format!("{}.long", f.name)));
            Count {
                function: f.name,
                per_request: (long as f64 - short as f64) / (LONG - SHORT) as f64,
            }
        })
        .collect()
}

/// authorize and session built with their symbols (profile `symbols`),
/// for the profile.
pub fn symbol_builds() -> Vec<Function> {
    cargo_build(SYMBOLS, &["--bin", AUTHORIZE.name, "--bin", SESSION.name]);
    let exe = std::env::current_exe().expect("the benchmark's path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("target/<profile>/deps/functions-…")
        .join(SYMBOLS);
    [&AUTHORIZE, &SESSION]
        .into_iter()
        .map(|route| Function {
            name: route.name,
            route: Some(route),
            exe: target.join(route.name),
        })
        .collect()
}

/// Where one function's instructions per request go.
pub struct Profile {
    pub function: &'static str,
    /// The whole process, per request.
    pub total: f64,
    /// (group, instructions per request), in [`GROUPS`] order, then
    /// "other".
    pub groups: Vec<(&'static str, f64)>,
}

/// The groups of the profile, each the entry points whose inclusive cost
/// is the group's: a symbol matches when it contains the pattern. The
/// patterns are functions that do not call each other (a group's cost is
/// the sum of its entries' inclusive costs). "runtime/HTTP" is the whole
/// request less the library's handler; "other" is the handler less the
/// groups.
pub const GROUPS: [(&str, &[&str]); 9] = [
    ("configuration", &["sign_in_with_vercel::config::"]),
    ("route table", &["sign_in_with_vercel::routes::"]),
    (
        "cookie parsing",
        &["sign_in_with_vercel::cookies::RequestCookies::parse"],
    ),
    ("randomness", &["rand::", "getrandom", "ring::rand"]),
    ("sealing", &["sign_in_with_vercel::seal::"]),
    (
        "URL building",
        &["sign_in_with_vercel::authorize::", "url::"],
    ),
    ("logging", &["sign_in_with_vercel::log", "std::io::stdio"]),
    (
        "response building",
        &["sign_in_with_vercel::response::", "http::response::"],
    ),
    ("runtime/HTTP", &[]),
];

/// The handler: the library's answer to one request, whatever calls it.
const HANDLER: &str = "sign_in_with_vercel::routes::serve";

/// Inclusive instructions per function (`callgrind_annotate
/// --inclusive=yes`), by symbol.
fn inclusive(out: &Path) -> BTreeMap<String, u64> {
    let output = Command::new("callgrind_annotate")
        .args(["--inclusive=yes", "--threshold=100", "--auto=no"])
        .arg(out)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run callgrind_annotate (apt-get install valgrind): {e}")
        });
    let text = String::from_utf8_lossy(&output.stdout);
    let mut costs = BTreeMap::new();
    for line in text.lines() {
        let Some((count, rest)) = line.trim_start().split_once(" (") else {
            continue;
        };
        let Ok(count) = count.replace(',', "").parse::<u64>() else {
            continue;
        };
        let Some((_, symbol)) = rest.split_once("%)  ") else {
            continue;
        };
        let symbol = match symbol.rsplit_once(" [") {
            Some((s, _)) if symbol.ends_with(']') => s,
            _ => symbol,
        };
        let name = symbol.split_once(':').map_or(symbol, |(_, n)| n);
        // The same function under several files: counted once, the largest.
        let entry = costs.entry(name.to_owned()).or_insert(0);
        *entry = (*entry).max(count);
    }
    costs
}

/// Inclusive instructions per request: the long run's less the short
/// run's, per request.
fn per_request(short: &BTreeMap<String, u64>, long: &BTreeMap<String, u64>) -> Vec<(String, f64)> {
    long.iter()
        .map(|(name, l)| {
            let s = short.get(name).copied().unwrap_or(0);
            (name.clone(), (*l as f64 - s as f64) / (LONG - SHORT) as f64)
        })
        .collect()
}

/// The largest per-request inclusive cost among the symbols containing any
/// of `patterns`, summed over distinct patterns.
fn group_cost(costs: &[(String, f64)], patterns: &[&str]) -> f64 {
    costs
        .iter()
        .filter(|(name, _)| patterns.iter().any(|p| name.contains(p)))
        .map(|(_, c)| *c)
        .sum()
}

/// The profile of each of `builds` (authorize, session with symbols).
pub fn profiles(
    builds: &[Function],
    provider: &Provider,
    rt: &tokio::runtime::Runtime,
) -> Vec<Profile> {
    let dir = out_dir();
    builds
        .iter()
        .map(|f| {
            let probe = probe(f, provider, rt);
            let (short_out, long_out) = (
                dir.join(format!("{}.symbols.short", f.name)),
                dir.join(format!("{}.symbols.long", f.name)),
            );
            let short = run(f, &probe, SHORT, &short_out);
            let long = run(f, &probe, LONG, &long_out);
            let total = (long as f64 - short as f64) / (LONG - SHORT) as f64;
            let costs = per_request(&inclusive(&short_out), &inclusive(&long_out));
            let handler = group_cost(&costs, &[HANDLER]);
            let mut groups = Vec::new();
            for (group, patterns) in GROUPS {
                let cost = if patterns.is_empty() {
                    total - handler
                } else {
                    group_cost(&costs, patterns)
                };
                groups.push((group, cost));
            }
            let named: f64 = groups.iter().map(|(_, c)| c).sum();
            groups.push(("other", total - named));
            Profile {
                function: f.name,
                total,
                groups,
            }
        })
        .collect()
}
