//! [`Auth`]: the front door. Each entry point a function calls is a method
//! here; below it, [`Provider`] is the context every protocol step takes,
//! and nothing below imports this module.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use serde_json::json;

use crate::background::KeepAlive;
use crate::clock::{Clock, with_deadline, with_own_deadline};
use crate::config::{Config, StoreUrl};
use crate::discovery::ProviderMetadata;
use crate::error::Error;
use crate::paths::Paths;
use crate::provider::Provider;
use crate::response::{self, Response};
use crate::routes::{self, ROUTES, Route};
use crate::secret::AccessToken;
use crate::session::{self, Need, Rejection, Session, Sessions};
use crate::transport::{BoxFuture, HttpClient};
use crate::vercel_api::VercelApi;

/// Logged once per [`Auth`] made from a configuration: a plain
/// `redis://` store URL to another host sends the store's password and
/// the sessions' marks unencrypted (not refused: Redis Cloud hands out
/// such URLs); a key of `AUTH_SECRET` with whitespace in it is most likely
/// a rotation list written with spaces, which opens no session sealed
/// before (not refused: a passphrase may hold spaces).
fn warn_of_settings(config: &Config) {
    if config.spaced_auth_secret {
        crate::log::warn(
            "a key of AUTH_SECRET has whitespace in it: a rotation list is comma-separated \
             (AUTH_SECRET=new,old); read as one key, it opens no session sealed under the \
             old one, and every user is signed out",
        );
    }
    if config
        .store_url
        .as_ref()
        .is_some_and(StoreUrl::is_cleartext_remote)
    {
        crate::log::warn(
            "the shared store's URL (REDIS_URL or KV_URL) is a plain redis:// URL to \
             another host: its password and the sessions' marks cross the network \
             unencrypted; use the store's rediss:// (TLS) URL if it has one, with \
             REDIS_CA_PEM if its provider signs its own certificates",
        );
    }
}

/// The relying party of one function instance: the [`Provider`] (the
/// configuration, the HTTP client, the provider's metadata and keys, the
/// clock) and what the instance's sessions share. Nothing in it is per
/// user: sessions live in cookies.
///
/// [`Auth::serve`] answers one of the [`ROUTES`] (what each function's shim
/// calls), [`Auth::session`] and [`Auth::protect`] tell your own functions
/// who is signed in, [`Auth::vercel_api`] calls Vercel's REST API as them.
///
/// One per host: the cookies' names are fixed, and an `Auth` deletes the
/// ones it cannot open, so two on one host (another issuer or client ID,
/// or another project behind the same domain) sign each other out.
pub struct Auth {
    provider: Arc<Provider>,
    sessions: Sessions,
}

impl Auth {
    /// A relying party for `config`, using the production HTTP client.
    /// The issuer and the paths are checked again; a configuration that
    /// fails the check makes every route answer `configuration`, logged
    /// with each answer.
    pub fn new(config: Config) -> Self {
        warn_of_settings(&config);
        Self::build(Provider::new(Ok(config)))
    }

    /// A relying party configured from the environment. A configuration
    /// error is logged now, naming the variable, and every route answers
    /// with a configuration error until it is fixed; nothing panics.
    pub fn from_env() -> Self {
        Self::from_config(Config::from_env())
    }

    /// Like [`Auth::from_env`], reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        Self::from_config(Config::from_lookup(lookup))
    }

    /// The relying party of `config`, or, for its error, one whose every
    /// route answers it; the error is logged now.
    fn from_config(config: Result<Config, crate::config::ConfigError>) -> Self {
        match &config {
            Err(e) => crate::log::error(&format!("configuration error: {e}")),
            Ok(c) => warn_of_settings(c),
        }
        Self::build(Provider::loaded(config))
    }

    /// The instance-wide [`Auth`], configured from the environment on first use.
    pub fn global() -> &'static Self {
        static AUTH: OnceLock<Auth> = OnceLock::new();
        AUTH.get_or_init(Self::from_env)
    }

    fn build(provider: Provider) -> Self {
        let provider = Arc::new(provider);
        Self {
            sessions: Sessions::new(&provider),
            provider,
        }
    }

    /// The provider, to build another [`Auth`] from: this one's, or (while
    /// a refresh it started still runs) one with the same configuration,
    /// HTTP client and clock, and caches of its own.
    fn into_provider(self) -> Provider {
        let Self { provider, sessions } = self;
        drop(sessions);
        Arc::try_unwrap(provider).unwrap_or_else(|shared| shared.unshared())
    }

    /// Replaces the HTTP client (tests, the emulator in process).
    pub fn with_http_client(self, http: Arc<dyn HttpClient>) -> Self {
        Self::build(self.into_provider().with_http_client(http))
    }

    /// Replaces the clock (tests); see [`Provider::with_clock`] for what a
    /// clock in whole seconds means for "sign out everywhere".
    pub fn with_clock(self, clock: Clock) -> Self {
        Self::build(self.into_provider().with_clock(clock))
    }

    /// Replaces the URL layout: where the routes, the error page and the
    /// default return path are (see [`Paths`]).
    pub fn with_paths(self, paths: Paths) -> Self {
        Self::build(self.into_provider().with_paths(paths))
    }

    /// The context below: configuration, HTTP client, caches, clock.
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// The configuration, or the error that stops every route.
    pub fn config(&self) -> Result<&Config, Error> {
        self.provider.config()
    }

    /// The URL layout.
    pub fn paths(&self) -> &Paths {
        self.provider.paths()
    }

    /// The provider's metadata: built in for Vercel, discovered once per
    /// instance otherwise (a failed discovery stands for
    /// [`DISCOVERY_RETRY_AFTER`](crate::DISCOVERY_RETRY_AFTER), then the
    /// next request tries again).
    pub async fn metadata(&self) -> Result<&ProviderMetadata, Error> {
        self.provider.metadata().await
    }

    /// Answers `request` with `route`: what each function's shim does.
    /// Only the request's head is read.
    pub fn serve<B>(
        &self,
        route: &'static Route,
        request: http::Request<B>,
    ) -> impl Future<Output = Response> + Send + '_ {
        let parts = request.into_parts().0;
        routes::serve(&self.provider, &self.sessions, route, parts)
    }

    /// [`Auth::serve`], with `keep_alive` as the platform's hook for the
    /// work the route leaves running after its answer (a refresh shared
    /// with later requests, a sign-in or sign-out cut off that still
    /// revokes tokens): what each function's shim does on Vercel, where
    /// the hook is `vercel_runtime`'s `AppState::wait_until`, so that the
    /// instance is neither frozen nor shut down with that work undone.
    ///
    /// ```no_run
    /// use sign_in_with_vercel::{Auth, KeepAlive, SESSION};
    /// use vercel_runtime::{AppState, Error, Request, run, service_fn};
    ///
    /// #[tokio::main(flavor = "current_thread")]
    /// async fn main() -> Result<(), Error> {
    ///     let auth = Auth::global();
    ///     run(service_fn(move |req: Request, state: AppState| {
    ///         let keep_alive = KeepAlive::new(move |work| state.wait_until(work));
    ///         auth.serve_kept_alive(&SESSION, req, keep_alive)
    ///     }))
    ///     .await
    /// }
    /// ```
    pub fn serve_kept_alive<B>(
        &self,
        route: &'static Route,
        request: http::Request<B>,
        keep_alive: KeepAlive,
    ) -> impl Future<Output = Response> + Send + '_ {
        crate::background::kept_alive(keep_alive, self.serve(route, request))
    }

    /// Routes a request by path among the [`ROUTES`], as Vercel does with
    /// one function per file; any other `/api/...` path is a 404 JSON
    /// answer. `None` for paths outside `/api` (the static site's). For
    /// the local dev server and the tests.
    pub fn dispatch<B>(&self, request: &http::Request<B>) -> Option<BoxFuture<'_, Response>> {
        let path = request.uri().path();
        let paths = self.paths();
        if let Some(route) = ROUTES.iter().find(|r| r.path(paths) == path) {
            let mut head = http::Request::new(());
            *head.method_mut() = request.method().clone();
            *head.uri_mut() = request.uri().clone();
            *head.headers_mut() = request.headers().clone();
            return Some(Box::pin(self.serve(route, head)));
        }
        (path == "/api" || path.starts_with("/api/")).then(|| {
            Box::pin(std::future::ready(response::json(
                http::StatusCode::NOT_FOUND,
                &json!({ "error": "not_found", "error_description": "No such API route." }),
            ))) as BoxFuture<'_, Response>
        })
    }

    /// The signed-in user of `request`, from the session cookie: no
    /// provider call while the access token is fresh. A few minutes before
    /// it expires, the tokens are refreshed (one token call shared by the
    /// instance's concurrent requests). If the provider cannot be reached
    /// (or refuses the app's credentials), the user is still known for
    /// [`REFRESH_GRACE_SECS`](crate::REFRESH_GRACE_SECS) past the access
    /// token's expiry, then the request fails with the provider's error
    /// and the session is kept for the next try; a refused grant ends the
    /// session (at once when the shared store takes the end; without one,
    /// or when it does not answer, once the access token has expired:
    /// until then the request still names the user, as
    /// a parallel request in another instance may have spent the refresh
    /// token first, see [`REFRESH_GRACE_SECS`](crate::REFRESH_GRACE_SECS)).
    ///
    /// [`Auth::protect`] does all of the following for you; this is for a
    /// function that also answers signed-out visitors, or answers them its
    /// own way. A refreshed session's cookies must ride on the response
    /// ([`Session::finish`](crate::Session::finish)), and a rejection's
    /// (stale cookies deleted) on the signed-out answer
    /// ([`Rejection::finish`](crate::Rejection::finish)):
    ///
    /// ```no_run
    /// use sign_in_with_vercel::{Auth, Error};
    /// use vercel_runtime::{Error as RuntimeError, Request, Response, ResponseBody, run, service_fn};
    ///
    /// async fn handler(req: Request) -> Result<Response<ResponseBody>, RuntimeError> {
    ///     match Auth::global().session(&req).await {
    ///         Ok(session) => {
    ///             let page = format!("Welcome back, {}!", session.sub());
    ///             Ok(session.finish(Response::new(ResponseBody::from(page))))
    ///         }
    ///         // Not signed in: a page for everyone, with the rejection's
    ///         // cookie deletions.
    ///         Err(rejection) if matches!(rejection.error(), Error::NotSignedIn) => {
    ///             Ok(rejection.finish(Response::new(ResponseBody::from("Hello, guest!"))))
    ///         }
    ///         // Anything else (a refresh lost to a parallel request, the
    ///         // provider unreachable): its own JSON answer and status.
    ///         Err(rejection) => Ok(rejection.into_response().map(ResponseBody::from)),
    ///     }
    /// }
    ///
    /// #[tokio::main(flavor = "current_thread")]
    /// async fn main() -> Result<(), RuntimeError> {
    ///     run(service_fn(handler)).await
    /// }
    /// ```
    pub fn session<B>(
        &self,
        request: &http::Request<B>,
    ) -> impl Future<Output = Result<Session, Rejection>> + Send + use<'_, B> {
        let incoming = session::incoming(&self.provider, request.headers());
        with_deadline(async move {
            let mut reply = Default::default();
            match session::load(
                &self.provider,
                &self.sessions,
                incoming,
                &mut reply,
                Need::Identity,
            )
            .await
            {
                Ok(data) => Ok(session::session_of(data, reply)),
                Err(error) => Err(Rejection { error, reply }),
            }
        })
    }

    /// Runs `handler` with the signed-in user of `request` and returns its
    /// response with the session's cookies, kept out of shared caches
    /// (`Cache-Control: no-store` whenever cookies are set, otherwise unless
    /// the handler said `private` or `no-store`; and no
    /// `Vercel-CDN-Cache-Control`, `CDN-Cache-Control`
    /// or `Surrogate-Control`, which a CDN reads first, see
    /// [`Session::finish`](crate::Session::finish));
    /// answers a signed-out request itself (401 JSON, stale cookies
    /// deleted). A request of a method that changes things (anything but
    /// `GET`, `HEAD`, `OPTIONS`, `TRACE`) sent by a page of another origin
    /// is refused before the handler runs (403 `cross_origin_request`, see
    /// [`Auth::from_another_origin`]): `SameSite=Lax` keeps the session
    /// cookie off another site's requests, not off a sibling subdomain's.
    /// So a handler that changes things on `GET` is yours to guard. The
    /// session's own provider calls keep to
    /// [`REQUEST_DEADLINE`](crate::REQUEST_DEADLINE); each REST API call of
    /// the handler, and each [`Auth::vercel_api`], [`Auth::refresh_session`]
    /// and [`Auth::sign_out_everywhere`] it makes, has one of its own.
    /// Its answer's log line names the route `protect` (a refresh's lines
    /// name `refresh`, a failed revocation of sessions this browser had
    /// ended, `session`). A refresh the handler cut
    /// off (a timeout around a REST call) is waited for before the
    /// answer: the provider has rotated the tokens, and the new
    /// generation holds the only refresh token left.
    ///
    /// The returned future does not borrow `request`: it is `Send` whatever
    /// the request's body (axum's is not `Sync`).
    pub fn protect<B, RB, F>(
        &self,
        request: &http::Request<B>,
        handler: F,
    ) -> impl Future<Output = http::Response<RB>> + use<'_, B, RB, F>
    where
        F: AsyncFnOnce(Session) -> http::Response<RB>,
        RB: From<Bytes>,
    {
        // Everything the request says is read here, before the first await.
        let cross_origin = !request.method().is_safe() && self.from_another_origin(request);
        let session = self.session(request);
        with_deadline(async move {
            if cross_origin {
                let refused = Rejection {
                    error: Error::CrossOrigin,
                    reply: Default::default(),
                };
                return refused.answer_as("protect").map(RB::from);
            }
            match session.await {
                Ok(session) => {
                    let (pending, landing) = (session.pending.clone(), session.landing.clone());
                    let response = handler(session).await;
                    // A refresh the handler cut off (a timeout around a
                    // REST call) lands before the answer, as
                    // `Session::settled` waits for it: its generation holds
                    // the only refresh token left.
                    drop(landing.write().await);
                    session::with_cookies(&pending, response)
                }
                Err(rejection) => rejection.answer_as("protect").map(RB::from),
            }
        })
    }

    /// Whether the browser says a page of another origin than this app's
    /// sent `request`: by fetch metadata (`Sec-Fetch-Site`), by `Origin`
    /// (RFC 6454 §7), or, when it sends neither, by `Referer` (OWASP's
    /// CSRF defence). [`Auth::protect`] refuses such a request of a method
    /// that changes things; a function built on [`Auth::session`] that
    /// changes things should refuse it too. `false` when the app's origin
    /// cannot be told (the session check then refuses the request).
    pub fn from_another_origin<B>(&self, request: &http::Request<B>) -> bool {
        self.provider.origin(request.headers()).is_ok_and(|origin| {
            crate::origin::from_another_origin(request.headers(), origin.as_str())
        })
    }

    /// Vercel's REST API acting as the signed-in user: the session's access
    /// token against `https://api.vercel.com` (or, for another issuer, the
    /// origin of its token endpoint). A refused token refreshes the session
    /// once and the call is retried once; the new cookies reach the browser
    /// with the session's.
    pub async fn vercel_api<'a>(&'a self, session: &'a Session) -> Result<VercelApi<'a>, Error> {
        with_own_deadline(session::vercel_api(&self.provider, &self.sessions, session)).await
    }

    /// Ends every session of `session`'s user on this app, in every
    /// instance ("sign out everywhere"), this one included: each is
    /// refused from its next request on (within a second). A sign-in after
    /// it stands, even within the same second: sessions keep their start
    /// to the millisecond (as far as the instances' clocks agree). Needs the
    /// shared store ([`Error::NoSharedStore`] without one,
    /// [`Error::StoreUnavailable`] when it does not answer), and a session
    /// the store holds live ([`Error::NotSignedIn`] for a copy of one that
    /// was ended, which could otherwise end its user's new sessions as
    /// often as it is sent); the tokens of
    /// the other sessions are not revoked, since only their cookies hold
    /// them, but none of them is used again. Nor are this session's, and
    /// its cookie stays: the [`SIGNOUT`](crate::SIGNOUT) route's
    /// `?everywhere` does all three.
    pub async fn sign_out_everywhere(&self, session: &Session) -> Result<(), Error> {
        let now_ms = self.provider.now_ms();
        let data = session.lock().0.clone();
        // A deadline of its own: called from a handler inside
        // `protect`, which may have spent the request's already.
        with_own_deadline(session::end_everywhere(&self.sessions, &data, now_ms)).await
    }

    /// Refreshes the session's tokens now, whatever their age: for a call
    /// the provider refused although the token looked fresh. The new
    /// session's cookies join the session's; the new access token is
    /// returned. The refresh has [`REQUEST_DEADLINE`](crate::REQUEST_DEADLINE)
    /// from this call, whatever a handler spent before it. A refused grant
    /// ends the session (its cookies deleted with the answer): with the
    /// shared store, everywhere, and the refusal is returned; without one
    /// (or when it does not answer), [`Error::RefreshConflict`], since the
    /// refusal may be a race lost to another instance whose answer brings
    /// the browser a newer session (a retry tells). The end of a
    /// session is logged; any other error is returned for your code to
    /// answer (its `Display` is the operator's detail).
    pub async fn refresh_session(&self, session: &Session) -> Result<AccessToken, Error> {
        with_own_deadline(session::refresh_now(&self.sessions, session)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Result<Config, crate::config::ConfigError> {
        Config::from_lookup(|name| match name {
            "VERCEL_APP_CLIENT_ID" => Some("cl_held".into()),
            "AUTH_SECRET" => Some("0123456789abcdef0123456789abcdef".into()),
            _ => None,
        })
    }

    /// A key of `AUTH_SECRET` with whitespace in it (a rotation list
    /// written `new old`) is said once, when the instance starts, naming
    /// the variable and the comma; a comma-separated list is not.
    #[test]
    fn a_spaced_auth_secret_is_said_at_start() {
        let with = |secret: String| {
            crate::log::tests::taken();
            let _auth = Auth::from_lookup(|name| match name {
                "VERCEL_APP_CLIENT_ID" => Some("cl_held".into()),
                "AUTH_SECRET" => Some(secret.clone()),
                _ => None,
            });
            crate::log::tests::taken()
        };
        let new = "ffffffffffffffffffffffffffffffff";
        let old = "0123456789abcdef0123456789abcdef";
        let lines = with(format!("{new} {old}"));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with("warn: a key of AUTH_SECRET has whitespace in it")
                && lines[0].contains("AUTH_SECRET=new,old"),
            "{lines:?}"
        );
        assert!(
            !lines[0].contains(new) && !lines[0].contains(old),
            "{lines:?}"
        );
        let lines = with(format!("{new}, {old}"));
        assert!(lines.is_empty(), "{lines:?}");
    }

    /// `protect`'s future holds no borrow of the request, so it is `Send`
    /// with a body that is not `Sync` (axum's): a handler built on it can
    /// be spawned. (A compile-time check: it fails to build otherwise.)
    #[test]
    fn protect_is_send_with_a_body_that_is_not_sync() {
        fn send<T: Send>(_: &T) {}
        /// `Send`, not `Sync`, like axum's body.
        struct UnsyncBody(std::marker::PhantomData<std::cell::Cell<u8>>);
        let auth = Auth::new(config().unwrap());
        let request = http::Request::new(UnsyncBody(std::marker::PhantomData));
        let protected = async move {
            auth.protect(&request, async |_session| http::Response::new(Bytes::new()))
                .await
        };
        send(&protected);
    }

    /// What [`Auth::dispatch`] answers for `path` (a GET with no cookie).
    async fn dispatched(auth: &Auth, path: &str) -> Option<(u16, String)> {
        let request = http::Request::get(path)
            .header("host", "localhost:3000")
            .body(())
            .unwrap();
        let response = auth.dispatch(&request)?.await;
        let body = String::from_utf8(response.body().to_vec()).unwrap();
        Some((response.status().as_u16(), body))
    }

    /// The dev server routes by the layout [`Auth::with_paths`] set, not
    /// the default one: a route moved under another base answers there,
    /// and its default path is an unknown API route.
    #[tokio::test]
    async fn dispatch_routes_by_the_configured_paths() {
        let auth =
            Auth::build(Provider::loaded(config())).with_paths(Paths::with_base("/api/login"));
        let (status, body) = dispatched(&auth, "/api/login/session").await.unwrap();
        assert_eq!((status, body.as_str()), (200, r#"{"user":null}"#));
        let (status, body) = dispatched(&auth, "/api/auth/session").await.unwrap();
        assert_eq!(status, 404, "{body}");
        assert!(body.contains(r#""error":"not_found""#), "{body}");
        assert_eq!(dispatched(&auth, "/profile").await, None);
    }

    /// A builder called while a refresh's task still holds the provider
    /// (here: a clone kept by the test) gets a copy of it, with the change
    /// made and everything else kept; the held one is left as it was.
    #[test]
    fn a_builder_works_while_the_provider_is_still_held() {
        let auth = Auth::build(Provider::loaded(config())).with_clock(Arc::new(|| 1_000));
        let held = auth.provider.clone();
        let rebuilt = auth.with_clock(Arc::new(|| 2_000));
        assert!(!Arc::ptr_eq(&held, &rebuilt.provider), "a copy");
        assert_eq!((held.now(), rebuilt.provider().now()), (1_000, 2_000));
        assert_eq!(rebuilt.config().unwrap().client_id, "cl_held");
    }
}
