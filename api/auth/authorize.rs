//! `GET /api/auth/authorize`: starts a sign-in (RFC 6749 §4.1.1).
//! A Vercel function: the route [`sign_in_with_vercel::AUTHORIZE`], served by the library.

use sign_in_with_vercel::{AUTHORIZE, Auth};
use vercel_runtime::{Error, Request, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let auth = Auth::global();
    run(service_fn(move |req: Request| auth.serve(&AUTHORIZE, req))).await
}
