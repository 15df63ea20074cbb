//! `POST /api/auth/signout`: revokes the tokens (RFC 7009) and clears the session.
//! A Vercel function; the work is done by [`sign_in_with_vercel::Auth::signout`].

use sign_in_with_vercel::Auth;
use vercel_runtime::{Error, Request, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let auth = Auth::global();
    run(service_fn(move |req: Request| async move {
        auth.signout(&req).await
    }))
    .await
}
