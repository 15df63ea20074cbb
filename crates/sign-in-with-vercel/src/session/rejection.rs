//! Why a request has no session, as a ready answer.

use http::HeaderValue;
use http::header::{CACHE_CONTROL, SET_COOKIE};

use crate::answer::{ErrorAnswer, Reply, answer};
use crate::error::Error;

/// Why there is no session, as a ready answer (a thin view of the
/// [`Error`] and the cookies its answer carries).
#[must_use = "a rejection carries cookies that must reach the browser"]
pub struct Rejection {
    pub(crate) error: Error,
    pub(crate) reply: Reply,
}

impl std::fmt::Debug for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Rejection").field(&self.error).finish()
    }
}

impl Rejection {
    /// What went wrong.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// Your own answer to this request in place of the JSON error (a page
    /// for signed-out visitors, say), with the rejection's cookies: the
    /// deletions of the stale or ended session cookies it found, which
    /// must reach the browser all the same. A response that carries any is
    /// `Cache-Control: no-store`, as [`Session::finish`](crate::Session::finish)
    /// makes it.
    pub fn finish<B>(self, mut response: http::Response<B>) -> http::Response<B> {
        let answer = self.into_response();
        let cookies = answer.headers().get_all(SET_COOKIE);
        if cookies.iter().next().is_none() {
            return response;
        }
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        for cookie in cookies {
            headers.append(SET_COOKIE, cookie.clone());
        }
        response
    }

    /// The JSON error answer (401 when signed out), with its cookies.
    pub fn into_response(self) -> crate::Response {
        // A JSON answer never names the error page.
        answer(
            "session",
            ErrorAnswer::Json,
            "",
            Err(self.error),
            self.reply,
        )
    }
}
