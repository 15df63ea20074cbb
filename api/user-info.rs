//! `GET /api/user-info`: the signed-in user (OpenID Connect Core §5.3).
//! A Vercel function; the work is done by [`sign_in_with_vercel::Auth::user_info`].

use sign_in_with_vercel::Auth;
use vercel_runtime::{Error, Request, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let auth = Auth::global();
    run(service_fn(move |req: Request| async move {
        auth.user_info(&req).await
    }))
    .await
}
