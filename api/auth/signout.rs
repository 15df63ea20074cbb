//! `POST /api/auth/signout`: revokes the tokens (RFC 7009) and ends the session.
//! A Vercel function: the route [`sign_in_with_vercel::SIGNOUT`], served by the library.

use sign_in_with_vercel::{Auth, SIGNOUT};
use vercel_runtime::{Error, Request, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let auth = Auth::global();
    run(service_fn(move |req: Request| auth.serve(&SIGNOUT, req))).await
}
