//! Vercel's REST API as the user, against the in-process emulator: the
//! user-token endpoints of Vercel's REST API reference end to end, and the
//! client's refresh-and-retry on a refused token, once and only once.

mod support;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use sign_in_with_vercel::vercel_api::{
    CURRENT, FixedToken, ListTokens, NewToken, Team, TokenSource, VercelApi, VercelApiError,
    api_base, current_token,
};
use sign_in_with_vercel::{
    AccessToken, BoxFuture, Error, HttpClient, HttpRequest, HttpResponse, TransportError,
    s256_challenge,
};
use support::{API, APP, CLIENT_ID, ISSUER, Rp, SECRET, rp};

const VERIFIER: &str = "dBjftJeZ4CQP-mJ0zWc5hhhiGSpAEapVcBaeMbJwhV1-Xfz4Twt6OBMO";

/// An access token from the emulator's code flow, driven directly.
fn access_token(rp: &Rp) -> AccessToken {
    let redirect_uri = format!("{APP}/api/auth/callback");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email profile offline_access")
        .append_pair("code_challenge", &s256_challenge(VERIFIER))
        .append_pair("code_challenge_method", "S256")
        .finish();
    let back = rp.consent(&format!("{ISSUER}/oauth/authorize?{query}"), "allow");
    let code = url::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", &code)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("code_verifier", VERIFIER)
        .append_pair("client_id", CLIENT_ID)
        .append_pair("client_secret", SECRET)
        .finish();
    let response = rp.emulator.handle(
        &http::Request::post("/login/oauth/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.into_bytes())
            .unwrap(),
    );
    assert_eq!(response.status(), 200);
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    AccessToken::new(body["access_token"].as_str().unwrap())
}

/// A signed-in user's API client setup: the emulator and a token.
struct Setup {
    /// The emulator as the REST client's HTTP client.
    client: testkit::EmulatorClient,
    rp: Rp,
    tokens: FixedToken,
}

fn setup() -> Setup {
    let rp = rp("client_secret_post");
    let tokens = FixedToken(access_token(&rp));
    Setup {
        client: testkit::EmulatorClient(rp.emulator.clone()),
        rp,
        tokens,
    }
}

impl Setup {
    fn api(&self) -> VercelApi<'_> {
        VercelApi::new(&self.client, API, &self.tokens)
    }
}

fn new_token(name: &str) -> NewToken {
    NewToken {
        name: name.into(),
        ..NewToken::default()
    }
}

#[test]
fn api_base_follows_the_emulators_discovery() {
    let rp = rp("client_secret_post");
    let doc = rp.emulator.handle(
        &http::Request::get("/.well-known/openid-configuration")
            .body(Vec::new())
            .unwrap(),
    );
    let metadata = sign_in_with_vercel::ProviderMetadata::from_response(
        ISSUER,
        &http::Response::new(doc.body().to_vec()),
    )
    .unwrap();
    assert_eq!(api_base(&metadata).as_deref(), Some(API));
}

#[tokio::test]
async fn current_names_the_calling_oauth_token() {
    let s = setup();
    let meta = current_token(&s.api()).await.unwrap();
    assert_eq!(meta.kind, "oauth2-token");
    assert_eq!(meta.name, "Test app");
    assert_eq!(meta.id.len(), 64);
    assert!(meta.expires_at.is_some());
}

#[tokio::test]
async fn created_token_is_shown_once_and_works_as_a_bearer_token() {
    let s = setup();
    let created = s.api().create_token(&new_token("ci")).await.unwrap();
    assert_eq!(created.token.name, "ci");
    let own = FixedToken(AccessToken::new(created.bearer_token.secret()));
    let api = VercelApi::new(&s.client, API, &own);
    let meta = api.token(CURRENT).await.unwrap();
    assert_eq!(meta.id, created.token.id);
    assert_eq!(meta.kind, "token");
}

#[tokio::test]
async fn created_token_keeps_its_expiry() {
    let s = setup();
    let at = 1_900_000_000_000;
    let new = NewToken {
        expires_at: Some(at),
        ..new_token("short")
    };
    let created = s.api().create_token(&new).await.unwrap();
    assert_eq!(created.token.expires_at, Some(at));
}

#[tokio::test]
async fn metadata_of_a_token_by_its_id() {
    let s = setup();
    let created = s.api().create_token(&new_token("by id")).await.unwrap();
    let meta = s.api().token(&created.token.id).await.unwrap();
    assert_eq!(meta, created.token);
}

#[tokio::test]
async fn list_pages_through_tokens_with_until() {
    let s = setup();
    for name in ["a", "b", "c"] {
        s.api().create_token(&new_token(name)).await.unwrap();
    }
    // Four tokens: the three created and the OAuth token itself.
    let first = s
        .api()
        .list_tokens(&ListTokens {
            limit: Some(3),
            ..ListTokens::default()
        })
        .await
        .unwrap();
    assert_eq!(first.pagination.count, 3);
    let names: Vec<&str> = first.tokens.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["c", "b", "a"]);
    let next = first.next_page(Some(3)).expect("a next page");
    let second = s.api().list_tokens(&next).await.unwrap();
    assert_eq!(second.tokens.len(), 1);
    assert_eq!(second.tokens[0].kind, "oauth2-token");
    assert_eq!(second.pagination.next, None);
}

#[tokio::test]
async fn list_pages_back_with_since() {
    let s = setup();
    for name in ["a", "b", "c"] {
        s.api().create_token(&new_token(name)).await.unwrap();
    }
    let two = |since, until| ListTokens {
        limit: Some(2),
        since,
        until,
    };
    let first = s.api().list_tokens(&two(None, None)).await.unwrap();
    let second = s
        .api()
        .list_tokens(&two(None, first.pagination.next))
        .await
        .unwrap();
    assert!(first.pagination.next.is_some() && second.pagination.prev.is_some());
    assert!(!second.tokens.is_empty() && second.tokens != first.tokens);
    let back = s
        .api()
        .list_tokens(&two(second.pagination.prev, None))
        .await
        .unwrap();
    assert_eq!(back.tokens, first.tokens);
}

#[tokio::test]
async fn deleted_token_stops_working_at_once() {
    let s = setup();
    let created = s.api().create_token(&new_token("gone")).await.unwrap();
    let deleted = s.api().delete_token(&created.token.id).await.unwrap();
    assert_eq!(deleted, created.token.id);
    let own = FixedToken(AccessToken::new(created.bearer_token.secret()));
    let api = VercelApi::new(&s.client, API, &own);
    assert!(matches!(
        api.token(CURRENT).await,
        Err(VercelApiError::Refresh(Error::TokenInactive))
    ));
    assert!(matches!(
        s.api().token(&created.token.id).await,
        Err(VercelApiError::NotFound(_))
    ));
}

#[tokio::test]
async fn deleting_current_revokes_the_oauth_access_token_everywhere() {
    let s = setup();
    s.api().delete_token(CURRENT).await.unwrap();
    let userinfo = s.rp.emulator.handle(
        &http::Request::get("/login/oauth/userinfo")
            .header("authorization", format!("Bearer {}", s.tokens.0.secret()))
            .body(Vec::new())
            .unwrap(),
    );
    assert_eq!(userinfo.status(), 401);
}

#[tokio::test]
async fn unknown_token_id_is_not_found() {
    let s = setup();
    let e = s.api().token(&"0".repeat(64)).await.unwrap_err();
    let VercelApiError::NotFound(problem) = e else {
        panic!("{e:?}")
    };
    assert_eq!(problem.code.as_deref(), Some("not_found"));
}

#[tokio::test]
async fn malformed_token_id_is_invalid() {
    let s = setup();
    assert!(matches!(
        s.api().token("not-an-id").await,
        Err(VercelApiError::Invalid(_))
    ));
}

#[tokio::test]
async fn creating_without_a_name_is_invalid() {
    let s = setup();
    assert!(matches!(
        s.api().create_token(&new_token(" ")).await,
        Err(VercelApiError::Invalid(_))
    ));
}

#[tokio::test]
async fn creating_for_a_team_the_user_is_not_in_is_forbidden() {
    let s = setup();
    let new = NewToken {
        team: Some(Team::Slug("acme".into())),
        ..new_token("team")
    };
    let e = s.api().create_token(&new).await.unwrap_err();
    assert!(matches!(e, VercelApiError::Forbidden(_)), "{e:?}");
}

#[tokio::test]
async fn generic_get_returns_the_json() {
    let s = setup();
    let value = s.api().get("/v5/user/tokens/current").await.unwrap();
    assert_eq!(value["token"]["type"], "oauth2-token");
    let posted = s
        .api()
        .post("/v3/user/tokens", &json!({ "name": "generic" }))
        .await
        .unwrap();
    assert!(posted["bearerToken"].is_string());
}

#[tokio::test]
async fn generic_calls_refuse_other_hosts() {
    let s = setup();
    assert!(matches!(
        s.api().get("//evil.example/steal").await,
        Err(VercelApiError::InvalidArgument(_))
    ));
}

// --- refresh and retry -------------------------------------------------

/// A token source whose token goes stale, and whose refreshes hand out
/// the given tokens in order, counting them.
struct Rotating {
    current: Mutex<String>,
    next: Mutex<Vec<Result<String, Error>>>,
    refreshes: AtomicUsize,
}

impl Rotating {
    fn new(current: &str, next: Vec<Result<String, Error>>) -> Self {
        Self {
            current: Mutex::new(current.into()),
            next: Mutex::new(next),
            refreshes: AtomicUsize::new(0),
        }
    }
}

impl TokenSource for Rotating {
    fn access_token(&self) -> AccessToken {
        AccessToken::new(self.current.lock().unwrap().as_str())
    }

    fn refresh(&self) -> BoxFuture<'_, Result<AccessToken, Error>> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        let next = self.next.lock().unwrap().remove(0);
        if let Ok(token) = &next {
            *self.current.lock().unwrap() = token.clone();
        }
        Box::pin(async move { next.map(AccessToken::new) })
    }
}

/// The emulator, counting the requests it gets.
struct Counting {
    emulator: testkit::EmulatorClient,
    requests: AtomicUsize,
}

impl HttpClient for Counting {
    fn execute(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.emulator.execute(request)
    }
}

fn counting(rp: &Rp) -> Counting {
    Counting {
        emulator: testkit::EmulatorClient(rp.emulator.clone()),
        requests: AtomicUsize::new(0),
    }
}

#[tokio::test]
async fn refused_token_is_refreshed_once_and_the_call_retried_once() {
    let s = setup();
    let http = counting(&s.rp);
    let tokens = Rotating::new("vca_stale", vec![Ok(s.tokens.0.secret().to_owned())]);
    let api = VercelApi::new(&http, API, &tokens);
    let meta = current_token(&api).await.unwrap();
    assert_eq!(meta.kind, "oauth2-token");
    assert_eq!(tokens.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(http.requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_second_refusal_is_an_error_not_another_refresh() {
    let s = setup();
    let http = counting(&s.rp);
    let tokens = Rotating::new(
        "vca_stale",
        vec![Ok("vca_also_stale".into()), Ok("vca_never_asked".into())],
    );
    let api = VercelApi::new(&http, API, &tokens);
    let e = current_token(&api).await.unwrap_err();
    // Vercel's refusal of a token: 403 with `invalidToken`, not a 401.
    assert!(
        matches!(&e, VercelApiError::Forbidden(p) if p.invalid_token),
        "{e:?}"
    );
    assert_eq!(tokens.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(http.requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failed_refresh_is_returned_without_a_retry() {
    let s = setup();
    let http = counting(&s.rp);
    let tokens = Rotating::new(
        "vca_stale",
        vec![Err(Error::TokenRejected("invalid_grant".into()))],
    );
    let api = VercelApi::new(&http, API, &tokens);
    let e = current_token(&api).await.unwrap_err();
    assert_eq!(
        e,
        VercelApiError::Refresh(Error::TokenRejected("invalid_grant".into()))
    );
    assert_eq!(http.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn other_errors_are_not_retried() {
    let s = setup();
    let http = counting(&s.rp);
    let tokens = Rotating::new(s.tokens.0.secret(), vec![]);
    let api = VercelApi::new(&http, API, &tokens);
    let e = api.token(&"0".repeat(64)).await.unwrap_err();
    assert!(matches!(e, VercelApiError::NotFound(_)));
    assert_eq!(tokens.refreshes.load(Ordering::SeqCst), 0);
    assert_eq!(http.requests.load(Ordering::SeqCst), 1);
}

/// A provider that answers every call with one canned response.
struct Canned(u16, &'static [(&'static str, &'static str)], &'static str);

impl HttpClient for Canned {
    fn execute(&self, _: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let mut builder = http::Response::builder().status(self.0);
        for (k, v) in self.1 {
            builder = builder.header(*k, *v);
        }
        let response = builder.body(self.2.as_bytes().to_vec()).unwrap();
        Box::pin(async move { Ok(response) })
    }
}

#[tokio::test]
async fn rate_limit_reaches_the_caller_with_retry_after() {
    let tokens = FixedToken(AccessToken::new("vca_x"));
    let http = Canned(
        429,
        &[("retry-after", "12")],
        r#"{"error":{"code":"rate_limited","message":"Rate limit exceeded"}}"#,
    );
    let api = VercelApi::new(&http, "https://api.vercel.com", &tokens);
    let e = api.list_tokens(&ListTokens::default()).await.unwrap_err();
    assert!(matches!(
        e,
        VercelApiError::RateLimited { retry_after: Some(d), .. } if d.as_secs() == 12
    ));
}

#[tokio::test]
async fn vercels_invalid_token_403_is_refreshed_like_a_401() {
    let tokens = Rotating::new("vca_x", vec![Err(Error::TokenInactive)]);
    let http = Canned(
        403,
        &[],
        r#"{"error":{"code":"forbidden","message":"Not authorized","invalidToken":true}}"#,
    );
    let api = VercelApi::new(&http, "https://api.vercel.com", &tokens);
    let answer = api.get("/v2/user").await;
    assert!(
        matches!(answer, Err(VercelApiError::Refresh(Error::TokenInactive))),
        "{answer:?}"
    );
    assert_eq!(tokens.refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_plain_403_is_forbidden_without_a_refresh() {
    let tokens = Rotating::new("vca_x", vec![]);
    let http = Canned(
        403,
        &[],
        r#"{"error":{"code":"forbidden","message":"You do not have permission"}}"#,
    );
    let api = VercelApi::new(&http, "https://api.vercel.com", &tokens);
    assert!(matches!(
        api.delete("/v9/projects/x").await,
        Err(VercelApiError::Forbidden(_))
    ));
    assert_eq!(tokens.refreshes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn server_errors_are_typed_with_their_status() {
    let tokens = FixedToken(AccessToken::new("vca_x"));
    let http = Canned(502, &[], "<html>bad gateway</html>");
    let api = VercelApi::new(&http, "https://api.vercel.com", &tokens);
    assert!(matches!(
        api.token(CURRENT).await,
        Err(VercelApiError::Server { status: 502, .. })
    ));
}

#[tokio::test]
async fn requests_carry_the_bearer_token_to_the_exact_path() {
    let s = setup();
    let recorded = s.rp.recorder.clone();
    let http = support::Recording {
        emulator: s.rp.emulator.clone(),
        recorder: recorded.clone(),
    };
    let api = VercelApi::new(&http, API, &s.tokens);
    api.list_tokens(&ListTokens {
        limit: Some(5),
        since: Some(1),
        until: None,
    })
    .await
    .unwrap();
    let sent = recorded.requests.lock().unwrap().last().cloned().unwrap();
    assert_eq!(sent.method(), http::Method::GET);
    assert_eq!(
        sent.uri().to_string(),
        format!("{API}/v6/user/tokens?limit=5&since=1")
    );
    assert_eq!(
        sent.headers()["authorization"],
        format!("Bearer {}", s.tokens.0.secret()).as_str()
    );
}

#[test]
fn the_readmes_example_is_the_one_the_docs_compile() {
    support::assert_readme_example_is_compiled(
        "## Vercel's REST API as the user",
        include_str!("../crates/sign-in-with-vercel/src/vercel_api/mod.rs"),
    );
}
