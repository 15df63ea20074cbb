//! Work a request leaves running after its answer, and the platform's hook
//! that keeps the instance for it.
//!
//! A refresh shared with later requests outlives the request that started
//! it, and a sign-in or sign-out cut off runs to its end, revoking what it
//! must (`clock::to_the_end_or`). Each is a task of the instance's runtime.
//! On Vercel, work the runtime is not told of may be frozen with an idle
//! instance, or dropped when the instance is shut down (`vercel_runtime`
//! drains only what `AppState::wait_until` registered before it exits):
//! a refresh claimed in the shared store and dropped so makes every other
//! instance's request for that session wait out its deadline. A
//! [`KeepAlive`] is that hook; [`kept_alive`] runs a request's handling
//! with it, and each such task is registered with it when spawned.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A future the platform is asked to wait for.
pub type Work = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The platform's hook for the work a request leaves running after its
/// answer: on Vercel, `vercel_runtime`'s `AppState::wait_until`, which
/// delays the invocation's end, and the instance's shutdown, until the
/// work settles (a refresh or a revocation: seconds, within the request's
/// deadline).
///
/// ```
/// # use sign_in_with_vercel::KeepAlive;
/// # #[derive(Clone)] struct AppState;
/// # impl AppState { fn wait_until(&self, _: impl std::future::Future<Output = ()> + Send + 'static) {} }
/// # let state = AppState;
/// // In a handler given `state: vercel_runtime::AppState`:
/// let keep_alive = KeepAlive::new(move |work| state.wait_until(work));
/// ```
#[derive(Clone)]
pub struct KeepAlive(Arc<dyn Fn(Work) + Send + Sync>);

impl KeepAlive {
    /// The hook `wait_until`, called with each piece of work as it starts:
    /// it is given a future that settles when the work ends; the work
    /// itself runs whatever the hook does with that future.
    pub fn new(wait_until: impl Fn(Work) + Send + Sync + 'static) -> Self {
        Self(Arc::new(wait_until))
    }
}

impl std::fmt::Debug for KeepAlive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeepAlive")
    }
}

tokio::task_local! {
    /// The hook of the request being handled (and of the work it started).
    static KEEP_ALIVE: KeepAlive;
}

/// Runs `future`, one request's handling, with `keep_alive` as the hook
/// of the work it leaves running after its answer (a refresh it starts, a
/// revocation cut off): [`Auth::serve_kept_alive`](crate::Auth::serve_kept_alive)
/// does so for the library's routes; wrap a function of your own that
/// calls [`Auth::session`](crate::Auth::session) or
/// [`Auth::protect`](crate::Auth::protect) the same way.
pub async fn kept_alive<F: Future>(keep_alive: KeepAlive, future: F) -> F::Output {
    KEEP_ALIVE.scope(keep_alive, future).await
}

/// Spawns `task` on `runtime`, registered with the hook of the request
/// that starts it, if it has one: the hook is given a future that
/// settles when the task ends (done, or dropped with the runtime), and the
/// task keeps the hook for the work it starts in turn.
pub(crate) fn spawn(
    runtime: &tokio::runtime::Handle,
    task: impl Future<Output = ()> + Send + 'static,
) {
    // Boxed: one task type of each kind for every caller, not one for
    // each caller's future (each is kilobytes of every function).
    let task: Work = Box::pin(task);
    match KEEP_ALIVE.try_with(KeepAlive::clone) {
        Ok(keep_alive) => {
            let (ended, settled) = tokio::sync::oneshot::channel::<()>();
            (keep_alive.0)(Box::pin(async move {
                // Sent nothing: it settles when the task drops its end.
                let _ = settled.await;
            }));
            drop(runtime.spawn(KEEP_ALIVE.scope(keep_alive, async move {
                task.await;
                drop(ended);
            })));
        }
        Err(_) => drop(runtime.spawn(task)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;

    /// What a hook was given: each piece of work, spawned, to await.
    pub(crate) type Given = Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>;

    /// A hook that spawns each piece of work it is given and keeps its
    /// handle, as `vercel_runtime`'s `wait_until` spawns and tracks it.
    pub(crate) fn recording_hook() -> (KeepAlive, Given) {
        let given: Given = Arc::default();
        let kept = given.clone();
        let hook = KeepAlive::new(move |work| kept.lock().unwrap().push(tokio::spawn(work)));
        (hook, given)
    }

    /// Work started within a request's handling is given to its hook,
    /// which sees it settle when the work ends, and so is the work that
    /// work starts; without a hook it simply runs.
    #[tokio::test(start_paused = true)]
    async fn work_started_by_a_request_is_given_to_its_hook() {
        let (hook, given) = recording_hook();
        let runtime = tokio::runtime::Handle::current();
        let done = Arc::new(Mutex::new(Vec::new()));
        kept_alive(hook, async {
            let (runtime, done) = (runtime.clone(), done.clone());
            spawn(&runtime.clone(), async move {
                tokio::time::sleep(Duration::from_secs(2)).await;
                done.lock().unwrap().push("refresh");
                let done = done.clone();
                spawn(&runtime, async move {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    done.lock().unwrap().push("its revocation");
                });
            });
        })
        .await;
        assert_eq!(given.lock().unwrap().len(), 1, "the request's work");
        let first = given.lock().unwrap().remove(0);
        first.await.unwrap();
        assert_eq!(*done.lock().unwrap(), ["refresh"], "settled when it ended");
        let second = given.lock().unwrap().remove(0);
        second.await.unwrap();
        assert_eq!(*done.lock().unwrap(), ["refresh", "its revocation"]);

        // No hook: the work runs all the same.
        let alone = Arc::new(Mutex::new(false));
        let ran = alone.clone();
        spawn(&runtime, async move { *ran.lock().unwrap() = true });
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(*alone.lock().unwrap());
    }
}
