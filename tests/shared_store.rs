//! Sessions across instances through the shared store (a real
//! `redis-server`), over real HTTP, each function its own process: sign-out
//! ends every copy of a session in every instance, and so does a new
//! sign-in over it; "sign out everywhere";
//! the app removed at the provider; a refusal shared like an outcome; one
//! store round trip per protected request; a store that is down or
//! slow, which leaves sessions as they are without one; a store that is
//! busy, full, holds bytes it was not given, or lost a claim; and a
//! `rediss://` endpoint whose certificate no authority signed, which is
//! never used.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sign_in_with_vercel::{REFRESH_TOKEN_TTL_SECS, REQUEST_DEADLINE};
use sign_in_with_vercel_emulator::ReusePolicy;
use support::instances::{IDENTITY_ROUTES, Setup, Stack};
use testkit::Browser;

const DEMO_SUB: &str = "usr_demo1234567890";
/// How soon every instance refuses an ended session.
const WITHIN: Duration = Duration::from_millis(1100);

/// A copy of `browser`'s cookies, as an attacker who copied them has.
fn copy(browser: &Browser) -> Browser {
    browser.clone()
}

async fn post(browser: &mut Browser, stack: &Stack, path: &str) -> serde_json::Value {
    let page = browser.post(&stack.url(path), &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.json()
}

/// The store's integer answer to `command` (`TTL k`, `INCRBY k 0`…).
fn integer(redis: &testkit::RedisServer, command: &str) -> i64 {
    redis
        .command(command)
        .and_then(|line| line.strip_prefix(':')?.parse().ok())
        .unwrap_or_else(|| panic!("{command}: no integer"))
}

/// `browser` signs out of every session of its user.
async fn sign_out_everywhere(stack: &Stack, browser: &mut Browser) {
    let answer = post(browser, stack, "/api/auth/signout?everywhere").await;
    assert_eq!(answer["everywhere"], true, "{answer}");
}

/// Two browsers of the demo user signed in, then the first signs out
/// everywhere: `(laptop, phone)`.
async fn signed_in_twice_then_out_everywhere(stack: &Stack) -> (Browser, Browser) {
    let (mut laptop, mut phone) = (stack.browser(), stack.browser());
    stack.sign_in(&mut laptop).await;
    stack.sign_in(&mut phone).await;
    assert_eq!(stack.who(&phone).await.as_deref(), Some(DEMO_SUB));
    sign_out_everywhere(stack, &mut laptop).await;
    (laptop, phone)
}

/// Asks every instance of every identity route (each request goes to the
/// next instance) whether `browser` is signed in.
async fn refused_everywhere(stack: &Stack, browser: &Browser) -> bool {
    for _ in 0..2 {
        for path in IDENTITY_ROUTES {
            let mut b = browser.clone();
            let page = b.get(&stack.url(path)).await;
            let signed_out = match path {
                "/api/auth/session" => page.status == 200 && page.json()["user"].is_null(),
                _ => page.status == 401,
            };
            if !signed_out {
                return false;
            }
        }
    }
    true
}

/// A browser signed in, and a copy of its cookies that works in every
/// instance (which warms their caches).
async fn signed_in_and_copied(stack: &Stack) -> (Browser, Browser) {
    let mut browser = stack.browser();
    stack.sign_in(&mut browser).await;
    let stolen = copy(&browser);
    for path in IDENTITY_ROUTES {
        assert_eq!(
            copy(&stolen).get(&stack.url(path)).await.status,
            200,
            "{path}"
        );
    }
    (browser, stolen)
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_ends_every_copy_of_the_session_in_every_instance() {
    let stack = Stack::start(Setup::default());
    let (mut browser, stolen) = signed_in_and_copied(&stack).await;
    let answer = post(&mut browser, &stack, "/api/auth/signout").await;
    assert_eq!(answer["revoked"], true);
    tokio::time::sleep(WITHIN).await;
    assert!(refused_everywhere(&stack, &stolen).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_sign_in_ends_the_session_it_replaces_in_every_instance() {
    let stack = Stack::start(Setup::default());
    let (mut browser, stolen) = signed_in_and_copied(&stack).await;
    stack.sign_in(&mut browser).await;
    tokio::time::sleep(WITHIN).await;
    assert!(refused_everywhere(&stack, &stolen).await);
    let page = browser.get(&stack.url("/api/auth/session")).await;
    assert_eq!(
        page.json()["user"]["sub"],
        DEMO_SUB,
        "the new session lives"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ended_session_is_refused_even_when_its_refresh_would_succeed() {
    // The provider could not be told (revocation fails), so the tokens
    // live on; the store still ends the session everywhere.
    let stack = Stack::start(Setup::default());
    let mut browser = stack.browser();
    stack.sign_in(&mut browser).await;
    let stolen = copy(&browser);
    stack.emulator.faults().revocation_status = Some(503);
    let answer = post(&mut browser, &stack, "/api/auth/signout").await;
    assert_eq!(answer["revoked"], false);
    assert_eq!(answer["retry"], true);
    tokio::time::sleep(WITHIN).await;
    assert!(refused_everywhere(&stack, &stolen).await);
    // It stays ended as long as any copy can live: a refresh that crossed
    // the sign-out sets a generation that outlives the one the sign-out
    // read, by up to the time between their issues.
    let redis = stack.redis.as_ref().unwrap();
    let ended = redis.keys_of_kind("s");
    assert_eq!(ended.len(), 1, "{:?}", redis.keys());
    let ttl = integer(redis, &format!("TTL {}", ended[0]));
    assert!(
        ttl > sign_in_with_vercel::REFRESH_TOKEN_TTL_SECS,
        "ended for {ttl} s"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_everywhere_ends_every_session_of_the_user() {
    let stack = Stack::start(Setup::default());
    let (laptop, mut phone) = signed_in_twice_then_out_everywhere(&stack).await;
    tokio::time::sleep(WITHIN).await;
    assert!(refused_everywhere(&stack, &phone).await);
    assert!(refused_everywhere(&stack, &laptop).await);
    // A sign-in afterwards is a new session, and stands.
    stack.sign_in(&mut phone).await;
    assert_eq!(stack.who(&phone).await.as_deref(), Some(DEMO_SUB));
}

/// "Sign out everywhere" ends the sessions begun before it, not one begun
/// right after it, in the same second: a consented sign-in takes
/// milliseconds.
#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_right_after_signing_out_everywhere_stands() {
    let stack = Stack::start(Setup::default());
    let (_, phone) = signed_in_twice_then_out_everywhere(&stack).await;
    let mut again = stack.browser();
    stack.sign_in(&mut again).await;
    assert!(!refused_everywhere(&stack, &again).await);
    assert_eq!(stack.who(&again).await.as_deref(), Some(DEMO_SUB));
    tokio::time::sleep(WITHIN).await;
    assert!(refused_everywhere(&stack, &phone).await);
    assert_eq!(stack.who(&again).await.as_deref(), Some(DEMO_SUB));
}

/// A copy of a session that "sign out everywhere" ended (a stolen cookie
/// its owner meant to disarm) cannot sign out everywhere in turn: it would
/// end every new session of the user, as often as it is sent, for as long
/// as its cookie lives. The mark stays as it was. (That two of them
/// reaching the store out of order leave the later mark is
/// `a_sign_out_everywhere_in_order_or_not_leaves_the_later_mark`, in
/// process, where instances' clocks can differ.)
#[tokio::test(flavor = "multi_thread")]
async fn an_ended_copy_cannot_sign_out_everywhere_and_a_wrong_mark_is_replaced() {
    let stack = Stack::start(Setup::default());
    let (_, mut phone) = signed_in_twice_then_out_everywhere(&stack).await;
    let redis = stack.redis.as_ref().unwrap();
    let [key] =
        <[String; 1]>::try_from(redis.keys_of_kind("e")).expect("one mark, in milliseconds");
    // `INCRBY 0` answers the number and changes nothing.
    let mark = || integer(redis, &format!("INCRBY {key} 0"));
    let before = mark();
    let mut owner = stack.browser();
    stack.sign_in(&mut owner).await;
    let answer = post(&mut phone, &stack, "/api/auth/signout?everywhere").await;
    assert_eq!(answer["everywhere"], false, "{answer}");
    assert_eq!(mark(), before);
    assert_eq!(stack.who(&owner).await.as_deref(), Some(DEMO_SUB));
    let later = before + 30_000;
    // A mark far ahead (a clock gone wrong) would end every sign-in until
    // its time: the next "sign out everywhere" replaces it.
    let wrong = later + 10 * 24 * 3600 * 1000;
    let set = redis.command(&format!("SET {key} {wrong} KEEPTTL"));
    assert_eq!(set.as_deref(), Some("+OK"));
    let mut tablet = stack.browser();
    stack.sign_in(&mut tablet).await;
    sign_out_everywhere(&stack, &mut tablet).await;
    assert!(mark() < later + 60_000, "replaced: {}", mark());
    // The mark in seconds, for an earlier version: the second before.
    let seconds_key = key.replace(":e:", ":u:");
    let seconds = integer(redis, &format!("INCRBY {seconds_key} 0"));
    assert_eq!(seconds, mark() / 1000 - 1);
    // Both marks last as long as a session can.
    let marks = [key, seconds_key];
    for key in &marks {
        let ttl = integer(redis, &format!("TTL {key}"));
        assert!(
            ttl > sign_in_with_vercel::REFRESH_TOKEN_TTL_SECS,
            "{key}: {ttl} s"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_removed_at_the_provider_ends_every_copy_once_noticed() {
    let stack = Stack::start(Setup::default());
    let mut browser = stack.browser();
    stack.sign_in(&mut browser).await;
    let stolen = copy(&browser);
    stack
        .emulator
        .remove_app(DEMO_SUB, support::instances::CLIENT);
    // user-info asks the provider, and learns it...
    let page = browser.get(&stack.url("/api/user-info")).await;
    assert_eq!(page.status, 401);
    // ...and the copy, whose refresh is not due, is refused by the
    // functions that answer from the cookie alone.
    tokio::time::sleep(WITHIN).await;
    assert_eq!(stack.who(&stolen).await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_is_shared_like_an_outcome() {
    let stack = Stack::start(Setup {
        access_token_ttl: 2,
        ..Setup::default()
    });
    let mut browser = stack.browser();
    stack.sign_in(&mut browser).await;
    stack
        .emulator
        .remove_app(DEMO_SUB, support::instances::CLIENT);
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let before = stack.token_calls();
    let requests: Vec<_> = (0..6)
        .map(|i| {
            let mut tab = browser.clone();
            let url = stack.url(IDENTITY_ROUTES[i % IDENTITY_ROUTES.len()]);
            tokio::spawn(async move { tab.get(&url).await })
        })
        .collect();
    for request in requests {
        let page = request.await.unwrap();
        assert!(
            page.status == 401 || (page.status == 200 && page.json()["user"].is_null()),
            "{} {}",
            page.status,
            page.body
        );
    }
    assert_eq!(stack.token_calls() - before, 1, "one refused token call");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_protected_request_costs_at_most_one_store_round_trip() {
    let stack = Stack::start(Setup::default());
    let mut browser = stack.browser();
    // The session function has not yet used the store: its first request
    // below opens the connection, and that counts too.
    stack.sign_in(&mut browser).await;
    let redis = stack.redis.as_ref().unwrap();
    // Replies the server wrote (one per round trip, a pipeline being one)
    // and commands it ran, from one `INFO stats`.
    let counters = || {
        let text = redis.info("stats");
        (
            testkit::info_stat(&text, "total_writes_processed"),
            testkit::info_stat(&text, "total_commands_processed"),
        )
    };
    let session = || {
        let mut browser = browser.clone();
        let url = stack.url("/api/auth/session");
        async move {
            let page = browser.get(&url).await;
            assert_eq!(page.json()["user"]["sub"], DEMO_SUB);
        }
    };
    // Each `counters()` call is one INFO: one command, one reply.
    let start = counters();
    session().await;
    let first = counters();
    let (round_trips, commands) = (first.0 - start.0 - 1, first.1 - start.1 - 1);
    eprintln!("the first protected request: {round_trips} round trips, {commands} commands");
    assert_eq!(
        (round_trips, commands),
        (1, 1),
        "connecting and checking in one round trip: one MGET, nothing else"
    );
    const REQUESTS: u64 = 20;
    let started = Instant::now();
    for _ in 0..REQUESTS {
        // Back to back: an instance trusts a "not ended" for a second, so
        // most of these ask nothing; none asks more than one round trip.
        session().await;
    }
    let seconds = started.elapsed().as_secs();
    let end = counters();
    let (round_trips, commands) = (end.0 - first.0 - 1, end.1 - first.1 - 1);
    eprintln!("{REQUESTS} more in {seconds} s: {round_trips} round trips, {commands} commands");
    assert!(
        round_trips <= REQUESTS && commands <= REQUESTS,
        "at most one round trip (one MGET) each: {round_trips}, {commands}"
    );
    // At most one check per instance and second begun (the session
    // function's instances take the requests in turn).
    let instances = Setup::default().instances as u64;
    assert!(
        round_trips <= instances * (seconds + 2),
        "a \"not ended\" is trusted for a second: {round_trips} round trips in {seconds} s"
    );
}

/// What the functions wrote about the store being unavailable.
fn store_complaints(stack: &Stack, path: &str) -> Vec<usize> {
    stack
        .functions
        .logs(path)
        .iter()
        .map(|log| log.matches("shared store unavailable").count())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_that_is_down_leaves_sessions_as_they_are_without_one() {
    let mut stack = Stack::start(Setup {
        access_token_ttl: 2,
        reuse: ReusePolicy::Reject,
        ..Setup::default()
    });
    let mut browser = stack.browser();
    stack.sign_in(&mut browser).await;
    stack.redis.as_mut().unwrap().stop();
    for _ in 0..3 {
        for path in IDENTITY_ROUTES {
            let started = Instant::now();
            let page = browser.get(&stack.url(path)).await;
            assert!(page.status < 500, "{path}: {} {}", page.status, page.body);
            assert!(started.elapsed() < REQUEST_DEADLINE, "{path}");
        }
    }
    // A refresh, without the store: still signed in.
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(browser.get(&stack.url("/api/user-info")).await.status, 200);
    assert_eq!(stack.who(&browser).await.as_deref(), Some(DEMO_SUB));
    // Each instance said so in its log, once, with what is lost.
    for path in IDENTITY_ROUTES {
        let complaints = store_complaints(&stack, path);
        assert!(!complaints.is_empty(), "{path}: no instance");
        for (n, count) in complaints.into_iter().enumerate() {
            assert_eq!(count, 1, "{path} instance {n} said it {count} times");
        }
    }
    let logs = stack.functions.logs("/api/auth/session").join("\n");
    assert!(
        logs.contains("a refresh is shared only with this instance"),
        "{logs}"
    );
    assert!(logs.contains("a remote sign-out is not seen"), "{logs}");
    assert!(
        store_complaints(&stack, "/api/auth/session")
            .iter()
            .sum::<usize>()
            >= 1
    );
}

/// A refresh moves the session's end (a refresh token's life from now)
/// only when the store said the session was not ended. One made while the
/// store is down keeps the end the session had, so a copy of an ended
/// session refreshed in an outage cannot outlive the mark that ended it.
#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_while_the_store_is_down_keeps_the_sessions_end() {
    let mut stack = Stack::start(Setup {
        access_token_ttl: 2,
        ..Setup::default()
    });
    let (mut up, mut down) = (stack.browser(), stack.browser());
    stack.sign_in(&mut up).await;
    stack.sign_in(&mut down).await;
    // Both access tokens due, four seconds after sign-in.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let url = stack.url("/api/auth/session");
    let refreshed = up.get(&url).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let moved = refreshed
        .max_age("session.", false)
        .expect("a refreshed session");
    assert!(moved >= REFRESH_TOKEN_TTL_SECS - 1, "{moved}");
    stack.redis.as_mut().unwrap().stop();
    let refreshed = down.get(&url).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let kept = refreshed
        .max_age("session.", false)
        .expect("a refreshed session");
    assert!(kept <= REFRESH_TOKEN_TTL_SECS - 3, "{kept}");
    assert!(kept >= REFRESH_TOKEN_TTL_SECS - 60, "{kept}");
    assert_eq!(stack.who(&down).await.as_deref(), Some(DEMO_SUB));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_that_does_not_answer_costs_a_request_little_and_fails_nothing() {
    // A listener that accepts connections and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream);
        }
    });
    let stack = Stack::start(Setup {
        store: false,
        store_url: Some(url),
        ..Setup::default()
    });
    let mut browser = stack.browser();
    stack.sign_in(&mut browser).await;
    // Every instance of every route (requests go to each in turn).
    for path in IDENTITY_ROUTES.iter().chain(&IDENTITY_ROUTES) {
        let started = Instant::now();
        let page = browser.get(&stack.url(path)).await;
        let took = started.elapsed();
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(took < Duration::from_secs(3), "{path} took {took:?}");
    }
    // Once an instance has given up on it, it leaves the store alone:
    // waiting on it would take the store's 500 ms budget a request (2 s),
    // the bound leaves a loaded machine room for the rest.
    let started = Instant::now();
    for _ in 0..4 {
        assert_eq!(stack.who(&browser).await.as_deref(), Some(DEMO_SUB));
    }
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    drop(held);
}

/// The test's certificate authority (`tests/support/store-tls/`), which
/// no one else trusts.
const TEST_AUTHORITY: &str = include_str!("support/store-tls/ca.pem");

/// The certificate a [`TlsInFront`] presents, both signed by
/// [`TEST_AUTHORITY`].
#[derive(Clone, Copy)]
enum Presents {
    /// For `127.0.0.1`, the name the instances connect to.
    TheStoresName,
    /// For `store.example` only.
    AnotherName,
}

/// A TLS endpoint in front of a store, presenting a certificate that
/// [`TEST_AUTHORITY`] signed: a store whose provider signs its own
/// certificates, or someone on the path to the store.
struct TlsInFront {
    port: u16,
    /// Connections it accepted.
    accepted: Arc<AtomicUsize>,
    /// TLS handshakes that completed, each then forwarded to the store.
    completed: Arc<AtomicUsize>,
}

impl TlsInFront {
    fn of(store: &testkit::RedisServer, presents: Presents) -> Self {
        use tokio_rustls::rustls::ServerConfig;
        use tokio_rustls::rustls::pki_types::pem::PemObject as _;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let (cert, key): (&[u8], &[u8]) = match presents {
            Presents::TheStoresName => (
                include_bytes!("support/store-tls/cert.pem"),
                include_bytes!("support/store-tls/key.pem"),
            ),
            Presents::AnotherName => (
                include_bytes!("support/store-tls/other-name-cert.pem"),
                include_bytes!("support/store-tls/other-name-key.pem"),
            ),
        };
        let cert = CertificateDer::from_pem_slice(cert).expect("the test certificate");
        let key = PrivateKeyDer::from_pem_slice(key).expect("the test key");
        // ring, as the product's TLS (deprecated by rustls 0.23.48 for
        // want of a post-quantum key exchange: the library's `transport`).
        #[allow(deprecated)]
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|c| c.with_no_client_auth().with_single_cert(vec![cert], key))
            .expect("a TLS server configuration");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let store_port = store.port();
        let (accepted, completed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let counts = (Arc::clone(&accepted), Arc::clone(&completed));
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counts.0.fetch_add(1, Ordering::SeqCst);
                let (acceptor, completed) = (acceptor.clone(), Arc::clone(&counts.1));
                tokio::spawn(async move {
                    // Complete once the client's Finished has arrived: only
                    // after the client accepted the certificate.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    completed.fetch_add(1, Ordering::SeqCst);
                    if let Ok(mut store) =
                        tokio::net::TcpStream::connect(("127.0.0.1", store_port)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut store).await;
                    }
                });
            }
        });
        Self {
            port,
            accepted,
            completed,
        }
    }

    /// The functions set up with this endpoint as their store, its URL
    /// with `user_info` (`default:password@`), and `REDIS_CA_PEM`.
    fn stack(&self, user_info: &str, authorities: Option<&str>) -> Stack {
        Stack::start(Setup {
            store: false,
            store_url: Some(format!("rediss://{user_info}127.0.0.1:{}", self.port)),
            store_authorities: authorities.map(str::to_owned),
            ..Setup::default()
        })
    }
}

/// Every function's path, for what no log may hold.
const EVERY_FUNCTION: [&str; 6] = [
    "/api/auth/authorize",
    "/api/auth/callback",
    "/api/auth/signout",
    "/api/auth/session",
    "/api/user-info",
    "/api/validate-token",
];

/// The functions with a `rediss://` store behind `presents`, trusting
/// `authorities` (`None`: Mozilla's roots), must never complete a
/// handshake: the store's password is never sent and no answer is
/// believed. Sessions go on as without a store, and the instances' logs
/// name `cause`.
async fn never_used(presents: Presents, authorities: Option<&str>, cause: &str) {
    const PASSWORD: &str = "store-password-never-sent";
    let redis = testkit::RedisServer::start();
    let tls = TlsInFront::of(&redis, presents);
    let stack = tls.stack(&format!("default:{PASSWORD}@"), authorities);
    let mut browser = stack.browser();
    stack.sign_in(&mut browser).await;
    for path in IDENTITY_ROUTES.iter().chain(&IDENTITY_ROUTES) {
        let page = browser.get(&stack.url(path)).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
    }
    let answer = post(&mut browser, &stack, "/api/auth/signout").await;
    assert_eq!(answer["revoked"], true, "{answer}");
    assert!(
        tls.accepted.load(Ordering::SeqCst) >= 1,
        "the instances tried the store"
    );
    assert_eq!(
        tls.completed.load(Ordering::SeqCst),
        0,
        "a handshake completed with a certificate that should be refused"
    );
    let logs = stack.functions.logs("/api/auth/session").join("\n");
    assert!(
        logs.contains(&format!("TLS: invalid peer certificate: {cause}")),
        "the log names the cause ({cause}): {logs}"
    );
    for path in EVERY_FUNCTION {
        let logs = stack.functions.logs(path).join("\n");
        assert!(!logs.contains(PASSWORD), "{path}: {logs}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_whose_certificate_no_public_authority_signed_is_never_used() {
    never_used(Presents::TheStoresName, None, "UnknownIssuer").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_whose_certificate_another_authority_signed_is_never_used() {
    // `REDIS_CA_PEM` names an authority, and not the one that signed it.
    let other = include_str!("support/store-tls/other-ca.pem");
    never_used(Presents::TheStoresName, Some(other), "UnknownIssuer").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_whose_certificate_names_another_host_is_never_used() {
    // The right authority, for another name than the one connected to.
    never_used(
        Presents::AnotherName,
        Some(TEST_AUTHORITY),
        r#"certificate not valid for name "127.0.0.1""#,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_whose_authority_redis_ca_pem_names_is_used_over_tls() {
    // The store's own authority in `REDIS_CA_PEM` (as a store whose
    // provider signs its own certificates needs): every instance shares
    // the store through TLS, so a sign-out ends every copy of the session
    // in every instance.
    let redis = testkit::RedisServer::start();
    let tls = TlsInFront::of(&redis, Presents::TheStoresName);
    let stack = tls.stack("", Some(TEST_AUTHORITY));
    let (mut browser, stolen) = signed_in_and_copied(&stack).await;
    let answer = post(&mut browser, &stack, "/api/auth/signout").await;
    assert_eq!(answer["revoked"], true, "{answer}");
    tokio::time::sleep(WITHIN).await;
    assert!(refused_everywhere(&stack, &stolen).await);
    assert!(tls.completed.load(Ordering::SeqCst) >= 1);
    for path in EVERY_FUNCTION {
        for log in stack.functions.logs(path) {
            assert!(!log.contains("shared store"), "{path}: {log}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_store_url_to_another_host_is_warned_of_without_its_password() {
    // TEST-NET-1: nothing connects there, and nothing needs to: the
    // warning comes with the configuration, before any store call.
    const PASSWORD: &str = "store-password-in-clear";
    let stack = Stack::start(Setup {
        store: false,
        store_url: Some(format!("redis://default:{PASSWORD}@192.0.2.1:6379")),
        ..Setup::default()
    });
    let page = stack.browser().get(&stack.url("/api/auth/authorize")).await;
    assert_eq!(page.status, 302, "{}", page.body);
    let logs = stack.functions.logs("/api/auth/authorize").join("\n");
    assert!(
        logs.contains("is a plain redis:// URL to another host"),
        "{logs}"
    );
    assert!(!logs.contains(PASSWORD), "{logs}");
}

/// A refresh made while the store does not answer (here: paused for three
/// seconds, so that the request's session check times out and the
/// instance rests the store, and the claim is not asked) is published once
/// the store answers again: a copy of the
/// replaced generation sent later (a minute-long handler's request, or a
/// copied cookie) gets the new session, as it would have with the refresh
/// claimed, instead of spending the old refresh token, whose refusal would
/// end the session everywhere, the browser's new generation too.
#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_made_while_the_store_was_paused_is_published_once_it_answers() {
    let (stack, mut browser, old) = one_instance_due_for_refresh().await;
    let url = stack.url("/api/auth/session");
    let redis = stack.redis.as_ref().unwrap();
    assert_eq!(
        redis.command("CLIENT PAUSE 3000 ALL").as_deref(),
        Some("+OK")
    );
    let refreshed = browser.get(&url).await;
    assert_eq!(
        refreshed.json()["user"]["sub"],
        DEMO_SUB,
        "{}",
        refreshed.body
    );
    assert!(
        redis.keys_of_kind("o").is_empty(),
        "not published while paused"
    );
    // Past the pause, the instance's rest (5 s) and its own memory of the
    // refresh (5 s): only the store can answer the copy now.
    signed_in_once_published(&stack, &mut browser, old, Duration::from_secs(15), 11).await;
}

/// The host ends an instance (SIGTERM) while a refresh it started runs on
/// after its request was cut off: the runtime waits for that work, which
/// the function gave to `wait_until`, so the refresh ends and its outcome
/// is in the store, for every other instance, before the process exits.
/// Dropped with the process (as before `KeepAlive`: it exited 27 ms after
/// the signal), the refresh left only its claim, and the other instances'
/// requests for that session waited it out: a 504 after 8 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_ended_mid_refresh_finishes_the_refresh_first() {
    let (stack, browser, _) = one_instance_due_for_refresh().await;
    stack.emulator.faults().token_delay = Some(Duration::from_millis(1500));
    let before = stack.token_calls();
    let mut cut = copy(&browser);
    let session = stack.url("/api/auth/session");
    // The request goes; its client leaves before the token call answers.
    let _ = tokio::time::timeout(Duration::from_millis(300), cut.get(&session)).await;
    let pid = stack.functions.pids("/api/auth/session")[0];
    let signalled = Instant::now();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let alive = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| !stat.contains(") Z "))
    };
    while alive() && signalled.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let exited = signalled.elapsed();
    assert!(!alive(), "the instance exits once its work is done");
    assert!(
        exited >= Duration::from_millis(900),
        "the instance waited for the refresh: exited {exited:?} after the signal"
    );
    assert_eq!(stack.token_calls() - before, 1, "the refresh was made");
    let redis = stack.redis.as_ref().unwrap();
    assert_eq!(
        redis.keys_of_kind("o").len(),
        1,
        "its outcome is in the store for the other instances"
    );
}

/// Once the store holds a refresh's outcome (within `within`) and
/// `past_secs` have passed since (the instance's own memory of the refresh,
/// its rest: only the store can answer then), the copy `old` of the
/// replaced generation is answered with the new one, and `browser` is
/// still signed in.
async fn signed_in_once_published(
    stack: &Stack,
    browser: &mut Browser,
    mut old: Browser,
    within: Duration,
    past_secs: u64,
) {
    let redis = stack.redis.as_ref().unwrap();
    let url = stack.url("/api/auth/session");
    let took = redis
        .key_of_kind_within("o", within, Duration::from_millis(200))
        .await;
    tokio::time::sleep(Duration::from_secs(past_secs).saturating_sub(took)).await;
    let late = old.get(&url).await;
    assert_eq!(late.json()["user"]["sub"], DEMO_SUB, "{}", late.body);
    let after = browser.get(&url).await;
    assert_eq!(after.json()["user"]["sub"], DEMO_SUB, "{}", after.body);
}

/// A refresh that claimed its generation, whose outcome the store then
/// does not take (paused while the provider answered slowly), is published
/// once the store answers again: the claim lapses, and a copy of the
/// replaced generation sent later would otherwise spend the old refresh
/// token again, and its refusal end the session everywhere.
#[tokio::test(flavor = "multi_thread")]
async fn a_claimed_refresh_whose_outcome_the_store_did_not_take_is_published_later() {
    let (stack, mut browser, _) = one_instance_due_for_refresh().await;
    stack.emulator.faults().token_delay = Some(Duration::from_millis(1500));
    let redis = stack.redis.as_ref().unwrap();
    let url = stack.url("/api/auth/session");
    let refresh = tokio::spawn(async move {
        let page = browser.get(&url).await;
        (page.status, page.json()["user"]["sub"].clone())
    });
    // Claimed, and the provider still answering: the store pauses.
    redis
        .key_of_kind_within("c", Duration::from_secs(5), Duration::from_millis(20))
        .await;
    // Not yet published, or the pause would test nothing (a slow machine).
    assert!(
        redis.keys_of_kind("o").is_empty(),
        "published before the pause"
    );
    assert_eq!(
        redis.command("CLIENT PAUSE 2500 ALL").as_deref(),
        Some("+OK")
    );
    let (status, sub) = refresh.await.unwrap();
    assert_eq!((status, sub), (200, serde_json::json!(DEMO_SUB)));
    stack.emulator.faults().token_delay = None;
    redis
        .key_of_kind_within("o", Duration::from_secs(10), Duration::from_millis(200))
        .await;
}

/// A store that answers but asks to be asked again (`BUSY`: another
/// client's long script; `LOADING` after a restart is the same refusal) is
/// no final answer: a refresh made meanwhile is published once the store
/// takes writes again, so that a copy of the replaced generation gets it
/// instead of spending the old refresh token, which this provider punishes
/// by ending the grant.
#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_made_while_the_store_was_busy_is_published_once_it_answers() {
    let (stack, mut browser, old) = one_instance_due_for_refresh().await;
    let url = stack.url("/api/auth/session");
    let redis = stack.redis.as_ref().unwrap();
    // Every other client is answered `BUSY` 10 ms into the script, until
    // it is killed.
    assert_eq!(
        redis.command("CONFIG SET lua-time-limit 10").as_deref(),
        Some("+OK")
    );
    let mut script = std::net::TcpStream::connect(("127.0.0.1", redis.port())).unwrap();
    std::io::Write::write_all(&mut script, b"EVAL \"while true do end\" 0\r\n").unwrap();
    let asked = Instant::now();
    while !redis
        .command("PING")
        .unwrap_or_default()
        .starts_with("-BUSY")
    {
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "the store is busy"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refreshed = browser.get(&url).await;
    assert_eq!(
        refreshed.json()["user"]["sub"],
        DEMO_SUB,
        "{}",
        refreshed.body
    );
    // Past a few of the late publication's tries.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(redis.command("SCRIPT KILL").as_deref(), Some("+OK"));
    drop(script);
    // The script stops at its next check, a moment after the kill.
    let killed = Instant::now();
    while redis.command("PING").as_deref() != Some("+PONG") {
        assert!(killed.elapsed() < Duration::from_secs(2), "still busy");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Past the instance's own memory of the refresh (5 s).
    signed_in_once_published(&stack, &mut browser, old, Duration::from_secs(10), 6).await;
}

/// A full store (`noeviction` at its `maxmemory`) refuses the claim's
/// write but still answers its read: a copy of the replaced generation
/// gets the outcome another request published, rather than spending the
/// old refresh token again (which this provider punishes by ending the
/// grant).
#[tokio::test(flavor = "multi_thread")]
async fn a_full_store_still_hands_a_copy_the_published_refresh() {
    let (stack, mut browser, mut old) = one_instance_due_for_refresh().await;
    let url = stack.url("/api/auth/session");
    let redis = stack.redis.as_ref().unwrap();
    let refreshed = browser.get(&url).await;
    assert_eq!(
        refreshed.json()["user"]["sub"],
        DEMO_SUB,
        "{}",
        refreshed.body
    );
    redis
        .key_of_kind_within("o", Duration::from_secs(5), Duration::from_millis(50))
        .await;
    for command in [
        "CONFIG SET maxmemory-policy noeviction",
        "CONFIG SET maxmemory 1",
    ] {
        assert_eq!(redis.command(command).as_deref(), Some("+OK"), "{command}");
    }
    assert!(
        redis
            .command("SET siv:test:full 1")
            .unwrap_or_default()
            .starts_with("-OOM"),
        "the store refuses writes"
    );
    // Past the instance's own memory of the refresh (5 s).
    tokio::time::sleep(Duration::from_secs(6)).await;
    let late = old.get(&url).await;
    assert_eq!(late.json()["user"]["sub"], DEMO_SUB, "{}", late.body);
    assert_eq!(
        redis.command("CONFIG SET maxmemory 0").as_deref(),
        Some("+OK")
    );
    let after = browser.get(&url).await;
    assert_eq!(after.json()["user"]["sub"], DEMO_SUB, "{}", after.body);
}

/// A sign-out mark holding bytes that are not UTF-8 (another writer, a
/// migration) still ends the session: whatever the session's key holds is
/// an answer about it, not an outage that would leave every session of
/// the instance unchecked.
#[tokio::test(flavor = "multi_thread")]
async fn a_sign_out_mark_of_any_bytes_still_ends_the_session() {
    let stack = Stack::start(Setup::default());
    let (mut browser, stolen) = signed_in_and_copied(&stack).await;
    let answer = post(&mut browser, &stack, "/api/auth/signout").await;
    assert_eq!(answer["revoked"], true);
    let redis = stack.redis.as_ref().unwrap();
    let marks = redis.keys_of_kind("s");
    assert!(!marks.is_empty(), "{:?}", redis.keys());
    for key in marks {
        assert_eq!(
            redis
                .command(&format!("SET {key} \"\\xff\\xfe\""))
                .as_deref(),
            Some("+OK")
        );
    }
    tokio::time::sleep(WITHIN).await;
    // The session route first, and alone: it asks nothing of the provider,
    // whose refusal of the revoked tokens would end the session anew.
    for _ in 0..4 {
        let page = copy(&stolen).get(&stack.url("/api/auth/session")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.json()["user"].is_null(), "{}", page.body);
    }
}

/// A request that won the claim only after the first claim vanished (a
/// flush, a failover to a replica that missed it) spends the refresh token
/// again and is refused: a race lost, published only where no outcome is,
/// so that it does not replace the new generation the first request
/// published, which later copies of the replaced generation are to get.
#[tokio::test(flavor = "multi_thread")]
async fn a_race_lost_after_a_vanished_claim_leaves_the_published_refresh() {
    let stack = Stack::start(Setup {
        instances: 2,
        access_token_ttl: 2,
        reuse: ReusePolicy::Reject,
        ..Setup::default()
    });
    let mut browser = stack.browser();
    stack.sign_in(&mut browser).await;
    let (mut second, mut third) = (copy(&browser), copy(&browser));
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Room for a loaded machine: the second request is to find the claim
    // (and wait) before it vanishes, and its token call to end after the
    // first's.
    stack.emulator.faults().token_delay = Some(Duration::from_secs(3));
    let redis = stack.redis.as_ref().unwrap();
    let url = stack.url("/api/auth/session");
    // The first instance claims the refresh and calls the provider.
    let first = tokio::spawn({
        let url = url.clone();
        async move { browser.get(&url).await.json()["user"]["sub"].clone() }
    });
    redis
        .key_of_kind_within("c", Duration::from_secs(5), Duration::from_millis(20))
        .await;
    // The second instance finds the claim and waits on it; then the claim
    // vanishes, and the second claims and spends the token again.
    let waiting = tokio::spawn({
        let url = url.clone();
        async move { second.get(&url).await.status }
    });
    // Found: the claim read back by the second instance's claim, a hit of
    // the store's (its session check and the outcome's read are misses).
    let hits = redis.stat("stats", "keyspace_hits");
    let asked = Instant::now();
    while redis.stat("stats", "keyspace_hits") <= hits {
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "the second request claims"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for key in redis.keys_of_kind("c") {
        assert_eq!(redis.command(&format!("DEL {key}")).as_deref(), Some(":1"));
    }
    assert_eq!(first.await.unwrap(), DEMO_SUB);
    assert_eq!(waiting.await.unwrap(), 409, "a race lost");
    stack.emulator.faults().token_delay = None;
    // Past both instances' own memory of the refresh (5 s): the store
    // answers a third copy with the first request's new generation.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let late = third.get(&url).await;
    assert_eq!(late.json()["user"]["sub"], DEMO_SUB, "{}", late.body);
}

/// One instance of each function with the store, whose access tokens live
/// two seconds and whose provider punishes a refresh token's reuse; a
/// browser signed in through it and a copy of its cookies (the generation
/// its next request replaces), three seconds later: the next request
/// refreshes.
async fn one_instance_due_for_refresh() -> (Stack, Browser, Browser) {
    let stack = Stack::start(Setup {
        instances: 1,
        access_token_ttl: 2,
        reuse: ReusePolicy::Reject,
        ..Setup::default()
    });
    let mut browser = stack.browser();
    stack.sign_in(&mut browser).await;
    let old = copy(&browser);
    tokio::time::sleep(Duration::from_secs(3)).await;
    (stack, browser, old)
}
