//! `GET /api/auth/session`: who is signed in, from the session cookie alone.
//! A Vercel function: the route [`sign_in_with_vercel::SESSION`], served by the library.

use sign_in_with_vercel::{Auth, SESSION};
use vercel_runtime::{Error, Request, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let auth = Auth::global();
    run(service_fn(move |req: Request| auth.serve(&SESSION, req))).await
}
