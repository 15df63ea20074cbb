//! `GET /api/auth/callback`: completes a sign-in (RFC 6749 §4.1.2–4.1.4,
//! OpenID Connect Core §3.1.3). Finds this attempt's flow cookie by
//! `state`, checks `state` (and `iss`) against it, exchanges the code with
//! the PKCE verifier, verifies the ID token, seals the session into its
//! cookie and redirects to the return path. Any failure sets no session
//! and redirects to the error page (`AUTH_ERROR_PAGE`, by default
//! `/auth/error`) with `?error=<code>` (another method than GET: 405 JSON);
//! once the attempt's flow cookie is found, the failure clears it (only
//! it: other tabs' attempts stay; one that cannot be read, or has expired,
//! is left to its ten-minute `Max-Age`), and tokens already issued by then
//! are revoked, since nobody will hold them; so are those of a callback
//! cut off (the browser gone) once the provider issued them.

use std::sync::Arc;

use http::Method;
use http::request::Parts;

use super::Route;
use crate::answer::{ErrorAnswer, Reply};
use crate::authorize::Flow;
use crate::callback::{CallbackParams, check};
use crate::client_auth::token_endpoint_method;
use crate::cookies::{RequestCookies, clear_all, clear_cookie};
use crate::error::{Endpoint, Error, IdTokenError};
use crate::flow::Flows;
use crate::origin::Origin;
use crate::provider::Provider;
use crate::response::{Response, redirect};
use crate::revoke;
use crate::secret::{AuthorizationCode, random_token};
use crate::session::cookie::{self, Sealed, SessionData};
use crate::session::revocation::Pending;
use crate::session::{self, Sessions};
use crate::token;
use crate::transport::BoxFuture;

pub(super) const ROUTE: Route = Route {
    method: Method::GET,
    name: "callback",
    errors: ErrorAnswer::Redirect,
    path: |paths| &paths.callback,
    handler: |provider, sessions, parts, reply| {
        Box::pin(callback(provider, sessions, parts, reply))
    },
};

async fn callback(
    provider: &Provider,
    sessions: &Sessions,
    parts: &Parts,
    reply: &mut Reply,
) -> Result<Response, Error> {
    // The callback URL carries the code: it must never leave in a Referer
    // (RFC 9700 §4.2.4).
    reply.no_referrer = true;
    let origin = provider.origin(&parts.headers)?;
    reply.origin = Some(origin.clone());
    let config = provider.config()?;
    let params = CallbackParams::parse(parts.uri.query())?;
    let cookies = RequestCookies::parse(&parts.headers, &origin);
    // The sign-in's time, taken before the code is exchanged: the access
    // token's life counts from no later than the provider issued it.
    let now_ms = provider.now_ms();
    let now = now_ms.div_euclid(1000);
    let found = Flows::read(&cookies, &origin, config).take(params.state.as_ref(), now);
    // This attempt is over whatever happens: its cookie goes with any answer.
    if let Ok((_, name)) = &found {
        reply.clear_on_error.push(clear_cookie(&origin, name));
    }
    // An answer of success without this browser's attempt (no flow cookie,
    // or none with its `state`: a bot, a link preview, an old tab) is
    // refused before the metadata is asked for: a cold instance of a
    // custom issuer would discover it first, and answer an issuer's
    // trouble instead.
    let flow = match found {
        Err(refused) if params.error.is_none() => return Err(refused),
        found => found.map(|(flow, _)| flow),
    };
    let metadata = provider.metadata().await?;
    let (flow, code) = check(params, flow, metadata).inspect_err(|e| {
        if let Error::Provider(code) = e {
            sessions.say_client_refused(code);
        }
    })?;

    // The new session replaces whatever session cookies the browser had,
    // and the session they held ends.
    let previous = cookie::read(&cookies, &origin, config, now);
    // The new session supersedes the sign-out marks no late refresh can
    // outrun any more; a younger one stays, since a refresh in flight at
    // its sign-out may still land.
    let spent = cookie::spent_marks(&cookies, &origin, now);
    let return_to = flow.return_to.clone();
    let replaced = previous.current.as_ref().map(|c| c.data.clone());
    // The exchange and the session it makes, then the ends of the sessions
    // it supersedes, each a task of its own: cut off (the browser gone)
    // once the provider issued the tokens, which no cookie would then hold,
    // the task revokes them. Between the two, no `.await`: the second
    // starts in the poll the first's outcome arrives in.
    let signed_in = crate::clock::to_the_end_or(
        establish(
            sessions.provider.clone(),
            origin.clone(),
            flow,
            code,
            now_ms,
        ),
        revoke_unclaimed(sessions, |signed_in: Result<(Sealed, _), Error>| {
            signed_in.ok().map(|(_, data)| data)
        }),
    )
    .await;
    // A task that ended without an outcome panicked (in a build that
    // unwinds): nothing is known of the exchange.
    let (sealed, data) = signed_in
        .unwrap_or_else(|| Err(Endpoint::Token.unreachable(crate::TransportError::Other)))?;
    let supersede = {
        let (sessions, origin, ended) = (sessions.clone(), origin.clone(), previous.ended);
        async move {
            // Sessions a mark refused are revoked, another user's only (as
            // for the session this sign-in replaces).
            let mut kept =
                session::revoke_ended(&sessions, &origin, &ended, Some(&data.sub), "callback")
                    .await;
            if let Some(replaced) = &replaced {
                kept.extend(session::replaced(&sessions, replaced, &data.sub, &origin).await);
            }
            (kept, data)
        }
    };
    let superseded = crate::clock::to_the_end_or(
        supersede,
        revoke_unclaimed(sessions, |(_, data)| Some(data)),
    )
    .await;
    let kept = superseded.map_or_else(Vec::new, |(kept, _)| kept);
    reply
        .set_cookies
        .extend(clear_all(&origin, &previous.stale));
    reply.set_cookies.extend(clear_all(&origin, &spent));
    if let Some(current) = previous.current {
        reply.set_cookies.extend(clear_all(&origin, &current.names));
        // A refresh of it still in flight would bring it back once the new
        // session is signed out: marked, as a sign-out marks its session.
        reply
            .set_cookies
            .extend(cookie::ended_cookie(&origin, &current.data, now));
    }
    // Those the provider could not revoke now, kept for the next sign-out.
    reply.set_cookies.extend(kept);
    reply.set_cookies.extend(sealed.set_cookies);
    reply.session_names = sealed.names;
    let attempt_done = std::mem::take(&mut reply.clear_on_error);
    reply.set_cookies.extend(attempt_done);
    Ok(redirect(return_to))
}

/// What a sign-in's task does with an outcome no one is left to take (the
/// browser went away): the tokens of the session in it (`session` finds
/// it, if the outcome has one), which no cookie will hold, are revoked
/// (RFC 7009), with a deadline of their own (the request's may be spent,
/// and no one waits on it any more).
fn revoke_unclaimed<T: Send + 'static>(
    sessions: &Sessions,
    session: fn(T) -> Option<SessionData>,
) -> impl FnOnce(T) -> BoxFuture<'static, ()> + Send + 'static {
    let provider = sessions.provider.clone();
    move |unclaimed| {
        Box::pin(async move {
            if let Some(data) = session(unclaimed) {
                crate::clock::with_own_deadline(Pending::of(&data).revoke(&provider, "callback"))
                    .await;
            }
        })
    }
}

/// Exchanges `code` with `flow`'s verifier (RFC 6749 §4.1.3, RFC 7636
/// §4.5) and makes the session its tokens hold, once their ID token is
/// verified (OpenID Connect Core §3.1.3.7), sealed into its cookies; the
/// tokens of a sign-in that fails after they were issued are revoked
/// (RFC 7009): nobody will hold them.
async fn establish(
    provider: Arc<Provider>,
    origin: Origin,
    flow: Flow,
    code: AuthorizationCode,
    now_ms: i64,
) -> Result<(Sealed, SessionData), Error> {
    let now = now_ms.div_euclid(1000);
    let config = provider.config()?;
    let metadata = provider.metadata().await?;
    // The code exchange, and meanwhile the provider's keys when this
    // instance has none fresh: a cold callback waits for one round trip
    // less.
    let exchange = async {
        let request = token::code_request(
            &metadata.token_endpoint,
            config,
            token_endpoint_method(config, metadata),
            &code,
            &flow.verifier,
            &flow.redirect_uri,
        );
        let response = provider.send(Endpoint::Token, request).await?;
        revoke::parsed_or_unheld(&provider, &response, "callback").await
    };
    // `try_join!` answers a failed exchange at once, dropping the fetch.
    let prefetch = async {
        provider.prefetch_keys().await;
        Ok(())
    };
    let (tokens, ()) = tokio::try_join!(exchange, prefetch)?;
    let established: Result<_, Error> = async {
        let id_token = tokens
            .id_token
            .as_ref()
            .ok_or(Error::IdToken(IdTokenError::Missing))?;
        let claims = provider
            .verify_id_token(id_token, &tokens.access_token, Some(&flow.nonce), None)
            .await?;
        // A new session: its own id, 128 random bits, kept by every refresh.
        let sid = random_token()[..22].to_owned();
        let data = SessionData::issued(
            sid,
            claims.sub.clone(),
            &tokens.access_token,
            tokens.expires_in,
            tokens.refresh_token.as_ref().map(|t| t.secret().to_owned()),
            claims.into(),
            (now_ms, 0),
            now,
        );
        Ok((cookie::write(&origin, config, &data, now)?, data))
    }
    .await;
    if established.is_err() {
        revoke::unheld(&provider, &tokens, "callback").await;
    }
    established
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use http::StatusCode;
    use http::header::{COOKIE, LOCATION};
    use serde_json::json;

    use super::*;
    use crate::config::{Config, VERCEL_ISSUER};
    use crate::id_token::tests::{NOW, Signing, claims, jwk, sign};
    use crate::transport::tests::{Fake, response};

    /// Vercel's token endpoint, answering with the ID token `id_token`
    /// holds when it is called, and its key set.
    fn vercel(id_token: Arc<Mutex<Option<String>>>) -> Arc<Fake> {
        Fake::new(move |path| {
            let body = match path {
                "/login/oauth/token" => json!({
                    "access_token": "vca_new", "token_type": "Bearer", "expires_in": 3600,
                    "id_token": *id_token.lock().unwrap(),
                }),
                "/.well-known/jwks" => json!({ "keys": [jwk()] }),
                _ => json!({}),
            };
            Ok(response(200, &body.to_string()))
        })
    }

    fn request(uri: &str, cookie: Option<&str>) -> Parts {
        let mut request = http::Request::get(uri).header("host", "localhost:3000");
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.body(()).unwrap().into_parts().0
    }

    /// The value of query parameter `name` in `url`.
    fn param(url: &str, name: &str) -> String {
        let url = url::Url::parse(url).unwrap();
        let (_, value) = url.query_pairs().find(|(k, _)| k == name).unwrap();
        value.into_owned()
    }

    /// RFC 6749 §4.1.2 and OpenID Connect Core §3.1.3: the code of this
    /// browser's attempt, exchanged for tokens whose ID token verifies,
    /// signs the user in and returns to the attempt's path.
    #[tokio::test]
    async fn a_callback_of_this_browsers_attempt_signs_in_and_returns() {
        let (done, reply, _) = callback_of_an_attempt(true).await;
        let done = done.unwrap();
        assert_eq!(done.status(), StatusCode::FOUND);
        assert_eq!(done.headers()[LOCATION], "/settings");
        assert!(reply.no_referrer, "the callback URL carries the code");
        assert!(!reply.session_names.is_empty(), "a session was sealed");
        assert!(
            reply.session_names.iter().all(|name| reply
                .set_cookies
                .iter()
                .any(|c| c.to_str().unwrap().starts_with(&format!("{name}=")))),
            "its cookies are set"
        );
    }

    /// A token response without an ID token (Vercel leaves out `openid`
    /// when the app's settings do not enable it): the app's configuration,
    /// said as such rather than as a token that failed its checks, and the
    /// tokens it brought, which no session will hold, are revoked.
    #[tokio::test]
    async fn a_token_response_without_an_id_token_is_the_apps_configuration() {
        let (done, reply, vercel) = callback_of_an_attempt(false).await;
        let error = done.unwrap_err();
        assert_eq!(error, Error::IdToken(IdTokenError::Missing));
        assert_eq!(error.code(), "configuration");
        assert!(error.to_string().contains("openid"), "{error}");
        assert!(reply.session_names.is_empty(), "no session");
        assert_eq!(
            vercel.calls("/login/oauth/token/revoke"),
            1,
            "the tokens revoked"
        );
    }

    /// The authorization endpoint refusing the app's own request (its
    /// registration or configuration is wrong: every sign-in fails) is an
    /// error line once per instance, naming what to check; the user's own
    /// choice (`access_denied`) is none.
    #[tokio::test]
    async fn the_apps_request_refused_at_the_authorization_endpoint_is_said_once() {
        let (provider, sessions, back, _) = attempt(false, |vercel| vercel).await;
        let cookie = back.headers[http::header::COOKIE]
            .to_str()
            .unwrap()
            .to_owned();
        crate::log::tests::taken();
        for code in [
            "access_denied",
            "unauthorized_client",
            "invalid_scope",
            "unauthorized_client",
        ] {
            let query = back
                .uri
                .query()
                .unwrap()
                .replace("code=c1", &format!("error={code}"));
            let again = request(&format!("/api/auth/callback?{query}"), Some(&cookie));
            let done = callback(&provider, &sessions, &again, &mut Reply::default()).await;
            assert_eq!(done.err(), Some(Error::Provider(code)), "{code}");
        }
        let said = crate::log::tests::taken();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].starts_with("error: ") && said[0].contains("error=unauthorized_client"),
            "{said:?}"
        );
        assert!(said[0].contains("scopes"), "{said:?}");
    }

    /// Starts an attempt at authorize, then answers its callback; the
    /// token endpoint's answer has an ID token for it when `with_id_token`.
    async fn callback_of_an_attempt(
        with_id_token: bool,
    ) -> (Result<Response, Error>, Reply, Arc<Fake>) {
        callback_through(with_id_token, |vercel| vercel).await
    }

    /// [`callback_of_an_attempt`] with the provider's answers going
    /// through the client `through` makes of the fake.
    async fn callback_through(
        with_id_token: bool,
        through: impl FnOnce(Arc<Fake>) -> Arc<dyn crate::transport::HttpClient>,
    ) -> (Result<Response, Error>, Reply, Arc<Fake>) {
        let (provider, sessions, back, vercel) = attempt(with_id_token, through).await;
        let mut reply = Reply::default();
        let done = callback(&provider, &sessions, &back, &mut reply).await;
        (done, reply, vercel)
    }

    /// An attempt started at authorize, and the request of its callback.
    async fn attempt(
        with_id_token: bool,
        through: impl FnOnce(Arc<Fake>) -> Arc<dyn crate::transport::HttpClient>,
    ) -> (Arc<Provider>, Sessions, Parts, Arc<Fake>) {
        let id_token = Arc::new(Mutex::new(None));
        let vercel = vercel(id_token.clone());
        let config = Config::from_lookup(|name| match name {
            "VERCEL_APP_CLIENT_ID" => Some("cl".into()),
            "VERCEL_APP_CLIENT_SECRET" => Some("s3cret".into()),
            "AUTH_SECRET" => Some("0123456789abcdef0123456789abcdef".into()),
            _ => None,
        });
        let provider = Arc::new(
            Provider::loaded(config)
                .with_http_client(through(vercel.clone()))
                .with_clock(Arc::new(|| NOW)),
        );
        let sessions = Sessions::new(&provider);

        let mut started = Reply::default();
        let start = request("/api/auth/authorize?next=/settings", None);
        let authorize =
            (super::super::AUTHORIZE.handler)(&provider, &sessions, &start, &mut started);
        let redirect = authorize.await.unwrap();
        let location = redirect.headers()[LOCATION].to_str().unwrap();
        let (state, nonce) = (param(location, "state"), param(location, "nonce"));
        let flow_cookie = started.set_cookies[0].to_str().unwrap();
        let flow_cookie = flow_cookie.split(';').next().unwrap().to_owned();

        let mut claims = claims();
        claims["iss"] = json!(VERCEL_ISSUER);
        claims["nonce"] = json!(nonce);
        if with_id_token {
            *id_token.lock().unwrap() = Some(sign(&claims, Signing::Rs256));
        }

        let back = request(
            &format!("/api/auth/callback?code=c1&state={state}"),
            Some(&flow_cookie),
        );
        (provider, sessions, back, vercel)
    }

    /// A callback cut off (the browser gone) while the provider issues its
    /// tokens: the sign-in goes on to its end, and the tokens, which no
    /// cookie will hold, are revoked (RFC 7009), with time of their own
    /// even when the token endpoint took all but 0.1 s of the request's.
    #[tokio::test(start_paused = true)]
    async fn a_callback_cut_off_revokes_the_tokens_it_got() {
        use crate::transport::tests::Delayed;
        use std::time::Duration;
        for exchange in [Duration::from_secs(1), Duration::from_millis(8900)] {
            let (provider, sessions, mut back, vercel) = attempt(true, |vercel| {
                // The token endpoint answers in `exchange`, the
                // revocation endpoint in 200 ms.
                Delayed::new(&vercel, move |path| match path {
                    "/login/oauth/token" => exchange,
                    "/login/oauth/token/revoke" => Duration::from_millis(200),
                    _ => Duration::ZERO,
                })
            })
            .await;
            // The browser is signed in as another user: a sign-in it gave
            // up leaves that session, and its tokens, alone.
            let mut other = crate::session::cookie::tests::data();
            other.sub = "usr_other".into();
            let origin = Origin::parse_configured("http://localhost:3000").unwrap();
            let sealed = cookie::write(&origin, provider.config().unwrap(), &other, NOW).unwrap();
            let pair = sealed.set_cookies[0]
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap();
            let flow = back.headers[COOKIE].to_str().unwrap().to_owned();
            back.headers
                .insert(COOKIE, format!("{flow}; {pair}").parse().unwrap());
            let mut reply = Reply::default();
            let signing_in =
                crate::clock::with_deadline(callback(&provider, &sessions, &back, &mut reply));
            let cut_off = tokio::time::timeout(Duration::from_millis(500), signing_in).await;
            assert!(cut_off.is_err(), "not cut off");
            tokio::time::sleep(Duration::from_secs(12)).await;
            assert_eq!(vercel.calls("/login/oauth/token"), 1);
            assert_eq!(
                vercel.calls("/login/oauth/token/revoke"),
                1,
                "the new access token revoked, the other user's tokens not ({exchange:?})"
            );
        }
    }

    /// The code exchanged for tokens of a type this client cannot use
    /// (RFC 6749 §7.1: not Bearer): the sign-in fails, and those tokens,
    /// issued all the same and held by no one, are revoked (RFC 7009).
    #[tokio::test]
    async fn tokens_of_a_type_this_client_cannot_use_are_revoked() {
        use crate::transport::{BoxFuture, HttpClient, HttpRequest, HttpResponse, TransportError};
        struct Mac(Arc<Fake>);
        impl HttpClient for Mac {
            fn execute(
                &self,
                request: HttpRequest,
            ) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
                if request.uri().path() == "/login/oauth/token" {
                    let tokens = r#"{"access_token":"vca_mac","token_type":"mac","refresh_token":"vcr_mac"}"#;
                    return Box::pin(std::future::ready(Ok(response(200, tokens))));
                }
                self.0.execute(request)
            }
        }
        let (done, _, vercel) = callback_through(true, |vercel| Arc::new(Mac(vercel))).await;
        assert!(done.is_err());
        assert_eq!(vercel.calls("/login/oauth/token/revoke"), 2);
    }

    /// A callback of success that names no attempt of this browser (no
    /// flow cookie) is refused as such without asking a custom issuer for
    /// its metadata: here the issuer does not answer, and the answer is
    /// still the missing attempt's, not the issuer's trouble.
    #[tokio::test]
    async fn a_callback_without_its_attempt_asks_the_issuer_nothing() {
        let vercel = Fake::new(|_| Err(crate::transport::TransportError::Connect));
        let config = Config::from_lookup(|name| match name {
            "VERCEL_APP_CLIENT_ID" => Some("cl".into()),
            "VERCEL_OAUTH_ISSUER" => Some("https://op.example".into()),
            "AUTH_SECRET" => Some("0123456789abcdef0123456789abcdef".into()),
            _ => None,
        });
        let provider = Arc::new(
            Provider::loaded(config)
                .with_http_client(vercel.clone())
                .with_clock(Arc::new(|| NOW)),
        );
        let sessions = Sessions::new(&provider);
        let mut reply = Reply::default();
        let back = request("/api/auth/callback?code=c1&state=s1", None);
        let done = callback(&provider, &sessions, &back, &mut reply).await;
        let refused = done.err().unwrap();
        assert!(
            matches!(refused, Error::StateMismatch | Error::FlowMissing),
            "{refused:?}"
        );
        assert_eq!(vercel.calls("/.well-known/openid-configuration"), 0);
    }

    /// An error answer (Cancel) that names no attempt of this browser is
    /// still the provider's word, told as such: it is not refused as a
    /// missing attempt the way an answer of success is.
    #[tokio::test]
    async fn a_cancel_without_its_attempt_is_still_the_providers_answer() {
        let (provider, sessions) = {
            let vercel = vercel(Arc::new(Mutex::new(None)));
            let config = Config::from_lookup(|name| match name {
                "VERCEL_APP_CLIENT_ID" => Some("cl".into()),
                "AUTH_SECRET" => Some("0123456789abcdef0123456789abcdef".into()),
                _ => None,
            });
            let provider = Arc::new(
                Provider::loaded(config)
                    .with_http_client(vercel)
                    .with_clock(Arc::new(|| NOW)),
            );
            let sessions = Sessions::new(&provider);
            (provider, sessions)
        };
        let mut reply = Reply::default();
        let back = request("/api/auth/callback?error=access_denied&state=s1", None);
        let done = callback(&provider, &sessions, &back, &mut reply).await;
        assert!(
            matches!(done, Err(Error::ProviderUnmatched(_))),
            "{:?}",
            done.err()
        );
    }

    /// The key set's endpoint takes the connection and never answers (the
    /// client gives up after its whole timeout): the sign-in fails, and
    /// the tokens the code was exchanged for are still revoked within the
    /// request's deadline, not left live at the provider, held by no one.
    #[tokio::test(start_paused = true)]
    async fn a_key_set_that_does_not_answer_leaves_time_to_revoke_the_tokens() {
        let (done, _, vercel) = crate::clock::with_deadline(callback_through(true, |vercel| {
            Arc::new(crate::transport::tests::HangingKeys(
                vercel,
                std::time::Duration::ZERO,
            ))
        }))
        .await;
        assert!(done.is_err());
        assert_eq!(vercel.calls("/login/oauth/token"), 1);
        assert_eq!(
            vercel.calls("/login/oauth/token/revoke"),
            1,
            "the access token (no refresh token was issued)"
        );
    }
}
