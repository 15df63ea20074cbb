//! The emulator against what Vercel documents: one test per behaviour, each
//! citing the line it follows in Vercel's Authorization Server API reference,
//! its REST API reference, its user guide to Sign in with Vercel, its
//! documentation's Sign in with Vercel → Tokens, its authorization server
//! metadata (`https://vercel.com/.well-known/oauth-authorization-server`) or
//! its Marketplace documentation (Partner API user authentication: OIDC
//! tokens), or what Vercel's REST API and consent page were seen to answer.
//! Where Vercel documents nothing, the test names the emulator's (strict)
//! choice and says so; the index page lists every such guess
//! (`index::the_index_page_lists_exactly_the_guesses`).
//!
//! Requests are sent to full URLs, so they are routed by origin exactly as
//! an app's are. The tests that drive the relying-party library against the
//! emulator are the app's (`tests/emulator_and_app.rs` at the workspace
//! root). One module per group of behaviours, in `tests/conformance/`.

#[path = "conformance/support.rs"]
mod support;

#[path = "conformance/authorization_response.rs"]
mod authorization_response;
#[path = "conformance/cors.rs"]
mod cors;
#[path = "conformance/index.rs"]
mod index;
#[path = "conformance/login.rs"]
mod login;
#[path = "conformance/marketplace.rs"]
mod marketplace;
#[path = "conformance/origins.rs"]
mod origins;
#[path = "conformance/remembered_consent.rs"]
mod remembered_consent;
#[path = "conformance/rest_api.rs"]
mod rest_api;
#[path = "conformance/scopes.rs"]
mod scopes;
#[path = "conformance/tokens.rs"]
mod tokens;
