//! Time: the clock every check reads, and the deadline that bounds all the
//! provider calls of one request. A leaf: it imports nothing of the crate.

use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// The current time in seconds since the epoch. Tests pass a clock they
/// move forward without sleeping.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The most time one request's own provider calls (its session's refresh,
/// a route's calls) may take, all of them together, and each of a
/// handler's calls to Vercel's REST API: a slow provider gets the user an
/// answer in seconds, within even the shortest limit a Vercel function
/// has had (10 s; Fluid compute, where Vercel runs Rust functions, allows
/// 300 s by default), and before the shared store's claim on a refresh
/// lapses.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(9);

tokio::task_local! {
    /// When the current request's provider calls must be done.
    static DEADLINE: Instant;
}

/// The system clock: whole seconds since the Unix epoch.
pub fn system_now() -> i64 {
    since_epoch(Duration::as_secs)
}

/// The system clock in milliseconds since the Unix epoch, where the order
/// of two events within a second matters.
pub(crate) fn system_now_ms() -> i64 {
    since_epoch(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The time since the Unix epoch in the unit `count` takes (0 before it).
fn since_epoch(count: impl Fn(&Duration) -> u64) -> i64 {
    let count = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| count(&d));
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// The system clock as a [`Clock`]: one shared instance, so asking for it
/// allocates nothing.
pub fn system_clock() -> Clock {
    static SYSTEM: LazyLock<Clock> = LazyLock::new(|| Arc::new(system_now));
    SYSTEM.clone()
}

/// Runs `future` (one request) with a deadline for its provider calls,
/// unless it already runs under one (a handler inside
/// [`Auth::protect`](crate::Auth::protect) keeps the request's).
pub(crate) async fn with_deadline<F: Future>(future: F) -> F::Output {
    if DEADLINE.try_with(|_| ()).is_ok() {
        return future.await;
    }
    DEADLINE
        .scope(Instant::now() + REQUEST_DEADLINE, future)
        .await
}

/// `future` under a deadline of its own, [`REQUEST_DEADLINE`] from now,
/// whatever the request's: one call to Vercel's REST API of a handler
/// that may have spent the request's own already.
pub(crate) async fn with_own_deadline<F: Future>(future: F) -> F::Output {
    DEADLINE
        .scope(Instant::now() + REQUEST_DEADLINE, future)
        .await
}

/// `future` under the current request's deadline, if there is one: for
/// work that runs as a task of its own, which does not inherit the
/// request's.
pub(crate) fn keep_deadline<F: Future>(future: F) -> impl Future<Output = F::Output> {
    let deadline = DEADLINE.try_with(|deadline| *deadline).ok();
    async move {
        match deadline {
            Some(deadline) => DEADLINE.scope(deadline, future).await,
            None => future.await,
        }
    }
}

/// Runs `future` as a task of its own, under the current request's
/// deadline, and waits for it: cutting off the caller (a browser that
/// went away, a function's own timeout) does not cut off work whose first
/// half may be done already (a session ended in the shared store whose
/// tokens are still to be revoked; tokens the provider rotated, still to
/// reach the session). `None` if the task panicked. Without a Tokio
/// runtime (the crate needs one), it runs in the caller.
pub(crate) async fn to_the_end<T: Send + 'static>(
    future: impl Future<Output = T> + Send + 'static,
) -> Option<T> {
    to_the_end_or(future, |_| std::future::ready(())).await
}

/// [`to_the_end`] for work whose outcome must not be dropped: when the
/// caller was cut off before it came, `unclaimed` gets it (tokens the
/// provider issued for an answer that will never be sent, to revoke). Best
/// effort: a caller cut off after the outcome came, before it polled
/// again, or an answer lost on its way, leaves the outcome to the caller.
pub(crate) async fn to_the_end_or<T, Fut>(
    future: impl Future<Output = T> + Send + 'static,
    unclaimed: impl FnOnce(T) -> Fut + Send + 'static,
) -> Option<T>
where
    T: Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        // Not on a Tokio runtime (the crate needs one): in the caller.
        return Some(future.await);
    };
    let (claim, outcome) = tokio::sync::oneshot::channel();
    // Boxed: one task type for every caller, not one for each caller's
    // future (each task type is kilobytes of every function that has it).
    let task: std::pin::Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(async move {
        if let Err(done) = claim.send(future.await) {
            unclaimed(done).await;
        }
    });
    crate::background::spawn(&runtime, keep_deadline(task));
    outcome.await.ok()
}

/// What the fetches of the provider's keys leave of a request's time, for
/// revoking the tokens a sign-in or a refresh got if their ID token cannot
/// be verified: one round trip (the access and refresh tokens are revoked
/// side by side).
pub(crate) const REVOCATION_RESERVE: Duration = Duration::from_secs(2);

/// `future` under the current request's deadline brought forward by
/// [`REVOCATION_RESERVE`], if there is one: for work after which the
/// tokens of a sign-in or a refresh that failed may still have to be
/// revoked within the request's time (the code or refresh token spent).
pub(crate) async fn keeping_back<F: Future>(future: F) -> F::Output {
    match DEADLINE.try_with(|deadline| *deadline) {
        Ok(deadline) => {
            let earlier = deadline
                .checked_sub(REVOCATION_RESERVE)
                .unwrap_or_else(Instant::now);
            DEADLINE.scope(earlier, future).await
        }
        Err(_) => future.await,
    }
}

/// `future` under a deadline `left` from now (tests of what a request
/// does near its end).
#[cfg(test)]
pub(crate) async fn with_deadline_in<F: Future>(left: Duration, future: F) -> F::Output {
    DEADLINE.scope(Instant::now() + left, future).await
}

/// What is left of the current request's deadline; `None` outside a request.
pub(crate) fn time_left() -> Option<Duration> {
    DEADLINE
        .try_with(|deadline| deadline.saturating_duration_since(Instant::now()))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Work cut off from its caller (a sign-in or sign-out whose browser
    /// left, which still revokes what it must) is given to the request's
    /// keep-alive hook, which sees it settle only when the work ends.
    #[tokio::test(start_paused = true)]
    async fn work_run_to_its_end_is_given_to_the_requests_hook() {
        use std::sync::{Arc, Mutex};
        let (hook, given) = crate::background::tests::recording_hook();
        let revoked = Arc::new(Mutex::new(false));
        let done = revoked.clone();
        crate::kept_alive(hook, async move {
            let cut_off = tokio::time::timeout(
                Duration::from_millis(10),
                to_the_end_or(
                    async {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        "tokens"
                    },
                    move |_| async move { *done.lock().unwrap() = true },
                ),
            )
            .await;
            assert!(cut_off.is_err(), "the caller left");
        })
        .await;
        let work = given
            .lock()
            .unwrap()
            .pop()
            .expect("the work was given to the hook");
        assert!(!work.is_finished());
        work.await.unwrap();
        assert!(*revoked.lock().unwrap(), "settled once the work ended");
    }

    #[tokio::test]
    async fn a_request_has_a_deadline_and_nested_scopes_keep_the_outer_one() {
        assert_eq!(time_left(), None);
        let left = with_deadline(async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            with_deadline(async { time_left() }).await
        })
        .await
        .unwrap();
        assert!(
            left < REQUEST_DEADLINE,
            "the inner scope did not restart it"
        );
        assert!(left > REQUEST_DEADLINE - Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_task_of_its_own_keeps_the_deadline_of_the_request_that_spawned_it() {
        let spawned = with_deadline(async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let kept = tokio::spawn(keep_deadline(async { time_left() }));
            let bare = tokio::spawn(async { time_left() });
            (
                kept.await.unwrap(),
                bare.await.unwrap(),
                time_left().unwrap(),
            )
        })
        .await;
        let (kept, bare, own) = spawned;
        assert!(kept.is_some_and(|kept| kept >= own && kept < REQUEST_DEADLINE));
        assert_eq!(bare, None, "a task does not inherit the deadline by itself");
        assert_eq!(
            tokio::spawn(keep_deadline(async { time_left() }))
                .await
                .unwrap(),
            None
        );
    }
}
