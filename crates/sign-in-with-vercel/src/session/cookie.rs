//! The session cookie: everything a signed-in request needs, sealed into
//! one host-only cookie (split in chunks only if it nears the browser's
//! 4 KB limit), so that knowing who is signed in costs no provider call.
//!
//! A generation is `session.<id>.<n>` for chunks `n = 0, 1, …`; the `<id>`
//! is fresh whenever the tokens change. Reading opens every generation the
//! request carries and keeps the newest (latest sign-in, then most
//! rotations); every other one, and any that does not open, is deleted by
//! the response. So parallel responses commute, whatever order the browser
//! applies them in, and nothing planted or left over can be used.
//!
//! A sign-out deletes the generation it read and leaves a mark,
//! `ended.<mark>`, naming the session: a refresh of that session answered
//! after the sign-out (a request that was in flight with the old
//! generation) sets a generation the sign-out could not name, and the mark
//! refuses it, whichever response the browser applied last. A sign-in
//! marks the session it replaces the same way, and deletes the marks old
//! enough that no such refresh can still land.

use std::borrow::Cow;
use std::collections::BTreeMap;

use http::HeaderValue;

use crate::config::Config;
use crate::cookies::{
    ENDED_COOKIE, MAX_VALUE, RequestCookies, SESSION_COOKIE, beyond_newest, cookie_name, set_cookie,
};
use crate::error::Error;
use crate::origin::Origin;
use crate::seal::Purpose;
use crate::secret::random_token;

pub use super::data::REFRESH_TOKEN_TTL_SECS;
pub(crate) use super::data::{CLOCK_SKEW_SECS, Profile, SessionData};

/// More chunks than this is not a session we wrote.
const MAX_CHUNKS: usize = 4;
/// How long a sign-out's mark lasts: as long as a generation that a late
/// refresh sets can live, however late it lands and however long the
/// browser then stays idle: a refresh token's life from when the refresh
/// was asked, which can be after the sign-out began (its mark's time), by
/// up to [`LATE_LANDING_SECS`]. A new sign-in deletes it once it is
/// [`LATE_LANDING_SECS`] old, or [`YOUNG_MARKS`] newer ones exist.
const ENDED_MARK_SECS: i64 = REFRESH_TOKEN_TTL_SECS + LATE_LANDING_SECS;
/// How long after it was made a refresh's new generation can still reach
/// the browser, so how old a sign-out's mark is when no refresh that was
/// in flight at its sign-out can still land. The generation rides on the
/// response of the request that made it, and a protected function
/// ([`Auth::protect`](crate::Auth::protect)) answers when its handler
/// does: on Vercel, up to the longest maximum duration a function can be
/// given (800 s), not within the request's deadline. The rest is for the
/// deadline of the sign-out's own request (its mark is stamped when it
/// began) and the clocks of the instances that wrote and read the mark.
/// A sign-in keeps the younger marks, so that a sign-in and a second
/// sign-out made meanwhile do not let the late refresh sign the user back
/// in; the shared store keeps a refresh's outcome as long, for the copies
/// of the old generation that come meanwhile.
pub(crate) const LATE_LANDING_SECS: i64 = 15 * 60;
/// How close the starts of two sessions of one browser are when they are
/// two sign-ins completed in parallel (two tabs): each ends within its
/// callback's deadline ([`REQUEST_DEADLINE`](crate::REQUEST_DEADLINE),
/// 9 s), and the rest is for the clocks of the instances.
const PARALLEL_SIGN_INS_SECS: i64 = 60;
/// The most marks younger than [`LATE_LANDING_SECS`] a sign-in keeps, the
/// newest: only the last sessions signed out can still have a refresh in
/// flight, and marks without a bound would crowd out the cookies a sign-in
/// needs (only a request's first 64 cookies of ours are read).
const YOUNG_MARKS: usize = 4;
/// The most sessions a request's marks refuse that are revoked: a browser
/// has one; more are copies someone made to have the app call the
/// provider on their behalf (and each set is revoked once per instance,
/// however often it is sent: see `session::spent`).
const MAX_ENDED: usize = 2;

/// What is authenticated with a session seal: this relying party.
fn context(config: &Config) -> Vec<u8> {
    [
        b"session".as_slice(),
        config.issuer.as_bytes(),
        config.client_id.as_bytes(),
    ]
    .join(&0u8)
}

/// The newest session a request carries, with the names to delete.
pub(crate) struct ReadSession {
    /// The newest session that opened and has not expired.
    pub current: Option<Current>,
    /// Every other session cookie of the request (older generations,
    /// seals that do not open, expired ones, signed-out ones): deleted
    /// with the response.
    pub stale: Vec<String>,
    /// Sessions this browser signed out of (or a sign-in replaced) that
    /// came back with a refresh answered afterwards, and sessions a newer
    /// one begun within [`PARALLEL_SIGN_INS_SECS`] supersedes (two sign-ins
    /// completed in parallel, in two tabs): their cookies are deleted, so
    /// their tokens are no one's, to revoke.
    /// One per session (its newest generation), at most [`MAX_ENDED`].
    pub ended: Vec<SessionData>,
    /// Whether a generation's whole seal opened under no key of
    /// `AUTH_SECRET` (not one that opened and had expired, nor one missing
    /// a chunk): altered, sealed under a key no longer listed (as after
    /// `AUTH_SECRET` is replaced instead of rotated, which signs every user
    /// out), or for another client ID or issuer (the seal's context).
    pub unopened: bool,
}

/// The suffix naming session `id` in a sign-out's mark: not the id
/// itself, which a shared store keys the session by.
fn ended_mark(id: &str) -> String {
    use base64::Engine as _;
    let digest = ring::digest::digest(&ring::digest::SHA256, id.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

/// The cookie marking `data`'s session signed out (or replaced by a
/// sign-in) in this browser at `now`, its value, for [`ENDED_MARK_SECS`]
/// or until a sign-in [`LATE_LANDING_SECS`] later. It can only end a
/// session, never start one, so it needs no seal: whoever could set it
/// could delete the session's cookies as well (and a time set in the
/// future only keeps it longer).
pub(crate) fn ended_cookie(origin: &Origin, data: &SessionData, now: i64) -> Option<HeaderValue> {
    let name = cookie_name(origin, ENDED_COOKIE, &ended_mark(&data.id()));
    set_cookie(origin, &name, &now.to_string(), ENDED_MARK_SECS)
}

/// When a mark with `value` was written, if read at `now` it is at most
/// [`LATE_LANDING_SECS`] old; `None` for an older one, or one without a
/// time (from before marks held one, days ago).
fn young_mark(value: &[u8], now: i64) -> Option<i64> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|at| now.saturating_sub(*at) <= LATE_LANDING_SECS)
}

/// The names of the request's sign-out marks a new sign-in deletes: those
/// no late refresh can meet any more (older than [`LATE_LANDING_SECS`], or
/// written before marks held their time), and the young ones beyond the
/// newest [`YOUNG_MARKS`].
pub(crate) fn spent_marks(cookies: &RequestCookies, origin: &Origin, now: i64) -> Vec<String> {
    let mut spent = Vec::new();
    if !cookies.has_ended_mark() {
        return spent;
    }
    let mut young = Vec::new();
    for (position, (name, _, value)) in cookies.family(origin, ENDED_COOKIE).enumerate() {
        match young_mark(value, now) {
            Some(at) => young.push(((at, position), name)),
            None => spent.push(name.to_owned()),
        }
    }
    spent.extend(beyond_newest(young, YOUNG_MARKS).map(str::to_owned));
    spent
}

/// The session in use and where it came from.
pub(crate) struct Current {
    pub data: SessionData,
    /// The cookie names of its generation.
    pub names: Vec<String>,
    /// Opened with an older key: worth sealing again with the newest.
    pub old_key: bool,
}

/// Reads the session cookies of a request.
pub(crate) fn read(
    cookies: &RequestCookies,
    origin: &Origin,
    config: &Config,
    now: i64,
) -> ReadSession {
    // id -> chunk number -> candidate (name, value)s; duplicates of a name
    // (a parent domain's copy on plain http) are each tried.
    let mut generations: BTreeMap<&str, Chunks<'_>> = BTreeMap::new();
    let mut stale = Vec::new();
    for (name, suffix, value) in cookies.family(origin, SESSION_COOKIE) {
        let parsed = suffix
            .split_once('.')
            .and_then(|(id, n)| Some((id, n.parse::<usize>().ok()?)))
            .filter(|(id, n)| *n < MAX_CHUNKS && is_id(id));
        match parsed {
            Some((id, n)) => generations
                .entry(id)
                .or_default()
                .entry(n)
                .or_default()
                .push((name, value)),
            None => stale.push(name.to_owned()),
        }
    }
    let context = context(config);
    let marks: Vec<&str> = if cookies.has_ended_mark() {
        cookies
            .family(origin, ENDED_COOKIE)
            .map(|(_, mark, _)| mark)
            .collect()
    } else {
        Vec::new()
    };
    let mut ended = Vec::new();
    let mut unopened = false;
    // Generations that lost to a newer one: older ones of the same session
    // (stale), or other sessions (ended, below).
    let mut losers = Vec::new();
    let mut best: Option<Current> = None;
    for chunks in generations.values() {
        let names: Vec<String> = chunks
            .values()
            .flat_map(|c| c.iter().map(|(name, _)| (*name).to_owned()))
            .collect();
        let candidates = candidates(chunks);
        // No whole seal (a chunk missing) is no sign of another key.
        let mut sealed_elsewhere = !candidates.is_empty();
        let opened = candidates.into_iter().find_map(|value| {
            let opened = config.keys.open(Purpose::Session, &context, &value)?;
            sealed_elsewhere = false;
            readable(opened.plaintext, opened.old_key, now)
        });
        let Some((data, old_key)) = opened else {
            unopened |= sealed_elsewhere;
            stale.extend(names);
            continue;
        };
        if !marks.is_empty() && marks.contains(&ended_mark(&data.id()).as_str()) {
            stale.extend(names);
            ended.push(data);
            continue;
        }
        let newer = best.as_ref().is_none_or(|b| {
            (data.started_ms, data.rotation) > (b.data.started_ms, b.data.rotation)
        });
        if newer {
            if let Some(previous) = best.replace(Current {
                data,
                names,
                old_key,
            }) {
                stale.extend(previous.names);
                losers.push(previous.data);
            }
        } else {
            stale.extend(names);
            losers.push(data);
        }
    }
    // Another session that lost to a newer one begun moments before or
    // after it: two sign-ins completed in parallel. One begun long before
    // is only deleted: it was not this browser's to revoke (a cookie set
    // from elsewhere on plain http, where names carry no `__Host-`).
    if let Some(best) = &best {
        let parallel = |l: &SessionData| {
            l.id() != best.data.id()
                && best.data.started_ms.saturating_sub(l.started_ms)
                    <= PARALLEL_SIGN_INS_SECS * 1000
        };
        ended.extend(losers.into_iter().filter(parallel));
    }
    stale.sort();
    stale.dedup();
    // Newest first; a session's generations share its start, so its
    // copies are neighbours and only the newest is kept.
    ended.sort_by_key(|e| std::cmp::Reverse((e.started_ms, e.rotation)));
    ended.dedup_by(|later, kept| later.id() == kept.id());
    ended.truncate(MAX_ENDED);
    ReadSession {
        current: best,
        stale,
        ended,
        unopened,
    }
}

/// A generation's chunks: chunk number -> candidate `(name, value)`s.
type Chunks<'a> = BTreeMap<usize, Vec<(&'a str, &'a [u8])>>;

/// The whole seals a generation's chunks can spell: chunks `0..k` in
/// order, each of one of its candidate values (at most a few). A session of
/// one chunk, the usual case, is its value as it is, not a copy.
fn candidates<'a>(chunks: &'a Chunks<'a>) -> Vec<Cow<'a, [u8]>> {
    if !chunks.keys().copied().eq(0..chunks.len()) {
        return Vec::new();
    }
    let mut seals: Vec<Cow<'a, [u8]>> = vec![Cow::Borrowed(&[])];
    for options in chunks.values() {
        seals = seals
            .iter()
            .flat_map(|prefix| {
                options.iter().map(move |(_, value)| match prefix {
                    Cow::Borrowed([]) => Cow::Borrowed(*value),
                    prefix => Cow::Owned([prefix.as_ref(), value].concat()),
                })
            })
            .take(8)
            .collect();
    }
    seals
}

fn is_id(id: &str) -> bool {
    (1..=16).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A sealed generation, ready to send.
#[derive(Clone)]
pub(crate) struct Sealed {
    /// Its `<id>`.
    pub id: String,
    /// The whole seal its cookies split into chunks: what the shared store
    /// publishes, so that every instance sets these very cookies.
    pub seal: String,
    /// Its `Set-Cookie` headers.
    pub set_cookies: Vec<HeaderValue>,
    /// Its cookie names.
    pub names: Vec<String>,
}

/// Seals `data` as a new generation (a fresh `<id>`), in as many chunks as
/// it needs, living until the session's end.
pub(crate) fn write(
    origin: &Origin,
    config: &Config,
    data: &SessionData,
    now: i64,
) -> Result<Sealed, Error> {
    let id = &random_token()[..8];
    generation(
        origin,
        id,
        seal(config, data)?,
        data.expires_at.saturating_sub(now),
    )
}

/// `data` sealed for the session cookie (not yet split into chunks).
fn seal(config: &Config, data: &SessionData) -> Result<String, Error> {
    let plaintext = super::format::encode(data).ok_or(Error::UnstorableToken)?;
    config
        .keys
        .seal(Purpose::Session, &context(config), &plaintext)
        .ok_or(Error::UnstorableToken)
}

/// The session a [`seal`] holds, if it opens with the configured keys and
/// is within the session policy at `now`.
pub(crate) fn open(config: &Config, sealed: &str, now: i64) -> Option<SessionData> {
    open_with(config, &context(config), sealed.as_bytes(), now).map(|(data, _)| data)
}

/// The session `sealed` holds under `context` (see [`context`]), unexpired
/// and within the session policy at `now`; and whether an older key
/// sealed it.
fn open_with(
    config: &Config,
    context: &[u8],
    sealed: &[u8],
    now: i64,
) -> Option<(SessionData, bool)> {
    let opened = config.keys.open(Purpose::Session, context, sealed)?;
    readable(opened.plaintext, opened.old_key, now)
}

/// The session an opened seal's `plaintext` holds, if well formed and
/// still within its life at `now`; `old_key`: opened with a retired key.
fn readable(plaintext: Vec<u8>, old_key: bool, now: i64) -> Option<(SessionData, bool)> {
    let data = super::format::decode(&plaintext)?;
    (data.expires_at > now && data.within_policy(now)).then_some((data, old_key))
}

/// The generation `id` holding `sealed`: its cookies, `max_age` seconds.
/// The same inputs give the same cookies, so every instance that answers
/// with one refresh's outcome sets the very same generation.
pub(crate) fn generation(
    origin: &Origin,
    id: &str,
    seal: String,
    max_age: i64,
) -> Result<Sealed, Error> {
    if !is_id(id) {
        return Err(Error::UnstorableToken);
    }
    let chunks: Vec<&str> = seal
        .as_bytes()
        .chunks(MAX_VALUE)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    if chunks.len() > MAX_CHUNKS {
        return Err(Error::UnstorableToken);
    }
    let names: Vec<String> = (0..chunks.len())
        .map(|n| cookie_name(origin, SESSION_COOKIE, &format!("{id}.{n}")))
        .collect();
    let set_cookies = names
        .iter()
        .zip(&chunks)
        .map(|(name, chunk)| set_cookie(origin, name, chunk, max_age).ok_or(Error::UnstorableToken))
        .collect::<Result<_, _>>()?;
    Ok(Sealed {
        id: id.to_owned(),
        seal,
        set_cookies,
        names,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::secret::AccessToken;
    use crate::session::data::MAX_PROFILE_CLAIM_BYTES;
    use crate::session::data::tests::profile_of;
    use http::HeaderMap;
    use http::header::COOKIE;

    pub(crate) const NOW: i64 = 1_800_000_000;

    fn config() -> Config {
        config_for("cl")
    }

    /// The configuration of the app with client id `client_id`, under the
    /// same secret.
    fn config_for(client_id: &str) -> Config {
        Config::from_lookup(|k| match k {
            "VERCEL_APP_CLIENT_ID" => Some(client_id.into()),
            "AUTH_SECRET" => Some("0123456789abcdef0123456789abcdef-cookie".into()),
            _ => None,
        })
        .unwrap()
    }

    /// A session of `usr_1` signed in at [`NOW`]: an hour's access token
    /// and a refresh token.
    pub(crate) fn data() -> SessionData {
        SessionData::issued(
            "sid".into(),
            "usr_1".into(),
            &AccessToken::new("vca_x"),
            3600,
            Some("vcr_x".into()),
            Profile::default(),
            (NOW * 1000, 0),
            NOW,
        )
    }

    /// The local http stack's origin.
    fn local() -> Origin {
        Origin::parse_configured("http://localhost:3000").unwrap()
    }

    /// What a browser sends back after `sealed` was set.
    fn sent(origin: &Origin, sealed: &Sealed) -> RequestCookies {
        sent_all(origin, &sealed.set_cookies)
    }

    /// What a browser sends back after `set_cookies` were set.
    fn sent_all(origin: &Origin, set_cookies: &[HeaderValue]) -> RequestCookies {
        let pairs: Vec<String> = set_cookies
            .iter()
            .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
            .collect();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(&pairs.join("; ")).unwrap());
        RequestCookies::parse(&headers, origin)
    }

    fn read_back(data: &SessionData) -> ReadSession {
        let origin = local();
        let config = config();
        let sealed = write(&origin, &config, data, NOW).unwrap();
        read(&sent(&origin, &sealed), &origin, &config, NOW)
    }

    #[test]
    fn a_mark_is_young_while_a_late_refresh_could_still_meet_it() {
        let at = |t: i64| t.to_string().into_bytes();
        assert_eq!(young_mark(&at(NOW), NOW), Some(NOW));
        let oldest_young = NOW - LATE_LANDING_SECS;
        assert_eq!(young_mark(&at(oldest_young), NOW), Some(oldest_young));
        assert!(young_mark(&at(NOW + 3600), NOW).is_some(), "set ahead");
        assert_eq!(young_mark(&at(NOW - LATE_LANDING_SECS - 1), NOW), None);
        for untimed in [&b"1"[..], b"", b"x", b"99999999999999999999"] {
            assert_eq!(young_mark(untimed, NOW), None, "{untimed:?}");
        }
    }

    /// Spent: the old marks, the untimed one, and the young ones beyond
    /// the newest few (ties in a second go by their order in the header,
    /// oldest first).
    #[test]
    fn a_sign_in_keeps_only_the_newest_young_marks() {
        let origin = local();
        let times = [
            ("a", NOW - 61),
            ("b", NOW - 5),
            ("c", NOW - 5),
            ("d", NOW),
            ("e", NOW - 1),
            ("f", NOW),
            ("g", NOW - 30),
        ];
        let mut pairs: Vec<String> = times
            .iter()
            .map(|(mark, at)| format!("{}={at}", cookie_name(&origin, ENDED_COOKIE, mark)))
            .collect();
        pairs.push(format!("{}=1", cookie_name(&origin, ENDED_COOKIE, "h")));
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(&pairs.join("; ")).unwrap());
        let cookies = RequestCookies::parse(&headers, &origin);
        let mut spent = spent_marks(&cookies, &origin, NOW);
        spent.sort();
        let expected: Vec<String> = ["a", "b", "g", "h"]
            .iter()
            .map(|mark| cookie_name(&origin, ENDED_COOKIE, mark))
            .collect();
        assert_eq!(spent, expected, "kept: f, d, e, c");
    }

    #[test]
    fn a_session_within_the_policy_is_read() {
        let read = read_back(&data());
        assert_eq!(read.current.unwrap().data.sid, "sid");
        assert!(read.stale.is_empty());
    }

    #[test]
    fn an_access_token_longer_lived_than_the_policy_still_makes_a_session_that_reads() {
        for expires_in in [REFRESH_TOKEN_TTL_SECS as u64 + 1, 365 * 24 * 3600, u64::MAX] {
            for refresh_token in [Some("vcr_x".to_owned()), None] {
                let data = SessionData::issued(
                    "sid".into(),
                    "usr_1".into(),
                    &AccessToken::new("vca_x"),
                    expires_in,
                    refresh_token,
                    Profile::default(),
                    (NOW * 1000, 0),
                    NOW,
                );
                assert_eq!(data.access_expires_at, NOW + REFRESH_TOKEN_TTL_SECS);
                assert!(read_back(&data).current.is_some(), "{expires_in}");
            }
        }
    }

    #[test]
    fn a_seal_beyond_the_session_policy_is_refused() {
        let mut too_long = data();
        too_long.expires_at = NOW + REFRESH_TOKEN_TTL_SECS + 3600;
        let mut from_the_future = data();
        from_the_future.started_ms = (NOW + 3600) * 1000;
        from_the_future.access_issued_at = NOW + 3600;
        let mut issued_before_it_began = data();
        issued_before_it_began.started_ms = NOW * 1000;
        issued_before_it_began.access_issued_at = NOW - 10;
        for data in [too_long, from_the_future, issued_before_it_began] {
            let read = read_back(&data);
            assert!(read.current.is_none());
            assert_eq!(read.stale.len(), 1, "and deleted");
        }
    }

    /// A sign-out's mark refuses the session it names, and only that one.
    #[test]
    fn a_sign_out_mark_ends_only_the_session_it_names() {
        let origin = local();
        let config = config();
        let signed_out = data();
        let mut other = data();
        other.sid = "other".into();
        let mut refreshed = data();
        refreshed.rotation = 1;
        let mut set_cookies = Vec::new();
        for data in [&signed_out, &refreshed, &other] {
            set_cookies.extend(write(&origin, &config, data, NOW).unwrap().set_cookies);
        }
        set_cookies.extend(ended_cookie(&origin, &signed_out, NOW));
        let read = read(&sent_all(&origin, &set_cookies), &origin, &config, NOW);
        assert_eq!(read.current.unwrap().data.sid, "other");
        let ended: Vec<_> = read
            .ended
            .iter()
            .map(|e| (e.sid.as_str(), e.rotation))
            .collect();
        assert_eq!(ended, [("sid", 1)], "its newest generation, once");
        assert_eq!(read.stale.len(), 2);
    }

    /// A sign-out's mark outlives every generation a refresh asked for
    /// after the sign-out began can set (a refresh token's life from the
    /// refresh, which may land up to [`LATE_LANDING_SECS`] late).
    #[test]
    fn a_sign_out_mark_outlives_a_generation_refreshed_after_it() {
        let origin = local();
        let max_age = |set: &HeaderValue| -> i64 {
            let set = set.to_str().unwrap();
            let at = set.find("Max-Age=").unwrap() + "Max-Age=".len();
            set[at..].split(';').next().unwrap().parse().unwrap()
        };
        let mark = ended_cookie(&origin, &data(), NOW).unwrap();
        let asked = NOW + LATE_LANDING_SECS;
        let mut refreshed = data();
        refreshed.rotation = 1;
        refreshed.access_issued_at = asked;
        refreshed.expires_at = asked + REFRESH_TOKEN_TTL_SECS;
        let generation = write(&origin, &config(), &refreshed, asked).unwrap();
        let lives_until = asked + max_age(&generation.set_cookies[0]);
        assert!(NOW + max_age(&mark) >= lives_until);
        assert!(
            NOW + max_age(&mark) <= lives_until + 60,
            "and not much longer"
        );
    }

    /// Generation `id` of `data`, as the cookies that set it.
    fn generation_of(origin: &Origin, id: &str, data: &SessionData) -> Vec<HeaderValue> {
        generation(origin, id, seal(&config(), data).unwrap(), 60)
            .unwrap()
            .set_cookies
    }

    /// Of two generations of one session, the one with more rotations is
    /// read and the other deleted, whichever comes first.
    #[test]
    fn the_newest_generation_of_a_session_is_read_and_the_older_deleted() {
        let origin = local();
        let mut refreshed = data();
        refreshed.rotation = 1;
        for (older, newer) in [("a", "b"), ("b", "a")] {
            let mut set_cookies = generation_of(&origin, older, &data());
            set_cookies.extend(generation_of(&origin, newer, &refreshed));
            let read = read(&sent_all(&origin, &set_cookies), &origin, &config(), NOW);
            let current = read.current.unwrap();
            assert_eq!(current.data.rotation, 1);
            assert_eq!(current.names, [format!("session.{newer}.0")]);
            assert_eq!(read.stale, [format!("session.{older}.0")]);
            assert!(read.ended.is_empty(), "the same session");
        }
    }

    /// Another session begun at most a minute before the newest (two
    /// sign-ins in parallel) is ended, to be revoked; one begun earlier is
    /// only deleted.
    #[test]
    fn a_session_begun_within_a_minute_of_the_newest_is_ended() {
        let origin = local();
        let begun = |sid: &str, ago: i64| {
            let mut data = data();
            data.sid = sid.into();
            data.started_ms = (NOW - ago) * 1000;
            data
        };
        let mut set_cookies = Vec::new();
        for (id, data) in [
            ("x", begun("newest", 0)),
            ("y", begun("parallel", 60)),
            ("z", begun("older", 61)),
        ] {
            set_cookies.extend(generation_of(&origin, id, &data));
        }
        let read = read(&sent_all(&origin, &set_cookies), &origin, &config(), NOW);
        assert_eq!(read.current.unwrap().data.sid, "newest");
        let ended: Vec<_> = read.ended.iter().map(|e| e.sid.as_str()).collect();
        assert_eq!(ended, ["parallel"]);
        assert_eq!(read.stale, ["session.y.0", "session.z.0"]);
    }

    /// Only chunks `0..4` of a generation with a well-formed `<id>` are
    /// read: a valid seal spread over five chunks, or under an id of
    /// other bytes, is not ours and is deleted.
    #[test]
    fn a_seal_in_too_many_chunks_or_under_a_malformed_id_is_refused() {
        let origin = local();
        let config = config();
        let sealed = seal(&config, &data()).unwrap();
        let fifth = sealed.len().div_ceil(5);
        let as_cookies = |id: &str, parts: &[&[u8]]| -> Vec<HeaderValue> {
            parts
                .iter()
                .enumerate()
                .map(|(n, part)| {
                    let name = cookie_name(&origin, SESSION_COOKIE, &format!("{id}.{n}"));
                    set_cookie(&origin, &name, std::str::from_utf8(part).unwrap(), 60).unwrap()
                })
                .collect()
        };
        let five: Vec<&[u8]> = sealed.as_bytes().chunks(fifth).collect();
        assert_eq!(five.len(), 5);
        for set_cookies in [
            as_cookies("abc", &five),
            as_cookies("a~b", &[sealed.as_bytes()]),
        ] {
            let read = read(&sent_all(&origin, &set_cookies), &origin, &config, NOW);
            assert!(read.current.is_none());
            assert_eq!(read.stale.len(), set_cookies.len(), "and deleted");
        }
        let four: Vec<&[u8]> = sealed.as_bytes().chunks(sealed.len().div_ceil(4)).collect();
        let read = read(
            &sent_all(&origin, &as_cookies("abc", &four)),
            &origin,
            &config,
            NOW,
        );
        assert!(read.current.is_some(), "four chunks are");
    }

    /// A session ends at its `expires_at`: opened the second before, not
    /// at it.
    #[test]
    fn a_session_does_not_open_once_it_ends() {
        let data = data();
        let sealed = seal(&config(), &data).unwrap();
        assert!(open(&config(), &sealed, data.expires_at - 1).is_some());
        assert!(open(&config(), &sealed, data.expires_at).is_none());
    }

    /// A seal of up to four chunks of [`MAX_VALUE`] bytes is a
    /// generation; a longer one is refused rather than cut.
    #[test]
    fn a_generation_has_at_most_four_chunks() {
        let origin = local();
        let four = generation(&origin, "abc", "a".repeat(4 * MAX_VALUE), 60).unwrap();
        assert_eq!(four.names.len(), 4);
        assert_eq!(four.set_cookies.len(), 4);
        assert!(generation(&origin, "abc", "a".repeat(4 * MAX_VALUE + 1), 60).is_err());
    }

    /// A seal opens only for the relying party (issuer and client) that
    /// sealed it, even under the same secret.
    #[test]
    fn a_session_sealed_for_another_client_does_not_open() {
        let sealed = seal(&config(), &data()).unwrap();
        assert!(open(&config_for("cl2"), &sealed, NOW).is_none());
        assert!(open(&config(), &sealed, NOW).is_some());
    }

    #[test]
    fn a_generation_is_the_same_cookies_for_the_same_seal() {
        let origin = Origin::parse_configured("https://app.example.com").unwrap();
        let sealed = seal(&config(), &data()).unwrap();
        let a = generation(&origin, "abc", sealed.clone(), 60).unwrap();
        let b = generation(&origin, "abc", a.seal.clone(), 60).unwrap();
        assert_eq!(a.set_cookies, b.set_cookies);
        assert_eq!(a.names, ["__Host-session.abc.0"]);
        assert!(
            generation(&origin, "a.b", sealed.clone(), 60).is_err(),
            "not an id"
        );
        assert_eq!(open(&config(), &sealed, NOW).unwrap().sub, "usr_1");
    }

    /// A provider that lets a user choose a 3,000-emoji name, and sends
    /// an uploaded avatar as a `data:` URL, still gets its user a
    /// session of one chunk: the profile is bounded (the name cut at a
    /// character, the rest left out past their bounds), where the whole
    /// of it made a session too large for its cookie, refusing every
    /// sign-in of that user.
    #[test]
    fn a_huge_profile_still_makes_a_session_of_one_chunk() {
        let profile = profile_of(
            Some("\u{1F600}".repeat(3000)),
            Some("u".repeat(MAX_PROFILE_CLAIM_BYTES + 1)),
            Some(format!("data:image/png;base64,{}", "A".repeat(11 * 1024))),
            Some(format!(
                "{}@example.com",
                "e".repeat(MAX_PROFILE_CLAIM_BYTES)
            )),
        );
        let name = profile.name.clone().unwrap();
        assert!(name.len() <= MAX_PROFILE_CLAIM_BYTES && name.len() > MAX_PROFILE_CLAIM_BYTES - 4);
        assert!(name.chars().all(|c| c == '\u{1F600}'), "cut at a character");
        assert_eq!(profile.email, None);
        assert_eq!(profile.preferred_username, None);
        assert_eq!(profile.picture, None, "neither http(s) nor short");

        let mut data = data();
        data.profile = profile;
        let sealed = write(&local(), &config(), &data, NOW).unwrap();
        assert_eq!(sealed.set_cookies.len(), 1, "one chunk");
        let read = read_back(&data).current.expect("the session reads back");
        assert_eq!(read.data.profile.name, Some(name));
    }

    /// Ordinary claims are kept whole: a long but reasonable name, an
    /// https picture with a query, an email with a tag.
    #[test]
    fn an_ordinary_profile_is_kept_whole() {
        let claims = [
            Some("Zoë \u{5de}\u{5d9}\u{5db}\u{5dc} O'Brien-Smith".to_owned()),
            Some("zoe.o-b".to_owned()),
            Some("https://img.example/a%20b.png?s=64".to_owned()),
            Some("zoë+tag@bücher.example".to_owned()),
        ];
        let [name, username, picture, email] = claims.clone();
        let profile = profile_of(name, username, picture, email);
        assert_eq!(
            [
                profile.name,
                profile.preferred_username,
                profile.picture,
                profile.email
            ],
            claims
        );
    }
}
