//! `POST /api/auth/signout`: revokes the session's tokens (RFC 7009) and
//! deletes the session cookie, even when the provider cannot be reached.
//! 200 `{"signedOut": true, "revoked": bool}`; 401 when not signed in (a
//! cookie that does not open is deleted, and the provider is not called);
//! 403 for a cross-origin request; 405 for other methods.

use http::header::ORIGIN;
use http::request::Parts;
use http::{Method, StatusCode};
use serde_json::json;

use super::Route;
use crate::answer::{ErrorAnswer, Reply};
use crate::cookies::RequestCookies;
use crate::error::{Endpoint, Error};
use crate::provider::Provider;
use crate::response::{Response, json};
use crate::revoke::{self, TokenKind};
use crate::session::Sessions;
use crate::session::cookie;

pub(super) const ROUTE: Route = Route {
    method: Method::POST,
    name: "signout",
    errors: ErrorAnswer::Json,
    path: |paths| &paths.signout,
    handler: |provider, sessions, parts, reply| Box::pin(signout(provider, sessions, parts, reply)),
};

async fn signout(
    provider: &Provider,
    _: &Sessions,
    parts: &Parts,
    reply: &mut Reply,
) -> Result<Response, Error> {
    let origin = provider.origin(&parts.headers)?;
    // A browser names the page that sent a POST; a page of another origin
    // may not sign the user out (SameSite=Lax already keeps the cookie off
    // such a request; this makes the refusal explicit).
    if let Some(sender) = parts.headers.get(ORIGIN)
        && sender.as_bytes() != origin.as_str().as_bytes()
    {
        return Err(Error::CrossOrigin);
    }
    // Fetch metadata, where the browser sends it, says the same without
    // depending on `Origin` (which some browsers omit on same-site POSTs).
    if let Some(site) = parts.headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return Err(Error::CrossOrigin);
    }
    reply.origin = Some(origin.clone());
    let config = provider.config()?;
    let cookies = RequestCookies::parse(&parts.headers, &origin);
    let read = cookie::read(&cookies, &origin, config, provider.now());
    reply
        .set_cookies
        .extend(crate::cookies::clear_all(&origin, &read.stale));
    let current = read.current.ok_or(Error::NotSignedIn)?;
    reply
        .set_cookies
        .extend(crate::cookies::clear_all(&origin, &current.names));

    let revoked = match provider.metadata().await {
        Ok(metadata) => match metadata.revocation_endpoint.as_deref() {
            Some(endpoint) => {
                let revoke_one = async |token: Option<&str>, kind| match token {
                    None => true,
                    Some(token) => provider
                        .send(
                            Endpoint::Revocation,
                            revoke::request(
                                endpoint,
                                config,
                                metadata
                                    .revocation_endpoint_auth_methods_supported
                                    .as_deref(),
                                token,
                                kind,
                            ),
                        )
                        .await
                        .and_then(|r| revoke::parse_response(&r))
                        .inspect_err(|e| e.log("signout"))
                        .is_ok(),
                };
                // Revoking the access token revokes the refresh token at
                // Vercel; revoking the refresh token as well makes sure of
                // it at providers that do not (RFC 7009 §2.1 leaves it open).
                let data = &current.data;
                let (access, refresh) = tokio::join!(
                    revoke_one(Some(&data.access_token), TokenKind::AccessToken),
                    revoke_one(data.refresh_token.as_deref(), TokenKind::RefreshToken),
                );
                access && refresh
            }
            None => false,
        },
        Err(e) => {
            e.log("signout");
            false
        }
    };
    Ok(json(
        StatusCode::OK,
        &json!({ "signedOut": true, "revoked": revoked }),
    ))
}
