//! What the fuzz target and the seed writer share: the app's settings, the
//! instant its clock stands still at, the provider that answers from the
//! input, and how an input reads.

use std::sync::Mutex;

use sign_in_with_vercel::{BoxFuture, HttpClient, HttpRequest, HttpResponse, TransportError};

/// The fuzzed app's clock: 2026-12-01T00:00:00Z.
pub const NOW: i64 = 1_796_083_200;

/// The line between the request and each of the provider's answers.
pub const SEPARATOR: &str = "\n--provider--\n";

/// The fuzzed app's settings (Vercel as the issuer, a confidential client).
pub fn lookup(name: &str) -> Option<String> {
    match name {
        "VERCEL_APP_CLIENT_ID" => Some("cl_fuzz"),
        "VERCEL_APP_CLIENT_SECRET" => Some("fuzz-client-secret-0123456789abcdef"),
        "AUTH_SECRET" => Some("fuzz-auth-secret-0123456789abcdef0123456789"),
        _ => None,
    }
    .map(str::to_owned)
}

/// One answer of the provider: its status, the path it answers, its body.
pub type Answer = (u16, String, Vec<u8>);

/// A provider that gives the input's answers: a call gets the first one
/// left for its path; a call with none finds the provider unreachable.
pub struct Scripted(pub Mutex<Vec<Answer>>);

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

/// The request in `text` (a line with the method and the URI, then a line
/// per header), if `http` can represent it.
pub fn request(text: &str) -> Option<http::Request<()>> {
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
pub fn answer(text: &str) -> Option<Answer> {
    let (line, body) = text.split_once('\n').unwrap_or((text, ""));
    let (status, path) = line.trim().split_once(' ')?;
    Some((
        status.parse().ok()?,
        path.to_owned(),
        body.as_bytes().to_vec(),
    ))
}

/// An input: its request's text and the provider's answers.
pub fn split(text: &str) -> (&str, Vec<Answer>) {
    let mut parts = text.split(SEPARATOR);
    let head = parts.next().unwrap_or_default();
    (head, parts.map_while(answer).collect())
}
