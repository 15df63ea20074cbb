//! The run's results as tables, in the order `BENCHMARKS.md` shows them.
//! How each figure is measured is said in the module that measures it and
//! in the hand-written part of `BENCHMARKS.md`.

use std::time::Duration;

use sign_in_with_vercel::{AUTHORIZE, SESSION};

use crate::callgrind::{Count, Profile};
use crate::cold::{self, ColdResult, Mode};
use crate::flow::{FlowResult, WARM_UP};
use crate::instances::{InstancesResult, PROCESSES};
use crate::load::{DISTURBED, LoadResult, WrkResult};
use crate::machine::{Machine, Size};
use crate::provider::{upstream, upstream_mean};
use crate::quantiles::summarize;
use crate::session::{Burst, SessionResult};
use crate::store::{BACK_TO_BACK, Counts, RoundTrips, Store};
use crate::table::Table;
use crate::{FLOOR, Function, Knobs, WITH_STORE};

/// Everything a run measured.
pub struct Results<'a> {
    pub machine: &'a Machine,
    pub knobs: &'a Knobs,
    pub functions: &'a [Function],
    pub cold: &'a [ColdResult],
    pub load: &'a LoadResult,
    pub sessions: &'a SessionResult,
    pub instances: &'a InstancesResult,
    pub flow: &'a FlowResult,
    pub store: &'a Store,
    pub round_trips: &'a [RoundTrips],
    /// The floor's first, then the functions'.
    pub sizes: &'a [Size],
    /// The floor's first, then the functions'.
    pub instructions: &'a [Count],
    pub profiles: &'a [Profile],
    pub wall: Duration,
}

impl Results<'_> {
    fn cold(&self, mode: Mode, function: &str) -> &ColdResult {
        cold::of(self.cold, mode, function)
    }

    /// The cold start of the request a binary is compared on: session's
    /// with its cookie, every other one's start-up request.
    fn probe_cold(&self, function: &str) -> &ColdResult {
        let mode = if binary(function) == SESSION.name {
            Mode::First
        } else {
            Mode::Startup
        };
        self.cold(mode, function)
    }

    /// VmRSS after the function's first response in the complete flow, KiB.
    fn rss_first_kb(&self, function: &str) -> u64 {
        self.flow
            .memory
            .iter()
            .find(|(n, _, _)| *n == function)
            .map_or(0, |(_, first, _)| *first)
    }

    /// VmHWM of the function over the flows and its wrk runs, KiB.
    fn peak_kb(&self, function: &str) -> u64 {
        let wrk = self
            .load
            .against_floor
            .iter()
            .filter(|r| r.wrk.function == function)
            .map(|r| r.peak_kb);
        self.flow
            .memory
            .iter()
            .chain(&self.load.memory)
            .filter(|(n, _, _)| *n == function)
            .map(|(_, _, peak)| *peak)
            .chain(wrk)
            .max()
            .unwrap_or(0)
    }
}

/// The binary a function runs: its name without [`WITH_STORE`].
fn binary(function: &str) -> &str {
    function.strip_suffix(WITH_STORE).unwrap_or(function)
}

/// `n` over `of`: whole, to 3 decimals, or in scientific notation below 0.001.
fn per(n: u64, of: u64) -> String {
    let v = n as f64 / of.max(1) as f64;
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v >= 0.001 {
        format!("{v:.3}")
    } else {
        format!("{v:.1e}")
    }
}

/// What the store counted over `n` requests, per request.
fn store_use(c: &Counts, n: u64) -> String {
    if c.commands == 0 && c.round_trips == 0 {
        return "none".to_owned();
    }
    format!(
        "{} commands ({} GET/MGET) in {} round trips",
        per(c.commands, n),
        per(c.gets, n),
        per(c.round_trips, n)
    )
}

/// KiB (as /proc reports them) to MB (10^6 bytes), the unit of the targets.
fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 * 1024.0 / 1e6)
}

fn mb_bytes(b: u64) -> String {
    format!("{:.2} MB", b as f64 / 1e6)
}

fn ms(v: f64) -> String {
    format!("{v:.2} ms")
}

/// An instruction count, a rounding error shown as 0.
fn count(v: f64) -> String {
    format!("{:.0}", if v.abs() < 0.5 { 0.0 } else { v })
}

/// A share of `total`, a rounding error shown as 0.
fn share(v: f64, total: f64) -> String {
    format!(
        "{:.1} %",
        if v.abs() < 0.5 {
            0.0
        } else {
            v / total * 100.0
        }
    )
}

fn yes(ok: bool) -> String {
    (if ok { "yes" } else { "NO" }).to_owned()
}

/// `value` over the floor's, as `1.23×`.
fn times(value: f64, floor: f64) -> String {
    format!("{:.2}×", value / floor)
}

/// Every table of the run.
pub fn tables(r: &Results) -> Vec<Table> {
    let floor = floor_instructions(r.instructions).0;
    let mut all = vec![run(r), against_floor(r)];
    all.extend(r.profiles.iter().map(|p| profile(floor, p)));
    all.extend([
        cold_start(r),
        warm_load(r),
        store_round_trips(r),
        in_process(r),
        bursts(r),
        instances(r.instances),
        memory(r),
        flow(r),
        provider_requests(r),
    ]);
    all
}

/// The generated part of `BENCHMARKS.md`.
pub fn markdown(tables: &[Table]) -> String {
    let mut o = "# Benchmarks\n\nThe tables are written by `cargo bench --bench functions` \
                 (`benches/functions/`); the method and the analysis, below them, by hand.\n\n"
        .to_owned();
    for t in tables {
        o.push_str(&t.markdown());
    }
    o
}

fn run(r: &Results) -> Table {
    let m = r.machine;
    let k = r.knobs;
    let phases = |v: &[(&str, f64)]| {
        v.iter()
            .map(|(phase, cores)| format!("{phase}: {cores:.2} cores"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut t = Table::new("Run", "", &["", ""]);
    for (k, v) in [
        ("Command", "`cargo bench --bench functions`".to_owned()),
        ("Date", m.date.clone()),
        ("Commit measured", m.revision.clone()),
        (
            "CPU",
            format!("{} ({} cores, {})", m.cpu, m.cores, m.memory),
        ),
        (
            "Kernel, Rust, load tool",
            format!("Linux {}, {}, {}", m.kernel, m.rustc, m.wrk),
        ),
        ("Load average at the start", m.load_average.clone()),
        ("Other processes during", phases(&m.during)),
        ("Other load before each phase", phases(&m.background)),
        (
            "Asked",
            format!(
                "{} cold starts per function and mode, {} flows, wrk {} s, bursts of {} \
                 (on one process, and over {PROCESSES})",
                k.cold_runs, k.flows, k.wrk_secs, k.burst
            ),
        ),
        ("Whole run", format!("{:.0} s", r.wall.as_secs_f64())),
    ] {
        t.row(vec![k.to_owned(), v]);
    }
    t
}

fn against_floor(r: &Results) -> Table {
    let mut t = Table::new(
        "Against the floor",
        "Each binary on one request (the floor: a 302 with one cookie on the same runtime): \
         instructions per request from callgrind ((1,100 − 100 keep-alive requests) / 1,000); \
         the same as forwarded: that request with the 27 headers a deployed function gets with \
         it (a browser's, Vercel's proxy's: `benches/functions/raw.rs`); then \
         median cold start, its instructions (callgrind: a process that starts, answers the \
         request once and is stopped; the kernel's part of a cold start is not in it, and \
         unlike the time it does not move with the host's load), `wrk -t1 -c16`, peak RSS \
         (VmHWM), size. Ratios to the floor; absolute \
         figures drift 2× between hosts, ratios and instruction counts do not. session + \
         REDIS_URL: the same binary and request with the shared store (a local redis-server); \
         its instructions include the store round trip its instance makes about once a second \
         (a few per callgrind run), its cold start the first round trip.",
        &[
            "Binary",
            "Request → status",
            "Instructions/request",
            "×",
            "As forwarded",
            "×",
            "Cold start",
            "×",
            "Cold instructions",
            "×",
            "req/s",
            "×",
            "p99",
            "×",
            "Peak RSS",
            "×",
            "Size",
            "×",
        ],
    );
    let ins = |name: &str| {
        r.instructions
            .iter()
            .find(|c| c.function == name)
            .map_or((0.0, 0.0, 0.0), |c| {
                (c.per_request, c.forwarded, c.cold as f64)
            })
    };
    let wrk = |name: &str| {
        r.load
            .against_floor
            .iter()
            .find(|f| f.wrk.function == name)
            .expect("a wrk run per binary")
    };
    let size = |name: &str| {
        r.sizes
            .iter()
            .find(|s| s.function == binary(name))
            .map_or(0, |s| s.bytes)
    };
    let floor = (
        ins(FLOOR),
        r.probe_cold(FLOOR).total.median,
        wrk(FLOOR),
        size(FLOOR),
    );
    for name in r.load.against_floor.iter().map(|f| f.wrk.function) {
        let (i, c, w, s) = (
            ins(name),
            r.probe_cold(name).total.median,
            wrk(name),
            size(name),
        );
        t.row(vec![
            name.to_owned(),
            format!("{} → {}", w.wrk.label, w.status),
            count(i.0),
            times(i.0, floor.0.0),
            count(i.1),
            times(i.1, floor.0.1),
            ms(c),
            times(c, floor.1),
            count(i.2),
            times(i.2, floor.0.2),
            format!("{:.0}", w.wrk.rps),
            times(w.wrk.rps, floor.2.wrk.rps),
            format!("{:.3} ms", w.wrk.p99_ms),
            times(w.wrk.p99_ms, floor.2.wrk.p99_ms),
            mb(w.peak_kb),
            times(w.peak_kb as f64, floor.2.peak_kb as f64),
            mb_bytes(s),
            times(s as f64, floor.3 as f64),
        ]);
    }
    t
}

/// The floor's instructions: per request, minimal and as forwarded, and
/// of a cold start.
fn floor_instructions(counts: &[Count]) -> (f64, f64, f64) {
    counts
        .iter()
        .find(|c| c.function == FLOOR)
        .map_or((0.0, 0.0, 0.0), |c| {
            (c.per_request, c.forwarded, c.cold as f64)
        })
}

/// `BENCH_ONLY=callgrind`: the instruction counts against the floor's,
/// and the profiles.
pub fn instruction_tables(counts: &[Count], profiles: &[Profile]) -> Vec<Table> {
    let floor = floor_instructions(counts);
    let mut t = Table::new(
        "Instructions per request",
        "",
        &[
            "Binary",
            "Instructions/request",
            "×",
            "As forwarded",
            "×",
            "Cold instructions",
            "×",
        ],
    );
    for c in counts {
        t.row(vec![
            c.function.to_owned(),
            count(c.per_request),
            times(c.per_request, floor.0),
            count(c.forwarded),
            times(c.forwarded, floor.1),
            count(c.cold as f64),
            times(c.cold as f64, floor.2),
        ]);
    }
    let mut all = vec![t];
    all.extend(profiles.iter().map(|p| profile(floor.0, p)));
    all
}

fn profile(floor: f64, p: &Profile) -> Table {
    let mut t = Table::new(
        &format!("Profile: {} per request", p.function),
        "From callgrind's call graph (inclusive cost per call) of the release build with its \
         symbols, long run less short run per request: each function's own instructions count in \
         the group it was called in, a function named by a rule of `benches/functions/callgrind.rs` \
         starting its group (so `malloc` counts where it is called from). other: the library's \
         code no narrower rule names (fat LTO inlines most of a route into its handler). Largest: \
         the functions' own instructions in that group.",
        &["Group", "Instructions/request", "Share", "Largest"],
    );
    for g in &p.groups {
        let top: Vec<String> = g
            .top
            .iter()
            .take(3)
            .map(|(name, c)| format!("`{name}` {c:.0}"))
            .collect();
        t.row(vec![
            g.name.to_owned(),
            count(g.per_request),
            share(g.per_request, p.total),
            top.join(", "),
        ]);
    }
    t.row(vec![
        "**total**".to_owned(),
        count(p.total),
        "100 %".to_owned(),
        String::new(),
    ]);
    t.row(vec![
        "beyond the floor".to_owned(),
        count(p.total - floor),
        share(p.total - floor, p.total),
        format!("the floor: {floor:.0} per request"),
    ]);
    t
}

fn cold_start(r: &Results) -> Table {
    let mut t = Table::new(
        "Cold start",
        &format!(
            "Spawn (`VERCEL_DEV_PORT`) → poll-connect → the request (`Connection: close`) → the \
             whole response; {} runs each after one unmeasured. Start-up: default issuer, no \
             cookie. First: emulator issuer, the route's real request (flow cookies and sessions \
             made in process through the routes). `+ REDIS_URL`: the same with the shared store (a \
             local redis-server), its commands and round trips per run counted by the server.",
            r.knobs.cold_runs
        ),
        &[
            "Binary",
            "Mode",
            "Request → answer",
            "median",
            "p10",
            "p90",
            "max",
            "listening",
            "RSS",
            "Provider requests",
            "Store",
        ],
    );
    for c in r.cold {
        t.row(vec![
            c.function.to_owned(),
            match c.mode {
                Mode::Startup => "start-up",
                Mode::First => "first",
            }
            .to_owned(),
            c.request.clone(),
            ms(c.total.median),
            ms(c.total.p10),
            ms(c.total.p90),
            ms(c.total.max),
            ms(c.listen.median),
            mb(c.rss_kb.median as u64),
            upstream(&c.upstream),
            c.store
                .as_ref()
                .map_or_else(String::new, |s| store_use(s, r.knobs.cold_runs as u64)),
        ]);
    }
    t
}

fn wrk_row(w: &WrkResult) -> Vec<String> {
    vec![
        w.function.to_owned(),
        w.label.clone(),
        format!("-t{} -c{}", w.threads, w.connections),
        format!("{:.0}", w.rps),
        format!("{:.3} ms", w.p50_ms),
        format!("{:.3} ms", w.p90_ms),
        format!("{:.3} ms", w.p99_ms),
        w.requests.to_string(),
        format!("{:.2}", w.server_cores),
        format!("{:.2}", w.wrk_cores),
        format!("{:.2}", w.other_cores),
    ]
}

fn warm_load(r: &Results) -> Table {
    let mut t = Table::new(
        "Warm load",
        &format!(
            "wrk on one warm instance. authorize: default issuer; session: a live session cookie, \
             emulator issuer ({} provider requests over its {} primary requests); session + \
             REDIS_URL: the same with the shared store. Primary runs alternate authorize, session \
             and session + REDIS_URL; a run in which other processes took more than \
             {DISTURBED} cores is run again (at most twice). CPU columns: cores busy during the run.",
            upstream(&r.load.session_upstream),
            r.load.session_requests
        ),
        &[
            "Binary",
            "Run",
            "wrk",
            "req/s",
            "p50",
            "p90",
            "p99",
            "requests",
            "function CPU",
            "wrk CPU",
            "other CPU",
        ],
    );
    for w in r
        .load
        .runs
        .iter()
        .chain(r.load.against_floor.iter().map(|f| &f.wrk))
    {
        t.row(wrk_row(w));
    }
    t
}

fn store_round_trips(r: &Results) -> Table {
    let mut t = Table::new(
        "Store round trips per protected request",
        &format!(
            "session + REDIS_URL (a local redis-server {}) with a live session cookie, one warm \
             instance, keep-alive; counted by the server (`INFO`: total_commands_processed, \
             cmdstat_get and cmdstat_mget, total_writes_processed: one reply written per round \
             trip), less its own INFO. A check is one MGET of the session's and its user's ended \
             keys. An instance trusts a \"not ended\" answer for \
             one second: the {BACK_TO_BACK} back-to-back requests start more than a second after \
             its last question. Under wrk the checks of concurrent requests share the instance's \
             one connection (several per reply written).",
            r.store.version
        ),
        &[
            "Requests",
            "n",
            "Store commands",
            "GET/MGET",
            "Round trips",
            "Commands/request",
            "Round trips/request",
        ],
    );
    for s in r.round_trips.iter().chain([&r.load.session_store]) {
        let c = &s.counts;
        t.row(vec![
            s.label.clone(),
            s.requests.to_string(),
            c.commands.to_string(),
            c.gets.to_string(),
            c.round_trips.to_string(),
            per(c.commands, s.requests),
            per(c.round_trips, s.requests),
        ]);
    }
    t
}

fn in_process(r: &Results) -> Table {
    let s = r.sessions;
    let mut t = Table::new(
        "In process",
        "The library without HTTP or a runtime's I/O.",
        &["What", "µs per call", "Calls", "Provider requests"],
    );
    t.row(vec![
        "`Auth::serve(&AUTHORIZE, request)`, default issuer, request built each time".to_owned(),
        format!("{:.2}", r.load.handler_us),
        "100000".to_owned(),
        "none".to_owned(),
    ]);
    t.row(vec![
        "`Auth::session` on one live session".to_owned(),
        format!("{:.2}", s.in_process_us),
        s.in_process_calls.to_string(),
        upstream(&s.in_process_upstream),
    ]);
    t
}

/// The title of the table of bursts on one instance, which the table of
/// bursts across instances follows.
pub const BURSTS: &str = "Bursts at expiry";

/// A burst's cells after its first column(s).
fn burst_cells(b: &Burst, parallel: usize) -> [String; 4] {
    [
        upstream(&b.upstream),
        format!("{} of {parallel}", b.signed_in),
        format!("{} of {parallel}", b.with_new_session),
        format!("{:.1} ms", b.wall_ms),
    ]
}

fn bursts(r: &Results) -> Table {
    let s = r.sessions;
    let mut t = Table::new(
        BURSTS,
        &format!(
            "One warm `session` instance; per burst a fresh sign-in whose access token lives 2 s, \
             a wait past its expiry, then {} connections sending the same cookie at once.",
            s.parallel
        ),
        &[
            "Burst",
            "Provider requests",
            "Answers signed in",
            "With the new session",
            "First request → last answer",
        ],
    );
    for (i, b) in s.bursts.iter().enumerate() {
        let mut row = vec![(i + 1).to_string()];
        row.extend(burst_cells(b, s.parallel));
        t.row(row);
    }
    t
}

/// The bursts across instances (also the whole output of
/// `BENCH_ONLY=instances`).
pub fn instances(r: &InstancesResult) -> Table {
    let mut t = Table::new(
        &format!("{BURSTS} across instances"),
        &format!(
            "{PROCESSES} warm `session` processes (each has made a refresh of its own first); per \
             burst, as above, a fresh sign-in whose access token lives 2 s, a wait past its \
             expiry, then {} connections sending the same cookie at once, connection i to process \
             i mod {PROCESSES}. REDIS_URL: the processes share the store (a local redis-server \
             {}): one of them claims the refresh, the others wait for its outcome (a first look \
             at the store after 20 ms, the time of the burst) and answer with the same new \
             session. none: the same without the store, to show what it is for: each process \
             makes its own token call, the first wins, the others are a reuse of the spent \
             refresh token and answer 409; a provider that revokes the grant on reuse (the \
             emulator, as RFC 9700 §4.14.2 describes) revokes the winner's new tokens with it, \
             which signs the user out (README, Sessions across functions).",
            r.parallel, r.store_version
        ),
        &[
            "Store",
            "Burst",
            "Provider requests",
            "Answers signed in",
            "With the new session",
            "First request → last answer",
        ],
    );
    for (store, bursts) in [("REDIS_URL", &r.with_store), ("none", &r.without_store)] {
        for (i, b) in bursts.iter().enumerate() {
            let mut row = vec![store.to_owned(), (i + 1).to_string()];
            row.extend(burst_cells(b, r.parallel));
            t.row(row);
        }
    }
    t
}

fn memory(r: &Results) -> Table {
    let mut t = Table::new(
        "Memory and size",
        &format!(
            "VmRSS after the first response in the complete flow; peak (VmHWM) after {} flows and \
             the binary's wrk runs.",
            r.flow.flows
        ),
        &[
            "Binary",
            "RSS after first response",
            "Peak RSS",
            "Size",
            "Bytes",
            "Stripped",
        ],
    );
    for s in r.sizes {
        t.row(vec![
            s.function.to_owned(),
            if s.function == FLOOR {
                "".to_owned()
            } else {
                mb(r.rss_first_kb(s.function))
            },
            mb(r.peak_kb(s.function)),
            mb_bytes(s.bytes),
            s.bytes.to_string(),
            yes(s.stripped),
        ]);
    }
    t
}

fn flow(r: &Results) -> Table {
    let f = r.flow;
    let mut t = Table::new(
        "Complete flow",
        &format!(
            "testkit's browser through Vercel's route table to the six warm functions (emulator \
             issuer, keep-alive): authorize → consent page → Allow → callback → user-info; {} flows \
             after {WARM_UP} unmeasured. session, validate-token and signout follow each flow, \
             timed apart.",
            f.flows
        ),
        &["Step", "median", "p90", "p99", "mean"],
    );
    let times = &f.times;
    for (label, v) in [
        ("**Complete flow**", &times.total),
        ("authorize (function)", &times.authorize),
        ("consent page (emulator)", &times.consent_page),
        ("consent Allow (emulator)", &times.consent_decision),
        ("callback (function + token at emulator)", &times.callback),
        (
            "user-info (function + userinfo at emulator)",
            &times.user_info,
        ),
        ("session (function, from the cookie)", &times.session),
        (
            "validate-token (function + introspection)",
            &times.validate_token,
        ),
        ("signout (function + 2 revocations)", &times.signout),
        ("flow: inside the emulator's handler", &times.provider),
        ("flow: of which the token endpoint", &times.token),
        ("flow: the rest (functions, HTTP, client)", &times.rest),
    ] {
        let s = summarize(v);
        t.row(vec![
            label.to_owned(),
            format!("{:.3} ms", s.median),
            format!("{:.3} ms", s.p90),
            format!("{:.3} ms", s.p99),
            format!("{:.3} ms", s.mean),
        ]);
    }
    t
}

fn provider_requests(r: &Results) -> Table {
    let f = r.flow;
    let mut t = Table::new(
        "Provider requests",
        "Function → provider requests counted by the emulator (the browser's consent page and \
         decision not included).",
        &["When", "Provider requests"],
    );
    let mean = |s| upstream_mean(s, f.flows);
    let mut rows = vec![
        (
            "Warm sign-in, mean per flow".to_owned(),
            mean(&f.warm.sign_in),
        ),
        (
            "Warm sign-in, most in one flow".to_owned(),
            f.max_sign_in.to_string(),
        ),
        (
            "Warm profile view (user-info), mean".to_owned(),
            mean(&f.warm.profile),
        ),
        ("Warm session view, mean".to_owned(), mean(&f.warm.session)),
        (
            "Warm validate-token, mean".to_owned(),
            mean(&f.warm.validate),
        ),
        ("Warm signout, mean".to_owned(), mean(&f.warm.signout)),
        (
            format!("session under wrk, {} requests", r.load.session_requests),
            upstream(&r.load.session_upstream),
        ),
        (
            "First sign-in, fresh instances".to_owned(),
            upstream(&f.first.sign_in),
        ),
        (
            "First profile view, fresh instance".to_owned(),
            upstream(&f.first.profile),
        ),
        (
            "First session view, fresh instance".to_owned(),
            upstream(&f.first.session),
        ),
    ];
    for func in r.functions {
        rows.push((
            format!("Cold {}, its first request", func.name),
            upstream(&r.cold(Mode::First, func.name).upstream),
        ));
    }
    rows.push((
        format!("Cold {}, default issuer", AUTHORIZE.name),
        "none (Vercel's endpoints built in)".to_owned(),
    ));
    for (when, what) in rows {
        t.row(vec![when, what]);
    }
    t
}
