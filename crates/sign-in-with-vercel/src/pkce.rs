//! Proof Key for Code Exchange (RFC 7636), `S256` only.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest::{SHA256, digest};

use crate::secret::{CodeVerifier, random_token};

/// The only challenge method we send; Vercel requires it (RFC 7636 §4.2).
pub const CHALLENGE_METHOD: &str = "S256";

impl CodeVerifier {
    /// A fresh verifier from 32 random octets, base64url-encoded: the
    /// construction RFC 7636 §4.1 recommends, 43 characters long.
    pub fn random() -> Self {
        Self::new(random_token())
    }

    /// `BASE64URL(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2). The
    /// challenge is public; only the verifier is secret.
    pub fn challenge(&self) -> String {
        s256_challenge(self.secret())
    }
}

/// The S256 transformation of a verifier (RFC 7636 §4.2).
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()))
}

/// Whether `verifier` has the form RFC 7636 §4.1 requires: 43 to 128
/// characters from `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
pub fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            s256_challenge(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(
            CodeVerifier::new(verifier).challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_verifier_has_rfc7636_form() {
        let v = CodeVerifier::random();
        assert!(is_valid_verifier(v.secret()));
        assert_eq!(v.secret().len(), 43);
    }

    #[test]
    fn verifier_form_is_checked() {
        assert!(!is_valid_verifier("short"));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(!is_valid_verifier(&format!("{}+", "a".repeat(43))));
        assert!(is_valid_verifier(&"a~.-_".repeat(9)));
    }
}
