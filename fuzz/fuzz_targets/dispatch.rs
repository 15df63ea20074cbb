//! Every route of the library, as a browser and a provider can reach it.
//! The input is a request (method and URI, then headers, as text), then
//! the fake provider's answers, each after a line `--provider--`: a line
//! with the status and the path it answers, then the body. A call gets
//! the first answer left for its path; a call with none finds the
//! provider unreachable.
//!
//! ```text
//! GET /api/auth/callback?code=c&state=s HTTP/1.1
//! host: app.example.com
//! cookie: __Host-flow=...
//! --provider--
//! 200 /login/oauth/token
//! {"access_token": "...", "token_type": "Bearer", "id_token": "..."}
//! --provider--
//! 200 /.well-known/jwks
//! {"keys": [...]}
//! ```
//!
//! The clock stands still at [`NOW`], so seeds that carry sealed cookies
//! and signed tokens (`cargo run --example seeds --no-default-features`
//! writes them) stay valid, and the fuzzer can reach what lies behind
//! them. A request `http` cannot represent (a header name or value it
//! refuses) is skipped, as hyper would refuse it before the function ran.
//! What is asserted: the library answers, without a panic, and never with
//! a 500.

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use sign_in_with_vercel::{Auth, BoxFuture, HttpClient, HttpRequest, HttpResponse, TransportError};

#[path = "../harness.rs"]
mod harness_common;
use harness_common::{NOW, lookup};

/// A provider that gives the input's answers: `(status, path, body)`.
struct Scripted(std::sync::Mutex<Vec<(u16, String, Vec<u8>)>>);

impl HttpClient for Scripted {
    fn execute(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let answer = {
            let mut answers = self.0.lock().unwrap();
            let path = request.uri().path();
            let at = answers.iter().position(|(_, p, _)| p == path);
            at.map(|at| answers.remove(at))
        };
        Box::pin(async move {
            let (status, _, body) = answer.ok_or(TransportError::Connect)?;
            let mut response = http::Response::new(body);
            *response.status_mut() =
                http::StatusCode::from_u16(status).map_err(|_| TransportError::Other)?;
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            Ok(response)
        })
    }
}

/// One runtime for every input, as a Vercel function instance has.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
    })
}

/// The request in `text`, if `http` can represent it.
fn request(text: &str) -> Option<http::Request<()>> {
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let mut start = lines.next()?.splitn(3, ' ');
    let method = http::Method::from_bytes(start.next()?.as_bytes()).ok()?;
    let uri: http::Uri = start.next()?.parse().ok()?;
    let mut builder = http::Request::builder().method(method).uri(uri);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let name = http::HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
        let value = http::HeaderValue::from_bytes(value.trim().as_bytes()).ok()?;
        builder = builder.header(name, value);
    }
    builder.body(()).ok()
}

/// A provider's answer in `text`: a line with the status and the path,
/// then the body.
fn answer(text: &str) -> Option<(u16, String, Vec<u8>)> {
    let (line, body) = text.split_once('\n').unwrap_or((text, ""));
    let (status, path) = line.trim().split_once(' ')?;
    Some((
        status.parse().ok()?,
        path.to_owned(),
        body.as_bytes().to_vec(),
    ))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split("\n--provider--\n");
    let Some(request) = parts.next().and_then(request) else {
        return;
    };
    // A fresh instance per input (its caches empty), so that an input
    // means the same whatever ran before it.
    let provider = Scripted(std::sync::Mutex::new(parts.map_while(answer).collect()));
    let auth = Auth::from_lookup(lookup)
        .with_http_client(Arc::new(provider))
        .with_clock(Arc::new(|| NOW));
    let Some(future) = auth.dispatch(&request) else {
        return;
    };
    let response = runtime().block_on(future);
    assert_ne!(
        response.status(),
        http::StatusCode::INTERNAL_SERVER_ERROR,
        "a 500 for {:?}",
        request.uri()
    );
});
