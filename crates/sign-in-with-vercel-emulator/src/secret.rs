//! Random values and constant-time comparison, the emulator's own (not the
//! library's: see [`crate::pkce`] for why).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use subtle::ConstantTimeEq as _;

/// 32 random octets from the OS, base64url without padding (43 characters):
/// codes, tokens, request and key IDs.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Equality of two secrets in time that depends only on their lengths.
pub fn ct_eq(a: &str, b: &str) -> bool {
    ct_eq_bytes(a.as_bytes(), b.as_bytes())
}

/// [`ct_eq`] for bytes.
pub fn ct_eq_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_in_constant_time_is_equality() {
        assert!(ct_eq("vcr_a", "vcr_a"));
        assert!(!ct_eq("vcr_a", "vcr_b"));
        assert!(!ct_eq("vcr_a", "vcr_ab"));
        assert!(!ct_eq("", "x"));
    }

    #[test]
    fn tokens_are_43_characters_and_differ() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
