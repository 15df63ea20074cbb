//! A burst of parallel requests at access-token expiry, over real HTTP, to
//! the app as Vercel runs it: each function its own process, two instances
//! of each identity route, nothing in memory shared between them. Each
//! burst's responses are applied to the cookie jar in the order they
//! arrived and in the reverse order; both must end in the newest session.
//!
//! With the shared store (a real `redis-server`), whatever the provider
//! does with a reused refresh token:
//! - one token call per burst, whatever the number of instances;
//! - every request answered 200, nobody told "signed out";
//! - signed in afterwards, in either order, round after round;
//! - the same for a burst whose access token the provider refused early
//!   (user-info and validate-token refresh once after the refusal).
//!
//! Without a store, what a stateless relying party can and cannot do, as
//! the README states it: when the provider revokes the grant on reuse
//! (RFC 9700 §4.14.2, the emulator's default), two instances refreshing
//! the same session at once sign the user out; when it only rejects the
//! reused token, the losing instance answers 409 and the user stays.
//!
//! And a sign-out that crosses a refresh of the same session in another
//! process signs the user out in either order, with or without the store.

mod support;

use std::time::Duration;

use sign_in_with_vercel_emulator::ReusePolicy;
use support::instances::{IDENTITY_ROUTES, Setup, Stack, apply};
use testkit::{Browser, Page};
use tokio::task::JoinSet;

/// The access token's life: short, so a burst meets an expired token.
const ACCESS_TOKEN_TTL: u64 = 2;
const ROUNDS: usize = 3;
/// Parallel requests per burst, spread over the routes and their instances.
const BURST: usize = 8;
/// The emulator's demo user, whom the stack signs in.
const DEMO_SUB: &str = "usr_demo1234567890";

struct Burst {
    statuses: Vec<u16>,
    token_calls: u64,
    signed_in_arrival_order: bool,
    signed_in_reverse_order: bool,
    next: Browser,
}

/// Waits for the access token to expire, then sends `BURST` requests at
/// once, spread over the identity routes, all with the same cookies.
async fn burst(stack: &Stack, jar: &Browser) -> Burst {
    tokio::time::sleep(Duration::from_millis(ACCESS_TOKEN_TTL * 1000 + 300)).await;
    let before = stack.token_calls();
    let mut requests = JoinSet::new();
    for i in 0..BURST {
        let mut tab = jar.clone();
        let url = stack.url(IDENTITY_ROUTES[i % IDENTITY_ROUTES.len()]);
        requests.spawn(async move { tab.get(&url).await });
    }
    // In the order they complete, as a browser applies them.
    let mut arrived: Vec<Page> = Vec::new();
    while let Some(page) = requests.join_next().await {
        arrived.push(page.unwrap());
    }
    let token_calls = stack.token_calls() - before;
    let forward = apply(jar, arrived.iter());
    let backward = apply(jar, arrived.iter().rev());
    Burst {
        statuses: arrived.iter().map(|p| p.status).collect(),
        token_calls,
        signed_in_arrival_order: signed_in(stack, &forward).await,
        signed_in_reverse_order: signed_in(stack, &backward).await,
        next: forward,
    }
}

/// Whether `jar` is still signed in: the session function knows the user
/// and the user-info function (which asks the provider) answers 200.
async fn signed_in(stack: &Stack, jar: &Browser) -> bool {
    let who = stack.who(jar).await;
    let mut jar = jar.clone();
    let user = jar.get(&stack.url("/api/user-info")).await;
    who.is_some() && user.status == 200
}

async fn rounds(reuse: ReusePolicy, store: bool) -> Vec<Burst> {
    let stack = Stack::start(Setup {
        reuse,
        store,
        access_token_ttl: ACCESS_TOKEN_TTL,
        ..Setup::default()
    });
    let mut jar = stack.browser();
    stack.sign_in(&mut jar).await;
    let mut bursts = Vec::new();
    for _ in 0..ROUNDS {
        let b = burst(&stack, &jar).await;
        eprintln!(
            "{reuse:?}, store {store}: statuses {:?}, {} token call(s), signed in after: {} / {} (arrival / reverse order)",
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

/// With the store: one token call per burst, every request 200, signed in
/// afterwards in either order, every round.
fn assert_one_refresh_per_burst(bursts: &[Burst]) {
    assert_eq!(bursts.len(), ROUNDS, "signed in after every round");
    for b in bursts {
        assert_eq!(
            b.token_calls, 1,
            "one token call per burst: {:?}",
            b.statuses
        );
        assert!(b.statuses.iter().all(|s| *s == 200), "{:?}", b.statuses);
        assert!(b.signed_in_arrival_order && b.signed_in_reverse_order);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_store_instances_share_one_refresh_when_the_provider_revokes_on_reuse() {
    assert_one_refresh_per_burst(&rounds(ReusePolicy::RevokeGrant, true).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_store_instances_share_one_refresh_when_the_provider_rejects_reuse() {
    assert_one_refresh_per_burst(&rounds(ReusePolicy::Reject, true).await);
}

/// The provider refuses the access token before its time (revoked alone,
/// clocks far apart): a burst of user-info and validate-token requests,
/// two processes of each, all refused at once, each then refreshes. With
/// the store they share one refresh: one token call, every request 200,
/// signed in afterwards in either order, however the provider treats a
/// reused refresh token. Without one, where the provider refuses only the
/// reused token: each process refreshes, the losers answer 409 (their
/// refusal may be that race), nobody is told signed out, and the browser
/// is signed in afterwards in either order.
#[tokio::test(flavor = "multi_thread")]
async fn a_burst_refused_early_refreshes_and_stays_signed_in() {
    for (store, reuse) in [
        (true, ReusePolicy::RevokeGrant),
        (true, ReusePolicy::Reject),
        (false, ReusePolicy::Reject),
    ] {
        let stack = Stack::start(Setup {
            reuse,
            store,
            ..Setup::default()
        });
        let mut jar = stack.browser();
        stack.sign_in(&mut jar).await;
        let before = stack.token_calls();
        stack.emulator.expire_access_tokens_of(DEMO_SUB);
        let mut requests = JoinSet::new();
        for i in 0..BURST {
            let mut tab = jar.clone();
            let path = ["/api/user-info", "/api/validate-token"][i % 2];
            let url = stack.url(path);
            requests.spawn(async move { tab.get(&url).await });
        }
        let mut arrived: Vec<Page> = Vec::new();
        while let Some(page) = requests.join_next().await {
            arrived.push(page.unwrap());
        }
        let statuses: Vec<u16> = arrived.iter().map(|p| p.status).collect();
        let calls = stack.token_calls() - before;
        eprintln!("store {store}, {reuse:?}: statuses {statuses:?}, {calls} token call(s)");
        if store {
            let all_ok = statuses.iter().all(|s| *s == 200);
            assert!(all_ok, "{reuse:?}: {statuses:?}");
            assert_eq!(calls, 1, "{reuse:?}: one token call");
        } else {
            let answered = statuses.iter().all(|s| [200, 409].contains(s));
            assert!(
                answered && statuses.contains(&200),
                "nobody told signed out: {statuses:?}"
            );
        }
        for order in [
            apply(&jar, arrived.iter()),
            apply(&jar, arrived.iter().rev()),
        ] {
            assert!(signed_in(&stack, &order).await, "store {store}, {reuse:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_store_instances_survive_when_the_provider_rejects_only_the_reused_token() {
    let bursts = rounds(ReusePolicy::Reject, false).await;
    assert_eq!(bursts.len(), ROUNDS);
    for b in &bursts {
        assert!(b.signed_in_arrival_order && b.signed_in_reverse_order);
        assert!(
            b.token_calls >= 2,
            "one token call per instance: {}",
            b.token_calls
        );
        assert!(
            b.statuses.iter().all(|s| [200, 409].contains(s)),
            "nobody is told signed out: {:?}",
            b.statuses
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_store_instances_lose_the_session_when_the_provider_revokes_the_grant_on_reuse() {
    let bursts = rounds(ReusePolicy::RevokeGrant, false).await;
    let first = &bursts[0];
    assert!(
        first.token_calls >= 2,
        "one token call per instance: {}",
        first.token_calls
    );
    assert!(
        !first.signed_in_arrival_order && !first.signed_in_reverse_order,
        "the reuse revoked the grant: signed out in either order"
    );
}

/// A sign-out and a refresh of the same session, each in its own function
/// process, both sent with the generation the browser had: the refresh
/// answers with a new generation the sign-out cannot name. Whichever
/// response the browser applies last, the user is signed out, by every
/// instance and with no further token call (the refresh's tokens are only
/// revoked); with the store as without. The two are sent one after the
/// other, both with the same cookies: what this checks is the order in
/// which the browser applies the answers, which the test sets.
#[tokio::test(flavor = "multi_thread")]
async fn a_sign_out_crossing_a_refresh_in_another_process_signs_out_in_either_order() {
    for store in [false, true] {
        let stack = Stack::start(Setup {
            access_token_ttl: ACCESS_TOKEN_TTL,
            store,
            ..Setup::default()
        });
        let mut jar = stack.browser();
        stack.sign_in(&mut jar).await;
        tokio::time::sleep(Duration::from_millis(ACCESS_TOKEN_TTL * 1000 + 300)).await;
        let before = stack.token_calls();
        let refreshed = jar.clone().get(&stack.url("/api/auth/session")).await;
        assert_eq!(refreshed.json()["user"]["sub"], "usr_demo1234567890");
        assert_eq!(
            stack.token_calls(),
            before + 1,
            "store {store}: the session was refreshed, so its answer is a new generation"
        );
        let signed_out = jar.clone().post(&stack.url("/api/auth/signout"), &[]).await;
        assert_eq!(signed_out.status, 200, "{}", signed_out.body);
        for (order, pages) in [
            ("refresh applied last", [&signed_out, &refreshed]),
            ("sign-out applied last", [&refreshed, &signed_out]),
        ] {
            let end = apply(&jar, pages.into_iter());
            let calls = stack.token_calls();
            for _ in 0..2 {
                assert_eq!(stack.who(&end).await, None, "store {store}, {order}");
            }
            assert_eq!(
                stack.token_calls(),
                calls,
                "refused without a provider call"
            );
        }
    }
}
