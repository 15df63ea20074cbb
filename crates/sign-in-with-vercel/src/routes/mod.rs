//! The routes: one module each, listed once in [`ROUTES`]. Each is a
//! function from a request to a response that a test can call without a
//! socket; the `api/**/*.rs` binaries are shims that hand their route to
//! [`Auth::serve`](crate::Auth::serve), and the local dev server calls the
//! very same functions through [`Auth::dispatch`](crate::Auth::dispatch).
//!
//! Where a route is served is configuration ([`Paths`]); a route knows
//! which of the paths is its own.
//!
//! Adding a route: its module here with a `ROUTE` constant, one row in
//! [`ROUTES`], its path in [`Paths`], then in the app the shim in `api/`
//! and its `[[bin]]` in `Cargo.toml` (the app's tests check the last two
//! against the table).

mod authorize;
mod callback;
mod session;
mod signout;
mod user_info;
mod validate_token;

use http::Method;
use http::request::Parts;

use crate::answer::{ErrorAnswer, Reply, answer};
use crate::clock::with_deadline;
use crate::error::Error;
use crate::paths::Paths;
use crate::provider::Provider;
use crate::response::Response;
use crate::session::Sessions;
use crate::transport::BoxFuture;

/// A route's handler: reads the request, records the cookies its answer
/// must carry in the [`Reply`], and returns its response or the error
/// that `answer` turns into one.
pub(crate) type Handler = for<'a> fn(
    &'a Provider,
    &'a Sessions,
    &'a Parts,
    &'a mut Reply,
) -> BoxFuture<'a, Result<Response, Error>>;

/// One route: its name, its method, how it answers errors, and what runs.
pub struct Route {
    /// The route's name, used in log lines; this app names its function's
    /// `[[bin]]` after it.
    pub name: &'static str,
    /// The one method it answers; others get 405.
    pub method: Method,
    /// Whether errors redirect to the error page or answer JSON.
    pub errors: ErrorAnswer,
    /// Which of the configured [`Paths`] is this route's.
    path: fn(&Paths) -> &str,
    handler: Handler,
}

impl Route {
    /// Where the route is served under `paths`.
    pub fn path<'a>(&self, paths: &'a Paths) -> &'a str {
        (self.path)(paths)
    }
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Route({} {})", self.method, self.name)
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

/// Every route.
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
/// `answer`. Only the request's head is read.
pub(crate) async fn serve(
    provider: &Provider,
    sessions: &Sessions,
    route: &'static Route,
    parts: Parts,
) -> Response {
    let mut reply = Reply::default();
    let outcome = if parts.method == route.method {
        with_deadline((route.handler)(provider, sessions, &parts, &mut reply)).await
    } else {
        Err(Error::MethodNotAllowed(route.method.as_str()))
    };
    let error_page = &provider.paths().error_page;
    answer(route.name, route.errors, error_page, outcome, reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A route prints as its method and name, which is what the log and a
    /// failing test need; the handler is a function pointer, not printed.
    #[test]
    fn a_route_prints_as_its_method_and_name() {
        let printed: Vec<String> = ROUTES.iter().map(|r| format!("{r:?}")).collect();
        assert_eq!(
            printed,
            [
                "Route(GET authorize)",
                "Route(GET callback)",
                "Route(GET session)",
                "Route(POST signout)",
                "Route(GET validate-token)",
                "Route(GET user-info)",
            ]
        );
    }
}
