//! ID tokens: signed seeds, the keys that verify them.

use super::*;

const ISSUER: &str = "https://op.example";
pub(super) const CLIENT: &str = "cl";
pub(super) const NOW: i64 = crate::id_token::tests::NOW;
const ACCESS: &str = "vca_example";
const KID_A: &str = "test-a";
const KID_ED: &str = "hostile-ed25519";

/// Test key A (RS256), as the ID-token tests sign with it.
fn key_a() -> &'static ring::signature::RsaKeyPair {
    static PAIR: OnceLock<ring::signature::RsaKeyPair> = OnceLock::new();
    PAIR.get_or_init(|| key_pair(include_str!("../id_token/testdata/key_a.pem")))
}

/// An Ed25519 key from a fixed seed: its signatures are the same on
/// every run, as RS256's are.
fn key_ed() -> &'static ring::signature::Ed25519KeyPair {
    static PAIR: OnceLock<ring::signature::Ed25519KeyPair> = OnceLock::new();
    PAIR.get_or_init(|| {
        ring::signature::Ed25519KeyPair::from_seed_unchecked(&[0x2a; 32]).expect("Ed25519")
    })
}

pub(super) fn ed_jwk() -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": KID_ED,
           "x": b64(key_ed().public_key())})
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Signer {
    /// RS256 by key A.
    KeyA,
    /// Ed25519 by the fixed key.
    Ed,
}

impl Signer {
    pub(super) fn header(self, kid: bool) -> Value {
        let (alg, id) = match self {
            Self::KeyA => ("RS256", KID_A),
            Self::Ed => ("EdDSA", KID_ED),
        };
        let mut header = json!({"alg": alg, "typ": "JWT"});
        if kid {
            header["kid"] = json!(id);
        }
        header
    }

    /// The compact JWS of `header` and `payload`, as they are.
    pub(super) fn sign(self, header: &[u8], payload: &[u8]) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let signature = match self {
            Self::KeyA => rs256(key_a(), input.as_bytes()),
            Self::Ed => key_ed().sign(input.as_bytes()).as_ref().to_vec(),
        };
        format!("{input}.{}", b64(signature))
    }
}

/// `at_hash` of `access` for a token whose header names `alg`.
pub(super) fn at_hash(alg: &str, access: &str) -> Option<String> {
    let alg = Algorithm::from_name(alg)?;
    let hash = ring::digest::digest(alg.hash(), access.as_bytes());
    Some(b64(&hash.as_ref()[..hash.as_ref().len() / 2]))
}

fn token_claims(sub: &str, signer: Signer) -> Value {
    let alg = if signer == Signer::KeyA {
        "RS256"
    } else {
        "EdDSA"
    };
    json!({"iss": ISSUER, "sub": sub, "aud": CLIENT, "azp": CLIENT, "exp": NOW + 600,
           "iat": NOW - 5, "nbf": NOW - 5, "nonce": "n1", "at_hash": at_hash(alg, ACCESS),
           "name": "Ada Lovelace", "preferred_username": "ada", "email": "ada@example.com",
           "picture": "https://example.com/a.png", "groups": ["eng", "ops"], "ver": 2})
}

/// What an ID token of [`ISSUER`] for [`CLIENT`] must match at [`NOW`].
pub(super) struct Expectation {
    pub(super) nonce: Nonce,
    access: AccessToken,
}

impl Expectation {
    pub(super) fn new() -> Self {
        Self {
            nonce: Nonce::new("n1"),
            access: AccessToken::new(ACCESS),
        }
    }

    /// A sign-in's: nonce `n1`, the access token [`ACCESS`].
    pub(super) fn sign_in(&self) -> Expected<'_> {
        Expected {
            issuer: ISSUER,
            client_id: CLIENT,
            trusted_audiences: &[],
            nonce: Some(&self.nonce),
            subject: None,
            access_token: Some(&self.access),
            now: NOW,
            algorithms: Algorithms::of(&[Algorithm::Rs256, Algorithm::Ed25519]),
        }
    }

    /// A refresh's, of user `subject`.
    pub(super) fn refresh<'a>(&'a self, subject: &'a str) -> Expected<'a> {
        Expected {
            nonce: None,
            subject: Some(subject),
            ..self.sign_in()
        }
    }
}

/// A signed seed token and what it verifies to.
pub(super) struct TokenSeed {
    signer: Signer,
    pub(super) token: String,
    pub(super) header: Value,
    claims_json: Value,
    pub(super) claims: IdTokenClaims,
}

impl TokenSeed {
    pub(super) fn signature(&self) -> &str {
        self.token.rsplit('.').next().unwrap_or_default()
    }
}

/// Key A's JWK and the Ed25519 one, as a key set.
pub(super) fn token_keys() -> JwkSet {
    let document = json!({"keys": [jwk(), ed_jwk()]}).to_string();
    JwkSet::from_response(&response(200, &document)).expect("the seed key set")
}

/// RS256 with a `kid`, Ed25519 with one and without: three users.
pub(super) fn token_seeds(keys: &JwkSet, expect: &Expectation) -> Vec<TokenSeed> {
    [
        (Signer::KeyA, true, "u1"),
        (Signer::Ed, true, "u2"),
        (Signer::Ed, false, "u3"),
    ]
    .into_iter()
    .map(|(signer, kid, sub)| {
        let header = signer.header(kid);
        let claims_json = token_claims(sub, signer);
        let token = signer.sign(
            &serde_json::to_vec(&header).unwrap(),
            &serde_json::to_vec(&claims_json).unwrap(),
        );
        let claims = verify(&IdToken::new(token.clone()), keys, &expect.sign_in())
            .expect("a seed token verifies");
        TokenSeed {
            signer,
            token,
            header,
            claims_json,
            claims,
        }
    })
    .collect()
}

/// Accepted by [`verify`] only as one of the seeds: the signature of the
/// seed it carries, and that seed's claims exactly.
fn token_refused_or_unchanged(
    bytes: &[u8],
    keys: &JwkSet,
    expect: &Expectation,
    seeds: &[TokenSeed],
) -> Outcome {
    let token = IdToken::new(lossy(bytes));
    // Claims without the signature, as a refresh whose keys did not load:
    // it must not panic either.
    let _ = check_unsigned(&token, &expect.sign_in());
    let claims = match verify(&token, keys, &expect.sign_in()) {
        Err(_) => return Ok(Verdict::Refused),
        Ok(claims) => claims,
    };
    let signature = token.secret().rsplit('.').next().unwrap_or_default();
    match seeds.iter().find(|seed| seed.signature() == signature) {
        Some(seed) if seed.claims == claims => Ok(Verdict::Accepted),
        Some(seed) => Err(format!(
            "accepted with claims {claims:?}, not the {:?} its signature was made for",
            seed.claims
        )),
        None => Err(format!(
            "accepted under a signature no seed has, claims {claims:?}"
        )),
    }
}

/// Whole tokens mutated (with every truncation of each), and their
/// header or payload changed as JSON under the original signature:
/// refused, or verified to exactly the claims they were signed with.
#[test]
fn a_mutated_id_token_is_refused_or_unchanged() {
    let (keys, expect) = (token_keys(), Expectation::new());
    let seeds = token_seeds(&keys, &expect);
    let mut fuzz = Fuzz::new("id_token::verify");
    let property = |bytes: &[u8]| token_refused_or_unchanged(bytes, &keys, &expect, &seeds);
    for seed in &seeds {
        for len in 0..=seed.token.len() {
            fuzz.check(&seed.token.as_bytes()[..len], property);
        }
    }
    for _ in 0..scaled(1500) {
        let (i, j) = (fuzz.below(seeds.len()), fuzz.below(seeds.len()));
        let input = fuzz.mutate_bytes(seeds[i].token.as_bytes(), seeds[j].token.as_bytes());
        fuzz.check(&input, property);
    }
    for _ in 0..scaled(500) {
        let seed = &seeds[fuzz.below(seeds.len())];
        let (header, payload) = if fuzz.one_in(3) {
            let payload = serde_json::to_vec(&seed.claims_json).unwrap();
            (fuzz.mutate_json(&seed.header), payload)
        } else {
            let header = serde_json::to_vec(&seed.header).unwrap();
            (header, fuzz.mutate_json(&seed.claims_json))
        };
        let input = format!("{}.{}.{}", b64(header), b64(payload), seed.signature());
        fuzz.check(input.as_bytes(), property);
    }
    fuzz.finish();
}

/// A signature changed in any way (its bytes, or its base64url text), or
/// another token's signature, is refused, whatever it signs.
#[test]
fn a_mutated_id_token_signature_is_always_refused() {
    let (keys, expect) = (token_keys(), Expectation::new());
    let seeds = token_seeds(&keys, &expect);
    let mut fuzz = Fuzz::new("id_token::verify signature");
    let refused = |bytes: &[u8]| match verify(&IdToken::new(lossy(bytes)), &keys, &expect.sign_in())
    {
        Ok(claims) => Err(format!(
            "a changed signature was accepted, claims {claims:?}"
        )),
        Err(_) => Ok(Verdict::Refused),
    };
    for (i, seed) in seeds.iter().enumerate() {
        let (signing_input, _) = seed.token.rsplit_once('.').unwrap();
        for (j, other) in seeds.iter().enumerate() {
            if i != j {
                let swapped = format!("{signing_input}.{}", other.signature());
                fuzz.check(swapped.as_bytes(), refused);
            }
        }
    }
    for _ in 0..scaled(1200) {
        let (i, j) = (fuzz.below(seeds.len()), fuzz.below(seeds.len()));
        let (signing_input, signature) = seeds[i].token.rsplit_once('.').unwrap();
        let other = seeds[j].signature();
        let mutated = if fuzz.one_in(2) {
            let raw = URL_SAFE_NO_PAD.decode(signature).unwrap();
            let other = URL_SAFE_NO_PAD.decode(other).unwrap();
            b64(fuzz.mutate_bytes(&raw, &other))
        } else {
            lossy(&fuzz.mutate_bytes(signature.as_bytes(), other.as_bytes()))
        };
        if mutated != signature {
            fuzz.check(format!("{signing_input}.{mutated}").as_bytes(), refused);
        }
    }
    fuzz.finish();
}

/// Tokens whose header or claims are hostile but correctly signed by a
/// published key, so that every claim check runs: nothing panics, and a
/// token is accepted only with this issuer, audience, nonce, `at_hash`,
/// times and subject, and with claims that say what its payload says.
#[test]
fn a_validly_signed_hostile_id_token_is_accepted_only_when_its_claims_match() {
    let (keys, expect) = (token_keys(), Expectation::new());
    let seeds = token_seeds(&keys, &expect);
    let mut fuzz = Fuzz::new("id_token::verify signed claims");
    let property = |bytes: &[u8]| signed_token_property(bytes, &keys, &expect);
    // Unoptimised, ring's Ed25519 is slower than its RSA (assembly).
    let (rsa, ed) = (scaled(650), scaled(300));
    for n in 0..rsa + ed {
        let signer = if n < rsa { Signer::KeyA } else { Signer::Ed };
        let candidates: Vec<&TokenSeed> = seeds.iter().filter(|s| s.signer == signer).collect();
        let seed = candidates[fuzz.below(candidates.len())];
        let header = if fuzz.one_in(4) {
            fuzz.mutate_json(&seed.header)
        } else {
            serde_json::to_vec(&seed.header).unwrap()
        };
        let payload = if fuzz.one_in(8) {
            serde_json::to_vec(&seed.claims_json).unwrap()
        } else {
            fuzz.mutate_json(&seed.claims_json)
        };
        fuzz.check(signer.sign(&header, &payload).as_bytes(), property);
    }
    fuzz.finish();
}

fn signed_token_property(bytes: &[u8], keys: &JwkSet, expect: &Expectation) -> Outcome {
    let token = IdToken::new(lossy(bytes));
    let unsigned = check_unsigned(&token, &expect.sign_in());
    if let Ok(claims) = verify(&token, keys, &expect.refresh("u1")) {
        if claims.sub != "u1" {
            return Err(format!("a refresh of u1 accepted {claims:?}"));
        }
        claims_match(&token, &claims, false)?;
    }
    match verify(&token, keys, &expect.sign_in()) {
        Err(_) => Ok(Verdict::Refused),
        Ok(claims) => {
            if let Err(e) = unsigned {
                return Err(format!("verified, but the unsigned check says {e:?}"));
            }
            claims_match(&token, &claims, true)?;
            Ok(Verdict::Accepted)
        }
    }
}

/// What an accepted token's JOSE header and payload, read again as
/// plain JSON, must say; `sign_in`: also the nonce and `at_hash`.
fn claims_match(token: &IdToken, claims: &IdTokenClaims, sign_in: bool) -> Result<(), String> {
    /// The header members checked; the others are skipped, as the
    /// verifier skips them (whatever they hold, `1e400` included).
    #[derive(serde::Deserialize)]
    struct Header {
        alg: Value,
        /// Present at all (`null` too).
        #[serde(default, deserialize_with = "some")]
        crit: Option<Value>,
    }
    fn some<'de, D: serde::Deserializer<'de>>(member: D) -> Result<Option<Value>, D::Error> {
        serde::Deserialize::deserialize(member).map(Some)
    }
    fn part<T: serde::de::DeserializeOwned>(token: &IdToken, n: usize) -> Result<T, String> {
        let text = token.secret().split('.').nth(n).unwrap_or_default();
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes).map_err(|e| format!("accepted, but not JSON: {e}"))
    }
    let (header, payload): (Header, Value) = (part(token, 0)?, part(token, 1)?);
    let number = |key: &str| payload.get(key).and_then(Value::as_f64);
    let absent = |key: &str| payload.get(key).is_none_or(Value::is_null);
    let alg = header.alg.as_str().unwrap_or_default();
    let problems = [
        (
            !matches!(alg, "RS256" | "EdDSA" | "Ed25519"),
            "an algorithm not accepted",
        ),
        (header.crit.is_some(), "a crit header"),
        (
            claims.iss != ISSUER || payload["iss"] != ISSUER,
            "another issuer",
        ),
        (
            match &payload["aud"] {
                Value::String(aud) => aud != CLIENT,
                Value::Array(auds) => auds.is_empty() || auds.iter().any(|a| a != CLIENT),
                _ => true,
            },
            "another audience",
        ),
        (!absent("azp") && payload["azp"] != CLIENT, "another azp"),
        (
            number("exp").is_none() || claims.exp.saturating_add(60) <= NOW,
            "an expired token",
        ),
        (
            number("iat").is_none() || claims.iat > NOW + 60,
            "an iat in the future",
        ),
        (
            !absent("nbf") && number("nbf").is_none_or(|nbf| nbf.floor() > (NOW + 60) as f64),
            "a token not yet valid",
        ),
        (
            claims.sub.is_empty()
                || claims.sub.len() > 255
                || !claims.sub.bytes().all(|b| (b' '..=b'~').contains(&b)),
            "a subject that is not 1-255 printable ASCII characters",
        ),
        (
            payload["sub"] != claims.sub.as_str(),
            "a subject that is not the payload's",
        ),
        (sign_in && payload["nonce"] != "n1", "another nonce"),
        (
            sign_in
                && payload["at_hash"]
                    .as_str()
                    .is_some_and(|h| Some(h.to_owned()) != at_hash(alg, ACCESS)),
            "another at_hash",
        ),
        (
            claims.name.as_deref() != payload["name"].as_str()
                || claims.email.as_deref() != payload["email"].as_str(),
            "a name or email that is not the payload's",
        ),
    ];
    match problems.iter().find(|(broken, _)| *broken) {
        Some((_, what)) => Err(format!("accepted {what}: {claims:?}")),
        None => Ok(()),
    }
}
