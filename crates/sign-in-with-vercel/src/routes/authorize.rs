//! `GET /api/auth/authorize[?next=/path]`: starts a sign-in (RFC 6749
//! §4.1.1). Makes a fresh `state`, `nonce` and PKCE verifier, seals them
//! and the return path into this attempt's own flow cookie (10 minutes),
//! and redirects to the authorization endpoint. `next` must be a
//! same-origin path of at most 1,024 characters (its spaces and
//! non-ASCII characters percent-encoded, as a browser sends a path),
//! else the return path is
//! the configured default (`/profile`); a query that cannot be read (a
//! repeated `next`, one that is not UTF-8, or over 8 KiB) is refused
//! (the error page with `?error=invalid_request`).

use http::Method;
use http::request::Parts;

use super::Route;
use crate::answer::{ErrorAnswer, Reply};
use crate::authorize::{Flow, authorization_url};
use crate::cookies::RequestCookies;
use crate::error::Error;
use crate::flow::{Flows, flow_cookie};
use crate::origin::{as_browsers_send_it, safe_return_path};
use crate::provider::Provider;
use crate::request::query_params;
use crate::response::{Response, redirect};
use crate::session::Sessions;

pub(super) const ROUTE: Route = Route {
    method: Method::GET,
    name: "authorize",
    errors: ErrorAnswer::Redirect,
    path: |paths| &paths.authorize,
    handler: |provider, sessions, parts, reply| {
        Box::pin(authorize(provider, sessions, parts, reply))
    },
};

async fn authorize(
    provider: &Provider,
    _: &Sessions,
    parts: &Parts,
    reply: &mut Reply,
) -> Result<Response, Error> {
    let origin = provider.origin(&parts.headers)?;
    let config = provider.config()?;
    let params = query_params(parts.uri.query(), &["next"])?;
    let next = params.get("next").map(|next| as_browsers_send_it(next));
    let return_to = next
        .as_deref()
        .and_then(safe_return_path)
        .unwrap_or(&config.paths.default_return);
    let metadata = provider.metadata().await?;
    let now = provider.now();
    let flow = Flow::new(
        origin.url(&config.paths.callback),
        return_to.to_owned(),
        now,
    );
    let url = authorization_url(metadata, &config.client_id, &flow)
        .ok_or_else(|| Error::Discovery("authorization_endpoint is not a URL".into()))?;
    // Other tabs' attempts stay; only the oldest make room for this one.
    let cookies = RequestCookies::parse(&parts.headers, &origin);
    reply
        .set_cookies
        .extend(Flows::read(&cookies, &origin, config).make_room(now));
    reply.set_cookies.push(flow_cookie(config, &origin, &flow)?);
    reply.origin = Some(origin);
    Ok(redirect(url))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use http::StatusCode;
    use http::header::LOCATION;

    use super::*;
    use crate::config::Config;
    use crate::id_token::tests::NOW;

    /// A confidential client `cl` of Vercel at [`NOW`].
    fn provider() -> Provider {
        let config = Config::from_lookup(|name| match name {
            "VERCEL_APP_CLIENT_ID" => Some("cl".into()),
            "VERCEL_APP_CLIENT_SECRET" => Some("s3cret".into()),
            "AUTH_SECRET" => Some("0123456789abcdef0123456789abcdef".into()),
            _ => None,
        });
        Provider::loaded(config).with_clock(Arc::new(|| NOW))
    }

    /// RFC 6749 §4.1.1: the browser is sent to the authorization endpoint
    /// with this client and its redirect URI, and the attempt's flow cookie
    /// is set.
    #[tokio::test]
    async fn a_sign_in_starts_at_the_authorization_endpoint_with_its_flow_cookie() {
        let (_, response, reply) = started("next=/settings").await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = response.headers()[LOCATION].to_str().unwrap();
        assert!(
            location.starts_with(
                "https://vercel.com/oauth/authorize?client_id=cl&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fapi%2Fauth%2Fcallback&"
            ),
            "the authorization request of client cl"
        );
        assert_eq!(reply.set_cookies.len(), 1, "the flow cookie");
        assert_eq!(
            reply.origin.map(|o| o.as_str().to_owned()).as_deref(),
            Some("http://localhost:3000")
        );
    }

    /// `GET /api/auth/authorize?{query}` from `localhost:3000`: the
    /// provider, the answer and what it sets.
    async fn started(query: &str) -> (Arc<Provider>, Response, Reply) {
        let provider = Arc::new(provider());
        let sessions = Sessions::new(&provider);
        let (parts, ()) = http::Request::get(format!("/api/auth/authorize?{query}"))
            .header("host", "localhost:3000")
            .body(())
            .unwrap()
            .into_parts();
        let mut reply = Reply::default();
        let response = authorize(&provider, &sessions, &parts, &mut reply)
            .await
            .unwrap();
        (provider, response, reply)
    }

    /// The return path the attempt's flow cookie holds after `GET
    /// /api/auth/authorize?{query}`.
    async fn return_path(query: &str) -> String {
        use crate::cookies::RequestCookies;
        use crate::flow::Flows;
        use crate::secret::State;
        use http::HeaderMap;
        use http::header::COOKIE;

        let (provider, response, reply) = started(query).await;
        let location = url::Url::parse(response.headers()[LOCATION].to_str().unwrap()).unwrap();
        let state = location
            .query_pairs()
            .find(|(name, _)| name == "state")
            .unwrap()
            .1
            .into_owned();
        let origin = reply.origin.unwrap();
        let pair = reply.set_cookies[0]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, pair.parse().unwrap());
        let cookies = RequestCookies::parse(&headers, &origin);
        let (flow, _) = Flows::read(&cookies, &origin, provider.config().unwrap())
            .take(Some(&State::new(state)), NOW)
            .unwrap();
        flow.return_to
    }

    /// A `next` written without percent-encoding (a link to `/café`, a
    /// path appended without `encodeURIComponent`) returns the user to
    /// the page meant, in the form the browser asks for it; what could
    /// leave the origin is still refused, encoded or not.
    #[tokio::test]
    async fn a_next_written_unencoded_returns_to_the_page_meant() {
        for (query, expected) in [
            ("next=/caf%C3%A9", "/caf%C3%A9"),
            ("next=%2Fcaf%25C3%25A9", "/caf%C3%A9"),
            ("next=/search?q=a%20b", "/search?q=a%20b"),
            // A query's `+` is a space (form decoding): a literal `+` in a
            // path needs `%2B`.
            ("next=/a+b", "/a%20b"),
            (
                "next=/%D7%A9%D7%9C%D7%95%D7%9D",
                "/%D7%A9%D7%9C%D7%95%D7%9D",
            ),
            ("next=/settings", "/settings"),
            ("next=/%09/evil.example", "/profile"),
            ("next=//evil.example", "/profile"),
            ("next=/%5Cevil.example", "/profile"),
            ("next=%20/evil", "/profile"),
        ] {
            assert_eq!(return_path(query).await, expected, "{query}");
        }
    }
}
