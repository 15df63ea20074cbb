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
    let incoming = session::incoming_same_origin(provider, &parts.headers);
    match session::load(provider, sessions, incoming, reply, Need::Identity).await {
        Ok(data) => Ok(match answer(&data) {
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

/// `{"user": {...}}`: the claims of [`UserInfo`](crate::UserInfo) that a
/// session keeps, as a JSON document (RFC 8259) read straight from the
/// session. The keys are written as they are (they need no escaping), each
/// value is escaped by `serde_json`, absent claims are left out: what
/// `#[derive(Serialize)]` on `UserInfo` writes, without escaping the keys
/// again on every request. `None` only if serialising a string fails,
/// which writing into memory does not.
fn answer(data: &SessionData) -> Option<Vec<u8>> {
    let profile = &data.profile;
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(br#"{"user":{"sub":"#);
    serde_json::to_writer(&mut out, &data.sub).ok()?;
    for (key, value) in [
        (r#","name":"#, &profile.name),
        (r#","preferred_username":"#, &profile.preferred_username),
        (r#","picture":"#, &profile.picture),
        (r#","email":"#, &profile.email),
    ] {
        if let Some(value) = value {
            out.extend_from_slice(key.as_bytes());
            serde_json::to_writer(&mut out, value).ok()?;
        }
    }
    out.extend_from_slice(b"}}");
    Some(out)
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

    /// The answer is `UserInfo` of the same session, as JSON, whatever the
    /// strings hold and whichever claims are there.
    #[test]
    fn the_answer_is_the_sessions_user_info() {
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
            let written = answer(data).unwrap();
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
