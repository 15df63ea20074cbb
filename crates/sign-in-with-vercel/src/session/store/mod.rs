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

// The store itself: over Redis with the feature (its connection, the
// ended sessions, the shared refreshes), and none without it.
#[cfg(not(feature = "redis"))]
mod without_redis;

#[cfg(feature = "redis")]
mod with_redis;

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
