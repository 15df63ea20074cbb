//! `GET /api/user-info`: the userinfo endpoint (OpenID Connect Core §5.3).
//! A Vercel function: the route [`sign_in_with_vercel::USER_INFO`], served by the library.

use sign_in_with_vercel::{Auth, USER_INFO};
use vercel_runtime::{Error, Request, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let auth = Auth::global();
    run(service_fn(move |req: Request| auth.serve(&USER_INFO, req))).await
}
