//! `GET /api/auth/session`: who is signed in, from the session cookie
//! alone (no provider call while the access token is fresh), like
//! NextAuth's `/api/auth/session`. 200 `{"user": {...}}` when signed in,
//! 200 `{"user": null}` when not (a page asking is not an error), with any
//! refreshed or stale cookies set.

use http::request::Parts;
use http::{Method, StatusCode};
use serde_json::json;

use super::Route;
use crate::answer::{ErrorAnswer, Reply};
use crate::cookies::clear_all;
use crate::error::Error;
use crate::provider::Provider;
use crate::response::{Response, json};
use crate::session::Sessions;
use crate::session::{self, Need, UserInfo};

pub(super) const ROUTE: Route = Route {
    method: Method::GET,
    name: "session",
    errors: ErrorAnswer::Json,
    path: |paths| &paths.session,
    handler: |provider, sessions, parts, reply| Box::pin(session(provider, sessions, parts, reply)),
};

async fn session(
    provider: &Provider,
    sessions: &Sessions,
    parts: &Parts,
    reply: &mut Reply,
) -> Result<Response, Error> {
    let incoming = session::incoming(provider, &parts.headers);
    match session::load(provider, sessions, incoming, reply, Need::Identity).await {
        Ok(data) => Ok(json(
            StatusCode::OK,
            &json!({ "user": UserInfo::from_session(&data) }),
        )),
        // Signed out is an answer, not an error; a session that ended
        // (elsewhere, or past its grace) still loses its cookies.
        Err(Error::NotSignedIn) => {
            if let Some(origin) = &reply.origin {
                let ended = std::mem::take(&mut reply.session_names);
                reply.set_cookies.extend(clear_all(origin, &ended));
            }
            Ok(json(StatusCode::OK, &json!({ "user": null })))
        }
        Err(e) => Err(e),
    }
}
