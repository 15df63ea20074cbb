//! `GET /api/auth/callback`: completes a sign-in (RFC 6749 §4.1.2, OpenID Connect Core §3.1.3).
//! A Vercel function: the route [`sign_in_with_vercel::CALLBACK`], served by the library.

use sign_in_with_vercel::{Auth, CALLBACK};
use vercel_runtime::{Error, Request, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let auth = Auth::global();
    run(service_fn(move |req: Request| auth.serve(&CALLBACK, req))).await
}
