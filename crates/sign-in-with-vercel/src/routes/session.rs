//! `GET /api/auth/session`: who is signed in, from the session cookie
//! alone (no provider call while the access token is fresh), like
//! NextAuth's `/api/auth/session`. 200 `{"user": {...}}` when signed in,
//! 200 `{"user": null}` when not (a page asking is not an error), with any
//! refreshed or stale cookies set.

use bytes::Bytes;
use http::request::Parts;
use http::{Method, StatusCode};
use serde::Serialize;

use super::Route;
use crate::answer::{ErrorAnswer, Reply};
use crate::cookies::clear_all;
use crate::error::Error;
use crate::provider::Provider;
use crate::response::{Response, json_bytes, json_of};
use crate::session::cookie::SessionData;
use crate::session::{self, Need, Sessions};

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
        Ok(data) => Ok(json_of(StatusCode::OK, &Body::of(&data))),
        // Signed out is an answer, not an error; a session that ended
        // (elsewhere, or past its grace) still loses its cookies.
        Err(Error::NotSignedIn) => {
            if let Some(origin) = &reply.origin {
                let ended = std::mem::take(&mut reply.session_names);
                reply.set_cookies.extend(clear_all(origin, &ended));
            }
            Ok(json_bytes(StatusCode::OK, Bytes::from_static(SIGNED_OUT)))
        }
        Err(e) => Err(e),
    }
}

/// The answer when nobody is signed in.
const SIGNED_OUT: &[u8] = br#"{"user":null}"#;

/// `{"user": {...}}`, borrowed from the session: the claims of
/// [`UserInfo`](crate::UserInfo) that a session keeps, serialised without
/// copies.
#[derive(Serialize)]
struct Body<'a> {
    user: User<'a>,
}

#[derive(Serialize)]
struct User<'a> {
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    picture: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
}

impl<'a> Body<'a> {
    fn of(data: &'a SessionData) -> Self {
        let profile = &data.profile;
        Self {
            user: User {
                sub: &data.sub,
                name: profile.name.as_deref(),
                preferred_username: profile.preferred_username.as_deref(),
                picture: profile.picture.as_deref(),
                email: profile.email.as_deref(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::AccessToken;
    use crate::session::cookie::Profile;

    /// The borrowed body serialises as `UserInfo` of the same session does.
    #[test]
    fn the_body_is_the_sessions_user_info() {
        let data = SessionData::issued(
            "sid".into(),
            "usr_1".into(),
            &AccessToken::new("vca_x"),
            3600,
            None,
            Profile {
                name: Some("Ada \"the\" first".into()),
                email: Some("ada@example.com".into()),
                preferred_username: None,
                picture: Some("https://vercel.com/api/www/avatar/x".into()),
            },
            (0, 0),
            0,
        );
        let borrowed = serde_json::to_value(Body::of(&data)).unwrap();
        let owned = serde_json::json!({ "user": crate::UserInfo::from_session(&data) });
        assert_eq!(borrowed, owned);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(SIGNED_OUT).unwrap(),
            serde_json::json!({ "user": null })
        );
    }
}
