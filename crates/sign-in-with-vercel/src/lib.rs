//! Sign in with Vercel for Rust: an OAuth 2.0 + OpenID Connect relying
//! party (authorization code flow with PKCE) built as Vercel Rust functions.
//!
//! Each route is its own Vercel function (`api/auth/authorize.rs`,
//! `api/auth/callback.rs`, `api/auth/session.rs`, `api/auth/signout.rs`,
//! `api/validate-token.rs`, `api/user-info.rs`), a shim that hands its
//! [`Route`] to [`Auth::serve`]. Your own functions call [`Auth::protect`]
//! (or [`Auth::session`]) to learn who is signed in, from a sealed cookie,
//! with no provider call.
//!
//! The protocol core does no I/O of its own: each provider call is a
//! request builder and a response parser in the module named after its
//! protocol step, run through one [`HttpClient`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod answer;
mod auth;
mod authorize;
mod callback;
mod client_auth;
mod clock;
mod config;
mod cookies;
mod discovery;
mod error;
mod flow;
#[doc(hidden)]
pub mod id_token;
mod introspect;
#[doc(hidden)]
pub mod jwks;
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
mod rs256;
mod seal;
mod secret;
mod session;
pub mod sso;
mod token;
mod transport;
mod userinfo;
pub mod vercel_api;

pub use answer::ErrorAnswer;
pub use auth::Auth;
pub use authorize::SCOPES;
pub use clock::{Clock, REQUEST_DEADLINE, system_clock, system_now};
pub use config::{ClientAuthMethod, Config, ConfigError, VERCEL_ISSUER};
pub use cookies::{FLOW_COOKIE, HOST_PREFIX, REVOCATION_COOKIE, SESSION_COOKIE, cookie_name};
pub use discovery::ProviderMetadata;
pub use error::{Endpoint, Error, IdTokenError, UpstreamProblem};
pub use flow::MAX_FLOWS;
pub use origin::{Origin, safe_return_path};
pub use paths::{DEFAULT_BASE_PATH, Paths};
pub use pkce::s256_challenge;
pub use provider::Provider;
pub use response::Response;
pub use routes::{AUTHORIZE, CALLBACK, ROUTES, Route, SESSION, SIGNOUT, USER_INFO, VALIDATE_TOKEN};
pub use seal::MIN_SECRET_BYTES;
pub use secret::{
    AccessToken, AuthorizationCode, BearerToken, ClientSecret, CodeVerifier, IdToken, Nonce,
    RefreshToken, State,
};
pub use session::cookie::REFRESH_TOKEN_TTL_SECS;
pub use session::revocation::REVOCATION_RETRY_SECS;
pub use session::{REFRESH_GRACE_SECS, Rejection, Session, UserInfo};
pub use transport::{
    BoxFuture, HttpClient, HttpRequest, HttpResponse, MAX_RESPONSE_BYTES, ReqwestClient,
    TransportError,
};
pub use vercel_api::{TokenSource, VercelApi, VercelApiError};
