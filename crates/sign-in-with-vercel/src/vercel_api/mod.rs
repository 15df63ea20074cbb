//! Vercel's REST API on the signed-in user's behalf, with the access token
//! of Sign in with Vercel ("used to authenticate requests to Vercel's REST
//! API", Vercel's token documentation).
//!
//! [`VercelApi`] runs each call through the one [`HttpClient`] seam, with the
//! transport's timeouts and body cap, and each call with its refresh and
//! retry within a deadline of its own ([`crate::REQUEST_DEADLINE`] from the
//! call's start: a handler may have spent the request's), except in this
//! crate's own routes, where it shares the request's. The user-token
//! endpoints of Vercel's REST API reference are typed ([`user_tokens`]);
//! anything else goes through [`VercelApi::get`], [`VercelApi::post`] and
//! [`VercelApi::delete`], JSON in and out.
//!
//! When the API refuses the token (401, or Vercel's 403 marked
//! `invalidToken`), the client asks its [`TokenSource`] for a fresh token
//! once and retries once; a second refusal is returned as an error.
//!
//! # Example
//!
//! A function of your own (a `[[bin]]` like the routes' shims) that asks
//! Vercel about the signed-in user's token: [`crate::Auth::vercel_api`]
//! gives the client inside [`crate::Auth::protect`], a refused token is
//! refreshed through the session, and the refreshed cookies ride on the
//! answer.
//!
//! ```no_run
//! use sign_in_with_vercel::vercel_api::CURRENT;
//! use sign_in_with_vercel::{Auth, KeepAlive, kept_alive};
//! use vercel_runtime::{AppState, Error, Request, Response, ResponseBody, run, service_fn};
//!
//! async fn handler(req: Request, state: AppState) -> Result<Response<ResponseBody>, Error> {
//!     let auth = Auth::global();
//!     let keep_alive = KeepAlive::new(move |work| state.wait_until(work));
//!     let answer = auth.protect(&req, async |session| {
//!         let text = match auth.vercel_api(&session).await {
//!             Ok(api) => match api.token(CURRENT).await {
//!                 Ok(token) => format!("Signed in with the token {:?}.", token.name),
//!                 // Its Display holds no token: Vercel's status and code.
//!                 Err(error) => error.to_string(),
//!             },
//!             Err(error) => error.description().to_owned(),
//!         };
//!         Response::new(ResponseBody::from(text))
//!     });
//!     Ok(kept_alive(keep_alive, answer).await)
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Error> {
//!     run(service_fn(handler)).await
//! }
//! ```
//!
//! The user's tokens, page by page ([`TokenPage::next_page`]), with a cap
//! of your own on the pages a request can afford:
//!
//! ```no_run
//! use sign_in_with_vercel::vercel_api::{ListTokens, VercelApi, VercelApiError};
//!
//! /// The names of the user's tokens, newest first: at most 5 pages of 20.
//! async fn token_names(api: &VercelApi<'_>) -> Result<Vec<String>, VercelApiError> {
//!     let mut names = Vec::new();
//!     let mut next = Some(ListTokens { limit: Some(20), ..ListTokens::default() });
//!     for _ in 0..5 {
//!         let Some(asked) = next else { break };
//!         let page = api.list_tokens(&asked).await?;
//!         next = page.next_page(Some(20));
//!         names.extend(page.tokens.into_iter().map(|token| token.name));
//!     }
//!     Ok(names)
//! }
//! ```
//!
//! A [`VercelApiError::RateLimited`] carries Vercel's `Retry-After`.
//! A created token ([`VercelApi::create_token`]) comes back once, as a
//! [`BearerToken`](crate::BearerToken) whose `Debug` is redacted: store it
//! then. Any other endpoint is [`VercelApi::get`] (`api.get("/v2/user")`),
//! [`VercelApi::post`] or [`VercelApi::delete`], kept to the API's origin.

mod error;
pub mod user_tokens;

use http::Method;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use url::Url;

pub use error::{Problem, VercelApiError};
pub use user_tokens::{
    CURRENT, CreatedToken, ListTokens, NewToken, Pagination, Team, TokenMetadata, TokenPage,
};

use crate::config::VERCEL_ISSUER;
use crate::discovery::ProviderMetadata;
use crate::secret::AccessToken;
use crate::transport::{
    BoxFuture, HttpClient, HttpRequest, HttpResponse, TransportError, base_request, bearer_header,
};

/// The REST API's origin for the default issuer.
pub const VERCEL_API: &str = "https://api.vercel.com";

/// Characters left as they are in a path segment (RFC 3986 §3.3 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Where the REST client gets the user's access token, and a fresh one after a 401.
pub trait TokenSource: Send + Sync {
    /// The access token to send now.
    fn access_token(&self) -> AccessToken;
    /// Forces a refresh after the provider refused the token; the new token, or why not.
    fn refresh(&self) -> BoxFuture<'_, Result<AccessToken, crate::Error>>;
}

impl<T: TokenSource + ?Sized> TokenSource for &T {
    fn access_token(&self) -> AccessToken {
        (**self).access_token()
    }

    fn refresh(&self) -> BoxFuture<'_, Result<AccessToken, crate::Error>> {
        (**self).refresh()
    }
}

/// A token that cannot be refreshed: a refusal is final. For a script with
/// a token of its own, or a function that has no refresh token.
pub struct FixedToken(pub AccessToken);

impl TokenSource for FixedToken {
    fn access_token(&self) -> AccessToken {
        AccessToken::new(self.0.secret())
    }

    fn refresh(&self) -> BoxFuture<'_, Result<AccessToken, crate::Error>> {
        Box::pin(async { Err(crate::Error::TokenInactive) })
    }
}

/// The REST API's base URL for a provider: [`VERCEL_API`] for Vercel, else
/// the origin of its token endpoint (the emulator serves both there), so
/// that it follows discovery.
pub fn api_base(metadata: &ProviderMetadata) -> Option<String> {
    if metadata.issuer == VERCEL_ISSUER {
        return Some(VERCEL_API.to_owned());
    }
    let url = Url::parse(&metadata.token_endpoint).ok()?;
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// A request to the API: JSON accepted, the bearer token (RFC 6750 §2.1),
/// and a JSON body when given.
pub(crate) fn json_request(
    method: Method,
    url: &str,
    token: &AccessToken,
    body: Option<&Value>,
) -> Option<HttpRequest> {
    let mut builder = base_request(method, url).header(AUTHORIZATION, bearer_header(token)?);
    let bytes = match body {
        Some(body) => {
            builder = builder.header(CONTENT_TYPE, "application/json");
            serde_json::to_vec(body).ok()?
        }
        None => Vec::new(),
    };
    builder.body(bytes).ok()
}

/// `id` as one path segment (RFC 3986 §3.3), percent-encoded so that a
/// `/`, `?` or `#` in it stays in the segment; empty, `.` and `..` are
/// refused (`None`). Build the paths of [`VercelApi::get`], `post` and
/// `delete` from ids with it: `format!("/v9/projects/{}", path_segment(id)?)`.
pub fn path_segment(id: &str) -> Option<String> {
    if matches!(id, "" | "." | "..") {
        return None;
    }
    Some(utf8_percent_encode(id, SEGMENT).to_string())
}

/// A client of Vercel's REST API acting as one user.
pub struct VercelApi<'a> {
    http: &'a dyn HttpClient,
    base: String,
    tokens: Box<dyn TokenSource + 'a>,
    /// Whether each call has a deadline of its own, or keeps the one it
    /// runs under (a route of this crate's, whose answer must come within
    /// the request's).
    own_deadline: bool,
}

impl<'a> VercelApi<'a> {
    /// A client sending requests through `http` to `base` (see
    /// [`api_base`]), with the tokens of `tokens`.
    pub fn new(
        http: &'a dyn HttpClient,
        base: impl Into<String>,
        tokens: impl TokenSource + 'a,
    ) -> Self {
        let base = base.into().trim_end_matches('/').to_owned();
        Self {
            http,
            base,
            tokens: Box::new(tokens),
            own_deadline: true,
        }
    }

    /// The same client, its calls within the deadline they run under (the
    /// request's, in a route) rather than one of their own.
    pub(crate) fn sharing_the_deadline(mut self) -> Self {
        self.own_deadline = false;
        self
    }

    /// The base URL requests go to.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `POST /v3/user/tokens`: creates a token for the user. Its
    /// `bearer_token` is in this answer only.
    pub async fn create_token(&self, new: &NewToken) -> Result<CreatedToken, VercelApiError> {
        let response = self
            .call(|t| user_tokens::create_request(&self.base, t, new))
            .await?;
        user_tokens::parse_create(&response)
    }

    /// `GET /v6/user/tokens`: one page of the user's tokens. Its
    /// `pagination.next` is kept only if it moves on (the page has tokens,
    /// and `next` is older than `page.until`), so that a loop over
    /// [`TokenPage::next_page`] ends whatever the API answers.
    pub async fn list_tokens(&self, page: &ListTokens) -> Result<TokenPage, VercelApiError> {
        let response = self
            .call(|t| user_tokens::list_request(&self.base, t, page))
            .await?;
        user_tokens::parse_list(&response).map(|found| user_tokens::moving_on(found, page))
    }

    /// `GET /v5/user/tokens/{id}`: a token's metadata; [`CURRENT`] for the
    /// token this client sends.
    pub async fn token(&self, id: &str) -> Result<TokenMetadata, VercelApiError> {
        let response = self
            .call(|t| user_tokens::get_request(&self.base, t, id))
            .await?;
        user_tokens::parse_get(&response)
    }

    /// `DELETE /v3/user/tokens/{id}`: invalidates a token at once; returns
    /// its ID. [`CURRENT`] deletes the token this client sends.
    pub async fn delete_token(&self, id: &str) -> Result<String, VercelApiError> {
        let response = self
            .call(|t| user_tokens::delete_request(&self.base, t, id))
            .await?;
        user_tokens::parse_delete(&response)
    }

    /// `GET` of any API path (such as `/v2/user`), JSON out. The path is
    /// sent as written, on the API's origin: an id from a user goes into
    /// it through [`path_segment`], or `../` and `?teamId=` in the id would
    /// reach another endpoint or team with the user's token (the same for
    /// `post` and `delete`).
    pub async fn get(&self, path: &str) -> Result<Value, VercelApiError> {
        self.generic(Method::GET, path, None).await
    }

    /// `POST` of JSON to any API path, JSON out.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, VercelApiError> {
        self.generic(Method::POST, path, Some(body)).await
    }

    /// `DELETE` of any API path, JSON out (`null` for an empty body).
    pub async fn delete(&self, path: &str) -> Result<Value, VercelApiError> {
        self.generic(Method::DELETE, path, None).await
    }

    async fn generic(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, VercelApiError> {
        let url = self
            .url_for(path)
            .ok_or(VercelApiError::InvalidArgument("not a path on the API"))?;
        let response = self
            .call(|t| json_request(method.clone(), &url, t, body))
            .await?;
        if !response.status().is_success() {
            return Err(VercelApiError::from_response(&response));
        }
        if response.body().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(response.body()).map_err(|_| VercelApiError::Malformed("not JSON"))
    }

    /// `path` (with its query) on the API's origin, and nowhere else: the
    /// bearer token must not be sent to another host.
    fn url_for(&self, path: &str) -> Option<String> {
        if !path.starts_with('/')
            || path.starts_with("//")
            || path.contains(['\\', '#'])
            || path.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return None;
        }
        let url = format!("{}{path}", self.base);
        let parsed = Url::parse(&url).ok()?;
        let base = Url::parse(&self.base).ok()?;
        (parsed.origin() == base.origin()).then_some(url)
    }

    /// Sends the request `build` makes with the current token; after a
    /// refusal, refreshes once (unless the token changed meanwhile: a
    /// parallel call refreshed it) and sends it once more, all within a
    /// deadline of the call's own ([`REQUEST_DEADLINE`](crate::REQUEST_DEADLINE)
    /// from its start, whatever the handler spent before it), or, in this
    /// crate's routes, the request's. Each send is
    /// cut off at the deadline; the refresh keeps to it by itself and is
    /// waited for whole: one the provider made must reach the session's
    /// cookies, or the browser keeps a spent refresh token.
    async fn call(
        &self,
        build: impl Fn(&AccessToken) -> Option<HttpRequest>,
    ) -> Result<HttpResponse, VercelApiError> {
        let call = async {
            let sent = self.tokens.access_token();
            let first = self.send(build(&sent)).await?;
            if !refuses_token(&first) {
                return Ok(first);
            }
            // A parallel call of the same session may have refreshed while
            // this one was on its way: its token is the one to retry with.
            // Refreshing again would spend the refresh token just issued and
            // rotate the session once more for nothing.
            let current = self.tokens.access_token();
            let fresh = if current.ct_eq(sent.secret()) {
                self.tokens
                    .refresh()
                    .await
                    .map_err(VercelApiError::Refresh)?
            } else {
                current
            };
            self.send(build(&fresh)).await
        };
        if self.own_deadline {
            crate::clock::with_own_deadline(call).await
        } else {
            crate::clock::with_deadline(call).await
        }
    }

    async fn send(&self, request: Option<HttpRequest>) -> Result<HttpResponse, VercelApiError> {
        let request = request.ok_or(VercelApiError::InvalidArgument(
            "the request cannot be built",
        ))?;
        let left = crate::clock::time_left().unwrap_or(crate::transport::REQUEST_TIMEOUT);
        tokio::time::timeout(left, self.http.execute(request))
            .await
            .unwrap_or(Err(TransportError::Timeout))
            .map_err(VercelApiError::Transport)
    }
}

/// Whether the API refused the token itself: 401 (RFC 6750 §3.1), or the
/// 403 Vercel answers with `error.invalidToken: true`.
fn refuses_token(response: &HttpResponse) -> bool {
    match response.status().as_u16() {
        401 => true,
        403 => VercelApiError::from_response(response)
            .problem()
            .is_some_and(|p| p.invalid_token),
        _ => false,
    }
}

/// The metadata of the access token `api` sends (`GET
/// /v5/user/tokens/current`): what the profile page shows beside the
/// introspection result.
pub async fn current_token(api: &VercelApi<'_>) -> Result<TokenMetadata, VercelApiError> {
    api.token(CURRENT).await
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::json;

    use super::*;
    use crate::transport::tests::response;

    fn metadata(issuer: &str, token_endpoint: &str) -> ProviderMetadata {
        ProviderMetadata {
            issuer: issuer.into(),
            token_endpoint: token_endpoint.into(),
            ..ProviderMetadata::vercel()
        }
    }

    #[test]
    fn base_is_api_vercel_com_for_vercel() {
        assert_eq!(
            api_base(&ProviderMetadata::vercel()).as_deref(),
            Some(VERCEL_API)
        );
    }

    #[test]
    fn base_follows_the_token_endpoint_for_another_issuer() {
        let m = metadata(
            "http://127.0.0.1:3001",
            "http://127.0.0.1:3002/login/oauth/token",
        );
        assert_eq!(api_base(&m).as_deref(), Some("http://127.0.0.1:3002"));
    }

    #[test]
    fn generic_paths_stay_on_the_api_origin() {
        let source = FixedToken(AccessToken::new("t"));
        let http = crate::transport::ReqwestClient::new();
        let api = VercelApi::new(&http, "https://api.vercel.com/", &source);
        assert_eq!(
            api.url_for("/v2/user?teamId=x").as_deref(),
            Some("https://api.vercel.com/v2/user?teamId=x")
        );
        for bad in [
            "v2/user",
            "//evil.example/x",
            "/\\evil.example",
            "/x#y",
            "/a b",
            "@evil.example/",
        ] {
            assert_eq!(api.url_for(bad), None, "{bad}");
        }
    }

    #[test]
    fn fixed_token_hands_out_copies_and_cannot_refresh() {
        let source = FixedToken(AccessToken::new("vca_1"));
        assert_eq!(source.access_token().secret(), "vca_1");
        let refreshed = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(source.refresh());
        assert!(refreshed.is_err());
    }

    /// Vercel's API as a script: each request is answered by the next of
    /// its answers; the method, URL, `Authorization` and body of every
    /// request are kept.
    #[derive(Default)]
    struct Script {
        answers: Mutex<VecDeque<HttpResponse>>,
        seen: Mutex<Vec<Seen>>,
    }

    /// One request the script answered.
    struct Seen {
        method: Method,
        url: String,
        authorization: String,
        body: Vec<u8>,
    }

    impl Script {
        fn answering(answers: impl IntoIterator<Item = (u16, &'static str)>) -> Self {
            let answers = answers
                .into_iter()
                .map(|(status, body)| response(status, body))
                .collect();
            Self {
                answers: Mutex::new(answers),
                seen: Mutex::default(),
            }
        }

        /// The method and URL of every request, in order.
        fn requests(&self) -> Vec<(Method, String)> {
            let seen = self.seen.lock().unwrap();
            seen.iter()
                .map(|r| (r.method.clone(), r.url.clone()))
                .collect()
        }

        /// The `Authorization` of every request, in order.
        fn authorizations(&self) -> Vec<String> {
            let seen = self.seen.lock().unwrap();
            seen.iter().map(|r| r.authorization.clone()).collect()
        }
    }

    impl HttpClient for Script {
        fn execute(
            &self,
            request: HttpRequest,
        ) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
            let authorization = request.headers()[AUTHORIZATION]
                .to_str()
                .unwrap()
                .to_owned();
            self.seen.lock().unwrap().push(Seen {
                method: request.method().clone(),
                url: request.uri().to_string(),
                authorization,
                body: request.body().clone(),
            });
            let answer = self.answers.lock().unwrap().pop_front();
            Box::pin(async move { answer.ok_or(TransportError::Connect) })
        }
    }

    /// A token source whose refresh hands out `vca_new`, counting refreshes.
    #[derive(Default)]
    struct Refreshing {
        refreshes: AtomicUsize,
    }

    impl TokenSource for Refreshing {
        fn access_token(&self) -> AccessToken {
            AccessToken::new("vca_old")
        }

        fn refresh(&self) -> BoxFuture<'_, Result<AccessToken, crate::Error>> {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(AccessToken::new("vca_new")) })
        }
    }

    const BASE: &str = "https://api.vercel.com";
    const META: &str =
        r#"{"id":"t1","name":"ci","type":"oauth2-token","activeAt":2,"createdAt":1}"#;
    const INVALID_TOKEN: &str = r#"{"error":{"code":"forbidden","invalidToken":true}}"#;

    #[test]
    fn the_base_is_kept_without_its_trailing_slash() {
        let http = Script::default();
        let api = VercelApi::new(
            &http,
            "https://api.vercel.com/",
            FixedToken(AccessToken::new("t")),
        );
        assert_eq!(api.base(), BASE);
    }

    /// RFC 6750 §3.1: a 401 refuses the token; it is refreshed once and
    /// the call sent once more with the new one.
    #[tokio::test]
    async fn a_refused_token_is_refreshed_once_and_the_call_retried() {
        let http = Script::answering([(401, ""), (200, r#"{"tokenId":"t1"}"#)]);
        let source = Refreshing::default();
        let api = VercelApi::new(&http, BASE, &source);
        assert_eq!(api.delete_token("t1").await.unwrap(), "t1");
        assert_eq!(source.refreshes.load(Ordering::SeqCst), 1);
        let delete = (Method::DELETE, format!("{BASE}/v3/user/tokens/t1"));
        assert_eq!(http.requests(), [delete.clone(), delete]);
        assert!(
            http.authorizations() == ["Bearer vca_old", "Bearer vca_new"],
            "the old token, then the new"
        );
    }

    /// Two calls of one session refused at once: the one whose refusal
    /// comes second finds the session refreshed by the first, and retries
    /// with its token rather than refreshing again.
    #[tokio::test]
    async fn a_token_refreshed_meanwhile_is_retried_without_another_refresh() {
        /// The session's token is `vca_new` from the second read on: a
        /// parallel call refreshed it while the first send was refused.
        #[derive(Default)]
        struct RefreshedMeanwhile {
            reads: AtomicUsize,
            refreshes: AtomicUsize,
        }
        impl TokenSource for RefreshedMeanwhile {
            fn access_token(&self) -> AccessToken {
                match self.reads.fetch_add(1, Ordering::SeqCst) {
                    0 => AccessToken::new("vca_old"),
                    _ => AccessToken::new("vca_new"),
                }
            }
            fn refresh(&self) -> BoxFuture<'_, Result<AccessToken, crate::Error>> {
                self.refreshes.fetch_add(1, Ordering::SeqCst);
                Box::pin(async { Ok(AccessToken::new("vca_newer")) })
            }
        }
        let http = Script::answering([(401, ""), (200, "{}")]);
        let source = RefreshedMeanwhile::default();
        let api = VercelApi::new(&http, BASE, &source);
        assert_eq!(api.get("/v2/user").await.unwrap(), json!({}));
        assert_eq!(source.refreshes.load(Ordering::SeqCst), 0);
        assert_eq!(http.authorizations(), ["Bearer vca_old", "Bearer vca_new"]);
    }

    #[tokio::test]
    async fn a_second_refusal_is_returned_without_another_refresh() {
        let http = Script::answering([(401, ""), (401, "")]);
        let source = Refreshing::default();
        let api = VercelApi::new(&http, BASE, &source);
        let e = api.get("/v2/user").await.unwrap_err();
        assert!(matches!(e, VercelApiError::Unauthorized(_)), "{e}");
        assert_eq!(source.refreshes.load(Ordering::SeqCst), 1);
        assert_eq!(http.requests().len(), 2);
    }

    /// Vercel answers a token it does not accept with 403 and
    /// `invalidToken: true`: a refusal of the token, unlike a plain 403.
    #[tokio::test]
    async fn only_a_403_marked_invalid_token_refreshes() {
        let http = Script::answering([(403, INVALID_TOKEN), (200, "{}")]);
        let source = Refreshing::default();
        let api = VercelApi::new(&http, BASE, &source);
        assert_eq!(api.get("/v2/user").await.unwrap(), json!({}));
        assert_eq!(source.refreshes.load(Ordering::SeqCst), 1);

        let http = Script::answering([(403, BODY_403), (200, "{}")]);
        let source = Refreshing::default();
        let api = VercelApi::new(&http, BASE, &source);
        let e = api.get("/v2/user").await.unwrap_err();
        assert!(matches!(e, VercelApiError::Forbidden(_)), "{e}");
        assert_eq!(source.refreshes.load(Ordering::SeqCst), 0);
        assert_eq!(http.requests().len(), 1);
    }

    const BODY_403: &str = r#"{"error":{"code":"forbidden","message":"no"}}"#;

    #[tokio::test]
    async fn a_success_is_not_retried() {
        let http = Script::answering([(200, "{}"), (200, "{}")]);
        let source = Refreshing::default();
        let api = VercelApi::new(&http, BASE, &source);
        api.get("/v2/user").await.unwrap();
        assert_eq!(source.refreshes.load(Ordering::SeqCst), 0);
        assert_eq!(http.requests().len(), 1);
    }

    #[tokio::test]
    async fn a_refused_fixed_token_is_a_failed_refresh() {
        let http = Script::answering([(401, "")]);
        let api = VercelApi::new(&http, BASE, FixedToken(AccessToken::new("vca_1")));
        assert_eq!(
            api.get("/v2/user").await.unwrap_err(),
            VercelApiError::Refresh(crate::Error::TokenInactive)
        );
        assert!(http.authorizations() == ["Bearer vca_1"], "the fixed token");
    }

    #[tokio::test]
    async fn generic_calls_send_and_read_json() {
        let http = Script::answering([
            (200, r#"{"ok":true}"#),
            (204, ""),
            (503, ""),
            (200, "<html>"),
        ]);
        let api = VercelApi::new(&http, BASE, FixedToken(AccessToken::new("t")));
        let posted = api.post("/v1/things?teamId=x", &json!({"a": 1})).await;
        assert_eq!(posted.unwrap(), json!({"ok": true}));
        assert_eq!(api.delete("/v1/things/1").await.unwrap(), Value::Null);
        assert!(matches!(
            api.get("/v2/user").await.unwrap_err(),
            VercelApiError::Server { status: 503, .. }
        ));
        assert_eq!(
            api.get("/v2/user").await.unwrap_err(),
            VercelApiError::Malformed("not JSON")
        );
        assert_eq!(
            api.get("//evil.example/x").await.unwrap_err(),
            VercelApiError::InvalidArgument("not a path on the API")
        );
        assert_eq!(
            http.requests(),
            [
                (Method::POST, format!("{BASE}/v1/things?teamId=x")),
                (Method::DELETE, format!("{BASE}/v1/things/1")),
                (Method::GET, format!("{BASE}/v2/user")),
                (Method::GET, format!("{BASE}/v2/user")),
            ]
        );
        let seen = http.seen.lock().unwrap();
        assert_eq!(seen[0].body, br#"{"a":1}"#);
        assert!(seen[1].body.is_empty());
    }

    /// A page whose `next` would ask for it again ends the listing.
    #[tokio::test]
    async fn a_listing_ends_where_the_api_would_go_round() {
        let page: &'static str = Box::leak(
            format!(r#"{{"tokens":[{META}],"pagination":{{"count":1,"next":6,"prev":null}}}}"#)
                .into_boxed_str(),
        );
        let http = Script::answering([(200, page), (200, page)]);
        let api = VercelApi::new(&http, BASE, FixedToken(AccessToken::new("t")));
        let first = api.list_tokens(&ListTokens::default()).await.unwrap();
        let second = first.next_page(None).unwrap();
        assert_eq!(second.until, Some(6));
        let again = api.list_tokens(&second).await.unwrap();
        assert_eq!(again.tokens.len(), 1);
        assert_eq!(again.next_page(None), None);
    }

    #[tokio::test]
    async fn typed_calls_go_to_their_endpoints() {
        let http = Script::answering([
            (
                200,
                r#"{"token":{"id":"t2","name":"new","type":"oauth2-token","activeAt":2,"createdAt":1},"bearerToken":"b"}"#,
            ),
            (
                200,
                r#"{"tokens":[],"pagination":{"count":0,"next":null,"prev":null}}"#,
            ),
            (
                200,
                r#"{"token":{"id":"t1","name":"ci","type":"oauth2-token","activeAt":2,"createdAt":1}}"#,
            ),
            (
                200,
                r#"{"token":{"id":"t1","name":"ci","type":"oauth2-token","activeAt":2,"createdAt":1}}"#,
            ),
        ]);
        let api = VercelApi::new(&http, BASE, FixedToken(AccessToken::new("t")));
        let new = NewToken {
            name: "new".into(),
            ..NewToken::default()
        };
        assert_eq!(api.create_token(&new).await.unwrap().token.id, "t2");
        let page = api.list_tokens(&ListTokens::default()).await.unwrap();
        assert!(page.tokens.is_empty());
        assert_eq!(page.pagination.next, None);
        assert_eq!(api.token("t1").await.unwrap().name, "ci");
        let current = current_token(&api).await.unwrap();
        assert_eq!(current, serde_json::from_str(META).unwrap());
        assert_eq!(
            http.requests(),
            [
                (Method::POST, format!("{BASE}/v3/user/tokens")),
                (Method::GET, format!("{BASE}/v6/user/tokens")),
                (Method::GET, format!("{BASE}/v5/user/tokens/t1")),
                (Method::GET, format!("{BASE}/v5/user/tokens/current")),
            ]
        );
    }
}
