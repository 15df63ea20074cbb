//! Sealed cookie values: authenticated encryption (AES-256-GCM from
//! `ring`, already linked for TLS) under keys derived with HKDF-SHA256
//! (RFC 5869) from `AUTH_SECRET`, or from the client secret.
//!
//! A seal is `base64url(version ‖ nonce ‖ ciphertext ‖ tag)`. The nonce is
//! 96 random bits per seal (NIST SP 800-38D §8.2.2), from the operating
//! system for every seal: a generator in the process would repeat its
//! nonces in every copy of an instance restored from one memory snapshot,
//! and a repeated nonce under one key breaks AES-GCM. The additional data
//! binds the seal to its purpose and to this relying party, so a flow
//! cookie never opens as a session and another app's seal never opens
//! here. A key ring rotates keys: the first key seals, every key opens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf::{HKDF_SHA256, Prk, Salt};
use std::sync::OnceLock;

/// The format byte at the start of every seal.
const VERSION: u8 = 1;
/// AES-GCM's authentication tag.
const TAG_LEN: usize = 16;
/// The shortest `AUTH_SECRET` entry accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
/// A seal larger than this is not one we wrote; refused before decoding.
const MAX_SEAL_CHARS: usize = 16 * 1024;

/// The length in characters of the seal of `plaintext_len` bytes:
/// base64url, unpadded, of version, nonce, ciphertext and tag; `None` only
/// for a length no seal can have.
pub(crate) const fn sealed_len(plaintext_len: usize) -> Option<usize> {
    base64::encoded_len(1 + NONCE_LEN + plaintext_len + TAG_LEN, false)
}

/// What a key is used for; each purpose has its own derived key, so a
/// value sealed for one cannot be opened as another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// The session cookie.
    Session,
    /// A sign-in attempt's flow cookie.
    Flow,
    /// The tokens of a sign-out whose revocation is to be retried.
    Revocation,
    /// A refresh's outcome in the shared store, for the other instances.
    RefreshOutcome,
}

impl Purpose {
    /// How many purposes there are ([`Purpose::index`] is below it).
    const COUNT: usize = 4;

    /// The purpose's place among [`Keys`]'s rings: a `match`, so that a
    /// new purpose does not build until it has one.
    const fn index(self) -> usize {
        match self {
            Self::Session => 0,
            Self::Flow => 1,
            Self::Revocation => 2,
            Self::RefreshOutcome => 3,
        }
    }

    fn label(self) -> &'static [u8] {
        match self {
            Self::Session => b"session",
            Self::Flow => b"flow",
            Self::Revocation => b"revocation",
            Self::RefreshOutcome => b"refresh-outcome",
        }
    }
}

/// Where the root secrets come from, for the HKDF salt: a key derived from
/// the client secret never equals one derived from the same bytes given as
/// `AUTH_SECRET`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// `AUTH_SECRET`.
    AuthSecret,
    /// The client secret, when `AUTH_SECRET` is not set.
    ClientSecret,
}

/// The keys of one purpose: the first seals, all of them open.
#[derive(Clone)]
struct Ring(Vec<LessSafeKey>);

/// The cookie-sealing keys of the relying party (one ring per purpose),
/// derived from the configured secrets once per instance, each purpose's
/// on its first use: a function that seals only flows derives no other
/// key on its cold start.
#[derive(Clone)]
pub struct Keys {
    source: Source,
    /// HKDF-Extract of each secret, newest first (RFC 5869 §2.2).
    prks: Vec<Prk>,
    /// HKDF-Expand of each for a purpose (RFC 5869 §2.3), at
    /// [`Purpose::index`].
    rings: [OnceLock<Ring>; Purpose::COUNT],
}

/// Prints how many keys there are, never a key.
impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys([redacted; {}])", self.prks.len())
    }
}

impl Keys {
    /// Takes `secrets` (newest first) as the input key material of
    /// HKDF-SHA256 with a fixed salt (RFC 5869 §2.2); each purpose's key is
    /// expanded with the purpose as `info` (§2.3) when first used.
    pub(crate) fn derive<'a>(
        source: Source,
        secrets: impl IntoIterator<Item = &'a [u8]>,
    ) -> Option<Self> {
        let salt = Salt::new(
            HKDF_SHA256,
            match source {
                Source::AuthSecret => b"sign-in-with-vercel/auth-secret/v1",
                Source::ClientSecret => b"sign-in-with-vercel/client-secret/v1",
            },
        );
        let prks: Vec<Prk> = secrets
            .into_iter()
            .map(|secret| salt.extract(secret))
            .collect();
        (!prks.is_empty()).then(|| Self {
            source,
            prks,
            rings: Default::default(),
        })
    }

    /// Whether the keys were derived from the client secret (no
    /// `AUTH_SECRET`): acceptable for local development only.
    pub(crate) fn derived_from_client_secret(&self) -> bool {
        self.source == Source::ClientSecret
    }

    /// The ring of `purpose`, expanded from every secret on first use, in
    /// the secrets' order. All or nothing: were one key not to expand
    /// (never for AES-256's 32 bytes; RFC 5869 §2.3 allows 8,160), the
    /// ring is empty and sealing and opening fail, rather than an older
    /// secret sealing in the newest's place.
    fn ring(&self, purpose: Purpose) -> &Ring {
        self.rings[purpose.index()].get_or_init(|| {
            let info = [purpose.label()];
            Ring(
                self.prks
                    .iter()
                    .map(|prk| {
                        let okm = prk.expand(&info, &AES_256_GCM).ok()?;
                        Some(LessSafeKey::new(UnboundKey::from(okm)))
                    })
                    .collect::<Option<Vec<_>>>()
                    .unwrap_or_default(),
            )
        })
    }

    /// Seals `plaintext` for `purpose` with the newest key; `context` is
    /// authenticated but not stored (it must be given again to open).
    /// `None` only if the system's random source fails (or, never for
    /// AES-256, the purpose's keys did not expand).
    pub(crate) fn seal(
        &self,
        purpose: Purpose,
        context: &[u8],
        plaintext: &[u8],
    ) -> Option<String> {
        let mut out = Vec::new();
        self.seal_into(purpose, context, plaintext, &mut out)?;
        String::from_utf8(out).ok()
    }

    /// [`Keys::seal`], appending the seal's base64url characters to `out`
    /// (a `Set-Cookie` header being written) instead of making a string:
    /// no copy, and no UTF-8 check of characters that are ASCII by
    /// construction. Appends nothing when it returns `None`.
    pub(crate) fn seal_into(
        &self,
        purpose: Purpose,
        context: &[u8],
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<()> {
        // From the operating system, like every secret of the library: a
        // generator in the process would repeat its nonces in every copy of
        // an instance restored from one memory snapshot, and a repeated
        // nonce under one key breaks AES-GCM (NIST SP 800-38D §8).
        let mut nonce = [0u8; NONCE_LEN];
        rand::RngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut nonce).ok()?;
        self.seal_with_nonce(purpose, context, plaintext, nonce, out)
    }

    /// [`Keys::seal_into`] with a given nonce: the tests' deterministic
    /// seals, which must be the library's own.
    fn seal_with_nonce(
        &self,
        purpose: Purpose,
        context: &[u8],
        plaintext: &[u8],
        nonce: [u8; NONCE_LEN],
        out: &mut Vec<u8>,
    ) -> Option<()> {
        let key = self.ring(purpose).0.first()?;
        // One buffer: header, then the plaintext encrypted in place, then the tag.
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plaintext);
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut sealed[1 + NONCE_LEN..],
            )
            .ok()?;
        sealed.extend_from_slice(tag.as_ref());
        let start = out.len();
        out.resize(start + sealed_len(plaintext.len())?, 0);
        match URL_SAFE_NO_PAD.encode_slice(&sealed, &mut out[start..]) {
            Ok(written) if start + written == out.len() => Some(()),
            _ => {
                out.truncate(start);
                None
            }
        }
    }

    /// [`Keys::seal`] with every nonce byte `nonce`, for tests whose seals
    /// must be the same on every run.
    #[cfg(test)]
    pub(crate) fn seal_fixed(
        &self,
        purpose: Purpose,
        context: &[u8],
        plaintext: &[u8],
        nonce: u8,
    ) -> String {
        let mut out = Vec::new();
        self.seal_with_nonce(purpose, context, plaintext, [nonce; NONCE_LEN], &mut out)
            .expect("a seal");
        String::from_utf8(out).expect("base64url")
    }

    /// Opens a seal made by [`Keys::seal`] with any of the keys: the
    /// plaintext, and whether the key was an older one (so the caller can
    /// seal it again with the newest). `None` for anything tampered with,
    /// truncated, sealed for another purpose or context, or with a key we
    /// do not have.
    pub(crate) fn open(
        &self,
        purpose: Purpose,
        context: &[u8],
        seal: impl AsRef<[u8]>,
    ) -> Option<Opened> {
        let seal = seal.as_ref();
        if seal.len() > MAX_SEAL_CHARS {
            return None;
        }
        let mut bytes = URL_SAFE_NO_PAD.decode(seal).ok()?;
        let (&version, rest) = bytes.split_first()?;
        if version != VERSION || rest.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let nonce: [u8; NONCE_LEN] = rest[..NONCE_LEN].try_into().ok()?;
        let sealed = 1 + NONCE_LEN..bytes.len();
        let keys = &self.ring(purpose).0;
        for (index, key) in keys.iter().enumerate() {
            let nonce = Nonce::assume_unique_for_key(nonce);
            // The last key (the only one, usually) opens the seal where it
            // was decoded; an earlier one works on a copy, since a failed
            // open leaves its buffer unspecified.
            if index + 1 == keys.len() {
                let len = key
                    .open_in_place(nonce, Aad::from(context), &mut bytes[sealed])
                    .ok()?
                    .len();
                bytes.drain(..1 + NONCE_LEN);
                bytes.truncate(len);
                return Some(Opened {
                    plaintext: bytes,
                    old_key: index > 0,
                });
            }
            let mut copy = bytes[sealed.clone()].to_vec();
            if let Ok(plaintext) = key.open_in_place(nonce, Aad::from(context), &mut copy) {
                let len = plaintext.len();
                copy.truncate(len);
                return Some(Opened {
                    plaintext: copy,
                    old_key: index > 0,
                });
            }
        }
        None
    }
}

/// The content of an opened seal.
pub(crate) struct Opened {
    /// What was sealed.
    pub plaintext: Vec<u8>,
    /// Sealed with a key other than the newest: worth sealing again.
    pub old_key: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secrets: &[&str]) -> Keys {
        Keys::derive(Source::AuthSecret, secrets.iter().map(|s| s.as_bytes())).unwrap()
    }

    const A: &str = "an-auth-secret-of-at-least-32-bytes-aaaa";
    const B: &str = "another-auth-secret-of-32-bytes-or-more-b";

    #[test]
    fn a_seal_opens_with_the_same_keys_and_context() {
        let k = keys(&[A]);
        let seal = k.seal(Purpose::Session, b"ctx", b"hello").unwrap();
        let opened = k.open(Purpose::Session, b"ctx", &seal).unwrap();
        assert_eq!(opened.plaintext, b"hello");
        assert!(!opened.old_key);
    }

    #[test]
    fn a_seal_written_into_a_buffer_follows_what_is_there_and_opens() {
        let k = keys(&[A]);
        for len in [0, 1, 2, 3, 150, 151, 152] {
            let plaintext = vec![7u8; len];
            let mut out = b"name=".to_vec();
            k.seal_into(Purpose::Flow, b"ctx", &plaintext, &mut out)
                .unwrap();
            let (head, seal) = out.split_at(5);
            assert_eq!(head, b"name=");
            assert_eq!(Some(seal.len()), sealed_len(len));
            assert_eq!(
                seal.len(),
                URL_SAFE_NO_PAD
                    .encode(URL_SAFE_NO_PAD.decode(seal).unwrap())
                    .len()
            );
            let opened = k.open(Purpose::Flow, b"ctx", seal).unwrap();
            assert_eq!(opened.plaintext, plaintext);
        }
    }

    /// Each purpose has a ring of its own, at an index below the count.
    #[test]
    fn each_purpose_has_a_ring_of_its_own() {
        let all = [
            Purpose::Session,
            Purpose::Flow,
            Purpose::Revocation,
            Purpose::RefreshOutcome,
        ];
        let mut indices = all.map(Purpose::index);
        indices.sort_unstable();
        assert_eq!(indices, [0, 1, 2, 3]);
        assert_eq!(Purpose::COUNT, all.len());
    }

    /// Known answers: the keys of every purpose, from a fixed secret, seal
    /// these bytes (fixed nonce and context), and these open. A change of
    /// the salt, a label or the derivation would sign every user out and
    /// lose every shared refresh outcome, which seals made by the code
    /// under test cannot show. The answers are RFC 5869's HKDF-SHA256 and
    /// AES-256-GCM as another implementation computes them (Python's
    /// `cryptography`: salt `sign-in-with-vercel/auth-secret/v1`, the
    /// purpose's label as `info`, nonce twelve 7s, `kat` as additional
    /// data, then version byte 1, nonce, ciphertext and tag in base64url).
    #[test]
    fn the_keys_of_every_purpose_are_the_known_ones() {
        const KNOWN: [(Purpose, &str); 4] = [
            (
                Purpose::Session,
                "AQcHBwcHBwcHBwcHB20cbffEFYRZJLzOQ-Iim5I17E52DFIjsJ9dRB4",
            ),
            (
                Purpose::Flow,
                "AQcHBwcHBwcHBwcHB87upZzygLYJCSCSHhDw743iZodyBkUALlSGBWQ",
            ),
            (
                Purpose::Revocation,
                "AQcHBwcHBwcHBwcHB0xffKfn7MI4Whf4Q9a06sEhdJhAh8XjU4WjaCU",
            ),
            (
                Purpose::RefreshOutcome,
                "AQcHBwcHBwcHBwcHB8JBSaRZ9Q5__DVC1kQvqcIJ-JWZir1eh5N-AEI",
            ),
        ];
        for (purpose, known) in KNOWN {
            let sealed = keys(&[A]).seal_fixed(purpose, b"kat", b"known answer", 7);
            assert_eq!(sealed, known, "{purpose:?}");
            let rotated = keys(&[B, A]);
            let opened = rotated.open(purpose, b"kat", known).unwrap();
            assert_eq!(opened.plaintext, b"known answer");
            assert!(opened.old_key, "{purpose:?}: A is the older key");
            let client = Keys::derive(Source::ClientSecret, [A.as_bytes()]).unwrap();
            assert!(client.open(purpose, b"kat", known).is_none());
        }
    }

    #[test]
    fn seals_of_the_same_value_differ() {
        let k = keys(&[A]);
        assert_ne!(
            k.seal(Purpose::Session, b"", b"x").unwrap(),
            k.seal(Purpose::Session, b"", b"x").unwrap()
        );
    }

    #[test]
    fn a_seal_hides_its_plaintext() {
        let k = keys(&[A]);
        let seal = k.seal(Purpose::Session, b"", b"vca_secret_token").unwrap();
        let raw = URL_SAFE_NO_PAD.decode(&seal).unwrap();
        assert!(!raw.windows(10).any(|w| w == b"vca_secret"));
    }

    #[test]
    fn tampered_seal_does_not_open() {
        let k = keys(&[A]);
        let seal = k.seal(Purpose::Session, b"", b"hello").unwrap();
        let mut raw = URL_SAFE_NO_PAD.decode(&seal).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert!(
            k.open(Purpose::Session, b"", URL_SAFE_NO_PAD.encode(&raw))
                .is_none()
        );
        raw[last] ^= 1;
        raw[20] ^= 0x80;
        assert!(
            k.open(Purpose::Session, b"", URL_SAFE_NO_PAD.encode(&raw))
                .is_none()
        );
    }

    #[test]
    fn truncated_seal_does_not_open() {
        let k = keys(&[A]);
        let seal = k.seal(Purpose::Session, b"", b"hello").unwrap();
        for len in [0, 1, 10, seal.len() - 1] {
            assert!(
                k.open(Purpose::Session, b"", &seal[..len]).is_none(),
                "{len}"
            );
        }
    }

    #[test]
    fn seal_for_another_purpose_or_context_does_not_open() {
        let k = keys(&[A]);
        let seal = k.seal(Purpose::Flow, b"ctx", b"hello").unwrap();
        assert!(k.open(Purpose::Session, b"ctx", &seal).is_none());
        assert!(k.open(Purpose::Flow, b"other", &seal).is_none());
    }

    #[test]
    fn seal_made_with_an_unknown_key_does_not_open() {
        let seal = keys(&[A]).seal(Purpose::Session, b"", b"hello").unwrap();
        assert!(keys(&[B]).open(Purpose::Session, b"", &seal).is_none());
    }

    #[test]
    fn rotated_keys_open_old_seals_and_say_so() {
        let old = keys(&[A]).seal(Purpose::Session, b"", b"hello").unwrap();
        let rotated = keys(&[B, A]);
        let opened = rotated.open(Purpose::Session, b"", &old).unwrap();
        assert_eq!(opened.plaintext, b"hello");
        assert!(opened.old_key);
        let new = rotated.seal(Purpose::Session, b"", b"hi").unwrap();
        assert!(keys(&[A]).open(Purpose::Session, b"", &new).is_none());
        assert!(keys(&[B]).open(Purpose::Session, b"", &new).is_some());
    }

    /// Every key of a ring opens, and only a seal by a key other than the
    /// newest is reported as old, whatever its place in the ring.
    #[test]
    fn only_a_seal_by_the_newest_key_of_a_ring_is_current() {
        const C: &str = "a-third-auth-secret-of-32-bytes-or-more-cc";
        let ring = keys(&[C, B, A]);
        for (secret, old) in [(C, false), (B, true), (A, true)] {
            let seal = keys(&[secret]).seal(Purpose::Session, b"", b"hi").unwrap();
            let opened = ring.open(Purpose::Session, b"", &seal).unwrap();
            assert_eq!(opened.plaintext, b"hi");
            assert_eq!(opened.old_key, old, "{}", &secret[..8]);
        }
    }

    /// The format byte is not in the authenticated data: its check alone
    /// refuses a seal whose version is not ours.
    #[test]
    fn seal_of_another_version_does_not_open() {
        let k = keys(&[A]);
        let seal = k.seal(Purpose::Session, b"", b"hello").unwrap();
        let mut raw = URL_SAFE_NO_PAD.decode(&seal).unwrap();
        raw[0] = VERSION + 1;
        assert!(
            k.open(Purpose::Session, b"", URL_SAFE_NO_PAD.encode(&raw))
                .is_none()
        );
    }

    /// A seal of up to 16 KiB (`MAX_SEAL_CHARS`) opens; a longer one,
    /// though made with our key, is refused before it is decoded.
    #[test]
    fn a_seal_up_to_the_size_cap_opens_and_a_longer_one_is_refused() {
        let k = keys(&[A]);
        let cap = 16 * 1024;
        let fits = (0..cap).find(|&len| sealed_len(len) == Some(cap)).unwrap();
        let at_cap = k.seal(Purpose::Session, b"", &vec![7; fits]).unwrap();
        assert_eq!(at_cap.len(), cap);
        assert!(k.open(Purpose::Session, b"", &at_cap).is_some());
        let over = k.seal(Purpose::Session, b"", &vec![7; fits + 1]).unwrap();
        assert!(over.len() > cap);
        assert!(k.open(Purpose::Session, b"", &over).is_none());
    }

    #[test]
    fn client_secret_and_auth_secret_of_the_same_bytes_give_different_keys() {
        let from_auth = keys(&[A]);
        let from_client = Keys::derive(Source::ClientSecret, [A.as_bytes()]).unwrap();
        let seal = from_auth.seal(Purpose::Session, b"", b"x").unwrap();
        assert!(from_client.open(Purpose::Session, b"", &seal).is_none());
    }

    /// Keys derived from the client secret say so, for the provider to
    /// refuse them outside a loopback origin; keys from `AUTH_SECRET` do not.
    #[test]
    fn keys_tell_whether_they_come_from_the_client_secret() {
        assert!(!keys(&[A]).derived_from_client_secret());
        let from_client = Keys::derive(Source::ClientSecret, [A.as_bytes()]).unwrap();
        assert!(from_client.derived_from_client_secret());
    }

    #[test]
    fn debug_output_shows_no_key() {
        assert_eq!(format!("{:?}", keys(&[A, B])), "Keys([redacted; 2])");
    }
}
