//! The app's functions as Vercel runs them: each route its own process,
//! started as Vercel's runtime starts one (`VERCEL_DEV_PORT`), as many
//! instances of each as a test asks, and in front of them a router on one
//! origin that sends each request to the next instance of its route's
//! function, with the proxy headers Vercel adds (`x-forwarded-host`,
//! `x-forwarded-proto`). Nothing is shared between the processes but what
//! the app shares itself: the provider, and the store when there is one.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use sign_in_with_vercel_emulator::{Server, serve};

use crate::process::{Process, clean_command, free_port};

/// One function to run: the route path it answers, its binary, how many
/// instances.
pub struct Function<'a> {
    /// The URL path, e.g. `/api/user-info`.
    pub path: &'a str,
    /// The function's binary.
    pub exe: &'a Path,
    /// How many instances (processes) of it run.
    pub instances: usize,
}

/// One running instance.
struct Instance {
    port: u16,
    process: Process,
    log: PathBuf,
}

/// Running functions behind their router.
pub struct Functions {
    url: String,
    instances: HashMap<String, Vec<Instance>>,
    _router: Server,
}

impl Functions {
    /// Starts every instance of `functions` with `env` (and nothing else of
    /// the app's variables), and the router, on `http://localhost:<port>`.
    /// Must run inside a multi-threaded Tokio runtime.
    pub fn start(functions: &[Function<'_>], env: &[(&str, String)]) -> Self {
        let logs = std::env::temp_dir().join(format!("functions-{}", free_port()));
        std::fs::create_dir_all(&logs).expect("a directory for the functions' logs");
        let mut instances: HashMap<String, Vec<Instance>> = HashMap::new();
        for function in functions {
            let name = function
                .exe
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            for n in 0..function.instances {
                let port = free_port();
                let log = logs.join(format!("{name}-{n}.log"));
                let mut command = clean_command(function.exe);
                command
                    .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                    .env("VERCEL_DEV_PORT", port.to_string())
                    .stderr(std::fs::File::create(&log).expect("a log file"));
                let mut process = Process::spawn(&mut command, &name);
                drop(process.connect(port, Duration::from_secs(20)));
                instances
                    .entry(function.path.to_owned())
                    .or_default()
                    .push(Instance { port, process, log });
            }
        }
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .expect("a port for the router");
        let url = format!(
            "http://localhost:{}",
            listener.local_addr().expect("the router's port").port()
        );
        let routes: HashMap<String, (Vec<u16>, AtomicUsize)> = instances
            .iter()
            .map(|(path, list)| {
                let ports = list.iter().map(|i| i.port).collect();
                (path.clone(), (ports, AtomicUsize::new(0)))
            })
            .collect();
        let router = Arc::new(Router {
            routes,
            client: client(),
        });
        let server = serve(listener, move |request| {
            let router = router.clone();
            async move { router.forward(request).await }
        })
        .expect("the router serves");
        Self {
            url,
            instances,
            _router: server,
        }
    }

    /// The app's origin, e.g. `http://localhost:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What each instance of the function at `path` wrote to stderr.
    pub fn logs(&self, path: &str) -> Vec<String> {
        self.instances
            .get(path)
            .into_iter()
            .flatten()
            .map(|i| std::fs::read_to_string(&i.log).unwrap_or_default())
            .collect()
    }

    /// The pids of the instances at `path`.
    pub fn pids(&self, path: &str) -> Vec<u32> {
        self.instances
            .get(path)
            .into_iter()
            .flatten()
            .map(|i| i.process.pid())
            .collect()
    }
}

struct Router {
    routes: HashMap<String, (Vec<u16>, AtomicUsize)>,
    client: reqwest::Client,
}

impl Router {
    async fn forward(&self, request: http::Request<Vec<u8>>) -> http::Response<Bytes> {
        let Some((ports, next)) = self.routes.get(request.uri().path()) else {
            return status(404);
        };
        let port = ports[next.fetch_add(1, Ordering::Relaxed) % ports.len()];
        let host = request
            .headers()
            .get(http::header::HOST)
            .cloned()
            .unwrap_or(http::HeaderValue::from_static("localhost"));
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let (parts, body) = request.into_parts();
        let mut headers = parts.headers;
        headers.remove(http::header::HOST);
        headers.insert("x-forwarded-host", host);
        headers.insert("x-forwarded-proto", http::HeaderValue::from_static("http"));
        let sent = self
            .client
            .request(parts.method, format!("http://127.0.0.1:{port}{path}"))
            .headers(headers)
            .body(body)
            .send()
            .await;
        let Ok(response) = sent else {
            return status(502);
        };
        let mut answer = http::Response::builder().status(response.status());
        if let Some(headers) = answer.headers_mut() {
            *headers = response.headers().clone();
        }
        let body = response.bytes().await.unwrap_or_default();
        answer.body(body).unwrap_or_else(|_| status(502))
    }
}

fn status(code: u16) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::new());
    *response.status_mut() = http::StatusCode::from_u16(code).expect("a status");
    response
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}
