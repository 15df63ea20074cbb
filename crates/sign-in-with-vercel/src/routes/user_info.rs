//! `GET /api/user-info`: the signed-in user as the provider's userinfo
//! endpoint describes them now (OpenID Connect Core §5.3), refreshing the
//! access token first when it is due. 200 `{"userInfo": {...}}`; 401 when
//! signed out, or when the provider no longer accepts the token and a
//! refresh does not help (the app was removed, the grant revoked: the
//! session cookie is then deleted); 409 when a parallel request spent the
//! refresh token (retry; without a shared store, or when it does not
//! answer, also when the refresh after a refusal is refused, which may be
//! that race: the retry then finds no session). A refused token is refreshed once and the question
//! asked again.

use http::request::Parts;
use http::{Method, StatusCode};
use serde_json::json;

use super::Route;
use crate::answer::{ErrorAnswer, Reply};
use crate::error::{Endpoint, Error};
use crate::provider::Provider;
use crate::response::{Response, json};
use crate::secret::AccessToken;
use crate::session::Sessions;
use crate::session::cookie::SessionData;
use crate::session::{self, Need, UserInfo};
use crate::userinfo::{self, UserInfoResponse};

pub(super) const ROUTE: Route = Route {
    method: Method::GET,
    name: "user-info",
    errors: ErrorAnswer::Json,
    path: |paths| &paths.user_info,
    handler: |provider, sessions, parts, reply| {
        Box::pin(user_info(provider, sessions, parts, reply))
    },
};

async fn user_info(
    provider: &Provider,
    sessions: &Sessions,
    parts: &Parts,
    reply: &mut Reply,
) -> Result<Response, Error> {
    let incoming = session::incoming_same_origin(provider, &parts.headers);
    let data = session::load(provider, sessions, incoming, reply, Need::AccessToken).await?;
    let metadata = provider.metadata().await?;
    let endpoint = metadata
        .userinfo_endpoint
        .as_deref()
        .ok_or(Error::Unsupported("userinfo"))?;
    let data = match ask(provider, sessions, endpoint, &data, reply).await? {
        UserInfoResponse::Claims(claims) => return Ok(answer(&data, claims)),
        // The provider no longer takes the access token: once, a refresh,
        // which a token revoked alone (or clocks far apart) leaves
        // possible, and the question again with the new token. A refused
        // grant (the app removed) ends the session there.
        UserInfoResponse::TokenRejected => {
            match session::refresh_refused(sessions, &data, reply).await? {
                Some(fresh) => fresh,
                None => return token_refused(sessions, &data, reply).await,
            }
        }
    };
    match ask(provider, sessions, endpoint, &data, reply).await? {
        UserInfoResponse::Claims(claims) => Ok(answer(&data, claims)),
        UserInfoResponse::TokenRejected => token_refused(sessions, &data, reply).await,
    }
}

/// The provider's userinfo answer for `data`'s access token; an answer
/// about another user (OpenID Connect Core §5.3.2) ends the session and
/// revokes its tokens.
async fn ask(
    provider: &Provider,
    sessions: &Sessions,
    endpoint: &str,
    data: &SessionData,
    reply: &mut Reply,
) -> Result<UserInfoResponse, Error> {
    let token = AccessToken::new(data.access_token.clone());
    let response = provider
        .send(Endpoint::Userinfo, userinfo::request(endpoint, &token))
        .await?;
    match userinfo::parse_response(&response, &data.sub) {
        Err(Error::SubjectMismatch) => {
            session::end_and_revoke(sessions, data, reply, "user-info").await;
            Err(Error::SubjectMismatch)
        }
        parsed => parsed,
    }
}

fn answer(data: &SessionData, claims: serde_json::Map<String, serde_json::Value>) -> Response {
    let user = UserInfo::from_claims(data.sub.clone(), claims);
    json(StatusCode::OK, &json!({ "userInfo": user }))
}

/// The app was removed, or the grant or the token revoked, and no refresh
/// helped: the session ends, in every instance when there is a shared
/// store, and its refresh token, which may still be good, is revoked.
async fn token_refused(
    sessions: &Sessions,
    data: &SessionData,
    reply: &mut Reply,
) -> Result<Response, Error> {
    session::end_and_revoke(sessions, data, reply, "user-info").await;
    Err(Error::TokenInactive)
}
