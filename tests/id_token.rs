//! ID token validation (OpenID Connect Core §3.1.3.7) through the callback:
//! each way a provider can get the ID token wrong is refused, and the ones
//! the spec allows are accepted.

mod support;

use std::sync::Arc;

use serde_json::{Map, Value, json};
use sign_in_with_vercel::TransportError;
use sign_in_with_vercel_emulator::Signing;
use support::*;

fn edit(rp: &Rp, f: impl Fn(&mut Map<String, Value>) + Send + Sync + 'static) {
    rp.emulator.faults().id_token_claims = Some(Arc::new(f));
}

async fn refused(rp: &mut Rp) {
    let done = rp.sign_in().await;
    assert_eq!(location(&done), "/auth/error?error=invalid_token");
    // No session after a refused ID token.
    testkit::assert_no_session(rp.jar());
    // And no live grant: the tokens that came with it are revoked.
    let (access, refresh) = rp.issued();
    assert!(!active(rp, &access) && !active(rp, &refresh), "revoked");
    assert_eq!(rp.sent_to("/login/oauth/token/revoke").len(), 2);
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
async fn rejects_a_second_audience() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        c.insert("aud".into(), json!([CLIENT_ID, "cl_other"]));
    });
    refused(&mut rp).await;
}

/// OpenID Connect Core §3.1.3.7 step 3: a token that also names an
/// audience the client does not trust is refused, even with our `azp`.
#[tokio::test]
async fn rejects_a_second_audience_despite_our_azp() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        c.insert("aud".into(), json!([CLIENT_ID, "cl_other"]));
        c.insert("azp".into(), json!(CLIENT_ID));
    });
    refused(&mut rp).await;
}

#[tokio::test]
async fn accepts_our_client_id_as_a_one_element_audience_list() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        c.insert("aud".into(), json!([CLIENT_ID]));
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

/// OpenID Connect Core §3.1.3.8 (and §3.2.2.9): an `at_hash` that is not
/// the left half of the SHA-256 of the access token that came with the ID
/// token (an ID token of another exchange spliced into this answer) fails
/// the sign-in. The emulator sends no `at_hash`: this one is made up.
#[tokio::test]
async fn rejects_an_at_hash_of_another_access_token() {
    let mut rp = rp("client_secret_post");
    edit(&rp, |c| {
        c.insert("at_hash".into(), json!("AAAAAAAAAAAAAAAAAAAAAA"));
    });
    refused(&mut rp).await;
}

/// The same in a refresh's ID token (OpenID Connect Core §12.2): the
/// session ends and the tokens just issued are revoked.
#[tokio::test]
async fn a_refreshed_id_token_with_an_at_hash_of_another_access_token_ends_the_session() {
    let mut rp = rp("client_secret_post");
    accepted(&mut rp).await;
    edit(&rp, |c| {
        c.insert("at_hash".into(), json!("AAAAAAAAAAAAAAAAAAAAAA"));
    });
    rp.advance(3601);
    refresh_ends_the_session(&mut rp).await;
}

/// A refreshed ID token whose signature the listed key refuses (made by
/// another key under its `kid`, or corrupted) ends the session, whatever
/// its claims: the unsigned check of OpenID Connect Core §3.1.3.7 step 6
/// is for a key set that cannot be had, not for a bad signature.
#[tokio::test]
async fn a_refreshed_id_token_with_a_bad_signature_ends_the_session() {
    for signing in [Signing::ForeignKey, Signing::CorruptSignature] {
        let mut rp = rp("client_secret_post");
        accepted(&mut rp).await;
        rp.emulator.faults().signing = signing;
        rp.advance(3601);
        refresh_ends_the_session(&mut rp).await;
    }
}

/// The next request refreshes, and the refresh's ID token ends the
/// session ([`ended_and_revoked`]).
async fn refresh_ends_the_session(rp: &mut Rp) {
    let answer = rp.get("/api/user-info").await;
    ended_and_revoked(rp, &answer);
}

/// `answer` is 401 `invalid_token`, no session cookie is left, and both
/// tokens the refresh issued were revoked.
fn ended_and_revoked(rp: &Rp, answer: &http::Response<bytes::Bytes>) {
    assert_eq!(answer.status(), 401);
    assert_eq!(body_json(answer)["error"], "invalid_token");
    testkit::assert_no_session(rp.jar());
    let (access, refresh) = rp.issued();
    assert_eq!(rp.sent_to("/login/oauth/token/revoke").len(), 2);
    assert!(!active(rp, &access) && !active(rp, &refresh), "revoked");
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

/// Signs `rp` in (its key set fetched once), applies `change` to the
/// provider or the clock, and sends a fresh browser through the sign-in
/// again: accepted or refused as `accept` says, with the key set fetched
/// `fetches` times in all.
async fn sign_in_again(mut rp: Rp, change: impl FnOnce(&mut Rp), accept: bool, fetches: usize) {
    accepted(&mut rp).await;
    assert_eq!(
        rp.sent_to("/.well-known/jwks").len(),
        1,
        "the first sign-in"
    );
    change(&mut rp);
    *rp.jar_mut() = Jar::default();
    if accept {
        accepted(&mut rp).await;
    } else {
        refused(&mut rp).await;
    }
    assert_eq!(rp.sent_to("/.well-known/jwks").len(), fetches, "in all");
}

#[tokio::test]
async fn unknown_kid_refetches_the_key_set_once_and_accepts_the_rotated_key() {
    let rotate = |rp: &mut Rp| rp.emulator.rotate_key(false);
    sign_in_again(rp("client_secret_post"), rotate, true, 2).await;
}

#[tokio::test]
async fn unknown_kid_still_unknown_after_the_refetch_is_rejected() {
    let unpublished = |rp: &mut Rp| rp.emulator.faults().signing = Signing::UnpublishedKid;
    sign_in_again(rp("client_secret_post"), unpublished, false, 2).await;
}

#[tokio::test]
async fn key_set_is_refetched_after_its_ttl() {
    let later = |rp: &mut Rp| rp.advance(11 * 60);
    sign_in_again(rp("client_secret_post"), later, true, 2).await;
}

/// OpenID Connect Core §10.1.1: a provider that publishes one key and names
/// none in its tokens rotates by replacing that key. The cached set no
/// longer verifies the new tokens: it is fetched again, once.
#[tokio::test]
async fn a_replaced_key_without_kid_refetches_the_cached_key_set_once() {
    let rp = rp("client_secret_post");
    rp.emulator.faults().signing = Signing::Rs256WithoutKid;
    let rotate = |rp: &mut Rp| rp.emulator.rotate_key(false);
    sign_in_again(rp, rotate, true, 2).await;
}

#[tokio::test]
async fn a_bad_signature_against_the_cached_key_set_is_refused_after_one_refetch() {
    let foreign = |rp: &mut Rp| rp.emulator.faults().signing = Signing::ForeignKey;
    sign_in_again(rp("client_secret_post"), foreign, false, 2).await;
}

/// The callback's ID token must verify: when the key set cannot be
/// fetched, the sign-in fails rather than trusting the token unsigned.
#[tokio::test]
async fn a_sign_in_whose_key_set_cannot_be_fetched_fails() {
    let mut rp = rp("client_secret_post");
    *rp.recorder.fail_path.lock().unwrap() =
        Some(("/.well-known/jwks".into(), TransportError::Timeout));
    let done = rp.sign_in().await;
    assert_eq!(location(&done), "/auth/error?error=provider_unavailable");
    testkit::assert_no_session(rp.jar());
}

/// Signs in; then the provider rotates its key (a `kid` the cached set
/// lacks) while the key set cannot be fetched, and the next refresh's ID
/// token carries `edit`: the claims are all the app can check (the control,
/// an unedited token, is kept: `rotated_tokens_survive_an_id_token_that_
/// cannot_be_checked_now` in `tests/session/refresh.rs`). Checks that the
/// refresh is refused as a failed verification is: 401 `invalid_token`, no
/// session left, the new tokens revoked.
async fn refused_while_the_keys_are_unavailable(
    edit_claims: impl Fn(&mut Map<String, Value>) + Send + Sync + 'static,
) {
    let mut rp = rp("client_secret_post");
    accepted(&mut rp).await;
    rp.emulator.rotate_key(false);
    *rp.recorder.fail_path.lock().unwrap() =
        Some(("/.well-known/jwks".into(), TransportError::Timeout));
    edit(&rp, edit_claims);
    rp.advance(3601);
    rp.clear_log();
    let answer = rp.get("/api/user-info").await;
    // Beside the token call (the cached set is an hour old), then for the
    // new kid.
    assert_eq!(
        rp.sent_to("/.well-known/jwks").len(),
        2,
        "the fetches for the new kid were tried"
    );
    ended_and_revoked(&rp, &answer);
}

/// OpenID Connect Core §12.2 with §3.1.3.7 step 6: when the keys cannot be
/// fetched, the refreshed ID token (straight from the token endpoint) is
/// still checked claim by claim; one about another user ends the session
/// as one that failed verification does, and its tokens are revoked.
#[tokio::test]
async fn a_refreshed_id_token_about_another_user_is_refused_while_the_keys_are_unavailable() {
    refused_while_the_keys_are_unavailable(|c| {
        c.insert("sub".into(), json!("usr_someone_else"));
    })
    .await;
}

#[tokio::test]
async fn a_refreshed_id_token_for_another_client_is_refused_while_the_keys_are_unavailable() {
    refused_while_the_keys_are_unavailable(|c| {
        c.insert("aud".into(), json!("cl_someone_else"));
    })
    .await;
}

#[tokio::test]
async fn an_expired_refreshed_id_token_is_refused_while_the_keys_are_unavailable() {
    refused_while_the_keys_are_unavailable(|c| {
        let iat = c["iat"].as_i64().unwrap();
        c.insert("exp".into(), json!(iat - 120));
    })
    .await;
}
