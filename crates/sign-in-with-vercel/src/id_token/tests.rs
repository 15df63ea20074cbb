use serde_json::{Value, json};

use super::*;

pub(crate) const NOW: i64 = 1_800_000_000;

/// Good claims for issuer `https://op.example`, client `cl`, nonce `n1`.
pub(crate) fn claims() -> Value {
    json!({"iss": "https://op.example", "sub": "u1", "aud": "cl", "exp": NOW + 600, "iat": NOW, "nonce": "n1"})
}

fn keys() -> JwkSet {
    key_set(json!([jwk()]))
}

/// The set a JWK Set document with `keys` gives.
fn key_set(keys: Value) -> JwkSet {
    JwkSet::from_json(&json!({ "keys": keys }).to_string()).unwrap()
}

/// What a token of `https://op.example` for client `cl` must match at
/// [`NOW`]: a sign-in's with `nonce`, or a refresh's of user `subject`.
fn expected<'a>(nonce: Option<&'a Nonce>, subject: Option<&'a str>) -> Expected<'a> {
    Expected {
        issuer: "https://op.example",
        client_id: "cl",
        trusted_audiences: &[],
        nonce,
        subject,
        access_token: None,
        now: NOW,
        algorithms: Algorithms::DEFAULT,
    }
}

/// Verifies `claims` signed with `signing`, as a sign-in with nonce
/// `n1` and, when given, the access token `access`, or as a refresh of
/// user `subject`.
fn run(
    claims: &Value,
    signing: Signing,
    subject: Option<&str>,
    access: Option<&AccessToken>,
) -> Result<(), IdTokenError> {
    let nonce = Nonce::new("n1");
    let expected = Expected {
        access_token: access,
        ..expected(subject.is_none().then_some(&nonce), subject)
    };
    let token = IdToken::new(sign(claims, signing));
    verify(&token, &keys(), &expected).map(|_| ())
}

fn check(claims: Value, signing: Signing) -> Result<(), IdTokenError> {
    run(&claims, signing, None, None)
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

/// An audience besides the client ID is accepted only when configured as
/// trusted (`VERCEL_OAUTH_TRUSTED_AUDIENCES`; Zitadel adds its project's
/// ID to every ID token), and then only with `azp` naming the client; the
/// client ID itself must still be an audience.
#[test]
fn a_trusted_second_audience_is_accepted_with_our_azp_only() {
    use IdTokenError::*;
    let trusted = ["69234237810729019".to_owned()];
    let nonce = Nonce::new("n1");
    let trusting = Expected {
        trusted_audiences: &trusted,
        ..expected(Some(&nonce), None)
    };
    let run = |aud: Value, azp: Option<&str>| {
        let mut c = with("aud", aud);
        if let Some(azp) = azp {
            c["azp"] = json!(azp);
        }
        let token = IdToken::new(sign(&c, Signing::Rs256));
        verify(&token, &keys(), &trusting).map(|_| ())
    };
    assert_eq!(run(json!(["cl", "69234237810729019"]), Some("cl")), Ok(()));
    assert_eq!(run(json!(["69234237810729019", "cl"]), Some("cl")), Ok(()));
    assert_eq!(
        run(json!(["cl", "69234237810729019"]), None),
        Err(AuthorizedPartyMismatch),
        "another audience, no azp"
    );
    assert_eq!(
        run(
            json!(["cl", "69234237810729019"]),
            Some("69234237810729019")
        ),
        Err(AuthorizedPartyMismatch)
    );
    assert_eq!(
        run(json!(["69234237810729019"]), Some("cl")),
        Err(AudienceMismatch),
        "not ours"
    );
    assert_eq!(
        run(json!(["cl", "69234237810729019", "other"]), Some("cl")),
        Err(AudienceMismatch),
        "an audience not trusted"
    );
    assert_eq!(
        run(json!(["cl", "cl"]), None),
        Ok(()),
        "ours twice is no other"
    );
    assert_eq!(run(json!("cl"), None), Ok(()));
    // Untrusted by default: the same token is refused.
    let token = IdToken::new(sign(
        &{
            let mut c = with("aud", json!(["cl", "69234237810729019"]));
            c["azp"] = json!("cl");
            c
        },
        Signing::Rs256,
    ));
    assert_eq!(
        verify(&token, &keys(), &expected(Some(&nonce), None)).map(|_| ()),
        Err(AudienceMismatch)
    );
}

macro_rules! cases {
    ($($(#[$doc:meta])* $name:ident: $claims:expr, $signing:ident => $outcome:expr;)*) => {$(
        $(#[$doc])*
        #[test]
        fn $name() {
            #[allow(unused_imports)]
            use IdTokenError::*;
            assert_eq!(check($claims, Signing::$signing), $outcome);
        }
    )*};
}

cases! {
    accepts_rs256_by_a_published_key: claims(), Rs256 => Ok(());
    rejects_alg_none: claims(), None => Err(UnsupportedAlgorithm("none".into()));
    rejects_hs256_keyed_with_the_public_key: claims(), Hs256WithPublicKey => Err(UnsupportedAlgorithm("HS256".into()));
    rejects_a_corrupt_signature: claims(), CorruptSignature => Err(BadSignature);
    rejects_a_foreign_key_under_a_published_kid: claims(), ForeignKey => Err(BadSignature);
    reports_an_unpublished_kid: claims(), UnpublishedKid => Err(UnknownKey);
    rejects_another_issuer: with("iss", json!("https://evil")), Rs256 => Err(IssuerMismatch);
    rejects_another_audience: with("aud", json!("other")), Rs256 => Err(AudienceMismatch);
    rejects_a_missing_audience: with("aud", Value::Null), Rs256 => Err(AudienceMismatch);
    /// OpenID Connect Core §3.1.3.7 step 3: an empty `aud` list names no
    /// audience, so not this client.
    rejects_an_empty_audience_list: with("aud", json!([])), Rs256 => Err(AudienceMismatch);
    rejects_a_second_audience: with("aud", json!(["cl", "x"])), Rs256 => Err(AudienceMismatch);
    rejects_a_second_audience_despite_our_azp: {
        let mut c = with("aud", json!(["x", "cl"]));
        c["azp"] = json!("cl");
        c
    }, Rs256 => Err(AudienceMismatch);
    accepts_our_client_id_as_the_only_audience_in_a_list: with("aud", json!(["cl"])), Rs256 => Ok(());
    accepts_our_azp: with("azp", json!("cl")), Rs256 => Ok(());
    rejects_azp_of_another_client: with("azp", json!("x")), Rs256 => Err(AuthorizedPartyMismatch);
    rejects_expiry_past_the_leeway: with("exp", json!(NOW - 61)), Rs256 => Err(Expired);
    /// OpenID Connect Core §3.1.3.7 step 9: the leeway is [`LEEWAY_SECS`]
    /// past `exp`, and not a second more.
    rejects_expiry_at_the_end_of_the_leeway: with("exp", json!(NOW - 60)), Rs256 => Err(Expired);
    accepts_expiry_within_the_leeway: with("exp", json!(NOW - 59)), Rs256 => Ok(());
    rejects_a_missing_exp: with("exp", Value::Null), Rs256 => Err(Expired);
    rejects_nbf_past_the_leeway: with("nbf", json!(NOW + 61)), Rs256 => Err(NotYetValid);
    /// RFC 7519 §4.1.5: `nbf` within [`LEEWAY_SECS`] of now is clock skew.
    accepts_nbf_within_the_leeway: with("nbf", json!(NOW + 60)), Rs256 => Ok(());
    rejects_a_missing_iat: with("iat", Value::Null), Rs256 => Err(InvalidIssuedAt);
    rejects_iat_in_the_future: with("iat", json!(NOW + 61)), Rs256 => Err(InvalidIssuedAt);
    /// OpenID Connect Core §3.1.3.7 step 10: `iat` within [`LEEWAY_SECS`]
    /// ahead of now is clock skew, not a token from the future.
    accepts_iat_within_the_leeway: with("iat", json!(NOW + 60)), Rs256 => Ok(());
    rejects_a_missing_sub: with("sub", Value::Null), Rs256 => Err(MissingSubject);
    rejects_an_empty_sub: with("sub", json!("")), Rs256 => Err(MissingSubject);
    rejects_a_sub_with_a_control_character: with("sub", json!("u1\n\u{0}")), Rs256 => Err(MissingSubject);
    accepts_a_sub_of_printable_ascii: with("sub", json!("usr_1 ~!")), Rs256 => Ok(());
    rejects_another_nonce: with("nonce", json!("n2")), Rs256 => Err(NonceMismatch);
    rejects_a_missing_nonce: with("nonce", Value::Null), Rs256 => Err(NonceMismatch);
    accepts_a_fractional_exp: with("exp", json!(NOW as f64 + 600.5)), Rs256 => Ok(());
    compares_a_huge_exp_without_overflow: with("exp", json!(i64::MAX)), Rs256 => Ok(());
    compares_a_tiny_iat_without_overflow: with("iat", json!(i64::MIN)), Rs256 => Ok(());
    compares_a_huge_nbf_without_overflow: with("nbf", json!(i64::MAX)), Rs256 => Err(NotYetValid);
    /// RFC 7519 §2: a NumericDate beyond `i64`, fractional or not, is as
    /// far in the future as `i64::MAX`, and one before `i64::MIN` as far
    /// in the past: the same whatever the form.
    reads_a_huge_fractional_exp_as_far_in_the_future: with("exp", json!(1e300)), Rs256 => Ok(());
    reads_an_exp_beyond_i64_as_far_in_the_future: with("exp", json!(u64::MAX)), Rs256 => Ok(());
    reads_a_huge_fractional_nbf_as_far_in_the_future: with("nbf", json!(1e300)), Rs256 => Err(NotYetValid);
    reads_a_hugely_negative_fractional_exp_as_long_past: with("exp", json!(-1e300)), Rs256 => Err(Expired);
    rounds_a_fractional_exp_down: with("exp", json!(NOW as f64 - 59.5)), Rs256 => Err(Expired);
}

/// The cap on an ID token's length, [`MAX_TOKEN_BYTES`], is 16 KiB of
/// compact JWS, inclusive: a signed token of exactly the cap verifies,
/// and a longer one is refused as malformed before anything is parsed.
#[test]
fn a_token_at_the_size_cap_verifies_and_a_longer_one_is_refused() {
    let nonce = Nonce::new("n1");
    let expected = expected(Some(&nonce), None);
    let cap = 16 * 1024;
    let padded = |filler: usize| sign(&with("filler", json!("x".repeat(filler))), Signing::Rs256);
    // A byte of filler adds one or two base64url characters: grow it from
    // just short of the cap until the token reaches it.
    let mut filler = (cap - padded(0).len()) * 3 / 4 - 8;
    while padded(filler).len() < cap {
        filler += 1;
    }
    let at_cap = padded(filler);
    assert_eq!(at_cap.len(), cap);
    assert_eq!(
        verify(&IdToken::new(at_cap), &keys(), &expected).map(drop),
        Ok(())
    );
    let over = padded(filler + 1);
    assert!(over.len() > cap);
    assert_eq!(
        verify(&IdToken::new(over), &keys(), &expected).map(drop),
        Err(IdTokenError::Malformed)
    );
}

/// Verified claims print their issuer, subject and times, and nothing
/// personal: no name or email reaches a log line through `{:?}`.
#[test]
fn debug_output_of_claims_holds_nothing_personal() {
    let nonce = Nonce::new("n1");
    let mut personal = claims();
    personal["name"] = json!("Ada Lovelace");
    personal["email"] = json!("ada@example.com");
    let token = IdToken::new(sign(&personal, Signing::Rs256));
    let verified = verify(&token, &keys(), &expected(Some(&nonce), None)).unwrap();
    let printed = format!("{verified:?}");
    assert!(printed.contains("https://op.example") && printed.contains("u1"));
    assert!(!printed.contains("Ada") && !printed.contains("ada@"));
}

#[test]
fn malformed_tokens_are_refused_without_panicking() {
    let expected = expected(None, None);
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
            verify(&IdToken::new(token), &keys(), &expected).is_err(),
            "{token:.20}"
        );
    }
}

// Left half of SHA-256("vca_example"), base64url, computed independently:
// python3 -c 'import hashlib,base64;print(base64.urlsafe_b64encode(
//   hashlib.sha256(b"vca_example").digest()[:16]).rstrip(b"="))'
const AT_HASH: &str = "IxMA4BCjKa7WPCQ3UL35JQ";

#[test]
fn at_hash_of_the_access_token_is_accepted() {
    let claims = with("at_hash", json!(AT_HASH));
    let token = AccessToken::new("vca_example");
    assert_eq!(run(&claims, Signing::Rs256, None, Some(&token)), Ok(()));
}

#[test]
fn at_hash_of_another_access_token_is_refused() {
    let claims = with("at_hash", json!(AT_HASH));
    let token = AccessToken::new("vca_other");
    assert_eq!(
        run(&claims, Signing::Rs256, None, Some(&token)),
        Err(IdTokenError::AccessTokenHashMismatch)
    );
}

#[test]
fn at_hash_is_not_required() {
    let token = AccessToken::new("vca_other");
    assert_eq!(run(&claims(), Signing::Rs256, None, Some(&token)), Ok(()));
}

#[test]
fn refreshed_token_about_another_user_is_refused() {
    assert_eq!(
        run(&claims(), Signing::Rs256, Some("u2"), None),
        Err(IdTokenError::SubjectChanged)
    );
}

/// [`check_unsigned`] on `claims` signed as `signing`, as the ID token of
/// a refresh of user `u1` whose keys did not load.
fn unsigned(claims: &Value, signing: Signing) -> Result<(), IdTokenError> {
    check_unsigned(
        &IdToken::new(sign(claims, signing)),
        &expected(None, Some("u1")),
    )
}

#[test]
fn unsigned_check_passes_good_claims_without_looking_at_the_signature() {
    assert_eq!(unsigned(&claims(), Signing::CorruptSignature), Ok(()));
    assert_eq!(unsigned(&claims(), Signing::UnpublishedKid), Ok(()));
}

#[test]
fn unsigned_check_refuses_another_user() {
    assert_eq!(
        unsigned(&with("sub", json!("u2")), Signing::Rs256),
        Err(IdTokenError::SubjectChanged)
    );
}

#[test]
fn unsigned_check_runs_every_claim_check() {
    use IdTokenError::*;
    for (claims, refusal) in [
        (with("iss", json!("https://evil")), IssuerMismatch),
        (with("aud", json!("other")), AudienceMismatch),
        (with("azp", json!("x")), AuthorizedPartyMismatch),
        (with("exp", json!(NOW - 61)), Expired),
        (with("iat", Value::Null), InvalidIssuedAt),
        (with("sub", Value::Null), MissingSubject),
    ] {
        assert_eq!(unsigned(&claims, Signing::Rs256), Err(refusal));
    }
}

#[test]
fn unsigned_check_still_refuses_other_algorithms() {
    assert_eq!(
        unsigned(&claims(), Signing::None),
        Err(IdTokenError::UnsupportedAlgorithm("none".into()))
    );
    assert_eq!(
        unsigned(&claims(), Signing::Hs256WithPublicKey),
        Err(IdTokenError::UnsupportedAlgorithm("HS256".into()))
    );
}

/// The header is the provider's to write: an `alg` that names no JOSE
/// algorithm (a value of ours echoed there, say) is not repeated by the
/// refusal, in its `Display` or its `Debug`.
#[test]
fn an_unregistered_algorithm_is_not_repeated() {
    let echoed = "canaryclientsecret0123456789";
    let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{echoed}"}}"#));
    let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
    let token = IdToken::new(format!("{header}.{payload}.AAAA"));
    let refused = check_unsigned(&token, &expected(None, Some("u1"))).unwrap_err();
    assert_eq!(
        refused,
        IdTokenError::UnsupportedAlgorithm("unregistered".into())
    );
    let printed = format!("{refused} {refused:?}");
    assert!(!printed.contains("canary"), "{printed}");
}

#[test]
fn unsigned_check_refuses_malformed_tokens_without_panicking() {
    let expected = expected(None, Some("u1"));
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#);
    for token in [
        "".to_owned(),
        "a.b.c".to_owned(),
        format!("{header}..AAAA"),
        format!("{header}.%%%.AAAA"),
        format!("{header}.{}.AAAA", URL_SAFE_NO_PAD.encode("[1]")),
        "a".repeat(20_000),
    ] {
        assert_eq!(
            check_unsigned(&IdToken::new(token.clone()), &expected),
            Err(IdTokenError::Malformed),
            "{token:.30}"
        );
    }
}

/// The JWS itself (RFC 7515 §5.2, §7.1): three base64url parts, the
/// signature over the first two exactly as sent.
#[test]
fn only_an_untouched_three_part_jws_verifies() {
    let nonce = Nonce::new("n1");
    let expected = expected(Some(&nonce), None);
    let good = sign(&claims(), Signing::Rs256);
    assert!(verify(&IdToken::new(good.clone()), &keys(), &expected).is_ok());
    let (header, rest) = good.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let mut other = claims();
    other["sub"] = json!("u2");
    let other_payload = URL_SAFE_NO_PAD.encode(other.to_string());
    let padded = format!("{signature}{}", "=".repeat((4 - signature.len() % 4) % 4));
    assert_ne!(
        padded, signature,
        "a 2048-bit signature needs padding in base64"
    );
    for (token, why, refused) in [
        (
            format!("{good}.AAAA"),
            "a fourth part",
            IdTokenError::Malformed,
        ),
        (
            format!("{header}.AAAA.{payload}.AAAA.{signature}"),
            "a JWE's five parts",
            IdTokenError::Malformed,
        ),
        (
            format!(
                "{header}.{payload}.{}",
                signature.replace('-', "+").replace('_', "/")
            ),
            "a signature in standard base64",
            IdTokenError::Malformed,
        ),
        (
            format!("{header}.{payload}.{padded}"),
            "a padded signature",
            IdTokenError::Malformed,
        ),
        (
            format!("{header}.{other_payload}.{signature}"),
            "another payload under the signature",
            IdTokenError::BadSignature,
        ),
        (
            format!("{header}.{payload}"),
            "no signature part",
            IdTokenError::Malformed,
        ),
    ] {
        assert_eq!(
            verify(&IdToken::new(token), &keys(), &expected).map(drop),
            Err(refused),
            "{why}"
        );
    }
    // Signed, but its payload is not a JSON object of claims.
    let not_claims = sign(&json!(["u1"]), Signing::Rs256);
    assert_eq!(
        verify(&IdToken::new(not_claims), &keys(), &expected).map(drop),
        Err(IdTokenError::Malformed)
    );
}

#[test]
fn unusable_keys_are_left_out_of_the_key_set() {
    let mut short = jwk();
    short["n"] = json!("AQAB");
    let mut enc = jwk();
    enc["use"] = json!("enc");
    let mut es = jwk();
    es["alg"] = json!("ES256");
    let ec = json!({"kty": "EC", "crv": "P-256", "x": "a", "y": "b"});
    let keys = key_set(json!([short, enc, es, ec, "junk"]));
    assert!(keys.is_empty());
}

/// RFC 7517 §4.3: a key whose `key_ops` leave out `verify` is not for
/// verifying signatures; one whose `key_ops` list it is kept.
#[test]
fn a_key_whose_key_ops_leave_out_verify_is_left_out() {
    let with_ops = |ops: Value| {
        let mut key = jwk();
        key["key_ops"] = ops;
        key
    };
    assert!(!key_set(json!([with_ops(json!(["verify"]))])).is_empty());
    assert!(!key_set(json!([with_ops(json!(["sign", "verify"]))])).is_empty());
    assert!(key_set(json!([with_ops(json!(["encrypt"]))])).is_empty());
    assert!(key_set(json!([with_ops(json!([]))])).is_empty());
}

/// Keys `ring` would refuse are left out when the set is read, not found
/// and refused at each verification: a modulus over 8192 bits, an
/// exponent that is even, under 3 or over 33 bits.
#[test]
fn keys_ring_cannot_verify_with_are_left_out() {
    let with = |n: &[u8], e: &[u8]| {
        let mut key = jwk();
        key["n"] = json!(URL_SAFE_NO_PAD.encode(n));
        key["e"] = json!(URL_SAFE_NO_PAD.encode(e));
        key
    };
    let n_2048 = [0xC5u8; 256];
    let usable = |key: Value| !key_set(json!([key])).is_empty();
    // Controls: the published key, and its bounds.
    assert!(usable(jwk()));
    assert!(usable(with(&n_2048, &[1, 0, 1])));
    assert!(usable(with(&[0xFF; 1024], &[3])));
    assert!(
        !usable(with(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF], &[3])),
        "33 bits of modulus"
    );
    for (n, e, why) in [
        (&[0xFFu8; 1025][..], &[1u8, 0, 1][..], "8200 bits"),
        (&n_2048[..], &[1, 0, 0][..], "even exponent"),
        (&n_2048[..], &[1][..], "exponent 1"),
        (&n_2048[..], &[0, 0, 0][..], "exponent 0"),
        (
            &n_2048[..],
            &[0x03, 0xFF, 0xFF, 0xFF, 0xFF][..],
            "34-bit exponent",
        ),
    ] {
        assert!(!usable(with(n, e)), "{why}");
    }
    assert!(
        usable(with(&n_2048, &[0x01, 0xFF, 0xFF, 0xFF, 0xFF])),
        "33-bit exponent"
    );
}

#[test]
fn a_signing_key_listed_after_many_unusable_keys_is_kept() {
    let ec = json!({"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "use": "sig"});
    let mut listed = vec![ec; 40];
    listed.push(jwk());
    let keys = key_set(json!(listed));
    assert!(
        matches!(keys.find(Some(KID_A), Algorithm::Rs256), KeyLookup::Found(k) if k.len() == 1)
    );
}

/// The cap on keys kept is per algorithm: many P-256 keys listed first
/// do not push an RSA key out.
#[test]
fn keys_are_capped_per_algorithm() {
    let ec = |i: usize| {
        let mut key = ec_jwk();
        key["kid"] = json!(format!("ec-{i}"));
        key
    };
    let mut listed: Vec<Value> = (0..40).map(ec).collect();
    listed.push(jwk());
    let keys = key_set(json!(listed));
    assert!(matches!(
        keys.find(Some(KID_A), Algorithm::Rs256),
        KeyLookup::Found(k) if k.len() == 1
    ));
    assert!(matches!(
        keys.find(Some("ec-31"), Algorithm::Es256),
        KeyLookup::Found(_)
    ));
    assert!(matches!(
        keys.find(Some("ec-32"), Algorithm::Es256),
        KeyLookup::Unknown
    ));
}

#[test]
fn a_kid_the_set_repeats_is_tried_with_each_of_its_keys() {
    let mut b = jwk_of(KEY_B);
    b["kid"] = json!(KID_A);
    let nonce = Nonce::new("n1");
    let expected = expected(Some(&nonce), None);
    // ForeignKey: key B's signature under key A's kid.
    let token = IdToken::new(sign(&claims(), Signing::ForeignKey));
    for order in [vec![jwk(), b.clone()], vec![b.clone(), jwk()]] {
        let keys = key_set(json!(order));
        assert!(verify(&token, &keys, &expected).is_ok());
    }
    // Neither key signed it: still a bad signature, not a pass.
    let keys = key_set(json!([jwk(), b]));
    let corrupt = IdToken::new(sign(&claims(), Signing::CorruptSignature));
    assert!(matches!(
        verify(&corrupt, &keys, &expected),
        Err(IdTokenError::BadSignature)
    ));
}

/// A published key (`A`, kid `test-a`) and one the provider never published
/// (`B`): fixed RSA-2048 test keys, used through `ring`, which the library
/// already links. They sign nothing outside these tests.
const KEY_A: &str = include_str!("testdata/key_a.pem");
pub(crate) const KEY_B: &str = include_str!("testdata/key_b.pem");
const KID_A: &str = "test-a";

/// How a test token is signed: normally, or as a hostile or broken
/// provider might.
#[derive(Clone, Copy)]
pub(crate) enum Signing {
    /// RS256 by key A, its `kid` in the header.
    Rs256,
    /// `alg: none`, no signature (RFC 7519 §6).
    None,
    /// HS256 keyed with key A's public key: the algorithm-confusion attack.
    Hs256WithPublicKey,
    /// RS256 by key A with the signature's last byte flipped.
    CorruptSignature,
    /// RS256 by key B under key A's `kid`.
    ForeignKey,
    /// RS256 by key B under a `kid` the set does not have.
    UnpublishedKid,
}

/// The RSA test key `pem` (PKCS #8).
pub(crate) fn key_pair(pem: &str) -> ring::signature::RsaKeyPair {
    use base64::engine::general_purpose::STANDARD;
    let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(der).expect("a PEM test key");
    ring::signature::RsaKeyPair::from_pkcs8(&der).expect("a PKCS#8 RSA test key")
}

/// The RS256 signature (RFC 7518 §3.3) of `input` by `pair`.
pub(crate) fn rs256(pair: &ring::signature::RsaKeyPair, input: &[u8]) -> Vec<u8> {
    let mut out = vec![0; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input,
        &mut out,
    )
    .expect("RS256 signing");
    out
}

/// Key A's public half as a JWK (RFC 7518 §6.3.1).
pub(crate) fn jwk() -> Value {
    jwk_of(KEY_A)
}

/// The public half of the test key `pem` as a JWK under key A's `kid`.
pub(crate) fn jwk_of(pem: &str) -> Value {
    let pair = key_pair(pem);
    let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public());
    json!({
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID_A,
        "n": URL_SAFE_NO_PAD.encode(public.n),
        "e": URL_SAFE_NO_PAD.encode(public.e),
    })
}

/// `claims` as a compact JWS signed as `signing` says.
pub(crate) fn sign(claims: &Value, signing: Signing) -> String {
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let (alg, kid, key) = match signing {
        Signing::Rs256 | Signing::CorruptSignature => ("RS256", KID_A, KEY_A),
        Signing::ForeignKey => ("RS256", KID_A, KEY_B),
        Signing::UnpublishedKid => ("RS256", "unpublished", KEY_B),
        Signing::None => ("none", KID_A, KEY_A),
        Signing::Hs256WithPublicKey => ("HS256", KID_A, KEY_A),
    };
    let input = format!(
        "{}.{}",
        b64(&json!({"alg": alg, "typ": "JWT", "kid": kid})),
        b64(claims)
    );
    let pair = key_pair(key);
    let mut signature = match signing {
        Signing::None => Vec::new(),
        Signing::Hs256WithPublicKey => {
            let hmac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, pair.public().as_ref());
            ring::hmac::sign(&hmac, input.as_bytes()).as_ref().to_vec()
        }
        _ => rs256(&pair, input.as_bytes()),
    };
    if let (Signing::CorruptSignature, Some(last)) = (signing, signature.last_mut()) {
        *last ^= 1;
    }
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// RFC 7515 §4.1.11: a header that names `crit` is refused, whatever it
/// holds: `null` too (no array of names, and no extension this verifier
/// understands).
#[test]
fn a_crit_header_is_refused_even_null() {
    let pair = key_pair(KEY_A);
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    for crit in [json!(null), json!([]), json!(["exp"])] {
        let header = json!({"alg": "RS256", "kid": KID_A, "crit": crit});
        let input = format!("{}.{}", b64(&header), b64(&claims()));
        let signature = URL_SAFE_NO_PAD.encode(rs256(&pair, input.as_bytes()));
        let token = IdToken::new(format!("{input}.{signature}"));
        let nonce = Nonce::new("n1");
        let result = verify(&token, &keys(), &expected(Some(&nonce), None)).map(|_| ());
        assert_eq!(result, Err(IdTokenError::CriticalHeader), "{crit}");
    }
}

/// RFC 8725 §3.11: a JWT typed as another kind (an access token of RFC
/// 9068, a logout token, …) is no ID token, however it is signed and
/// whatever its claims; `JWT` in any case, `application/jwt`, an ID
/// token's own `id_token+jwt` (Connect2id sends it), a type of no known
/// other kind, no `typ` and a `typ` that is no string pass.
#[test]
fn a_typ_of_another_kind_of_jwt_is_refused() {
    let pair = key_pair(KEY_A);
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let sign = |typ: Option<Value>| {
        let mut header = json!({"alg": "RS256", "kid": KID_A});
        if let Some(typ) = typ {
            header["typ"] = typ;
        }
        let input = format!("{}.{}", b64(&header), b64(&claims()));
        let signature = URL_SAFE_NO_PAD.encode(rs256(&pair, input.as_bytes()));
        IdToken::new(format!("{input}.{signature}"))
    };
    let nonce = Nonce::new("n1");
    let verdict =
        |typ: Option<Value>| verify(&sign(typ), &keys(), &expected(Some(&nonce), None)).map(|_| ());
    for typ in [
        "at+jwt",
        "application/at+jwt",
        "AT+JWT",
        "logout+jwt",
        "application/logout+jwt",
        "secevent+jwt",
        "dpop+jwt",
        " at+jwt ",
        "Application/AT+JWT",
        "token-introspection+jwt",
        "kb+jwt",
    ] {
        assert_eq!(
            verdict(Some(json!(typ))),
            Err(IdTokenError::OtherKindOfJwt),
            "{typ}"
        );
    }
    for typ in [
        Some(json!("JWT")),
        Some(json!("jwt")),
        Some(json!("application/jwt")),
        Some(json!("id_token+jwt")),
        Some(json!("application/id_token+jwt")),
        Some(json!("id+jwt")),
        Some(json!("at+jwt+jwt")),
        Some(json!("application/")),
        Some(json!("applicationé/at+jwt")),
        Some(json!("+jw")),
        Some(json!(null)),
        Some(json!(7)),
        None,
    ] {
        assert_eq!(verdict(typ.clone()), Ok(()), "{typ:?}");
    }
}

#[test]
fn the_test_keys_are_distinct_2048_bit_keys() {
    let (a, b) = (key_pair(KEY_A), key_pair(KEY_B));
    assert_eq!(a.public().modulus_len(), 256);
    assert_ne!(a.public().as_ref(), b.public().as_ref());
}

/// A P-256 test key (ES256, RFC 7518 §3.4), made once per test binary.
fn ec_pkcs8() -> &'static [u8] {
    static PKCS8: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    PKCS8.get_or_init(|| {
        ring::signature::EcdsaKeyPair::generate_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &ring::rand::SystemRandom::new(),
        )
        .expect("a P-256 test key")
        .as_ref()
        .to_vec()
    })
}

pub(crate) const KID_EC: &str = "test-ec";

fn ec_pair(alg: &'static ring::signature::EcdsaSigningAlgorithm) -> ring::signature::EcdsaKeyPair {
    ring::signature::EcdsaKeyPair::from_pkcs8(alg, ec_pkcs8(), &ring::rand::SystemRandom::new())
        .expect("the P-256 test key")
}

/// The P-256 test key's public half as a JWK (RFC 7518 §6.2.1).
pub(crate) fn ec_jwk() -> Value {
    use ring::signature::KeyPair as _;
    let pair = ec_pair(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING);
    let point = pair.public_key().as_ref();
    assert_eq!((point.len(), point[0]), (65, 4), "uncompressed");
    json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": KID_EC,
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..]),
    })
}

/// `claims` signed by the P-256 test key with header `alg` and `kid`; the
/// signature `R || S` as JWS wants it, or in DER when `der`.
pub(crate) fn sign_ec(claims: &Value, alg: &str, kid: Option<&str>, der: bool) -> IdToken {
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let mut header = json!({"alg": alg, "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    let input = format!("{}.{}", b64(&header), b64(claims));
    let pair = ec_pair(if der {
        &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING
    } else {
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING
    });
    let signature = pair
        .sign(&ring::rand::SystemRandom::new(), input.as_bytes())
        .expect("ES256 signing");
    IdToken::new(format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    ))
}

/// [`verify`] of `token` as a sign-in with nonce `n1`, against `keys`,
/// from an issuer whose accepted algorithms are `algorithms`.
fn verify_with(token: &IdToken, keys: &JwkSet, algorithms: Algorithms) -> Result<(), IdTokenError> {
    let nonce = Nonce::new("n1");
    let expected = Expected {
        algorithms,
        ..expected(Some(&nonce), None)
    };
    verify(token, keys, &expected).map(drop)
}

/// RS256 and ES256.
fn both() -> Algorithms {
    Algorithms::of(&[Algorithm::Rs256, Algorithm::Es256])
}

#[test]
fn es256_by_a_published_p256_key_is_accepted_from_an_issuer_that_lists_it() {
    let keys = key_set(json!([jwk(), ec_jwk()]));
    let token = sign_ec(&claims(), "ES256", Some(KID_EC), false);
    assert_eq!(verify_with(&token, &keys, both()), Ok(()));
    // RS256 from the same issuer still verifies.
    let rs = IdToken::new(sign(&claims(), Signing::Rs256));
    assert_eq!(verify_with(&rs, &keys, both()), Ok(()));
    // The claims are checked as for RS256.
    let other = sign_ec(&with("aud", json!("x")), "ES256", Some(KID_EC), false);
    assert_eq!(
        verify_with(&other, &keys, both()),
        Err(IdTokenError::AudienceMismatch)
    );
}

#[test]
fn es256_is_refused_from_an_issuer_that_does_not_list_it() {
    let keys = key_set(json!([jwk(), ec_jwk()]));
    let token = sign_ec(&claims(), "ES256", Some(KID_EC), false);
    assert_eq!(
        verify_with(&token, &keys, Algorithms::DEFAULT),
        Err(IdTokenError::UnsupportedAlgorithm("ES256".into()))
    );
    assert_eq!(
        check_unsigned(&token, &expected(None, Some("u1"))),
        Err(IdTokenError::UnsupportedAlgorithm("ES256".into())),
        "nor passed unsigned"
    );
}

/// A refresh's ES256 ID token whose keys did not load passes on its
/// claims, as an RS256 one does, from an issuer that lists ES256.
#[test]
fn es256_passes_unsigned_from_an_issuer_that_lists_it() {
    let token = sign_ec(&claims(), "ES256", Some(KID_EC), false);
    let expected = Expected {
        algorithms: both(),
        ..expected(None, Some("u1"))
    };
    assert_eq!(check_unsigned(&token, &expected), Ok(()));
    let other = sign_ec(&with("sub", json!("u2")), "ES256", Some(KID_EC), false);
    assert_eq!(
        check_unsigned(&other, &expected),
        Err(IdTokenError::SubjectChanged)
    );
}

#[test]
fn an_es256_signature_in_der_form_is_refused() {
    let keys = key_set(json!([ec_jwk()]));
    let token = sign_ec(&claims(), "ES256", Some(KID_EC), true);
    assert_eq!(
        verify_with(&token, &keys, both()),
        Err(IdTokenError::BadSignature)
    );
}

/// A key verifies with its own algorithm only (RFC 8725 §2.1), whatever
/// `kid` or `alg` the token names.
#[test]
fn a_key_is_never_used_with_another_algorithm() {
    let mut ec_under_rsa_kid = ec_jwk();
    ec_under_rsa_kid["kid"] = json!(KID_A);
    // ES256 under the RSA key's kid: no P-256 key has it.
    let keys = key_set(json!([jwk()]));
    let token = sign_ec(&claims(), "ES256", Some(KID_A), false);
    assert_eq!(
        verify_with(&token, &keys, both()),
        Err(IdTokenError::UnknownKey)
    );
    // RS256 under the P-256 key's kid: no RSA key has it.
    let keys = key_set(json!([ec_jwk()]));
    let mut rs = sign(&claims(), Signing::Rs256);
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "kid": KID_EC}).to_string());
    rs.replace_range(..rs.find('.').unwrap(), &header);
    assert_eq!(
        verify_with(&IdToken::new(rs), &keys, both()),
        Err(IdTokenError::UnknownKey)
    );
    // A P-256 key under the kid an RSA key also has: each verifies with
    // its own algorithm, in either order.
    for order in [
        json!([jwk(), ec_under_rsa_kid.clone()]),
        json!([ec_under_rsa_kid.clone(), jwk()]),
    ] {
        let keys = key_set(order);
        assert_eq!(verify_with(&token, &keys, both()), Ok(()));
        let rs = IdToken::new(sign(&claims(), Signing::Rs256));
        assert_eq!(verify_with(&rs, &keys, both()), Ok(()));
    }
}

#[test]
fn without_kid_the_one_key_of_the_tokens_algorithm_is_used() {
    let keys = key_set(json!([jwk(), ec_jwk()]));
    let token = sign_ec(&claims(), "ES256", None, false);
    assert_eq!(verify_with(&token, &keys, both()), Ok(()));
    let mut second = ec_jwk();
    second["kid"] = json!("test-ec-2");
    let keys = key_set(json!([jwk(), ec_jwk(), second]));
    assert_eq!(
        verify_with(&token, &keys, both()),
        Err(IdTokenError::AmbiguousKey)
    );
}

#[test]
fn unusable_p256_keys_are_left_out_of_the_key_set() {
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut key = ec_jwk();
        f(&mut key);
        key
    };
    assert!(!key_set(json!([ec_jwk()])).is_empty(), "the control");
    for (key, why) in [
        (edit(&|k| k["crv"] = json!("P-384")), "another curve"),
        (edit(&|k| k["alg"] = json!("RS256")), "an RSA algorithm"),
        (edit(&|k| k["alg"] = json!("ES384")), "another EC algorithm"),
        (edit(&|k| k["use"] = json!("enc")), "an encryption key"),
        (
            edit(&|k| k["x"] = json!(URL_SAFE_NO_PAD.encode([7u8; 31]))),
            "a short coordinate",
        ),
        (
            edit(&|k| {
                k.as_object_mut().unwrap().remove("y");
            }),
            "no y",
        ),
        (
            edit(&|k| {
                k.as_object_mut().unwrap().remove("crv");
            }),
            "no curve",
        ),
    ] {
        assert!(key_set(json!([key])).is_empty(), "{why}");
    }
}

/// Every implemented algorithm and the name a token's header gives it
/// (RFC 7518 §3.1, RFC 9864).
const NAMED: [(Algorithm, &str); 9] = [
    (Algorithm::Rs256, "RS256"),
    (Algorithm::Rs384, "RS384"),
    (Algorithm::Rs512, "RS512"),
    (Algorithm::Ps256, "PS256"),
    (Algorithm::Ps384, "PS384"),
    (Algorithm::Ps512, "PS512"),
    (Algorithm::Es256, "ES256"),
    (Algorithm::Es384, "ES384"),
    (Algorithm::Ed25519, "Ed25519"),
];

fn every_algorithm() -> Algorithms {
    Algorithms::of(&Algorithm::ALL)
}

/// A PKCS#8 test key made once per test binary by `generate`.
fn made_once(
    slot: &'static std::sync::OnceLock<Vec<u8>>,
    generate: fn(&ring::rand::SystemRandom) -> Vec<u8>,
) -> &'static [u8] {
    slot.get_or_init(|| generate(&ring::rand::SystemRandom::new()))
}

/// The P-384 test key (ES384).
fn p384_pair() -> ring::signature::EcdsaKeyPair {
    use ring::signature::{ECDSA_P384_SHA384_FIXED_SIGNING as P384, EcdsaKeyPair};
    static PKCS8: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let pkcs8 = made_once(&PKCS8, |rng| {
        EcdsaKeyPair::generate_pkcs8(&P384, rng)
            .expect("a P-384 test key")
            .as_ref()
            .to_vec()
    });
    EcdsaKeyPair::from_pkcs8(&P384, pkcs8, &ring::rand::SystemRandom::new()).expect("P-384")
}

/// The Ed25519 test key.
fn ed25519_pair() -> ring::signature::Ed25519KeyPair {
    use ring::signature::Ed25519KeyPair;
    static PKCS8: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let pkcs8 = made_once(&PKCS8, |rng| {
        Ed25519KeyPair::generate_pkcs8(rng)
            .expect("an Ed25519 test key")
            .as_ref()
            .to_vec()
    });
    Ed25519KeyPair::from_pkcs8(pkcs8).expect("Ed25519")
}

/// The `kid` [`jwk_for`] publishes `alg`'s key under.
fn kid_of(alg: Algorithm) -> String {
    format!("test-{alg:?}")
}

/// The test key of `alg`'s type as a JWK naming `alg`, under
/// [`kid_of`]`(alg)`: key A for each RSA algorithm, the P-256 key, the
/// P-384 key, the Ed25519 key (RFC 8037 §2).
fn jwk_for(alg: Algorithm) -> Value {
    use ring::signature::KeyPair as _;
    let name = NAMED.iter().find(|(a, _)| *a == alg).unwrap().1;
    let mut key = match alg {
        Algorithm::Es256 => ec_jwk(),
        Algorithm::Es384 => {
            let pair = p384_pair();
            let point = pair.public_key().as_ref();
            assert_eq!((point.len(), point[0]), (97, 4), "uncompressed");
            json!({
                "kty": "EC", "crv": "P-384", "use": "sig",
                "x": URL_SAFE_NO_PAD.encode(&point[1..49]),
                "y": URL_SAFE_NO_PAD.encode(&point[49..]),
            })
        }
        Algorithm::Ed25519 => json!({
            "kty": "OKP", "crv": "Ed25519", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(ed25519_pair().public_key().as_ref()),
        }),
        _ => jwk(),
    };
    key["alg"] = json!(name);
    key["kid"] = json!(kid_of(alg));
    key
}

/// `claims` signed with `alg` by the test key of its type, the header
/// naming `name` and `kid`.
fn sign_as(claims: &Value, alg: Algorithm, name: &str, kid: &str) -> IdToken {
    use ring::signature as sig;
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!(
        "{}.{}",
        b64(&json!({"alg": name, "typ": "JWT", "kid": kid})),
        b64(claims)
    );
    let rng = ring::rand::SystemRandom::new();
    let message = input.as_bytes();
    let rsa = |padding: &'static dyn sig::RsaEncoding| {
        let pair = key_pair(KEY_A);
        let mut out = vec![0; pair.public().modulus_len()];
        pair.sign(padding, &rng, message, &mut out).expect("RSA");
        out
    };
    let signature = match alg {
        Algorithm::Rs256 => rsa(&sig::RSA_PKCS1_SHA256),
        Algorithm::Rs384 => rsa(&sig::RSA_PKCS1_SHA384),
        Algorithm::Rs512 => rsa(&sig::RSA_PKCS1_SHA512),
        Algorithm::Ps256 => rsa(&sig::RSA_PSS_SHA256),
        Algorithm::Ps384 => rsa(&sig::RSA_PSS_SHA384),
        Algorithm::Ps512 => rsa(&sig::RSA_PSS_SHA512),
        Algorithm::Es256 => ec_pair(&sig::ECDSA_P256_SHA256_FIXED_SIGNING)
            .sign(&rng, message)
            .expect("ES256")
            .as_ref()
            .to_vec(),
        Algorithm::Es384 => p384_pair()
            .sign(&rng, message)
            .expect("ES384")
            .as_ref()
            .to_vec(),
        Algorithm::Ed25519 => ed25519_pair().sign(message).as_ref().to_vec(),
    };
    IdToken::new(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// rp-id_token-bad-sig-*: for every implemented algorithm, a payload
/// changed under its signature is refused (each algorithm's own check, not
/// only RS256's and ES256's).
#[test]
fn each_algorithm_refuses_a_payload_changed_under_its_signature() {
    let keys = key_set(json!(NAMED.map(|(alg, _)| jwk_for(alg))));
    for (alg, name) in NAMED {
        let good = sign_as(&claims(), alg, name, &kid_of(alg));
        let (header, rest) = good.secret().split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(with("sub", json!("admin")).to_string());
        let token = IdToken::new(format!("{header}.{forged}.{signature}"));
        assert_eq!(
            verify_with(&token, &keys, every_algorithm()),
            Err(IdTokenError::BadSignature),
            "{name}"
        );
    }
}

/// A profile claim of another type than a string (a custom issuer's
/// `picture` object) is left out, as userinfo's are; the sign-in stands,
/// and the claims that are checked stay strict.
#[test]
fn a_profile_claim_of_another_type_is_left_out() {
    let nonce = Nonce::new("n1");
    let mut odd = with("picture", json!({"url": "https://example.com/p.png"}));
    odd["name"] = json!(42);
    odd["email"] = json!(null);
    odd["preferred_username"] = json!("ada");
    let token = IdToken::new(sign(&odd, Signing::Rs256));
    let claims = verify(&token, &keys(), &expected(Some(&nonce), None)).unwrap();
    assert_eq!(claims.picture, None);
    assert_eq!(claims.name, None);
    assert_eq!(claims.email, None);
    assert_eq!(claims.preferred_username.as_deref(), Some("ada"));
    assert!(!claims.other.contains_key("picture"));
    assert_eq!(
        check(with("sub", json!(42)), Signing::Rs256),
        Err(IdTokenError::Malformed)
    );
}

/// Each implemented algorithm verifies by a published key bound to it,
/// with the claims checked as for RS256, and is refused from an issuer
/// that does not list it (only RS256 is every issuer's).
#[test]
fn each_algorithm_verifies_by_a_published_key_of_its_own() {
    let keys = key_set(json!(NAMED.map(|(alg, _)| jwk_for(alg))));
    for (alg, name) in NAMED {
        let kid = kid_of(alg);
        let token = sign_as(&claims(), alg, name, &kid);
        assert_eq!(
            verify_with(&token, &keys, every_algorithm()),
            Ok(()),
            "{name}"
        );
        assert_eq!(
            verify_with(&token, &keys, Algorithms::of(&[alg])),
            Ok(()),
            "{name}"
        );
        let other = sign_as(&with("aud", json!("x")), alg, name, &kid);
        assert_eq!(
            verify_with(&other, &keys, every_algorithm()),
            Err(IdTokenError::AudienceMismatch),
            "{name}"
        );
        let unlisted =
            Algorithms::of(&Algorithm::ALL.map(|a| if a == alg { Algorithm::Rs256 } else { a }));
        let refused = if alg == Algorithm::Rs256 {
            Ok(())
        } else {
            Err(IdTokenError::UnsupportedAlgorithm(name.into()))
        };
        assert_eq!(verify_with(&token, &keys, unlisted), refused, "{name}");
        assert_eq!(
            verify_with(&token, &keys, Algorithms::DEFAULT),
            refused,
            "{name}"
        );
    }
}

/// `EdDSA` (RFC 8037 §3.1) is Ed25519's older name: a token naming it
/// verifies by an Ed25519 key whose JWK names either, from an issuer that
/// lists either.
#[test]
fn eddsa_is_ed25519_under_its_older_name() {
    let mut eddsa = jwk_for(Algorithm::Ed25519);
    eddsa["alg"] = json!("EdDSA");
    let mut bare = jwk_for(Algorithm::Ed25519);
    bare.as_object_mut().unwrap().remove("alg");
    for listed in ["EdDSA", "Ed25519"] {
        let accepted = Algorithms::accepted(Some(&[listed.to_owned()]));
        for key in [&jwk_for(Algorithm::Ed25519), &eddsa, &bare] {
            let keys = key_set(json!([key]));
            for name in ["EdDSA", "Ed25519"] {
                let kid = kid_of(Algorithm::Ed25519);
                let token = sign_as(&claims(), Algorithm::Ed25519, name, &kid);
                assert_eq!(
                    verify_with(&token, &keys, accepted),
                    Ok(()),
                    "{listed} {key} {name}"
                );
            }
        }
    }
}

/// An RSA key verifies with the one algorithm its JWK names, and with
/// RS256 when it names none (RFC 8725 §3.1): a token under its `kid`
/// that names another RSA algorithm finds no key, and a signature of
/// another padding under the key's own algorithm does not verify.
#[test]
fn an_rsa_key_verifies_only_with_the_algorithm_its_jwk_names() {
    let rsa = &NAMED[..6];
    let mut bare = jwk_for(Algorithm::Rs256);
    bare.as_object_mut().unwrap().remove("alg");
    for (published, key) in [
        (Algorithm::Ps256, jwk_for(Algorithm::Ps256)),
        (Algorithm::Rs512, jwk_for(Algorithm::Rs512)),
        (Algorithm::Rs256, bare),
    ] {
        let keys = key_set(json!([key]));
        let kid = kid_of(published);
        for &(alg, name) in rsa {
            let token = sign_as(&claims(), alg, name, &kid);
            let outcome = verify_with(&token, &keys, every_algorithm());
            if alg == published {
                assert_eq!(outcome, Ok(()), "{name} by a {published:?} key");
            } else {
                assert_eq!(
                    outcome,
                    Err(IdTokenError::UnknownKey),
                    "{name} by a {published:?} key"
                );
            }
            // Signed `alg`, but naming the key's own algorithm.
            let own = NAMED.iter().find(|(a, _)| *a == published).unwrap().1;
            let forged = sign_as(&claims(), alg, own, &kid);
            let outcome = verify_with(&forged, &keys, every_algorithm());
            if alg == published {
                assert_eq!(outcome, Ok(()));
            } else {
                assert_eq!(outcome, Err(IdTokenError::BadSignature), "{name} as {own}");
            }
        }
    }
}

// Left halves of SHA-384 and SHA-512 of "vca_example", base64url, as
// AT_HASH (the same python3 line with hashlib.sha384 and sha512).
const AT_HASH_384: &str = "d_IvQo5joYXB2HaoqnSSn2xfnfmvXqOS";
const AT_HASH_512: &str = "n5wf6QuoTx7Unr3ygxfnHEWwtl82DzZT5C15fdBCh3M";

/// `at_hash` is taken with the hash of the token's algorithm (OpenID
/// Connect Core §3.2.2.9): SHA-256, SHA-384 or SHA-512, and SHA-512 for
/// Ed25519; another hash's value is refused.
#[test]
fn at_hash_is_taken_with_the_hash_of_the_tokens_algorithm() {
    let keys = key_set(json!(NAMED.map(|(alg, _)| jwk_for(alg))));
    let access = AccessToken::new("vca_example");
    for (alg, name) in NAMED {
        let right = match name {
            "RS256" | "PS256" | "ES256" => AT_HASH,
            "RS384" | "PS384" | "ES384" => AT_HASH_384,
            _ => AT_HASH_512,
        };
        for at_hash in [AT_HASH, AT_HASH_384, AT_HASH_512] {
            let token = sign_as(&with("at_hash", json!(at_hash)), alg, name, &kid_of(alg));
            let nonce = Nonce::new("n1");
            let expected = Expected {
                access_token: Some(&access),
                algorithms: every_algorithm(),
                ..expected(Some(&nonce), None)
            };
            let outcome = verify(&token, &keys, &expected).map(drop);
            if at_hash == right {
                assert_eq!(outcome, Ok(()), "{name}");
            } else {
                assert_eq!(
                    outcome,
                    Err(IdTokenError::AccessTokenHashMismatch),
                    "{name}"
                );
            }
        }
    }
}

/// P-384 and Ed25519 keys are kept only whole and for their own
/// algorithm; other curves and key types are left out.
#[test]
fn unusable_p384_ed25519_and_rsa_keys_are_left_out_of_the_key_set() {
    let edit = |alg: Algorithm, f: &dyn Fn(&mut Value)| {
        let mut key = jwk_for(alg);
        f(&mut key);
        key
    };
    let remove = |member: &'static str| {
        move |k: &mut Value| {
            k.as_object_mut().unwrap().remove(member);
        }
    };
    let usable = |key: &Value| !key_set(json!([key])).is_empty();
    use Algorithm::{Ed25519, Es384, Ps512};
    for (key, why) in [
        (jwk_for(Es384), "the P-384 control"),
        (jwk_for(Ed25519), "the Ed25519 control"),
        (edit(Es384, &remove("alg")), "P-384 without alg"),
        (edit(Ed25519, &remove("alg")), "Ed25519 without alg"),
        (
            edit(Ed25519, &|k| k["alg"] = json!("EdDSA")),
            "Ed25519 named EdDSA",
        ),
        (jwk_for(Ps512), "RSA for PS512"),
    ] {
        assert!(usable(&key), "{why}");
    }
    for (key, why) in [
        (
            edit(Es384, &|k| k["alg"] = json!("ES256")),
            "P-384 for ES256",
        ),
        (
            edit(Es384, &|k| k["crv"] = json!("P-256")),
            "P-384 coordinates as P-256",
        ),
        (edit(Es384, &|k| k["crv"] = json!("P-521")), "P-521"),
        (edit(Es384, &remove("y")), "P-384 without y"),
        (edit(Ed25519, &|k| k["crv"] = json!("Ed448")), "Ed448"),
        (edit(Ed25519, &|k| k["crv"] = json!("X25519")), "X25519"),
        (
            edit(Ed25519, &|k| k["alg"] = json!("ES256")),
            "Ed25519 for ES256",
        ),
        (edit(Ed25519, &|k| k["kty"] = json!("EC")), "Ed25519 as EC"),
        (
            edit(Ed25519, &|k| {
                k["x"] = json!(URL_SAFE_NO_PAD.encode([9u8; 31]))
            }),
            "a short Ed25519 key",
        ),
        (edit(Ed25519, &remove("x")), "Ed25519 without x"),
        (
            edit(Ed25519, &|k| k["use"] = json!("enc")),
            "an Ed25519 encryption key",
        ),
        (edit(Ps512, &|k| k["alg"] = json!("ES384")), "RSA for ES384"),
        (edit(Ps512, &|k| k["alg"] = json!("HS256")), "RSA for HS256"),
        (
            edit(Ps512, &|k| k["alg"] = json!("RSA-OAEP")),
            "RSA for encryption",
        ),
        (edit(Ps512, &|k| k["alg"] = json!("ES512")), "RSA for ES512"),
    ] {
        assert!(!usable(&key), "{why}");
    }
}
