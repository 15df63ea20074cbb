//! RS256 signature verification (RFC 7518 §3.3: RSASSA-PKCS1-v1_5 with
//! SHA-256) as `jsonwebtoken`'s crypto provider, by RustCrypto's `rsa`.
//!
//! RS256 is the only algorithm the relying party accepts, so it is the only
//! one linked in: `jsonwebtoken`'s stock providers bring every JWS algorithm
//! (ECDSA, EdDSA, HMAC, RSA-PSS, signing), which is dead weight and attack
//! surface in a function binary. Parsing stays with `jsonwebtoken`; the
//! maths stays with `rsa`.

use jsonwebtoken::crypto::{CryptoProvider, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{Error as SignatureError, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};
use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest as _, Sha256};

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
    let public = RsaPublicKey::new(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e))
        .map_err(|_| ErrorKind::InvalidRsaKey("unusable modulus or exponent".into()))?;
    Ok(Box::new(Rs256Verifier(public)))
}

struct Rs256Verifier(RsaPublicKey);

impl Verifier<Vec<u8>> for Rs256Verifier {
    fn verify(
        &self,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> std::result::Result<(), SignatureError> {
        self.0
            .verify(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(message),
                signature,
            )
            .map_err(SignatureError::from_source)
    }
}

impl JwtVerifier for Rs256Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}
