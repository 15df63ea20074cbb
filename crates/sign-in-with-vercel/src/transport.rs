//! The one seam through which the protocol core talks to the network.
//!
//! Each remote call is a pair of pure functions in its protocol module: one
//! builds an [`HttpRequest`], one parses the [`HttpResponse`]. An
//! [`HttpClient`] runs them: [`ReqwestClient`] in production (redirects off,
//! timeouts on, bodies capped), the emulator in tests.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{HeaderValue, Method};
use url::form_urlencoded;

use crate::secret::{AccessToken, ClientSecret};

/// An outbound request: method, URL, headers and a fully buffered body.
pub type HttpRequest = http::Request<Vec<u8>>;
/// An inbound response with its body read (at most [`MAX_RESPONSE_BYTES`]).
pub type HttpResponse = http::Response<Vec<u8>>;
/// A boxed, sendable future, so that [`HttpClient`] can be a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The largest response body read from a provider; anything bigger is an
/// error rather than an allocation an upstream can choose.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// Connection set-up limit for every outbound call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Whole-request limit for every outbound call, below a function's budget.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(8);

/// Why an outbound call produced no response. Holds no URL or body, so it
/// can be logged as is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportError {
    /// The call took longer than its time limit (3 s to connect, 8 s in
    /// all, or what is left of the request's deadline).
    Timeout,
    /// No connection could be made (refused, a name that does not
    /// resolve, a TLS handshake that failed).
    Connect,
    /// The body was larger than [`MAX_RESPONSE_BYTES`].
    TooLarge,
    /// Anything else (TLS, protocol, an unbuildable client).
    Other,
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Timeout => "timed out",
            Self::Connect => "connection failed",
            Self::TooLarge => "response too large",
            Self::Other => "transport error",
        })
    }
}

/// Runs one HTTP exchange. Implementations must not follow redirects, and
/// must not log or print a request: its body carries credentials (client
/// secret, code, verifier, tokens), and `http::Request`'s `Debug` prints
/// the body (only the `Authorization` header is marked sensitive).
pub trait HttpClient: Send + Sync {
    /// Sends `request` and returns the response with its body read.
    fn execute(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>>;
}

/// The production client: reqwest over rustls (ring), built on first use so
/// that a route that makes no call (authorize) never pays for it. It
/// ignores `HTTP_PROXY` and `HTTPS_PROXY`: to reach the provider through a
/// proxy, plug in an [`HttpClient`] of your own.
#[derive(Default)]
pub struct ReqwestClient {
    client: OnceLock<Option<reqwest::Client>>,
}

impl ReqwestClient {
    /// A client that will be built on first use.
    pub fn new() -> Self {
        Self::default()
    }

    fn client(&self) -> Option<&reqwest::Client> {
        self.client
            .get_or_init(|| {
                reqwest::Client::builder()
                    .tls_backend_preconfigured(tls_config()?)
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(CONNECT_TIMEOUT)
                    .timeout(REQUEST_TIMEOUT)
                    .no_proxy()
                    .build()
                    .inspect_err(|e| {
                        crate::log::error(&format!("cannot build the HTTP client: {e}"))
                    })
                    .ok()
            })
            .as_ref()
    }
}

impl HttpClient for ReqwestClient {
    fn execute(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            let client = self.client().ok_or(TransportError::Other)?;
            let request = reqwest::Request::try_from(request).map_err(|_| TransportError::Other)?;
            let mut response = client.execute(request).await.map_err(failed)?;
            if response
                .content_length()
                .is_some_and(|len| len > MAX_RESPONSE_BYTES as u64)
            {
                return Err(too_large(response.url()));
            }
            let mut builder = http::Response::builder().status(response.status());
            if let Some(headers) = builder.headers_mut() {
                *headers = std::mem::take(response.headers_mut());
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(failed)? {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(too_large(response.url()));
                }
                body.extend_from_slice(&chunk);
            }
            builder.body(body).map_err(|_| TransportError::Other)
        })
    }
}

/// rustls's cryptography by ring, the product's one cryptography library.
/// rustls 0.23.48 deprecated it for want of a post-quantum key exchange
/// (`X25519MLKEM768`), which only its aws-lc-rs provider offers, at the
/// price of a C build (cmake) and larger functions. Against a recording
/// decrypted years from now, the tokens will have expired; the client
/// secret, a `rediss://` store's password and the users' profiles will
/// not. Kept deliberately, to revisit when ring offers ML-KEM.
#[allow(deprecated)]
pub(crate) fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// TLS 1.2 and 1.3 by rustls with ring, trusting Mozilla's root CAs as
/// compiled into `webpki-roots`. The platform verifier would read and parse
/// every file of `/etc/ssl/certs` on each instance's first call: about 7 ms
/// of a cold start.
fn tls_config() -> Option<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = std::sync::Arc::new(ring_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .inspect_err(|e| crate::log::error(&format!("cannot configure TLS: {e}")))
        .ok()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Some(config)
}

/// A call that got no response: logged with what the operator needs to
/// put it right (the origin it went to and the transport's own causes: a
/// refused connection, a name that does not resolve, a certificate not
/// trusted), then classified. The route's line that follows names the
/// endpoint's role and the answer the user got.
fn failed(e: reqwest::Error) -> TransportError {
    let kind = if e.is_timeout() {
        TransportError::Timeout
    } else if e.is_connect() {
        TransportError::Connect
    } else {
        TransportError::Other
    };
    crate::log::warn(&failure_line(e.url(), kind, &e));
    kind
}

fn too_large(url: &url::Url) -> TransportError {
    let kind = TransportError::TooLarge;
    crate::log::warn(&format!(
        "{} {kind} (over {MAX_RESPONSE_BYTES} bytes)",
        endpoint_of(Some(url))
    ));
    kind
}

/// `<origin>: <kind> (<causes>)`, where the causes are `e`'s sources,
/// outermost first, each said once. `e`'s own message is left out: reqwest
/// writes the whole URL into it, query included; so is the path, where a
/// REST API may carry a secret (Vercel's Edge Config token URLs). Nothing
/// here can carry one: the request's credentials travel in its headers
/// and body, which no cause quotes.
fn failure_line(url: Option<&url::Url>, kind: TransportError, e: &dyn std::error::Error) -> String {
    let mut causes: Vec<String> = Vec::new();
    let mut next = e.source();
    while let Some(cause) = next {
        let said = cause.to_string();
        if causes.last() != Some(&said) {
            causes.push(said);
        }
        next = cause.source();
    }
    let endpoint = endpoint_of(url);
    if causes.is_empty() {
        format!("{endpoint} {kind}")
    } else {
        format!("{endpoint} {kind} ({})", causes.join(": "))
    }
}

/// The origin a call went to (no userinfo, path or query).
fn endpoint_of(url: Option<&url::Url>) -> String {
    match url {
        Some(url) => format!("a call to {}:", url.origin().ascii_serialization()),
        None => "a call:".to_owned(),
    }
}

const USER_AGENT_VALUE: &str = concat!("sign-in-with-vercel/", env!("CARGO_PKG_VERSION"));

/// The head every provider and API request shares: JSON accepted, no
/// content coding (the body is read as it comes, and without
/// `Accept-Encoding` RFC 9110 §12.5.3 lets a server or a CDN pick any), and
/// this library's `User-Agent`.
pub(crate) fn base_request(method: Method, url: &str) -> http::request::Builder {
    http::Request::builder()
        .method(method)
        .uri(url)
        .header(ACCEPT, "application/json")
        .header(http::header::ACCEPT_ENCODING, "identity")
        .header(USER_AGENT, USER_AGENT_VALUE)
}

/// A request that could not be built: the URL (from the provider's
/// metadata or the configuration) or a header value is not valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unbuildable;

/// A `GET` of a JSON document, with a bearer token when given (RFC 6750 §2.1).
pub fn get_json(url: &str, bearer: Option<&AccessToken>) -> Result<HttpRequest, Unbuildable> {
    let mut builder = base_request(Method::GET, url);
    if let Some(token) = bearer {
        builder = builder.header(AUTHORIZATION, bearer_header(token).ok_or(Unbuildable)?);
    }
    builder.body(Vec::new()).map_err(|_| Unbuildable)
}

/// A form `POST` (`application/x-www-form-urlencoded`, RFC 6749 Appendix B).
pub fn post_form(
    url: &str,
    params: &[(&str, &str)],
    authorization: Option<HeaderValue>,
) -> Result<HttpRequest, Unbuildable> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        form.append_pair(k, v);
    }
    let mut builder =
        base_request(Method::POST, url).header(CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(value) = authorization {
        builder = builder.header(AUTHORIZATION, value);
    }
    builder
        .body(form.finish().into_bytes())
        .map_err(|_| Unbuildable)
}

/// `Authorization: Bearer <token>` (RFC 6750 §2.1), marked sensitive.
pub fn bearer_header(token: &AccessToken) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.secret())).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// `Authorization: Basic …` for client authentication: the client ID and
/// secret are each form-encoded before being joined and base64-encoded, as
/// RFC 6749 §2.3.1 requires.
pub fn basic_auth_header(client_id: &str, secret: &ClientSecret) -> Option<HeaderValue> {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", encode(client_id), encode(secret.secret()));
    let mut value =
        HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(credentials))).ok()?;
    value.set_sensitive(true);
    Some(value)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A canned provider response.
    pub(crate) fn response(status: u16, body: &str) -> HttpResponse {
        http::Response::builder()
            .status(status)
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    /// How a [`Fake`] answers a request, from its path.
    type Answer = Box<dyn Fn(&str) -> Result<HttpResponse, TransportError> + Send + Sync>;

    /// A provider in process: each request is answered from its path, and
    /// every path is kept.
    pub(crate) struct Fake {
        answer: Answer,
        /// Each request's path, and whether it asked caches on the way
        /// for a fresh answer (`Cache-Control: no-cache`).
        paths: std::sync::Mutex<Vec<(String, bool)>>,
    }

    impl Fake {
        pub(crate) fn new(
            answer: impl Fn(&str) -> Result<HttpResponse, TransportError> + Send + Sync + 'static,
        ) -> std::sync::Arc<Self> {
            std::sync::Arc::new(Self {
                answer: Box::new(answer),
                paths: std::sync::Mutex::default(),
            })
        }

        /// How many requests went to `path`.
        pub(crate) fn calls(&self, path: &str) -> usize {
            let paths = self.paths.lock().unwrap();
            paths.iter().filter(|(p, _)| p == path).count()
        }

        /// How many requests to `path` asked for a fresh answer.
        pub(crate) fn fresh_calls(&self, path: &str) -> usize {
            let paths = self.paths.lock().unwrap();
            paths
                .iter()
                .filter(|(p, fresh)| p == path && *fresh)
                .count()
        }
    }

    impl HttpClient for Fake {
        fn execute(
            &self,
            request: HttpRequest,
        ) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
            let path = request.uri().path().to_owned();
            let answer = (self.answer)(&path);
            let fresh = request
                .headers()
                .get(http::header::CACHE_CONTROL)
                .is_some_and(|v| v.as_bytes() == b"no-cache");
            self.paths.lock().unwrap().push((path, fresh));
            Box::pin(async move { answer })
        }
    }

    /// A provider that answers as the fake `.0` does, each answer the
    /// time `.1` gives its path later (the fake records the request when
    /// it is sent).
    pub(crate) struct Delayed(
        std::sync::Arc<Fake>,
        Box<dyn Fn(&str) -> Duration + Send + Sync>,
    );

    impl Delayed {
        pub(crate) fn new(
            fake: &std::sync::Arc<Fake>,
            delay: impl Fn(&str) -> Duration + Send + Sync + 'static,
        ) -> std::sync::Arc<Self> {
            std::sync::Arc::new(Self(fake.clone(), Box::new(delay)))
        }
    }

    impl HttpClient for Delayed {
        fn execute(
            &self,
            request: HttpRequest,
        ) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
            let after = (self.1)(request.uri().path());
            let answer = self.0.execute(request);
            Box::pin(async move {
                tokio::time::sleep(after).await;
                answer.await
            })
        }
    }

    /// A provider whose key set takes the connection and never answers
    /// (the client gives up after its whole [`REQUEST_TIMEOUT`]) and whose
    /// token endpoint takes `.1`; everything else as the fake `.0` answers.
    pub(crate) struct HangingKeys(pub std::sync::Arc<Fake>, pub std::time::Duration);

    impl HttpClient for HangingKeys {
        fn execute(
            &self,
            request: HttpRequest,
        ) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
            let path = request.uri().path().to_owned();
            if path == "/.well-known/jwks" {
                return Box::pin(async {
                    tokio::time::sleep(REQUEST_TIMEOUT).await;
                    Err(TransportError::Timeout)
                });
            }
            let answer = self.0.execute(request);
            let token_delay = self.1;
            Box::pin(async move {
                if path == "/login/oauth/token" {
                    tokio::time::sleep(token_delay).await;
                }
                answer.await
            })
        }
    }

    #[test]
    fn basic_auth_form_encodes_before_base64() {
        let value = basic_auth_header("my client", &ClientSecret::new("p@ss:w/rd")).unwrap();
        let encoded = value.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
        assert_eq!(decoded, "my+client:p%40ss%3Aw%2Frd");
        assert!(value.is_sensitive());
    }

    #[test]
    fn form_post_is_urlencoded() {
        let req = post_form(
            "https://as.example/token",
            &[("a", "b c"), ("d", "&=")],
            None,
        )
        .unwrap();
        assert_eq!(req.body(), b"a=b+c&d=%26%3D");
        assert_eq!(
            req.headers()[CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
    }

    /// Every request asks for JSON with no content coding: the body is
    /// read as it comes (RFC 9110 §12.5.3: without `Accept-Encoding`, any
    /// coding is acceptable).
    #[test]
    fn requests_accept_json_without_a_content_coding() {
        for req in [
            get_json("https://as.example/jwks", None).unwrap(),
            post_form("https://as.example/token", &[("a", "b")], None).unwrap(),
        ] {
            assert_eq!(req.headers()[ACCEPT], "application/json");
            assert_eq!(req.headers()[http::header::ACCEPT_ENCODING], "identity");
        }
    }

    #[test]
    fn tls_trusts_the_compiled_in_mozilla_roots() {
        let config = tls_config().unwrap();
        assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100);
        assert!(config.alpn_protocols.is_empty(), "HTTP/1.1 only");
    }

    #[test]
    fn unparseable_url_gives_no_request_rather_than_a_panic() {
        assert_eq!(get_json("not a url \n", None).unwrap_err(), Unbuildable);
    }

    #[test]
    fn transport_errors_display_what_failed() {
        assert_eq!(TransportError::Timeout.to_string(), "timed out");
        assert_eq!(TransportError::Connect.to_string(), "connection failed");
        assert_eq!(TransportError::TooLarge.to_string(), "response too large");
        assert_eq!(TransportError::Other.to_string(), "transport error");
    }

    /// A loopback HTTP/1.1 server answering each connection with the raw
    /// bytes `reply` gives for its request path, then closing it; returns
    /// its base URL.
    fn serve(reply: fn(&str) -> Vec<u8>) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let path = head.split(' ').nth(1).unwrap_or_default().to_owned();
                let _ = stream.write_all(&reply(&path));
            }
        });
        base
    }

    /// A `200` whose head is `headers` and whose body is `len` bytes.
    fn ok_with_body(headers: &str, len: usize) -> Vec<u8> {
        let mut reply =
            format!("HTTP/1.1 200 OK\r\nconnection: close\r\n{headers}\r\n").into_bytes();
        reply.resize(reply.len() + len, b'x');
        reply
    }

    async fn fetch(base: &str, path: &str) -> Result<HttpResponse, TransportError> {
        let request = get_json(&format!("{base}{path}"), None).unwrap();
        ReqwestClient::new().execute(request).await
    }

    #[tokio::test]
    async fn a_body_of_exactly_the_cap_is_read() {
        let base = serve(|_| {
            ok_with_body(
                &format!("content-length: {MAX_RESPONSE_BYTES}\r\n"),
                MAX_RESPONSE_BYTES,
            )
        });
        let response = fetch(&base, "/").await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.body().len(), MAX_RESPONSE_BYTES);
        assert_eq!(response.headers()["content-length"], "262144");
    }

    #[tokio::test]
    async fn a_body_of_exactly_the_cap_is_read_without_a_content_length() {
        let base = serve(|_| ok_with_body("", MAX_RESPONSE_BYTES));
        let response = fetch(&base, "/").await.unwrap();
        assert_eq!(response.body().len(), MAX_RESPONSE_BYTES);
    }

    #[tokio::test]
    async fn a_declared_length_over_the_cap_is_refused_before_the_body() {
        // The head alone: the length it declares is enough to refuse.
        let base = serve(|_| {
            format!(
                "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
                MAX_RESPONSE_BYTES + 1
            )
            .into_bytes()
        });
        assert_eq!(
            fetch(&base, "/").await.unwrap_err(),
            TransportError::TooLarge
        );
    }

    #[tokio::test]
    async fn an_undeclared_body_over_the_cap_is_refused() {
        let base = serve(|_| ok_with_body("", MAX_RESPONSE_BYTES + 1));
        assert_eq!(
            fetch(&base, "/").await.unwrap_err(),
            TransportError::TooLarge
        );
    }

    /// A redirect is the provider's answer, returned as is: following it
    /// would send the request, and the credentials it carries, elsewhere.
    #[tokio::test]
    async fn redirects_are_answered_not_followed() {
        let base = serve(|path| {
            match path {
            "/start" => b"HTTP/1.1 302 Found\r\nconnection: close\r\nlocation: /end\r\ncontent-length: 0\r\n\r\n".to_vec(),
            _ => ok_with_body("content-length: 8\r\n", 8),
        }
        });
        let response = fetch(&base, "/start").await.unwrap();
        assert_eq!(response.status(), 302);
        assert_eq!(response.headers()["location"], "/end");
        assert!(response.body().is_empty());
    }

    /// An error whose message is `said`, caused by `cause`.
    #[derive(Debug)]
    struct Caused(&'static str, Option<Box<Caused>>);

    impl std::fmt::Display for Caused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Caused {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|c| c as _)
        }
    }

    /// A failed call's line names the origin (no userinfo, path or
    /// query), the kind, and each cause once, outermost first; the
    /// outermost error's own message (reqwest's, with the whole URL) is
    /// not among them.
    #[test]
    fn a_failure_line_names_the_endpoint_and_the_causes() {
        let url = url::Url::parse("https://user:pw@idp.example:8443/token?code=c0de#f").unwrap();
        let e = Caused(
            "error sending request for url (https://user:pw@idp.example:8443/token?code=c0de)",
            Some(Box::new(Caused(
                "client error (Connect)",
                Some(Box::new(Caused(
                    "invalid peer certificate: UnknownIssuer",
                    Some(Box::new(Caused(
                        "invalid peer certificate: UnknownIssuer",
                        None,
                    ))),
                ))),
            ))),
        );
        assert_eq!(
            failure_line(Some(&url), TransportError::Connect, &e),
            "a call to https://idp.example:8443: connection failed (client error (Connect): \
             invalid peer certificate: UnknownIssuer)"
        );
        assert_eq!(
            failure_line(None, TransportError::Timeout, &Caused("timed out", None)),
            "a call: timed out"
        );
    }

    /// A connection refused is logged with the origin that refused it and
    /// the system's own words.
    #[tokio::test]
    async fn a_refused_connection_is_classified_and_described() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let client = ReqwestClient::new();
        let request = get_json(&format!("{base}/jwks?x=1"), None).unwrap();
        let e = client
            .client()
            .unwrap()
            .execute(reqwest::Request::try_from(request).unwrap())
            .await
            .unwrap_err();
        let line = failure_line(e.url(), TransportError::Connect, &e);
        assert!(
            line.starts_with(&format!("a call to {base}: connection failed (")),
            "{line}"
        );
        assert!(line.to_lowercase().contains("refused"), "{line}");
        assert!(!line.contains("jwks") && !line.contains("x=1"), "{line}");
        assert_eq!(failed(e), TransportError::Connect);
    }
}
