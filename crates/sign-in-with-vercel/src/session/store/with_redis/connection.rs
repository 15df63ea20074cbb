//! The connection to the store and the store's health. One connection per
//! instance, opened on first use (TLS by rustls, with ring as its
//! provider) and again after a failure or a failover; each round trip
//! within the store's own limit and what is left of the request's
//! deadline. The store is a help, never a dependency: one that does not
//! answer rests for [`BACK_OFF`] and is said once in the log (again when
//! the cause changes); a command it refuses is told apart from no answer,
//! and a refusal that asks to be asked again (a replica after a failover, a
//! store loading its data) counts as none.

use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError};

use super::{Store, lock};
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
/// leaves out for a code it does not know. Kept only in the form of
/// Redis's codes, one upper-case word of at most 16 letters (`OOM`,
/// `WRONGTYPE`, `CLUSTERDOWN`…): a store that answers with a value of ours
/// (its password echoed, a broken or hostile proxy) does not get it into
/// the log.
fn refusal_code(e: &RedisError) -> Option<String> {
    e.clone()
        .into_server_errors()
        .and_then(|errors| errors.first().map(|(_, e)| e.code().to_owned()))
        .or_else(|| e.code().map(str::to_owned))
        .filter(|code| is_refusal_code(code))
}

/// Whether `code` has the form of a Redis error code (see
/// [`refusal_code`]).
fn is_refusal_code(code: &str) -> bool {
    (1..=16).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_uppercase())
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

/// What a round trip came to.
pub(super) enum Reply<T> {
    Value(T),
    /// The store answered, refusing the command.
    Refused,
    /// Not asked, or no answer.
    Unanswered,
}

impl Store {
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
    pub(super) async fn round_trip<T: redis::FromRedisValue>(
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
    pub(super) async fn reply<T: redis::FromRedisValue>(
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
    pub(super) fn note_refusal(&self, what: &str, e: &RedisError) -> bool {
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
        if !even_resting && lock(&self.resting_until).is_some_and(|until| Instant::now() < until) {
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
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::super::tests::silent_store;
    use super::*;
    use crate::session::store::{Keys, StoreUrl};

    /// Redis's own codes are said; a value of ours that the store
    /// answers with as its code (the password, echoed) is not.
    #[test]
    fn only_a_code_of_redis_form_is_said() {
        for code in ["OOM", "NOPERM", "WRONGTYPE", "CLUSTERDOWN", "READONLY"] {
            assert!(is_refusal_code(code), "{code}");
        }
        for echoed in [
            "canaryredispw",
            "Hunter2",
            "S3CRET",
            "",
            "PASSWORDPASSWORDPASSWORD",
        ] {
            assert!(!is_refusal_code(echoed), "{echoed}");
        }
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
        let ended =
            crate::clock::with_deadline_in(Duration::from_secs(2), store.ended("sid", "usr_1", 0));
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
