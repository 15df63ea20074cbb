//! `GET /api/validate-token`: introspects the access token (RFC 7662).
//! A Vercel function; the work is done by [`sign_in_with_vercel::Auth::validate_token`].

use sign_in_with_vercel::Auth;
use vercel_runtime::{Error, Request, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let auth = Auth::global();
    run(service_fn(move |req: Request| async move {
        auth.validate_token(&req).await
    }))
    .await
}
