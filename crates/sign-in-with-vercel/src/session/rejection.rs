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
    /// must reach the browser all the same. It is kept from shared caches
    /// as [`Session::finish`](crate::Session::finish) keeps a signed-in
    /// answer: the answer depends on the request's cookies, and a CDN that
    /// does not key its cache on `Cookie` would otherwise hand the
    /// signed-out page to signed-in users. So the CDN's own cache controls
    /// (`Vercel-CDN-Cache-Control`, `CDN-Cache-Control`,
    /// `Surrogate-Control`) are removed, and `Cache-Control` is `no-store`
    /// unless it says `private` or `no-store` (always `no-store` with
    /// cookies). The error is logged as [`Rejection::into_response`] logs
    /// it (nothing for a visitor who is simply not signed in).
    pub fn finish<B>(self, response: http::Response<B>) -> http::Response<B> {
        self.error.log("session");
        let cookies = self.reply.cookies_for_error(&self.error);
        super::current::for_this_browser_only(response, cookies)
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

    /// A signed-out visitor's page, as the app would let a CDN cache it,
    /// is kept from shared caches all the same, with no cookie to delete
    /// (the usual visitor): cached, it would greet signed-in users as
    /// guests. An app's `private` stays.
    #[test]
    fn a_signed_out_page_is_kept_from_shared_caches() {
        let page = |cache_control: &'static str| {
            http::Response::builder()
                .header("cache-control", cache_control)
                .header("vercel-cdn-cache-control", "max-age=3600")
                .header("cdn-cache-control", "max-age=3600")
                .body(())
                .unwrap()
        };
        let rejection = || Rejection {
            error: Error::NotSignedIn,
            reply: Reply::default(),
        };
        let finished = rejection().finish(page("public, s-maxage=3600"));
        let headers = finished.headers();
        assert_eq!(headers["cache-control"], "no-store");
        assert!(!headers.contains_key("vercel-cdn-cache-control"));
        assert!(!headers.contains_key("cdn-cache-control"));
        assert!(!headers.contains_key("set-cookie"));
        let private = rejection().finish(page("private, max-age=60"));
        assert_eq!(private.headers()["cache-control"], "private, max-age=60");
        assert!(!private.headers().contains_key("vercel-cdn-cache-control"));
    }

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
