//! How a session is laid out inside its seal: a compact binary form read
//! on every protected request, and the JSON of sessions sealed before it,
//! still read so that an upgrade signs no one out.
//!
//! The seal authenticates the bytes, so the reader only ever sees what this
//! relying party wrote; it still checks every length and refuses anything
//! malformed rather than trusting it. Layout, all integers little-endian:
//!
//! ```text
//! 0x03 | access_issued_at i64 | access_expires_at i64 | started_ms i64
//!      | expires_at i64 | rotation u32
//!      | sid | sub | access_token | refresh_token? | name? | email?
//!      | preferred_username? | picture?
//! ```
//!
//! where a string is a `u16` length and its UTF-8 bytes, and an optional
//! one is a `0` byte (absent) or a `1` byte and the string. The first
//! binary form, `0x02`, is the same with the start in seconds
//! (`started_at`), not milliseconds.

use super::cookie::{Profile, SessionData};

/// The first byte of the binary form (JSON starts with `{`).
const BINARY: u8 = 3;
/// The first byte of the binary form before sessions kept their start's
/// milliseconds.
const BINARY_SECONDS: u8 = 2;

/// `data` in the binary form; `None` for a string longer than 65,535
/// bytes, which no session of ours holds (the cookie would not fit).
pub(crate) fn encode(data: &SessionData) -> Option<Vec<u8>> {
    let profile = &data.profile;
    let mut out = Vec::with_capacity(
        37 + data.sid.len()
            + data.sub.len()
            + data.access_token.len()
            + data.refresh_token.as_ref().map_or(0, String::len)
            + 128,
    );
    out.push(BINARY);
    for n in [
        data.access_issued_at,
        data.access_expires_at,
        data.started_ms,
        data.expires_at,
    ] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    out.extend_from_slice(&data.rotation.to_le_bytes());
    for s in [&data.sid, &data.sub, &data.access_token] {
        string(&mut out, s)?;
    }
    for s in [
        &data.refresh_token,
        &profile.name,
        &profile.email,
        &profile.preferred_username,
        &profile.picture,
    ] {
        match s {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                string(&mut out, s)?;
            }
        }
    }
    Some(out)
}

fn string(out: &mut Vec<u8>, s: &str) -> Option<()> {
    out.extend_from_slice(&u16::try_from(s.len()).ok()?.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    Some(())
}

/// A session from either form; `None` for anything malformed.
pub(crate) fn decode(plaintext: &[u8]) -> Option<SessionData> {
    match plaintext.first()? {
        &BINARY => Reader(&plaintext[1..]).session(true),
        &BINARY_SECONDS => Reader(&plaintext[1..]).session(false),
        b'{' => serde_json::from_slice(plaintext).ok(),
        _ => None,
    }
}

/// The rest of the binary form, read from the front.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_le_bytes)
    }

    fn string(&mut self) -> Option<String> {
        let len = usize::from(u16::from_le_bytes(self.take()?));
        let bytes = self.0.get(..len)?;
        self.0 = &self.0[len..];
        std::str::from_utf8(bytes).ok().map(str::to_owned)
    }

    fn optional(&mut self) -> Option<Option<String>> {
        match self.take::<1>()? {
            [0] => Some(None),
            [1] => self.string().map(Some),
            _ => None,
        }
    }

    /// The fields after the first byte; `millis`: whether the start is
    /// in milliseconds (or in seconds, the first binary form).
    fn session(mut self, millis: bool) -> Option<SessionData> {
        let (access_issued_at, access_expires_at) = (self.i64()?, self.i64()?);
        let (started, expires_at) = (self.i64()?, self.i64()?);
        // In seconds: the second's first millisecond (see `started_ms`).
        let started_ms = if millis {
            started
        } else {
            started.saturating_mul(1000)
        };
        let rotation = u32::from_le_bytes(self.take()?);
        let (sid, sub, access_token) = (self.string()?, self.string()?, self.string()?);
        let refresh_token = self.optional()?;
        let profile = Profile {
            name: self.optional()?,
            email: self.optional()?,
            preferred_username: self.optional()?,
            picture: self.optional()?,
        };
        // Nothing may follow: a longer plaintext is not one we wrote.
        self.0.is_empty().then_some(SessionData {
            sid,
            sub,
            access_token,
            access_issued_at,
            access_expires_at,
            refresh_token,
            profile,
            started_ms,
            rotation,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::AccessToken;

    fn data() -> SessionData {
        SessionData::issued(
            "sid_0123456789abcdefgh".into(),
            "usr_1".into(),
            &AccessToken::new("vca_access"),
            3600,
            Some("vcr_refresh".into()),
            Profile {
                name: Some("Ada \"the first\" Lovelace".into()),
                email: Some("ada@example.com".into()),
                preferred_username: None,
                picture: Some("https://vercel.com/api/www/avatar/x".into()),
            },
            (1_800_000_000_042, 3),
            1_800_000_100,
        )
    }

    /// Every field, compared as the JSON it would have been, and the
    /// start to the millisecond (JSON holds it in seconds).
    fn same(a: &SessionData, b: &SessionData) -> bool {
        a.started_ms == b.started_ms
            && serde_json::to_value(a).unwrap() == serde_json::to_value(b).unwrap()
    }

    #[test]
    fn the_binary_form_round_trips() {
        let data = data();
        let encoded = encode(&data).unwrap();
        assert_eq!(encoded[0], BINARY);
        assert!(same(&decode(&encoded).unwrap(), &data));
        let mut bare = data.clone();
        bare.refresh_token = None;
        bare.profile = Profile::default();
        assert!(same(&decode(&encode(&bare).unwrap()).unwrap(), &bare));
    }

    #[test]
    fn the_start_is_kept_to_the_millisecond() {
        let decoded = decode(&encode(&data()).unwrap()).unwrap();
        assert_eq!(decoded.started_at(), 1_800_000_000);
        assert_eq!(decoded.started_ms, 1_800_000_000_042);
    }

    #[test]
    fn a_session_sealed_as_json_still_reads() {
        let data = data();
        let json = serde_json::to_vec(&data).unwrap();
        let old = decode(&json).unwrap();
        // JSON holds the start in seconds: the second's first millisecond.
        assert_eq!(old.started_ms, 1_800_000_000_000);
        let mut expected = data;
        expected.started_ms = 1_800_000_000_000;
        assert!(same(&old, &expected));
    }

    #[test]
    fn a_session_in_the_first_binary_form_still_reads() {
        let data = data();
        let mut first = encode(&data).unwrap();
        first[17..25].copy_from_slice(&data.started_at().to_le_bytes());
        first[0] = BINARY_SECONDS;
        let old = decode(&first).unwrap();
        let mut expected = data;
        expected.started_ms = 1_800_000_000_000;
        assert!(same(&old, &expected));
    }

    #[test]
    fn anything_malformed_is_refused() {
        let encoded = encode(&data()).unwrap();
        for cut in [1, 10, 37, 40, encoded.len() - 1] {
            assert!(decode(&encoded[..cut]).is_none(), "cut at {cut}");
        }
        let mut longer = encoded.clone();
        longer.push(0);
        assert!(decode(&longer).is_none(), "trailing bytes");
        let mut bad_flag = encoded.clone();
        let flag = bad_flag.len() - 1 - "https://vercel.com/api/www/avatar/x".len() - 2;
        bad_flag[flag] = 7;
        assert!(
            decode(&bad_flag).is_none(),
            "an option flag other than 0 or 1"
        );
        assert!(decode(&[3]).is_none() && decode(&[]).is_none());
        let mut not_utf8 = encoded;
        let sub_at = 1 + 36 + 2 + 22 + 2;
        not_utf8[sub_at] = 0xff;
        assert!(decode(&not_utf8).is_none(), "a string that is not UTF-8");
    }

    #[test]
    fn a_string_too_long_for_the_form_is_not_written() {
        let mut data = data();
        data.access_token = "a".repeat(70_000);
        assert!(encode(&data).is_none());
    }
}
