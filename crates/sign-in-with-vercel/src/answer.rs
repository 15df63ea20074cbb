//! The one place a route's outcome becomes the response the browser gets.
//!
//! A handler returns `Result<Response, Error>` and records, in the
//! request's [`Reply`], the cookies that must reach the browser
//! whatever happens next (a rotated session, deleted stale cookies) and
//! the session generation it read. [`answer`] then builds the response:
//! the handler's, or the error's redirect (browser routes) or JSON (API
//! routes) with its status, plus those cookies; for an error that ends the
//! session, it deletes the generation the request read, and only that one,
//! so a parallel response's newer session survives in every order; and it
//! writes the log line.

use http::HeaderValue;
use http::header::{ALLOW, SET_COOKIE};
use serde_json::json;

use crate::cookies::clear_all;
use crate::error::Error;
use crate::origin::Origin;
use crate::response::{Response, json, no_referrer, redirect_to_error};

/// How a route answers an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorAnswer {
    /// A page the browser navigates to: errors redirect to the error page
    /// with `?error=<code>`.
    Redirect,
    /// A JSON API: errors are `{"error", "error_description"}` with a status.
    Json,
}

/// What one request has gathered for its response, whatever its outcome.
#[derive(Default)]
pub(crate) struct Reply {
    /// The app's origin, once known (cookies need it).
    pub origin: Option<Origin>,
    /// `Set-Cookie` values sent with any answer: a rotated session, stale
    /// or unreadable cookies deleted.
    pub set_cookies: Vec<HeaderValue>,
    /// The names of the session generation in the browser after this
    /// response; an error that ends the session deletes them.
    pub session_names: Vec<String>,
    /// `Set-Cookie` values sent only with an error (the callback's flow).
    pub clear_on_error: Vec<HeaderValue>,
    /// Whether the response must carry `Referrer-Policy: no-referrer`.
    pub no_referrer: bool,
}

impl Reply {
    /// The `Set-Cookie`s an answer to `error` carries: the reply's own, the
    /// session's deletion when the error ends it, and those sent only with
    /// an error.
    pub(crate) fn cookies_for_error(self, error: &Error) -> Vec<HeaderValue> {
        let mut cookies = self.set_cookies;
        if error.facts().ends_session
            && let Some(origin) = &self.origin
        {
            cookies.extend(clear_all(origin, &self.session_names));
        }
        cookies.extend(self.clear_on_error);
        cookies
    }
}

/// The response for `outcome` on route `route`, which answers errors as
/// `errors` says (a redirect goes to `error_page`).
pub(crate) fn answer(
    route: &str,
    errors: ErrorAnswer,
    error_page: &str,
    outcome: Result<Response, Error>,
    reply: Reply,
) -> Response {
    let hide_referrer = reply.no_referrer;
    let (mut response, set_cookies) = match outcome {
        Ok(response) => (response, reply.set_cookies),
        Err(error) => {
            error.log(route);
            let facts = error.facts();
            let set_cookies = reply.cookies_for_error(&error);
            let response = match errors {
                ErrorAnswer::Redirect if !matches!(error, Error::MethodNotAllowed(_)) => {
                    redirect_to_error(error_page, facts.code)
                }
                _ => error_json(&error),
            };
            (response, set_cookies)
        }
    };
    let headers = response.headers_mut();
    for cookie in set_cookies {
        headers.append(SET_COOKIE, cookie);
    }
    if hide_referrer {
        response = no_referrer(response);
    }
    response
}

/// The JSON answer for an error on an API route:
/// `{"error": "<code>", "error_description": "<fixed sentence>"}`. A
/// malformed request's says what is wrong with it: its reason is the
/// library's own fixed words (never the request's content), and the
/// caller, who sent it, can mend it.
pub(crate) fn error_json(error: &Error) -> Response {
    let facts = error.facts();
    let description: std::borrow::Cow<'static, str> = match error {
        Error::BadRequest(why) => {
            let sentence = facts.description.trim_end_matches('.');
            format!("{sentence}: {why}.").into()
        }
        _ => facts.description.into(),
    };
    let mut response = json(
        facts.status,
        &json!({ "error": facts.code, "error_description": description }),
    );
    if let Error::MethodNotAllowed(allowed) = error {
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allowed));
    }
    response
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::StatusCode;
    use http::header::{CONTENT_TYPE, LOCATION, REFERRER_POLICY};
    use serde_json::Value;

    use super::*;
    use crate::cookies::clear_cookie;
    use crate::response::redirect;

    fn origin() -> Origin {
        Origin::parse_configured("https://app.example.com").unwrap()
    }

    /// A reply that read session `s` on [`origin`], with a cookie for any
    /// answer and one for an error only.
    fn reply() -> Reply {
        Reply {
            origin: Some(origin()),
            set_cookies: vec![HeaderValue::from_static("kept=1")],
            session_names: vec!["s".to_owned()],
            clear_on_error: vec![HeaderValue::from_static("flow=; Max-Age=0")],
            no_referrer: false,
        }
    }

    fn set_cookies(response: &Response) -> Vec<&HeaderValue> {
        response.headers().get_all(SET_COOKIE).iter().collect()
    }

    fn body(response: &Response) -> Value {
        serde_json::from_slice(response.body()).unwrap()
    }

    #[test]
    fn an_error_that_ends_the_session_deletes_the_generation_it_read() {
        let ended = answer(
            "session",
            ErrorAnswer::Json,
            "/auth/error",
            Err(Error::NotSignedIn),
            reply(),
        );
        assert_eq!(
            set_cookies(&ended),
            [
                &HeaderValue::from_static("kept=1"),
                &clear_cookie(&origin(), "s"),
                &HeaderValue::from_static("flow=; Max-Age=0"),
            ]
        );
        let kept = answer(
            "callback",
            ErrorAnswer::Json,
            "/auth/error",
            Err(Error::FlowMissing),
            reply(),
        );
        assert_eq!(
            set_cookies(&kept),
            [
                &HeaderValue::from_static("kept=1"),
                &HeaderValue::from_static("flow=; Max-Age=0"),
            ],
            "an error that does not end the session leaves it"
        );
    }

    #[test]
    fn a_success_carries_the_replys_cookies_but_not_the_errors() {
        let done = answer(
            "callback",
            ErrorAnswer::Redirect,
            "/auth/error",
            Ok(redirect("/profile")),
            reply(),
        );
        assert_eq!(done.status(), StatusCode::FOUND);
        assert_eq!(done.headers()[LOCATION], "/profile");
        assert_eq!(set_cookies(&done), [&HeaderValue::from_static("kept=1")]);
        assert!(!done.headers().contains_key(REFERRER_POLICY));
    }

    /// RFC 9700 §4.2.4: the callback's answer, success or error, keeps its
    /// URL out of a `Referer`.
    #[test]
    fn a_reply_that_hides_the_referrer_does_so_on_every_outcome() {
        for outcome in [Ok(redirect("/profile")), Err(Error::FlowMissing)] {
            let hidden = answer(
                "callback",
                ErrorAnswer::Redirect,
                "/auth/error",
                outcome,
                Reply {
                    no_referrer: true,
                    ..reply()
                },
            );
            assert_eq!(hidden.headers()[REFERRER_POLICY], "no-referrer");
        }
    }

    #[test]
    fn a_page_route_redirects_errors_to_the_error_page() {
        let error = answer(
            "authorize",
            ErrorAnswer::Redirect,
            "/auth/error",
            Err(Error::NotSignedIn),
            Reply::default(),
        );
        assert_eq!(error.status(), StatusCode::FOUND);
        assert_eq!(error.headers()[LOCATION], "/auth/error?error=not_signed_in");
        assert_eq!(error.body(), &Bytes::new());
    }

    #[test]
    fn an_api_route_answers_errors_as_json_with_their_status() {
        let error = answer(
            "session",
            ErrorAnswer::Json,
            "/auth/error",
            Err(Error::NotSignedIn),
            Reply::default(),
        );
        assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(error.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            body(&error),
            serde_json::json!({
                "error": "not_signed_in",
                "error_description": "No session found: you are not signed in.",
            })
        );
    }

    /// A malformed request's answer says what is wrong with it (the
    /// library's own words), so the caller can mend it.
    #[test]
    fn a_malformed_request_is_told_what_is_wrong() {
        let refused = answer(
            "signout",
            ErrorAnswer::Json,
            "/auth/error",
            Err(Error::BadRequest(
                "everywhere must be true or false, or have no value",
            )),
            Reply::default(),
        );
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            body(&refused),
            serde_json::json!({
                "error": "invalid_request",
                "error_description": "The request is malformed: everywhere must be true or false, or have no value.",
            })
        );
    }

    /// RFC 9110 §15.5.6: a 405 names the allowed methods in `Allow`; it is
    /// JSON even on a page route, since no page asked for it.
    #[test]
    fn a_wrong_method_is_a_405_with_allow_on_every_route() {
        for errors in [ErrorAnswer::Redirect, ErrorAnswer::Json] {
            let refused = answer(
                "signout",
                errors,
                "/auth/error",
                Err(Error::MethodNotAllowed("POST")),
                Reply::default(),
            );
            assert_eq!(
                refused.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{errors:?}"
            );
            assert_eq!(refused.headers()[ALLOW], "POST", "{errors:?}");
            assert_eq!(body(&refused)["error"], "method_not_allowed", "{errors:?}");
        }
    }
}
