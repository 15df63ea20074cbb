//! The emulator against what Vercel documents: one test per behaviour, each
//! citing the line it follows in the Authorization Server API (seed 001),
//! the REST API reference (seed 003), the user's guide to Sign in with
//! Vercel (seed 004), or the team's notes (`shared/notes/vercel-platform.md`,
//! `shared/notes/cookies-and-sessions.md`,
//! `shared/notes/redis-marketplace-rest.md`). Where Vercel documents
//! nothing, the test names the emulator's (strict) choice and says so; the
//! index page lists every such guess (`index::the_index_page_lists_exactly_the_guesses`).
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
