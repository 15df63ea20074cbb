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

use std::collections::BTreeMap;

use http::HeaderValue;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::cookies::{MAX_VALUE, RequestCookies, SESSION_COOKIE, cookie_name, set_cookie};
use crate::error::Error;
use crate::origin::Origin;
use crate::seal::Purpose;
use crate::secret::AccessToken;
use crate::secret::random_token;

/// How long a refresh token is kept: Vercel's refresh token lifetime.
pub const REFRESH_TOKEN_TTL_SECS: i64 = 30 * 24 * 3600;
/// More chunks than this is not a session we wrote.
const MAX_CHUNKS: usize = 4;

/// The profile claims an ID token proved.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Profile {
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
}

impl From<crate::id_token::IdTokenClaims> for Profile {
    fn from(claims: crate::id_token::IdTokenClaims) -> Self {
        Self {
            name: claims.name,
            email: claims.email,
            preferred_username: claims.preferred_username,
            picture: claims.picture,
        }
    }
}

/// What the session cookie holds. Short names keep the cookie small.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct SessionData {
    /// The subject, from the verified ID token.
    #[serde(rename = "s")]
    pub sub: String,
    /// The access token.
    #[serde(rename = "a")]
    pub access_token: String,
    /// When the access token was issued, seconds since the epoch.
    #[serde(rename = "ai")]
    pub access_issued_at: i64,
    /// When the access token expires, seconds since the epoch.
    #[serde(rename = "ae")]
    pub access_expires_at: i64,
    /// The refresh token, when `offline_access` was granted.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The profile claims of the latest verified ID token.
    #[serde(rename = "p", default)]
    pub profile: Profile,
    /// When the user signed in.
    #[serde(rename = "t")]
    pub started_at: i64,
    /// How many times the tokens were refreshed since.
    #[serde(rename = "n")]
    pub rotation: u32,
    /// When the session ends without a refresh: the refresh token's life,
    /// or the access token's when there is none.
    #[serde(rename = "x")]
    pub expires_at: i64,
}

/// The longest the access token is refreshed ahead of its expiry.
const MAX_REFRESH_AHEAD_SECS: i64 = 5 * 60;

impl SessionData {
    /// The session holding tokens the token endpoint issued `now`: the
    /// access token for `expires_in` seconds, the whole session as long as
    /// the refresh token (30 days) or, without one, the access token.
    /// `(started_at, rotation)` say which sign-in and which refresh.
    pub(crate) fn issued(
        sub: String,
        access_token: &AccessToken,
        expires_in: u64,
        refresh_token: Option<String>,
        profile: Profile,
        (started_at, rotation): (i64, u32),
        now: i64,
    ) -> Self {
        let access_expires_at = now.saturating_add(i64::try_from(expires_in).unwrap_or(i64::MAX));
        let expires_at = match refresh_token {
            Some(_) => now
                .saturating_add(REFRESH_TOKEN_TTL_SECS)
                .max(access_expires_at),
            None => access_expires_at,
        };
        Self {
            sub,
            access_token: access_token.secret().to_owned(),
            access_issued_at: now,
            access_expires_at,
            refresh_token,
            profile,
            started_at,
            rotation,
            expires_at,
        }
    }

    /// Whether the access token should be refreshed now: a few minutes
    /// before it expires (a quarter of its life, at most five minutes),
    /// so that requests rarely meet an expired one.
    pub(crate) fn refresh_due(&self, now: i64) -> bool {
        let life = self.access_expires_at.saturating_sub(self.access_issued_at);
        let ahead = (life / 4).clamp(0, MAX_REFRESH_AHEAD_SECS);
        self.refresh_token.is_some() && now >= self.access_expires_at.saturating_sub(ahead)
    }

    /// Whether the access token is still valid at `now`.
    pub(crate) fn access_token_live(&self, now: i64) -> bool {
        now < self.access_expires_at
    }
}

/// No `Debug` with the tokens or the person in it.
impl std::fmt::Debug for SessionData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionData")
            .field("access_expires_at", &self.access_expires_at)
            .field("started_at", &self.started_at)
            .field("rotation", &self.rotation)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

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
    /// seals that do not open, expired ones): deleted with the response.
    pub stale: Vec<String>,
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
    let mut best: Option<Current> = None;
    for chunks in generations.values() {
        let names: Vec<String> = chunks
            .values()
            .flat_map(|c| c.iter().map(|(name, _)| (*name).to_owned()))
            .collect();
        let opened = candidates(chunks).find_map(|value| {
            let opened = config.keys.open(Purpose::Session, &context, &value)?;
            let data: SessionData = serde_json::from_slice(&opened.plaintext).ok()?;
            (data.expires_at > now && !data.sub.is_empty()).then_some((data, opened.old_key))
        });
        let Some((data, old_key)) = opened else {
            stale.extend(names);
            continue;
        };
        let newer = best.as_ref().is_none_or(|b| {
            (data.started_at, data.rotation) > (b.data.started_at, b.data.rotation)
        });
        if newer {
            if let Some(previous) = best.replace(Current {
                data,
                names,
                old_key,
            }) {
                stale.extend(previous.names);
            }
        } else {
            stale.extend(names);
        }
    }
    stale.sort();
    stale.dedup();
    ReadSession {
        current: best,
        stale,
    }
}

/// A generation's chunks: chunk number -> candidate `(name, value)`s.
type Chunks<'a> = BTreeMap<usize, Vec<(&'a str, &'a str)>>;

/// The whole seals a generation's chunks can spell: chunks `0..k` in
/// order, each of one of its candidate values (at most a few).
fn candidates<'a>(chunks: &'a Chunks<'a>) -> impl Iterator<Item = String> + 'a {
    let contiguous = chunks.keys().copied().eq(0..chunks.len());
    let mut seals: Vec<String> = vec![String::new()];
    if contiguous {
        for options in chunks.values() {
            seals = seals
                .iter()
                .flat_map(|prefix| options.iter().map(move |(_, v)| format!("{prefix}{v}")))
                .take(8)
                .collect();
        }
    } else {
        seals.clear();
    }
    seals.into_iter()
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
    let json = serde_json::to_vec(data).map_err(|_| Error::UnstorableToken)?;
    let sealed = config
        .keys
        .seal(Purpose::Session, &context(config), &json)
        .ok_or(Error::UnstorableToken)?;
    let chunks: Vec<&str> = sealed
        .as_bytes()
        .chunks(MAX_VALUE)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    if chunks.len() > MAX_CHUNKS {
        return Err(Error::UnstorableToken);
    }
    let id = &random_token()[..8];
    let max_age = data.expires_at - now;
    let names: Vec<String> = (0..chunks.len())
        .map(|n| cookie_name(origin, SESSION_COOKIE, &format!("{id}.{n}")))
        .collect();
    let set_cookies = names
        .iter()
        .zip(&chunks)
        .map(|(name, chunk)| set_cookie(origin, name, chunk, max_age).ok_or(Error::UnstorableToken))
        .collect::<Result<_, _>>()?;
    Ok(Sealed { set_cookies, names })
}
