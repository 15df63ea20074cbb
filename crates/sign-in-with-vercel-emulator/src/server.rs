//! A minimal HTTP/1.1 server (hyper) for the emulator's origins, which the
//! dev server uses for the app too: a handler from a buffered request to a
//! response, on a listener.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// Largest request body read.
const MAX_BODY: usize = 1024 * 1024;
/// How long the server waits after a failed `accept` before the next one.
const ACCEPT_BACK_OFF: std::time::Duration = std::time::Duration::from_millis(50);

/// A running server; dropping it stops accepting connections.
pub struct Server {
    addr: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Runs until the process ends.
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Serves `handler` on `listener` in the current tokio runtime. Request
/// bodies are read whole (at most 1 MiB; larger is a 413).
pub fn serve<F, Fut>(listener: std::net::TcpListener, handler: F) -> std::io::Result<Server>
where
    F: Fn(http::Request<Vec<u8>>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = http::Response<Bytes>> + Send + 'static,
{
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let task = tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                // A lasting failure (no file descriptors left) would fail
                // again at once: wait a little instead of spinning.
                Err(_) => {
                    tokio::time::sleep(ACCEPT_BACK_OFF).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let handler = handler.clone();
                    async move {
                        let (parts, body) = request.into_parts();
                        let response = match Limited::new(body, MAX_BODY).collect().await {
                            Ok(body) => {
                                handler(http::Request::from_parts(parts, body.to_bytes().to_vec()))
                                    .await
                            }
                            Err(_) => http::Response::builder()
                                .status(413)
                                .body(Bytes::from_static(b"request body too large"))
                                .unwrap_or_default(),
                        };
                        Ok::<_, Infallible>(response.map(Full::new))
                    }
                });
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(Server {
        addr,
        task: Some(task),
    })
}
