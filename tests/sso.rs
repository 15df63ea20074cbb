//! The marketplace integration SSO token exchange (Vercel's REST API reference,
//! `POST /v1/integrations/sso/token`) against the in-process emulator: the
//! redirect login, the exchange, the ID token as the marketplace issues it (its
//! own issuer and keys, the integration as audience, typed claims with the
//! user's role), every ID-token rejection the sign-in has, and the example
//! function end to end.

mod support;

#[path = "../examples/integration_sso/handler.rs"]
mod handler;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Map, Value, json};
use sign_in_with_vercel::sso::{Integration, Marketplace, SsoCallback, SsoIdentity};
use sign_in_with_vercel::vercel_api::{FixedToken, VercelApi, current_token};
use sign_in_with_vercel::{ClientSecret, ConfigError, Error, IdTokenError, Nonce};
use sign_in_with_vercel_emulator::{Client, Signing};
use support::{API, CLIENT_ID, ISSUER, Recording, Rp, location, rp};

const INTEGRATION: &str = "oac_integration";
const INTEGRATION_SECRET: &str = "integration-secret-0123456789abcdefghijk";
const REDIRECT_LOGIN: &str = "http://localhost:4000/api/sso";
const NOW: i64 = 1_800_000_000;
/// The emulator's marketplace issuer, as `https://marketplace.vercel.com`
/// is Vercel's: derived from [`ISSUER`].
const MARKETPLACE: &str = "http://127.0.0.1:3003";

fn setup() -> Rp {
    let rp = rp("client_secret_post");
    rp.emulator.register_client(Client {
        client_id: INTEGRATION.into(),
        name: "Test integration".into(),
        client_secret: Some(INTEGRATION_SECRET.into()),
        token_endpoint_auth_method: "client_secret_post".into(),
        redirect_uris: vec![REDIRECT_LOGIN.into()],
        scopes: vec!["openid".into()],
    });
    rp
}

fn integration() -> Integration {
    Integration {
        client_id: INTEGRATION.into(),
        client_secret: ClientSecret::new(INTEGRATION_SECRET),
        redirect_uri: None,
    }
}

/// The exchange of `integration` against the emulator, on the test's clock,
/// its provider calls recorded.
fn marketplace(rp: &Rp, integration: Integration) -> Marketplace {
    wired(
        rp,
        Marketplace::new(integration, rp.emulator.marketplace_issuer(), API),
    )
}

/// `sso` talking to the emulator, on the test's clock, its provider calls
/// recorded.
fn wired(rp: &Rp, sso: Marketplace) -> Marketplace {
    let clock = rp.clock.clone();
    sso.with_http_client(Arc::new(Recording {
        emulator: rp.emulator.clone(),
        recorder: rp.recorder.clone(),
    }))
    .with_clock(Arc::new(move || clock.load(Ordering::SeqCst)))
}

/// Vercel's side of "Open in Provider": the redirect to the redirect login
/// URL, as the browser would follow it.
fn open_in_provider(rp: &Rp, query: &str) -> String {
    let response = rp.emulator.handle(
        &http::Request::get(format!("/sso/integrations/{INTEGRATION}?{query}"))
            .body(Vec::new())
            .unwrap(),
    );
    assert_eq!(response.status(), 302, "{:?}", response.body());
    location(&response)
}

fn callback_of(url: &str) -> SsoCallback {
    SsoCallback::from_query(url::Url::parse(url).unwrap().query().unwrap()).unwrap()
}

async fn exchange(rp: &Rp, nonce: Option<&str>) -> Result<SsoIdentity, Error> {
    let url = open_in_provider(rp, "state=st4te&nonce=n0nce");
    let nonce = nonce.map(Nonce::new);
    marketplace(rp, integration())
        .exchange(&callback_of(&url), nonce.as_ref())
        .await
}

fn edit(rp: &Rp, f: impl Fn(&mut Map<String, Value>) + Send + Sync + 'static) {
    rp.emulator.faults().id_token_claims = Some(Arc::new(f));
}

#[test]
fn redirect_login_carries_mode_code_state_and_the_deep_link() {
    let rp = setup();
    let url = url::Url::parse(&open_in_provider(&rp, "state=s&resource_id=res_1")).unwrap();
    assert!(url.as_str().starts_with(REDIRECT_LOGIN));
    let params: Map<String, Value> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), json!(v)))
        .collect();
    assert_eq!(params["mode"], "sso");
    assert_eq!(params["state"], "s");
    assert_eq!(params["resource_id"], "res_1");
    assert!(params["code"].as_str().unwrap().len() >= 32);
}

#[tokio::test]
async fn exchange_verifies_the_marketplace_id_token_for_the_integration() {
    let rp = setup();
    assert_eq!(rp.emulator.marketplace_issuer(), MARKETPLACE);
    let identity = exchange(&rp, None).await.unwrap();
    let claims = &identity.claims;
    assert_eq!(claims.iss, MARKETPLACE);
    assert_eq!(
        claims.sub,
        format!("account:{}:user:{}", claims.account_id, claims.user_id)
    );
    let demo = &rp.emulator.users()[0];
    assert_eq!(claims.user_id, demo.marketplace_user_id());
    assert_eq!(claims.account_id, demo.account_id);
    assert_eq!(
        claims.installation_id,
        rp.emulator.installation_id(INTEGRATION, &claims.account_id)
    );
    assert!(
        claims.is_admin(),
        "the demo user administers the demo account"
    );
    assert_eq!(claims.user_email.as_deref(), Some("demo@example.com"));
    assert_eq!(claims.user_name.as_deref(), Some("Demo User"));
    assert_eq!(identity.token_type.as_deref(), Some("Bearer"));
    // The keys were the marketplace's, not the sign-in's.
    assert_eq!(rp.sent_to("/.well-known/jwks").len(), 1);
    assert!(
        rp.sent_to("/.well-known/jwks")[0]
            .uri()
            .to_string()
            .starts_with(MARKETPLACE)
    );
}

#[tokio::test]
async fn the_users_role_is_the_accounts() {
    let rp = setup();
    rp.emulator.set_user_role(
        "usr_demo1234567890",
        sign_in_with_vercel_emulator::Role::User,
    );
    let identity = exchange(&rp, None).await.unwrap();
    assert_eq!(
        identity.claims.user_role,
        sign_in_with_vercel::sso::Role::User
    );
    assert!(!identity.claims.is_admin());
}

#[tokio::test]
async fn a_token_signed_by_the_sign_in_key_is_refused_by_the_sso_verifier() {
    let rp = setup();
    // Every claim right, but signed by the sign-in issuer's key and named
    // after the sign-in issuer: the marketplace's key set does not have it.
    rp.emulator.faults().marketplace_signed_by_sign_in_key = true;
    refused_with(&rp, None, IdTokenError::UnknownKey).await;
}

#[tokio::test]
async fn a_marketplace_token_is_refused_by_the_sign_in_verifier() {
    // The reverse: the sign-in verifies against the sign-in issuer's keys,
    // and a marketplace token names another issuer and another key.
    let rp = setup();
    let verifier = wired(&rp, Marketplace::new(integration(), ISSUER, API));
    let url = open_in_provider(&rp, "state=st4te");
    let result = verifier.exchange(&callback_of(&url), None).await;
    assert_eq!(result.err(), Some(Error::IdToken(IdTokenError::UnknownKey)));
}

#[tokio::test]
async fn exchange_posts_json_to_the_sso_endpoint_without_a_bearer() {
    let rp = setup();
    exchange(&rp, None).await.unwrap();
    let sent = rp.sent_to("/v1/integrations/sso/token");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method(), http::Method::POST);
    assert_eq!(sent[0].headers()["content-type"], "application/json");
    assert!(!sent[0].headers().contains_key("authorization"));
    let body: Value = serde_json::from_slice(sent[0].body()).unwrap();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["client_id", "client_secret", "code", "state"]);
    assert_eq!(body["client_id"], INTEGRATION);
}

#[tokio::test]
async fn the_sso_access_token_calls_the_rest_api() {
    let rp = setup();
    let identity = exchange(&rp, None).await.unwrap();
    let tokens = FixedToken(identity.access_token.unwrap());
    let client = testkit::EmulatorClient(rp.emulator.clone());
    let api = VercelApi::new(&client, API, &tokens);
    let meta = current_token(&api).await.unwrap();
    assert_eq!(meta.name, "Test integration");
}

#[tokio::test]
async fn code_is_single_use() {
    let rp = setup();
    let url = open_in_provider(&rp, "state=s");
    let callback = callback_of(&url);
    marketplace(&rp, integration())
        .exchange(&callback, None)
        .await
        .unwrap();
    let again = marketplace(&rp, integration())
        .exchange(&callback, None)
        .await;
    assert_eq!(
        again.err(),
        Some(Error::TokenRejected("invalid_grant".into()))
    );
}

#[tokio::test]
async fn state_other_than_the_initialization_requests_is_refused() {
    let rp = setup();
    let url = open_in_provider(&rp, "state=s");
    let mut callback = callback_of(&url);
    callback.state = Some("other".into());
    let result = marketplace(&rp, integration())
        .exchange(&callback, None)
        .await;
    assert_eq!(
        result.err(),
        Some(Error::TokenRejected("invalid_grant".into()))
    );
}

#[tokio::test]
async fn wrong_client_secret_is_refused() {
    let rp = setup();
    let url = open_in_provider(&rp, "state=s");
    let mut wrong = integration();
    wrong.client_secret = ClientSecret::new("nope");
    let result = marketplace(&rp, wrong)
        .exchange(&callback_of(&url), None)
        .await;
    assert_eq!(
        result.err(),
        Some(Error::TokenRejected("invalid_grant".into()))
    );
}

#[tokio::test]
async fn unknown_integration_is_not_found() {
    let rp = setup();
    let url = open_in_provider(&rp, "state=s");
    let mut other = integration();
    other.client_id = "oac_unknown".into();
    let result = marketplace(&rp, other)
        .exchange(&callback_of(&url), None)
        .await;
    assert_eq!(
        result.err(),
        Some(Error::TokenRejected("invalid_client".into()))
    );
}

// --- every ID-token rejection of the sign-in ---------------------------

async fn refused_with(rp: &Rp, nonce: Option<&str>, expected: IdTokenError) {
    match exchange(rp, nonce).await {
        Err(Error::IdToken(e)) => assert_eq!(e, expected),
        other => panic!(
            "expected {expected:?}, got {:?}",
            other.map(|_| "an identity")
        ),
    }
}

macro_rules! rejects_claims {
    ($($name:ident: $edit:expr => $expected:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            let rp = setup();
            edit(&rp, $edit);
            refused_with(&rp, None, $expected).await;
        }
    )*};
}

rejects_claims! {
    a_token_for_another_integration_is_refused: |c| { c.insert("aud".into(), json!("oac_another_integration")); } => IdTokenError::AudienceMismatch;
    a_marketplace_access_token_offered_as_the_id_token_is_refused: |c| { c.insert("type".into(), json!("access_token")); } => IdTokenError::NotAnIdToken;
    a_token_without_type_is_refused: |c| { c.remove("type"); } => IdTokenError::MissingClaim("type");
    a_token_without_the_users_role_is_refused: |c| { c.remove("user_role"); } => IdTokenError::MissingClaim("user_role");
    rejects_the_apps_audience: |c| { c.insert("aud".into(), json!(CLIENT_ID)); } => IdTokenError::AudienceMismatch;
    rejects_missing_audience: |c| { c.remove("aud"); } => IdTokenError::AudienceMismatch;
    rejects_a_second_audience: |c| { c.insert("aud".into(), json!([INTEGRATION, "x"])); } => IdTokenError::AudienceMismatch;
    rejects_azp_of_another_client: |c| { c.insert("azp".into(), json!(CLIENT_ID)); } => IdTokenError::AuthorizedPartyMismatch;
    rejects_wrong_issuer: |c| { c.insert("iss".into(), json!("https://vercel.com")); } => IdTokenError::IssuerMismatch;
    rejects_expired_token: |c| { c.insert("exp".into(), json!(NOW - 61)); } => IdTokenError::Expired;
    rejects_missing_exp: |c| { c.remove("exp"); } => IdTokenError::Expired;
    rejects_nbf_in_the_future: |c| { c.insert("nbf".into(), json!(NOW + 61)); } => IdTokenError::NotYetValid;
    rejects_iat_in_the_future: |c| { c.insert("iat".into(), json!(NOW + 61)); } => IdTokenError::InvalidIssuedAt;
    rejects_missing_iat: |c| { c.remove("iat"); } => IdTokenError::InvalidIssuedAt;
    rejects_missing_sub: |c| { c.remove("sub"); } => IdTokenError::MissingSubject;
    rejects_the_sign_in_issuer: |c| { c.insert("iss".into(), json!(ISSUER)); } => IdTokenError::IssuerMismatch;
    rejects_issuer_with_trailing_slash: |c| { c.insert("iss".into(), json!(format!("{MARKETPLACE}/"))); } => IdTokenError::IssuerMismatch;
    rejects_non_numeric_exp: |c| { c.insert("exp".into(), json!("tomorrow")); } => IdTokenError::Expired;
    rejects_at_hash_of_another_access_token: |c| { c.insert("at_hash".into(), json!("AAAAAAAAAAAAAAAAAAAAAA")); } => IdTokenError::AccessTokenHashMismatch;
}

macro_rules! rejects_signing {
    ($($name:ident: $signing:ident => $expected:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            let rp = setup();
            rp.emulator.faults().signing = Signing::$signing;
            refused_with(&rp, None, $expected).await;
        }
    )*};
}

rejects_signing! {
    rejects_alg_none: None => IdTokenError::UnsupportedAlgorithm("none".into());
    rejects_hs256_signed_with_the_public_key: Hs256WithPublicKey => IdTokenError::UnsupportedAlgorithm("HS256".into());
    rejects_bad_signature: CorruptSignature => IdTokenError::BadSignature;
    rejects_signature_by_an_unpublished_key: ForeignKey => IdTokenError::BadSignature;
    rejects_unknown_kid_after_a_refetch: UnpublishedKid => IdTokenError::UnknownKey;
}

#[tokio::test]
async fn rejects_token_without_kid_when_the_key_set_has_several_keys() {
    let rp = setup();
    rp.emulator.rotate_marketplace_key(true);
    rp.emulator.faults().signing = Signing::Rs256WithoutKid;
    refused_with(&rp, None, IdTokenError::AmbiguousKey).await;
}

#[tokio::test]
async fn unknown_kid_refetches_the_key_set_once_and_accepts_the_rotated_key() {
    let rp = setup();
    exchange(&rp, None).await.unwrap();
    rp.emulator.rotate_marketplace_key(false);
    exchange(&rp, None).await.unwrap();
    assert_eq!(rp.sent_to("/.well-known/jwks").len(), 2);
}

#[tokio::test]
async fn rejects_nonce_mismatch() {
    let rp = setup();
    edit(&rp, |c| {
        c.insert("nonce".into(), json!("n0nce"));
    });
    refused_with(&rp, Some("another"), IdTokenError::NonceMismatch).await;
}

/// Vercel's marketplace tokens carry no nonce, whoever started the login:
/// a caller that passes one has every login refused, which is why the
/// docs say to pass `None` and bind a login by its `state`.
#[tokio::test]
async fn rejects_missing_nonce_when_one_was_sent() {
    let rp = setup();
    refused_with(&rp, Some("n0nce"), IdTokenError::NonceMismatch).await;
}

/// An issuer that echoes a nonce (not Vercel's marketplace): the one sent
/// is accepted.
#[tokio::test]
async fn accepts_the_nonce_that_was_sent() {
    let rp = setup();
    edit(&rp, |c| {
        c.insert("nonce".into(), json!("n0nce"));
    });
    assert!(exchange(&rp, Some("n0nce")).await.is_ok());
}

#[tokio::test]
async fn accepts_expiry_within_the_clock_skew_leeway() {
    let rp = setup();
    edit(&rp, |c| {
        c.insert("exp".into(), json!(NOW - 30));
    });
    assert!(exchange(&rp, None).await.is_ok());
}

// --- the example function, end to end -----------------------------------

/// The example's exchange, configured from the environment it would have
/// on Vercel, pointed at the emulator.
fn integration_sso(rp: &Rp) -> Result<Marketplace, ConfigError> {
    let vars = [
        ("INTEGRATION_CLIENT_ID", INTEGRATION),
        ("INTEGRATION_CLIENT_SECRET", INTEGRATION_SECRET),
        ("VERCEL_MARKETPLACE_ISSUER", MARKETPLACE),
        ("VERCEL_API_URL", API),
    ];
    let sso = Marketplace::from_lookup(|k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    })?;
    Ok(wired(rp, sso))
}

async fn run_example(sso: &Result<Marketplace, ConfigError>, url: &str) -> (u16, String) {
    let path = url.strip_prefix("http://localhost:4000").unwrap();
    let request = http::Request::get(path)
        .header("host", "localhost:4000")
        .body(())
        .unwrap();
    let response = handler::redirect_login(sso, &request).await;
    (
        response.status().as_u16(),
        String::from_utf8(response.body().to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn example_function_signs_the_user_in_from_open_in_provider() {
    let rp = setup();
    let sso = integration_sso(&rp);
    let url = open_in_provider(&rp, "resource_id=res_42");
    let (status, body) = run_example(&sso, &url).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("Signed in with Vercel as Demo User."),
        "{body}"
    );
    assert!(body.contains("You can manage this installation."), "{body}");
    assert!(body.contains("Opening resource res_42."), "{body}");
}

#[tokio::test]
async fn example_function_reads_the_users_role() {
    let rp = setup();
    rp.emulator.set_user_role(
        "usr_demo1234567890",
        sign_in_with_vercel_emulator::Role::User,
    );
    let sso = integration_sso(&rp);
    let url = open_in_provider(&rp, "");
    let (status, body) = run_example(&sso, &url).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("You can view this installation"), "{body}");
    assert!(!body.contains("You can manage"), "{body}");
}

#[tokio::test]
async fn example_function_without_its_credentials_says_configuration() {
    let rp = setup();
    let sso = Marketplace::from_lookup(|_| None);
    assert_eq!(
        sso.as_ref().err().map(|e| e.variable),
        Some("INTEGRATION_CLIENT_ID")
    );
    let url = open_in_provider(&rp, "");
    let (status, body) = run_example(&sso, &url).await;
    assert_eq!(status, 500);
    assert!(body.contains("not configured correctly"), "{body}");
}

#[tokio::test]
async fn example_function_refuses_a_replayed_code() {
    let rp = setup();
    let sso = integration_sso(&rp);
    let url = open_in_provider(&rp, "state=s");
    assert_eq!(run_example(&sso, &url).await.0, 200);
    let (status, body) = run_example(&sso, &url).await;
    assert_eq!(status, 401);
    let code = url
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .expect("the redirect carries a code");
    assert!(!code.is_empty() && !body.contains(code), "{body}");
    assert!(!body.contains("code="), "{body}");
}

#[tokio::test]
async fn example_function_refuses_an_id_token_for_another_audience() {
    let rp = setup();
    let sso = integration_sso(&rp);
    edit(&rp, |c| {
        c.insert("aud".into(), json!(CLIENT_ID));
    });
    let url = open_in_provider(&rp, "");
    let (status, body) = run_example(&sso, &url).await;
    assert_eq!(status, 401);
    assert!(
        body.contains("The ID token could not be verified."),
        "{body}"
    );
}

#[test]
fn the_readmes_example_is_the_one_the_docs_compile() {
    support::assert_readme_example_is_compiled(
        "## Marketplace integrations: SSO",
        include_str!("../crates/sign-in-with-vercel/src/sso/mod.rs"),
    );
}
