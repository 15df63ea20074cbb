//! How the browser's requests reach a server: over HTTP ([`Http`]), or in
//! process by origin ([`InProcess`]: the app's `Auth::dispatch`, the
//! emulator's `handle`). The app's functions as processes behind Vercel's
//! router are [`crate::Functions`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::HOST;
use http::{HeaderValue, StatusCode, Uri};
use sign_in_with_vercel::Auth;
use sign_in_with_vercel_emulator::Emulator;

/// A request as the browser sends it: an absolute URL, the body buffered.
pub type Request = http::Request<Vec<u8>>;
/// A response, the body buffered.
pub type Response = http::Response<Bytes>;
/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Carries one request to its server and brings the response back. Test
/// code: a request that cannot be delivered panics, naming it.
pub trait Transport: Send + Sync {
    /// Sends `request` (its URI absolute) and returns the whole response.
    fn send(&self, request: Request) -> BoxFuture<'_, Response>;
}

/// `scheme://host[:port]` of an absolute URI, as the browser names origins.
pub fn origin_of(uri: &Uri) -> String {
    format!(
        "{}://{}",
        uri.scheme_str().unwrap_or("http"),
        uri.authority().map_or("", |a| a.as_str())
    )
}

/// Real HTTP with reqwest: no redirects followed (the browser follows
/// them), no proxy, `TCP_NODELAY`, a 20 s timeout.
pub struct Http {
    client: reqwest::Client,
}

impl Default for Http {
    fn default() -> Self {
        // reqwest is built without a default crypto provider. ring's,
        // deprecated by rustls 0.23.48 for want of a post-quantum key
        // exchange, is the product's (the library's `transport` says why).
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap_or_else(|e| panic!("cannot build the HTTP client: {e}"));
        Self { client }
    }
}

impl Transport for Http {
    fn send(&self, request: Request) -> BoxFuture<'_, Response> {
        Box::pin(async move {
            let what = format!("{} {}", request.method(), request.uri());
            let request = reqwest::Request::try_from(request)
                .unwrap_or_else(|e| panic!("{what}: not a request reqwest can send: {e}"));
            let response = self
                .client
                .execute(request)
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let mut answer = http::Response::new(Bytes::new());
            *answer.status_mut() = response.status();
            *answer.headers_mut() = response.headers().clone();
            *answer.body_mut() = response
                .bytes()
                .await
                .unwrap_or_else(|e| panic!("{what}: reading the body: {e}"));
            answer
        })
    }
}

/// Answers one request in process, as a server of one origin would: the
/// URI in origin form (path and query), the `Host` header set.
pub type Handler = Arc<dyn Fn(Request) -> BoxFuture<'static, Response> + Send + Sync>;

/// Servers in this process, chosen by the origin of the request's URL;
/// a request to any other origin panics, naming it.
#[derive(Clone, Default)]
pub struct InProcess {
    origins: Vec<(String, Handler)>,
}

impl InProcess {
    /// `handler` serves `origin` (`scheme://host[:port]`).
    pub fn origin(mut self, origin: &str, handler: Handler) -> Self {
        self.origins
            .push((origin.trim_end_matches('/').to_owned(), handler));
        self
    }

    /// The app at `origin`: `/api/...` through `Auth::dispatch` (an unknown
    /// API path is its 404 JSON), any other path a plain 404 (the static
    /// site is not in process).
    pub fn app(self, origin: &str, auth: Arc<Auth>) -> Self {
        self.origin(
            origin,
            Arc::new(move |request| {
                let auth = auth.clone();
                Box::pin(async move {
                    match auth.dispatch(&request) {
                        Some(answer) => answer.await,
                        None => status(StatusCode::NOT_FOUND),
                    }
                })
            }),
        )
    }

    /// The emulator at both its origins, the issuer's and the API's.
    pub fn emulator(self, emulator: Arc<Emulator>) -> Self {
        let issuer = emulator.issuer().to_owned();
        let api = emulator.api_origin().to_owned();
        let handler: Handler =
            Arc::new(move |request| Box::pin(std::future::ready(emulator.handle(&request))));
        self.origin(&issuer, handler.clone()).origin(&api, handler)
    }
}

impl Transport for InProcess {
    fn send(&self, mut request: Request) -> BoxFuture<'_, Response> {
        let origin = origin_of(request.uri());
        let Some((_, handler)) = self.origins.iter().find(|(o, _)| *o == origin) else {
            panic!("no server in process for {origin} ({})", request.uri());
        };
        if let Some(authority) = request.uri().authority()
            && !request.headers().contains_key(HOST)
        {
            let host = HeaderValue::from_str(authority.as_str())
                .unwrap_or_else(|e| panic!("a Host header from {authority}: {e}"));
            request.headers_mut().insert(HOST, host);
        }
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse()
            .unwrap_or_else(|e| panic!("the path of {}: {e}", request.uri()));
        *request.uri_mut() = path;
        handler(request)
    }
}

/// An empty answer with `status`.
pub(crate) fn status(status: StatusCode) -> Response {
    let mut response = http::Response::new(Bytes::new());
    *response.status_mut() = status;
    response
}

/// Runs `future` to completion if it finishes without waiting, as every
/// in-process exchange with the emulator does; panics otherwise. Lets a
/// synchronous helper drive the browser in process.
pub fn ready_now<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => {
            panic!(
                "ready_now: the exchange waited (only in-process, non-waiting servers can be driven synchronously)"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that answers with its own name and the `Host` it was sent.
    fn named(name: &'static str) -> Handler {
        Arc::new(move |request: Request| -> BoxFuture<'static, Response> {
            let host = request
                .headers()
                .get(HOST)
                .map(|h| h.to_str().unwrap_or_default().to_owned())
                .unwrap_or_default();
            let body = format!("{name} {host} {}", request.uri());
            Box::pin(std::future::ready(http::Response::new(Bytes::from(body))))
        })
    }

    fn get(url: &str) -> Request {
        http::Request::get(url).body(Vec::new()).unwrap()
    }

    #[test]
    fn in_process_sends_the_path_and_the_host_to_the_origins_server() {
        let servers = InProcess::default()
            .origin("http://app.test", named("app"))
            .origin("http://provider.test:8080/", named("provider"));
        let body = |r: Response| String::from_utf8_lossy(r.body()).into_owned();
        assert_eq!(
            body(ready_now(servers.send(get("http://app.test/api/x?y=1")))),
            "app app.test /api/x?y=1"
        );
        assert_eq!(
            body(ready_now(
                servers.send(get("http://provider.test:8080/oauth"))
            )),
            "provider provider.test:8080 /oauth"
        );
    }

    #[test]
    #[should_panic(expected = "no server in process for http://elsewhere.test")]
    fn in_process_refuses_an_unknown_origin() {
        ready_now(InProcess::default().send(get("http://elsewhere.test/")));
    }
}
