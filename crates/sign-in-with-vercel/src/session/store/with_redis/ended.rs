//! Ended sessions. A session's own sign-out (and app removal, a refused
//! grant) marks its id ended; its user's "sign out everywhere" marks every
//! session begun until then ([`UserMarks`]), a later mark never replaced by
//! an earlier one ([`SET_LATER`]). Every protected request asks in one
//! `MGET`; a "not ended" answer is trusted in the instance for
//! [`LIVE_FOR`] ([`Live`]), unless the instance ends a session meanwhile.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{Store, lock};
use crate::session::store::UserMarks;

/// How long an ended session or user stays ended: as long as a session
/// can live, and a margin for clocks.
const ENDED_FOR: i64 = crate::session::cookie::REFRESH_TOKEN_TTL_SECS + 120;
/// How long an instance trusts that a session was not ended.
pub(crate) const LIVE_FOR: Duration = Duration::from_secs(1);
/// Sets `KEYS[1]` to the number `ARGV[1]` for `ARGV[2]` seconds,
/// unless it holds a later one, atomically: two "sign out everywhere"
/// of one user that reach the store out of order (one took its time,
/// then stalled) leave the later mark. A held mark later by more than
/// `ARGV[3]` (the clocks' skew) is a wrong one (a clock far ahead) and
/// is replaced, so that it cannot end every sign-in until its time.
/// One key per script: keys in different slots of a sharded store
/// cannot share one.
const SET_LATER: &str = "\
    local held = tonumber(redis.call('GET', KEYS[1])) \
    local new = tonumber(ARGV[1]) \
    if held == nil or held < new or held > new + tonumber(ARGV[3]) then \
        redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) \
    end \
    return 0";
/// How far apart the instances' clocks may be, for [`SET_LATER`].
const MARK_SKEW_SECS: i64 = crate::session::cookie::CLOCK_SKEW_SECS;

/// What an instance remembers of the store's "not ended" answers.
#[derive(Default)]
pub(super) struct Live {
    /// Sessions seen not ended, and when the store was asked.
    seen: HashMap<String, Instant>,
    /// How many endings this instance has begun or finished: an answer
    /// to a question asked before one of them is not remembered (it
    /// may predate the ending).
    endings: u64,
}

impl Live {
    /// An ending begins or is done: forget `sid` (or, with `None`,
    /// every session), and the answers still on their way.
    fn ending(&mut self, sid: Option<&str>) {
        self.endings = self.endings.wrapping_add(1);
        match sid {
            Some(sid) => {
                self.seen.remove(sid);
            }
            None => self.seen.clear(),
        }
    }
}

impl Store {
    /// Whether the session `sid` of user `sub`, begun at `started_ms`
    /// (milliseconds since the epoch), was ended: by its own sign-out,
    /// or by its user's "sign out everywhere" at or after its start.
    /// `None` when the store does not answer. A "no" is trusted for
    /// [`LIVE_FOR`] from when it was asked, unless this instance ended
    /// a session meanwhile.
    pub(crate) async fn ended(&self, sid: &str, sub: &str, started_ms: i64) -> Option<bool> {
        let (asked, endings) = {
            let live = lock(&self.live);
            if let Some(seen) = live.seen.get(sid)
                && seen.elapsed() < LIVE_FOR
            {
                return Some(false);
            }
            (Instant::now(), live.endings)
        };
        let (session, marks) = self.endings(sid, sub).await?;
        let ended = session || marks.end(started_ms);
        let mut live = lock(&self.live);
        if ended {
            live.seen.remove(sid);
        } else if live.endings == endings {
            if live.seen.len() >= 4096 {
                live.seen.retain(|_, seen| seen.elapsed() < LIVE_FOR);
            }
            live.seen.insert(sid.to_owned(), asked);
        }
        Some(ended)
    }

    /// Whether the session `sid` of user `sub`, begun at `started_ms`,
    /// may sign its user out everywhere at `now_ms`: it was not ended,
    /// or only by a mark of a clock gone wrong (later than now by more
    /// than the clocks' skew), which it is there to replace. A copy of
    /// an ended session may not: it could end every new session of its
    /// user, as often as it is sent. Asked of the store, whatever this
    /// instance remembers; `None` when the store does not answer.
    pub(crate) async fn may_end_user(
        &self,
        sid: &str,
        sub: &str,
        started_ms: i64,
        now_ms: i64,
    ) -> Option<bool> {
        let (session, marks) = self.endings(sid, sub).await?;
        let marks = marks.plausible_at(now_ms, MARK_SKEW_SECS * 1000);
        Some(!session && !marks.end(started_ms))
    }

    /// Whether session `sid` was ended by its own sign-out, and the
    /// marks of its user's "sign out everywhere", in one command (a
    /// store that bills per command, Upstash, counts one per check).
    /// Read as bytes: whatever a key holds, even bytes that are not
    /// UTF-8, is an answer about that key (any value at the session's
    /// key ends it; a mark that is not a number is none), never a
    /// failure to read the answer, which would rest the store for
    /// every session.
    async fn endings(&self, sid: &str, sub: &str) -> Option<(bool, UserMarks)> {
        type Values = (Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>);
        let ((session, ms, seconds),): (Values,) = self
            .round_trip("check", || {
                let [user_ms, user_seconds] = self.keys.ended_user(sub);
                let mut pipe = redis::pipe();
                pipe.cmd("MGET")
                    .arg(self.keys.ended_session(sid))
                    .arg(user_ms)
                    .arg(user_seconds);
                pipe
            })
            .await?;
        let marks = UserMarks::read(ms.as_deref(), seconds.as_deref());
        Some((session.is_some(), marks))
    }

    /// Ends session `sid` for as long as a copy of it can live (a
    /// refresh that crossed the ending may have set a generation that
    /// lives longer than the one read), here at once and in every
    /// instance within [`LIVE_FOR`]. Whether the store took it.
    pub(crate) async fn end_session(&self, sid: &str) -> bool {
        self.ending(Some(sid), "end session", || {
            let mut pipe = redis::pipe();
            pipe.cmd("SET")
                .arg(self.keys.ended_session(sid))
                .arg(1)
                .arg("EX")
                .arg(ENDED_FOR);
            pipe
        })
        .await
    }

    /// Ends every session of `sub` begun at or before `at_ms`
    /// (milliseconds since the epoch), for as long as a session can
    /// live.
    pub(crate) async fn end_user(&self, sub: &str, at_ms: i64) -> bool {
        let (mark_ms, mark_seconds) = UserMarks::at(at_ms);
        self.ending(None, "end user", || {
            let [key_ms, key_seconds] = self.keys.ended_user(sub);
            let mut pipe = redis::pipe();
            for (key, mark, skew) in [
                (key_ms, mark_ms, MARK_SKEW_SECS * 1000),
                (key_seconds, mark_seconds, MARK_SKEW_SECS),
            ] {
                pipe.cmd("EVAL")
                    .arg(SET_LATER)
                    .arg(1)
                    .arg(key)
                    .arg(mark)
                    .arg(ENDED_FOR)
                    .arg(skew);
            }
            pipe
        })
        .await
    }

    /// Runs `command`, which ends the session `sid` (`None`: sessions
    /// of a user, so every session this instance has seen), with the
    /// instance's "not ended" answers forgotten as it begins and as it
    /// is done ([`Live::ending`]). Whether the store took it.
    async fn ending(
        &self,
        sid: Option<&str>,
        what: &'static str,
        command: impl FnOnce() -> redis::Pipeline,
    ) -> bool {
        lock(&self.live).ending(sid);
        let took = self.round_trip::<()>(what, command).await.is_some();
        lock(&self.live).ending(sid);
        took
    }
}
