//! What a session holds (the user, the tokens, their times) and the
//! policy of its life: when the access token is refreshed (RFC 6749 §6),
//! how long the user stays known, and what a reader accepts as a session
//! this relying party wrote. [`super::cookie`] seals it into the browser;
//! [`super::format`] lays it out inside the seal.

use serde::{Deserialize, Serialize};

use crate::secret::AccessToken;

/// How long a refresh token is kept: Vercel's refresh token lifetime.
pub const REFRESH_TOKEN_TTL_SECS: i64 = 30 * 24 * 3600;
/// How far apart the clocks of the instances (and the provider's) may be:
/// a session begun or issued this far in the future still opens, a
/// sign-out mark this far ahead is not a clock gone wrong, a shared
/// refresh this much older than the time one is kept is still taken.
pub(crate) const CLOCK_SKEW_SECS: i64 = 60;
/// How long the user is still known past the access token's expiry while
/// the refresh fails for a reason other than the provider refusing the
/// grant (the provider cannot be reached, or refuses this app's
/// credentials): a provider outage shorter than this goes unnoticed. Past
/// it, requests fail with the provider's trouble (`provider_unavailable`,
/// `configuration`) instead of naming the user, and the session is kept,
/// so that the first refresh after the outage carries on, however long
/// the user was away. A refused grant ends the session: with the shared
/// store at once, every copy in every instance. Without one, a parallel
/// request in another instance may have spent the refresh token first, so
/// while the access token lives the request still names the user and
/// keeps the generation (the winner's answer replaces it; a dead grant
/// costs one refused token call per instance, which remembers the
/// refusal); once it has
/// expired, the answer is 409 and deletes the generation.
pub const REFRESH_GRACE_SECS: i64 = 60 * 60;

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

/// The most of a profile claim the session keeps, in bytes: the profile
/// is for display, and rides in every request's cookie, whose budget
/// (Vercel refuses a request of more than 16 KB of headers) is the
/// tokens'. A name past it is cut at a character boundary; an email or
/// username past it is left out (cut, it would name someone else).
pub(crate) const MAX_PROFILE_CLAIM_BYTES: usize = 512;
/// The longest picture URL kept, in bytes.
pub(crate) const MAX_PICTURE_BYTES: usize = 2048;

impl From<crate::id_token::IdTokenClaims> for Profile {
    /// The display claims of a verified ID token, bounded: a provider
    /// that lets users choose a long name, or sends an uploaded avatar
    /// as a `data:` URL, would otherwise make a session too large for its
    /// cookie, refusing every sign-in of that user (and signing them out
    /// at a refresh that brings one). The full claims stay at userinfo.
    fn from(claims: crate::id_token::IdTokenClaims) -> Self {
        let fits = |value: &String| value.len() <= MAX_PROFILE_CLAIM_BYTES;
        Self {
            name: claims.name.map(|name| cut(name, MAX_PROFILE_CLAIM_BYTES)),
            email: claims.email.filter(fits),
            preferred_username: claims.preferred_username.filter(fits),
            // Only a picture the pages can show: an http(s) URL (the pages
            // show https ones, and a local provider's on http).
            picture: claims.picture.filter(|url| {
                url.len() <= MAX_PICTURE_BYTES
                    && (url.starts_with("https://") || url.starts_with("http://"))
            }),
        }
    }
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let end = (0..=max)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(end);
    }
    text
}

/// What the session cookie holds. Short names keep the cookie small.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct SessionData {
    /// The session's id: drawn at sign-in, kept by every refresh, so that
    /// a shared store can end every copy of the session at once.
    #[serde(rename = "i", default)]
    pub sid: String,
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
    /// When the user signed in, milliseconds since the epoch (ordering
    /// the sign-in against a "sign out everywhere" in the same second).
    /// JSON holds whole seconds: a session sealed as JSON reads as begun at
    /// its second's first millisecond, so that such a sign-out still ends
    /// it (a session is ended by a sign-out at or after its start).
    #[serde(rename = "t", with = "whole_seconds")]
    pub started_ms: i64,
    /// How many times the tokens were refreshed since.
    #[serde(rename = "n")]
    pub rotation: u32,
    /// When the session ends without a refresh: the refresh token's life,
    /// or the access token's when there is none.
    #[serde(rename = "x")]
    pub expires_at: i64,
}

/// A time in milliseconds as JSON's whole seconds (sessions sealed as
/// JSON, before the binary form).
mod whole_seconds {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(ms: &i64, to: S) -> Result<S::Ok, S::Error> {
        to.serialize_i64(ms.div_euclid(1000))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<i64, D::Error> {
        i64::deserialize(from).map(|seconds| seconds.saturating_mul(1000))
    }
}

/// The longest the access token is refreshed ahead of its expiry.
const MAX_REFRESH_AHEAD_SECS: i64 = 5 * 60;

impl SessionData {
    /// The session holding tokens the token endpoint issued `now`: the
    /// access token for `expires_in` seconds (at most the session policy's
    /// 30 days: a longer life would write a cookie [`Self::within_policy`]
    /// refuses on the next request, signing the user straight out), the
    /// whole session as long as the refresh token (30 days) or, without
    /// one, the access token. `(started_ms, rotation)` say which sign-in
    /// and which refresh.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn issued(
        sid: String,
        sub: String,
        access_token: &AccessToken,
        expires_in: u64,
        refresh_token: Option<String>,
        profile: Profile,
        (started_ms, rotation): (i64, u32),
        now: i64,
    ) -> Self {
        let lifetime = i64::try_from(expires_in)
            .unwrap_or(i64::MAX)
            .min(REFRESH_TOKEN_TTL_SECS);
        let access_expires_at = now.saturating_add(lifetime);
        let expires_at = match refresh_token {
            Some(_) => now
                .saturating_add(REFRESH_TOKEN_TTL_SECS)
                .max(access_expires_at),
            None => access_expires_at,
        };
        Self {
            sid,
            sub,
            access_token: access_token.secret().to_owned(),
            access_issued_at: now,
            access_expires_at,
            refresh_token,
            profile,
            started_ms,
            rotation,
            expires_at,
        }
    }

    /// When the user signed in, seconds since the epoch.
    pub(crate) fn started_at(&self) -> i64 {
        self.started_ms.div_euclid(1000)
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

    /// The session's id: its `sid`, or for a session sealed before there
    /// were ids, one made of its user and start (the same in every copy).
    pub(crate) fn id(&self) -> std::borrow::Cow<'_, str> {
        if self.sid.is_empty() {
            format!("legacy:{}:{}", self.started_at(), self.sub).into()
        } else {
            self.sid.as_str().into()
        }
    }

    /// Whether the user may still be named while the session's refresh
    /// fails for a reason other than a refused grant: [`REFRESH_GRACE_SECS`]
    /// past the access token's expiry.
    pub(crate) fn within_grace(&self, now: i64) -> bool {
        now < self.access_expires_at.saturating_add(REFRESH_GRACE_SECS)
    }

    /// Whether the session is one this relying party could have written at
    /// `now`: begun and issued in the past, and ending no later than the
    /// session policy allows (a refresh token's life from now). A seal
    /// that opens but says otherwise was made with the key by someone
    /// else, or by a clock gone wrong: refused either way.
    pub(crate) fn within_policy(&self, now: i64) -> bool {
        !self.sub.is_empty()
            && self.started_at() <= now + CLOCK_SKEW_SECS
            && self.access_issued_at <= now + CLOCK_SKEW_SECS
            && self.started_at() <= self.access_issued_at
            && self.expires_at <= now.saturating_add(REFRESH_TOKEN_TTL_SECS + CLOCK_SKEW_SECS)
    }
}

/// No `Debug` with the tokens or the person in it.
impl std::fmt::Debug for SessionData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionData")
            .field("access_expires_at", &self.access_expires_at)
            .field("started_ms", &self.started_ms)
            .field("rotation", &self.rotation)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::session::cookie::tests::{NOW, data};

    /// The profile a verified ID token of `usr_1` with these display
    /// claims gives.
    pub(crate) fn profile_of(
        name: Option<String>,
        preferred_username: Option<String>,
        picture: Option<String>,
        email: Option<String>,
    ) -> Profile {
        Profile::from(crate::id_token::IdTokenClaims {
            iss: "https://vercel.com".into(),
            sub: "usr_1".into(),
            exp: NOW + 3600,
            iat: NOW,
            name,
            preferred_username,
            picture,
            email,
            other: serde_json::Map::new(),
        })
    }

    /// A picture is kept only as an http(s) URL of at most
    /// [`MAX_PICTURE_BYTES`]: not a `data:` or `javascript:` URL, however
    /// short, nor an https one past the bound.
    #[test]
    fn a_picture_is_kept_only_as_a_short_http_url() {
        let with_picture = |picture: String| profile_of(None, None, Some(picture), None).picture;
        assert_eq!(with_picture("data:image/png;base64,AAAA".into()), None);
        assert_eq!(with_picture("javascript:alert(1)".into()), None);
        let past = format!("https://img.example/{}", "p".repeat(MAX_PICTURE_BYTES));
        assert_eq!(with_picture(past), None);
        let at_bound = format!("https://img.example/{}", "p".repeat(MAX_PICTURE_BYTES - 20));
        assert_eq!(at_bound.len(), MAX_PICTURE_BYTES);
        assert_eq!(with_picture(at_bound.clone()), Some(at_bound));
        let local = "http://127.0.0.1:3001/avatar/1".to_owned();
        assert_eq!(with_picture(local.clone()), Some(local));
    }

    /// A refresh token keeps the session for Vercel's refresh token life,
    /// 30 days, however short-lived the access token.
    #[test]
    fn a_session_with_a_refresh_token_lasts_thirty_days() {
        let data = data();
        assert_eq!(data.access_expires_at, NOW + 3600);
        assert_eq!(data.expires_at, NOW + 2_592_000);
    }

    /// Refreshed a quarter of the access token's life before it expires,
    /// at most five minutes before, and only with a refresh token.
    #[test]
    fn the_access_token_is_refreshed_shortly_before_it_expires() {
        let hour = data();
        let expiry = hour.access_expires_at;
        assert!(!hour.refresh_due(expiry - 301));
        assert!(hour.refresh_due(expiry - 300));
        let mut short = data();
        short.access_expires_at = NOW + 400;
        assert!(!short.refresh_due(NOW + 299), "a quarter: 100 s ahead");
        assert!(short.refresh_due(NOW + 300));
        let mut no_refresh = data();
        no_refresh.refresh_token = None;
        assert!(!no_refresh.refresh_due(expiry + 1));
    }

    /// The access token is live until its expiry (RFC 6749 §4.2.2
    /// `expires_in`), and the user is named through a failing refresh for
    /// the grace after it, not longer.
    #[test]
    fn access_is_live_until_expiry_and_named_until_the_grace_ends() {
        let data = data();
        let expiry = data.access_expires_at;
        assert!(data.access_token_live(expiry - 1));
        assert!(!data.access_token_live(expiry));
        let grace_end = expiry + super::REFRESH_GRACE_SECS;
        assert!(data.within_grace(grace_end - 1));
        assert!(!data.within_grace(grace_end));
    }

    /// A token issued more than the allowed clock skew (a minute) in the
    /// future was not issued by this relying party.
    #[test]
    fn an_access_token_issued_beyond_the_clock_skew_is_refused() {
        let mut data = data();
        data.access_issued_at = NOW + 60;
        assert!(data.within_policy(NOW));
        data.access_issued_at = NOW + 61;
        assert!(!data.within_policy(NOW));
    }

    /// The profile keeps the ID token's profile claims (OpenID Connect
    /// Core §5.1), each in its own field.
    #[test]
    fn the_profile_keeps_the_id_tokens_profile_claims() {
        let claims = crate::id_token::IdTokenClaims {
            iss: "https://vercel.com".into(),
            sub: "usr_1".into(),
            exp: NOW + 60,
            iat: NOW,
            name: Some("Ada".into()),
            preferred_username: Some("ada".into()),
            picture: Some("https://example.com/a.png".into()),
            email: Some("ada@example.com".into()),
            other: serde_json::Map::new(),
        };
        let profile = Profile::from(claims);
        assert_eq!(
            [
                profile.name.as_deref(),
                profile.preferred_username.as_deref(),
                profile.picture.as_deref(),
                profile.email.as_deref(),
            ],
            [
                Some("Ada"),
                Some("ada"),
                Some("https://example.com/a.png"),
                Some("ada@example.com"),
            ]
        );
    }

    /// `Debug` names the session's times, never its tokens or person.
    #[test]
    fn debug_shows_the_times_and_no_token() {
        let printed = format!("{:?}", data());
        assert!(printed.starts_with("SessionData {"), "{printed}");
        assert!(printed.contains(&format!("expires_at: {}", NOW + 2_592_000)));
        for secret in ["vca_x", "vcr_x", "usr_1"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}
