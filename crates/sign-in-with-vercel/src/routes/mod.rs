//! The routes: one module each, listed once in [`ROUTES`]. Each is a
//! function from a request to a response that a test can call without a
//! socket; the `api/**/*.rs` binaries are shims that hand their route to
//! [`Auth::serve`], and the local dev server calls the very same
//! functions through [`dispatch`].
//!
//! Adding a route: its module here with a `ROUTE` constant, one row in
//! [`ROUTES`], the shim in `api/`, and its `[[bin]]` in `Cargo.toml` (a
//! test checks the last two against the table).

mod authorize;
mod callback;
mod session;
mod signout;
mod user_info;
mod validate_token;

use std::future::Future;

use http::Method;
use http::request::Parts;
use serde_json::json;

use crate::answer::{Exchange, Kind, answer};
use crate::auth::{Auth, with_deadline};
use crate::error::Error;
use crate::response::{self, Response};
use crate::transport::BoxFuture;

/// A route's handler: reads the request, records the cookies its answer
/// must carry in the [`Exchange`], and returns its response or the error
/// that `answer` turns into one.
pub(crate) type Handler =
    for<'a> fn(&'a Auth, &'a Parts, &'a mut Exchange) -> BoxFuture<'a, Result<Response, Error>>;

/// One route: where Vercel serves it, from which file, and what runs.
pub struct Route {
    /// The URL path, e.g. `/api/auth/authorize`.
    pub path: &'static str,
    /// The one method it answers; others get 405.
    pub method: Method,
    /// The function's source file, its `[[bin]]`'s `path`.
    pub source: &'static str,
    /// The `[[bin]]` name, also used in log lines.
    pub name: &'static str,
    /// Whether errors redirect to the error page or answer JSON.
    pub kind: Kind,
    handler: Handler,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Route({} {})", self.method, self.path)
    }
}

/// `GET /api/auth/authorize`.
pub static AUTHORIZE: Route = authorize::ROUTE;
/// `GET /api/auth/callback`.
pub static CALLBACK: Route = callback::ROUTE;
/// `GET /api/auth/session`.
pub static SESSION: Route = session::ROUTE;
/// `POST /api/auth/signout`.
pub static SIGNOUT: Route = signout::ROUTE;
/// `GET /api/validate-token`.
pub static VALIDATE_TOKEN: Route = validate_token::ROUTE;
/// `GET /api/user-info`.
pub static USER_INFO: Route = user_info::ROUTE;

/// Every route, in the order the README describes them.
pub static ROUTES: [&Route; 6] = [
    &AUTHORIZE,
    &CALLBACK,
    &SESSION,
    &SIGNOUT,
    &VALIDATE_TOKEN,
    &USER_INFO,
];

/// The whole life of one request to a Vercel function: the route's
/// handler within [`crate::REQUEST_DEADLINE`] of provider calls, then
/// `answer`.
pub(crate) fn serve<'a, B>(
    auth: &'a Auth,
    route: &'static Route,
    request: http::Request<B>,
) -> impl Future<Output = Response> + Send + 'a {
    // Only the head is kept: the future holds no body.
    let parts = request.into_parts().0;
    async move {
        let mut exchange = Exchange::default();
        let outcome = if parts.method == route.method {
            with_deadline((route.handler)(auth, &parts, &mut exchange)).await
        } else {
            Err(Error::MethodNotAllowed(route.method.as_str()))
        };
        answer(route.name, route.kind, outcome, exchange)
    }
}

/// Routes a request by path, as Vercel does with one function per file;
/// any other `/api/...` path is a 404 JSON answer. `None` for paths
/// outside `/api`. Used by the local dev server and the tests.
pub fn dispatch<'a, B>(
    auth: &'a Auth,
    request: &http::Request<B>,
) -> Option<BoxFuture<'a, Response>> {
    let path = request.uri().path();
    if let Some(route) = ROUTES.iter().find(|r| r.path == path) {
        let mut head = http::Request::new(());
        *head.method_mut() = request.method().clone();
        *head.uri_mut() = request.uri().clone();
        *head.headers_mut() = request.headers().clone();
        return Some(Box::pin(serve(auth, route, head)));
    }
    (path == "/api" || path.starts_with("/api/")).then(|| {
        Box::pin(std::future::ready(response::json(
            http::StatusCode::NOT_FOUND,
            &json!({ "error": "not_found", "error_description": "No such API route." }),
        ))) as BoxFuture<'a, Response>
    })
}
