//! Hostile input: every parser and verifier that reads bytes from a
//! browser or a provider, fed thousands of seeded mutations of valid
//! inputs, as ordinary unit tests.
//!
//! Release builds abort on a panic (`panic = "abort"`), so one request
//! whose bytes make the library panic takes its function instance down:
//! every bad input must be an error, never a panic. An authenticated
//! input (a signed ID token, a sealed cookie) must moreover be refused
//! once it is changed, or mean exactly what it meant before.
//!
//! # Method
//!
//! Each test builds a few valid seed inputs (ID tokens signed with the
//! fixed test key A and a fixed Ed25519 key, seals and cookies sealed with
//! fixed nonces, provider documents, query strings, headers), then feeds
//! the target mutations of them: bit flips; bytes replaced by ones parsers
//! treat specially (`\0 \r \n " \ ; , = % + / . { } [ ]`, bytes ≥ 0x80) or
//! by random ones; insertions, deletions, duplicated slices, long runs,
//! truncation (at every length for the short seeds), and splices of two
//! seeds; for JSON, also values replaced by huge, negative, fractional and
//! out-of-range numbers, very long strings, nested arrays, values of the
//! wrong type, and keys removed, added or repeated. Every run is the same:
//! the mutations come from `StdRng::seed_from_u64`, one stream per test,
//! and the seeds are made deterministically (RS256 and Ed25519 signatures
//! are; the library's random seal nonces are replaced by fixed ones, each
//! checked against the library's own `open`).
//!
//! # What is asserted
//!
//! - Nothing panics: each call runs under `catch_unwind`, and a panic
//!   fails the test with the target, the panic message and the input,
//!   minimised (chunks deleted while it still panics).
//! - An authenticated input that is accepted yields exactly what its seed
//!   did: an ID token's claims (direct, and through the marketplace's SSO
//!   exchange), a seal's plaintext, a flow. A request whose session
//!   cookies are mutated yields no session, or one of the sessions its
//!   cookies carried, unchanged (dropping the newer of two generations
//!   leaves the older: the browser holds it). A changed signature,
//!   ciphertext, tag, nonce or context is always refused.
//! - Validly signed or sealed hostile content (claims signed by a
//!   published key; flow, session and revocation plaintexts sealed with
//!   the app's own key, which only its holder can send: defence in depth)
//!   never panics the readers behind the signature or the seal, and what
//!   they accept matches the claims checks (issuer, audience, nonce,
//!   `at_hash`, times, subject) or the session policy.
//! - Where a parser's answer has a documented shape, an accepted input
//!   has it: a return path is a path on this origin (it starts with one
//!   `/`, never `//` or `/\`, however often it is percent-decoded), an
//!   origin is `https` unless loopback, endpoints are `https`, error codes
//!   are sanitised, a userinfo answer is about the signed-in user.
//!
//! Accepted mutations are only counted (the library normalises some
//! away), as are inputs no client could send (a header value `http`
//! refuses); each test prints one line of counts and nothing of what it
//! read: run with `-- --nocapture` to see them. Only a failure prints an
//! input, of test keys and test tokens.
//!
//! # Running more
//!
//! The default counts keep each test within about two seconds in a debug
//! build. `HOSTILE_ITERATIONS=<n>` runs `n` times as many mutations per
//! target (truncations stay one per length), and `HOSTILE_SEED=<u64>`
//! draws another stream:
//!
//! ```text
//! HOSTILE_ITERATIONS=50 HOSTILE_SEED=7 cargo test -p sign-in-with-vercel --lib hostile -- --nocapture
//! ```

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ring::signature::KeyPair as _;
use serde_json::{Value, json};

use crate::authorize::Flow;
use crate::config::Config;
use crate::cookies::{
    ENDED_COOKIE, FLOW_COOKIE, MAX_VALUE, REVOCATION_COOKIE, RequestCookies, SESSION_COOKIE,
    cookie_name,
};
use crate::discovery::{KeyMetadata, ProviderMetadata, discovered};
use crate::flow::Flows;
use crate::id_token::tests::{jwk, key_pair, rs256};
use crate::id_token::{Expected, IdTokenClaims, check_unsigned, verify};
use crate::jwks::JwkSet;
use crate::jws::{Algorithm, Algorithms};
use crate::origin::{Origin, safe_return_path};
use crate::paths::Paths;
use crate::seal::{Keys, Purpose, Source};
use crate::secret::{AccessToken, IdToken, Nonce, State};
use crate::session::cookie::{Profile, SessionData};
use crate::transport::HttpResponse;
use crate::transport::tests::{Fake, response};

mod browser;
mod cookies;
mod harness;
mod id_tokens;
mod key_sets;
mod provider;
mod seals;
mod vercel_api;

use cookies::*;
use harness::*;
use id_tokens::*;
use provider::*;
use seals::*;
