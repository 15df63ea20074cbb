//! `BENCHMARKS.md`, written one section at a time, and the short summary
//! printed at the end of a run.

mod sections;
mod summary;

use std::time::Duration;

use crate::cold::{self, ColdResult, Mode};
use crate::flow::FlowResult;
use crate::load::LoadResult;
use crate::machine::{Machine, Size};
use crate::provider::upstream;
use crate::quantiles::summarize;
use crate::session::SessionResult;
use crate::{Function, Knobs};

/// Appends one line to the report.
macro_rules! line {
    ($o:expr) => {
        $o.push('\n')
    };
    ($o:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($o, $($arg)*);
    }};
}
pub(crate) use line;

/// Everything a run measured.
pub struct Results<'a> {
    pub machine: &'a Machine,
    pub knobs: &'a Knobs,
    pub functions: &'a [Function],
    pub cold: &'a [ColdResult],
    pub load: &'a LoadResult,
    pub sessions: &'a SessionResult,
    pub flow: &'a FlowResult,
    pub sizes: &'a [Size],
    pub wall: Duration,
}

impl Results<'_> {
    fn cold(&self, mode: Mode, function: &str) -> &ColdResult {
        cold::of(self.cold, mode, function)
    }

    /// VmRSS after the function's first response in the complete flow, KiB.
    fn rss_first_kb(&self, function: &str) -> u64 {
        self.flow
            .memory
            .iter()
            .find(|(n, _, _)| *n == function)
            .map_or(0, |(_, first, _)| *first)
    }

    /// VmHWM of the function over the flows and, if it ran there, wrk, KiB.
    fn peak_kb(&self, function: &str) -> u64 {
        self.flow
            .memory
            .iter()
            .chain(&self.load.memory)
            .filter(|(n, _, _)| *n == function)
            .map(|(_, _, peak)| *peak)
            .max()
            .unwrap_or(0)
    }

    /// The protected function's median throughput over authorize's.
    fn protected_ratio(&self) -> f64 {
        self.load.session.median.rps / self.load.authorize.median.rps
    }
}

/// Everything from this line on in BENCHMARKS.md is written by hand (the
/// analysis) and kept when the benchmark rewrites the file.
pub const ANALYSIS_MARKER: &str = "<!-- Analysis: written by hand, kept by the benchmark -->";

pub fn pass(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

/// KiB (as /proc reports them) to MB (10^6 bytes), the unit of the targets.
pub fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 * 1024.0 / 1e6)
}

pub fn mb_bytes(b: u64) -> String {
    format!("{:.2} MB", b as f64 / 1e6)
}

/// Under 10 MB (10^6 bytes) resident.
pub fn rss_ok(kb: u64) -> bool {
    kb * 1024 < 10_000_000
}

/// Under 3 MB (10^6 bytes) on disk.
pub fn size_ok(bytes: u64) -> bool {
    bytes < 3_000_000
}

/// The generated part of BENCHMARKS.md.
pub fn markdown(r: &Results) -> String {
    let mut o = String::new();
    sections::heading(&mut o, r);
    sections::machine(&mut o, r);
    summary::table(&mut o, r);
    sections::cold_start(&mut o, r);
    sections::warm_load(&mut o, r);
    sections::sessions(&mut o, r);
    sections::memory(&mut o, r);
    sections::binary_size(&mut o, r);
    sections::complete_flow(&mut o, r);
    sections::provider_requests(&mut o, r);
    o
}

/// Writes `markdown` to `path`, keeping the hand-written analysis below
/// [`ANALYSIS_MARKER`].
pub fn write(path: &str, markdown: &str) {
    let kept = std::fs::read_to_string(path)
        .ok()
        .and_then(|old| old.find(ANALYSIS_MARKER).map(|i| old[i..].to_owned()))
        .unwrap_or_else(|| format!("{ANALYSIS_MARKER}\n"));
    std::fs::write(path, format!("{markdown}{kept}")).expect("write BENCHMARKS.md");
}

/// The figures a developer looks at, on stdout.
pub fn print_summary(r: &Results) {
    println!();
    println!(
        "{:<15} {:>9} {:>9} {:>9} {:>9}   provider calls (first)",
        "cold start ms", "startup", "p90", "first", "p90"
    );
    for f in r.functions {
        let a = r.cold(Mode::Startup, f.name());
        let b = r.cold(Mode::First, f.name());
        println!(
            "{:<15} {:>9.2} {:>9.2} {:>9.2} {:>9.2}   {}",
            f.name(),
            a.total.median,
            a.total.p90,
            b.total.median,
            b.total.p90,
            upstream(&b.upstream)
        );
    }
    println!();
    for w in &r.load.runs {
        println!(
            "{:<10} wrk -t{} -c{:<4} {:>9.0} req/s  p50 {:.3} ms  p99 {:.3} ms  function {:.2} cores, wrk {:.2}, other {:.2}",
            w.function,
            w.threads,
            w.connections,
            w.rps,
            w.p50_ms,
            w.p99_ms,
            w.server_cores,
            w.wrk_cores,
            w.other_cores
        );
    }
    println!(
        "session/authorize throughput: {:.0} %",
        r.protected_ratio() * 100.0
    );
    println!(
        "in process: authorize {:.2} µs, Auth::session {:.2} µs ({})",
        r.load.handler_us,
        r.sessions.in_process_us,
        upstream(&r.sessions.in_process_upstream)
    );
    for (i, b) in r.sessions.bursts.iter().enumerate() {
        println!(
            "burst {} × {}: {}, {} signed in, {} with the new session, {:.1} ms",
            i + 1,
            r.sessions.parallel,
            upstream(&b.upstream),
            b.signed_in,
            b.with_new_session,
            b.wall_ms
        );
    }
    println!();
    println!(
        "{:<15} {:>10} {:>10} {:>12}",
        "function", "RSS first", "peak", "size"
    );
    for (f, s) in r.functions.iter().zip(r.sizes) {
        println!(
            "{:<15} {:>10} {:>10} {:>12}",
            f.name(),
            mb(r.rss_first_kb(f.name())),
            mb(r.peak_kb(f.name())),
            mb_bytes(s.bytes)
        );
    }
    println!();
    let t = summarize(&r.flow.times.total);
    println!(
        "complete flow: median {:.3} ms, p99 {:.3} ms ({} flows)",
        t.median, t.p99, t.n
    );
    println!(
        "per warm sign-in: {}; per profile view: {}; per session view: {}",
        upstream(&r.flow.warm.sign_in),
        upstream(&r.flow.warm.profile),
        upstream(&r.flow.warm.session)
    );
}
