//! The emulator's ID-token signing keys (RS256, RFC 7518 §3.3) and their
//! JWK Set (RFC 7517).

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use rsa::pkcs1::EncodeRsaPublicKey as _;
use rsa::pkcs1v15::SigningKey as Rs256Key;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use rsa::traits::PublicKeyParts as _;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::secret::random_token;

/// How a token is signed: normally, or in one of the ways a hostile or
/// broken provider might (for the relying party's rejection tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Signing {
    /// RS256 with the current key, its `kid` in the header.
    #[default]
    Rs256,
    /// RS256 with the current key but no `kid` in the header.
    Rs256WithoutKid,
    /// `alg: none`, no signature (RFC 7519 §6).
    None,
    /// HS256 keyed with the PEM of the public key: the algorithm-confusion attack.
    Hs256WithPublicKey,
    /// RS256 by a key that is not in the JWK Set, under the current `kid`.
    ForeignKey,
    /// RS256 by a key that is not in the JWK Set, under a `kid` that is
    /// not either.
    UnpublishedKid,
    /// A valid token with its signature's last bytes flipped.
    CorruptSignature,
}

/// One RSA signing key with its key ID.
pub struct SigningKey {
    kid: String,
    private: RsaPrivateKey,
}

impl SigningKey {
    /// A new 2048-bit key with a random `kid`.
    pub fn generate() -> Self {
        Self::from_private(new_private_key())
    }

    /// A process-wide key, generated once: tests create many emulators and
    /// need not pay for a key each.
    pub fn shared() -> Self {
        static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
        Self::from_private(KEY.get_or_init(new_private_key).clone())
    }

    fn from_private(private: RsaPrivateKey) -> Self {
        Self {
            kid: random_token()[..16].to_owned(),
            private,
        }
    }

    /// The key ID published in the JWK Set.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Value {
        let public = RsaPublicKey::from(&self.private);
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        })
    }

    /// Signs `claims` as a compact JWS (RFC 7515 §7.1) in the way `signing` says.
    pub fn sign(&self, claims: &Value, signing: Signing) -> String {
        let (alg, kid, key) = match signing {
            Signing::Rs256 | Signing::CorruptSignature => {
                ("RS256", Some(self.kid.clone()), Some(self.private.clone()))
            }
            Signing::Rs256WithoutKid => ("RS256", None, Some(self.private.clone())),
            Signing::ForeignKey => ("RS256", Some(self.kid.clone()), Some(new_private_key())),
            Signing::UnpublishedKid => (
                "RS256",
                Some(random_token()[..16].to_owned()),
                Some(new_private_key()),
            ),
            Signing::None => ("none", None, None),
            Signing::Hs256WithPublicKey => ("HS256", Some(self.kid.clone()), None),
        };
        let mut header = json!({ "alg": alg, "typ": "JWT" });
        if let Some(kid) = kid {
            header["kid"] = json!(kid);
        }
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = match (signing, key) {
            (Signing::None, _) => Vec::new(),
            (Signing::Hs256WithPublicKey, _) => {
                let pem = RsaPublicKey::from(&self.private)
                    .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
                    .expect("PEM encoding");
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(pem.as_bytes()).expect("any key length");
                mac.update(input.as_bytes());
                mac.finalize().into_bytes().to_vec()
            }
            (_, Some(key)) => Rs256Key::<Sha256>::new(key).sign(input.as_bytes()).to_vec(),
            (_, None) => Vec::new(),
        };
        if signing == Signing::CorruptSignature
            && let Some(last) = signature.last_mut()
        {
            *last ^= 0x01;
        }
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

fn new_private_key() -> RsaPrivateKey {
    RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key generation")
}
