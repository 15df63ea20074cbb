//! Why a request has no session, as a ready answer.

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
    /// makes it. The error is logged as [`Rejection::into_response`] logs
    /// it (nothing for a visitor who is simply not signed in).
    pub fn finish<B>(self, response: http::Response<B>) -> http::Response<B> {
        self.error.log("session");
        let cookies = self.reply.cookies_for_error(&self.error);
        super::current::set_cookies(response, cookies)
    }

    /// The JSON error answer (401 when signed out), with its cookies.
    /// Its log line names `session` (the call that found no session).
    pub fn into_response(self) -> crate::Response {
        self.answer_as("session")
    }

    /// [`Rejection::into_response`], logged as `route`'s.
    pub(crate) fn answer_as(self, route: &str) -> crate::Response {
        // A JSON answer never names the error page.
        answer(route, ErrorAnswer::Json, "", Err(self.error), self.reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rejection's `Debug` names the error only: the cookies it carries
    /// (a refreshed session's seal among them) never print.
    #[test]
    fn debug_names_the_error_and_not_the_cookies() {
        let mut reply = Reply::default();
        reply.set_cookies.push(http::HeaderValue::from_static(
            "__Host-siv=sealed-tokens; Path=/",
        ));
        let rejection = Rejection {
            error: Error::RefreshConflict,
            reply,
        };
        assert_eq!(format!("{rejection:?}"), "Rejection(RefreshConflict)");
    }
}
