//! Key sets.

use super::*;

/// The generator of P-256 and of P-384: valid points, the same every run.
const P256_X: &str = "6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296";
const P256_Y: &str = "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5";
const P384_X: &str = "AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7";
const P384_Y: &str = "3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F";

pub(super) fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn key_set_document() -> Value {
    let mut ps256 = jwk();
    ps256["alg"] = json!("PS256");
    ps256["kid"] = json!("test-a-pss");
    let mut enc = jwk();
    enc["use"] = json!("enc");
    let mut ops = jwk();
    ops["key_ops"] = json!(["verify"]);
    ops["kid"] = json!("ops");
    json!({"keys": [
        jwk(),
        ed_jwk(),
        {"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": "p256",
         "x": b64(hex(P256_X)), "y": b64(hex(P256_Y))},
        {"kty": "EC", "crv": "P-384", "kid": "p384", "x": b64(hex(P384_X)), "y": b64(hex(P384_Y))},
        ps256, enc, ops, "junk", {"kty": "oct", "k": "c2VjcmV0"},
    ]})
}

/// Tokens no published key signed: by key B under key A's `kid` and
/// under a `kid` of its own, HS256 keyed with key A's public key, `none`,
/// key A's signature corrupted, and Ed25519 by another key under the
/// published Ed25519 key's `kid`.
fn forged_tokens() -> Vec<IdToken> {
    use crate::id_token::tests::{Signing, claims, sign};
    let mut forged: Vec<IdToken> = [
        Signing::ForeignKey,
        Signing::UnpublishedKid,
        Signing::Hs256WithPublicKey,
        Signing::None,
        Signing::CorruptSignature,
    ]
    .map(|signing| IdToken::new(sign(&claims(), signing)))
    .into();
    let other = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[0x17; 32]).unwrap();
    let header = serde_json::to_vec(&Signer::Ed.header(true)).unwrap();
    let payload = serde_json::to_vec(&claims()).unwrap();
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = b64(other.sign(input.as_bytes()));
    forged.push(IdToken::new(format!("{input}.{signature}")));
    forged
}

/// Key set documents mutated (every truncation, bytes, JSON): parsing
/// never panics, and whatever set comes of it, a seed token verifies to
/// its own claims or is refused, and no forged token verifies.
#[test]
fn a_mutated_key_set_never_panics_or_verifies_a_forged_token() {
    let (keys, expect) = (token_keys(), Expectation::new());
    let seeds = token_seeds(&keys, &expect);
    let forged = forged_tokens();
    for token in &forged {
        assert!(verify(token, &keys, &expect.sign_in()).is_err(), "forged");
    }
    let document = key_set_document();
    let text = document.to_string();
    assert!(
        JwkSet::from_response(&response(200, &text)).is_ok(),
        "the seed key set parses"
    );
    let mut fuzz = Fuzz::new("jwks::JwkSet::from_response");
    let check = |status: u16| {
        let (seeds, expect, forged) = (&seeds, &expect, &forged);
        move |bytes: &[u8]| -> Outcome {
            let Some(response) = answer(status, bytes, &[]) else {
                return Ok(Verdict::Unsendable);
            };
            let Ok(set) = JwkSet::from_response(&response) else {
                return Ok(Verdict::Refused);
            };
            for seed in seeds {
                match verify(&IdToken::new(seed.token.clone()), &set, &expect.sign_in()) {
                    Ok(claims) if claims != seed.claims => {
                        return Err(format!("a seed token now verifies to {claims:?}"));
                    }
                    _ => {}
                }
            }
            if let Some(n) = forged
                .iter()
                .position(|token| verify(token, &set, &expect.sign_in()).is_ok())
            {
                return Err(format!("forged token {n} verifies"));
            }
            Ok(Verdict::Accepted)
        }
    };
    for len in 0..=text.len() {
        fuzz.check(&text.as_bytes()[..len], check(200));
    }
    for _ in 0..scaled(1500) {
        let status = [200, 200, 200, 200, 203, 404, 500][fuzz.below(7)];
        let input = if fuzz.one_in(2) {
            fuzz.mutate_json(&document)
        } else {
            fuzz.mutate_bytes(
                text.as_bytes(),
                br#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#,
            )
        };
        fuzz.check(&input, check(status));
    }
    fuzz.finish();
}
