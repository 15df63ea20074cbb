//! The provider's signing keys: a JWK Set (RFC 7517 §5), fetched from
//! `jwks_uri`, cached per instance with a TTL, and refetched once when a
//! token names a key we do not have, or carries a signature the cached key
//! refuses (key rotation, OpenID Connect Core §10.1.1).
//!
//! Only signature keys for the algorithms of [`crate::jws`] are kept, each
//! bound to one algorithm: RSA keys, P-256 and P-384 keys, and Ed25519
//! keys (RFC 8037 §2).

use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::error::{Endpoint, Error};
use crate::jws::{Algorithm, PublicKey};
use crate::transport::{HttpRequest, HttpResponse, Unbuildable, get_json};

/// How long a fetched key set is trusted before it is fetched again.
pub const JWKS_TTL_SECS: i64 = 10 * 60;
/// RSA keys shorter than this are ignored (RFC 7518 §3.3).
const MIN_RSA_BITS: usize = 2048;
/// RSA keys longer than this are ignored: `ring` verifies none (and a
/// hostile set could otherwise fill [`MAX_KEYS`] with them).
const MAX_RSA_BITS: usize = 8192;
/// The largest public exponent `ring` accepts, in bits.
const MAX_EXPONENT_BITS: usize = 33;
/// Usable keys of one algorithm kept from one set; any beyond are ignored
/// (counted per algorithm after the unusable ones are left out, so a
/// signing key listed after many encryption keys, keys of other curves or
/// keys of other algorithms is still found).
const MAX_KEYS: usize = 32;

/// One usable verification key.
pub struct Jwk {
    kid: Option<String>,
    key: PublicKey,
}

/// The signature keys of a JWK Set for the algorithms of [`crate::jws`];
/// other keys (encryption keys, other algorithms and curves, short RSA
/// keys) are left out when parsing.
#[derive(Default)]
pub struct JwkSet {
    keys: Vec<Jwk>,
}

/// The outcome of looking up the key for a token's `kid` and `alg`.
pub enum KeyLookup<'a> {
    /// The keys to verify with, in the set's order: the one key of the
    /// algorithm the `kid` names, or each key under a `kid` the set repeats
    /// (distinct `kid`s are a SHOULD, RFC 7517 §4.5, and a rotation gone
    /// wrong repeats one).
    Found(Vec<&'a PublicKey>),
    /// No key of the algorithm has this `kid` (or the set has none).
    Unknown,
    /// The token has no `kid` and the set has several keys of its
    /// algorithm. Refused rather than tried one by one.
    Ambiguous,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawKey {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    key_ops: Option<Vec<String>>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

impl JwkSet {
    /// The `GET` of `jwks_uri`.
    pub fn request(jwks_uri: &str) -> Result<HttpRequest, Unbuildable> {
        get_json(jwks_uri, None)
    }

    /// Parses a JWK Set response, keeping only keys usable for signatures:
    /// `use` absent or `sig`, `key_ops` absent or with `verify`, and
    /// - `kty` RSA with a modulus of 2048 to 8192 bits, for its `alg` when
    ///   that is an RSA algorithm, or RS256 when it has none;
    /// - `kty` EC with `crv` P-256 (ES256) or P-384 (ES384), `alg` absent or
    ///   the curve's, and full-length coordinates;
    /// - `kty` OKP with `crv` Ed25519, `alg` absent, `Ed25519` or `EdDSA`,
    ///   and a 32-octet `x` (RFC 8037 §2).
    pub fn from_response(response: &HttpResponse) -> Result<Self, Error> {
        if !response.status().is_success() {
            return Err(Endpoint::Jwks.failed(response.status()));
        }
        let raw: RawSet = serde_json::from_slice(response.body())
            .map_err(|_| Endpoint::Jwks.malformed("not a JWK Set"))?;
        let mut kept = [0usize; Algorithm::ALL.len()];
        let keys = raw
            .keys
            .into_iter()
            .filter_map(|value| serde_json::from_value::<RawKey>(value).ok())
            .filter_map(usable_key)
            .filter(|jwk| {
                let count = &mut kept[jwk.key.algorithm() as usize];
                *count += 1;
                *count <= MAX_KEYS
            })
            .collect();
        Ok(Self { keys })
    }

    /// Builds a set from a JWK Set document (tests).
    #[cfg(test)]
    pub fn from_json(json: &str) -> Option<Self> {
        Self::from_response(&crate::transport::tests::response(200, json)).ok()
    }

    /// The keys of algorithm `alg` for a token header's `kid`: a key of
    /// another type is never used, whatever its `kid`. With no `kid`, the
    /// set must hold exactly one key of `alg`.
    pub fn find(&self, kid: Option<&str>, alg: Algorithm) -> KeyLookup<'_> {
        let mut of_alg = self.keys.iter().filter(|k| k.key.algorithm() == alg);
        match kid {
            Some(kid) => {
                let named: Vec<&PublicKey> = of_alg
                    .filter(|k| k.kid.as_deref() == Some(kid))
                    .map(|k| &k.key)
                    .collect();
                if named.is_empty() {
                    KeyLookup::Unknown
                } else {
                    KeyLookup::Found(named)
                }
            }
            None => match (of_alg.next(), of_alg.next()) {
                (None, _) => KeyLookup::Unknown,
                (Some(only), None) => KeyLookup::Found(vec![&only.key]),
                (Some(_), Some(_)) => KeyLookup::Ambiguous,
            },
        }
    }

    /// Whether the set holds no usable key (tests).
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn usable_key(raw: RawKey) -> Option<Jwk> {
    // RFC 7517 §4.4: a JWK's `alg` is the one algorithm it is used with;
    // an unknown one makes the key unusable here.
    let named = match raw.alg.as_deref() {
        Some(alg) => Some(Algorithm::from_name(alg)?),
        None => None,
    };
    if raw.use_.as_deref().is_some_and(|u| u != "sig")
        || raw
            .key_ops
            .as_ref()
            .is_some_and(|ops| !ops.iter().any(|op| op == "verify"))
    {
        return None;
    }
    // RFC 7518 §6.2.1 and §6.3.1, RFC 8037 §2: base64url, unpadded (a
    // padded one is read too).
    let decode = |v: &str| URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')).ok();
    let key = match (raw.kty.as_str(), raw.crv.as_deref()) {
        ("RSA", _) => rsa_key(
            &decode(raw.n.as_deref()?)?,
            &decode(raw.e.as_deref()?)?,
            named.unwrap_or(Algorithm::Rs256),
        )?,
        ("EC", Some("P-256")) => {
            PublicKey::p256(&decode(raw.x.as_deref()?)?, &decode(raw.y.as_deref()?)?)?
        }
        ("EC", Some("P-384")) => {
            PublicKey::p384(&decode(raw.x.as_deref()?)?, &decode(raw.y.as_deref()?)?)?
        }
        ("OKP", Some("Ed25519")) => PublicKey::ed25519(&decode(raw.x.as_deref()?)?)?,
        _ => return None,
    };
    // The curve fixes an EC or OKP key's algorithm; a JWK that names
    // another is not used at all.
    if named.is_some_and(|alg| alg != key.algorithm()) {
        return None;
    }
    Some(Jwk { kid: raw.kid, key })
}

/// An RSA key for `alg`, if `ring` verifies with it: a modulus of 2048 to
/// 8192 bits, an odd exponent of at least 3 and at most 33 bits.
fn rsa_key(modulus: &[u8], exponent: &[u8], alg: Algorithm) -> Option<PublicKey> {
    let exponent_ok = exponent.last().is_some_and(|b| b & 1 == 1)
        && (2..=MAX_EXPONENT_BITS).contains(&bit_length(exponent));
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bit_length(modulus)) || !exponent_ok {
        return None;
    }
    PublicKey::rsa(modulus, exponent, alg)
}

/// The bit length of a big-endian unsigned integer.
fn bit_length(bytes: &[u8]) -> usize {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    let significant = &bytes[zeros..];
    significant.first().map_or(0, |first| {
        (significant.len() - 1) * 8 + (8 - first.leading_zeros() as usize)
    })
}

/// A per-instance cache of the provider's key set.
#[derive(Default)]
pub struct JwksCache {
    cached: RwLock<Option<(Arc<JwkSet>, i64)>>,
    /// How many sets were stored: a call that waited for another's fetch
    /// sees whether one came meanwhile.
    stored: std::sync::atomic::AtomicU64,
}

impl JwksCache {
    /// How many sets have been stored so far.
    pub fn stored(&self) -> u64 {
        self.stored.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The cached set, if it is younger than [`JWKS_TTL_SECS`].
    pub fn get(&self, now: i64) -> Option<Arc<JwkSet>> {
        let cached = self.cached.read().ok().and_then(|c| c.clone())?;
        let (set, fetched_at) = cached;
        (now - fetched_at < JWKS_TTL_SECS && now >= fetched_at).then_some(set)
    }

    /// The set stored last, whatever its age: what a call that waited for
    /// another's fetch takes (its own clock may read a second before the
    /// fetch's, which [`JwksCache::get`] would call the future).
    pub fn latest(&self) -> Option<Arc<JwkSet>> {
        let cached = self.cached.read().ok().and_then(|c| c.clone())?;
        Some(cached.0)
    }

    /// Keeps `set`, fetched at `now`.
    pub fn store(&self, set: Arc<JwkSet>, now: i64) {
        if let Ok(mut slot) = self.cached.write() {
            *slot = Some((set, now));
            self.stored
                .fetch_add(1, std::sync::atomic::Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fetched key set is used for ten minutes from its fetch and not a
    /// second longer, nor by a clock that has gone back past the fetch.
    #[test]
    fn a_cached_key_set_lasts_ten_minutes_from_its_fetch() {
        let fetched = 1_800_000_000;
        let cache = JwksCache::default();
        assert!(cache.get(fetched).is_none(), "nothing stored yet");
        cache.store(Arc::new(JwkSet::default()), fetched);
        for (now, cached) in [
            (fetched, true),
            (fetched + 599, true),
            (fetched + 600, false),
            (fetched + 86_400, false),
            (fetched - 1, false),
        ] {
            assert_eq!(cache.get(now).is_some(), cached, "{}", now - fetched);
        }
    }

    /// The key set is fetched from the issuer's `jwks_uri` (OpenID Connect
    /// Discovery §3), by `GET`.
    #[test]
    fn the_key_set_is_requested_from_jwks_uri() {
        let request = JwkSet::request("https://op.example/jwks").unwrap();
        assert_eq!(request.method(), http::Method::GET);
        assert_eq!(request.uri(), "https://op.example/jwks");
    }
}
