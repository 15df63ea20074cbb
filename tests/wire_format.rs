//! The exact requests sent to each provider endpoint: form bodies, client
//! authentication and headers.

mod support;

use base64::Engine as _;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use support::*;

fn body(request: &http::Request<Vec<u8>>) -> String {
    String::from_utf8(request.body().clone()).unwrap()
}

fn form(request: &http::Request<Vec<u8>>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(request.body())
        .into_owned()
        .collect()
}

fn expected_basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{SECRET}"))
    )
}

/// The flow's verifier, read back from the request that carried it.
fn verifier_and_code(rp: &Rp) -> (String, String) {
    let sent = rp.sent_to("/login/oauth/token");
    let f = form(&sent[0]);
    let get = |k: &str| f.iter().find(|(n, _)| n == k).unwrap().1.clone();
    (get("code_verifier"), get("code"))
}

#[tokio::test]
async fn code_exchange_with_client_secret_post() {
    let mut rp = rp("client_secret_post");
    rp.sign_in().await;
    let sent = rp.sent_to("/login/oauth/token");
    assert_eq!(sent.len(), 1);
    let request = &sent[0];
    assert_eq!(request.method(), "POST");
    assert_eq!(
        request.uri().to_string(),
        format!("{API}/login/oauth/token")
    );
    assert_eq!(
        request.headers()[CONTENT_TYPE],
        "application/x-www-form-urlencoded"
    );
    assert!(request.headers().get(AUTHORIZATION).is_none());
    let (verifier, code) = verifier_and_code(&rp);
    assert_eq!(
        body(request),
        format!(
            "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fapi%2Fauth%2Fcallback&code_verifier={verifier}&client_id={CLIENT_ID}&client_secret={SECRET}"
        )
    );
    assert_eq!(verifier.len(), 43);
}

#[tokio::test]
async fn code_exchange_with_client_secret_basic() {
    let mut rp = rp("client_secret_basic");
    rp.sign_in().await;
    let request = &rp.sent_to("/login/oauth/token")[0];
    assert_eq!(request.headers()[AUTHORIZATION], expected_basic().as_str());
    let (verifier, code) = verifier_and_code(&rp);
    assert_eq!(
        body(request),
        format!(
            "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fapi%2Fauth%2Fcallback&code_verifier={verifier}"
        )
    );
}

#[tokio::test]
async fn code_exchange_as_a_public_client() {
    let mut rp = rp("none");
    rp.sign_in().await;
    let request = &rp.sent_to("/login/oauth/token")[0];
    assert!(request.headers().get(AUTHORIZATION).is_none());
    let (verifier, code) = verifier_and_code(&rp);
    assert_eq!(
        body(request),
        format!(
            "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fapi%2Fauth%2Fcallback&code_verifier={verifier}&client_id={CLIENT_ID}"
        )
    );
}

#[tokio::test]
async fn code_verifier_sent_matches_the_challenge_sent() {
    let mut rp = rp("client_secret_post");
    let start = rp.get("/api/auth/authorize").await;
    let url = url::Url::parse(&location(&start)).unwrap();
    let challenge = url
        .query_pairs()
        .find(|(k, _)| k == "code_challenge")
        .unwrap()
        .1
        .into_owned();
    let back = rp.consent(url.as_str(), "allow");
    rp.get(back.strip_prefix(APP).unwrap()).await;
    let (verifier, _) = verifier_and_code(&rp);
    assert_eq!(sign_in_with_vercel::s256_challenge(&verifier), challenge);
}

#[tokio::test]
async fn refresh_request_with_client_secret_post() {
    let mut rp = rp("client_secret_post");
    rp.sign_in().await;
    let (_, refresh) = rp.issued();
    rp.advance(3600);
    rp.clear_log();
    rp.get("/api/user-info").await;
    let request = &rp.sent_to("/login/oauth/token")[0];
    assert_eq!(
        body(request),
        format!(
            "grant_type=refresh_token&refresh_token={refresh}&client_id={CLIENT_ID}&client_secret={SECRET}"
        )
    );
}

#[tokio::test]
async fn refresh_request_with_client_secret_basic() {
    let mut rp = rp("client_secret_basic");
    rp.sign_in().await;
    let (_, refresh) = rp.issued();
    rp.advance(3600);
    rp.clear_log();
    rp.get("/api/user-info").await;
    let request = &rp.sent_to("/login/oauth/token")[0];
    assert_eq!(request.headers()[AUTHORIZATION], expected_basic().as_str());
    assert_eq!(
        body(request),
        format!("grant_type=refresh_token&refresh_token={refresh}")
    );
}

#[tokio::test]
async fn revocation_uses_http_basic_even_for_client_secret_post() {
    let mut rp = rp("client_secret_post");
    rp.sign_in().await;
    let (access, refresh) = rp.issued();
    rp.send("POST", "/api/auth/signout").await;
    let mut sent = rp.sent_to("/login/oauth/token/revoke");
    sent.sort_by_key(body);
    assert_eq!(sent.len(), 2);
    for request in &sent {
        assert_eq!(request.headers()[AUTHORIZATION], expected_basic().as_str());
        assert_eq!(
            request.headers()[CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
    }
    let bodies: Vec<String> = sent.iter().map(body).collect();
    assert!(bodies.contains(&format!("token={access}&token_type_hint=access_token")));
    assert!(bodies.contains(&format!("token={refresh}&token_type_hint=refresh_token")));
}

#[tokio::test]
async fn revocation_by_a_public_client_sends_its_client_id() {
    let mut rp = rp("none");
    rp.sign_in().await;
    let (access, _) = rp.issued();
    rp.send("POST", "/api/auth/signout").await;
    let sent = rp.sent_to("/login/oauth/token/revoke");
    let bodies: Vec<String> = sent.iter().map(body).collect();
    assert!(bodies.contains(&format!(
        "token={access}&token_type_hint=access_token&client_id={CLIENT_ID}"
    )));
    assert!(
        sent.iter()
            .all(|r| r.headers().get(AUTHORIZATION).is_none())
    );
}

#[tokio::test]
async fn introspection_request() {
    let mut rp = rp("client_secret_post");
    rp.sign_in().await;
    let (access, _) = rp.issued();
    rp.get("/api/validate-token").await;
    let request = &rp.sent_to("/login/oauth/token/introspect")[0];
    assert_eq!(request.method(), "POST");
    assert_eq!(
        body(request),
        format!(
            "token={access}&token_type_hint=access_token&client_id={CLIENT_ID}&client_secret={SECRET}"
        )
    );
}

#[tokio::test]
async fn userinfo_request_sends_the_bearer_token() {
    let mut rp = rp("client_secret_post");
    rp.sign_in().await;
    let (access, _) = rp.issued();
    rp.get("/api/user-info").await;
    let request = &rp.sent_to("/login/oauth/userinfo")[0];
    assert_eq!(request.method(), "GET");
    assert_eq!(
        request.headers()[AUTHORIZATION],
        format!("Bearer {access}").as_str()
    );
    assert!(request.body().is_empty());
    assert!(request.headers()[AUTHORIZATION].is_sensitive());
}

#[tokio::test]
async fn no_secret_reaches_a_url_we_build() {
    let mut rp = rp("client_secret_post");
    let start = rp.get("/api/auth/authorize").await;
    let url = location(&start);
    let back = rp.consent(&url, "allow");
    let done = rp.get(back.strip_prefix(APP).unwrap()).await;
    let (verifier, _) = verifier_and_code(&rp);
    let verifier = verifier.as_str();
    assert!(!url.contains(verifier), "verifier never leaves in the URL");
    assert!(!url.contains(SECRET));
    assert!(!location(&done).contains("code"));
    for request in rp.recorder.requests.lock().unwrap().iter() {
        let uri = request.uri().to_string();
        assert!(!uri.contains(SECRET) && !uri.contains(verifier), "{uri}");
    }
}
