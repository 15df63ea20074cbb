//! JWS signature verification of a signing input (RFC 7515 §5.2), by
//! `ring`, for the two algorithms the relying party accepts: RS256
//! (RFC 7518 §3.3: RSASSA-PKCS1-v1_5 with SHA-256), which every OpenID
//! Provider supports and Vercel signs with, and ES256 (§3.4: ECDSA on
//! P-256 with SHA-256), accepted from a provider whose metadata lists it.
//!
//! Each key verifies with its own algorithm only, so a token cannot choose
//! how a key is used (the confusion RFC 8725 §2.1 describes). `ring`
//! already verifies both for TLS: no JWT crate, whose stock providers
//! bring every JWS algorithm (EdDSA, HMAC, RSA-PSS, signing) and whose
//! crypto provider is one per process, shared with whatever JWTs the app
//! itself signs or verifies. `ring` also refuses RSA moduli under 2048 or
//! over 8192 bits and EC points off the curve.

use ring::signature::{
    ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};

/// A JWS algorithm this relying party verifies (RFC 7518 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 using SHA-256 (§3.3).
    Rs256,
    /// ECDSA using P-256 and SHA-256 (§3.4).
    Es256,
}

impl Algorithm {
    /// RS256 only: what a client that registered no
    /// `id_token_signed_response_alg` gets (OpenID Connect Dynamic Client
    /// Registration §2), and what every provider supports (Discovery §3).
    pub const DEFAULT: &'static [Self] = &[Self::Rs256];
    /// RS256 and ES256.
    pub(crate) const BOTH: &'static [Self] = &[Self::Rs256, Self::Es256];

    /// The algorithm named `alg` in a JOSE header (RFC 7515 §4.1.1) or a
    /// JWK (RFC 7517 §4.4); names are case-sensitive.
    pub fn from_name(alg: &str) -> Option<Self> {
        match alg {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    /// The algorithms accepted from an issuer whose metadata lists
    /// `supported` as its `id_token_signing_alg_values_supported`
    /// (Discovery §3): RS256 always (the default, which that list must
    /// hold), ES256 when listed. Nothing else is implemented.
    pub fn accepted(supported: Option<&[String]>) -> &'static [Self] {
        match supported {
            Some(list) if list.iter().any(|alg| alg == "ES256") => Self::BOTH,
            _ => Self::DEFAULT,
        }
    }
}

/// A verification key from a JWK (RFC 7518 §6), in the form `ring` takes.
pub enum PublicKey {
    /// RSA (§6.3.1): modulus and exponent, big-endian, without leading
    /// zero octets.
    Rsa {
        /// The modulus.
        n: Vec<u8>,
        /// The public exponent.
        e: Vec<u8>,
    },
    /// A P-256 point (§6.2.1), uncompressed: `0x04 || x || y` (SEC 1
    /// §2.3.3), each coordinate 32 octets.
    P256([u8; 65]),
}

impl PublicKey {
    /// The key of an RSA JWK's decoded `n` and `e` (RFC 7518 §6.3.1.1–2),
    /// their leading zero octets removed.
    pub fn rsa(n: &[u8], e: &[u8]) -> Self {
        let trim = |b: &[u8]| {
            b.iter()
                .position(|&x| x != 0)
                .map_or_else(Vec::new, |i| b[i..].to_vec())
        };
        Self::Rsa {
            n: trim(n),
            e: trim(e),
        }
    }

    /// The key of a P-256 JWK's decoded `x` and `y`; `None` unless each is
    /// 32 octets (RFC 7518 §6.2.1.2–3: the full coordinate length). Whether
    /// the point is on the curve `ring` checks when it verifies.
    pub fn p256(x: &[u8], y: &[u8]) -> Option<Self> {
        if x.len() != 32 || y.len() != 32 {
            return None;
        }
        let mut point = [4; 65];
        point[1..33].copy_from_slice(x);
        point[33..].copy_from_slice(y);
        Some(Self::P256(point))
    }

    /// The one algorithm this key verifies with, fixed by its type, never
    /// by the token (RFC 8725 §3.1).
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Self::Rsa { .. } => Algorithm::Rs256,
            Self::P256(_) => Algorithm::Es256,
        }
    }

    /// Whether `signature` is this key's signature of `message` by its
    /// algorithm: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), or ECDSA
    /// whose signature is `R || S`, 64 octets (§3.4), never the DER form
    /// TLS uses.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Rsa { n, e } => RsaPublicKeyComponents { n, e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
                .is_ok(),
            Self::P256(point) => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point[..])
                .verify(message, signature)
                .is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn es256_is_accepted_only_from_an_issuer_that_lists_it() {
        let list = |algs: &[&str]| algs.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
        assert_eq!(Algorithm::accepted(None), [Algorithm::Rs256]);
        assert_eq!(
            Algorithm::accepted(Some(&list(&["RS256", "PS256"]))),
            [Algorithm::Rs256]
        );
        assert_eq!(
            Algorithm::accepted(Some(&list(&["RS256", "ES256"]))),
            [Algorithm::Rs256, Algorithm::Es256]
        );
        // RS256 is every client's default, listed or not.
        assert_eq!(
            Algorithm::accepted(Some(&list(&["ES256"]))),
            [Algorithm::Rs256, Algorithm::Es256]
        );
        assert_eq!(Algorithm::accepted(Some(&[])), [Algorithm::Rs256]);
    }

    #[test]
    fn a_p256_key_needs_full_length_coordinates() {
        assert!(PublicKey::p256(&[1; 32], &[2; 32]).is_some());
        assert!(PublicKey::p256(&[1; 31], &[2; 32]).is_none());
        assert!(PublicKey::p256(&[1; 32], &[2; 33]).is_none());
        assert!(PublicKey::p256(&[1; 48], &[2; 48]).is_none(), "P-384");
    }
}
