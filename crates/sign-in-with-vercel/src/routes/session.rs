//! `GET /api/auth/session`: who is signed in, from the session cookie
//! alone (no provider call while the access token is fresh), like
//! NextAuth's `/api/auth/session`. 200 `{"user": {...}}` when signed in,
//! 200 `{"user": null}` when not (a page asking is not an error), with any
//! refreshed or stale cookies set.

use bytes::Bytes;
use http::request::Parts;
use http::{Method, StatusCode};

use super::Route;
use crate::answer::{ErrorAnswer, Reply};
use crate::cookies::clear_all;
use crate::error::Error;
use crate::provider::Provider;
use crate::response::{Response, internal_error, json_bytes};
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
        Ok(data) => Ok(match Body::of(&data).to_json() {
            Some(json) => json_bytes(StatusCode::OK, Bytes::from(json)),
            None => internal_error(),
        }),
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
struct Body<'a> {
    user: User<'a>,
}

struct User<'a> {
    sub: &'a str,
    name: Option<&'a str>,
    preferred_username: Option<&'a str>,
    picture: Option<&'a str>,
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

impl Body<'_> {
    /// The JSON document (RFC 8259): the keys written as they are (they
    /// need no escaping), each value escaped by `serde_json`, absent claims
    /// left out; what `#[derive(Serialize)]` wrote, without escaping the
    /// keys again on every request. `None` only if serialising a string
    /// fails, which writing into memory does not.
    fn to_json(&self) -> Option<Vec<u8>> {
        let user = &self.user;
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(br#"{"user":{"sub":"#);
        serde_json::to_writer(&mut out, user.sub).ok()?;
        for (key, value) in [
            (r#","name":"#, user.name),
            (r#","preferred_username":"#, user.preferred_username),
            (r#","picture":"#, user.picture),
            (r#","email":"#, user.email),
        ] {
            if let Some(value) = value {
                out.extend_from_slice(key.as_bytes());
                serde_json::to_writer(&mut out, value).ok()?;
            }
        }
        out.extend_from_slice(b"}}");
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::AccessToken;
    use crate::session::cookie::Profile;

    fn session(sub: &str, profile: Profile) -> SessionData {
        SessionData::issued(
            "sid".into(),
            sub.into(),
            &AccessToken::new("vca_x"),
            3600,
            None,
            profile,
            (0, 0),
            0,
        )
    }

    /// The body is `UserInfo` of the same session, as JSON, whatever the
    /// strings hold and whichever claims are there.
    #[test]
    fn the_body_is_the_sessions_user_info() {
        let odd = "Ada \"the\" first \\ </script>\n\t\u{1}\u{7f} Zoë 🦀";
        let all = Profile {
            name: Some(odd.into()),
            email: Some("ada@example.com".into()),
            preferred_username: Some("ada".into()),
            picture: Some("https://vercel.com/api/www/avatar/x?s=64&t=\"".into()),
        };
        let cases = [
            session("usr_1", all.clone()),
            session(odd, Profile::default()),
            session(
                "usr_2",
                Profile {
                    name: None,
                    email: Some("e@example.com".into()),
                    preferred_username: None,
                    picture: Some("p".into()),
                },
            ),
        ];
        for data in &cases {
            let written = Body::of(data).to_json().unwrap();
            let parsed: serde_json::Value = serde_json::from_slice(&written).unwrap();
            let user = crate::UserInfo::from_session(data);
            assert_eq!(parsed, serde_json::json!({ "user": user }));
            #[derive(serde::Serialize)]
            struct Derived<'a> {
                user: &'a crate::UserInfo,
            }
            let derived = serde_json::to_vec(&Derived { user: &user }).unwrap();
            assert_eq!(written, derived, "the same bytes as serde's derive");
        }
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(SIGNED_OUT).unwrap(),
            serde_json::json!({ "user": null })
        );
    }
}
