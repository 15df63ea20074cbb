//! `POST /api/auth/signout`: revokes the tokens (RFC 7009) and ends the session.
//! A Vercel function: the route [`sign_in_with_vercel::SIGNOUT`], served by the library.

use sign_in_with_vercel::{Auth, KeepAlive, SIGNOUT};
use vercel_runtime::{AppState, Error, Request, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let auth = Auth::global();
    // The work a request leaves running after its answer (a refresh, a
    // revocation) is given to the runtime's wait_until, which keeps the
    // instance for it.
    run(service_fn(move |req: Request, state: AppState| {
        let keep_alive = KeepAlive::new(move |work| state.wait_until(work));
        auth.serve_kept_alive(&SIGNOUT, req, keep_alive)
    }))
    .await
}
