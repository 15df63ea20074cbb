//! The emulator as the relying-party library's HTTP client, with no
//! socket: what the app's tests and the benchmark plug into `Auth`.

use std::ops::Deref;
use std::sync::Arc;

use sign_in_with_vercel::{BoxFuture, HttpClient, HttpRequest, HttpResponse, TransportError};
use sign_in_with_vercel_emulator::Emulator;

/// The emulator as a `sign_in_with_vercel::HttpClient`: each request is
/// answered in process by [`Emulator::handle`], routed by its URL's origin
/// exactly as over HTTP. Dereferences to the emulator, so tests reach its
/// settings and faults through it.
#[derive(Clone)]
pub struct EmulatorClient(pub Arc<Emulator>);

impl EmulatorClient {
    /// `emulator` as an HTTP client.
    pub fn new(emulator: Arc<Emulator>) -> Arc<Self> {
        Arc::new(Self(emulator))
    }
}

impl Deref for EmulatorClient {
    type Target = Emulator;

    fn deref(&self) -> &Emulator {
        &self.0
    }
}

impl HttpClient for EmulatorClient {
    fn execute(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let response = self.0.handle(&request);
        Box::pin(async move {
            let (parts, body) = response.into_parts();
            Ok(http::Response::from_parts(parts, body.to_vec()))
        })
    }
}
