//! `GET /api/auth/callback`: completes a sign-in (RFC 6749 §4.1.2, OpenID Connect Core §3.1.3).
//! A Vercel function: the route [`sign_in_with_vercel::CALLBACK`], served by the library.

use sign_in_with_vercel::{Auth, CALLBACK, KeepAlive};
use vercel_runtime::{AppState, Error, Request, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let auth = Auth::global();
    // The work a request leaves running after its answer (a refresh, a
    // revocation) is given to the runtime's wait_until, which keeps the
    // instance for it.
    run(service_fn(move |req: Request, state: AppState| {
        let keep_alive = KeepAlive::new(move |work| state.wait_until(work));
        auth.serve_kept_alive(&CALLBACK, req, keep_alive)
    }))
    .await
}
