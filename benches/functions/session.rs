//! The sealed session: `Auth::session` in process on a live session, and
//! bursts of parallel requests with one expired-token cookie against one
//! instance of the `session` function (they must share one token call);
//! [`rounds`] of such bursts against any number of instances.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use sign_in_with_vercel::{SESSION, SESSION_COOKIE};
use sign_in_with_vercel_emulator::Stats;
use testkit::{Process, free_port};

use crate::provider::{self, Provider, app_request};
use crate::{Function, function, procfs, raw};

/// The access-token lifetime of the burst sessions, seconds: with a
/// quarter of it ahead, the refresh is due at expiry.
const SHORT_TTL: u64 = 2;
/// The emulator's default (Vercel's: 1 hour), restored afterwards.
const HOUR: u64 = 3600;
/// Bursts measured per table (after one unmeasured to each instance).
pub const ROUNDS: usize = 5;

pub struct Burst {
    /// Provider requests the function made for the burst.
    pub upstream: Stats,
    /// Answers 200 with the user.
    pub signed_in: usize,
    /// Answers carrying the refreshed session cookie.
    pub with_new_session: usize,
    /// First request sent → last answer read.
    pub wall_ms: f64,
}

pub struct SessionResult {
    /// `Auth::session` on a live session, in process: µs per call.
    pub in_process_us: f64,
    pub in_process_calls: usize,
    /// Provider requests those calls made.
    pub in_process_upstream: Stats,
    /// Parallel requests per burst.
    pub parallel: usize,
    pub bursts: Vec<Burst>,
}

pub fn run(
    functions: &[Function],
    provider: &Provider,
    rt: &tokio::runtime::Runtime,
    parallel: usize,
) -> SessionResult {
    let (in_process_us, in_process_calls, in_process_upstream) = in_process(provider, rt);
    let bursts = bursts(function(functions, &SESSION), provider, rt, parallel, 1);
    SessionResult {
        in_process_us,
        in_process_calls,
        in_process_upstream,
        parallel,
        bursts,
    }
}

/// `Auth::session` on one live session, many times: its cost and the
/// provider requests it made (the emulator is the library's HTTP client
/// here, so every call would be counted).
fn in_process(provider: &Provider, rt: &tokio::runtime::Runtime) -> (f64, usize, Stats) {
    let jar = provider.signed_in(rt);
    let request = app_request("GET", SESSION.path(&crate::PATHS), &jar);
    let auth = &provider.auth;
    let n = 100_000;
    let before = provider.emulator.stats();
    let us = rt.block_on(async {
        for _ in 0..2_000 {
            let session = auth.session(&request).await;
            assert!(session.is_ok(), "a live session");
            std::hint::black_box(session.ok());
        }
        let t0 = Instant::now();
        for _ in 0..n {
            std::hint::black_box(auth.session(&request).await.ok());
        }
        t0.elapsed().as_secs_f64() * 1e6 / n as f64
    });
    let upstream = provider::delta(&provider.emulator.stats(), &before);
    (us, n + 2_000, upstream)
}

/// [`ROUNDS`] bursts against `processes` warm instances of `function`,
/// started for them and stopped after (one: the bursts on one instance;
/// several: across instances, [`crate::instances`]).
pub fn bursts(
    function: &Function,
    provider: &Provider,
    rt: &tokio::runtime::Runtime,
    parallel: usize,
    processes: usize,
) -> Vec<Burst> {
    let env = function.env(Some(&provider.issuer));
    let mut started: Vec<(Process, u16)> = (0..processes)
        .map(|_| {
            let port = free_port();
            (procfs::spawn(function, port, &env), port)
        })
        .collect();
    for (process, port) in &mut started {
        drop(process.connect(*port, Duration::from_secs(10)));
    }
    let ports: Vec<u16> = started.iter().map(|(_, port)| *port).collect();
    let result = rounds(&ports, provider, rt, parallel);
    for (process, _) in &mut started {
        assert!(
            process.exited().is_none(),
            "a {} process died during the bursts",
            function.name
        );
    }
    result
}

/// [`ROUNDS`] bursts against the warm `session` instances listening on
/// `ports`: each a fresh sign-in whose access token lives [`SHORT_TTL`] s,
/// a wait past its expiry, then `parallel` requests with that cookie
/// released together, request `i` to `ports[i % ports.len()]`.
pub fn rounds(
    ports: &[u16],
    provider: &Provider,
    rt: &tokio::runtime::Runtime,
    parallel: usize,
) -> Vec<Burst> {
    provider.emulator.set_access_token_ttl(SHORT_TTL);
    // One unreported burst to each instance alone first: it makes the
    // refresh, fetching discovery and the JWKS once (and connects to its
    // store), as a busy instance already has. (In a burst spread over
    // instances that share a store only the one that claims the refresh
    // asks the provider anything.)
    for port in ports {
        burst(&[*port], provider, rt, parallel);
    }
    let result = (0..ROUNDS)
        .map(|_| burst(ports, provider, rt, parallel))
        .collect();
    provider.emulator.set_access_token_ttl(HOUR);
    result
}

/// One burst: a fresh sign-in, a wait past its access token's expiry, then
/// `parallel` requests with its cookie at once, spread over `ports`.
fn burst(
    ports: &[u16],
    provider: &Provider,
    rt: &tokio::runtime::Runtime,
    parallel: usize,
) -> Burst {
    let jar = provider.signed_in(rt);
    std::thread::sleep(Duration::from_millis(SHORT_TTL * 1000 + 1100));
    let before = provider.emulator.stats();
    let (answers, wall) = parallel_requests(
        ports,
        parallel,
        raw::request("GET", SESSION.path(&crate::PATHS), jar.header().as_deref()),
    );
    let wall_ms = wall.as_secs_f64() * 1e3;
    let upstream = provider::delta(&provider.emulator.stats(), &before);
    let old = jar.names(SESSION_COOKIE);
    let session_prefix = format!("{SESSION_COOKIE}.");
    let is_new_session = |c: &str| {
        c.starts_with(&session_prefix)
            && !c.contains("Max-Age=0")
            && !old.iter().any(|o| c.starts_with(&format!("{o}=")))
    };
    Burst {
        upstream,
        signed_in: answers
            .iter()
            .filter(|r| r.status == 200 && !r.body_text().contains("\"user\":null"))
            .count(),
        with_new_session: answers
            .iter()
            .filter(|r| r.set_cookies().any(is_new_session))
            .count(),
        wall_ms,
    }
}

/// `n` connections opened first (connection `i` to `ports[i % ports.len()]`),
/// then the same request written on each at once (a barrier), every answer
/// read; and the time from the first request written to the last answer
/// read (the connections and threads are made before it starts).
fn parallel_requests(ports: &[u16], n: usize, request: Vec<u8>) -> (Vec<raw::Raw>, Duration) {
    let barrier = Arc::new(Barrier::new(n));
    let request = Arc::new(request);
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            let request = request.clone();
            let port = ports[i % ports.len()];
            let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
            stream.set_nodelay(true).expect("TCP_NODELAY");
            stream
                .set_read_timeout(Some(Duration::from_secs(20)))
                .expect("read timeout");
            std::thread::spawn(move || {
                barrier.wait();
                let sent = Instant::now();
                let answer = raw::exchange(&mut stream, &request).expect("a burst answer");
                (sent, answer, Instant::now())
            })
        })
        .collect();
    let done: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().expect("burst thread"))
        .collect();
    let first = done.iter().map(|(sent, _, _)| *sent).min();
    let last = done.iter().map(|(_, _, read)| *read).max();
    let wall = first.zip(last).map_or(Duration::ZERO, |(f, l)| l - f);
    (
        done.into_iter().map(|(_, answer, _)| answer).collect(),
        wall,
    )
}
