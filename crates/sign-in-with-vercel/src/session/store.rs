//! The optional shared store: Redis over its standard protocol, as Vercel's
//! marketplace provides it (`REDIS_URL` from Redis Cloud, `KV_URL` from
//! Upstash), TLS (`rediss://`) by rustls. Behind the `redis` cargo feature.
//!
//! On Vercel every function is its own instance, so in-memory sharing stops
//! at one instance. With a store, the sessions of all instances share:
//! - **one refresh per session generation**: the first instance to claim
//!   it (`SET … NX PX`) makes the token call and publishes the outcome,
//!   sealed, for fifteen minutes (as long as the new generation can take
//!   to reach the browser: `OUTCOME_TTL`); the others wait for it within
//!   their deadline and answer with the same new generation (or the same
//!   refusal);
//! - **ended sessions**: sign-out, app removal and a refused grant mark the
//!   session's id ended; "sign out everywhere" marks the user's sessions
//!   begun until now ended. Every protected request asks, in one command
//!   (`MGET`), its answer cached for a second per instance.
//!
//! Keys are hashes (never a token, never a user id in the clear), under a
//! prefix of the app's own; values hold no token in plain text and no
//! value that works as a session cookie (see [`super::shared`]).
//!
//! The store is a help, never a dependency: a store that is down, slow or
//! refusing leaves the sessions exactly as they are without one (nothing
//! fails that would not have, nothing waits past the request's deadline),
//! and each instance says so once in its log.

// Without the `redis` feature the keys and claims are still compiled and
// unit-tested, but nothing uses them.
#![cfg_attr(not(feature = "redis"), allow(dead_code))]

use ring::digest::{Context, SHA256, digest};

pub use crate::config::StoreUrl;

/// What a claim on a refresh found. No `Debug`: an outcome holds a sealed
/// session, which is as good as the session cookie.
pub(crate) enum Claim {
    /// Another instance finished it: its outcome (see [`super::shared`]).
    Outcome(String),
    /// This instance claimed it, with this random value: make the token
    /// call, then publish (or release the claim, if it is still this one).
    Won(String),
    /// Another instance is making the call: ask again shortly.
    Wait,
}

/// The store's keys for one app: `siv:<app>:<kind>:<hash>`, where `<app>`
/// tells apart the apps (issuer and client) that share a store.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    /// The keys of the app `client_id` of `issuer`.
    pub(crate) fn new(issuer: &str, client_id: &str) -> Self {
        let mut app = Context::new(&SHA256);
        app.update(issuer.as_bytes());
        app.update(&[0]);
        app.update(client_id.as_bytes());
        let mut prefix = String::from("siv:");
        push_hex(&mut prefix, &app.finish().as_ref()[..6]);
        prefix.push(':');
        Self { prefix }
    }

    /// `<prefix><kind>:<hash>`, in one allocation: the keys are made on
    /// every check a protected request makes of the store.
    fn hashed(&self, kind: &str, value: &[u8]) -> String {
        self.keyed(kind, &digest(&SHA256, value).as_ref()[..16])
    }

    /// `<prefix><kind>:<hex of hash>`.
    fn keyed(&self, kind: &str, hash: &[u8]) -> String {
        let mut key = String::with_capacity(self.prefix.len() + kind.len() + 1 + 2 * hash.len());
        key.push_str(&self.prefix);
        key.push_str(kind);
        key.push(':');
        push_hex(&mut key, hash);
        key
    }

    /// A session that was ended.
    pub(crate) fn ended_session(&self, sid: &str) -> String {
        self.hashed("s", sid.as_bytes())
    }

    /// When all of a user's sessions were ended ("sign out everywhere"):
    /// the key in milliseconds, then the one in seconds that earlier
    /// versions read and write ([`UserMarks`]); one hash for both.
    pub(crate) fn ended_user(&self, sub: &str) -> [String; 2] {
        let hash = digest(&SHA256, sub.as_bytes());
        let hash = &hash.as_ref()[..16];
        [self.keyed("e", hash), self.keyed("u", hash)]
    }

    /// The claim on refreshing one generation (its flight key).
    pub(crate) fn claim(&self, flight: &[u8; 32]) -> String {
        self.hashed("c", flight)
    }

    /// The outcome of refreshing one generation.
    pub(crate) fn outcome(&self, flight: &[u8; 32]) -> String {
        self.hashed("o", flight)
    }
}

/// A user's "sign out everywhere" marks, as the store holds them. Sessions
/// kept their start in whole seconds before, and so did the mark; an
/// instance of an earlier version can share the store (a preview
/// deployment, a rollback), so both keys are written and read.
#[derive(Debug, Default, PartialEq)]
struct UserMarks {
    /// Milliseconds since the epoch: every session begun until then ends.
    ms: Option<i64>,
    /// Seconds since the epoch: every session begun until the end of that
    /// second ends. This version writes the second before its own mark's,
    /// so that an earlier version ends what it can without ending a
    /// sign-in right after the mark.
    seconds: Option<i64>,
}

impl UserMarks {
    /// The marks of "sign out everywhere" at `at_ms`: in milliseconds, and
    /// in seconds.
    fn at(at_ms: i64) -> (i64, i64) {
        (at_ms, at_ms.div_euclid(1000).saturating_sub(1))
    }

    /// The marks as the store holds them; a value that is not a number
    /// (no version writes one) is no mark.
    fn read(ms: Option<&[u8]>, seconds: Option<&[u8]>) -> Self {
        let number = |v: &[u8]| std::str::from_utf8(v).ok()?.parse().ok();
        Self {
            ms: ms.and_then(number),
            seconds: seconds.and_then(number),
        }
    }

    /// The marks less those of a clock gone wrong: later than `now_ms` by
    /// more than `skew_ms` (a "sign out everywhere" replaces such a mark).
    fn plausible_at(self, now_ms: i64, skew_ms: i64) -> Self {
        let until = now_ms.saturating_add(skew_ms);
        Self {
            ms: self.ms.filter(|at| *at <= until),
            seconds: self.seconds.filter(|at| at.saturating_mul(1000) <= until),
        }
    }

    /// Whether they end a session begun at `started_ms`: one begun at or
    /// before either mark.
    fn end(&self, started_ms: i64) -> bool {
        self.ms.is_some_and(|at| started_ms <= at)
            || self
                .seconds
                .is_some_and(|at| started_ms <= at.saturating_mul(1000).saturating_add(999))
    }
}

/// Appends `bytes` in lower-case hex.
fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
}

/// How long a refresh's outcome is kept for the other instances: as long
/// as the new generation can take to reach the browser (it rides on the
/// response of the request that made it, which can be a long handler's),
/// so that a copy of the old generation sent meanwhile is answered with it
/// instead of spending the old refresh token again, which the provider
/// refuses and which would end the session.
pub(crate) const OUTCOME_TTL: std::time::Duration =
    std::time::Duration::from_secs(crate::session::cookie::LATE_LANDING_SECS.unsigned_abs());

#[cfg(feature = "redis")]
pub(crate) use with_redis::Store;
#[cfg(not(feature = "redis"))]
pub(crate) use without_redis::Store;

#[cfg(not(feature = "redis"))]
mod without_redis {
    use super::{Claim, Keys, StoreUrl};

    /// A build without the `redis` feature has no store: this type has no
    /// value, so every use of one is unreachable by construction.
    pub(crate) enum Store {}

    impl Store {
        /// Always `None`; a configured URL is logged as unused.
        pub(crate) fn new(url: &StoreUrl, _: Keys) -> Option<Self> {
            let _ = url;
            crate::log::warn(
                "REDIS_URL (or KV_URL) is set, but this build has no `redis` feature: \
                 sessions are not shared across instances",
            );
            None
        }

        pub(crate) async fn ended(&self, _: &str, _: &str, _: i64) -> Option<bool> {
            match *self {}
        }

        pub(crate) async fn may_end_user(&self, _: &str, _: &str, _: i64, _: i64) -> Option<bool> {
            match *self {}
        }

        pub(crate) async fn end_session(&self, _: &str) -> bool {
            match *self {}
        }

        pub(crate) async fn end_user(&self, _: &str, _: i64) -> bool {
            match *self {}
        }

        pub(crate) async fn claim(&self, _: &[u8; 32]) -> Option<Claim> {
            match *self {}
        }

        pub(crate) async fn publish(&self, _: &[u8; 32], _: &str, _: bool) -> bool {
            match *self {}
        }

        pub(crate) async fn publish_late(
            &self,
            _: &[u8; 32],
            _: &str,
            _: std::time::Duration,
        ) -> bool {
            match *self {}
        }

        pub(crate) fn track_late(&self, _: String, _: tokio::task::AbortHandle) {
            match *self {}
        }

        pub(crate) fn cancel_late(&self, _: &str) {
            match *self {}
        }

        pub(crate) fn ended_here(&self, _: &str) {
            match *self {}
        }

        pub(crate) async fn release(&self, _: &[u8; 32], _: &str) {
            match *self {}
        }
    }
}

#[cfg(feature = "redis")]
mod with_redis {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use redis::aio::MultiplexedConnection;
    use redis::{AsyncConnectionConfig, RedisError};

    use super::{Claim, Keys, StoreUrl, UserMarks};
    use crate::clock::time_left;

    /// How long one round trip to the store may take.
    pub(crate) const ROUND_TRIP_TIMEOUT: Duration = Duration::from_millis(500);
    /// How often a store that asks to be asked again later (a replica,
    /// a store loading its data) is logged, and how soon a new cause of
    /// an outage already said is.
    const SAY_WAIT_EVERY: Duration = Duration::from_secs(60);
    /// How long connecting to the store may take.
    pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
    /// After a failure, how long an instance leaves the store alone.
    pub(crate) const BACK_OFF: Duration = Duration::from_secs(5);
    /// The least time a round trip is tried in: with less left of the
    /// request's deadline (a slow provider call spent it), the store is
    /// not asked, and its silence is not taken for an outage.
    const MIN_ROUND_TRIP: Duration = Duration::from_millis(20);
    /// How long an ended session or user stays ended: as long as a session
    /// can live, and a margin for clocks.
    const ENDED_FOR: i64 = crate::session::cookie::REFRESH_TOKEN_TTL_SECS + 120;
    /// How long an instance trusts that a session was not ended.
    pub(crate) const LIVE_FOR: Duration = Duration::from_secs(1);
    use super::OUTCOME_TTL;
    /// Sets `KEYS[1]` to the number `ARGV[1]` for `ARGV[2]` seconds,
    /// unless it holds a later one, atomically: two "sign out everywhere"
    /// of one user that reach the store out of order (one took its time,
    /// then stalled) leave the later mark. A held mark later by more than
    /// `ARGV[3]` (the clocks' skew) is a wrong one (a clock far ahead) and
    /// is replaced, so that it cannot end every sign-in until its time.
    /// One key per script: keys in different slots of a sharded store
    /// cannot share one.
    const SET_LATER: &str = "\
        local held = tonumber(redis.call('GET', KEYS[1])) \
        local new = tonumber(ARGV[1]) \
        if held == nil or held < new or held > new + tonumber(ARGV[3]) then \
            redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) \
        end \
        return 0";
    /// How far apart the instances' clocks may be, for [`SET_LATER`].
    const MARK_SKEW_SECS: i64 = crate::session::cookie::CLOCK_SKEW_SECS;
    /// Deletes `KEYS[1]` if it holds `ARGV[1]`, atomically: a claim is
    /// released only by the instance that holds it.
    const DELETE_IF_HELD: &str = "\
        if redis.call('GET', KEYS[1]) == ARGV[1] then \
            return redis.call('DEL', KEYS[1]) \
        end \
        return 0";
    /// How long a claim on a refresh holds: past any request's deadline.
    pub(crate) const CLAIM_TTL: Duration = Duration::from_secs(10);

    /// Why a round trip gave no answer; logged, never shown.
    enum Failure {
        /// Not asked: the store is resting, or the request has no time
        /// left to ask it in.
        Skipped,
        Timeout,
        /// No connection could be made (the handshake's `AUTH` or `HELLO`
        /// refused, a rotated password: never an answer to a command).
        Connect(RedisError),
        Redis(RedisError),
    }

    /// Whether the store answered `e`, refusing a command, rather than
    /// failing to answer: a server error, known to the client by its code
    /// or not (`OOM`, `BUSY`, `NOREPLICAS`…, which it calls `Extension`).
    fn answered(e: &RedisError) -> bool {
        matches!(
            e.kind(),
            redis::ErrorKind::Server(_) | redis::ErrorKind::Extension
        )
    }

    /// Whether `e` is a replica's refusal (`READONLY`, `MASTERDOWN`: a
    /// failover moved the primary), after which the next command is to
    /// connect again to wherever the store's name now points.
    fn failover(e: &RedisError) -> bool {
        matches!(
            e.kind(),
            redis::ErrorKind::Server(
                redis::ServerErrorKind::ReadOnly | redis::ServerErrorKind::MasterDown
            )
        )
    }

    /// Why the store asked to be asked again later, if `e` is such a
    /// refusal: a replica's, `LOADING` (a restart reading its data),
    /// `BUSY` (another client's long script), `TRYAGAIN`, `CLUSTERDOWN`,
    /// `NOREPLICAS` (a write the store's replicas could not confirm). For
    /// the log; the command is worth sending again. `code`: the refusal's
    /// ([`refusal_code`]).
    fn wait_asked(e: &RedisError, code: Option<&str>) -> Option<&'static str> {
        use redis::ServerErrorKind as Kind;
        if failover(e) {
            return Some("a replica: writes wait for a primary behind the store's name");
        }
        match e.kind() {
            redis::ErrorKind::Server(Kind::BusyLoading) => Some("loading its data after a restart"),
            redis::ErrorKind::Server(Kind::TryAgain | Kind::ClusterDown) => {
                Some("a cluster between states")
            }
            _ => match code {
                Some("BUSY") => Some("busy with a long script"),
                Some("NOREPLICAS") => Some("its replicas did not confirm a write"),
                _ => None,
            },
        }
    }

    /// The code of the store's refusal (`OOM`, `NOPERM`…), for the log: a
    /// pipeline's first failed command's, which the client's own `code`
    /// leaves out for a code it does not know. A word the store chose,
    /// never a value of ours.
    fn refusal_code(e: &RedisError) -> Option<String> {
        e.clone()
            .into_server_errors()
            .and_then(|errors| errors.first().map(|(_, e)| e.code().to_owned()))
            .or_else(|| e.code().map(str::to_owned))
            .filter(|code| code.len() <= 32 && code.bytes().all(|b| b.is_ascii_alphanumeric()))
    }

    /// Why the store could not be reached, for the log: a TLS failure as
    /// rustls words it (a certificate no authority signed, a name that
    /// does not match), another I/O failure by its kind (a refused
    /// connection), anything else by the client's error kind. Neither a
    /// TLS nor an I/O error carries the URL or its password.
    fn unreachable_because(e: &RedisError) -> String {
        use std::error::Error;
        // The client keeps an I/O error behind an `Arc`, its source.
        let io = e.source().and_then(|s| {
            s.downcast_ref::<std::io::Error>().or_else(|| {
                s.downcast_ref::<std::sync::Arc<dyn Error + Send + Sync>>()
                    .and_then(|inner| inner.downcast_ref::<std::io::Error>())
            })
        });
        match io {
            Some(io) => match io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                Some(tls) => format!("TLS: {tls}"),
                None => format!("{:?}", io.kind()),
            },
            None => format!("{:?}", e.kind()),
        }
    }

    /// The shared store of one instance: one lazily opened connection,
    /// reused by every request, and what the instance remembers of it.
    pub(crate) struct Store {
        client: redis::Client,
        /// Whether the store is reached over TLS (`rediss://`).
        tls: bool,
        keys: Keys,
        connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
        /// Until when the instance leaves a failed store alone.
        resting_until: Mutex<Option<Instant>>,
        /// Why the store failed, as the instance last said it in its log,
        /// and when; `None` while it answers.
        said_down: Mutex<Option<(String, Instant)>>,
        /// When a refusal asking to wait was last logged: once a minute
        /// at most, whatever retries it (a late publication, every second).
        said_wait: Mutex<Option<Instant>>,
        /// Sessions seen not ended: trusted for [`LIVE_FOR`].
        live: Mutex<Live>,
        /// The late publications still to make, and the sessions ended in
        /// this instance, which cancel theirs.
        late: Mutex<Late>,
    }

    /// The late publications of one instance.
    #[derive(Default)]
    struct Late {
        /// Still to make, by session id.
        tasks: Vec<(String, tokio::task::AbortHandle)>,
        /// The sessions ended in this instance within [`OUTCOME_TTL`], at
        /// most [`ENDED_KEPT`], newest last: a refresh whose token call was
        /// out when its session ended publishes nothing when it returns.
        ended: std::collections::VecDeque<(String, Instant)>,
    }

    /// How many ended sessions an instance remembers for [`Late::ended`]:
    /// far more sign-outs than an instance sees in [`OUTCOME_TTL`].
    const ENDED_KEPT: usize = 1024;

    /// What a round trip came to.
    enum Reply<T> {
        Value(T),
        /// The store answered, refusing the command.
        Refused,
        /// Not asked, or no answer.
        Unanswered,
    }

    /// What an instance remembers of the store's "not ended" answers.
    #[derive(Default)]
    struct Live {
        /// Sessions seen not ended, and when the store was asked.
        seen: HashMap<String, Instant>,
        /// How many endings this instance has begun or finished: an answer
        /// to a question asked before one of them is not remembered (it
        /// may predate the ending).
        endings: u64,
    }

    impl Live {
        /// An ending begins or is done: forget `sid` (or, with `None`,
        /// every session), and the answers still on their way.
        fn ending(&mut self, sid: Option<&str>) {
            self.endings = self.endings.wrapping_add(1);
            match sid {
                Some(sid) => {
                    self.seen.remove(sid);
                }
                None => self.seen.clear(),
            }
        }
    }

    impl Store {
        /// The store at `url`, not yet connected: a cold start makes no
        /// network call for it. `None` (logged) if the URL does not parse,
        /// which the configuration has already refused
        /// ([`StoreUrl::parse`]); kept for a `StoreUrl` that comes another way.
        pub(crate) fn new(url: &StoreUrl, keys: Keys) -> Option<Self> {
            // No `CLIENT SETINFO` after connecting: that would be one
            // more round trip on each instance's first protected request.
            let info = redis::IntoConnectionInfo::into_connection_info(url.secret()).map(|info| {
                let settings = info.redis_settings().clone().set_skip_set_lib_name();
                info.set_redis_settings(settings)
            });
            // `REDIS_CA_PEM`: its authorities replace Mozilla's roots.
            let client = info.and_then(|info| match url.authorities() {
                None => redis::Client::open(info),
                Some(pem) => redis::Client::build_with_tls(
                    info,
                    redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(pem.as_bytes().to_vec()),
                    },
                ),
            });
            match client {
                Ok(client) => Some(Self {
                    tls: url.is_tls(),
                    client,
                    keys,
                    connection: tokio::sync::Mutex::new(None),
                    resting_until: Mutex::new(None),
                    said_down: Mutex::new(None),
                    said_wait: Mutex::new(None),
                    live: Mutex::new(Live::default()),
                    late: Mutex::default(),
                }),
                Err(e) => {
                    // The error names the URL's problem, not its password.
                    crate::log::error(&format!(
                        "REDIS_URL is not usable ({:?}): sessions are not shared across instances",
                        e.kind()
                    ));
                    None
                }
            }
        }

        /// Whether a refusal asking to wait is to be logged now: once a
        /// minute at most ([`SAY_WAIT_EVERY`]), however many commands meet
        /// it.
        fn wait_news_due(&self) -> bool {
            let now = Instant::now();
            let mut said = lock(&self.said_wait);
            let due = said.is_none_or(|at| now.duration_since(at) >= SAY_WAIT_EVERY);
            if due {
                *said = Some(now);
            }
            due
        }

        /// Drops the kept connection, so that the next command opens one;
        /// left as it is while another request is opening one (which then
        /// is new anyway), rather than waiting for it past a deadline.
        fn forget_connection(&self) {
            if let Ok(mut slot) = self.connection.try_lock() {
                *slot = None;
            }
        }

        /// The connection, opened on first use and again after a failure.
        async fn connection(&self) -> Result<MultiplexedConnection, Failure> {
            let mut slot = self.connection.lock().await;
            if let Some(connection) = slot.as_ref() {
                return Ok(connection.clone());
            }
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(CONNECT_TIMEOUT))
                .set_response_timeout(Some(ROUND_TRIP_TIMEOUT));
            if self.tls {
                // The Redis client builds its TLS configuration with
                // rustls's process-wide provider. When the app links a
                // second one (reqwest's default features bring aws-lc-rs),
                // rustls cannot choose and panics: ring, which every other
                // TLS connection here uses, is made that provider, once,
                // unless the app has installed its own, which is then used.
                static PROVIDER: std::sync::Once = std::sync::Once::new();
                PROVIDER.call_once(|| {
                    let _ = crate::transport::ring_provider().install_default();
                });
            }
            let connection = self
                .client
                .get_multiplexed_async_connection_with_config(&config)
                .await
                .map_err(Failure::Connect)?;
            *slot = Some(connection.clone());
            Ok(connection)
        }

        /// Runs one round trip, within [`ROUND_TRIP_TIMEOUT`] (and what is
        /// left of the request's deadline, less a margin for answering).
        /// A failure to reach the store rests it for [`BACK_OFF`] and is
        /// logged once; a command it refuses is logged each time.
        async fn round_trip<T: redis::FromRedisValue>(
            &self,
            what: &'static str,
            command: impl FnOnce() -> redis::Pipeline,
        ) -> Option<T> {
            match self.reply(what, command, false).await {
                Reply::Value(value) => Some(value),
                Reply::Refused | Reply::Unanswered => None,
            }
        }

        /// [`Store::round_trip`], saying whether the store refused the
        /// command or did not answer; `even_resting`: asked while the
        /// store rests (for a task no request waits on).
        async fn reply<T: redis::FromRedisValue>(
            &self,
            what: &'static str,
            command: impl FnOnce() -> redis::Pipeline,
            even_resting: bool,
        ) -> Reply<T> {
            match self.try_round_trip(command, even_resting).await {
                Ok(value) => {
                    if lock(&self.said_down).take().is_some() {
                        crate::log::warn("shared store: answering again");
                    }
                    Reply::Value(value)
                }
                Err(Failure::Skipped) => Reply::Unanswered,
                // The store answered, refusing this command (one it does
                // not run, a script its ACL forbids, a write to a full
                // database: `OOM`, which the client knows by no kind of its
                // own): the other commands work, so nothing rests. A
                // replica's refusal (`READONLY`, `MASTERDOWN`: a failover
                // moved the primary) drops the connection, so that the
                // next command connects to wherever the name now points.
                Err(Failure::Redis(e)) if answered(&e) => {
                    if self.note_refusal(what, &e) {
                        Reply::Unanswered
                    } else {
                        Reply::Refused
                    }
                }
                Err(failure) => {
                    *lock(&self.resting_until) = Some(Instant::now() + BACK_OFF);
                    if matches!(failure, Failure::Redis(_)) {
                        self.forget_connection();
                    }
                    let why = match failure {
                        Failure::Timeout => "no answer in time".to_owned(),
                        // A rotated password: `WRONGPASS`, said as such.
                        Failure::Connect(e) if answered(&e) => format!(
                            "its handshake refused: {}",
                            refusal_code(&e).unwrap_or_else(|| format!("{:?}", e.kind()))
                        ),
                        Failure::Redis(e) | Failure::Connect(e) => unreachable_because(&e),
                        Failure::Skipped => String::new(),
                    };
                    // Said once, and again when the cause changes, once a
                    // minute at most ([`SAY_WAIT_EVERY`]: a late publication
                    // tries every second, and a flapping network alternates
                    // its causes): a store that stops timing out to refuse
                    // the password has a new problem to fix.
                    let mut said = lock(&self.said_down);
                    let now = Instant::now();
                    let due = said.as_ref().is_none_or(|(said, at)| {
                        *said != why && now.duration_since(*at) >= SAY_WAIT_EVERY
                    });
                    if due {
                        crate::log::error(&format!(
                            "shared store unavailable ({what}: {why}): on this instance, \
                             until it answers, a refresh is shared only with this \
                             instance's requests and a remote sign-out is not seen"
                        ));
                        *said = Some((why, now));
                    }
                    Reply::Unanswered
                }
            }
        }

        /// Notes the store's refusal `e` of `what`, logged: whether it asks
        /// to be asked again (no answer, said once a minute), else a
        /// refusal (said each time).
        fn note_refusal(&self, what: &str, e: &RedisError) -> bool {
            let code = refusal_code(e);
            let said = |why: Option<&str>| {
                let code = code.as_deref().map(|c| format!(" {c}")).unwrap_or_default();
                let why = why.map(|why| format!(" ({why})")).unwrap_or_default();
                crate::log::error(&format!(
                    "shared store refused {what}:{code} {:?}{why}",
                    e.kind()
                ));
            };
            // A refusal that asks to be asked again is no answer of the
            // store's: a replica's (the command is worth sending to the
            // new primary), a store loading its data after a restart, one
            // busy with another client's script, a cluster between states.
            // A refresh's outcome is published later, every second until
            // the store takes it; said once a minute until then, not once
            // a request.
            let Some(why) = wait_asked(e, code.as_deref()) else {
                said(None);
                return false;
            };
            if failover(e) {
                self.forget_connection();
            }
            if self.wait_news_due() {
                said(Some(why));
            }
            true
        }

        async fn try_round_trip<T: redis::FromRedisValue>(
            &self,
            command: impl FnOnce() -> redis::Pipeline,
            even_resting: bool,
        ) -> Result<T, Failure> {
            if !even_resting
                && lock(&self.resting_until).is_some_and(|until| Instant::now() < until)
            {
                return Err(Failure::Skipped);
            }
            let budget = time_left()
                .map(|left| left.saturating_sub(Duration::from_millis(250)))
                .unwrap_or(ROUND_TRIP_TIMEOUT)
                .min(CONNECT_TIMEOUT + ROUND_TRIP_TIMEOUT);
            if budget < MIN_ROUND_TRIP {
                return Err(Failure::Skipped);
            }
            let pipeline = command();
            let attempt = async {
                let mut connection = self.connection().await?;
                match pipeline.query_async::<T>(&mut connection).await {
                    // A kept connection the store (its idle timeout, a
                    // proxy, a NAT while the instance was frozen) closed:
                    // one new connection, once, within the same budget.
                    // Every command here may run twice (`claim` reads back
                    // whose its claim is).
                    Err(e) if e.is_connection_dropped() => {
                        // Waiting for the slot here: a new connection
                        // comes next anyway.
                        *self.connection.lock().await = None;
                        let mut fresh = self.connection().await?;
                        pipeline.query_async::<T>(&mut fresh).await
                    }
                    answer => answer,
                }
                .map_err(Failure::Redis)
            };
            // Cut off by what was left of the request's deadline (a slow
            // provider call spent it), not by the store's own limit: the
            // store's silence says nothing, so it does not rest.
            let cut_by_deadline = budget < ROUND_TRIP_TIMEOUT;
            tokio::time::timeout(budget, attempt)
                .await
                .unwrap_or(Err(if cut_by_deadline {
                    Failure::Skipped
                } else {
                    Failure::Timeout
                }))
        }

        /// Whether the session `sid` of user `sub`, begun at `started_ms`
        /// (milliseconds since the epoch), was ended: by its own sign-out,
        /// or by its user's "sign out everywhere" at or after its start.
        /// `None` when the store does not answer. A "no" is trusted for
        /// [`LIVE_FOR`] from when it was asked, unless this instance ended
        /// a session meanwhile.
        pub(crate) async fn ended(&self, sid: &str, sub: &str, started_ms: i64) -> Option<bool> {
            let (asked, endings) = {
                let live = lock(&self.live);
                if let Some(seen) = live.seen.get(sid)
                    && seen.elapsed() < LIVE_FOR
                {
                    return Some(false);
                }
                (Instant::now(), live.endings)
            };
            let (session, marks) = self.endings(sid, sub).await?;
            let ended = session || marks.end(started_ms);
            let mut live = lock(&self.live);
            if ended {
                live.seen.remove(sid);
            } else if live.endings == endings {
                if live.seen.len() >= 4096 {
                    live.seen.retain(|_, seen| seen.elapsed() < LIVE_FOR);
                }
                live.seen.insert(sid.to_owned(), asked);
            }
            Some(ended)
        }

        /// Whether the session `sid` of user `sub`, begun at `started_ms`,
        /// may sign its user out everywhere at `now_ms`: it was not ended,
        /// or only by a mark of a clock gone wrong (later than now by more
        /// than the clocks' skew), which it is there to replace. A copy of
        /// an ended session may not: it could end every new session of its
        /// user, as often as it is sent. Asked of the store, whatever this
        /// instance remembers; `None` when the store does not answer.
        pub(crate) async fn may_end_user(
            &self,
            sid: &str,
            sub: &str,
            started_ms: i64,
            now_ms: i64,
        ) -> Option<bool> {
            let (session, marks) = self.endings(sid, sub).await?;
            let marks = marks.plausible_at(now_ms, MARK_SKEW_SECS * 1000);
            Some(!session && !marks.end(started_ms))
        }

        /// Whether session `sid` was ended by its own sign-out, and the
        /// marks of its user's "sign out everywhere", in one command (a
        /// store that bills per command, Upstash, counts one per check).
        /// Read as bytes: whatever a key holds, even bytes that are not
        /// UTF-8, is an answer about that key (any value at the session's
        /// key ends it; a mark that is not a number is none), never a
        /// failure to read the answer, which would rest the store for
        /// every session.
        async fn endings(&self, sid: &str, sub: &str) -> Option<(bool, UserMarks)> {
            type Values = (Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>);
            let ((session, ms, seconds),): (Values,) = self
                .round_trip("check", || {
                    let [user_ms, user_seconds] = self.keys.ended_user(sub);
                    let mut pipe = redis::pipe();
                    pipe.cmd("MGET")
                        .arg(self.keys.ended_session(sid))
                        .arg(user_ms)
                        .arg(user_seconds);
                    pipe
                })
                .await?;
            let marks = UserMarks::read(ms.as_deref(), seconds.as_deref());
            Some((session.is_some(), marks))
        }

        /// Ends session `sid` for as long as a copy of it can live (a
        /// refresh that crossed the ending may have set a generation that
        /// lives longer than the one read), here at once and in every
        /// instance within [`LIVE_FOR`]. Whether the store took it.
        pub(crate) async fn end_session(&self, sid: &str) -> bool {
            self.ending(Some(sid), "end session", || {
                let mut pipe = redis::pipe();
                pipe.cmd("SET")
                    .arg(self.keys.ended_session(sid))
                    .arg(1)
                    .arg("EX")
                    .arg(ENDED_FOR);
                pipe
            })
            .await
        }

        /// Ends every session of `sub` begun at or before `at_ms`
        /// (milliseconds since the epoch), for as long as a session can
        /// live.
        pub(crate) async fn end_user(&self, sub: &str, at_ms: i64) -> bool {
            let (mark_ms, mark_seconds) = UserMarks::at(at_ms);
            self.ending(None, "end user", || {
                let [key_ms, key_seconds] = self.keys.ended_user(sub);
                let mut pipe = redis::pipe();
                for (key, mark, skew) in [
                    (key_ms, mark_ms, MARK_SKEW_SECS * 1000),
                    (key_seconds, mark_seconds, MARK_SKEW_SECS),
                ] {
                    pipe.cmd("EVAL")
                        .arg(SET_LATER)
                        .arg(1)
                        .arg(key)
                        .arg(mark)
                        .arg(ENDED_FOR)
                        .arg(skew);
                }
                pipe
            })
            .await
        }

        /// Runs `command`, which ends the session `sid` (`None`: sessions
        /// of a user, so every session this instance has seen), with the
        /// instance's "not ended" answers forgotten as it begins and as it
        /// is done ([`Live::ending`]). Whether the store took it.
        async fn ending(
            &self,
            sid: Option<&str>,
            what: &'static str,
            command: impl FnOnce() -> redis::Pipeline,
        ) -> bool {
            lock(&self.live).ending(sid);
            let took = self.round_trip::<()>(what, command).await.is_some();
            lock(&self.live).ending(sid);
            took
        }

        /// In one round trip: the refresh's outcome if another instance
        /// published it, else a claim on making the call.
        pub(crate) async fn claim(&self, flight: &[u8; 32]) -> Option<Claim> {
            let token = crate::secret::random_token();
            // The claim's holder read back with it: a round trip sent again
            // after a dropped connection, whose first `SET` the store ran,
            // still knows the claim is its own.
            // Each command's answer apart: a store that refuses the claim's
            // write (full, `OOM`) still answers the read of an outcome
            // another instance published, which a copy of the replaced
            // generation is to get rather than spend the old refresh
            // token again.
            // Read as bytes, as the marks are: a value that is not UTF-8 is
            // no outcome and no claim of ours, not a failure to read.
            type Each = redis::RedisResult<Option<Vec<u8>>>;
            let (outcome, claimed, holder): (Each, redis::RedisResult<redis::Value>, Each) = self
                .round_trip("claim", || {
                    let mut pipe = redis::pipe();
                    pipe.ignore_errors();
                    pipe.cmd("GET")
                        .arg(self.keys.outcome(flight))
                        .cmd("SET")
                        .arg(self.keys.claim(flight))
                        .arg(&token)
                        .arg("NX")
                        .arg("PX")
                        .arg(CLAIM_TTL.as_millis() as u64)
                        .cmd("GET")
                        .arg(self.keys.claim(flight));
                    pipe
                })
                .await?;
            let outcome = match outcome {
                Ok(Some(bytes)) => match String::from_utf8(bytes) {
                    Ok(outcome) => return Some(Claim::Outcome(outcome)),
                    Err(_) => Ok(None),
                },
                other => other,
            };
            // No outcome read, and no claim made (refused) or read back:
            // as if the store had not answered.
            let refused = [
                outcome.as_ref().err(),
                claimed.as_ref().err(),
                holder.as_ref().err(),
            ];
            if let Some(e) = refused.into_iter().flatten().next() {
                self.note_refusal("claim", e);
                return None;
            }
            Some(match holder {
                Ok(Some(holder)) if holder == token.as_bytes() => Claim::Won(token),
                _ => Claim::Wait,
            })
        }

        /// Publishes a refresh's outcome for [`OUTCOME_TTL`] (`only_first`:
        /// unless an outcome is there already): whether the store
        /// answered, taking it or refusing it.
        pub(crate) async fn publish(
            &self,
            flight: &[u8; 32],
            outcome: &str,
            only_first: bool,
        ) -> bool {
            self.set_outcome(flight, outcome, OUTCOME_TTL, only_first, false)
                .await
        }

        /// Publishes the outcome of a refresh this instance made while the
        /// store did not answer its claim, for what is left of
        /// [`OUTCOME_TTL`] (`left`), unless an outcome is there already;
        /// asked even while the store rests (no request waits on it):
        /// whether the store answered, taking it or refusing it (a refused
        /// command is not asked again).
        pub(crate) async fn publish_late(
            &self,
            flight: &[u8; 32],
            outcome: &str,
            left: Duration,
        ) -> bool {
            self.set_outcome(flight, outcome, left, true, true).await
        }

        /// `SET` of the outcome for `ttl` (`only_first`: only where none
        /// is; `late`: even while the store rests): whether the store
        /// answered.
        async fn set_outcome(
            &self,
            flight: &[u8; 32],
            outcome: &str,
            ttl: Duration,
            only_first: bool,
            late: bool,
        ) -> bool {
            let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let command = || {
                let mut pipe = redis::pipe();
                let set = pipe.cmd("SET").arg(self.keys.outcome(flight)).arg(outcome);
                if only_first {
                    set.arg("NX");
                }
                set.arg("PX").arg(millis);
                pipe
            };
            // `OK`, or nil where `NX` found an outcome there.
            let reply = self
                .reply::<(Option<String>,)>("publish", command, late)
                .await;
            !matches!(reply, Reply::Unanswered)
        }

        /// Remembers the late publication `handle` of session `sid`, so
        /// that ending the session cancels it; forgets those finished.
        pub(crate) fn track_late(&self, sid: String, handle: tokio::task::AbortHandle) {
            let mut late = lock(&self.late);
            let ended = late
                .ended
                .iter()
                .any(|(ended, at)| *ended == sid && at.elapsed() < OUTCOME_TTL);
            if ended {
                // Ended while its refresh's token call was out.
                handle.abort();
                return;
            }
            late.tasks.retain(|(_, h)| !h.is_finished());
            late.tasks.push((sid, handle));
        }

        /// Cancels the late publications of session `sid`: it ended in this
        /// instance, perhaps while the store did not take the end, and no
        /// copy of its older generation may be handed its newer one.
        pub(crate) fn cancel_late(&self, sid: &str) {
            lock(&self.late).tasks.retain(|(s, h)| {
                if s == sid {
                    h.abort();
                }
                s != sid
            });
        }

        /// Notes that session `sid` ended for good in this instance: a
        /// refresh of it whose token call is out publishes nothing late
        /// ([`Store::track_late`]) for [`OUTCOME_TTL`].
        pub(crate) fn ended_here(&self, sid: &str) {
            let mut late = lock(&self.late);
            let now = Instant::now();
            while late.ended.len() >= ENDED_KEPT
                || late
                    .ended
                    .front()
                    .is_some_and(|(_, at)| now.duration_since(*at) >= OUTCOME_TTL)
            {
                late.ended.pop_front();
            }
            late.ended.push_back((sid.to_owned(), now));
        }

        /// Gives up the claim `token` made without an outcome (the
        /// provider could not be reached), so that another request may
        /// try; a claim another instance took once this one lapsed stays.
        pub(crate) async fn release(&self, flight: &[u8; 32], token: &str) {
            let _ = self
                .round_trip::<()>("release", || {
                    let mut pipe = redis::pipe();
                    pipe.cmd("EVAL")
                        .arg(DELETE_IF_HELD)
                        .arg(1)
                        .arg(self.keys.claim(flight))
                        .arg(token);
                    pipe
                })
                .await;
        }
    }

    fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        mutex.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[cfg(test)]
    mod tests {
        use std::io;

        use super::*;

        /// A listener that accepts connections and never answers.
        fn silent_store() -> Store {
            let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("redis://{}", silent.local_addr().unwrap());
            std::thread::spawn(move || {
                let held: Vec<_> = silent.incoming().flatten().collect();
                drop(held);
            });
            let url = StoreUrl::parse(&url).unwrap();
            Store::new(&url, Keys::new("https://vercel.com", "cl_app")).unwrap()
        }

        /// A request whose deadline is all but spent does not ask the
        /// store; its silence then is not the store's, so the store does
        /// not rest. Given time, a store that does not answer rests.
        #[tokio::test]
        async fn a_request_out_of_time_does_not_rest_the_store() {
            let store = silent_store();
            let ended = crate::clock::with_deadline_in(
                Duration::from_millis(250),
                store.ended("sid", "usr_1", 0),
            );
            assert_eq!(ended.await, None);
            assert!(lock(&store.resting_until).is_none());
            assert!(lock(&store.said_down).is_none());
            let ended = crate::clock::with_deadline_in(
                Duration::from_millis(600),
                store.ended("sid", "usr_1", 0),
            );
            assert_eq!(ended.await, None);
            assert!(lock(&store.resting_until).is_none());
            let ended = crate::clock::with_deadline_in(
                Duration::from_secs(2),
                store.ended("sid", "usr_1", 0),
            );
            assert_eq!(ended.await, None);
            assert!(lock(&store.resting_until).is_some());
        }

        /// A store that answers each command in 150 ms, well within its
        /// own 500 ms, asked by a request with 350 ms left (a slow
        /// provider call spent the rest): the round trip is cut off by
        /// the request's deadline, not by the store's silence, so the
        /// store does not rest, and the next request is answered.
        #[tokio::test]
        async fn a_round_trip_cut_off_by_the_requests_deadline_does_not_rest_the_store() {
            use std::io::{Read, Write};
            let slow = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("redis://{}", slow.local_addr().unwrap());
            std::thread::spawn(move || {
                for mut conn in slow.incoming().flatten() {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 4096];
                        while matches!(conn.read(&mut buf), Ok(n) if n > 0) {
                            std::thread::sleep(Duration::from_millis(150));
                            let nils = b"*3\r\n$-1\r\n$-1\r\n$-1\r\n";
                            if conn.write_all(nils).is_err() {
                                break;
                            }
                        }
                    });
                }
            });
            let store = Store::new(
                &StoreUrl::parse(&url).unwrap(),
                Keys::new("https://vercel.com", "cl_app"),
            )
            .unwrap();
            let asked = |sid: &'static str, deadline: Duration| {
                crate::clock::with_deadline_in(deadline, store.ended(sid, "usr_1", 0))
            };
            // Warm: the connection is open, and the store answers.
            assert_eq!(asked("sid", Duration::from_secs(9)).await, Some(false));
            crate::log::tests::taken();
            let late = asked("other", Duration::from_millis(350)).await;
            assert_eq!(late, None, "cut off by the request's deadline");
            assert_eq!(crate::log::tests::taken(), [] as [String; 0]);
            assert_eq!(asked("third", Duration::from_secs(9)).await, Some(false));
        }

        /// A session that ends in this instance cancels its late
        /// publications, those of a refresh whose token call was out when
        /// it ended too; another session's stay.
        #[tokio::test]
        async fn a_session_ended_meanwhile_publishes_no_refresh_late() {
            let store = silent_store();
            store.cancel_late("sid");
            store.ended_here("sid");
            let late = tokio::spawn(std::future::pending::<()>());
            store.track_late("sid".into(), late.abort_handle());
            let ended = tokio::time::timeout(Duration::from_secs(1), late).await;
            assert!(ended.expect("runs on").unwrap_err().is_cancelled());
            let other = tokio::spawn(std::future::pending::<()>());
            store.track_late("other".into(), other.abort_handle());
            tokio::task::yield_now().await;
            assert!(!other.is_finished());
            store.cancel_late("other");
            assert!(other.await.unwrap_err().is_cancelled());
            // An end older than the outcomes it could cancel cancels none.
            store.ended_here("old");
            if let Some((_, at)) = lock(&store.late).ended.back_mut() {
                *at = at.checked_sub(OUTCOME_TTL).unwrap();
            }
            let late = tokio::spawn(std::future::pending::<()>());
            store.track_late("old".into(), late.abort_handle());
            tokio::task::yield_now().await;
            assert!(!late.is_finished(), "a stale end cancelled the publication");
            late.abort();
        }

        /// The sessions an instance ended are remembered for the outcomes'
        /// time, at most [`ENDED_KEPT`] of them: the oldest go first.
        #[tokio::test]
        async fn the_sessions_ended_here_are_remembered_within_bounds() {
            let store = silent_store();
            for n in 0..=ENDED_KEPT {
                store.ended_here(&format!("s{n}"));
            }
            let ended = |store: &Store| -> Vec<String> {
                lock(&store.late)
                    .ended
                    .iter()
                    .map(|(s, _)| s.clone())
                    .collect()
            };
            let kept = ended(&store);
            assert_eq!(kept.len(), ENDED_KEPT);
            assert_eq!(kept[0], "s1");
            // Past the outcomes' time, an end is forgotten.
            let store = silent_store();
            store.ended_here("a");
            store.ended_here("b");
            if let Some((_, at)) = lock(&store.late).ended.front_mut() {
                *at = at.checked_sub(OUTCOME_TTL).unwrap();
            }
            store.ended_here("c");
            assert_eq!(ended(&store), ["b", "c"]);
        }

        /// The store's outage is said once, and again when its cause
        /// changes, a minute later at the earliest: a store that does not
        /// answer, then one that refuses connections.
        #[tokio::test]
        async fn an_outage_is_said_again_when_its_cause_changes() {
            let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("redis://{}", silent.local_addr().unwrap());
            let store = Store::new(
                &StoreUrl::parse(&url).unwrap(),
                Keys::new("https://vercel.com", "cl_app"),
            )
            .unwrap();
            // Time enough for the store's own limit: its silence is its own.
            let ask = || {
                crate::clock::with_deadline_in(
                    Duration::from_millis(800),
                    store.ended("sid", "usr_1", 0),
                )
            };
            crate::log::tests::taken();
            let mut said = Vec::new();
            for _ in 0..2 {
                assert_eq!(ask().await, None);
                said.extend(crate::log::tests::taken());
                *lock(&store.resting_until) = None;
            }
            assert_eq!(said.len(), 1, "{said:?}");
            assert!(said[0].contains("shared store unavailable"), "{said:?}");
            drop(silent);
            // Within the minute, the new cause waits.
            assert_eq!(ask().await, None);
            assert_eq!(crate::log::tests::taken(), [] as [String; 0]);
            *lock(&store.resting_until) = None;
            if let Some((_, at)) = lock(&store.said_down).as_mut() {
                *at = at.checked_sub(SAY_WAIT_EVERY).unwrap();
            }
            for _ in 0..2 {
                assert_eq!(ask().await, None);
                said.extend(crate::log::tests::taken());
                *lock(&store.resting_until) = None;
            }
            assert_eq!(said.len(), 2, "{said:?}");
            assert!(said[1].contains("ConnectionRefused"), "{said:?}");
        }

        /// The refusals that ask to be asked again count as no answer
        /// (a late publication keeps trying, the log says it once a
        /// minute); the others are the store's answer to the command.
        #[test]
        fn refusals_that_ask_to_wait_are_told_apart() {
            use redis::{ErrorKind, ServerErrorKind as Kind};
            let known = |kind| RedisError::from((ErrorKind::Server(kind), "refused"));
            let coded = |code: &str| redis::make_extension_error(code.to_owned(), None);
            for (e, failing_over) in [
                (known(Kind::ReadOnly), true),
                (known(Kind::MasterDown), true),
                (known(Kind::BusyLoading), false),
                (known(Kind::TryAgain), false),
                (known(Kind::ClusterDown), false),
                (coded("BUSY"), false),
                (coded("NOREPLICAS"), false),
            ] {
                assert!(
                    wait_asked(&e, refusal_code(&e).as_deref()).is_some(),
                    "{e:?}"
                );
                assert_eq!(failover(&e), failing_over, "{e:?}");
            }
            for e in [
                known(Kind::NoPerm),
                known(Kind::NoScript),
                known(Kind::ResponseError),
                coded("OOM"),
                coded("WRONGTYPE"),
                RedisError::from((ErrorKind::Parse, "not UTF-8")),
            ] {
                assert_eq!(wait_asked(&e, refusal_code(&e).as_deref()), None, "{e:?}");
                assert!(!failover(&e), "{e:?}");
            }
        }

        #[test]
        fn the_log_says_why_the_store_could_not_be_reached() {
            let refused = RedisError::from(io::Error::from(io::ErrorKind::ConnectionRefused));
            assert_eq!(unreachable_because(&refused), "ConnectionRefused");
            let untrusted = RedisError::from(io::Error::new(
                io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
            ));
            assert_eq!(
                unreachable_because(&untrusted),
                "TLS: invalid peer certificate: UnknownIssuer"
            );
            let other = RedisError::from((redis::ErrorKind::InvalidClientConfig, "bad"));
            assert_eq!(unreachable_because(&other), "InvalidClientConfig");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hashes_under_the_apps_prefix() {
        let keys = Keys::new("https://vercel.com", "cl_app");
        let sid = keys.ended_session("session-id");
        let [user_ms, user] = keys.ended_user("user-sub");
        let claim = keys.claim(&[7; 32]);
        for key in [&sid, &user_ms, &user, &claim] {
            assert!(key.starts_with("siv:"), "{key}");
            assert!(
                !key.contains("session-id") && !key.contains("user-sub"),
                "{key}"
            );
        }
        assert_ne!(keys.outcome(&[7; 32]), claim);
        // The layout every instance shares: a new release reads the keys
        // an older one wrote.
        assert_eq!(sid, "siv:0ef6dfcf6084:s:4bdf1e15df716f27ff6ebcc119aa4b88");
        assert_eq!(user, "siv:0ef6dfcf6084:u:cf98f4c05aa4e4529c71313cf32d82fc");
        assert_eq!(
            user_ms,
            "siv:0ef6dfcf6084:e:cf98f4c05aa4e4529c71313cf32d82fc"
        );
        let other = Keys::new("https://vercel.com", "cl_other");
        assert_ne!(other.ended_session("session-id"), sid);
    }

    #[test]
    fn marks_end_the_sessions_begun_until_them() {
        let second = 1_800_000_000;
        let at = second * 1000 + 500;
        let (ms, seconds) = UserMarks::at(at);
        let marks = UserMarks::read(
            Some(ms.to_string().as_bytes()),
            Some(seconds.to_string().as_bytes()),
        );
        assert!(marks.end(at) && marks.end(at - 1));
        assert!(!marks.end(at + 1), "a sign-in right after it stands");
        // A session sealed with its start in seconds reads as its second's
        // first millisecond: a sign-out in that second ends it.
        assert!(marks.end(second * 1000));
        // An earlier version reads the seconds key alone: the second
        // before, all of it.
        assert_eq!(marks.seconds, Some(second - 1));
        // A mark an earlier version wrote, in seconds: its whole second.
        let old = UserMarks {
            ms: None,
            seconds: Some(second),
        };
        assert!(old.end(second * 1000 + 999));
        assert!(!old.end((second + 1) * 1000));
        assert!(!UserMarks::default().end(at));
        // What is not a number is no mark.
        assert_eq!(
            UserMarks::read(Some(b"x"), Some(b"\xff")),
            UserMarks::default()
        );
    }

    /// Marks later than now by more than the clocks' skew are a clock gone
    /// wrong: left out; those within it are kept.
    #[test]
    fn only_a_mark_beyond_the_skew_is_left_out_as_wrong() {
        let now = 1_800_000_000_000;
        let marks = |at_ms: i64| {
            let (ms, seconds) = UserMarks::at(at_ms);
            UserMarks {
                ms: Some(ms),
                seconds: Some(seconds),
            }
        };
        let near = marks(now + 60_000);
        assert_eq!(near.plausible_at(now, 60_000), marks(now + 60_000));
        let far = marks(now + 10 * 24 * 3600 * 1000);
        assert_eq!(far.plausible_at(now, 60_000), UserMarks::default());
        let beyond = UserMarks {
            ms: Some(now + 60_001),
            seconds: Some((now + 61_000) / 1000),
        };
        assert_eq!(beyond.plausible_at(now, 60_000), UserMarks::default());
        let earlier = marks(now - 5_000);
        assert_eq!(earlier.plausible_at(now, 60_000), marks(now - 5_000));
    }
}
