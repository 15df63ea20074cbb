//! A marketplace integration's redirect login URL as a Vercel function: "Open
//! in Provider" signs the Vercel user in to the integration through the SSO
//! token exchange (Vercel's REST API reference,
//! `POST /v1/integrations/sso/token`).
//!
//! Deploy it as `api/sso.rs` of the integration's project (a `[[bin]]`
//! whose path is that file) with `INTEGRATION_CLIENT_ID` and
//! `INTEGRATION_CLIENT_SECRET` set to the integration's client ID and
//! secret, and set the integration's Redirect Login URL to
//! `https://<your-domain>/api/sso`. The work is in `handler.rs`, which
//! `tests/sso.rs` runs end to end against the emulator.

mod handler;

use std::sync::OnceLock;

use sign_in_with_vercel::ConfigError;
use sign_in_with_vercel::sso::Marketplace;
use vercel_runtime::{Error, Request, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Once per instance; a configuration error is answered on every request.
    static SSO: OnceLock<Result<Marketplace, ConfigError>> = OnceLock::new();
    let sso = SSO.get_or_init(Marketplace::from_env);
    run(service_fn(move |req: Request| async move {
        handler::redirect_login(sso, &req).await
    }))
    .await
}
