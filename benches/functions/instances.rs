//! Bursts at expiry across instances: [`PROCESSES`] processes of the
//! `session` function, the requests of each burst spread evenly over them,
//! all with one expired-token cookie. With the shared store (`REDIS_URL`,
//! one local `redis-server`) they must share one token call; without it
//! each process refreshes on its own, which is what the store is for.

use sign_in_with_vercel::SESSION;

use crate::provider::Provider;
use crate::session::{self, Burst};
use crate::store::Store;
use crate::{Function, function};

/// The `session` processes a burst is spread over.
pub const PROCESSES: usize = 4;

pub struct InstancesResult {
    /// Parallel requests per burst, over [`PROCESSES`] processes.
    pub parallel: usize,
    /// The store's `redis_version`.
    pub store_version: String,
    /// The bursts with the shared store, then without it.
    pub with_store: Vec<Burst>,
    pub without_store: Vec<Burst>,
}

/// [`session::ROUNDS`] bursts of `parallel` requests over [`PROCESSES`]
/// fresh `session` processes sharing `store`, then as many over
/// [`PROCESSES`] fresh processes without a store.
pub fn run(
    functions: &[Function],
    store: &Store,
    provider: &Provider,
    rt: &tokio::runtime::Runtime,
    parallel: usize,
) -> InstancesResult {
    assert!(
        parallel >= PROCESSES,
        "BENCH_BURST={parallel}: a burst across instances needs a request for each of its \
         {PROCESSES} processes"
    );
    let alone = function(functions, &SESSION);
    let shared = alone.with_store(&store.url());
    InstancesResult {
        parallel,
        store_version: store.version.clone(),
        with_store: session::bursts(&shared, provider, rt, parallel, PROCESSES),
        without_store: session::bursts(alone, provider, rt, parallel, PROCESSES),
    }
}
