//! JWS signature verification of a signing input (RFC 7515 §5.2), by
//! `ring`, for the asymmetric algorithms an OpenID Provider signs ID
//! tokens with and `ring` verifies: RS256, RS384 and RS512 (RFC 7518 §3.3:
//! RSASSA-PKCS1-v1_5), PS256, PS384 and PS512 (§3.5: RSASSA-PSS, MGF1 with
//! the same hash, a salt as long as the hash), ES256 and ES384 (§3.4:
//! ECDSA on P-256 and P-384), and Ed25519 (RFC 9864; `EdDSA` with an
//! Ed25519 key, RFC 8037 §3.1, is the same algorithm under its older name).
//! RS256 is every client's default and what Vercel signs with; the others
//! are accepted only from a provider whose metadata lists them.
//!
//! Each key verifies with exactly one algorithm (RFC 8725 §3.1), fixed by
//! the key and never by the token, so a token cannot choose how a key is
//! used (the confusion RFC 8725 §2.1 describes): the JWK's `alg`, or the
//! default of its type when it has none (RS256 for RSA, ES256 for P-256,
//! ES384 for P-384, Ed25519 for Ed25519). `ring` already verifies these for
//! TLS: no JWT crate, whose stock providers bring HMAC and signing and
//! whose crypto provider is one per process, shared with whatever JWTs the
//! app itself signs or verifies. `ring` also refuses RSA moduli under 2048
//! or over 8192 bits and EC points off the curve. ES512 (P-521) is not
//! implemented: `ring` does not verify it.

use ring::digest;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256,
    RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512, RSA_PSS_2048_8192_SHA256,
    RSA_PSS_2048_8192_SHA384, RSA_PSS_2048_8192_SHA512, RsaParameters, RsaPublicKeyComponents,
    UnparsedPublicKey,
};

/// A JWS algorithm this relying party verifies (RFC 7518 §3.1, RFC 9864).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 using SHA-256 (RFC 7518 §3.3).
    Rs256,
    /// RSASSA-PKCS1-v1_5 using SHA-384 (§3.3).
    Rs384,
    /// RSASSA-PKCS1-v1_5 using SHA-512 (§3.3).
    Rs512,
    /// RSASSA-PSS using SHA-256 and MGF1 with SHA-256 (§3.5).
    Ps256,
    /// RSASSA-PSS using SHA-384 and MGF1 with SHA-384 (§3.5).
    Ps384,
    /// RSASSA-PSS using SHA-512 and MGF1 with SHA-512 (§3.5).
    Ps512,
    /// ECDSA using P-256 and SHA-256 (§3.4).
    Es256,
    /// ECDSA using P-384 and SHA-384 (§3.4).
    Es384,
    /// EdDSA using the Ed25519 parameter set (RFC 9864's fully specified
    /// name; RFC 8032 §5.1).
    Ed25519,
}

impl Algorithm {
    /// Every algorithm implemented, in the order of [`Algorithms`]' bits.
    pub const ALL: [Self; 9] = [
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
        Self::Es256,
        Self::Es384,
        Self::Ed25519,
    ];

    /// The algorithm named `alg` in a JOSE header (RFC 7515 §4.1.1) or a
    /// JWK (RFC 7517 §4.4); names are case-sensitive. `EdDSA` (RFC 8037
    /// §3.1) names Ed25519, the one EdDSA curve implemented: a key of
    /// another curve is never kept.
    pub fn from_name(alg: &str) -> Option<Self> {
        Some(match alg {
            "RS256" => Self::Rs256,
            "RS384" => Self::Rs384,
            "RS512" => Self::Rs512,
            "PS256" => Self::Ps256,
            "PS384" => Self::Ps384,
            "PS512" => Self::Ps512,
            "ES256" => Self::Es256,
            "ES384" => Self::Es384,
            "Ed25519" | "EdDSA" => Self::Ed25519,
            _ => return None,
        })
    }

    /// Whether this is an RSA algorithm (RSASSA-PKCS1-v1_5 or RSASSA-PSS).
    pub fn is_rsa(self) -> bool {
        rsa_parameters(self).is_some()
    }

    /// The hash this algorithm signs with, which `at_hash` uses too
    /// (OpenID Connect Core §3.2.2.9); SHA-512 for Ed25519, as RFC 8032
    /// §5.1 defines it.
    pub fn hash(self) -> &'static digest::Algorithm {
        match self {
            Self::Rs256 | Self::Ps256 | Self::Es256 => &digest::SHA256,
            Self::Rs384 | Self::Ps384 | Self::Es384 => &digest::SHA384,
            Self::Rs512 | Self::Ps512 | Self::Ed25519 => &digest::SHA512,
        }
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// A set of [`Algorithm`]s: those accepted from one issuer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Algorithms(u16);

impl Algorithms {
    /// RS256 only: what a client that registered no
    /// `id_token_signed_response_alg` gets (OpenID Connect Dynamic Client
    /// Registration §2), and what every provider supports (Discovery §3).
    pub const DEFAULT: Self = Self(Algorithm::Rs256.bit());

    /// The algorithms accepted from an issuer whose metadata lists
    /// `supported` as its `id_token_signing_alg_values_supported`
    /// (Discovery §3): RS256 always (the default, which that list must
    /// hold), and each listed algorithm that is implemented. `none`, HMAC
    /// and anything else listed are not.
    pub fn accepted(supported: Option<&[String]>) -> Self {
        let listed = supported
            .unwrap_or_default()
            .iter()
            .filter_map(|alg| Algorithm::from_name(alg))
            .fold(0, |bits, alg| bits | alg.bit());
        Self(Self::DEFAULT.0 | listed)
    }

    /// A set of exactly `algs` (tests).
    #[cfg(test)]
    pub fn of(algs: &[Algorithm]) -> Self {
        Self(algs.iter().fold(0, |bits, alg| bits | alg.bit()))
    }

    /// Whether `alg` is in the set.
    pub fn contains(self, alg: Algorithm) -> bool {
        self.0 & alg.bit() != 0
    }

    /// The algorithms in the set, in [`Algorithm`]'s order (tests).
    #[cfg(test)]
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |alg| self.contains(*alg))
    }
}

/// A verification key from a JWK (RFC 7518 §6, RFC 8037 §2), in the form
/// `ring` takes, bound to the one algorithm it verifies with.
pub enum PublicKey {
    /// RSA (RFC 7518 §6.3.1): modulus and exponent, big-endian, without
    /// leading zero octets, for one RSA algorithm.
    Rsa {
        /// The modulus.
        n: Vec<u8>,
        /// The public exponent.
        e: Vec<u8>,
        /// RS256, RS384, RS512, PS256, PS384 or PS512.
        alg: Algorithm,
    },
    /// A P-256 point (§6.2.1), uncompressed: `0x04 || x || y` (SEC 1
    /// §2.3.3), each coordinate 32 octets; for ES256.
    P256([u8; 65]),
    /// A P-384 point, uncompressed, each coordinate 48 octets; for ES384.
    P384([u8; 97]),
    /// An Ed25519 public key (RFC 8037 §2: `x`, 32 octets); for Ed25519.
    Ed25519([u8; 32]),
}

impl PublicKey {
    /// The key of an RSA JWK's decoded `n` and `e` (RFC 7518 §6.3.1.1–2),
    /// their leading zero octets removed, for `alg`; `None` unless `alg`
    /// is an RSA algorithm.
    pub fn rsa(n: &[u8], e: &[u8], alg: Algorithm) -> Option<Self> {
        let trim = |b: &[u8]| {
            b.iter()
                .position(|&x| x != 0)
                .map_or_else(Vec::new, |i| b[i..].to_vec())
        };
        alg.is_rsa().then(|| Self::Rsa {
            n: trim(n),
            e: trim(e),
            alg,
        })
    }

    /// The key of a P-256 JWK's decoded `x` and `y`; `None` unless each is
    /// 32 octets (RFC 7518 §6.2.1.2–3: the full coordinate length). Whether
    /// the point is on the curve `ring` checks when it verifies.
    pub fn p256(x: &[u8], y: &[u8]) -> Option<Self> {
        Some(Self::P256(uncompressed(x, y)?))
    }

    /// The key of a P-384 JWK's decoded `x` and `y`; `None` unless each is
    /// 48 octets.
    pub fn p384(x: &[u8], y: &[u8]) -> Option<Self> {
        Some(Self::P384(uncompressed(x, y)?))
    }

    /// The key of an Ed25519 JWK's decoded `x` (RFC 8037 §2); `None`
    /// unless it is 32 octets.
    pub fn ed25519(x: &[u8]) -> Option<Self> {
        Some(Self::Ed25519(x.try_into().ok()?))
    }

    /// The one algorithm this key verifies with, fixed by the key, never
    /// by the token (RFC 8725 §3.1).
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Self::Rsa { alg, .. } => *alg,
            Self::P256(_) => Algorithm::Es256,
            Self::P384(_) => Algorithm::Es384,
            Self::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// Whether `signature` is this key's signature of `message` by its
    /// algorithm. An ECDSA signature is `R || S` (RFC 7518 §3.4), never the
    /// DER form TLS uses.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Rsa { n, e, alg } => rsa_parameters(*alg).is_some_and(|parameters| {
                RsaPublicKeyComponents { n, e }
                    .verify(parameters, message, signature)
                    .is_ok()
            }),
            Self::P256(point) => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point[..])
                .verify(message, signature)
                .is_ok(),
            Self::P384(point) => UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, &point[..])
                .verify(message, signature)
                .is_ok(),
            Self::Ed25519(key) => UnparsedPublicKey::new(&ED25519, &key[..])
                .verify(message, signature)
                .is_ok(),
        }
    }
}

/// `0x04 || x || y` (SEC 1 §2.3.3) for coordinates of `N` octets in a
/// point of `LEN = 1 + 2N`; `None` unless both are `N` octets.
fn uncompressed<const LEN: usize>(x: &[u8], y: &[u8]) -> Option<[u8; LEN]> {
    let half = (LEN - 1) / 2;
    if x.len() != half || y.len() != half {
        return None;
    }
    let mut point = [4; LEN];
    point[1..=half].copy_from_slice(x);
    point[half + 1..].copy_from_slice(y);
    Some(point)
}

/// `ring`'s parameters for an RSA algorithm: a modulus of 2048 to 8192
/// bits, PKCS #1 v1.5 or PSS padding (PSS with MGF1 of the same hash and a
/// salt of the hash's length, RFC 7518 §3.5); `None` for any other
/// algorithm, which an RSA key then verifies nothing with.
fn rsa_parameters(alg: Algorithm) -> Option<&'static RsaParameters> {
    Some(match alg {
        Algorithm::Rs256 => &RSA_PKCS1_2048_8192_SHA256,
        Algorithm::Rs384 => &RSA_PKCS1_2048_8192_SHA384,
        Algorithm::Rs512 => &RSA_PKCS1_2048_8192_SHA512,
        Algorithm::Ps256 => &RSA_PSS_2048_8192_SHA256,
        Algorithm::Ps384 => &RSA_PSS_2048_8192_SHA384,
        Algorithm::Ps512 => &RSA_PSS_2048_8192_SHA512,
        Algorithm::Es256 | Algorithm::Es384 | Algorithm::Ed25519 => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(listed: Option<&[&str]>) -> Vec<Algorithm> {
        let listed: Option<Vec<String>> =
            listed.map(|algs| algs.iter().map(|a| (*a).to_owned()).collect());
        Algorithms::accepted(listed.as_deref()).iter().collect()
    }

    /// RS256 always; any other implemented algorithm only when the
    /// issuer's metadata lists it; nothing unimplemented, whatever is
    /// listed.
    #[test]
    fn algorithms_are_accepted_only_from_an_issuer_that_lists_them() {
        use Algorithm::*;
        assert_eq!(accepted(None), [Rs256]);
        assert_eq!(accepted(Some(&[])), [Rs256]);
        assert_eq!(accepted(Some(&["RS256", "PS256"])), [Rs256, Ps256]);
        assert_eq!(accepted(Some(&["RS256", "ES256"])), [Rs256, Es256]);
        // RS256 is every client's default, listed or not.
        assert_eq!(accepted(Some(&["ES256"])), [Rs256, Es256]);
        assert_eq!(
            accepted(Some(&[
                "ES384", "RS512", "PS384", "RS384", "PS512", "Ed25519"
            ])),
            [Rs256, Rs384, Rs512, Ps384, Ps512, Es384, Ed25519]
        );
        assert_eq!(accepted(Some(&["EdDSA"])), [Rs256, Ed25519]);
        for unimplemented in ["none", "HS256", "ES512", "Ed448", "rs256", "ES256 "] {
            assert_eq!(accepted(Some(&[unimplemented])), [Rs256], "{unimplemented}");
        }
        assert_eq!(Algorithms::DEFAULT.iter().collect::<Vec<_>>(), [Rs256]);
    }

    /// Each name of RFC 7518 §3.1 and RFC 9864 maps to its own
    /// algorithm and hash; `EdDSA` to Ed25519.
    #[test]
    fn names_map_to_their_algorithms_and_hashes() {
        use Algorithm::*;
        use ring::digest::{SHA256 as Sha256, SHA384 as Sha384, SHA512 as Sha512};
        for (name, alg, hash, rsa) in [
            ("RS256", Rs256, &Sha256, true),
            ("RS384", Rs384, &Sha384, true),
            ("RS512", Rs512, &Sha512, true),
            ("PS256", Ps256, &Sha256, true),
            ("PS384", Ps384, &Sha384, true),
            ("PS512", Ps512, &Sha512, true),
            ("ES256", Es256, &Sha256, false),
            ("ES384", Es384, &Sha384, false),
            ("Ed25519", Ed25519, &Sha512, false),
            ("EdDSA", Ed25519, &Sha512, false),
        ] {
            assert_eq!(Algorithm::from_name(name), Some(alg), "{name}");
            assert_eq!((alg.hash(), alg.is_rsa()), (hash, rsa), "{name}");
        }
        assert_eq!(Algorithm::ALL.len(), 9);
        for alg in Algorithm::ALL {
            assert_eq!(Algorithms::of(&[alg]).iter().collect::<Vec<_>>(), [alg]);
        }
    }

    #[test]
    fn an_rsa_key_is_bound_to_an_rsa_algorithm_only() {
        for alg in Algorithm::ALL {
            let key = PublicKey::rsa(&[0, 0, 1, 2], &[1, 0, 1], alg);
            assert_eq!(key.is_some(), alg.is_rsa(), "{alg:?}");
            if let Some(PublicKey::Rsa { n, e, alg: bound }) = key {
                assert_eq!((n, e, bound), (vec![1, 2], vec![1, 0, 1], alg));
            }
        }
    }

    #[test]
    fn ec_and_ed25519_keys_need_full_length_coordinates() {
        assert!(PublicKey::p256(&[1; 32], &[2; 32]).is_some());
        assert!(PublicKey::p256(&[1; 31], &[2; 32]).is_none());
        assert!(PublicKey::p256(&[1; 32], &[2; 33]).is_none());
        assert!(PublicKey::p256(&[1; 48], &[2; 48]).is_none(), "P-384");
        let Some(PublicKey::P384(point)) = PublicKey::p384(&[1; 48], &[2; 48]) else {
            panic!("a P-384 point");
        };
        assert_eq!(
            (point[0], point[1], point[48], point[49], point[96]),
            (4, 1, 1, 2, 2)
        );
        assert!(PublicKey::p384(&[1; 32], &[2; 32]).is_none(), "P-256");
        assert!(PublicKey::p384(&[1; 48], &[2; 47]).is_none());
        assert!(PublicKey::ed25519(&[1; 32]).is_some());
        assert!(PublicKey::ed25519(&[1; 31]).is_none());
        assert!(PublicKey::ed25519(&[1; 57]).is_none(), "Ed448");
        for (key, alg) in [
            (PublicKey::p256(&[1; 32], &[2; 32]), Algorithm::Es256),
            (PublicKey::p384(&[1; 48], &[2; 48]), Algorithm::Es384),
            (PublicKey::ed25519(&[1; 32]), Algorithm::Ed25519),
        ] {
            assert_eq!(key.unwrap().algorithm(), alg);
        }
    }
}
