//! The benchmark's floor: a Vercel Rust function that does nothing but
//! answer every request with a 302 and one `Set-Cookie`, on the same
//! runtime as the app's functions (`vercel_runtime`, a current-thread
//! tokio runtime, as `api/auth/authorize.rs`) and built with the same
//! release profile. What a function costs before it does any work; the
//! benchmark reports each function as a ratio to it. An example, not a
//! `[[bin]]` under `api/`, so that it is never deployed as a function.

use vercel_runtime::{Error, Request, Response, ResponseBody, run, service_fn};

/// The one answer: a redirect home with a cookie.
async fn answer(_request: Request) -> Result<Response<ResponseBody>, Error> {
    Ok(Response::builder()
        .status(302)
        .header("location", "/")
        .header("set-cookie", "floor=1; Path=/; HttpOnly; SameSite=Lax")
        .body(ResponseBody::from(()))?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(answer)).await
}
