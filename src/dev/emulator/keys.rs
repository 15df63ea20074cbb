//! The emulator's ID-token signing keys (RS256, RFC 7518 §3.3) and their
//! JWK Set (RFC 7517).

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::{EncodeRsaPrivateKey as _, EncodeRsaPublicKey as _};
use rsa::traits::PublicKeyParts as _;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};

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
    encoding: EncodingKey,
}

impl SigningKey {
    /// A new 2048-bit key with a random `kid`.
    pub fn generate() -> Self {
        let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key generation");
        Self::from_private(private)
    }

    /// A process-wide key, generated once: tests create many emulators and
    /// need not pay for a key each.
    pub fn shared() -> Self {
        static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
        Self::from_private(
            KEY.get_or_init(|| {
                RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key generation")
            })
            .clone(),
        )
    }

    fn from_private(private: RsaPrivateKey) -> Self {
        let der = private.to_pkcs1_der().expect("PKCS#1 encoding");
        Self {
            kid: random_token()[..16].to_owned(),
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
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

    /// Signs `claims` as a compact JWS in the way `signing` says.
    pub fn sign(&self, claims: &Value, signing: Signing) -> String {
        let rs256 = |kid: Option<&str>, key: &EncodingKey| {
            let mut header = Header::new(Algorithm::RS256);
            header.kid = kid.map(str::to_owned);
            jsonwebtoken::encode(&header, claims, key).expect("RS256 signing")
        };
        match signing {
            Signing::Rs256 => rs256(Some(&self.kid), &self.encoding),
            Signing::Rs256WithoutKid => rs256(None, &self.encoding),
            Signing::ForeignKey => rs256(Some(&self.kid), &SigningKey::generate().encoding),
            Signing::UnpublishedKid => {
                let other = SigningKey::generate();
                rs256(Some(&other.kid), &other.encoding)
            }
            Signing::CorruptSignature => {
                let mut token = rs256(Some(&self.kid), &self.encoding).into_bytes();
                let last = token.len() - 2;
                token[last] = if token[last] == b'A' { b'B' } else { b'A' };
                String::from_utf8(token).expect("ASCII token")
            }
            Signing::None => {
                let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
                let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
                format!("{header}.{payload}.")
            }
            Signing::Hs256WithPublicKey => {
                let pem = RsaPublicKey::from(&self.private)
                    .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
                    .expect("PEM encoding");
                let mut header = Header::new(Algorithm::HS256);
                header.kid = Some(self.kid.clone());
                jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(pem.as_bytes()))
                    .expect("HS256 signing")
            }
        }
    }
}
