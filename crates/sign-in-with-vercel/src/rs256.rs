//! RS256 signature verification (RFC 7518 §3.3: RSASSA-PKCS1-v1_5 with
//! SHA-256) of a JWS signing input (RFC 7515 §5.2), by `ring`.
//!
//! RS256 is the only algorithm the relying party accepts, so it is the only
//! one linked in, and `ring` already verifies RSA signatures for TLS: no
//! JWT crate, whose stock providers bring every JWS algorithm (ECDSA,
//! EdDSA, HMAC, RSA-PSS, signing) and whose crypto provider is one per
//! process, shared with whatever JWTs the app itself signs or verifies.
//! `ring` also refuses moduli under 2048 or over 8192 bits.

use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};

/// An RSA public key (RFC 7518 §6.3.1): modulus and exponent, big-endian,
/// without leading zero octets, as `ring` wants them.
pub struct RsaPublicKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl RsaPublicKey {
    /// The key of a JWK's decoded `n` and `e`.
    pub fn from_components(n: &[u8], e: &[u8]) -> Self {
        let trim = |b: &[u8]| {
            b.iter()
                .position(|&x| x != 0)
                .map_or_else(Vec::new, |i| b[i..].to_vec())
        };
        Self {
            n: trim(n),
            e: trim(e),
        }
    }

    /// Whether `signature` is this key's RS256 signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
        .is_ok()
    }
}
