//! Building the responses of the auth routes. Every one of them is
//! `Cache-Control: no-store`: they carry or set credentials.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, REFERRER_POLICY};
use http::{HeaderValue, StatusCode};
use url::form_urlencoded;

/// The response type of every route.
pub type Response = http::Response<Bytes>;

fn builder(status: StatusCode) -> http::response::Builder {
    http::Response::builder()
        .status(status)
        .header(CACHE_CONTROL, "no-store")
}

fn finish(builder: http::response::Builder, body: Bytes) -> Response {
    builder.body(body).unwrap_or_else(|_| internal_error())
}

/// A `302 Found` to a same-origin path or an absolute URL we built.
pub fn redirect(location: impl Into<String>) -> Response {
    match HeaderValue::from_maybe_shared(Bytes::from(location.into())) {
        Ok(value) => finish(
            builder(StatusCode::FOUND).header(LOCATION, value),
            Bytes::new(),
        ),
        Err(_) => internal_error(),
    }
}

/// A redirect to `error_page` (a checked path, see
/// [`Paths`](crate::Paths)) with a short code.
pub fn redirect_to_error(error_page: &str, code: &str) -> Response {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("error", code)
        .finish();
    match HeaderValue::from_str(&format!("{error_page}?{query}")) {
        Ok(location) => finish(
            builder(StatusCode::FOUND).header(LOCATION, location),
            Bytes::new(),
        ),
        Err(_) => internal_error(),
    }
}

/// An empty `500`: only for a response that cannot be built, which the
/// callers never make from outside input. `no-store` like every other
/// answer, since the route may still add its cookies to it.
pub(crate) fn internal_error() -> Response {
    let mut response = http::Response::new(Bytes::new());
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A JSON body with `status`.
pub fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    json_bytes(status, Bytes::from(body.to_string()))
}

/// A JSON document already serialised.
pub fn json_bytes(status: StatusCode, body: Bytes) -> Response {
    finish(
        builder(status).header(CONTENT_TYPE, "application/json"),
        body,
    )
}

/// Adds `Referrer-Policy: no-referrer`, so that the callback URL, with its
/// code, never leaves in a `Referer` (RFC 9700 §4.2.4).
pub fn no_referrer(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_is_no_store_even_one_that_could_not_be_built() {
        assert_eq!(internal_error().headers()[CACHE_CONTROL], "no-store");
        // A header value no `Location` may carry falls back to the 500.
        let broken = redirect("https://op.example/authorize\n");
        assert_eq!(broken.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(broken.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(redirect("/profile").headers()[CACHE_CONTROL], "no-store");
    }

    #[test]
    fn a_redirect_is_a_302_to_its_location() {
        let r = redirect("/profile?tab=1");
        assert_eq!(r.status(), StatusCode::FOUND);
        assert_eq!(r.headers()[LOCATION], "/profile?tab=1");
        assert!(r.body().is_empty());
    }

    #[test]
    fn the_error_page_gets_its_code_form_encoded() {
        let r = redirect_to_error("/auth/error", "a b&c");
        assert_eq!(r.status(), StatusCode::FOUND);
        assert_eq!(r.headers()[LOCATION], "/auth/error?error=a+b%26c");
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    }

    #[test]
    fn json_answers_carry_their_status_type_and_body() {
        let r = json(
            StatusCode::UNAUTHORIZED,
            &serde_json::json!({ "error": "not_signed_in" }),
        );
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(r.body(), r#"{"error":"not_signed_in"}"#);
    }

    /// RFC 9700 §4.2.4: the callback URL, with its code, must not leave in
    /// a `Referer`.
    #[test]
    fn no_referrer_adds_the_policy_and_keeps_the_response() {
        let r = no_referrer(redirect("/profile"));
        assert_eq!(r.headers()[REFERRER_POLICY], "no-referrer");
        assert_eq!(r.status(), StatusCode::FOUND);
        assert_eq!(r.headers()[LOCATION], "/profile");
    }
}
