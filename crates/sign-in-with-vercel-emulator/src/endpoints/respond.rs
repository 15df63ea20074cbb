//! What the endpoints share: reading a form body and writing JSON, OAuth
//! error and HTML responses.

use std::collections::HashMap;

use bytes::Bytes;
use http::StatusCode;
use serde_json::{Value, json};

use crate::form_params;

pub(crate) type Response = http::Response<Bytes>;

/// The parameters of an `application/x-www-form-urlencoded` body (RFC 6749
/// §3.2), a repeated parameter refused (§3.1); one sent without a value
/// is left out, as if omitted (§3.1, §3.2: "MUST be treated as if they
/// were omitted from the request").
pub(super) fn form_body(
    request: &http::Request<Vec<u8>>,
) -> Result<HashMap<String, String>, Response> {
    if !is_form(request) {
        return Err(oauth_error(
            400,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let mut params =
        form_params(request.body()).map_err(|why| oauth_error(400, "invalid_request", why))?;
    params.retain(|_, value| !value.is_empty());
    Ok(params)
}

/// Whether the request's `Content-Type` is
/// `application/x-www-form-urlencoded` (RFC 6749 Appendix B; OpenID
/// Connect Core §3.1.2.1's "Form Serialization").
pub(super) fn is_form(request: &http::Request<Vec<u8>>) -> bool {
    request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

pub(super) fn json_response(status: StatusCode, body: &Value) -> Response {
    raw_json(status.as_u16(), body.to_string())
}

/// A JSON answer with `status`; one no HTTP status is (a fault's typo,
/// `5003`) is a 500, not a builder failure's empty 200 that a test would
/// take for success.
pub(super) fn raw_json(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::CACHE_CONTROL, "no-store")
        .header(http::header::PRAGMA, "no-cache")
        .body(Bytes::from(body))
        .unwrap_or_default()
}

/// An error of Vercel's REST API: `{"error": {"code", "message"}}` (the shape
/// of Vercel's REST API errors, as seen in public CI logs and integrations).
pub(super) fn rest_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({ "error": { "code": code, "message": message } }),
    )
}

/// A REST `400`: "One of the provided values in the request `part` is
/// invalid." (`part`: `query` or `body`).
pub(super) fn rest_bad_request(part: &str) -> Response {
    rest_error(
        StatusCode::BAD_REQUEST,
        "bad_request",
        &format!("One of the provided values in the request {part} is invalid."),
    )
}

/// A REST `405`, in Vercel's error shape.
pub(super) fn rest_method_not_allowed() -> Response {
    rest_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method not allowed.",
    )
}

/// Vercel's refusal of an expired, revoked or unknown token:
/// `403 {"error":{"code":"forbidden","message":"Not authorized","invalidToken":true}}`
/// (as seen widely in public CI logs and integrations).
pub(super) fn not_authorized() -> Response {
    json_response(
        StatusCode::FORBIDDEN,
        &json!({ "error": { "code": "forbidden", "message": "Not authorized", "invalidToken": true } }),
    )
}

/// A path nothing is served at: Vercel's REST error on the API origin
/// and under `/api/`, a page elsewhere.
pub(super) fn not_found(json: bool) -> Response {
    if json {
        rest_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "The requested path was not found.",
        )
    } else {
        html(StatusCode::NOT_FOUND, crate::pages::not_found())
    }
}

/// An RFC 6749 §5.2 error body.
pub(super) fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    raw_json(
        status,
        json!({ "error": error, "error_description": description }).to_string(),
    )
}

/// An emulator page. Images only from the emulator's own origin (avatars).
pub(super) fn html(status: StatusCode, body: String) -> Response {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(http::header::CACHE_CONTROL, "no-store")
        .header(
            http::header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        .header(http::header::X_FRAME_OPTIONS, "DENY")
        .header(http::header::REFERRER_POLICY, "no-referrer")
        .body(Bytes::from(body))
        .unwrap_or_default()
}

/// A `302 Found` to `location`, never cached.
pub(super) fn found(location: &str) -> Response {
    http::Response::builder()
        .status(StatusCode::FOUND)
        .header(http::header::LOCATION, location)
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Bytes::new())
        .unwrap_or_default()
}

/// A `303 See Other` after a form post.
pub(super) fn see_other(location: &str) -> Response {
    let mut response = found(location);
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}

/// `response` with a `Set-Cookie` header added.
pub(super) fn with_cookie(mut response: Response, set_cookie: &str) -> Response {
    if let Ok(value) = http::HeaderValue::from_str(set_cookie) {
        response
            .headers_mut()
            .append(http::header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_no_http_status_is_answers_500() {
        for status in [5003, 0, 99] {
            assert_eq!(raw_json(status, "{}".into()).status(), 500, "{status}");
        }
        assert_eq!(raw_json(503, "{}".into()).status(), 503);
    }
}
