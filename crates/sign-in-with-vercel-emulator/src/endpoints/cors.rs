//! CORS (the Fetch standard's CORS protocol) on the endpoints a public client
//! calls from a browser: the token endpoint of Vercel's Authorization Server
//! API reference is for clients with authentication `none`, "suitable for
//! public applications that cannot securely store secrets, such as SPAs", which
//! also revoke their tokens and read userinfo.
//!
//! Allowed origins are the origins of public clients' redirect URIs: an
//! SPA is served from where it is sent back to. Allowed request headers
//! are `authorization` (userinfo's bearer token, which the Fetch standard
//! never covers by a wildcard) and `content-type`. No credentials: nothing
//! here reads cookies, so `Access-Control-Allow-Credentials` is never sent.

use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
    VARY,
};
use http::{HeaderValue, StatusCode};

use super::{Request, Response};
use crate::{Emulator, lock};

/// The request headers a cross-origin caller may send.
const ALLOWED_HEADERS: &str = "authorization, content-type";

/// How long a browser may cache a preflight's answer, seconds.
const MAX_AGE: &str = "600";

/// The request's `Origin` when it is one a public client was registered
/// with (a redirect URI's origin); `None` otherwise.
fn allowed_origin(emu: &Emulator, request: &Request) -> Option<HeaderValue> {
    let origin = request.headers().get(ORIGIN)?;
    let text = origin.to_str().ok()?;
    let registered = lock(&emu.config)
        .clients
        .iter()
        .filter(|c| c.is_public())
        .flat_map(|c| &c.redirect_uris)
        .filter_map(|uri| url::Url::parse(uri).ok())
        .any(|uri| uri.origin().ascii_serialization() == text);
    registered.then(|| origin.clone())
}

/// The answer to a preflight (`OPTIONS` with
/// `Access-Control-Request-Method`): `204`, allowing `methods` and
/// [`ALLOWED_HEADERS`] for an allowed origin, nothing for another (the
/// browser then refuses the request).
pub(super) fn preflight(emu: &Emulator, request: &Request, methods: &[&str]) -> Response {
    let mut response = http::Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(VARY, "Origin")
        .body(bytes::Bytes::new())
        .unwrap_or_default();
    let asked = request
        .headers()
        .get(ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|m| m.to_str().ok());
    if let (Some(origin), Some(method)) = (allowed_origin(emu, request), asked)
        && methods.contains(&method)
    {
        let headers = response.headers_mut();
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if let Ok(allowed) = HeaderValue::from_str(&methods.join(", ")) {
            headers.insert(ACCESS_CONTROL_ALLOW_METHODS, allowed);
        }
        headers.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
    }
    response
}

/// Adds the CORS headers of an actual (not preflight) response: the
/// allowed origin, and `WWW-Authenticate` readable by the page (userinfo's
/// RFC 6750 §3 error).
pub(super) fn decorate(emu: &Emulator, request: &Request, mut response: Response) -> Response {
    let origin = allowed_origin(emu, request);
    let headers = response.headers_mut();
    headers.append(VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("WWW-Authenticate"),
        );
    }
    response
}
