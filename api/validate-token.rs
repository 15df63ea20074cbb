//! `GET /api/validate-token`: token introspection (RFC 7662).
//! A Vercel function: the route [`sign_in_with_vercel::VALIDATE_TOKEN`], served by the library.

use sign_in_with_vercel::{Auth, VALIDATE_TOKEN};
use vercel_runtime::{Error, Request, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let auth = Auth::global();
    run(service_fn(move |req: Request| {
        auth.serve(&VALIDATE_TOKEN, req)
    }))
    .await
}
