//! Request counts per endpoint, for benchmarks and tests that count
//! provider calls (`GET /_emulator/stats`, [`crate::Emulator::stats`]).

use std::sync::atomic::AtomicU64;

use serde::Serialize;

/// How many requests each endpoint has served.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// `/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.
    pub discovery: u64,
    /// `/.well-known/jwks`.
    pub jwks: u64,
    /// `/oauth/authorize` (page and decision).
    pub authorize: u64,
    /// `/login/oauth/token` (and `/api/login/oauth/token`).
    pub token: u64,
    /// `/login/oauth/token/revoke` (both forms).
    pub revoke: u64,
    /// `/login/oauth/token/introspect` (both forms).
    pub introspect: u64,
    /// `/login/oauth/userinfo` (both forms).
    pub userinfo: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub discovery: AtomicU64,
    pub jwks: AtomicU64,
    pub authorize: AtomicU64,
    pub token: AtomicU64,
    pub revoke: AtomicU64,
    pub introspect: AtomicU64,
    pub userinfo: AtomicU64,
}
