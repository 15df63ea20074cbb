//! Why an ID token was refused (OpenID Connect Core §3.1.3.7).

use std::fmt;

/// Why an ID token was refused. Each variant is one numbered check; none
/// holds token content beyond an algorithm name.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdTokenError {
    /// The token response of the sign-in carries no ID token: the provider
    /// did not grant `openid` (Vercel leaves out the scopes an app's
    /// settings do not enable), which is the app's configuration.
    Missing,
    /// Not a three-part JWS with a JSON header and payload (encrypted ID
    /// tokens are not used with this provider).
    Malformed,
    /// `alg` is not RS256, nor another implemented algorithm (RS384,
    /// RS512, PS256, PS384, PS512, ES256, ES384, Ed25519) from an issuer
    /// whose metadata lists it: `none`, HMAC and anything unexpected are
    /// refused. The name is kept only if it is a registered JOSE
    /// algorithm's (else `"unregistered"`): the header is the provider's
    /// to write, and may echo a value of ours.
    UnsupportedAlgorithm(String),
    /// The header carries `crit` extensions we do not understand (RFC 7515 §4.1.11).
    CriticalHeader,
    /// The header's `typ` names another kind of JWT (explicit typing, RFC
    /// 8725 §3.11): an access token's `at+jwt` (RFC 9068 §2.1), a logout
    /// token's `logout+jwt` (OpenID Connect Back-Channel Logout §2.4), a
    /// security event's, a DPoP proof's… ID tokens carry `JWT`, none, or
    /// (some providers) `id_token+jwt`.
    OtherKindOfJwt,
    /// No key of the token's algorithm in the provider's JWK Set has the
    /// token's `kid`, even after a refetch.
    UnknownKey,
    /// No `kid`, and the key set has more than one key of its algorithm.
    AmbiguousKey,
    /// The signature does not verify.
    BadSignature,
    /// `iss` is not exactly the issuer (step 2).
    IssuerMismatch,
    /// `aud` is missing, does not contain our client ID, or also names
    /// another audience, which this client does not trust (step 3).
    AudienceMismatch,
    /// An `azp` that is not our client ID (steps 4–5).
    AuthorizedPartyMismatch,
    /// `exp` missing or in the past (step 9).
    Expired,
    /// `nbf` in the future.
    NotYetValid,
    /// `iat` missing or in the future (step 10).
    InvalidIssuedAt,
    /// `sub` missing or not a valid subject identifier (§2).
    MissingSubject,
    /// `nonce` missing or not the one we sent (step 11).
    NonceMismatch,
    /// A refreshed ID token names another user (§12.2).
    SubjectChanged,
    /// `at_hash` is present and is not the hash of the access token issued
    /// with the ID token (§3.1.3.8, §3.2.2.9).
    AccessTokenHashMismatch,
    /// A claim the issuer documents as always present is missing, or not a
    /// string (a marketplace token's `account_id`, `user_role`, …).
    MissingClaim(&'static str),
    /// The token's `type` says it is not an ID token (a marketplace access
    /// token offered as one).
    NotAnIdToken,
}

impl fmt::Display for IdTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => f.write_str("malformed"),
            Self::UnsupportedAlgorithm(alg) => {
                write!(f, "algorithm {:?} not allowed", jose_algorithm(alg))
            }
            Self::CriticalHeader => f.write_str("unsupported crit header"),
            Self::OtherKindOfJwt => f.write_str("typ names another kind of JWT"),
            Self::UnknownKey => f.write_str("no key of its algorithm under its kid"),
            Self::AmbiguousKey => f.write_str("no kid and several keys"),
            Self::Missing => f.write_str(
                "the token response has none: the openid scope was not granted (enable it in the app's settings)",
            ),
            Self::BadSignature => f.write_str("bad signature"),
            Self::IssuerMismatch => f.write_str("iss mismatch"),
            Self::AudienceMismatch => f.write_str("aud mismatch"),
            Self::AuthorizedPartyMismatch => f.write_str("azp is not our client ID"),
            Self::Expired => f.write_str("expired or no exp"),
            Self::NotYetValid => f.write_str("nbf in the future"),
            Self::InvalidIssuedAt => f.write_str("iat missing or in the future"),
            Self::MissingSubject => f.write_str("sub missing"),
            Self::NonceMismatch => f.write_str("nonce mismatch"),
            Self::SubjectChanged => f.write_str("sub differs from the session's"),
            Self::AccessTokenHashMismatch => f.write_str("at_hash mismatch"),
            Self::MissingClaim(name) => write!(f, "claim {name} missing"),
            Self::NotAnIdToken => f.write_str("type is not id_token"),
        }
    }
}

impl std::error::Error for IdTokenError {}

/// `alg` if it names a JOSE signature or MAC algorithm (RFC 7518 §3.1,
/// RFC 8037 §3.1, RFC 8812 §3.2, RFC 9864 §2), else `"unregistered"`: what
/// an error may say of a token's `alg`, which the provider writes (a name
/// made of a value of ours, echoed, is not repeated).
pub(crate) fn jose_algorithm(alg: &str) -> &str {
    const REGISTERED: &[&str] = &[
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256",
        "PS384", "PS512", "none", "EdDSA", "Ed25519", "Ed448", "ES256K",
    ];
    REGISTERED
        .iter()
        .find(|name| **name == alg)
        .copied()
        .unwrap_or("unregistered")
}
