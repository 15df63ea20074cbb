//! The emulator's side of PKCE (RFC 7636 §4.6): checking a `code_verifier`
//! against the `code_challenge` of the authorization request.
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
/// "." / "_" / "~"` (RFC 7636 §4.1). The same grammar bounds
/// `code_challenge` (§4.2), whose S256 form is 43 characters.
pub fn well_formed(value: &str) -> bool {
    let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    (43..=128).contains(&value.chars().count()) && value.chars().all(unreserved)
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
    fn verifier_grammar_is_rfc_7636_section_4_1() {
        assert!(well_formed(VERIFIER));
        assert!(well_formed(&"~".repeat(128)));
        assert!(!well_formed(&"a".repeat(42)));
        assert!(!well_formed(&"a".repeat(129)));
        assert!(!well_formed(&format!("{}+", &VERIFIER[..42])));
        assert!(!well_formed(&format!("{}é", &VERIFIER[..41])));
    }
}
