//! The summary table: one row per target.

use sign_in_with_vercel::{AUTHORIZE, CALLBACK};

use super::{Results, line, mb, mb_bytes, pass, rss_ok, size_ok};
use crate::cold::Mode;
use crate::provider::{upstream_mean, upstream_total};
use crate::quantiles::summarize;

/// Authorize's throughput target on this machine, req/s.
pub const AUTHORIZE_RPS: f64 = 44_000.0;
/// `Auth::session` on a live session, in process, µs.
pub const SESSION_US: f64 = 10.0;
/// The protected function's throughput, at least this share of authorize's.
pub const PROTECTED_SHARE: f64 = 0.8;

pub fn table(o: &mut String, r: &Results) {
    line!(o, "## Summary\n");
    line!(
        o,
        "Reference: the Next.js version of Vercel's guide on this 2-core machine in production mode.\n"
    );
    line!(
        o,
        "| Figure | Rust functions | Target | Reference (Next.js) | |\n|---|---|---|---|---|"
    );
    cold_rows(o, r);
    load_rows(o, r);
    session_rows(o, r);
    footprint_rows(o, r);
    flow_rows(o, r);
    line!(o);
}

fn worst_cold(r: &Results, mode: Mode) -> (f64, &'static str) {
    r.functions
        .iter()
        .map(|f| (r.cold(mode, f.name()).total.median, f.name()))
        .fold((0.0, ""), |a, b| if b.0 > a.0 { b } else { a })
}

fn cold_rows(o: &mut String, r: &Results) {
    let (first, first_of) = worst_cold(r, Mode::First);
    let (startup, startup_of) = worst_cold(r, Mode::Startup);
    let authorize = r.cold(Mode::Startup, AUTHORIZE.name).total.median;
    line!(
        o,
        "| Cold start, route's first response incl. its provider calls, median, worst function ({first_of}) | {first:.2} ms | < 5 ms every function | ~350 ms (first redirect) | {} |",
        pass(first < 5.0)
    );
    line!(
        o,
        "| Cold start, no provider call (startup + response), median, worst function ({startup_of}) | {startup:.2} ms | < 5 ms every function | ~350 ms | {} |",
        pass(startup < 5.0)
    );
    line!(
        o,
        "| Cold start of authorize to its redirect (default issuer, no provider call), median | {authorize:.2} ms | < 5 ms | ~350 ms | {} |",
        pass(authorize < 5.0)
    );
}

fn load_rows(o: &mut String, r: &Results) {
    let a = &r.load.authorize;
    line!(
        o,
        "| Authorize throughput, wrk -t{} -c{} -d{}s, median of {} runs (range) | {:.0} req/s ({:.0}–{:.0}) | ≥ 44,000 req/s | ~2,200 req/s | {} |",
        a.median.threads,
        a.median.connections,
        r.knobs.wrk_secs,
        a.rps.len(),
        a.median.rps,
        a.min(),
        a.max(),
        pass(a.median.rps >= AUTHORIZE_RPS)
    );
    line!(
        o,
        "| Authorize latency p50 / p99 (that run) | {:.2} / {:.2} ms | p99 < 2 ms | 6.4 / 16 ms | {} |",
        a.median.p50_ms,
        a.median.p99_ms,
        pass(a.median.p99_ms < 2.0)
    );
    let s = &r.load.session;
    line!(
        o,
        "| Protected function (`session` with a valid session cookie) throughput, same wrk, runs interleaved with authorize's, median (range) | {:.0} req/s ({:.0}–{:.0}): {:.0} % of authorize's | within 20 % of authorize's | | {} |",
        s.median.rps,
        s.min(),
        s.max(),
        r.protected_ratio() * 100.0,
        pass(r.protected_ratio() >= PROTECTED_SHARE)
    );
}

fn session_rows(o: &mut String, r: &Results) {
    let s = r.sessions;
    let in_process = upstream_total(&s.in_process_upstream);
    line!(
        o,
        "| `Auth::session` on a live session, in process ({} calls) | {:.2} µs, {} provider requests | ≤ 10 µs, 0 provider requests | | {} |",
        s.in_process_calls,
        s.in_process_us,
        in_process,
        pass(s.in_process_us <= SESSION_US && in_process == 0)
    );
    let under_load = upstream_total(&r.load.session_upstream);
    let in_flows = upstream_total(&r.flow.warm.session);
    line!(
        o,
        "| Provider requests per protected request (`session` under wrk: {} requests; in {} warm flows) | {:.4} under wrk, {:.4} in the flows | 0 | | {} |",
        r.load.session_requests,
        r.flow.flows,
        under_load as f64 / r.load.session_requests.max(1) as f64,
        in_flows as f64 / r.flow.flows.max(1) as f64,
        pass(under_load == 0 && in_flows == 0)
    );
    let tokens: Vec<u64> = s.bursts.iter().map(|b| b.upstream.token).collect();
    let others: u64 = s
        .bursts
        .iter()
        .map(|b| upstream_total(&b.upstream) - b.upstream.token)
        .sum();
    let all_in = s.bursts.iter().all(|b| b.signed_in == s.parallel);
    line!(
        o,
        "| Provider requests per parallel burst at expiry ({} requests with one expired-token cookie, one `session` instance, {} bursts) | token {} per burst (others {}); every answer signed in: {} | 1 token request | | {} |",
        s.parallel,
        s.bursts.len(),
        tokens
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        others,
        if all_in { "yes" } else { "NO" },
        pass(tokens.iter().all(|t| *t == 1) && all_in)
    );
}

fn footprint_rows(o: &mut String, r: &Results) {
    let names = || r.functions.iter().map(|f| f.name());
    let first = names().map(|n| r.rss_first_kb(n)).max().unwrap_or(0);
    let peak = names().map(|n| r.peak_kb(n)).max().unwrap_or(0);
    let size = r.sizes.iter().map(|s| s.bytes).max().unwrap_or(0);
    line!(
        o,
        "| RSS after first response, worst function | {} | | ~90 MB | |",
        mb(first)
    );
    line!(
        o,
        "| Peak RSS (VmHWM) under load, worst function | {} | < 10 MB every function | ~240 MB | {} |",
        mb(peak),
        pass(rss_ok(peak))
    );
    line!(
        o,
        "| Stripped binary size, largest function | {} | < 3 MB every function | | {} |",
        mb_bytes(size),
        pass(size_ok(size) && r.sizes.iter().all(|s| s.stripped))
    );
}

fn flow_rows(o: &mut String, r: &Results) {
    let f = r.flow;
    let total = summarize(&f.times.total);
    line!(
        o,
        "| Complete flow (authorize, consent, callback, user-info), median / p99 | {:.2} / {:.2} ms | < 5 ms | ~13 ms | {} |",
        total.median,
        total.p99,
        pass(total.median < 5.0)
    );
    let n = f.flows as f64;
    let s = &f.warm.sign_in;
    let cold_callback = &r.cold(Mode::First, CALLBACK.name).upstream;
    let warm_ok = s.token == f.flows as u64 && s.jwks == 0 && s.discovery == 0;
    line!(
        o,
        "| Provider requests per warm sign-in (mean over {} flows; most in one: {}) | token {:.2}, jwks {:.2}, discovery {:.2} | 1 token + ≤ 1 JWKS per instance, no discovery (default issuer) | | {} |",
        f.flows,
        f.max_sign_in,
        s.token as f64 / n,
        s.jwks as f64 / n,
        s.discovery as f64 / n,
        pass(warm_ok && f.max_sign_in <= 2 && cold_callback.jwks <= 1 && cold_callback.token == 1)
    );
    line!(
        o,
        "| Provider requests per warm profile view (user-info), mean | {} | | | |",
        upstream_mean(&f.warm.profile, f.flows)
    );
}
