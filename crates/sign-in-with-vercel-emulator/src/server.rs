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
use hyper_util::rt::{TokioIo, TokioTimer};

/// Largest request body read.
const MAX_BODY: usize = 1024 * 1024;
/// How long a client has to send a request's head, and then as long for
/// its body: a connection that sends nothing, or trickles, is closed rather
/// than held open for good.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// How long the server waits after a failed `accept` before the next one.
const ACCEPT_BACK_OFF: std::time::Duration = std::time::Duration::from_millis(50);

/// A running server. Dropping it stops it: no new connection is accepted,
/// and the open ones end, kept-alive ones included, as a provider that goes
/// down ends them (a client's pooled connection gets no further answer).
pub struct Server {
    addr: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
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

/// Serves `handler` on `listener` in the current tokio runtime, which
/// must have I/O and time enabled (else this panics). Request
/// bodies are read whole (at most 1 MiB; larger is a 413). A client has 30
/// seconds to send a request's head (else the connection is closed) and
/// as long again for its body (else a 408).
pub fn serve<F, Fut>(listener: std::net::TcpListener, handler: F) -> std::io::Result<Server>
where
    F: Fn(http::Request<Vec<u8>>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = http::Response<Bytes>> + Send + 'static,
{
    serve_within(listener, handler, READ_TIMEOUT)
}

/// [`serve`], with `read_timeout` for the head and for the body.
fn serve_within<F, Fut>(
    listener: std::net::TcpListener,
    handler: F,
    read_timeout: std::time::Duration,
) -> std::io::Result<Server>
where
    F: Fn(http::Request<Vec<u8>>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = http::Response<Bytes>> + Send + 'static,
{
    // Each connection's read deadline needs the runtime's timer: without
    // one, tokio panics here, at the call, where it would otherwise panic
    // in every connection's task, which the client sees as a reset.
    drop(tokio::time::sleep(std::time::Duration::ZERO));
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let task = tokio::spawn(async move {
        // The connections belong to this task: aborting it (dropping the
        // `Server`) drops the set, which aborts every one of them.
        let mut connections = tokio::task::JoinSet::new();
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
            // Forget the connections that have ended.
            while connections.try_join_next().is_some() {}
            let handler = handler.clone();
            connections.spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let handler = handler.clone();
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = Limited::new(body, MAX_BODY).collect();
                        let response = match tokio::time::timeout(read_timeout, body).await {
                            Ok(Ok(body)) => {
                                handler(http::Request::from_parts(parts, body.to_bytes().to_vec()))
                                    .await
                            }
                            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                                refusal(413, "request body too large")
                            }
                            Ok(Err(_)) => refusal(400, "the request body could not be read"),
                            Err(_) => refusal(408, "the request body did not arrive in time"),
                        };
                        Ok::<_, Infallible>(response.map(Full::new))
                    }
                });
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .timer(TokioTimer::new())
                    .header_read_timeout(read_timeout)
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

/// A plain-text refusal of a request the server could not read whole; the
/// connection closes after it (the rest of the body may still be coming).
fn refusal(status: u16, text: &'static str) -> http::Response<Bytes> {
    http::Response::builder()
        .status(status)
        .header(http::header::CONNECTION, "close")
        .body(Bytes::from_static(text.as_bytes()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::net::TcpStream;
    use std::time::Duration;

    use super::*;

    const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

    /// Reads one response whose body is `ok`; `None` when the connection
    /// ends (closed or reset) first. A connection left open without an
    /// answer is neither: the read times out, and the test fails.
    fn answer(stream: &mut TcpStream) -> Option<String> {
        let mut read = Vec::new();
        let mut buffer = [0u8; 1024];
        while !read.ends_with(b"\r\n\r\nok") {
            match stream.read(&mut buffer) {
                Ok(0) => return None,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    panic!("the connection stayed open without an answer")
                }
                Err(_) => return None,
                Ok(n) => read.extend_from_slice(&buffer[..n]),
            }
        }
        Some(String::from_utf8_lossy(&read).into_owned())
    }

    /// Reads until the server closes the connection; `None` if it stays
    /// open longer than `within`.
    fn until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
        stream.set_read_timeout(Some(within)).unwrap();
        let mut read = Vec::new();
        let mut buffer = [0u8; 1024];
        loop {
            match stream.read(&mut buffer) {
                Ok(0) => return Some(String::from_utf8_lossy(&read).into_owned()),
                Ok(n) => read.extend_from_slice(&buffer[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None;
                }
                Err(_) => return Some(String::from_utf8_lossy(&read).into_owned()),
            }
        }
    }

    fn ok_server(read_timeout: Duration) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        serve_within(
            listener,
            |_| async { http::Response::new(Bytes::from_static(b"ok")) },
            read_timeout,
        )
        .unwrap()
    }

    /// A client that sends part of a request's head and then nothing, or
    /// connects and sends nothing, has its connection closed, unanswered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_head_that_does_not_arrive_in_time_closes_the_connection() {
        let server = ok_server(Duration::from_millis(300));
        for sent in [&b"GET / HTTP/1.1\r\nHost: 127"[..], b""] {
            let mut stream = TcpStream::connect(server.addr()).unwrap();
            stream.write_all(sent).unwrap();
            let read = until_closed(&mut stream, Duration::from_secs(10))
                .expect("the connection is closed");
            assert!(read.is_empty(), "answered: {read}");
        }
    }

    /// A body that stops short of its length is a 408, and the connection
    /// closes; one within the limit and on time is served.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_that_does_not_arrive_in_time_is_a_408() {
        let server = ok_server(Duration::from_millis(300));
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        stream
            .write_all(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nabc")
            .unwrap();
        let read = until_closed(&mut stream, Duration::from_secs(10)).expect("closed");
        assert!(read.starts_with("HTTP/1.1 408"), "{read}");

        let mut stream = TcpStream::connect(server.addr()).unwrap();
        stream
            .write_all(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
            .unwrap();
        let read = until_closed(&mut stream, Duration::from_secs(10)).expect("closed");
        assert!(read.starts_with("HTTP/1.1 200"), "{read}");
    }

    /// A body over the limit is a 413, not a read error's 400.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_over_the_limit_is_a_413() {
        let server = ok_server(Duration::from_secs(10));
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        let head = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        stream.write_all(head.as_bytes()).unwrap();
        // The server may answer before it has read it all.
        let _ = stream.write_all(&vec![b'a'; MAX_BODY + 1]);
        let read = until_closed(&mut stream, Duration::from_secs(10)).expect("closed");
        assert!(read.starts_with("HTTP/1.1 413"), "{read}");

        // 1 MiB exactly is read (a literal: the constant is under test).
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        let head = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1048576\r\nConnection: close\r\n\r\n";
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&vec![b'a'; 1024 * 1024]).unwrap();
        let read = until_closed(&mut stream, Duration::from_secs(10)).expect("closed");
        assert!(read.starts_with("HTTP/1.1 200"), "{read}");
    }

    /// A body that cannot be read (here, a malformed chunk size) is a 400,
    /// not the 413 of a body over the limit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_malformed_body_is_a_400() {
        let server = ok_server(Duration::from_secs(10));
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        stream
            .write_all(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
            .unwrap();
        let read = until_closed(&mut stream, Duration::from_secs(10)).expect("closed");
        assert!(read.starts_with("HTTP/1.1 400"), "{read}");
    }

    // The client blocks a worker thread; the server runs on the other.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_server_ends_its_kept_alive_connections() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = serve(listener, |_| async {
            http::Response::new(Bytes::from_static(b"ok"))
        })
        .unwrap();
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(REQUEST).unwrap();
        let first = answer(&mut stream).expect("a first answer");
        assert!(first.starts_with("HTTP/1.1 200"), "{first}");

        drop(server);
        // Aborted tasks stop when the runtime next polls them, which on a
        // busy machine may take a while: the connection must end within
        // 5 s (answers until then are the abort not having run yet).
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = stream.write_all(REQUEST);
            match answer(&mut stream) {
                None => break,
                Some(_) => assert!(
                    std::time::Instant::now() < deadline,
                    "still answering 5 s after the drop"
                ),
            }
        }
    }
}
