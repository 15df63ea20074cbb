//! The emulator's side of PKCE (RFC 7636): the shape of an S256
//! `code_challenge` at the authorization endpoint (§4.2), and checking a
//! `code_verifier` against it at the token endpoint (§4.6).
//!
//! Written apart from the library's PKCE on purpose, with another SHA-256
//! (`ring`'s) and a check of the decoded challenge rather than a string
//! compare of encodings: the emulator is the relying party's independent
//! oracle, so a PKCE mistake in the library cannot agree with itself here.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest::{SHA256, digest};

use crate::secret::ct_eq_bytes;

/// `code-verifier = 43*128unreserved`, `unreserved = ALPHA / DIGIT / "-" /
/// "." / "_" / "~"` (RFC 7636 §4.1). An S256 `code_challenge` is held to
/// its narrower shape, [`s256_challenge_well_formed`].
pub fn well_formed(value: &str) -> bool {
    let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    (43..=128).contains(&value.chars().count()) && value.chars().all(unreserved)
}

/// Whether `challenge` can be an S256 `code_challenge` at all:
/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2), the
/// unpadded base64url encoding (§3, Appendix A) of 32 bytes, which is
/// always 43 characters of the base64url alphabet, the last one's two
/// spare bits zero. A common client bug, the digest in hexadecimal (64
/// characters), is not one.
pub fn s256_challenge_well_formed(challenge: &str) -> bool {
    challenge.len() == 43
        && URL_SAFE_NO_PAD
            .decode(challenge)
            .is_ok_and(|digest| digest.len() == 32)
}

/// Whether `verifier` answers the S256 `challenge`:
/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge`
/// (RFC 7636 §4.6), compared as digests in constant time.
pub fn s256_matches(verifier: &str, challenge: &str) -> bool {
    if !well_formed(verifier) {
        return false;
    }
    let Ok(expected) = URL_SAFE_NO_PAD.decode(challenge) else {
        return false;
    };
    ct_eq_bytes(digest(&SHA256, verifier.as_bytes()).as_ref(), &expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_7636_appendix_b_pair_matches() {
        assert!(s256_matches(VERIFIER, CHALLENGE));
    }

    #[test]
    fn another_verifier_does_not_match() {
        let other = format!("{}A", &VERIFIER[..42]);
        assert!(!s256_matches(&other, CHALLENGE));
        assert!(!s256_matches(
            VERIFIER,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
    }

    #[test]
    fn a_plain_challenge_equal_to_the_verifier_does_not_match() {
        assert!(!s256_matches(VERIFIER, VERIFIER));
    }

    #[test]
    fn an_s256_challenge_is_43_base64url_characters() {
        assert!(s256_challenge_well_formed(CHALLENGE));
        let hex = crate::config::hex(digest(&SHA256, VERIFIER.as_bytes()).as_ref());
        assert_eq!(hex.len(), 64);
        for bad in [
            hex.as_str(),
            &CHALLENGE[..42],
            &format!("{CHALLENGE}A"),
            &format!("{CHALLENGE}="),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw.cM",
            // The last character's spare bits are not zero.
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN",
        ] {
            assert!(!s256_challenge_well_formed(bad), "{bad:?}");
        }
    }

    #[test]
    fn verifier_grammar_is_rfc_7636_section_4_1() {
        assert!(well_formed(VERIFIER));
        assert!(well_formed(&"~".repeat(128)));
        assert!(!well_formed(&"a".repeat(42)));
        assert!(!well_formed(&"a".repeat(129)));
        assert!(!well_formed(&format!("{}+", &VERIFIER[..42])));
        assert!(!well_formed(&format!("{}é", &VERIFIER[..41])));
    }
}
