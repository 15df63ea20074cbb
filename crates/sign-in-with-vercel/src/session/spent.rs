//! What this instance has heard the provider say is over: refresh tokens
//! the token endpoint refused (RFC 6749 §5.2: the grant is dead, and
//! nothing makes the same request succeed later) and token sets it revoked
//! (RFC 7009 §2.2), so that a copy of such a cookie sent again gets the
//! same answer from memory, not another provider call.
//!
//! A cookie's seal opens for as long as the session lives (up to
//! [`REFRESH_TOKEN_TTL_SECS`]), whatever the provider did to its tokens
//! since. Without this memory, a copy kept and replayed made the instance
//! call the provider on every request: a refused token call for a spent
//! or dead generation, up to four revocations for the ended sessions a
//! request's sign-out marks refuse, two for a replayed sign-out; on the
//! app's client credentials, which a provider may throttle for everyone.
//!
//! Keys are SHA-256 hashes, never tokens; the memory is bounded
//! ([`MAX_REMEMBERED`] of each kind), each entry kept until the session it
//! came from can no longer open. Per instance: another instance asks once
//! itself. Refusals are remembered only without a shared store: with one,
//! a refused grant ends the session in every instance, which a request
//! checks first, and a refusal the store did not hear of (in an outage)
//! may be a race lost to an instance whose outcome, published late, a
//! copy of the old generation must still be handed.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::cookie::REFRESH_TOKEN_TTL_SECS;
use crate::error::Error;
use crate::revoke::Revocation;
use crate::secret::{AccessToken, RefreshToken};

/// How many refusals, and how many revocations, are remembered at most:
/// past it, the entry closest to its end makes room. Each costs a key and
/// a time (and a refusal its error): a few tens of kilobytes in all.
const MAX_REMEMBERED: usize = 1024;

/// The refusals and revocations this instance remembers.
#[derive(Default)]
pub(crate) struct Spent {
    inner: Mutex<Remembered>,
}

#[derive(Default)]
struct Remembered {
    /// Refresh keys ([`super::flights::key`]) the token endpoint refused:
    /// until when, and the refusal.
    refused: HashMap<[u8; 32], (i64, Error)>,
    /// Token sets ([`revoked_key`]) revoked, or that the provider cannot
    /// revoke: until when, and which.
    revoked: HashMap<[u8; 32], (i64, Revocation)>,
}

impl Spent {
    /// The refusal of the refresh `key`, if the token endpoint refused it
    /// before and the session can still open (`now` in seconds).
    pub(crate) fn refusal(&self, key: &[u8; 32], now: i64) -> Option<Error> {
        let inner = self.lock();
        let (until, refusal) = inner.refused.get(key)?;
        (now < *until).then(|| refusal.clone())
    }

    /// Remembers that the token endpoint refused the refresh `key`
    /// ([`Error::is_grant_refusal`]) of a session that opens until `until`.
    pub(crate) fn refused(&self, key: [u8; 32], until: i64, refusal: &Error, now: i64) {
        if !refusal.is_grant_refusal() {
            return;
        }
        let mut inner = self.lock();
        make_room(&mut inner.refused, now, |(until, _)| *until);
        inner.refused.insert(key, (until, refusal.clone()));
    }

    /// What revoking the token set `key` ([`revoked_key`]) came to
    /// before, if it needs no more revoking.
    pub(crate) fn revocation(&self, key: &[u8; 32], now: i64) -> Option<Revocation> {
        let inner = self.lock();
        let (until, outcome) = inner.revoked.get(key)?;
        (now < *until).then_some(*outcome)
    }

    /// Remembers what revoking the token set `key` came to, unless it is
    /// worth a retry ([`Revocation::Failed`]). A session holding it opens
    /// no longer than a refresh token's life from now.
    pub(crate) fn revoked(&self, key: [u8; 32], outcome: Revocation, now: i64) {
        if outcome == Revocation::Failed {
            return;
        }
        let mut inner = self.lock();
        make_room(&mut inner.revoked, now, |(until, _)| *until);
        let until = now.saturating_add(REFRESH_TOKEN_TTL_SECS);
        inner.revoked.insert(key, (until, outcome));
    }

    fn lock(&self) -> MutexGuard<'_, Remembered> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many refusals and revocations are remembered (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.refused.len(), inner.revoked.len())
    }
}

/// Before an insert into a map at [`MAX_REMEMBERED`]: drops the entries
/// past their time, then, if none was, the one closest to its end.
fn make_room<V>(map: &mut HashMap<[u8; 32], V>, now: i64, until: impl Fn(&V) -> i64) {
    if map.len() < MAX_REMEMBERED {
        return;
    }
    map.retain(|_, v| now < until(v));
    if map.len() >= MAX_REMEMBERED
        && let Some(first) = map.iter().min_by_key(|(_, v)| until(v)).map(|(k, _)| *k)
    {
        map.remove(&first);
    }
}

/// The key of a token set: a SHA-256 of both tokens, each length-prefixed,
/// and whether there is a refresh token (no two sets hash alike), so that
/// no token is ever a key.
pub(crate) fn revoked_key(access: &AccessToken, refresh: Option<&RefreshToken>) -> [u8; 32] {
    let refresh_token = refresh.map_or("", RefreshToken::secret);
    super::flights::hash_fields(
        [access.secret().as_bytes(), refresh_token.as_bytes()],
        &[u8::from(refresh.is_some())],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `i`th of a run of distinct keys.
    fn key(i: usize) -> [u8; 32] {
        let mut key = [0; 32];
        key[..8].copy_from_slice(&(i as u64).to_le_bytes());
        key
    }

    fn refusal() -> Error {
        Error::TokenRejected("invalid_grant".into())
    }

    #[test]
    fn a_refusal_is_remembered_until_its_session_ends() {
        let spent = Spent::default();
        spent.refused([1; 32], 100, &refusal(), 10);
        assert_eq!(spent.refusal(&[1; 32], 99), Some(refusal()));
        assert_eq!(spent.refusal(&[1; 32], 100), None, "past the session's end");
        assert_eq!(spent.refusal(&[2; 32], 50), None, "another key");
    }

    #[test]
    fn only_a_refusal_of_the_grant_is_remembered() {
        let spent = Spent::default();
        for passing in [
            Error::TokenRejected("invalid_client".into()),
            Error::TokenRejected("temporarily_unavailable".into()),
            Error::RefreshConflict,
            Error::NotSignedIn,
        ] {
            spent.refused([1; 32], 100, &passing, 10);
            assert_eq!(spent.refusal(&[1; 32], 50), None, "{passing:?}");
        }
    }

    #[test]
    fn a_revocation_is_remembered_for_a_refresh_tokens_life_unless_worth_a_retry() {
        let spent = Spent::default();
        spent.revoked([1; 32], Revocation::Revoked, 10);
        spent.revoked([2; 32], Revocation::Unsupported, 10);
        spent.revoked([3; 32], Revocation::Failed, 10);
        let end = 10 + REFRESH_TOKEN_TTL_SECS;
        assert_eq!(
            spent.revocation(&[1; 32], end - 1),
            Some(Revocation::Revoked)
        );
        assert_eq!(spent.revocation(&[1; 32], end), None);
        assert_eq!(
            spent.revocation(&[2; 32], 11),
            Some(Revocation::Unsupported)
        );
        assert_eq!(spent.revocation(&[3; 32], 11), None, "a failure is retried");
        assert_eq!(spent.revocation(&[4; 32], 11), None);
    }

    #[test]
    fn the_memory_is_bounded_and_drops_the_entry_closest_to_its_end() {
        let spent = Spent::default();
        for i in 0..MAX_REMEMBERED + 10 {
            // The first entry ends last: the others make room before it.
            let until = if i == 0 { i64::MAX } else { 1_000 + i as i64 };
            spent.refused(key(i), until, &refusal(), 10);
            spent.revoked(key(i), Revocation::Revoked, 10 + i as i64);
        }
        assert_eq!(spent.len(), (MAX_REMEMBERED, MAX_REMEMBERED));
        assert!(
            spent.refusal(&[0; 32], 500).is_some(),
            "the entry that ends last stays"
        );
        let newest = key(MAX_REMEMBERED + 9);
        assert!(spent.refusal(&newest, 500).is_some());
        assert!(spent.revocation(&newest, 500).is_some());
        assert!(
            spent.refusal(&key(1), 500).is_none(),
            "closest to its end: dropped"
        );
        assert!(
            spent.revocation(&[0; 32], 500).is_none(),
            "the oldest revocation: dropped"
        );
    }

    /// Full, the entries past their time go first (those at `now` too),
    /// all of them, before any live one; below the bound nothing is
    /// dropped (lookups ignore what is past its time).
    #[test]
    fn entries_past_their_time_make_room_first() {
        let spent = Spent::default();
        for i in 0..MAX_REMEMBERED - 1 {
            let until = match i {
                7 => 20,
                8 => 30,
                _ => 1_000,
            };
            spent.refused(key(i), until, &refusal(), 10);
        }
        spent.refused(key(MAX_REMEMBERED - 1), 1_000, &refusal(), 30);
        assert_eq!(
            spent.len().0,
            MAX_REMEMBERED,
            "nothing dropped below the bound"
        );
        spent.refused([0xff; 32], 1_000, &refusal(), 30);
        assert_eq!(
            spent.len().0,
            MAX_REMEMBERED - 1,
            "both entries past their time (at 20, and at 30 = now) dropped"
        );
        assert!(
            spent.refusal(&key(0), 30).is_some(),
            "a live entry made no room"
        );
    }

    #[test]
    fn token_sets_hash_apart() {
        let a = AccessToken::new("vca_a");
        let keys = [
            revoked_key(&a, None),
            revoked_key(&a, Some(&RefreshToken::new("vcr_b"))),
            revoked_key(&a, Some(&RefreshToken::new(""))),
            revoked_key(&AccessToken::new("vca_avcr_b"), None),
            revoked_key(&AccessToken::new("vca_b"), None),
        ];
        for (i, k) in keys.iter().enumerate() {
            for other in &keys[i + 1..] {
                assert_ne!(k, other);
            }
        }
        assert_eq!(keys[1], revoked_key(&a, Some(&RefreshToken::new("vcr_b"))));
    }
}
