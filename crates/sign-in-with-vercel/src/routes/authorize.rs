//! `GET /api/auth/authorize[?next=/path]`: starts a sign-in (RFC 6749
//! §4.1.1). Makes a fresh `state`, `nonce` and PKCE verifier, seals them
//! and the return path into this attempt's own flow cookie (10 minutes),
//! and redirects to the authorization endpoint. `next` must be a
//! same-origin path, else the return path is `/profile`.

use http::Method;
use http::request::Parts;

use super::Route;
use crate::answer::{Exchange, Kind};
use crate::auth::Auth;
use crate::authorize::{Flow, authorization_url};
use crate::cookies::RequestCookies;
use crate::error::Error;
use crate::flow::{Flows, flow_cookie};
use crate::origin::{DEFAULT_RETURN_PATH, safe_return_path};
use crate::request::query_params;
use crate::response::{Response, redirect};

pub(super) const ROUTE: Route = Route {
    path: "/api/auth/authorize",
    method: Method::GET,
    source: "api/auth/authorize.rs",
    name: "authorize",
    kind: Kind::Browser,
    handler: |auth, parts, exchange| Box::pin(authorize(auth, parts, exchange)),
};

async fn authorize(auth: &Auth, parts: &Parts, exchange: &mut Exchange) -> Result<Response, Error> {
    let origin = auth.origin(&parts.headers)?;
    let config = auth.config()?;
    let params = query_params(parts.uri.query(), &["next"])?;
    let return_to = params
        .get("next")
        .and_then(|next| safe_return_path(next))
        .unwrap_or(DEFAULT_RETURN_PATH);
    let metadata = auth.metadata().await?;
    let now = auth.now();
    let flow = Flow::new(origin.redirect_uri(), return_to.to_owned(), now);
    let url = authorization_url(metadata, &config.client_id, &flow)
        .ok_or_else(|| Error::Discovery("authorization_endpoint is not a URL".into()))?;
    // Other tabs' attempts stay; only the oldest make room for this one.
    let cookies = RequestCookies::parse(&parts.headers, &origin);
    exchange
        .set_cookies
        .extend(Flows::read(&cookies, &origin, config).make_room(now));
    exchange
        .set_cookies
        .push(flow_cookie(config, &origin, &flow)?);
    exchange.origin = Some(origin);
    Ok(redirect(&url))
}
