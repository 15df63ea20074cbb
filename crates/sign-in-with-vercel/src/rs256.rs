//! RS256 signature verification (RFC 7518 §3.3: RSASSA-PKCS1-v1_5 with
//! SHA-256) as `jsonwebtoken`'s crypto provider, by `ring`.
//!
//! RS256 is the only algorithm the relying party accepts, so it is the only
//! one linked in: `jsonwebtoken`'s stock providers bring every JWS algorithm
//! (ECDSA, EdDSA, HMAC, RSA-PSS, signing), dead weight and attack surface in
//! a function binary. `ring` already verifies RSA signatures for TLS, so
//! this costs no extra code; it also refuses moduli under 2048 bits. JWS
//! parsing stays with `jsonwebtoken`.

use jsonwebtoken::crypto::{CryptoProvider, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{Error as SignatureError, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};

/// The provider: verifies RS256 and refuses everything else; signs nothing.
static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: |_, _| Err(ErrorKind::InvalidAlgorithm.into()),
    verifier_factory: verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes [`PROVIDER`] the process's `jsonwebtoken` provider, unless one is
/// installed already. Cheap; called before every verification.
pub fn install() {
    let _ = PROVIDER.install_default();
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if *algorithm != Algorithm::RS256 || key.family() != AlgorithmFamily::Rsa {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let DecodingKeyKind::RsaModulusExponent { n, e } = key.kind() else {
        return Err(ErrorKind::InvalidKeyFormat.into());
    };
    // ring wants big-endian integers without leading zero octets.
    let trim = |b: &[u8]| {
        b.iter()
            .position(|&x| x != 0)
            .map_or_else(Vec::new, |i| b[i..].to_vec())
    };
    Ok(Box::new(Rs256Verifier {
        n: trim(n),
        e: trim(e),
    }))
}

struct Rs256Verifier {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl Verifier<Vec<u8>> for Rs256Verifier {
    fn verify(
        &self,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> std::result::Result<(), SignatureError> {
        RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
        .map_err(|_| SignatureError::new())
    }
}

impl JwtVerifier for Rs256Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}
