//! A local emulator of Vercel's authorization server (Sign in with Vercel)
//! and of the parts of Vercel around it an app meets: the REST API's user
//! endpoints and the marketplace's SSO token exchange. It follows Vercel's
//! documentation as closely as a test double can, so that an app that
//! works against it works against Vercel; where Vercel documents nothing,
//! it takes the stricter reading and says so ([Guesses](#guesses)).
//!
//! # Origins
//!
//! Like Vercel, the emulator answers on three origins, each on its own
//! port when served over HTTP, and an endpoint asked for on another origin
//! answers 404, as on Vercel:
//!
//! | Origin | Like | Serves |
//! | --- | --- | --- |
//! | issuer ([`Emulator::issuer`], default port 3001) | `https://vercel.com` | discovery (`/.well-known/openid-configuration`, `/.well-known/oauth-authorization-server`), the JWK Set (`/.well-known/jwks`), `/oauth/authorize` with the login screen and the consent page, `/login`, `/logout`, avatars (`/api/www/avatar/<id>`), the account page (`/account/authorizations`), the SSO redirect login (`/sso/integrations/<client_id>`), the `/api/login/oauth/*` URLs of the examples in Vercel's Authorization Server API reference, and `/` (settings and guesses) |
//! | API ([`Emulator::api_origin`], default port 3002) | `https://api.vercel.com` | `/login/oauth/token`, `/login/oauth/token/revoke`, `/login/oauth/token/introspect`, `/login/oauth/userinfo`; the REST API's `GET /v2/user`, `POST /v3/user/tokens`, `GET /v6/user/tokens` (and `/v5`, as an older page of the reference has it), `GET /v5/user/tokens/<id>`, `DELETE /v3/user/tokens/<id>`; the SSO exchange `POST /v1/integrations/sso/token` |
//! | marketplace ([`Emulator::marketplace_issuer`], default port 3003) | `https://marketplace.vercel.com` | the issuer of SSO ID tokens: its discovery (`/.well-known/openid-configuration`) and JWK Set (`/.well-known/jwks`), with a signing key of its own |
//!
//! Discovery advertises the token, revocation, introspection and userinfo
//! endpoints on the API origin, as Vercel's does
//! (`https://vercel.com/.well-known/oauth-authorization-server`); the examples
//! in Vercel's Authorization Server API reference post to
//! `https://vercel.com/api/login/oauth/token` and its siblings instead, and the
//! issuer origin answers those too. `/login/oauth/*` without `/api` on the
//! issuer origin is a 404, as neither source names it.
//!
//! # Running it
//!
//! - In process: [`Emulator::new`] (origins derived from the issuer, see
//!   [`Origins::derived_from`]) or [`Emulator::at`], then
//!   [`Emulator::handle`] answers an [`http::Request`], routed by the
//!   origin its URL (or `Host`) names. A relying party's HTTP client trait
//!   is a few lines over it (the `sign-in-with-vercel` workspace's
//!   `testkit::InProcess` is one), so an app signs in with no socket.
//! - Over HTTP: [`Emulator::start_local`] serves the three origins on free
//!   ports of `127.0.0.1` until the [`Running`] it returns is dropped;
//!   [`Emulator::start`] does the same on listeners you bind, and
//!   [`Emulator::serve_origin`] serves one origin on one. Each needs a
//!   tokio runtime with I/O and time (the servers are tasks of the current
//!   one, and stop with it); [`Emulator::start_local_detached`] brings a
//!   runtime of its own, for an emulator shared by a binary's tests (a
//!   `static` `OnceLock<Running>`) or used by blocking clients.
//! - Without a browser: [`Emulator::sign_in`] gives a test the session
//!   cookie of a signed-in browser and [`Emulator::grant_consent`] the
//!   consent of the consent page, so an authorization request is answered
//!   with a code at once.
//! - As a program: `cargo install sign-in-with-vercel-emulator` (or, in its
//!   repository, `cargo run -p sign-in-with-vercel-emulator`) runs
//!   `sign-in-with-vercel-emulator`, which prints its three origins.
//!
//! # Build profile
//!
//! An emulator makes an RSA key when it starts ([`SigningKey::generate`];
//! [`Emulator::new`] and [`Emulator::start_local`] call it), and its
//! marketplace issuer another when first asked. The `rsa` crate takes 1.5
//! to 6 seconds for one in an unoptimised (`dev` profile) build, a
//! fraction of a second optimised. Cargo reads profiles only from the workspace's
//! root manifest, so this crate cannot set them for you: in a project
//! whose tests use the emulator, add to the root `Cargo.toml`
//!
//! ```toml
//! # The emulator's RSA key generation is unusably slow unoptimised.
//! [profile.dev.package.num-bigint-dig]
//! opt-level = 3
//! [profile.dev.package.rsa]
//! opt-level = 3
//! ```
//!
//! (only those two crates are optimised; the rest of the build stays as it
//! is). Tests that start many emulators can also share one key
//! ([`SigningKey::shared`], with [`Emulator::with_key`] or
//! [`Emulator::start`]), made once per process.
//!
//! # Settings
//!
//! [`EmulatorConfig`] is read from a JSON file (`EMULATOR_CONFIG`) or built
//! in code; environment variables override some fields
//! ([`EmulatorConfig::from_lookup`]), and setters change some at run time.
//!
//! | Field | Variable | Setter | Default |
//! | --- | --- | --- | --- |
//! | `users` ([`User`]: `sub`, `name`, `preferred_username`, `email`, `email_verified`, `picture`, `account_id`, `role`) | | [`Emulator::set_user_role`] | [`demo_user`], ADMIN of the demo account |
//! | `clients` ([`Client`]) | | [`Emulator::register_client`] | none |
//! | `access_token_ttl` | `EMULATOR_ACCESS_TOKEN_TTL` | [`Emulator::set_access_token_ttl`] | 3600 s (Vercel: 1 hour) |
//! | `refresh_token_ttl` | `EMULATOR_REFRESH_TOKEN_TTL` | | 30 days (Vercel: 30 days), from the sign-in |
//! | `id_token_ttl` | `EMULATOR_ID_TOKEN_TTL` | | 3600 s |
//! | `code_ttl` | `EMULATOR_CODE_TTL` | | 60 s |
//! | `refresh_token_reuse` ([`ReusePolicy`]) | `EMULATOR_REFRESH_TOKEN_REUSE` | [`Emulator::set_refresh_token_reuse`] | `revoke_grant` |
//! | `authorization_response_iss` | `EMULATOR_AUTHORIZATION_RESPONSE_ISS` | [`Emulator::set_authorization_response_iss`] | `false` |
//! | `installations` ([`Installation`]) | | | derived IDs ([`Emulator::installation_id`]) |
//!
//! The program also reads `EMULATOR_PORT`, `EMULATOR_API_PORT` and
//! `EMULATOR_MARKETPLACE_PORT` (defaults 3001, 3002, 3003; 0 picks a free
//! port).
//!
//! # Signing in to the emulator
//!
//! Vercel's Authorization Server API reference (Authorization Endpoint): "If
//! the user is not logged in, Vercel will show a login screen and then the
//! consent page". Each browser has its own session (the `emulator_session`
//! cookie on the issuer origin): the login screen lists the configured users,
//! one click signs in as one (no password), and `POST /logout` signs out.
//! Consent is remembered per user and app, so two browsers can be two users.
//! `prompt=none` answers `login_required` in a browser that is not signed in.
//! The time of the browser's sign-in is the `auth_time` of its ID tokens; a
//! request whose `max_age` it exceeds shows the login screen again (OpenID
//! Connect Core §3.1.2.1).
//!
//! # Marketplace SSO tokens
//!
//! The SSO exchange's `id_token` is issued by the marketplace origin, as
//! Vercel's are by `https://marketplace.vercel.com` (Vercel's Marketplace
//! documentation, Partner API user authentication: OIDC tokens): RS256, `aud`
//! the integration's client ID, and the claims `sub`
//! (`account:<account_id>:user:<user_id>`), `account_id`, `installation_id`,
//! `user_id`, `user_role` (`ADMIN` or `USER`), `user_name`, `user_avatar_url`,
//! `user_email` when the user has one, `type` (`id_token`), `iat`, `exp` and
//! `nbf`.
//!
//! # Faults
//!
//! [`Emulator::set_faults`], [`Emulator::update_faults`] and
//! [`Emulator::faults`] make the emulator misbehave on purpose (bad
//! signatures, edited claims, failing endpoints) for a relying party's
//! rejection tests; they apply to the sign-in's ID tokens and to the
//! marketplace's alike, and are never reachable over HTTP. The guard
//! [`Emulator::faults`] returns must not be held across a request.
//!
//! # Guesses
//!
//! What Vercel does not document, and what the emulator does instead (also
//! listed on its index page, `/`):
//!
#![doc = include_str!("guesses.md")]
#![warn(missing_docs)]
#![warn(unnameable_types)]
#![warn(missing_debug_implementations)]

mod config;
mod emulator;
mod endpoints;
mod faults;
mod form;
mod keys;
mod origins;
mod pages;
mod pkce;
mod secret;
pub mod server;
mod stats;
mod store;

pub use config::{
    Client, DEMO_ACCOUNT_ID, EmulatorConfig, Installation, ReusePolicy, Role, SCOPES, User,
    demo_user,
};
pub(crate) use emulator::lock;
pub use emulator::{Clock, Emulator, Running};
pub use faults::{ClaimsEdit, Faults};
pub(crate) use form::form_params;
pub use keys::{Signing, SigningKey};
pub use origins::{Origin, Origins};

pub use server::{Server, serve};
use stats::Counters;
pub use stats::Stats;

/// The guesses listed on the index page and in this crate's documentation.
const GUESSES: &str = include_str!("guesses.md");

// The README's example runs as a doctest, so it cannot drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
