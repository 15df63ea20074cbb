//! Who is signed in: read from the sealed session cookie with no provider
//! call, refreshed a few minutes before the access token expires (RFC 6749
//! §6, OpenID Connect Core §12), the refresh shared by the requests of an
//! instance.
//!
//! [`Auth::session`](crate::Auth::session) is the call a function makes
//! to learn who is signed in, the way NextAuth users call `getSession`;
//! [`Auth::protect`](crate::Auth::protect) wraps a whole handler.

pub(crate) mod cookie;
mod current;
mod data;
mod end;
mod flights;
pub(crate) mod format;
mod rejection;
mod renew;
pub(crate) mod revocation;
mod shared;
mod spent;
pub(crate) mod store;
mod user_info;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use http::HeaderMap;

pub use current::Session;
pub(crate) use current::{SessionTokens, with_cookies};
pub use data::REFRESH_GRACE_SECS;
use end::end_after_refusal;
pub(crate) use end::{end, end_and_revoke, end_everywhere, replaced, revoke_ended};
use flights::Flights;
pub use rejection::Rejection;
use renew::{Lifetime, refresh_here, refresh_shared};
pub(crate) use renew::{refresh_now, refresh_refused};
pub use user_info::UserInfo;

use crate::answer::Reply;
use crate::cookies::RequestCookies;
use crate::error::Error;
use crate::origin::Origin;
use crate::provider::Provider;
use crate::vercel_api::{VercelApi, api_base};
use cookie::{Sealed, SessionData};

/// What the sessions of one instance share: the refreshes in flight, and
/// those finished moments ago; and the shared store, when one is
/// configured, through which all instances share the same.
#[derive(Clone)]
pub(crate) struct Sessions {
    /// The provider they are refreshed with, held here too: a refresh runs
    /// as a task of its own ([`Flights::share`]), which owns what it uses.
    pub(crate) provider: Arc<Provider>,
    flights: Arc<Flights>,
    /// The refusals and revocations this instance has heard of: what a
    /// replayed cookie does not make it ask again.
    spent: Arc<spent::Spent>,
    /// Whether this instance has said that a session cookie opened under
    /// no key ([`Sessions::say_unopened`]).
    unopened_said: Arc<AtomicBool>,
    /// Whether this instance has said that the authorization endpoint
    /// refuses the app's requests ([`Sessions::say_client_refused`]).
    refused_client_said: Arc<AtomicBool>,
    store: Option<Arc<store::Store>>,
}

impl Sessions {
    /// The sessions of `provider`'s app: with the shared store its
    /// configuration names (not connected until a request needs it).
    pub(crate) fn new(provider: &Arc<Provider>) -> Self {
        let store = provider.config().ok().and_then(|config| {
            let url = config.store_url.as_ref()?;
            store::Store::new(url, store::Keys::new(&config.issuer, &config.client_id))
        });
        Self {
            provider: provider.clone(),
            flights: Arc::default(),
            spent: Arc::default(),
            unopened_said: Arc::default(),
            refused_client_said: Arc::default(),
            store: store.map(Arc::new),
        }
    }
}

/// What a request needs from the session.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Who is signed in: a valid seal is enough, whatever a refresh does.
    Identity,
    /// A live access token, to call the provider with.
    AccessToken,
}

/// What a session reads from the request before its first await (the
/// origin and the app's cookies), so that its future holds no borrow of
/// the request.
pub(crate) type Incoming = Result<(Origin, RequestCookies), Error>;

/// Reads the request's origin and the app's cookies.
pub(crate) fn incoming(provider: &Provider, headers: &HeaderMap) -> Incoming {
    let origin = provider.origin(headers)?;
    let cookies = RequestCookies::parse(headers, &origin);
    Ok((origin, cookies))
}

/// [`incoming`] for a route of this library that acts with the user's
/// tokens on a `GET` (session, user-info, validate-token: each may refresh
/// them, end the session, or call the provider): refused as
/// [`Error::CrossOrigin`] when a page of another origin sent it, a sibling
/// subdomain's included, which `SameSite=Lax` lets through (the
/// browser-based apps BCP's same-site request forgery). The app's pages
/// ask from their own origin; a typed URL or a client without a browser's
/// headers is not refused.
pub(crate) fn incoming_same_origin(provider: &Provider, headers: &HeaderMap) -> Incoming {
    let (origin, cookies) = incoming(provider, headers)?;
    if crate::origin::from_another_origin(headers, origin.as_str()) {
        return Err(Error::CrossOrigin);
    }
    Ok((origin, cookies))
}

/// The [`Session`] handed to user code: the data, and the cookies the
/// answer must carry (a refresh's, stale generations deleted).
pub(crate) fn session_of(data: SessionData, reply: Reply) -> Session {
    Session {
        user: UserInfo::from_session(&data),
        data: Arc::new(Mutex::new((data, reply.session_names))),
        origin: reply.origin,
        pending: Arc::new(Mutex::new(reply.set_cookies)),
        landing: Arc::default(),
    }
}

/// The session of a request, refreshed when due; records in
/// `reply` the cookies the answer must carry and the generation it
/// reads.
pub(crate) async fn load(
    provider: &Provider,
    sessions: &Sessions,
    incoming: Incoming,
    reply: &mut Reply,
    need: Need,
) -> Result<SessionData, Error> {
    let (origin, cookies) = incoming?;
    reply.origin = Some(origin.clone());
    let config = provider.config()?;
    let now = provider.now();
    let read = cookie::read(&cookies, &origin, config, now);
    if read.unopened {
        sessions.say_unopened();
    }
    reply
        .set_cookies
        .extend(crate::cookies::clear_all(&origin, &read.stale));
    if !read.ended.is_empty() {
        let user = read.current.as_ref().map(|c| c.data.sub.as_str());
        // Boxed: the rare revocation does not grow every request's future.
        let kept = Box::pin(revoke_ended(
            sessions,
            &origin,
            &read.ended,
            user,
            "session",
        ))
        .await;
        reply.set_cookies.extend(kept);
    }
    let current = read.current.ok_or(Error::NotSignedIn)?;
    reply.session_names = current.names;
    let mut data = current.data;

    // Ended elsewhere (signed out, the app removed, "sign out everywhere"):
    // one round trip to the shared store, when there is one.
    if let Some(store) = &sessions.store
        && store.ended(&data.id(), &data.sub, data.started_ms).await == Some(true)
    {
        sessions.forget(&data);
        return Err(Error::NotSignedIn);
    }

    if data.refresh_due(now) {
        // Boxed: the refresh, once per access token's life, does not grow
        // every request's future.
        match Box::pin(refresh_shared(sessions, &origin, &data)).await {
            Ok(refreshed) => {
                replace_generation(reply, &origin, &refreshed.sealed);
                data = refreshed.data.clone();
            }
            // A refusal, or (with a store) a race lost to an instance that
            // claimed this refresh and never published its outcome.
            Err(e) if e.is_grant_refusal() || matches!(e, Error::RefreshConflict) => {
                // The refusal was said where the provider made it (once per
                // token call, however often a copy of the cookie asks); a
                // lost race is said here while the user is still named, by
                // the route when it answers it.
                let live = data.access_token_live(now);
                if !e.is_grant_refusal() && live {
                    e.log("refresh");
                }
                // With a store that takes the news, a refusal is final for
                // every copy of the session, in every instance; a lost race
                // is not.
                if e.is_grant_refusal() && end_after_refusal(sessions, &data).await {
                    return Err(Error::NotSignedIn);
                }
                // Without one, a parallel request in another instance may
                // have spent the refresh token first (its response carries
                // the new session), or the grant is dead. While its access
                // token is valid (the early-refresh window) the user is
                // still known and the generation stays: the winner's
                // response deletes it, and deleting it here left the
                // browser signed out until that response came, if this
                // one came first (a dead grant costs one refused token
                // call per instance: the refusal is remembered, see
                // `spent`). After that the refusal is the last word, and
                // the generation is deleted, so that a copied cookie
                // cannot keep a dead session alive. 409: a retry tells a
                // lost race (the newer cookie has arrived) from a dead
                // grant.
                if !live {
                    return Err(Error::RefreshConflict);
                }
            }
            // A refreshed ID token that is definitely wrong (another user,
            // a bad signature): not this session any more.
            Err(e) if e.ends_session() => {
                end(sessions, &data).await;
                return Err(e);
            }
            // The provider could not be reached, or refused this app's
            // credentials (a misconfiguration is not the user's doing):
            // the session is kept, its refresh token unspent. The user is
            // still known for a while; past that, the request fails with
            // the provider's trouble, and the next one tries again.
            // The route logs an error it answers; one the session
            // outlives is logged here.
            Err(e) => {
                if !data.within_grace(now)
                    || (need == Need::AccessToken && !data.access_token_live(now))
                {
                    return Err(e);
                }
                e.log("refresh");
            }
        }
    } else if current.old_key {
        // Sealed with a retired key: seal again with the newest.
        let sealed = cookie::write(&origin, config, &data, now)?;
        replace_generation(reply, &origin, &sealed);
    }
    if need == Need::AccessToken && !data.access_token_live(now) {
        return Err(Error::NotSignedIn);
    }
    Ok(data)
}

/// The browser's session generation (the one `reply` read) gives way
/// to `sealed`: deleted by name, the new one set, and its names the ones a
/// later error would delete.
fn replace_generation(reply: &mut Reply, origin: &Origin, sealed: &Sealed) {
    let old = std::mem::replace(&mut reply.session_names, sealed.names.clone());
    reply
        .set_cookies
        .extend(crate::cookies::clear_all(origin, &old));
    reply.set_cookies.extend(sealed.set_cookies.iter().cloned());
}

impl Sessions {
    /// Says, once per instance, that a session cookie opened under no key
    /// of `AUTH_SECRET`: altered, or, as every user's would after
    /// `AUTH_SECRET` is replaced rather than rotated, sealed under a key it
    /// no longer lists, or sealed for another client ID or issuer (the
    /// seal's context). Once: anyone can send such a cookie.
    fn say_unopened(&self) {
        if !self.unopened_said.swap(true, Ordering::Relaxed) {
            crate::log::warn(
                "session: a session cookie opened under no key of AUTH_SECRET: altered, \
                 sealed under a key AUTH_SECRET no longer lists (replacing AUTH_SECRET signs \
                 every user out; to rotate, list the new key first and keep the old one: \
                 AUTH_SECRET=new,old), or for another client ID or issuer than this one's \
                 (changed since); said once per instance",
            );
        }
    }

    /// Says, once per instance and as an error, that the authorization
    /// endpoint answered one of this browser's attempts (its `state`
    /// matched) with `code`, a refusal of the app's own request
    /// (`unauthorized_client`, `invalid_scope`, `unsupported_response_type`,
    /// `invalid_request`: RFC 6749 §4.1.2.1), which fails every sign-in
    /// until the app's registration or configuration is put right. The
    /// request's own line stays a warning: the browser carries the
    /// response, so anyone can send one; once per instance, a stranger
    /// can set off no more than one such line.
    pub(crate) fn say_client_refused(&self, code: &str) {
        let the_apps_own = matches!(
            code,
            "unauthorized_client"
                | "invalid_scope"
                | "unsupported_response_type"
                | "invalid_request"
        );
        if the_apps_own && !self.refused_client_said.swap(true, Ordering::Relaxed) {
            crate::log::error(&format!(
                "callback: a sign-in came back from the authorization endpoint with \
                 error={code}, a refusal of the app's own request: check the scopes and \
                 the response type the client is allowed at the provider (anyone who \
                 starts a sign-in can send this answer, so confirm it by signing in); \
                 said once per instance"
            ));
        }
    }

    /// Forgets what this instance remembers of `data`'s refreshes.
    fn forget(&self, data: &SessionData) {
        self.flights.forget(&data.id());
    }
}

/// Vercel's REST API acting as the signed-in user of `session`: its access
/// token against `https://api.vercel.com` (or, for another issuer, the
/// origin of its token endpoint); a refused token is refreshed once
/// through the session.
pub(crate) async fn vercel_api<'a>(
    provider: &'a Provider,
    sessions: &'a Sessions,
    session: &'a Session,
) -> Result<VercelApi<'a>, Error> {
    let metadata = provider.metadata().await?;
    let base = api_base(metadata)
        .ok_or_else(|| Error::Discovery("token_endpoint has no origin".into()))?;
    let tokens = SessionTokens { sessions, session };
    Ok(VercelApi::new(provider.http(), base, tokens))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cookie::REFRESH_TOKEN_TTL_SECS;
    use cookie::tests::{NOW, data};

    /// A token answer with new tokens, no ID token.
    pub(super) const NEW_TOKENS: &str = r#"{"access_token":"vca_new","token_type":"Bearer","expires_in":3600,"refresh_token":"vcr_new"}"#;

    /// `request` again, as a copy of its cookie is sent: the same headers,
    /// with `method`.
    pub(super) fn again(request: &http::Request<()>, method: http::Method) -> http::Request<()> {
        let mut copy = http::Request::new(());
        *copy.method_mut() = method;
        *copy.uri_mut() = request.uri().clone();
        *copy.headers_mut() = request.headers().clone();
        copy
    }

    /// A session cookie sealed under a key `AUTH_SECRET` no longer lists
    /// (the variable replaced instead of rotated: every user signed out)
    /// is said once per instance, as a warning naming the fix; one that
    /// opens but has expired is not.
    #[tokio::test]
    async fn a_session_sealed_under_an_unlisted_key_is_said_once() {
        use crate::transport::tests::{Fake, response};
        let fake = Fake::new(|_| Ok(response(404, "")));
        let (_, request) = signed_in_ten_seconds_later(fake.clone());
        let replaced = crate::Auth::from_lookup(|k| match k {
            "VERCEL_APP_CLIENT_ID" => Some("cl".to_owned()),
            "AUTH_SECRET" => Some("ffffffffffffffffffffffffffffffff-replaced".to_owned()),
            _ => None,
        })
        .with_http_client(fake.clone())
        .with_clock(std::sync::Arc::new(|| NOW + 10));
        crate::log::tests::taken();
        // A chunk without the one before it is no whole seal: nothing said.
        let lone_chunk = http::Request::get("/api/x")
            .header(http::header::HOST, "localhost:3000")
            .header(http::header::COOKIE, "session.abc.1=AAAA")
            .body(())
            .unwrap();
        replaced.serve(&crate::SESSION, lone_chunk).await;
        assert!(crate::log::tests::taken().is_empty());
        for sent in 0..3 {
            let answer = replaced
                .serve(&crate::SESSION, again(&request, http::Method::GET))
                .await;
            assert_eq!(&answer.body()[..], br#"{"user":null}"#, "{sent}");
        }
        let lines = crate::log::tests::taken();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0]
                .starts_with("warn: session: a session cookie opened under no key of AUTH_SECRET")
                && lines[0].contains("AUTH_SECRET=new,old"),
            "{lines:?}"
        );
        // Its own key, long expired: nothing said.
        let (auth, request) = signed_in_earlier(fake, REFRESH_TOKEN_TTL_SECS + 10);
        crate::log::tests::taken();
        let answer = auth.serve(&crate::SESSION, request).await;
        assert_eq!(&answer.body()[..], br#"{"user":null}"#);
        let lines = crate::log::tests::taken();
        assert!(lines.is_empty(), "{lines:?}");
    }

    /// A copy of a session its browser signed out of, sent with the
    /// sign-out's mark (as when a late refresh's answer brought it back)
    /// again and again: its tokens are revoked once, not on every request
    /// (two calls: the access token and the refresh token). So is a copy
    /// of a session signed out of, signed out again.
    #[tokio::test]
    async fn a_replayed_ended_session_is_revoked_once() {
        use crate::transport::tests::{Fake, response};
        let fake = Fake::new(|path| {
            Ok(match path {
                "/login/oauth/token/revoke" => response(200, ""),
                _ => response(404, ""),
            })
        });
        let (auth, request) = signed_in_ten_seconds_later(fake.clone());
        let origin = Origin::parse_configured("http://localhost:3000").unwrap();
        let mark = cookie::ended_cookie(&origin, &data(), NOW + 5).unwrap();
        let mut marked = again(&request, http::Method::GET);
        let pair = format!(
            "{}; {}",
            request.headers()[http::header::COOKIE].to_str().unwrap(),
            mark.to_str().unwrap().split(';').next().unwrap()
        );
        marked
            .headers_mut()
            .insert(http::header::COOKIE, pair.parse().unwrap());
        for sent in 0..5 {
            let answer = auth
                .serve(&crate::SESSION, again(&marked, http::Method::GET))
                .await;
            assert_eq!(answer.status(), 200, "copy {sent}");
            assert_eq!(&answer.body()[..], br#"{"user":null}"#, "copy {sent}");
        }
        assert_eq!(fake.calls("/login/oauth/token/revoke"), 2);

        // The live session (without the mark), signed out three times.
        let fake = Fake::new(|path| {
            Ok(match path {
                "/login/oauth/token/revoke" => response(200, ""),
                _ => response(404, ""),
            })
        });
        let (auth, request) = signed_in_ten_seconds_later(fake.clone());
        for sent in 0..3 {
            let answer = auth
                .serve(&crate::SIGNOUT, again(&request, http::Method::POST))
                .await;
            assert_eq!(answer.status(), 200, "sign-out {sent}");
            let body: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
            assert_eq!(body["revoked"], true, "sign-out {sent}: {body}");
        }
        assert_eq!(fake.calls("/login/oauth/token/revoke"), 2);
        crate::log::tests::taken();
    }

    /// `Auth::protect` refuses a request of a method that changes things
    /// from another origin before its handler runs (403), and runs the
    /// handler for a safe one from anywhere, or an unsafe one from its own
    /// origin. Without a store, `sign_out_everywhere` says so.
    #[tokio::test]
    async fn protect_refuses_only_unsafe_requests_from_another_origin() {
        use crate::transport::tests::{Fake, response};
        let vercel = Fake::new(|_| Ok(response(404, "")));
        let (auth, request) = signed_in_ten_seconds_later(vercel);
        let cookie = request.headers()[http::header::COOKIE].clone();
        for (method, site, ran) in [
            (http::Method::POST, "cross-site", false),
            (http::Method::POST, "same-site", false),
            (http::Method::POST, "same-origin", true),
            (http::Method::GET, "cross-site", true),
        ] {
            let request = http::Request::builder()
                .method(method.clone())
                .uri("/api/x")
                .header(http::header::HOST, "localhost:3000")
                .header(http::header::COOKIE, cookie.clone())
                .header("sec-fetch-site", site)
                .body(())
                .unwrap();
            let handled = std::sync::atomic::AtomicBool::new(false);
            let answer: http::Response<bytes::Bytes> = auth
                .protect(&request, async |session| {
                    handled.store(true, std::sync::atomic::Ordering::SeqCst);
                    let everywhere = auth.sign_out_everywhere(&session).await;
                    assert_eq!(everywhere, Err(Error::NoSharedStore));
                    http::Response::new(bytes::Bytes::new())
                })
                .await;
            let handled = handled.load(std::sync::atomic::Ordering::SeqCst);
            assert_eq!(handled, ran, "{method} {site}");
            assert_eq!(
                answer.status(),
                if ran { 200 } else { 403 },
                "{method} {site}"
            );
        }
    }

    /// A provider whose introspection says the session's token is active,
    /// and whose REST API answers `metadata` for the token.
    fn introspecting_with_metadata(
        metadata: &'static str,
    ) -> std::sync::Arc<crate::transport::tests::Fake> {
        use crate::transport::tests::{Fake, response};
        Fake::new(move |path| {
            Ok(match path {
                "/login/oauth/token/introspect" => {
                    response(200, r#"{"active":true,"client_id":"cl","sub":"usr_1"}"#)
                }
                "/v5/user/tokens/current" => response(200, metadata),
                _ => response(404, ""),
            })
        })
    }

    /// The validate-token route answers within the request's deadline
    /// however slow the provider: its REST call for the token's metadata
    /// shares that deadline (a handler's REST calls have their own), so
    /// that a function with a 10 s limit is not cut off before it answers.
    #[tokio::test(start_paused = true)]
    async fn validate_token_answers_within_the_requests_deadline() {
        let vercel = introspecting_with_metadata(
            r#"{"token":{"id":"t1","name":"n","type":"oauth2-token","activeAt":1,"createdAt":1}}"#,
        );
        let (auth, request) =
            signed_in_ten_seconds_later(crate::transport::tests::Delayed::new(&vercel, |_| {
                std::time::Duration::from_secs(8)
            }));
        let started = tokio::time::Instant::now();
        let answer = auth.serve(&crate::VALIDATE_TOKEN, request).await;
        assert!(
            started.elapsed() <= crate::REQUEST_DEADLINE,
            "answered after {:?}",
            started.elapsed()
        );
        assert_eq!(answer.status(), 200);
        let body: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
        assert_eq!(body["tokenInfo"]["active"], true, "{body}");
        assert!(body["tokenMetadataError"].is_string(), "{body}");
    }

    /// The token's metadata reaches the browser as a fixed list of
    /// members: one the provider adds (here `secretish`, and `scopes`,
    /// which no page shows) is not in the validate-token route's answer.
    #[tokio::test]
    async fn validate_token_shows_only_the_listed_metadata_members() {
        let vercel = introspecting_with_metadata(
            r#"{"token":{"id":"t1","name":"n","type":"oauth2-token","origin":"o",
                "scopes":[{"type":"user","origin":"o","createdAt":1,"extra":"y"}],
                "activeAt":2,"createdAt":1,"expiresAt":3,"secretish":"x"}}"#,
        );
        let (auth, request) = signed_in_ten_seconds_later(vercel);
        let answer = auth.serve(&crate::VALIDATE_TOKEN, request).await;
        assert_eq!(answer.status(), 200);
        let body: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
        assert_eq!(
            body["tokenMetadata"],
            serde_json::json!({"id": "t1", "name": "n", "type": "oauth2-token", "origin": "o",
                "activeAt": 2, "createdAt": 1, "expiresAt": 3}),
            "{body}"
        );
    }

    /// An app of client `cl` whose provider calls go to `http`, ten
    /// seconds after a sign-in at [`NOW`], and a request that carries that
    /// session's cookie.
    pub(super) fn signed_in_ten_seconds_later(
        http: std::sync::Arc<dyn crate::transport::HttpClient>,
    ) -> (crate::Auth, http::Request<()>) {
        signed_in_earlier(http, 10)
    }

    /// [`signed_in_ten_seconds_later`], `later` seconds after the sign-in.
    pub(super) fn signed_in_earlier(
        http: std::sync::Arc<dyn crate::transport::HttpClient>,
        later: i64,
    ) -> (crate::Auth, http::Request<()>) {
        let lookup = |k: &str| match k {
            "VERCEL_APP_CLIENT_ID" => Some("cl".to_owned()),
            "AUTH_SECRET" => Some("0123456789abcdef0123456789abcdef-cookie".to_owned()),
            _ => None,
        };
        let auth = crate::Auth::from_lookup(lookup)
            .with_http_client(http)
            .with_clock(std::sync::Arc::new(move || NOW + later));
        let config = crate::Config::from_lookup(lookup).unwrap();
        let origin = Origin::parse_configured("http://localhost:3000").unwrap();
        let sealed = cookie::write(&origin, &config, &data(), NOW).unwrap();
        let pair = sealed.set_cookies[0].to_str().unwrap();
        let request = http::Request::get("/api/x")
            .header(http::header::HOST, "localhost:3000")
            .header(http::header::COOKIE, pair.split(';').next().unwrap())
            .body(())
            .unwrap();
        (auth, request)
    }

    /// The rotation the crate documents: `old,new`, then `new,old`. A
    /// cookie sealed again with `new` by the second deployment still opens
    /// in the first (a rollback); one sealed with `new` opens nowhere that
    /// knows only `old`, which is why the first step exists.
    #[tokio::test]
    async fn a_key_rotated_in_two_deployments_survives_a_rollback() {
        const OLD: &str = "0123456789abcdef0123456789abcdef-old-key";
        const NEW: &str = "fedcba9876543210fedcba9876543210-new-key";
        let app = |secret: String| {
            let lookup = move |k: &str| match k {
                "VERCEL_APP_CLIENT_ID" => Some("cl".to_owned()),
                "AUTH_SECRET" => Some(secret.clone()),
                _ => None,
            };
            let config = crate::Config::from_lookup(lookup.clone()).unwrap();
            let auth =
                crate::Auth::from_lookup(lookup).with_clock(std::sync::Arc::new(|| NOW + 60));
            (auth, config)
        };
        let origin = Origin::parse_configured("http://localhost:3000").unwrap();
        let pairs = |set: &[http::HeaderValue]| -> String {
            set.iter()
                .map(|c| c.to_str().unwrap().split(';').next().unwrap())
                .filter(|p| !p.ends_with('='))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let request = |cookie: &str| {
            http::Request::get("/api/protected")
                .header(http::header::HOST, "localhost:3000")
                .header(http::header::COOKIE, cookie)
                .body(())
                .unwrap()
        };
        // Who `auth` sees with `cookie`, and the cookies the browser then
        // holds (its answer applied).
        let visit =
            async |auth: &crate::Auth, cookie: &str| match auth.session(&request(cookie)).await {
                Ok(session) => {
                    let sub = session.sub().to_owned();
                    let answer = session.finish(http::Response::new(()));
                    let set: Vec<_> = answer
                        .headers()
                        .get_all(http::header::SET_COOKIE)
                        .iter()
                        .cloned()
                        .collect();
                    let held = if set.is_empty() {
                        cookie.to_owned()
                    } else {
                        pairs(&set)
                    };
                    (Some(sub), held)
                }
                Err(_) => (None, String::new()),
            };
        let (_, old_only) = app(OLD.to_owned());
        let sealed = cookie::write(&origin, &old_only, &data(), NOW).unwrap();
        let held = pairs(&sealed.set_cookies);

        let (first, _) = app(format!("{OLD},{NEW}"));
        let (second, _) = app(format!("{NEW},{OLD}"));
        let (who, held) = visit(&first, &held).await;
        assert_eq!(who.as_deref(), Some("usr_1"));
        let (who, resealed) = visit(&second, &held).await;
        assert_eq!(who.as_deref(), Some("usr_1"));
        assert_ne!(resealed, held, "sealed again with the new key");
        let (who, _) = visit(&first, &resealed).await;
        assert_eq!(
            who.as_deref(),
            Some("usr_1"),
            "rolled back to the first step"
        );
        let (old_only, _) = app(OLD.to_owned());
        let (who, _) = visit(&old_only, &resealed).await;
        assert_eq!(who, None, "a deployment without the new key");
    }

    /// Whether `then` succeeds when a handler of `Auth::protect` runs it
    /// after spending more than the request's deadline on its own work.
    pub(super) async fn after_a_long_handler(
        auth: &crate::Auth,
        request: &http::Request<()>,
        then: impl AsyncFnOnce(&Session) -> bool,
    ) -> bool {
        let answer: http::Response<bytes::Bytes> = auth
            .protect(request, async |session| {
                tokio::time::sleep(crate::REQUEST_DEADLINE + std::time::Duration::from_secs(1))
                    .await;
                let status = if then(&session).await { 200 } else { 502 };
                http::Response::builder()
                    .status(status)
                    .body(bytes::Bytes::new())
                    .unwrap()
            })
            .await;
        answer.status() == 200
    }

    /// A handler of `Auth::protect` that has spent the request's own
    /// deadline on its work still gets an answer from Vercel's REST API:
    /// each call has a deadline of its own.
    #[tokio::test(start_paused = true)]
    async fn a_rest_call_after_a_long_handler_has_its_own_deadline() {
        use crate::transport::tests::{Fake, response};
        let vercel = Fake::new(|path| {
            Ok(match path {
                "/v2/user" => response(200, r#"{"user":{"id":"usr_1"}}"#),
                _ => response(404, ""),
            })
        });
        let (auth, request) =
            signed_in_ten_seconds_later(crate::transport::tests::Delayed::new(&vercel, |_| {
                std::time::Duration::from_millis(100)
            }));
        let answered = after_a_long_handler(&auth, &request, async |session| {
            let api = auth.vercel_api(session).await.unwrap();
            api.get("/v2/user").await.is_ok()
        })
        .await;
        assert!(answered);
        assert_eq!(vercel.calls("/v2/user"), 1);
    }
}
