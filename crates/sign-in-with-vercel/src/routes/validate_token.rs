//! `GET /api/validate-token`: asks the provider about the session's access
//! token (RFC 7662 introspection), refreshing it first when it is due.
//! 200 `{"message": "Token is valid", "tokenInfo": {...}}` when active,
//! with the token's own metadata from Vercel's REST API beside it
//! (`tokenMetadata`, from `GET /v5/user/tokens/current`: its `id`, `name`,
//! `type`, `origin`, `createdAt`, `activeAt` and `expiresAt`), or why the
//! provider refused that (`tokenMetadataError`);
//! 401 when signed out or not active even after one refresh (the session
//! cookie is then deleted); 409 when a parallel request spent the refresh
//! token (retry; without a shared store, or when it does not answer, also
//! when the refresh after a refusal is refused, which may be that race:
//! the retry then finds no session).

use http::request::Parts;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::Route;
use crate::answer::{ErrorAnswer, Reply};
use crate::client_auth::introspection_method;
use crate::error::{Endpoint, Error};
use crate::introspect::{self, Introspection};
use crate::provider::Provider;
use crate::response::{Response, json};
use crate::secret::{AccessToken, ct_eq};
use crate::session::Sessions;
use crate::session::cookie::SessionData;
use crate::session::{self, Need};
use crate::vercel_api::{TokenMetadata, current_token};

pub(super) const ROUTE: Route = Route {
    method: Method::GET,
    name: "validate-token",
    errors: ErrorAnswer::Json,
    path: |paths| &paths.validate_token,
    handler: |provider, sessions, parts, reply| {
        Box::pin(validate_token(provider, sessions, parts, reply))
    },
};

async fn validate_token(
    provider: &Provider,
    sessions: &Sessions,
    parts: &Parts,
    reply: &mut Reply,
) -> Result<Response, Error> {
    let incoming = session::incoming_same_origin(provider, &parts.headers);
    let data = session::load(provider, sessions, incoming, reply, Need::AccessToken).await?;
    let config = provider.config()?;
    let metadata = provider.metadata().await?;
    let endpoint = metadata
        .introspection_endpoint
        .as_deref()
        .ok_or(Error::Unsupported("introspection"))?;
    let ask = async |data: &SessionData| {
        let token = AccessToken::new(data.access_token.clone());
        let request = introspect::request(
            endpoint,
            config,
            introspection_method(config, metadata),
            &token,
        );
        let response = provider.send(Endpoint::Introspection, request).await?;
        introspect::parse_response(&response, &config.client_id, provider.now())
    };
    let mut answer = ask(&data).await?;
    // Not active though the session held it live: once, a refresh, which a
    // token revoked alone (or clocks far apart) leaves possible, and the
    // question again with the new token. A refused grant (the app removed)
    // ends the session there.
    let mut data = data;
    if answer == Introspection::Inactive
        && let Some(fresh) = session::refresh_refused(sessions, &data, reply).await?
    {
        data = fresh;
        answer = ask(&data).await?;
    }
    match answer {
        Introspection::Active(info) => {
            // A `sub` that is not the session's user, or not a string, is
            // about someone else.
            if info
                .get("sub")
                .is_some_and(|s| s.as_str().is_none_or(|s| !ct_eq(s, &data.sub)))
            {
                session::end_and_revoke(sessions, &data, reply, "validate-token").await;
                return Err(Error::SubjectMismatch);
            }
            // The members RFC 7662 §2.2 and Vercel's documentation name,
            // nothing else the provider may add later.
            const SHOWN: [&str; 12] = [
                "active",
                "client_id",
                "token_type",
                "exp",
                "iat",
                "nbf",
                "sub",
                "aud",
                "iss",
                "jti",
                "scope",
                "session_id",
            ];
            let info: serde_json::Map<String, Value> = info
                .into_iter()
                .filter(|(k, _)| SHOWN.contains(&k.as_str()))
                .collect();
            let mut body = json!({ "message": "Token is valid", "tokenInfo": info });
            // The token's own metadata from Vercel's REST API, as the user.
            let session = session::session_of(data, std::mem::take(reply));
            // Within the request's deadline, as the route's other calls.
            let metadata = match session::vercel_api(provider, sessions, &session).await {
                Ok(api) => current_token(&api.sharing_the_deadline())
                    .await
                    .map_err(|e| e.description()),
                Err(_) => Err("Vercel's API cannot be reached from this configuration."),
            };
            match metadata {
                Ok(metadata) => body["tokenMetadata"] = shown(&metadata),
                Err(why) => body["tokenMetadataError"] = json!(why),
            }
            *reply = session.into_reply();
            Ok(json(StatusCode::OK, &body))
        }
        // The app was removed, or the grant or the token revoked: the
        // session ends, in every instance when there is a shared store, and
        // its refresh token, which may still be good, is revoked.
        Introspection::Inactive => {
            session::end_and_revoke(sessions, &data, reply, "validate-token").await;
            Err(Error::TokenInactive)
        }
    }
}

/// The members of Vercel's token metadata the browser is shown, as the
/// introspection's: those its reference documents, less `scopes` (objects
/// whose members are Vercel's to extend, and no page shows them), and
/// nothing else the provider may add later (`other`, which the library's
/// callers still get from `VercelApi::token`).
fn shown(metadata: &TokenMetadata) -> Value {
    let mut shown = json!({
        "id": metadata.id,
        "name": metadata.name,
        "type": metadata.kind,
        "createdAt": metadata.created_at,
        "activeAt": metadata.active_at,
    });
    if let Some(origin) = &metadata.origin {
        shown["origin"] = json!(origin);
    }
    if let Some(at) = metadata.expires_at {
        shown["expiresAt"] = json!(at);
    }
    shown
}
