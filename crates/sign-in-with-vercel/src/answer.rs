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
/// `{"error": "<code>", "error_description": "<fixed sentence>"}`.
pub(crate) fn error_json(error: &Error) -> Response {
    let facts = error.facts();
    let mut response = json(
        facts.status,
        &json!({ "error": facts.code, "error_description": facts.description }),
    );
    if let Error::MethodNotAllowed(allowed) = error {
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allowed));
    }
    response
}
