//! ID token validation (OpenID Connect Core §3.1.3.7) through the callback:
//! each way a provider can get the ID token wrong is refused, and the ones
//! the spec allows are accepted.

mod support;

use std::sync::Arc;

use serde_json::{Map, Value, json};
use sign_in_with_vercel::dev::emulator::Signing;
use support::*;

fn edit(rp: &Rp, f: impl Fn(&mut Map<String, Value>) + Send + Sync + 'static) {
    rp.emulator.faults().id_token_claims = Some(Arc::new(f));
}

async fn refused(rp: &mut Rp) {
    let done = rp.sign_in().await;
    assert_eq!(location(&done), "/auth/error?error=invalid_token");
    assert_eq!(
        rp.jar.get("access_token"),
        None,
        "no session after a refused ID token"
    );
    assert_eq!(rp.jar.get("session_sub"), None);
}

async fn accepted(rp: &mut Rp) {
    let done = rp.sign_in().await;
    assert_eq!(location(&done), "/profile");
}

#[tokio::test]
async fn accepts_rs256_signed_by_a_published_key() {
    accepted(&mut rp("client_secret_post")).await;
}

#[tokio::test]
async fn rejects_nonce_mismatch() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        c.insert("nonce".into(), json!("another-nonce"));
    });
    refused(&mut rp).await;
}

#[tokio::test]
async fn rejects_missing_nonce() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        c.remove("nonce");
    });
    refused(&mut rp).await;
}

#[tokio::test]
async fn rejects_bad_signature() {
    let mut rp = rp("client_secret_post");
    rp.emulator.faults().signing = Signing::CorruptSignature;
    refused(&mut rp).await;
}

#[tokio::test]
async fn rejects_signature_by_an_unpublished_key() {
    let mut rp = rp("client_secret_post");
    rp.emulator.faults().signing = Signing::ForeignKey;
    refused(&mut rp).await;
}

#[tokio::test]
async fn rejects_alg_none() {
    let mut rp = rp("client_secret_post");
    rp.emulator.faults().signing = Signing::None;
    refused(&mut rp).await;
}

#[tokio::test]
async fn rejects_hs256_signed_with_the_public_key() {
    let mut rp = rp("client_secret_post");
    rp.emulator.faults().signing = Signing::Hs256WithPublicKey;
    refused(&mut rp).await;
}

#[tokio::test]
async fn rejects_wrong_issuer() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        c.insert("iss".into(), json!("https://vercel.com"));
    });
    refused(&mut rp).await;
}

#[tokio::test]
async fn rejects_issuer_with_trailing_slash() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        c.insert("iss".into(), json!(format!("{ISSUER}/")));
    });
    refused(&mut rp).await;
}

#[tokio::test]
async fn rejects_wrong_audience() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        c.insert("aud".into(), json!("cl_someone_else"));
    });
    refused(&mut rp).await;
}

#[tokio::test]
async fn rejects_missing_audience() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        c.remove("aud");
    });
    refused(&mut rp).await;
}

#[tokio::test]
async fn rejects_several_audiences_without_azp() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        c.insert("aud".into(), json!([CLIENT_ID, "cl_other"]));
    });
    refused(&mut rp).await;
}

#[tokio::test]
async fn accepts_several_audiences_with_our_azp() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        c.insert("aud".into(), json!([CLIENT_ID, "cl_other"]));
        c.insert("azp".into(), json!(CLIENT_ID));
    });
    accepted(&mut rp).await;
}

#[tokio::test]
async fn rejects_azp_of_another_client() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        c.insert("azp".into(), json!("cl_other"));
    });
    refused(&mut rp).await;
}

#[tokio::test]
async fn rejects_expired_token() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        let iat = c["iat"].as_i64().unwrap();
        c.insert("exp".into(), json!(iat - 120));
    });
    refused(&mut rp).await;
}

#[tokio::test]
async fn accepts_expiry_within_the_clock_skew_leeway() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        let iat = c["iat"].as_i64().unwrap();
        c.insert("exp".into(), json!(iat - 30));
    });
    accepted(&mut rp).await;
}

#[tokio::test]
async fn rejects_missing_exp() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        c.remove("exp");
    });
    refused(&mut rp).await;
}

#[tokio::test]
async fn rejects_nbf_in_the_future() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        let iat = c["iat"].as_i64().unwrap();
        c.insert("nbf".into(), json!(iat + 600));
    });
    refused(&mut rp).await;
}

#[tokio::test]
async fn rejects_iat_in_the_future() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        let iat = c["iat"].as_i64().unwrap();
        c.insert("iat".into(), json!(iat + 600));
    });
    refused(&mut rp).await;
}

#[tokio::test]
async fn rejects_missing_iat() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        c.remove("iat");
    });
    refused(&mut rp).await;
}

#[tokio::test]
async fn rejects_missing_sub() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        c.remove("sub");
    });
    refused(&mut rp).await;
}

#[tokio::test]
async fn rejects_non_numeric_exp() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        c.insert("exp".into(), json!("tomorrow"));
    });
    refused(&mut rp).await;
}

#[tokio::test]
async fn accepts_token_without_kid_when_the_key_set_has_one_key() {
    let mut rp = rp("client_secret_post");
    rp.emulator.faults().signing = Signing::Rs256WithoutKid;
    accepted(&mut rp).await;
}

#[tokio::test]
async fn rejects_token_without_kid_when_the_key_set_has_several_keys() {
    let mut rp = rp("client_secret_post");
    rp.emulator.rotate_key(true);
    rp.emulator.faults().signing = Signing::Rs256WithoutKid;
    refused(&mut rp).await;
}

#[tokio::test]
async fn unknown_kid_refetches_the_key_set_once_and_accepts_the_rotated_key() {
    let mut rp = rp("client_secret_post");
    accepted(&mut rp).await;
    assert_eq!(rp.sent_to("/.well-known/jwks").len(), 1);
    rp.emulator.rotate_key(false);
    rp.jar = Jar::default();
    accepted(&mut rp).await;
    assert_eq!(
        rp.sent_to("/.well-known/jwks").len(),
        2,
        "one refetch for the new kid"
    );
}

#[tokio::test]
async fn unknown_kid_still_unknown_after_the_refetch_is_rejected() {
    let mut rp = rp("client_secret_post");
    accepted(&mut rp).await;
    rp.jar = Jar::default();
    rp.emulator.faults().signing = Signing::UnpublishedKid;
    refused(&mut rp).await;
    assert_eq!(
        rp.sent_to("/.well-known/jwks").len(),
        2,
        "exactly one refetch"
    );
}

#[tokio::test]
async fn key_set_is_refetched_after_its_ttl() {
    let mut rp = rp("client_secret_post");
    accepted(&mut rp).await;
    rp.advance(11 * 60);
    rp.jar = Jar::default();
    accepted(&mut rp).await;
    assert_eq!(rp.sent_to("/.well-known/jwks").len(), 2);
}

/// The same rejections, one level down: each for its own reason.
mod reasons {
    use serde_json::{Value, json};
    use sign_in_with_vercel::dev::emulator::{Signing, SigningKey};
    use sign_in_with_vercel::id_token::{Expected, IdTokenError, verify};
    use sign_in_with_vercel::jwks::JwkSet;
    use sign_in_with_vercel::{IdToken, Nonce};

    const NOW: i64 = 1_800_000_000;

    fn claims() -> Value {
        json!({"iss": "https://op.example", "sub": "u1", "aud": "cl", "exp": NOW + 600, "iat": NOW, "nonce": "n1"})
    }

    fn check(claims: Value, signing: Signing) -> Result<(), IdTokenError> {
        let key = SigningKey::shared();
        let keys = JwkSet::from_json(&json!({ "keys": [key.jwk()] }).to_string()).unwrap();
        let nonce = Nonce::new("n1");
        let expected = Expected {
            issuer: "https://op.example",
            client_id: "cl",
            nonce: Some(&nonce),
            subject: None,
            access_token: None,
            now: NOW,
        };
        verify(&IdToken::new(key.sign(&claims, signing)), &keys, &expected).map(|_| ())
    }

    fn with(key: &str, value: Value) -> Value {
        let mut c = claims();
        if value.is_null() {
            c.as_object_mut().unwrap().remove(key);
        } else {
            c[key] = value;
        }
        c
    }

    #[test]
    fn each_rejection_names_its_reason() {
        use IdTokenError::*;
        assert_eq!(check(claims(), Signing::Rs256), Ok(()));
        assert_eq!(
            check(claims(), Signing::None),
            Err(UnsupportedAlgorithm("none".into()))
        );
        assert_eq!(
            check(claims(), Signing::Hs256WithPublicKey),
            Err(UnsupportedAlgorithm("HS256".into()))
        );
        assert_eq!(
            check(claims(), Signing::CorruptSignature),
            Err(BadSignature)
        );
        assert_eq!(check(claims(), Signing::ForeignKey), Err(BadSignature));
        assert_eq!(check(claims(), Signing::UnpublishedKid), Err(UnknownKey));
        assert_eq!(
            check(with("iss", json!("https://evil")), Signing::Rs256),
            Err(IssuerMismatch)
        );
        assert_eq!(
            check(with("aud", json!("other")), Signing::Rs256),
            Err(AudienceMismatch)
        );
        assert_eq!(
            check(with("aud", Value::Null), Signing::Rs256),
            Err(AudienceMismatch)
        );
        assert_eq!(
            check(with("aud", json!(["cl", "x"])), Signing::Rs256),
            Err(AuthorizedPartyMismatch)
        );
        assert_eq!(
            check(with("exp", json!(NOW - 61)), Signing::Rs256),
            Err(Expired)
        );
        assert_eq!(
            check(with("exp", Value::Null), Signing::Rs256),
            Err(Expired)
        );
        assert_eq!(
            check(with("nbf", json!(NOW + 61)), Signing::Rs256),
            Err(NotYetValid)
        );
        assert_eq!(
            check(with("iat", Value::Null), Signing::Rs256),
            Err(InvalidIssuedAt)
        );
        assert_eq!(
            check(with("iat", json!(NOW + 61)), Signing::Rs256),
            Err(InvalidIssuedAt)
        );
        assert_eq!(
            check(with("sub", Value::Null), Signing::Rs256),
            Err(MissingSubject)
        );
        assert_eq!(
            check(with("sub", json!("")), Signing::Rs256),
            Err(MissingSubject)
        );
        assert_eq!(
            check(with("nonce", json!("n2")), Signing::Rs256),
            Err(NonceMismatch)
        );
        assert_eq!(
            check(with("nonce", Value::Null), Signing::Rs256),
            Err(NonceMismatch)
        );
        assert_eq!(
            check(with("exp", json!(NOW as f64 + 600.5)), Signing::Rs256),
            Ok(())
        );
        // Extreme dates are compared, not overflowed.
        assert_eq!(check(with("exp", json!(i64::MAX)), Signing::Rs256), Ok(()));
        assert_eq!(check(with("iat", json!(i64::MIN)), Signing::Rs256), Ok(()));
        assert_eq!(
            check(with("nbf", json!(i64::MAX)), Signing::Rs256),
            Err(NotYetValid)
        );
    }

    #[test]
    fn malformed_tokens_are_refused_without_panicking() {
        let keys = JwkSet::from_json(&json!({ "keys": [SigningKey::shared().jwk()] }).to_string())
            .unwrap();
        let expected = Expected {
            issuer: "i",
            client_id: "c",
            nonce: None,
            subject: None,
            access_token: None,
            now: NOW,
        };
        for token in [
            "",
            ".",
            "..",
            "a.b.c",
            "a.b.c.d.e",
            "eyJhbGciOiJSUzI1NiJ9..",
            &"a".repeat(20_000),
            "é.é.é",
        ] {
            assert!(
                verify(&IdToken::new(token), &keys, &expected).is_err(),
                "{token:.20}"
            );
        }
    }

    #[test]
    fn at_hash_when_present_must_match_the_access_token() {
        use sign_in_with_vercel::AccessToken;
        let key = SigningKey::shared();
        let keys = JwkSet::from_json(&json!({ "keys": [key.jwk()] }).to_string()).unwrap();
        let nonce = Nonce::new("n1");
        // Left half of SHA-256("vca_example"), base64url, computed independently:
        // python3 -c 'import hashlib,base64;print(base64.urlsafe_b64encode(
        //   hashlib.sha256(b"vca_example").digest()[:16]).rstrip(b"="))'
        let at_hash = "IxMA4BCjKa7WPCQ3UL35JQ";
        let access_token = AccessToken::new("vca_example");
        let other_token = AccessToken::new("vca_other");
        let run = |claims: &Value, token: &AccessToken| {
            let expected = Expected {
                issuer: "https://op.example",
                client_id: "cl",
                nonce: Some(&nonce),
                subject: None,
                access_token: Some(token),
                now: NOW,
            };
            verify(
                &IdToken::new(key.sign(claims, Signing::Rs256)),
                &keys,
                &expected,
            )
            .map(|_| ())
        };
        let with_hash = with("at_hash", json!(at_hash));
        assert_eq!(run(&with_hash, &access_token), Ok(()));
        assert_eq!(
            run(&with_hash, &other_token),
            Err(IdTokenError::AccessTokenHashMismatch)
        );
        // Absent, it is not required (§3.1.3.8: MAY).
        assert_eq!(run(&claims(), &other_token), Ok(()));
    }

    #[test]
    fn refreshed_token_about_another_user_is_refused() {
        let key = SigningKey::shared();
        let keys = JwkSet::from_json(&json!({ "keys": [key.jwk()] }).to_string()).unwrap();
        let expected = Expected {
            issuer: "https://op.example",
            client_id: "cl",
            nonce: None,
            subject: Some("u2"),
            access_token: None,
            now: NOW,
        };
        let token = IdToken::new(key.sign(&claims(), Signing::Rs256));
        assert_eq!(
            verify(&token, &keys, &expected),
            Err(IdTokenError::SubjectChanged)
        );
    }

    #[test]
    fn unusable_keys_are_left_out_of_the_key_set() {
        let mut short = SigningKey::shared().jwk();
        short["n"] = json!("AQAB");
        let mut enc = SigningKey::shared().jwk();
        enc["use"] = json!("enc");
        let mut es = SigningKey::shared().jwk();
        es["alg"] = json!("ES256");
        let ec = json!({"kty": "EC", "crv": "P-256", "x": "a", "y": "b"});
        let keys = JwkSet::from_json(&json!({ "keys": [short, enc, es, ec, "junk"] }).to_string())
            .unwrap();
        assert!(keys.is_empty());
    }
}
