//! Sign in with Vercel for Rust: an OAuth 2.0 + OpenID Connect relying
//! party (authorization code flow with PKCE) built as Vercel Rust functions.
//!
//! Each route is its own Vercel function (`api/auth/authorize.rs`,
//! `api/auth/callback.rs`, `api/auth/signout.rs`, `api/validate-token.rs`,
//! `api/user-info.rs`), a shim that hands the request to a method of
//! [`Auth`]. Your own functions call [`Auth::session`] to learn who is
//! signed in.
//!
//! The protocol core does no I/O of its own: each provider call is a
//! request builder and a response parser in the module named after its
//! protocol step, run through one [`HttpClient`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
pub mod authorize;
pub mod callback;
pub mod config;
pub mod cookies;
pub mod discovery;
pub mod error;
pub mod id_token;
pub mod introspect;
pub mod jwks;
mod log;
pub mod origin;
pub mod pkce;
pub mod request;
pub mod response;
pub mod revoke;
mod routes;
mod rs256;
pub mod secret;
mod session;
pub mod token;
pub mod transport;
pub mod userinfo;

#[cfg(feature = "dev")]
pub mod dev;

pub use auth::{Auth, Clock};
pub use config::{ClientAuthMethod, Config, ConfigError};
pub use discovery::ProviderMetadata;
pub use error::Error;
pub use response::Response;
pub use routes::dispatch;
pub use secret::{
    AccessToken, AuthorizationCode, ClientSecret, CodeVerifier, IdToken, Nonce, RefreshToken, State,
};
pub use session::{Rejection, Session};
pub use transport::{HttpClient, HttpRequest, HttpResponse, ReqwestClient};
