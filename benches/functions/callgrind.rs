//! Instructions, counted by `valgrind --tool=callgrind`: per request for
//! every binary (the same [`Probe`] as its cold start and wrk run), of a
//! cold start (a process that answers one request), and where
//! authorize's and session's go (the profile).
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
    /// On its probe's minimal request ([`raw::keep_alive`]).
    pub per_request: f64,
    /// On the same request with the headers a deployed function gets with
    /// it ([`raw::forwarded`]).
    pub forwarded: f64,
    /// A process that starts, answers its probe's minimal request once and
    /// is stopped: the instructions of a cold start, which unlike its
    /// wall-clock time do not move with the host's load (the rest of a
    /// cold start is the kernel's: `exec`, page faults, the socket).
    pub cold: u64,
}

/// The shape of the requests of a run.
#[derive(Clone, Copy)]
enum Shape {
    /// Host, User-Agent, and the probe's cookie.
    Minimal,
    /// The same, with a browser's headers and Vercel's proxy's.
    Forwarded,
}

/// Runs `function` under callgrind, sends it `n` keep-alive requests of
/// `probe` in `shape`, stops it with SIGTERM (callgrind then writes `out`), and
/// returns the instructions it executed in all.
fn run(function: &Function, probe: &Probe, shape: Shape, n: usize, out: &Path) -> u64 {
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
    let build = match shape {
        Shape::Minimal => raw::keep_alive,
        Shape::Forwarded => raw::forwarded,
    };
    let request = build(function.method(), function.path(), probe.cookie.as_deref());
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

/// Where the output files go (removed once read).
fn out_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bench-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// The short and the long run of `function` on `probe` in `shape`, their
/// output files in `dir`: instructions per request, and the two files.
fn short_and_long(
    function: &Function,
    probe: &Probe,
    shape: Shape,
    dir: &Path,
) -> (f64, [PathBuf; 2]) {
    let outs = [SHORT, LONG].map(|n| dir.join(format!("{}.{n}", function.name)));
    let short = run(function, probe, shape, SHORT, &outs[0]);
    let long = run(function, probe, shape, LONG, &outs[1]);
    let per_request = (long as f64 - short as f64) / (LONG - SHORT) as f64;
    (per_request, outs)
}

/// Instructions per request of every binary in `all`, on the minimal
/// request and as forwarded by Vercel's proxy.
pub fn counts(all: &[&Function], provider: &Provider, rt: &tokio::runtime::Runtime) -> Vec<Count> {
    let dir = out_dir("callgrind");
    let counts = all
        .iter()
        .map(|f| {
            let probe = probe(f, provider, rt);
            Count {
                function: f.name,
                per_request: short_and_long(f, &probe, Shape::Minimal, &dir).0,
                forwarded: short_and_long(f, &probe, Shape::Forwarded, &dir).0,
                cold: run(
                    f,
                    &probe,
                    Shape::Minimal,
                    1,
                    &dir.join(format!("{}.1", f.name)),
                ),
            }
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    counts
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
            store: None,
        })
        .collect()
}

/// Where one function's instructions per request go.
pub struct Profile {
    pub function: &'static str,
    /// The whole process, per request.
    pub total: f64,
    /// Per group, in [`GROUPS`] order: its instructions per request and
    /// the functions that spent most of them there.
    pub groups: Vec<Group>,
}

/// One group of a profile.
pub struct Group {
    pub name: &'static str,
    pub per_request: f64,
    /// (function, its own instructions per request in this group), most first.
    pub top: Vec<(String, f64)>,
}

/// The profile's groups, in the order the table shows them.
pub const GROUPS: [&str; 10] = [
    "configuration",
    "route table",
    "cookie parsing",
    "randomness",
    "sealing",
    "URL building",
    "logging",
    "response building",
    "runtime/HTTP",
    "other",
];

/// Which group a function's instructions belong to: the first rule whose
/// pattern the symbol contains (a `*` in a pattern stands for any text). A function no rule names belongs to the
/// group of its caller (so `memcpy` counts where it is called from); the
/// process starts in runtime/HTTP. "other" is the library's own code that
/// no narrower rule names (with fat LTO most of a route is inlined into
/// its handler). Rules marked `true` apply only inside the library, so
/// that hyper's own header maps stay runtime/HTTP.
const RULES: &[(&str, &str, bool)] = &[
    ("std::io::stdio", "logging", false),
    ("LogContext", "logging", false),
    ("rand_core::", "randomness", false),
    ("rand_chacha::", "randomness", false),
    ("getrandom", "randomness", false),
    ("ring::rand", "randomness", false),
    ("sign_in_with_vercel::seal", "sealing", false),
    ("ring::aead", "sealing", false),
    ("ring::hkdf", "sealing", false),
    // ring's assembly, named after its version: `ring_core_0_17_14__aes…`.
    ("ring_core_*__aes", "sealing", false),
    ("ring_core_*__gcm", "sealing", false),
    ("sign_in_with_vercel::cookies::", "cookie parsing", false),
    (
        "sign_in_with_vercel::session::load",
        "cookie parsing",
        false,
    ),
    ("sign_in_with_vercel::config", "configuration", false),
    ("Provider::config", "configuration", false),
    ("sign_in_with_vercel::paths", "configuration", false),
    ("std::env::", "configuration", true),
    ("url::", "URL building", false),
    ("form_urlencoded", "URL building", false),
    ("percent_encoding", "URL building", false),
    ("sign_in_with_vercel::authorize::", "URL building", false),
    (
        "sign_in_with_vercel::response::",
        "response building",
        false,
    ),
    ("http::response::", "response building", true),
    ("http::header::", "response building", true),
    ("sign_in_with_vercel::routes::serve", "route table", false),
    ("tower_service::Service", "route table", false),
    ("sign_in_with_vercel::", "other", false),
];

/// The group of `symbol` called in group `context`.
fn group_of(symbol: &str, context: usize) -> usize {
    let in_library = GROUPS[context] != "runtime/HTTP";
    RULES
        .iter()
        .find(|(pattern, _, library_only)| {
            contains_pattern(symbol, pattern) && (in_library || !library_only)
        })
        .and_then(|(_, group, _)| GROUPS.iter().position(|g| g == group))
        .unwrap_or(context)
}

/// Whether `symbol` contains the parts of `pattern` between its `*`s, in
/// order.
fn contains_pattern(symbol: &str, pattern: &str) -> bool {
    let mut rest = symbol;
    pattern.split('*').all(|part| match rest.find(part) {
        Some(at) => {
            rest = &rest[at + part.len()..];
            true
        }
        None => false,
    })
}

/// A callgrind output file's call graph: instructions executed in each
/// function itself, and each call's inclusive instructions.
#[derive(Default)]
struct Graph {
    names: Vec<String>,
    own: Vec<u64>,
    calls: Vec<Vec<(usize, u64)>>,
}

impl Graph {
    /// Reads `path` (callgrind's format: `fn=`, `cfn=`, `calls=` and cost
    /// lines, names compressed as `(id)`).
    fn read(path: &Path) -> Self {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let mut graph = Graph::default();
        let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
        let mut node = |graph: &mut Graph, spec: &str| -> usize {
            let (id, name) = match spec.split_once(' ') {
                Some((id, name)) => (id, Some(name)),
                None => (spec, None),
            };
            if let Some(&n) = by_id.get(id) {
                return n;
            }
            let name = name.unwrap_or(id).to_owned();
            let n = *by_name.entry(name.clone()).or_insert_with(|| {
                graph.names.push(name);
                graph.own.push(0);
                graph.calls.push(Vec::new());
                graph.names.len() - 1
            });
            by_id.insert(id.to_owned(), n);
            n
        };
        let (mut current, mut callee, mut call_cost_next) = (0, 0, false);
        for line in text.lines() {
            if let Some(spec) = line.strip_prefix("fn=") {
                current = node(&mut graph, spec);
            } else if let Some(spec) = line.strip_prefix("cfn=") {
                callee = node(&mut graph, spec);
            } else if line.starts_with("calls=") {
                call_cost_next = true;
            } else if line.starts_with(|c: char| c.is_ascii_digit() || "+-*".contains(c)) {
                let cost = line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|c| c.parse::<u64>().ok())
                    .unwrap_or(0);
                if std::mem::take(&mut call_cost_next) {
                    graph.calls[current].push((callee, cost));
                } else {
                    graph.own[current] += cost;
                }
            }
        }
        graph
    }

    /// Each function's own instructions split
    /// among the groups it was called in, in proportion to the inclusive
    /// instructions of the calls that reached it in each. The process's
    /// roots start in runtime/HTTP; flows move down the calls until spent
    /// (what goes round a cycle too long is not attributed).
    fn attribution(&self) -> BTreeMap<&str, [f64; GROUPS.len()]> {
        let n = self.names.len();
        let inclusive: Vec<f64> = (0..n)
            .map(|f| self.own[f] as f64 + self.calls[f].iter().map(|(_, c)| *c as f64).sum::<f64>())
            .collect();
        let mut called = vec![false; n];
        for (f, calls) in self.calls.iter().enumerate() {
            for (c, _) in calls.iter().filter(|(c, _)| *c != f) {
                called[*c] = true;
            }
        }
        let runtime = GROUPS.len() - 2;
        let mut pending = vec![[0.0; GROUPS.len()]; n];
        let mut queue = std::collections::VecDeque::new();
        for f in (0..n).filter(|f| !called[*f]) {
            pending[f][group_of(&self.names[f], runtime)] = inclusive[f];
            queue.push_back(f);
        }
        let mut queued = vec![false; n];
        let mut own = vec![[0.0; GROUPS.len()]; n];
        let mut steps = 0;
        while let Some(f) = queue.pop_front() {
            queued[f] = false;
            steps += 1;
            let here = std::mem::replace(&mut pending[f], [0.0; GROUPS.len()]);
            if inclusive[f] <= 0.0 || steps > 1_000_000 {
                continue;
            }
            for (g, amount) in here.iter().enumerate() {
                own[f][g] += amount * self.own[f] as f64 / inclusive[f];
            }
            for &(c, cost) in self.calls[f].iter().filter(|(c, _)| *c != f) {
                let share = cost as f64 / inclusive[f];
                for (g, amount) in here.iter().enumerate() {
                    pending[c][group_of(&self.names[c], g)] += amount * share;
                }
                if !queued[c] && pending[c].iter().sum::<f64>() > 0.01 {
                    queued[c] = true;
                    queue.push_back(c);
                }
            }
        }
        self.names.iter().map(String::as_str).zip(own).collect()
    }
}

/// A symbol in short: generic parameters dropped, `<Type as Trait>` as
/// `Type`, closures as ` (closure)`, the last two path segments:
/// `HeaderValue::try_from_generic`, `ServiceFn::call (closure)`.
fn short_name(symbol: &str) -> String {
    let mut plain = String::new();
    let mut block = String::new();
    let mut depth = 0;
    let mut qualified = false;
    for c in symbol.chars() {
        match c {
            '<' => {
                if depth == 0 {
                    qualified = plain.is_empty() || plain.ends_with("::");
                }
                depth += 1;
            }
            '>' => {
                depth -= 1;
                if depth == 0 && qualified {
                    let of = block.split(" as ").next().unwrap_or_default();
                    plain.push_str(of.rsplit("::").next().unwrap_or_default());
                }
                if depth == 0 {
                    block.clear();
                }
            }
            _ if depth == 0 => plain.push(c),
            _ if depth == 1 => block.push(c),
            _ => {}
        }
    }
    let closure = plain.contains("{{closure}}");
    let segments: Vec<&str> = plain
        .split("::")
        .filter(|s| !s.is_empty() && !s.starts_with("{{"))
        .collect();
    let name = segments[segments.len().saturating_sub(2)..].join("::");
    if closure {
        format!("{name} (closure)")
    } else {
        name
    }
}

/// The profile of each of `builds` (authorize, session with symbols).
pub fn profiles(
    builds: &[Function],
    provider: &Provider,
    rt: &tokio::runtime::Runtime,
) -> Vec<Profile> {
    let dir = out_dir("profile");
    let profiles = builds
        .iter()
        .map(|f| {
            let probe = probe(f, provider, rt);
            let (total, [short_out, long_out]) = short_and_long(f, &probe, Shape::Minimal, &dir);
            let (short, long) = (Graph::read(&short_out), Graph::read(&long_out));
            let (short, long) = (short.attribution(), long.attribution());
            let mut groups: Vec<Group> = GROUPS
                .iter()
                .enumerate()
                .map(|(g, name)| {
                    let mut top: Vec<(String, f64)> = long
                        .iter()
                        .map(|(function, l)| {
                            let s = short.get(function).map_or(0.0, |s| s[g]);
                            (short_name(function), (l[g] - s) / (LONG - SHORT) as f64)
                        })
                        .filter(|(_, c)| *c >= 0.5)
                        .collect();
                    top.sort_by(|a, b| b.1.total_cmp(&a.1));
                    Group {
                        name,
                        per_request: top.iter().map(|(_, c)| c).sum(),
                        top,
                    }
                })
                .collect();
            // What went round a cycle too long is not attributed: other.
            let attributed: f64 = groups.iter().map(|g| g.per_request).sum();
            if let Some(other) = groups.last_mut() {
                other.per_request += total - attributed;
            }
            Profile {
                function: f.name,
                total,
                groups,
            }
        })
        .collect();
    if std::env::var_os("BENCH_KEEP_CALLGRIND").is_some() {
        eprintln!(
            "callgrind outputs kept in {} (callgrind_annotate <file>)",
            dir.display()
        );
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    profiles
}
