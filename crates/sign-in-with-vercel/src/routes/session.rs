//! `GET /api/auth/session`: who is signed in, from the session cookie
//! alone (no provider call while the access token is fresh), like
//! NextAuth's `/api/auth/session`. 200 `{"user": {...}}` when signed in,
//! 200 `{"user": null}` when not (a page asking is not an error), with any
//! refreshed or stale cookies set.

use http::request::Parts;
use http::{Method, StatusCode};
use serde_json::json;

use super::Route;
use crate::answer::{Exchange, Kind};
use crate::auth::Auth;
use crate::error::Error;
use crate::response::{Response, json};
use crate::session::{self, Need, UserInfo};

pub(super) const ROUTE: Route = Route {
    path: "/api/auth/session",
    method: Method::GET,
    source: "api/auth/session.rs",
    name: "session",
    kind: Kind::Api,
    handler: |auth, parts, exchange| Box::pin(session(auth, parts, exchange)),
};

async fn session(auth: &Auth, parts: &Parts, exchange: &mut Exchange) -> Result<Response, Error> {
    let start = session::request(auth, &parts.headers);
    match session::load(auth, start, exchange, Need::Identity).await {
        Ok(data) => Ok(json(
            StatusCode::OK,
            &json!({ "user": UserInfo::from_session(&data) }),
        )),
        Err(Error::NotSignedIn) => Ok(json(StatusCode::OK, &json!({ "user": null }))),
        Err(e) => Err(e),
    }
}
