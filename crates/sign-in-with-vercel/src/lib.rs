//! **Sign in with Vercel** for Rust functions on Vercel: an OAuth 2.0 +
//! OpenID Connect relying party (authorization code flow with PKCE, RFC
//! 7636), with sessions in one sealed cookie, Vercel's REST API as the
//! signed-in user, and the marketplace integrations' SSO exchange.
//!
//! Every ID token whose claims are used is verified (OpenID Connect Core
//! §3.1.3.7: RS256, or another of RS384, RS512, PS256–PS512, ES256,
//! ES384 and Ed25519 where the provider's metadata lists it, by a key
//! bound to that one algorithm (RFC 8725 §3.1), against the provider's
//! key set, issuer, audience, expiry, nonce, and refused when its `typ`
//! names another kind of JWT, such as an access token (RFC 8725 §3.11);
//! one refreshed while the key set cannot be fetched, or does not list its
//! key even fetched again (a rotation not yet seen everywhere), is checked
//! by its claims and trusted by TLS, as step 6 allows, and its claims are
//! not used);
//! secrets are compared in constant time and never logged, printed or put
//! in a URL we build; every failure is an answer (a redirect to the error
//! page, or JSON with a status), never a panic.
//!
//! The error enums and the types the library hands back (claims, provider
//! metadata, token metadata) are `#[non_exhaustive]`: a new variant or
//! field is not a breaking change, so a `match` on them ends with `_`.
//!
//! # Quick start
//!
//! ```toml
//! [dependencies]
//! sign-in-with-vercel = { version = "0.1", features = ["redis"] }
//! vercel_runtime = "2.4"
//! tokio = { version = "1", features = ["macros", "rt"] }
//! ```
//!
//! Each route is a Vercel function of its own: a file under `api/`, a
//! `[[bin]]` of your `Cargo.toml` whose `path` is that file, that hands its
//! [`Route`] to [`Auth::serve`]. `api/auth/authorize.rs`:
//!
//! ```no_run
//! use sign_in_with_vercel::{AUTHORIZE, Auth, KeepAlive};
//! use vercel_runtime::{AppState, Error, Request, run, service_fn};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Error> {
//!     let auth = Auth::global();
//!     run(service_fn(move |req: Request, state: AppState| {
//!         let keep_alive = KeepAlive::new(move |work| state.wait_until(work));
//!         auth.serve_kept_alive(&AUTHORIZE, req, keep_alive)
//!     }))
//!     .await
//! }
//! ```
//!
//! ([`KeepAlive`] hands the runtime's `wait_until` the work a request
//! leaves running after its answer, a refresh or a revocation, so that
//! Vercel neither freezes nor ends the instance with it undone.)
//!
//! and the same for [`CALLBACK`] (`api/auth/callback.rs`), [`SESSION`]
//! (`api/auth/session.rs`) and [`SIGNOUT`] (`api/auth/signout.rs`), and,
//! if you want them, [`USER_INFO`] (`api/user-info.rs`) and
//! [`VALIDATE_TOKEN`] (`api/validate-token.rs`). Register
//! `https://<your-domain>/api/auth/callback` as the app's Authorization
//! Callback URL in the Vercel dashboard, set `VERCEL_APP_CLIENT_ID`,
//! `VERCEL_APP_CLIENT_SECRET` and `AUTH_SECRET`, and send the browser to
//! `/api/auth/authorize?next=/where-to-return`.
//!
//! Your own functions learn who is signed in with [`Auth::protect`] (or
//! [`Auth::session`]), from the session cookie, with no provider call:
//!
//! ```no_run
//! use sign_in_with_vercel::{Auth, KeepAlive, kept_alive};
//! use vercel_runtime::{AppState, Error, Request, Response, ResponseBody, run, service_fn};
//!
//! async fn handler(req: Request, state: AppState) -> Result<Response<ResponseBody>, Error> {
//!     let auth = Auth::global();
//!     // A refresh this request starts may outlive it: the runtime keeps the
//!     // instance for it.
//!     let keep_alive = KeepAlive::new(move |work| state.wait_until(work));
//!     let answer = auth.protect(&req, async |session| {
//!         let name = session.user().name.as_deref().unwrap_or("there");
//!         Response::new(ResponseBody::from(format!("Hello, {name}!")))
//!     });
//!     Ok(kept_alive(keep_alive, answer).await)
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Error> {
//!     run(service_fn(handler)).await
//! }
//! ```
//!
//! A signed-out request is answered `401` with JSON; a refreshed session's
//! cookies ride on your response. A refresh outlives the request that
//! starts it: [`kept_alive`] hands it to the runtime's `wait_until`, as the
//! routes' shims do, so that Vercel keeps the instance for it.
//!
//! # Not only `vercel_runtime`
//!
//! The library speaks [`http`] types: [`Auth::serve`] takes any
//! `http::Request<B>` (only its head is read) and returns an
//! `http::Response<Bytes>`; [`Auth::protect`] returns your handler's
//! response type. Any framework built on `http` (axum, hyper, …) can mount
//! the routes, on Vercel or elsewhere; [`Auth::dispatch`] routes by path,
//! for a single server that serves them all:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use sign_in_with_vercel::Auth;
//!
//! let auth = Auth::from_lookup(|name| match name {
//!     "VERCEL_APP_CLIENT_ID" => Some("cl_example".into()),
//!     // A test's key: a deployment's comes from `openssl rand -base64 32`.
//!     "AUTH_SECRET" => Some("0123456789abcdef0123456789abcdef-a-test-key".into()),
//!     _ => None,
//! });
//! let request = http::Request::get("/api/auth/session")
//!     .header("host", "localhost:3000")
//!     .body(())
//!     .unwrap();
//! let response = auth.dispatch(&request).expect("an /api route").await;
//! assert_eq!(response.status(), 200); // {"user": null}: nobody is signed in
//! # }
//! ```
//!
//! # Routes
//!
//! | Route | Default path | What it does |
//! |---|---|---|
//! | [`AUTHORIZE`] | `GET /api/auth/authorize[?next=/path]` | Starts a sign-in: fresh `state`, `nonce` and PKCE verifier sealed in this attempt's own flow cookie (several tabs may sign in at once), then a redirect to the authorization endpoint. `next` must be a same-origin path. |
//! | [`CALLBACK`] | `GET /api/auth/callback` | Checks `state` (constant time) and `iss`, exchanges the code with the verifier, verifies the ID token, seals the session, redirects to the return path. A provider `error` (Cancel) goes to the error page with its code, and is logged as a warning only: the browser brings it, so anyone can send one, even with the `state` of a sign-in they started. |
//! | [`SESSION`] | `GET /api/auth/session` | Who is signed in: `{"user": {…}}`, or `{"user": null}`. No provider call while the access token is fresh. |
//! | [`SIGNOUT`] | `POST /api/auth/signout[?everywhere]` | Ends the session (here, and with a store in every instance) and revokes its tokens (RFC 7009). `{"signedOut", "revoked", "retry"}`: when the provider cannot be reached, the tokens are kept sealed for [`REVOCATION_RETRY_SECS`], and `?retry` retries them alone (a plain sign-out retries them too, and ends whatever session the browser has now, maybe one begun since in another tab): `{"retried", "revoked", "retry", "signedIn"}`, no one signed out. `?everywhere` (or `=true`, `=1`) ends every session of the user ([`Auth::sign_out_everywhere`]; not from a copy of a session that was already ended); `=false` or `=0` is this session only, another value 400. Same-origin only: a `POST` whose `Sec-Fetch-Site`, `Origin` or (when it has neither) `Referer` names another origin is refused with 403, as is `Origin: null` unless `Sec-Fetch-Site` vouches for it (`same-origin` or `none`: a form posted from a `no-referrer` page). |
//! | [`USER_INFO`] | `GET /api/user-info` | The provider's current view of the user (OpenID Connect Core §5.3); a token the provider refuses (401, or a 403 whose challenge or body says the token is invalid) is refreshed once and the question asked again; refused again, or its refresh refused, the session ends (and the tokens it still holds are revoked). |
//! | [`VALIDATE_TOKEN`] | `GET /api/validate-token` | Introspects the access token (RFC 7662), with its metadata from Vercel's REST API (`id`, `name`, `type`, `origin`, `createdAt`, `activeAt` and `expiresAt` only, as the introspection is cut to the members RFC 7662 and Vercel name); a token the provider calls inactive is refreshed once and asked about again; inactive again (or another client's, or past its `exp`), or its refresh refused, the session ends (and the tokens it still holds are revoked). |
//!
//! [`SESSION`], [`USER_INFO`] and [`VALIDATE_TOKEN`] act with the user's
//! tokens on a `GET` (a refresh, the end of a session, a provider call), so
//! they answer only their own origin's pages: a request whose
//! `Sec-Fetch-Site`, `Origin` or (when it has neither) `Referer` names
//! another origin, a sibling subdomain included (which `SameSite=Lax`
//! lets through), is refused with 403 `cross_origin_request` before the
//! session is read.
//!
//! Errors are answered in one place: browser routes redirect to the error
//! page with `?error=<code>`, API routes answer
//! `{"error": "<code>", "error_description": "<fixed sentence>"}` with its
//! status ([`Error::code`], [`Error::status`], [`Error::description`]).
//! Every response is `Cache-Control: no-store`; the callback's is also
//! `Referrer-Policy: no-referrer`.
//!
//! # Configuration
//!
//! Read once per function instance ([`Config::from_env`]); a missing or
//! malformed variable (one that is not UTF-8 included) is logged with its name and every route answers with
//! a `configuration` error until it is fixed.
//!
//! | Variable | Meaning |
//! |---|---|
//! | `VERCEL_APP_CLIENT_ID` | The app's client ID (required). `NEXT_PUBLIC_VERCEL_APP_CLIENT_ID`, the name in Vercel's Next.js guide, is accepted too. |
//! | `VERCEL_APP_CLIENT_SECRET` | The client secret. Without it the app is a public client. |
//! | `VERCEL_APP_TOKEN_AUTH` | How the client authenticates at the token and introspection endpoints: `client_secret_post` or `client_secret_basic`; `none` for a public client (the default without a secret). Not set, a client with a secret uses `client_secret_post`, as Vercel's guide does, unless the provider's metadata lists `client_secret_basic` and not `client_secret_post` for its token endpoint, or a discovered provider's lists no methods (RFC 8414 §2's default is Basic: [`ProviderMetadata::token_endpoint_auth_methods_supported`]). `client_secret_jwt`, which Vercel's dashboard also offers, is not supported: register the App with `client_secret_post` or `client_secret_basic`. |
//! | `AUTH_SECRET` | The key that seals the session and flow cookies: at least [`MIN_SECRET_BYTES`] bytes of random characters (`openssl rand -base64 32`). A comma-separated list rotates keys: the first seals, all open. Required on any origin that is not loopback; on a developer's own machine a key is derived from a client secret of 32+ bytes when it is not set (and then, with a loopback `APP_URL` pinned, each request must come from loopback too). Without it, a deployment (`VERCEL_ENV` `production` or `preview`) or an `APP_URL` that is not loopback is a configuration error, whatever a request's `Host` says. |
//! | `VERCEL_OAUTH_ISSUER` | The issuer, default [`VERCEL_ISSUER`], whose endpoints are built in (a cold start makes no discovery request); any other is discovered once per instance (a failed discovery stands for [`DISCOVERY_RETRY_AFTER`], 5 s, then the next request tries again), and must name itself exactly; its ID tokens may be signed RS256, or RS384, RS512, PS256, PS384, PS512, ES256, ES384 or Ed25519 (`EdDSA`) when its metadata lists it (`id_token_signing_alg_values_supported`) and its key set binds a key to it (a JWK's `alg`; an RSA key without one is RS256's). `http://` only on loopback; a loopback issuer (the emulator) is a configuration error on a deployment (`VERCEL_ENV` `production` or `preview`). |
//! | `VERCEL_OAUTH_TRUSTED_AUDIENCES` | Audiences besides the client ID that an ID token may name (comma-separated; none by default, so a token naming any other audience is refused): a provider that puts its project's ID in every `aud` (Zitadel). Such a token must then carry `azp`, the client ID (OpenID Connect Core §3.1.3.7 steps 3 and 4). |
//! | `APP_URL` | The app's public origin, when it must be pinned; otherwise from `x-forwarded-proto` + `x-forwarded-host` (Vercel's proxy), then `Host` (the first value of each: behind a proxy of your own that appends to these headers rather than setting them, pin it). Pinned, it is the only origin sign-in works on (the flow cookie is set where the sign-in starts, the callback is on this origin): have the deployment's other domains redirect to it (a redirect in the project's domain settings). On a deployment (`VERCEL_ENV` `production` or `preview`) it must be an https origin that is not loopback. |
//! | `AUTH_BASE_PATH` | Where the four sign-in routes are, default [`DEFAULT_BASE_PATH`] (see [`Paths`]). |
//! | `AUTH_ERROR_PAGE` | The page a failed sign-in is sent to with `?error=<code>`, default `/auth/error` (this project's `public/auth/error.html`): a path of your own site. |
//! | `AUTH_DEFAULT_RETURN` | Where a sign-in returns when it was given no valid `next`, default `/profile`: a path of your own site. |
//! | `REDIS_URL`, `KV_URL` | The shared session store (feature `redis`): `redis://` or `rediss://` (TLS by rustls), as Vercel's marketplace Redis sets them; a plain `redis://` URL to another host is logged as a warning at start-up, since its password crosses the network in clear; a `#fragment` is refused (the Redis client reads `#insecure` as "check no certificate"). A URL the Redis client would refuse (a path that is not a database number), or with a query parameter other than `protocol` (which it would ignore: `?db=2` would use database 0; the database is the path, `/2`), is a configuration error. The store's guarantees hold while it keeps what it is given: a Redis that evicts keys (`maxmemory-policy` other than `noeviction`; every key here has a TTL, so a `volatile-*` policy takes ours first), restarts without persistence or is flushed forgets sign-out marks, and the sessions they ended come back (as without a store), and the refreshes it shares (a late copy of a replaced cookie may then sign its user out, as without a store). A store that asks to be asked again (`LOADING`, `BUSY`, `TRYAGAIN`, `CLUSTERDOWN`, `NOREPLICAS`, a replica's `READONLY`) counts as one that does not answer. |
//! | `REDIS_CA_PEM` | The certificate authorities (PEM, one line with `\n` escapes or several) a `rediss://` store's certificate must chain to, instead of Mozilla's roots: for a store whose provider signs its own certificates. A configuration error with a plain `redis://` URL or none. |
//! | `VERCEL_ENV` | Set by Vercel (`production`, `preview`, `development`). On a deployment (`production` or `preview`) a loopback `VERCEL_OAUTH_ISSUER`, or an `APP_URL` that is loopback or not https, is a configuration error, so the emulator's URL copied from a local `.env` cannot reach production. |
//!
//! The marketplace SSO exchange reads its own variables: see
//! [`sso::Marketplace::from_env`].
//!
//! # Mounting sign-in elsewhere
//!
//! Where the routes are is configuration, [`Paths`]: the four sign-in
//! routes under a base (`AUTH_BASE_PATH=/api/login`, or
//! [`Paths::with_base`]), or any path by name with [`Auth::with_paths`],
//! and the error page and the default return path with them. On Vercel a
//! function's path is its file's: with `AUTH_BASE_PATH=/api/login`, the
//! shims are `api/login/authorize.rs`, `api/login/callback.rs`, … and the
//! Authorization Callback URL to register is `https://<domain>/api/login/callback`.
//!
//! # Sessions
//!
//! After sign-in the browser holds one cookie, `__Host-session.<id>.0` on
//! https (`session.<id>.0` on a loopback http origin): the subject, the
//! profile claims the ID token proved, the access and refresh tokens and
//! their expiry, and the session's id, sealed with AES-256-GCM (`ring`)
//! under a key derived from `AUTH_SECRET` with HKDF-SHA256; the seal also
//! authenticates the issuer and client. It lives as long as the refresh
//! token (30 days). Past about 3.8 KB it is split into `.1`, `.2`, ….
//!
//! - **Who is signed in costs no provider call** while the access token is
//!   fresh: [`Auth::session`] opens the seal.
//! - **Nothing planted counts.** `__Host-` means no sibling or parent
//!   domain can set or shadow the cookie; a seal that was tampered with,
//!   truncated, made with an unknown key, expired, or beyond the session
//!   policy is "signed out", deleted, and costs no provider call. Only the
//!   app's own cookie names are read.
//! - **Key rotation**: `AUTH_SECRET=new,old` opens both and seals again
//!   with `new` on the next request. A deployment that knows only `old`
//!   then signs that browser out (and deletes its cookie): an Instant
//!   Rollback, or a browser that reaches the previous deployment too. So
//!   rotate in two deployments: first `old,new` (`new` opens, `old` still
//!   seals), and once no deployment without `new` can serve traffic,
//!   `new,old`; remove `old` after a refresh token's life (30 days), when
//!   no idle session sealed with it remains.
//! - **Refresh is early and shared** (RFC 6749 §6): a quarter of the access
//!   token's life before it expires, at most five minutes (so five minutes
//!   for Vercel's hour), concurrent requests of an instance share one
//!   token call, and a request of the same burst that arrives with the
//!   session it replaced gets the new one (for five seconds). The rotated
//!   tokens always reach the browser; claims change only with a verified
//!   ID token.
//! - **Every order of parallel responses ends in the newest session**: the
//!   cookie's `<id>` changes with every generation and each response
//!   deletes only the generation it read, so `Set-Cookie`s commute. A
//!   sign-out also leaves a mark, `ended.<hash of the session id>`, kept
//!   as long as a refresh token lives or until a sign-in more than fifteen
//!   minutes later (which keeps the four newest younger ones), so that a
//!   refresh of the same session answered after it (a request already in
//!   flight) cannot sign the user back in, whichever response the browser
//!   applies last; that refresh's tokens are revoked. A refreshed
//!   session's cookies ride on the response of the request that refreshed
//!   it, which for [`Auth::protect`] comes when your handler answers: the
//!   fifteen minutes cover a function's longest run on Vercel (800 s).
//! - **What ends a session**: sign-out; the provider refusing the grant
//!   (`invalid_grant`: the app removed, the grant revoked, the refresh
//!   token spent; any other refusal of a refresh with a 400, in RFC 6749's
//!   form or Vercel's REST API's, that names neither the client nor a
//!   throttle; or a 4xx other than 401 and 429 whose body marks the token
//!   `invalidToken`, Vercel's REST form); a token the provider refuses at
//!   userinfo or calls inactive, once more after one refresh (the tokens
//!   of that refresh are then revoked; a refused refresh ends it as above,
//!   without a store, or one that does not answer, after a 409); a refreshed ID token about someone
//!   else. The app's own
//!   misconfiguration (`invalid_client`, `unauthorized_client`,
//!   `unsupported_grant_type`, any refusal on a 401) and throttling do
//!   not: the session is kept and the route says `configuration` or
//!   `provider_unavailable`. While the provider cannot be reached, the
//!   user is still known for [`REFRESH_GRACE_SECS`] past the access
//!   token's expiry; past that, requests answer `provider_unavailable`
//!   and the session is kept for the refresh after the outage.
//! - **A deadline per request**: all of a request's own provider calls
//!   (its session's refresh, a route's calls) share [`REQUEST_DEADLINE`];
//!   each of a handler's calls to Vercel's REST API, and each
//!   [`Auth::refresh_session`] and [`Auth::sign_out_everywhere`], has one
//!   of its own, and a refresh such a call started still lands in the
//!   session when the handler cuts the call off ([`Auth::protect`] waits
//!   for it before answering).
//!
//! ## Many instances: the shared store
//!
//! On Vercel each function is its own instance, and what one instance
//! remembers the others do not. Without a store, two instances that
//! refresh the same session at the same moment both spend its refresh
//! token; a provider that answers a reuse by revoking the grant (RFC 9700
//! §4.14.2; Vercel does not document its policy) then signs the user out,
//! and a copied cookie stays valid after sign-out until its access token
//! expires.
//!
//! With the `redis` feature and `REDIS_URL` (or `KV_URL`), every instance
//! shares, through Redis over its standard protocol (rustls for
//! `rediss://`, trusting Mozilla's roots as every HTTPS call does, or the
//! authorities of `REDIS_CA_PEM`; one connection per instance, opened on
//! first use; a single endpoint, not a Redis Cluster one, that runs Lua
//! scripts, as the marketplace's Redis Cloud and Upstash databases do):
//! - one refresh per session generation: the first instance to claim it
//!   makes the token call and publishes the outcome (sealed, for fifteen
//!   minutes, the longest the new session can take to reach the browser);
//!   the others wait for it within their deadline and answer with the same
//!   new session, or the same refusal;
//! - ended sessions: sign-out, app removal and a refused grant end the
//!   session's id in every instance within a second, and
//!   [`Auth::sign_out_everywhere`] ends all of a user's sessions;
//! - at most one store round trip per protected request (one `MGET`,
//!   trusted for a second per instance); an instance's first
//!   protected request also connects (and authenticates, when the URL
//!   carries a password). The request that refreshes a session, about
//!   once per access token's life, adds the claim and the outcome's
//!   publication; an instance waiting for another's refresh asks for the
//!   outcome until it is there or the deadline comes.
//!
//! Keys are hashes under a prefix of the app's own; no token is stored in
//! plain text, and nothing a reader of the store could replay as a
//! session cookie: a refresh's outcome is sealed with the app's keys and
//! bound to the generation it replaces (a hash of the session's id and
//! that generation's refresh token, which only its cookie holds). A store that is down or
//! slow changes nothing that would not have happened without one: the
//! instance logs once what is lost, leaves the store alone for a few
//! seconds, and answers within the deadline. One thing it does differently:
//! a refresh made while the store does not answer renews the tokens but
//! keeps the session's end where it was, so that no copy of a session that
//! was ended ("sign out everywhere") outlives the store's mark of its end.
//!
//! # Vercel's REST API, marketplace SSO
//!
//! [`Auth::vercel_api`] is a [`VercelApi`] client acting as the signed-in
//! user: a refused token is refreshed once through the session and the
//! call retried once ([`vercel_api`]). [`sso::Marketplace`] exchanges the
//! code of a marketplace integration's "Open in Provider" and verifies its
//! ID token ([`sso`]).
//!
//! # Cargo features
//!
//! - `redis`: the shared session store. Without it a `REDIS_URL` is logged
//!   as unused. Its Redis client builds its TLS configuration (`rediss://`)
//!   with rustls's process-wide crypto provider, which cannot be chosen
//!   when an app links two (reqwest's default features bring aws-lc-rs
//!   beside this library's ring): before its first connection the library
//!   makes ring that provider, unless the app has installed one. An app
//!   that installs its own should do it first thing in `main`, as rustls
//!   asks.
//!
//! # The runtime
//!
//! The library runs on the caller's Tokio runtime, and every provider call
//! has a deadline, so the runtime needs its time driver: `#[tokio::main]`
//! (Vercel's template) and `Builder::enable_all` have it; a runtime built
//! with `Builder::new_current_thread().build()` alone does not, and Tokio
//! panics at the first provider call. A session's refresh runs as a task
//! spawned on that runtime, so that it ends with the tokens in hand even
//! when the request that started it is dropped (a browser that gave up on
//! it): its outcome goes to the requests that wait on it, and to those
//! that come moments later with the same cookie.
//!
//! # Layers
//!
//! [`Auth`] is the front door; below it [`Provider`] (configuration, HTTP
//! client, clock, the issuer's metadata and key caches) is what every
//! protocol step takes, and nothing below imports what is above. The
//! protocol core does no I/O of its own: each provider call is a request
//! builder and a response parser in the module named after its protocol
//! step, run through one [`HttpClient`] ([`ReqwestClient`] over rustls in
//! production; tests plug in the emulator).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Every type a user can get hold of, they can also name (and find in the docs).
#![warn(unnameable_types)]

mod answer;
mod auth;
mod authorize;
mod background;
mod callback;
mod client_auth;
mod clock;
mod config;
mod cookies;
mod discovery;
mod error;
mod flow;
#[cfg(test)]
mod hostile;
mod id_token;
mod introspect;
mod issuer;
mod jwks;
mod jws;
mod log;
mod origin;
mod paths;
mod pkce;
mod provider;
mod refresh;
mod request;
mod response;
mod revoke;
mod routes;
mod seal;
mod secret;
mod session;
pub mod sso;
mod token;
mod transport;
mod userinfo;
pub mod vercel_api;

/// The `http` crate whose types this library takes and returns (requests,
/// responses, headers, [`http::StatusCode`]), so that a project names them
/// at the same version without a dependency of its own.
pub use http;

pub use answer::ErrorAnswer;
pub use auth::Auth;
pub use authorize::SCOPES;
pub use background::{KeepAlive, Work, kept_alive};
pub use clock::{Clock, REQUEST_DEADLINE, system_clock, system_now};
pub use config::{ClientAuthMethod, Config, ConfigError, ENV_VARIABLES, StoreUrl, VERCEL_ISSUER};
pub use cookies::{
    ENDED_COOKIE, FLOW_COOKIE, HOST_PREFIX, REVOCATION_COOKIE, SESSION_COOKIE, cookie_name,
};
pub use discovery::ProviderMetadata;
pub use error::{Endpoint, Error, IdTokenError, UpstreamProblem};
pub use flow::MAX_FLOWS;
pub use issuer::DISCOVERY_RETRY_AFTER;
pub use origin::{Origin, safe_return_path};
pub use paths::{DEFAULT_BASE_PATH, Paths};
pub use pkce::s256_challenge;
pub use provider::Provider;
pub use response::Response;
pub use routes::{AUTHORIZE, CALLBACK, ROUTES, Route, SESSION, SIGNOUT, USER_INFO, VALIDATE_TOKEN};
pub use seal::{Keys, MIN_SECRET_BYTES};
pub use secret::{
    AccessToken, AuthorizationCode, BearerToken, ClientSecret, CodeVerifier, IdToken, Nonce,
    RefreshToken, State,
};
pub use session::cookie::REFRESH_TOKEN_TTL_SECS;
pub use session::revocation::REVOCATION_RETRY_SECS;
pub use session::{REFRESH_GRACE_SECS, Rejection, Session, UserInfo};
pub use transport::{
    BoxFuture, HttpClient, HttpRequest, HttpResponse, MAX_RESPONSE_BYTES, ReqwestClient,
    TransportError, Unbuildable,
};
pub use vercel_api::{TokenSource, VercelApi, VercelApiError, path_segment};
