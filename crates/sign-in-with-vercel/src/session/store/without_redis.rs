//! The store of a build without the `redis` feature: there is none. A
//! configured `REDIS_URL` (or `KV_URL`) is logged as unused, and [`Store`]
//! has no value, so every use the sessions make of a store is unreachable
//! by construction, and no Redis client is compiled in.

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

    pub(crate) async fn publish_late(&self, _: &[u8; 32], _: &str, _: std::time::Duration) -> bool {
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
