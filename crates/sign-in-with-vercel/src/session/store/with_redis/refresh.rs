//! One refresh per session generation across instances: the first to
//! claim it (`SET … NX PX`, for [`CLAIM_TTL`]) makes the token call and
//! publishes its outcome, sealed (see [`crate::session::shared`]), for
//! [`OUTCOME_TTL`]; the others read it ([`Claim`]). A refresh made while
//! the store did not answer its claim is published late, unless its
//! session ended in this instance meanwhile ([`Late`]); a claim left
//! without an outcome (the provider could not be reached) is released
//! ([`DELETE_IF_HELD`]).

use std::time::{Duration, Instant};

use super::connection::Reply;
use super::{Store, lock};
use crate::session::store::{Claim, OUTCOME_TTL};

/// Deletes `KEYS[1]` if it holds `ARGV[1]`, atomically: a claim is
/// released only by the instance that holds it.
const DELETE_IF_HELD: &str = "\
    if redis.call('GET', KEYS[1]) == ARGV[1] then \
        return redis.call('DEL', KEYS[1]) \
    end \
    return 0";
/// How long a claim on a refresh holds: past any request's deadline.
pub(crate) const CLAIM_TTL: Duration = Duration::from_secs(10);

/// The late publications of one instance.
#[derive(Default)]
pub(super) struct Late {
    /// Still to make, by session id.
    tasks: Vec<(String, tokio::task::AbortHandle)>,
    /// The sessions ended in this instance within [`OUTCOME_TTL`], at
    /// most [`ENDED_KEPT`], newest last: a refresh whose token call was
    /// out when its session ended publishes nothing when it returns.
    ended: std::collections::VecDeque<(String, Instant)>,
}

/// How many ended sessions an instance remembers for [`Late::ended`]:
/// far more sign-outs than an instance sees in [`OUTCOME_TTL`].
const ENDED_KEPT: usize = 1024;

impl Store {
    /// In one round trip: the refresh's outcome if another instance
    /// published it, else a claim on making the call.
    pub(crate) async fn claim(&self, flight: &[u8; 32]) -> Option<Claim> {
        let token = crate::secret::random_token();
        // The claim's holder read back with it: a round trip sent again
        // after a dropped connection, whose first `SET` the store ran,
        // still knows the claim is its own.
        // Each command's answer apart: a store that refuses the claim's
        // write (full, `OOM`) still answers the read of an outcome
        // another instance published, which a copy of the replaced
        // generation is to get rather than spend the old refresh
        // token again.
        // Read as bytes, as the marks are: a value that is not UTF-8 is
        // no outcome and no claim of ours, not a failure to read.
        type Each = redis::RedisResult<Option<Vec<u8>>>;
        let (outcome, claimed, holder): (Each, redis::RedisResult<redis::Value>, Each) = self
            .round_trip("claim", || {
                let mut pipe = redis::pipe();
                pipe.ignore_errors();
                pipe.cmd("GET")
                    .arg(self.keys.outcome(flight))
                    .cmd("SET")
                    .arg(self.keys.claim(flight))
                    .arg(&token)
                    .arg("NX")
                    .arg("PX")
                    .arg(CLAIM_TTL.as_millis() as u64)
                    .cmd("GET")
                    .arg(self.keys.claim(flight));
                pipe
            })
            .await?;
        let outcome = match outcome {
            Ok(Some(bytes)) => match String::from_utf8(bytes) {
                Ok(outcome) => return Some(Claim::Outcome(outcome)),
                Err(_) => Ok(None),
            },
            other => other,
        };
        // No outcome read, and no claim made (refused) or read back:
        // as if the store had not answered.
        let refused = [
            outcome.as_ref().err(),
            claimed.as_ref().err(),
            holder.as_ref().err(),
        ];
        if let Some(e) = refused.into_iter().flatten().next() {
            self.note_refusal("claim", e);
            return None;
        }
        Some(match holder {
            Ok(Some(holder)) if holder == token.as_bytes() => Claim::Won(token),
            _ => Claim::Wait,
        })
    }

    /// Publishes a refresh's outcome for [`OUTCOME_TTL`] (`only_first`:
    /// unless an outcome is there already): whether the store
    /// answered, taking it or refusing it.
    pub(crate) async fn publish(&self, flight: &[u8; 32], outcome: &str, only_first: bool) -> bool {
        self.set_outcome(flight, outcome, OUTCOME_TTL, only_first, false)
            .await
    }

    /// Publishes the outcome of a refresh this instance made while the
    /// store did not answer its claim, for what is left of
    /// [`OUTCOME_TTL`] (`left`), unless an outcome is there already;
    /// asked even while the store rests (no request waits on it):
    /// whether the store answered, taking it or refusing it (a refused
    /// command is not asked again).
    pub(crate) async fn publish_late(
        &self,
        flight: &[u8; 32],
        outcome: &str,
        left: Duration,
    ) -> bool {
        self.set_outcome(flight, outcome, left, true, true).await
    }

    /// `SET` of the outcome for `ttl` (`only_first`: only where none
    /// is; `late`: even while the store rests): whether the store
    /// answered.
    async fn set_outcome(
        &self,
        flight: &[u8; 32],
        outcome: &str,
        ttl: Duration,
        only_first: bool,
        late: bool,
    ) -> bool {
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let command = || {
            let mut pipe = redis::pipe();
            let set = pipe.cmd("SET").arg(self.keys.outcome(flight)).arg(outcome);
            if only_first {
                set.arg("NX");
            }
            set.arg("PX").arg(millis);
            pipe
        };
        // `OK`, or nil where `NX` found an outcome there.
        let reply = self
            .reply::<(Option<String>,)>("publish", command, late)
            .await;
        !matches!(reply, Reply::Unanswered)
    }

    /// Remembers the late publication `handle` of session `sid`, so
    /// that ending the session cancels it; forgets those finished.
    pub(crate) fn track_late(&self, sid: String, handle: tokio::task::AbortHandle) {
        let mut late = lock(&self.late);
        let ended = late
            .ended
            .iter()
            .any(|(ended, at)| *ended == sid && at.elapsed() < OUTCOME_TTL);
        if ended {
            // Ended while its refresh's token call was out.
            handle.abort();
            return;
        }
        late.tasks.retain(|(_, h)| !h.is_finished());
        late.tasks.push((sid, handle));
    }

    /// Cancels the late publications of session `sid`: it ended in this
    /// instance, perhaps while the store did not take the end, and no
    /// copy of its older generation may be handed its newer one.
    pub(crate) fn cancel_late(&self, sid: &str) {
        lock(&self.late).tasks.retain(|(s, h)| {
            if s == sid {
                h.abort();
            }
            s != sid
        });
    }

    /// Notes that session `sid` ended for good in this instance: a
    /// refresh of it whose token call is out publishes nothing late
    /// ([`Store::track_late`]) for [`OUTCOME_TTL`].
    pub(crate) fn ended_here(&self, sid: &str) {
        let mut late = lock(&self.late);
        let now = Instant::now();
        while late.ended.len() >= ENDED_KEPT
            || late
                .ended
                .front()
                .is_some_and(|(_, at)| now.duration_since(*at) >= OUTCOME_TTL)
        {
            late.ended.pop_front();
        }
        late.ended.push_back((sid.to_owned(), now));
    }

    /// Gives up the claim `token` made without an outcome (the
    /// provider could not be reached), so that another request may
    /// try; a claim another instance took once this one lapsed stays.
    pub(crate) async fn release(&self, flight: &[u8; 32], token: &str) {
        let _ = self
            .round_trip::<()>("release", || {
                let mut pipe = redis::pipe();
                pipe.cmd("EVAL")
                    .arg(DELETE_IF_HELD)
                    .arg(1)
                    .arg(self.keys.claim(flight))
                    .arg(token);
                pipe
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::silent_store;
    use super::*;

    /// A session that ends in this instance cancels its late
    /// publications, those of a refresh whose token call was out when
    /// it ended too; another session's stay.
    #[tokio::test]
    async fn a_session_ended_meanwhile_publishes_no_refresh_late() {
        let store = silent_store();
        store.cancel_late("sid");
        store.ended_here("sid");
        let late = tokio::spawn(std::future::pending::<()>());
        store.track_late("sid".into(), late.abort_handle());
        let ended = tokio::time::timeout(Duration::from_secs(1), late).await;
        assert!(ended.expect("runs on").unwrap_err().is_cancelled());
        let other = tokio::spawn(std::future::pending::<()>());
        store.track_late("other".into(), other.abort_handle());
        tokio::task::yield_now().await;
        assert!(!other.is_finished());
        store.cancel_late("other");
        assert!(other.await.unwrap_err().is_cancelled());
        // An end older than the outcomes it could cancel cancels none.
        store.ended_here("old");
        if let Some((_, at)) = lock(&store.late).ended.back_mut() {
            *at = at.checked_sub(OUTCOME_TTL).unwrap();
        }
        let late = tokio::spawn(std::future::pending::<()>());
        store.track_late("old".into(), late.abort_handle());
        tokio::task::yield_now().await;
        assert!(!late.is_finished(), "a stale end cancelled the publication");
        late.abort();
    }

    /// The sessions an instance ended are remembered for the outcomes'
    /// time, at most [`ENDED_KEPT`] of them: the oldest go first.
    #[tokio::test]
    async fn the_sessions_ended_here_are_remembered_within_bounds() {
        let store = silent_store();
        for n in 0..=ENDED_KEPT {
            store.ended_here(&format!("s{n}"));
        }
        let ended = |store: &Store| -> Vec<String> {
            lock(&store.late)
                .ended
                .iter()
                .map(|(s, _)| s.clone())
                .collect()
        };
        let kept = ended(&store);
        assert_eq!(kept.len(), ENDED_KEPT);
        assert_eq!(kept[0], "s1");
        // Past the outcomes' time, an end is forgotten.
        let store = silent_store();
        store.ended_here("a");
        store.ended_here("b");
        if let Some((_, at)) = lock(&store.late).ended.front_mut() {
            *at = at.checked_sub(OUTCOME_TTL).unwrap();
        }
        store.ended_here("c");
        assert_eq!(ended(&store), ["b", "c"]);
    }
}
