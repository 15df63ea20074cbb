//! Every route of the library, as a browser and a provider can reach it:
//! the input is a request (method and URI, headers, as text) and the one
//! answer the fake provider gives to every call it receives (status and
//! body), separated by a line `--provider--`:
//!
//! ```text
//! GET /api/auth/callback?code=c&state=s HTTP/1.1
//! host: app.example.com
//! cookie: __Host-flow=...
//! --provider--
//! 200
//! {"access_token": "..."}
//! ```
//!
//! A request `http` cannot represent (a header name or value it refuses)
//! is skipped, as hyper would refuse it before the function ran. What is
//! asserted: the library answers, without a panic, and never with a 500.

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use sign_in_with_vercel::{Auth, BoxFuture, HttpClient, HttpRequest, HttpResponse, TransportError};

/// A provider whose every answer is the input's.
struct Scripted(std::sync::Mutex<Option<(u16, Vec<u8>)>>);

impl HttpClient for Scripted {
    fn execute(&self, _: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let answer = self.0.lock().unwrap().clone();
        Box::pin(async move {
            let (status, body) = answer.ok_or(TransportError::Connect)?;
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

struct Harness {
    runtime: tokio::runtime::Runtime,
    provider: Arc<Scripted>,
    auth: Auth,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let provider = Arc::new(Scripted(std::sync::Mutex::new(None)));
        let auth = Auth::from_lookup(|name| {
            match name {
                "VERCEL_APP_CLIENT_ID" => Some("cl_fuzz"),
                "VERCEL_APP_CLIENT_SECRET" => Some("fuzz-client-secret-0123456789abcdef"),
                "AUTH_SECRET" => Some("fuzz-auth-secret-0123456789abcdef0123456789"),
                _ => None,
            }
            .map(str::to_owned)
        })
        .with_http_client(provider.clone());
        Harness {
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime"),
            provider,
            auth,
        }
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

/// The provider's answer in `text`: a status line, then the body.
fn answer(text: &str) -> Option<(u16, Vec<u8>)> {
    let (status, body) = text.split_once('\n').unwrap_or((text, ""));
    Some((status.trim().parse().ok()?, body.as_bytes().to_vec()))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (head, provider) = text.split_once("\n--provider--\n").unwrap_or((&text, ""));
    let Some(request) = request(head) else {
        return;
    };
    let harness = harness();
    *harness.provider.0.lock().unwrap() = answer(provider);
    let Some(future) = harness.auth.dispatch(&request) else {
        return;
    };
    let response = harness.runtime.block_on(future);
    assert_ne!(
        response.status(),
        http::StatusCode::INTERNAL_SERVER_ERROR,
        "a 500 for {:?}",
        request.uri()
    );
});
