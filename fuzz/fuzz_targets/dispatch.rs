//! Every route of the library, as a browser and a provider can reach it.
//! The input is a request (method and URI, then headers, as text), then
//! the fake provider's answers, each after a line `--provider--`: a line
//! with the status and the path it answers, then the body. A call gets
//! the first answer left for its path; a call with none finds the
//! provider unreachable.
//!
//! ```text
//! GET /api/auth/callback?code=c&state=s HTTP/1.1
//! host: app.example.com
//! cookie: __Host-flow=...
//! --provider--
//! 200 /login/oauth/token
//! {"access_token": "...", "token_type": "Bearer", "id_token": "..."}
//! --provider--
//! 200 /.well-known/jwks
//! {"keys": [...]}
//! ```
//!
//! The clock stands still at [`NOW`], so seeds that carry sealed cookies
//! and signed tokens (`cargo run --example seeds --no-default-features`
//! writes them) stay valid, and the fuzzer can reach what lies behind
//! them. A request `http` cannot represent (a header name or value it
//! refuses) is skipped, as hyper would refuse it before the function ran.
//! What is asserted: the library answers, without a panic, and never with
//! a 500 but the two a provider's answer can call for: `configuration` (it
//! refused this app's credentials) and `unstorable_token` (tokens too large
//! for the cookies).

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use sign_in_with_vercel::Auth;

#[path = "../harness.rs"]
mod harness;
use harness::{NOW, Scripted, lookup, request, split};

/// One runtime for every input, as a Vercel function instance has.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (head, answers) = split(&text);
    let Some(request) = request(head) else {
        return;
    };
    // A fresh instance per input (its caches empty), so that an input
    // means the same whatever ran before it.
    let given = answers.len();
    let provider = Arc::new(Scripted(std::sync::Mutex::new(answers)));
    let auth = Auth::from_lookup(lookup)
        .with_http_client(provider.clone())
        .with_clock(Arc::new(|| NOW));
    let Some(future) = auth.dispatch(&request) else {
        return;
    };
    let response = runtime().block_on(future);
    if response.status() != http::StatusCode::INTERNAL_SERVER_ERROR {
        return;
    }
    let answered = provider.0.lock().map_or(0, |left| given - left.len()) > 0;
    let code = serde_json::from_slice::<serde_json::Value>(response.body())
        .ok()
        .and_then(|body| body.get("error")?.as_str().map(str::to_owned));
    assert!(
        answered && matches!(code.as_deref(), Some("configuration" | "unstorable_token")),
        "a 500 ({code:?}) for {:?}",
        request.uri()
    );
});
