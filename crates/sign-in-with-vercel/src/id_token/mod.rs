//! ID token validation, OpenID Connect Core §3.1.3.7 (and §12.2 for the
//! ID token of a refresh).
//!
//! [`verify`] is the single place where an ID token becomes trusted claims.
//! It takes everything it depends on as input: the expected issuer and
//! audience, the nonce, the key set and the clock. `check_unsigned` runs
//! the same claim checks without the signature, for the one case §3.1.3.7
//! step 6 allows (a refresh's ID token whose keys did not load); it
//! returns no claims.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest::digest;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::error::IdTokenError;
use crate::error::jose_algorithm;
use crate::jwks::{JwkSet, KeyLookup};
use crate::jws::{Algorithm, Algorithms, PublicKey};
use crate::secret::{AccessToken, IdToken, Nonce, ct_eq};

/// Clock skew tolerated on `exp`, `nbf` and `iat` (OpenID Connect Core §3.1.3.7 step 9–10).
pub const LEEWAY_SECS: i64 = 60;
/// ID tokens longer than this are refused before any parsing.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The claims of a verified ID token: the registered ones this relying
/// party checks or keeps, and every other claim in `other`.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user's stable identifier at the provider.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// Full name (`profile` scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Username (`profile` scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Picture URL (`profile` scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    /// Email address (`email` scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Every other claim, as the provider sent it.
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// The issuer, the subject and the times; nothing personal.
impl std::fmt::Debug for IdTokenClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTokenClaims")
            .field("iss", &self.iss)
            .field("sub", &self.sub)
            .field("exp", &self.exp)
            .field("iat", &self.iat)
            .finish_non_exhaustive()
    }
}

/// What the token must match.
pub struct Expected<'a> {
    /// The issuer identifier, compared exactly.
    pub issuer: &'a str,
    /// Our client ID, which must be an audience.
    pub client_id: &'a str,
    /// The other audiences the client trusts (step 3), which a token may
    /// name beside it; none by default.
    pub trusted_audiences: &'a [String],
    /// The nonce sent in the authorization request; `None` only for the ID
    /// token of a refresh, where the original nonce is not at hand.
    pub nonce: Option<&'a Nonce>,
    /// The signed-in user, for the ID token of a refresh (§12.2).
    pub subject: Option<&'a str>,
    /// The access token that came with the ID token; checked against
    /// `at_hash` when the ID token has one (§3.1.3.8).
    pub access_token: Option<&'a AccessToken>,
    /// The current time, seconds since the epoch.
    pub now: i64,
    /// The signature algorithms accepted from this issuer (step 7):
    /// [`Algorithms::accepted`] of its metadata.
    pub algorithms: Algorithms,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// Whether the header names `crit` at all: `"crit": null` too, which
    /// is no array of names (RFC 7515 §4.1.11) and is refused alike.
    #[serde(default, deserialize_with = "present")]
    crit: bool,
    /// The media type of the whole JWS (RFC 7515 §4.1.9), any JSON value:
    /// only a string is read ([`names_another_kind`]).
    #[serde(default)]
    typ: Option<Value>,
}

/// The media types (RFC 7515 §4.1.9: `application/` left out, case
/// ignored) of JWTs of other kinds that an issuer signs, or that are
/// signed to it, with keys an ID token's could be: access tokens (RFC
/// 9068 §2.1), logout tokens (OpenID Connect Back-Channel Logout 1.0
/// §2.4), security events (RFC 8417 §2.3), introspection answers (RFC
/// 9701), DPoP proofs (RFC 9449 §4.2), request objects (RFC 9101),
/// federation entity statements (OpenID Federation 1.0), status lists and
/// key-binding JWTs of SD-JWTs.
const OTHER_KINDS: [&str; 9] = [
    "at+jwt",
    "logout+jwt",
    "secevent+jwt",
    "token-introspection+jwt",
    "dpop+jwt",
    "oauth-authz-req+jwt",
    "entity-statement+jwt",
    "statuslist+jwt",
    "kb+jwt",
];

/// Whether a header's `typ` says the token is a JWT of another kind than
/// an ID token ([`OTHER_KINDS`]; RFC 8725 §3.11's explicit typing). `JWT`,
/// an ID token's own explicit type (`id_token+jwt`, which some providers
/// send ahead of the specification), a type this list does not know, and
/// a value that is no string pass: OpenID Connect gives ID tokens no type
/// of their own.
fn names_another_kind(typ: Option<&Value>) -> bool {
    let Some(Value::String(typ)) = typ else {
        return false;
    };
    let typ = typ.trim();
    let subtype = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    };
    OTHER_KINDS
        .iter()
        .any(|kind| kind.eq_ignore_ascii_case(subtype))
}

/// `true` for a member that is there, whatever its value (`null` too,
/// which `Option` would read as absent).
fn present<'de, D: serde::Deserializer<'de>>(member: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(member).map(|_| true)
}

/// Takes claim `name` out of `claims` when it is a string; a value of
/// another type is taken out too, and dropped: a provider's odd value of a
/// claim nothing verifies (a profile claim of OpenID Connect Core §5.1, a
/// marketplace claim) leaves the rest standing.
pub(crate) fn take_string(
    claims: &mut serde_json::Map<String, Value>,
    name: &str,
) -> Option<String> {
    match claims.remove(name) {
        Some(Value::String(value)) => Some(value),
        _ => None,
    }
}

#[derive(Deserialize)]
struct RawClaims {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    aud: Option<Value>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    exp: Option<Value>,
    #[serde(default)]
    iat: Option<Value>,
    #[serde(default)]
    nbf: Option<Value>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    at_hash: Option<String>,
    #[serde(flatten)]
    other: serde_json::Map<String, Value>,
}

/// The verification keys of algorithm `alg` for the JWS header (one,
/// unless the set repeats the header's `kid`).
fn choose_keys<'a>(
    header: &Header,
    alg: Algorithm,
    keys: &'a JwkSet,
) -> Result<Vec<&'a PublicKey>, IdTokenError> {
    match keys.find(header.kid.as_deref(), alg) {
        KeyLookup::Found(keys) => Ok(keys),
        KeyLookup::Unknown => Err(IdTokenError::UnknownKey),
        KeyLookup::Ambiguous => Err(IdTokenError::AmbiguousKey),
    }
}

/// Validates `token` as OpenID Connect Core §3.1.3.7 requires and returns
/// its claims. A `kid` missing from `keys` is [`IdTokenError::UnknownKey`]
/// and a signature no key verifies [`IdTokenError::BadSignature`]: the
/// caller may refetch the key set once (a rotation, §10.1.1) and call again.
pub fn verify(
    token: &IdToken,
    keys: &JwkSet,
    expected: &Expected<'_>,
) -> Result<IdTokenClaims, IdTokenError> {
    // Step 1: ID tokens are not encrypted here; a JWE (five parts) is malformed.
    // Steps 6–8: the signature, with an accepted algorithm, by a key of
    // that algorithm the header names. We check it even though the token
    // came straight from the token endpoint over TLS, and before trusting
    // any claim.
    let parts = JwsParts::split(token)?;
    let (header, alg) = parts.header(expected.algorithms)?;
    let candidates = choose_keys(&header, alg, keys)?;
    if !candidates
        .iter()
        .any(|key| key.verifies(parts.signing_input.as_bytes(), &parts.signature))
    {
        return Err(IdTokenError::BadSignature);
    }
    check_claims(parts.claims()?, alg, expected)
}

/// A JWS in compact serialisation (RFC 7515 §7.1), split once: the signing
/// input (`header.payload`, §5.2), its two parts, and the decoded
/// signature.
struct JwsParts<'a> {
    signing_input: &'a str,
    header: &'a str,
    payload: &'a str,
    signature: Vec<u8>,
}

impl<'a> JwsParts<'a> {
    /// Exactly three parts (a JWE has five), within `MAX_TOKEN_BYTES`, the
    /// signature base64url without padding (§2).
    fn split(token: &'a IdToken) -> Result<Self, IdTokenError> {
        let raw = token.secret();
        if raw.len() > MAX_TOKEN_BYTES {
            return Err(IdTokenError::Malformed);
        }
        let (signing_input, signature) = raw.rsplit_once('.').ok_or(IdTokenError::Malformed)?;
        let (header, payload) = signing_input
            .split_once('.')
            .ok_or(IdTokenError::Malformed)?;
        if payload.contains('.') {
            return Err(IdTokenError::Malformed);
        }
        Ok(Self {
            signing_input,
            header,
            payload,
            signature: decode(signature)?,
        })
    }

    /// The JOSE header and its algorithm, refusing any algorithm not in
    /// `accepted` before a key is looked at (step 7; step 8's HMAC with
    /// the client secret is not offered), any `crit` extension (RFC 7515
    /// §4.1.11) and a `typ` of another kind of JWT ([`names_another_kind`]).
    fn header(&self, accepted: Algorithms) -> Result<(Header, Algorithm), IdTokenError> {
        let header: Header =
            serde_json::from_slice(&decode(self.header)?).map_err(|_| IdTokenError::Malformed)?;
        let Some(alg) = Algorithm::from_name(&header.alg).filter(|alg| accepted.contains(*alg))
        else {
            return Err(IdTokenError::UnsupportedAlgorithm(
                jose_algorithm(&header.alg).to_owned(),
            ));
        };
        if header.crit {
            return Err(IdTokenError::CriticalHeader);
        }
        if names_another_kind(header.typ.as_ref()) {
            return Err(IdTokenError::OtherKindOfJwt);
        }
        Ok((header, alg))
    }

    /// The payload as claims (RFC 7519 §7.2 steps 7–10).
    fn claims(&self) -> Result<RawClaims, IdTokenError> {
        serde_json::from_slice(&decode(self.payload)?).map_err(|_| IdTokenError::Malformed)
    }
}

/// One base64url part, unpadded (RFC 7515 §2).
fn decode(part: &str) -> Result<Vec<u8>, IdTokenError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| IdTokenError::Malformed)
}

/// The claim checks of [`verify`] without the signature, for an ID token
/// the token endpoint has just returned at a refresh when the key set
/// cannot be fetched: OpenID Connect Core §3.1.3.7 step 6 lets a client
/// that received the ID token directly from the token endpoint over TLS
/// rely on the TLS server validation in place of the signature. The
/// header must still name an accepted algorithm (step 7), and every claim
/// pass steps 2–5 and 9–10, the at_hash check and §12.2's subject.
/// Nothing read here is trusted: no claims are returned, and the caller
/// keeps the ones it had. Never for the callback's ID token, which must
/// verify.
pub(crate) fn check_unsigned(token: &IdToken, expected: &Expected<'_>) -> Result<(), IdTokenError> {
    let parts = JwsParts::split(token)?;
    let (_, alg) = parts.header(expected.algorithms)?;
    check_claims(parts.claims()?, alg, expected).map(drop)
}

/// Steps 2–5 and 9–11 of OpenID Connect Core §3.1.3.7, §3.1.3.8 and §12.2,
/// on claims whose signature [`verify`] has checked (or, for
/// [`check_unsigned`], that came straight from the token endpoint).
fn check_claims(
    claims: RawClaims,
    alg: Algorithm,
    expected: &Expected<'_>,
) -> Result<IdTokenClaims, IdTokenError> {
    // Step 2: the issuer must match exactly.
    if claims.iss.as_deref() != Some(expected.issuer) {
        return Err(IdTokenError::IssuerMismatch);
    }

    // Step 3: our client ID must be an audience, and any other one must
    // be one the client trusts (none unless configured): a token also
    // meant for another party is refused, whatever its `azp` says.
    let audiences = audiences(claims.aud.as_ref()).ok_or(IdTokenError::AudienceMismatch)?;
    let trusted = |aud: &str| expected.trusted_audiences.iter().any(|t| t == aud);
    if !audiences.contains(&expected.client_id)
        || !audiences
            .iter()
            .all(|aud| *aud == expected.client_id || trusted(aud))
    {
        return Err(IdTokenError::AudienceMismatch);
    }

    // Steps 4–5: `azp`, when present, must be our client ID; with another
    // audience beside ours, it must be present (step 4's SHOULD, made a
    // MUST: the token was issued to this client, not only shown to it).
    let others = audiences.iter().any(|aud| *aud != expected.client_id);
    match claims.azp.as_deref() {
        Some(azp) if azp != expected.client_id => {
            return Err(IdTokenError::AuthorizedPartyMismatch);
        }
        None if others => return Err(IdTokenError::AuthorizedPartyMismatch),
        _ => {}
    }

    // Step 9: not expired (and, RFC 7519 §4.1.5, not used before `nbf`).
    let exp = numeric_date(claims.exp.as_ref()).ok_or(IdTokenError::Expired)?;
    if expected.now >= exp.saturating_add(LEEWAY_SECS) {
        return Err(IdTokenError::Expired);
    }
    if let Some(nbf) = claims.nbf.as_ref() {
        let nbf = numeric_date(Some(nbf)).ok_or(IdTokenError::NotYetValid)?;
        if nbf > expected.now + LEEWAY_SECS {
            return Err(IdTokenError::NotYetValid);
        }
    }

    // Step 10: `iat` is required and must not be in the future.
    let iat = numeric_date(claims.iat.as_ref()).ok_or(IdTokenError::InvalidIssuedAt)?;
    if iat > expected.now + LEEWAY_SECS {
        return Err(IdTokenError::InvalidIssuedAt);
    }

    // §2: `sub` is required, at most 255 ASCII characters (printable:
    // a control character in an identifier is no one's).
    let sub = claims
        .sub
        .filter(|s| {
            !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| (b' '..=b'~').contains(&b))
        })
        .ok_or(IdTokenError::MissingSubject)?;

    // Step 11: the nonce must be the one this browser's flow sent.
    if let Some(nonce) = expected.nonce {
        let received = claims.nonce.as_deref().ok_or(IdTokenError::NonceMismatch)?;
        if !nonce.ct_eq(received) {
            return Err(IdTokenError::NonceMismatch);
        }
    }

    // §3.1.3.8: for the code flow `at_hash` is optional; when it is there,
    // it must be the left half of the access token's hash by the hash of
    // the token's algorithm, base64url-encoded (§3.2.2.9).
    if let (Some(at_hash), Some(access_token)) = (claims.at_hash.as_deref(), expected.access_token)
        && !ct_eq(at_hash, &access_token_hash(alg, access_token))
    {
        return Err(IdTokenError::AccessTokenHashMismatch);
    }

    // §12.2: a refreshed ID token must be about the same user.
    if let Some(subject) = expected.subject
        && !ct_eq(subject, &sub)
    {
        return Err(IdTokenError::SubjectChanged);
    }

    // The profile claims, strings or left out, as userinfo's are.
    let mut other = claims.other;
    Ok(IdTokenClaims {
        iss: claims.iss.unwrap_or_default(),
        sub,
        exp,
        iat,
        name: take_string(&mut other, "name"),
        preferred_username: take_string(&mut other, "preferred_username"),
        picture: take_string(&mut other, "picture"),
        email: take_string(&mut other, "email"),
        other,
    })
}

/// `at_hash` for an ID token signed with `alg` (OpenID Connect Core
/// §3.2.2.9): the left half of the access token's hash by the hash of
/// `alg`: SHA-256 for RS256, PS256 and ES256, SHA-384 for the 384s,
/// SHA-512 for the 512s and for Ed25519 (whose signatures hash with it,
/// RFC 8032 §5.1).
fn access_token_hash(alg: Algorithm, token: &AccessToken) -> String {
    let hash = digest(alg.hash(), token.secret().as_bytes());
    let hash = hash.as_ref();
    URL_SAFE_NO_PAD.encode(&hash[..hash.len() / 2])
}

fn audiences(aud: Option<&Value>) -> Option<Vec<&str>> {
    match aud? {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(items) if !items.is_empty() => items.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

/// A NumericDate (RFC 7519 §2): seconds since the epoch, possibly
/// fractional. A fraction, or an integer beyond `i64`, is read as a float
/// and rounded down; the cast saturates at `i64`'s bounds, so a date too
/// far out for `i64` compares as the furthest one, whatever its form (one
/// beyond a float's range, `1e400`, never gets here: the JSON parser
/// refuses the whole token).
pub(crate) fn numeric_date(value: Option<&Value>) -> Option<i64> {
    let n = value?.as_number()?;
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.is_finite())
            .map(|f| f.floor() as i64)
    })
}

/// Each check of [`verify`], one test per reason, against tokens signed
/// here with fixed test keys through `ring` (the behaviour through the
/// routes is in the app's `tests/id_token.rs`). Its keys and signer serve
/// the provider's tests too.
#[cfg(test)]
pub(crate) mod tests;
