//! The shared session store (`REDIS_URL`): a local `redis-server`
//! (`testkit::RedisServer`), and what it counts of the functions' use:
//! commands, reads (`GET`, `MGET`) and round trips. A round trip is one
//! reply the server writes (`total_writes_processed`): the `MGET` of a
//! session check is answered in one write.

use std::time::Duration;

use testkit::{RedisServer, free_port};

use crate::load::probe;
use crate::provider::Provider;
use crate::{Function, procfs, raw};

/// Requests of the back-to-back run, and of the spaced one.
pub const BACK_TO_BACK: u64 = 1_000;
pub const SPACED: u64 = 5;
/// Longer than an instance trusts a "not ended" answer (one second).
pub const SPACE: Duration = Duration::from_millis(1_200);

/// What the server counted.
#[derive(Clone, Copy, Default)]
pub struct Counts {
    pub commands: u64,
    pub gets: u64,
    pub round_trips: u64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.commands += other.commands;
        self.gets += other.gets;
        self.round_trips += other.round_trips;
    }
}

pub struct Store {
    server: RedisServer,
    /// What reading the counts adds to them (the `INFO` command and its reply).
    overhead: Counts,
    pub version: String,
}

impl Store {
    /// Starts `redis-server` (panics, saying why, when it cannot).
    pub fn start() -> Self {
        let server = RedisServer::start();
        let version = field(&server.info("server"), "redis_version:").to_owned();
        let mut store = Self {
            server,
            overhead: Counts::default(),
            version,
        };
        store.overhead = store.since(store.counts());
        store
    }

    /// For `REDIS_URL`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The server's counts so far.
    pub fn counts(&self) -> Counts {
        let info = self.server.info("all");
        let number = |prefix: &str| -> u64 {
            field(&info, prefix)
                .split(',')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("redis-server's INFO has no {prefix}"))
        };
        Counts {
            commands: number("total_commands_processed:"),
            // No line until the first of each.
            gets: ["cmdstat_get:", "cmdstat_mget:"]
                .iter()
                .filter(|stat| info.contains(*stat))
                .map(|stat| number(&format!("{stat}calls=")))
                .sum(),
            round_trips: number("total_writes_processed:"),
        }
    }

    /// What the functions asked of it since `before`.
    pub fn since(&self, before: Counts) -> Counts {
        let now = self.counts();
        let less = |now: u64, before: u64, overhead: u64| now.saturating_sub(before + overhead);
        Counts {
            commands: less(now.commands, before.commands, self.overhead.commands),
            gets: less(now.gets, before.gets, self.overhead.gets),
            round_trips: less(
                now.round_trips,
                before.round_trips,
                self.overhead.round_trips,
            ),
        }
    }
}

fn field<'a>(info: &'a str, prefix: &str) -> &'a str {
    info.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_default()
        .trim()
}

/// Store use over a known number of protected requests.
pub struct RoundTrips {
    pub label: String,
    pub requests: u64,
    pub counts: Counts,
}

/// `session` (`function`, run with the store) with a live session cookie
/// on one warm instance, keep-alive: [`BACK_TO_BACK`] requests at once,
/// then [`SPACED`] requests [`SPACE`] apart, each counted from more than a
/// second after the instance's last question to the store.
pub fn round_trips(
    function: &Function,
    provider: &Provider,
    rt: &tokio::runtime::Runtime,
    store: &Store,
) -> Vec<RoundTrips> {
    let probe = probe(function, provider, rt);
    let port = free_port();
    let mut process = procfs::spawn(function, port, &probe.env);
    let mut stream = process.connect(port, Duration::from_secs(10));
    let request = raw::keep_alive(function.method(), function.path(), probe.cookie.as_deref());
    let mut ask = || {
        let answer = raw::exchange(&mut stream, &request)
            .unwrap_or_else(|e| panic!("{}: {e}", function.name));
        assert!(
            answer.status == 200 && !answer.body_text().contains("\"user\":null"),
            "{}: {}",
            function.name,
            answer.describe()
        );
    };
    // The first request connects to the store.
    ask();
    std::thread::sleep(SPACE);
    let before = store.counts();
    for _ in 0..BACK_TO_BACK {
        ask();
    }
    let back_to_back = store.since(before);
    let before = store.counts();
    for _ in 0..SPACED {
        std::thread::sleep(SPACE);
        ask();
    }
    let spaced = store.since(before);
    drop(process);
    vec![
        RoundTrips {
            label: "back-to-back, one connection".to_owned(),
            requests: BACK_TO_BACK,
            counts: back_to_back,
        },
        RoundTrips {
            label: format!("{} s apart", SPACE.as_secs_f64()),
            requests: SPACED,
            counts: spaced,
        },
    ]
}
