//! The emulator's ID-token signing keys (RS256, RFC 7518 §3.3) and their
//! JWK Set (RFC 7517).

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPublicKey as _;
use rsa::pkcs8::EncodePrivateKey as _;
use rsa::traits::PublicKeyParts as _;
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

/// One RSA signing key (RS256, RFC 7518 §3.3) with its key ID. Generated
/// by `rsa` (ring cannot generate RSA keys), used through `ring`, which
/// signs several times faster.
pub struct SigningKey {
    kid: String,
    private: RsaPrivateKey,
    pair: RsaKeyPair,
}

impl SigningKey {
    /// A new 2048-bit key with a random `kid`.
    pub fn generate() -> Self {
        Self::from_private(new_private_key())
    }

    /// The process-wide key, generated once: tests create many emulators and
    /// need not pay for a key each. Each call gives that same key under a
    /// new random `kid`.
    pub fn shared() -> Self {
        static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
        Self::from_private(KEY.get_or_init(new_private_key).clone())
    }

    fn from_private(private: RsaPrivateKey) -> Self {
        let der = private.to_pkcs8_der().expect("PKCS#8 encoding");
        let pair = RsaKeyPair::from_pkcs8(der.as_bytes()).expect("a valid RSA key");
        Self {
            kid: random_token()[..16].to_owned(),
            private,
            pair,
        }
    }

    /// The key ID published in the JWK Set.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (RFC 7517 §4, RSA members RFC 7518 §6.3.1).
    pub fn jwk(&self) -> Value {
        let public = self.private.to_public_key();
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
        let (alg, kid, other_key) = match signing {
            Signing::Rs256 | Signing::CorruptSignature => ("RS256", Some(self.kid.clone()), None),
            Signing::Rs256WithoutKid => ("RS256", None, None),
            Signing::ForeignKey => ("RS256", Some(self.kid.clone()), Some(foreign())),
            Signing::UnpublishedKid => {
                let other = foreign();
                ("RS256", Some(other.kid.clone()), Some(other))
            }
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
        let mut signature = match signing {
            Signing::None => Vec::new(),
            Signing::Hs256WithPublicKey => {
                let pem = self
                    .private
                    .to_public_key()
                    .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
                    .expect("PEM encoding");
                let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, pem.as_bytes());
                ring::hmac::sign(&key, input.as_bytes()).as_ref().to_vec()
            }
            _ => other_key.unwrap_or(self).rs256(input.as_bytes()),
        };
        if signing == Signing::CorruptSignature
            && let Some(last) = signature.last_mut()
        {
            *last ^= 0x01;
        }
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn rs256(&self, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .expect("RS256 signing");
        signature
    }
}

/// The key ID only: never the key.
impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The key of [`Signing::ForeignKey`] and [`Signing::UnpublishedKid`],
/// which no emulator publishes, under a `kid` of its own: made once per
/// process, as [`SigningKey::shared`] is, rather than once per token.
fn foreign() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_private(new_private_key()))
}

fn new_private_key() -> RsaPrivateKey {
    RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key generation")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact JWS's header, signing input and signature.
    fn parts(token: &str) -> (Value, String, Vec<u8>) {
        let (input, signature) = token.rsplit_once('.').unwrap();
        let header = URL_SAFE_NO_PAD
            .decode(input.split('.').next().unwrap())
            .unwrap();
        (
            serde_json::from_slice(&header).unwrap(),
            input.to_owned(),
            URL_SAFE_NO_PAD.decode(signature).unwrap(),
        )
    }

    /// The `kid` a relying party finds in the JWK Set is the one the
    /// tokens are signed under (RFC 7515 §4.1.4).
    #[test]
    fn tokens_are_signed_under_the_published_kid() {
        let key = SigningKey::shared();
        assert_eq!(key.kid().len(), 16);
        assert_eq!(key.jwk()["kid"], key.kid());
        let (header, _, _) = parts(&key.sign(&json!({ "sub": "usr" }), Signing::Rs256));
        assert_eq!(header["kid"], key.kid());
    }

    /// A token signed by a foreign key verifies under that key, not under
    /// the published one: under the published `kid` for `ForeignKey`,
    /// under another for `UnpublishedKid`. The foreign key is made once
    /// per process, not once per token.
    #[test]
    fn foreign_keys_are_not_the_published_key_and_are_made_once() {
        let key = SigningKey::shared();
        let claims = json!({ "sub": "usr" });
        let verify = |key: &SigningKey, input: &str, signature: &[u8]| {
            let public = key.private.to_public_key().to_pkcs1_der().unwrap();
            ring::signature::UnparsedPublicKey::new(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                public.as_bytes(),
            )
            .verify(input.as_bytes(), signature)
            .is_ok()
        };
        let (header, input, signature) = parts(&key.sign(&claims, Signing::ForeignKey));
        assert_eq!(header["kid"], key.kid());
        assert!(!verify(&key, &input, &signature));
        assert!(verify(foreign(), &input, &signature));
        let (header, input, signature) = parts(&key.sign(&claims, Signing::UnpublishedKid));
        assert_eq!(header["kid"], foreign().kid());
        assert_ne!(header["kid"], key.kid());
        assert!(verify(foreign(), &input, &signature));
        let (again, _, _) = parts(&key.sign(&claims, Signing::UnpublishedKid));
        assert_eq!(
            again["kid"], header["kid"],
            "one foreign key, not one per token"
        );
    }

    /// `Debug` shows the key ID, never the key.
    #[test]
    fn debug_shows_the_kid_only() {
        let key = SigningKey::shared();
        let shown = format!("{key:?}");
        assert_eq!(shown, format!("SigningKey {{ kid: {:?}, .. }}", key.kid()));
    }

    /// Each hostile signing is the attack it names, not an RS256 token
    /// under another header: `none` has no signature, HS256 is an HMAC
    /// keyed with the public key's PEM, and a corrupt signature is the
    /// valid one with one bit flipped.
    #[test]
    fn the_hostile_signings_are_the_attacks_they_name() {
        let key = SigningKey::shared();
        let claims = json!({ "sub": "usr" });

        let (header, _, signature) = parts(&key.sign(&claims, Signing::None));
        assert_eq!(header, json!({ "alg": "none", "typ": "JWT" }));
        assert!(signature.is_empty());

        let (header, input, signature) = parts(&key.sign(&claims, Signing::Hs256WithPublicKey));
        assert_eq!(header["alg"], "HS256");
        let pem = key
            .private
            .to_public_key()
            .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap();
        let hmac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, pem.as_bytes());
        ring::hmac::verify(&hmac, input.as_bytes(), &signature).expect("an HMAC of the PEM");

        let (_, valid_input, valid) = parts(&key.sign(&claims, Signing::Rs256));
        let (_, corrupt_input, corrupt) = parts(&key.sign(&claims, Signing::CorruptSignature));
        assert_eq!(valid_input, corrupt_input);
        let last = valid.len() - 1;
        assert_eq!(
            (corrupt.len(), &corrupt[..last]),
            (valid.len(), &valid[..last])
        );
        assert_eq!(valid[last] ^ corrupt[last], 0x01);
    }
}
