//! A burst of parallel requests at access-token expiry, over real HTTP,
//! against real processes: the standalone emulator, and one or two
//! instances of the app (each its own `dev` process, sharing nothing in
//! memory, as Vercel runs functions and `vercel dev` runs each request).
//! Each burst's responses are applied to the cookie jar in the order they
//! arrived and in the reverse order; both must end in the newest session.
//!
//! What each combination does, asserted here and stated in the README's
//! "Sessions" section:
//! - one instance, either reuse policy: one token call per burst, every
//!   request answered 200, signed in afterwards in either order;
//! - two instances, provider rejects only the reused token: no request is
//!   told "signed out"; the requests of the instance that lost the race
//!   answer 409 (the token has expired; the pages retry once); signed in
//!   afterwards in either order;
//! - two instances, provider revokes the whole grant on reuse (RFC 9700
//!   §4.14.2, the emulator's default): the second instance's refresh is a
//!   reuse, so the grant ends and the user is signed out. Nothing a
//!   stateless relying party can do prevents that; the README says so.

use std::time::Duration;

use testkit::{Browser, Page, Process, free_port, spawn};

/// `cargo run`'s binary: the dev server.
static DEV: std::sync::LazyLock<String> = std::sync::LazyLock::new(testkit::dev_server_bin);
/// The standalone emulator's binary.
static EMULATOR: std::sync::LazyLock<String> = std::sync::LazyLock::new(testkit::emulator_bin);
/// The access token's life: short, so a burst meets an expired token.
const ACCESS_TOKEN_TTL: u64 = 2;
const ROUNDS: usize = 3;
const BURST: usize = 6;
const PATHS: [&str; 3] = ["/api/user-info", "/api/validate-token", "/api/auth/session"];

struct Stack {
    _apps: Vec<Process>,
    _emulator: Process,
    apps: Vec<String>,
    issuer: String,
}

/// The emulator with `policy`, and `instances` app processes configured
/// for it (all on localhost, so the browser sends each the same cookies).
fn stack(policy: &str, instances: usize) -> Stack {
    let ports: Vec<u16> = (0..instances).map(|_| free_port()).collect();
    let apps: Vec<String> = ports
        .iter()
        .map(|p| format!("http://localhost:{p}"))
        .collect();
    let config = serde_json::json!({
        "clients": [{
            "client_id": "cl_burst",
            "client_secret": "burst-client-secret-0123456789abcdef",
            "redirect_uris": apps.iter().map(|a| format!("{a}/api/auth/callback")).collect::<Vec<_>>(),
        }],
    });
    let (emulator, issuer, _) = testkit::spawn_emulator(
        &EMULATOR,
        &config,
        &[
            ("EMULATOR_ACCESS_TOKEN_TTL", ACCESS_TOKEN_TTL.to_string()),
            ("EMULATOR_REFRESH_TOKEN_REUSE", policy.into()),
        ],
    );
    let processes = ports
        .iter()
        .map(|port| {
            spawn(
                &DEV,
                &[
                    ("PORT", port.to_string()),
                    ("VERCEL_APP_CLIENT_ID", "cl_burst".into()),
                    (
                        "VERCEL_APP_CLIENT_SECRET",
                        "burst-client-secret-0123456789abcdef".into(),
                    ),
                    ("VERCEL_OAUTH_ISSUER", issuer.clone()),
                ],
                "Press Ctrl+C to stop",
            )
            .0
        })
        .collect();
    Stack {
        _apps: processes,
        _emulator: emulator,
        apps,
        issuer,
    }
}

async fn sign_in(browser: &mut Browser, app: &str) {
    let consent = browser.visit(&format!("{app}/api/auth/authorize")).await;
    let page = if consent.url.starts_with(app) {
        consent
    } else {
        let answer = browser.answer(&consent, "allow").await;
        browser.follow(answer).await
    };
    assert_eq!(page.url, format!("{app}/profile"));
}

/// Token requests the emulator has served so far.
async fn token_calls(stack: &Stack) -> u64 {
    let mut browser = Browser::default();
    let stats = browser
        .get(&format!("{}/_emulator/stats", stack.issuer))
        .await;
    stats.json()["token"].as_u64().unwrap()
}

/// Whether `jar` is still signed in: the session route knows the user
/// and the user-info route (which asks the provider) answers 200.
async fn signed_in(jar: &Browser, app: &str) -> bool {
    let mut jar = jar.clone();
    let who = jar.get(&format!("{app}/api/auth/session")).await;
    let user = jar.get(&format!("{app}/api/user-info")).await;
    !who.json()["user"].is_null() && user.status == 200
}

struct Burst {
    statuses: Vec<u16>,
    token_calls: u64,
    signed_in_arrival_order: bool,
    signed_in_reverse_order: bool,
    next: Browser,
}

/// Waits for the access token to expire, then sends `BURST` requests at
/// once, spread over the instances, all with the same cookies.
async fn burst(stack: &Stack, jar: &Browser) -> Burst {
    tokio::time::sleep(Duration::from_millis(ACCESS_TOKEN_TTL * 1000 + 300)).await;
    let before = token_calls(stack).await;
    let requests = (0..BURST).map(|i| {
        let mut tab = jar.clone();
        let url = format!(
            "{}{}",
            stack.apps[i % stack.apps.len()],
            PATHS[i % PATHS.len()]
        );
        tokio::spawn(async move { tab.get(&url).await })
    });
    // In the order they complete, as a browser applies them.
    let mut pending: futures_like::Pending<Page> = futures_like::Pending::new(requests.collect());
    let mut arrived = Vec::new();
    while let Some(page) = pending.next().await {
        arrived.push(page);
    }
    let token_calls = token_calls(stack).await - before;
    let apply = |pages: &mut dyn Iterator<Item = &Page>| {
        let mut end = jar.clone();
        for page in pages {
            end.store("localhost", &page.headers);
        }
        end
    };
    let forward = apply(&mut arrived.iter());
    let backward = apply(&mut arrived.iter().rev());
    let app = &stack.apps[0];
    Burst {
        statuses: arrived.iter().map(|p| p.status).collect(),
        token_calls,
        signed_in_arrival_order: signed_in(&forward, app).await,
        signed_in_reverse_order: signed_in(&backward, app).await,
        next: forward,
    }
}

/// Completion-order collection of spawned requests, without a futures crate.
mod futures_like {
    pub struct Pending<T> {
        handles: Vec<tokio::task::JoinHandle<T>>,
    }

    impl<T: Send + 'static> Pending<T> {
        pub fn new(handles: Vec<tokio::task::JoinHandle<T>>) -> Self {
            Self { handles }
        }

        /// The next request to finish.
        pub async fn next(&mut self) -> Option<T> {
            if self.handles.is_empty() {
                return None;
            }
            loop {
                if let Some(i) = self.handles.iter().position(|h| h.is_finished()) {
                    return Some(self.handles.swap_remove(i).await.unwrap());
                }
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        }
    }
}

async fn rounds(policy: &str, instances: usize) -> Vec<Burst> {
    let stack = stack(policy, instances);
    let mut jar = Browser::default();
    sign_in(&mut jar, &stack.apps[0]).await;
    let mut bursts = Vec::new();
    for _ in 0..ROUNDS {
        let b = burst(&stack, &jar).await;
        eprintln!(
            "{policy}, {instances} instance(s): statuses {:?}, {} token call(s), signed in after: {} / {} (arrival / reverse order)",
            b.statuses, b.token_calls, b.signed_in_arrival_order, b.signed_in_reverse_order
        );
        jar = b.next.clone();
        let over = !b.signed_in_arrival_order;
        bursts.push(b);
        if over {
            break;
        }
    }
    bursts
}

fn assert_survived_every_round(bursts: &[Burst]) {
    assert_eq!(bursts.len(), ROUNDS);
    for b in bursts {
        assert!(b.signed_in_arrival_order && b.signed_in_reverse_order);
        assert!(
            !b.statuses.contains(&401),
            "nobody is told signed out: {:?}",
            b.statuses
        );
    }
}

/// One instance, whatever the reuse policy: one token call per burst and
/// every request answered 200, round after round.
async fn one_instance_shares_one_refresh(policy: &str) {
    let bursts = rounds(policy, 1).await;
    assert_survived_every_round(&bursts);
    for b in &bursts {
        assert_eq!(b.token_calls, 1, "one token call per burst");
        assert!(b.statuses.iter().all(|s| *s == 200), "{:?}", b.statuses);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_instance_shares_one_refresh_when_the_provider_revokes_on_reuse() {
    one_instance_shares_one_refresh("revoke_grant").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_instance_shares_one_refresh_when_the_provider_rejects_reuse() {
    one_instance_shares_one_refresh("reject").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_survive_when_the_provider_rejects_only_the_reused_token() {
    let bursts = rounds("reject", 2).await;
    assert_survived_every_round(&bursts);
    for b in &bursts {
        assert_eq!(b.token_calls, 2, "one token call per instance");
        assert!(
            b.statuses.iter().all(|s| [200, 409].contains(s)),
            "{:?}",
            b.statuses
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_lose_the_session_when_the_provider_revokes_the_grant_on_reuse() {
    let bursts = rounds("revoke_grant", 2).await;
    let first = &bursts[0];
    // One refresh per instance; validate-token's REST API call may meet the
    // grant just revoked and spend one more (refused) refresh on its retry.
    assert!(
        (2..=3).contains(&first.token_calls),
        "one token call per instance (and at most one retry): {}",
        first.token_calls
    );
    assert!(
        !first.signed_in_arrival_order && !first.signed_in_reverse_order,
        "the reuse revoked the grant: signed out in either order"
    );
}
