//! The app's functions as Vercel runs them: each route its own process,
//! started as Vercel's runtime starts one (`VERCEL_DEV_PORT`), as many
//! instances of each as asked, and Vercel's router in front of them as the
//! browser's [`Transport`]: a request to the app's origin goes to the next
//! instance of its path's function, with the proxy headers Vercel adds
//! (`x-forwarded-host`, `x-forwarded-proto`); a path with no function is a
//! 404, as Vercel answers; any other origin (the provider) is reached over
//! HTTP. Nothing is shared between the processes but what the app shares
//! itself: the provider, and the store when there is one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::HeaderValue;
use http::header::HOST;

use crate::process::{Process, clean_command, free_port};
use crate::transport::{BoxFuture, Http, Request, Response, Transport, origin_of, status};

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

/// The instances of one path, and which one answers next.
#[derive(Default)]
struct Route {
    instances: Vec<Instance>,
    next: AtomicUsize,
}

/// Running functions behind Vercel's router, itself a [`Transport`]: a
/// [`crate::Browser`] on it reaches the app at [`Functions::url`].
pub struct Functions {
    app: String,
    routes: HashMap<String, Route>,
    http: Http,
    /// The directory of the instances' logs: removed with them, kept when
    /// a test fails (its panic message names it).
    log_dir: PathBuf,
}

impl Drop for Functions {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("the functions' logs are kept in {}", self.log_dir.display());
        } else {
            self.routes.clear();
            let _ = std::fs::remove_dir_all(&self.log_dir);
        }
    }
}

impl Functions {
    /// Starts every instance of `functions` with `env` (and nothing else of
    /// the app's variables), each function's stderr in a log file; the app
    /// is at `app` (`http://host[:port]`, a name only: the router is in
    /// this process).
    pub fn start(app: &str, functions: &[Function<'_>], env: &[(&str, String)]) -> Self {
        // In testkit's own directory: the logs may carry what a test's
        // provider sent, and anyone can write to the shared one.
        let logs = crate::process::private_dir().join(crate::process::unique_name("functions"));
        std::fs::create_dir(&logs).expect("a directory for the functions' logs");
        let mut routes: HashMap<String, Route> = HashMap::new();
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
                routes
                    .entry(function.path.to_owned())
                    .or_default()
                    .instances
                    .push(Instance { port, process, log });
            }
        }
        Self {
            app: app.trim_end_matches('/').to_owned(),
            routes,
            http: Http::default(),
            log_dir: logs,
        }
    }

    /// The app's origin, e.g. `http://localhost:3000`.
    pub fn url(&self) -> &str {
        &self.app
    }

    fn instances(&self, path: &str) -> impl Iterator<Item = &Instance> {
        self.routes.get(path).into_iter().flat_map(|r| &r.instances)
    }

    /// What each instance of the function at `path` wrote to stderr.
    pub fn logs(&self, path: &str) -> Vec<String> {
        self.instances(path)
            .map(|i| std::fs::read_to_string(&i.log).unwrap_or_default())
            .collect()
    }

    /// The pids of the instances at `path`.
    pub fn pids(&self, path: &str) -> Vec<u32> {
        self.instances(path).map(|i| i.process.pid()).collect()
    }
}

impl Transport for Functions {
    fn send(&self, mut request: Request) -> BoxFuture<'_, Response> {
        if origin_of(request.uri()) != self.app {
            return self.http.send(request);
        }
        let Some(route) = self.routes.get(request.uri().path()) else {
            return Box::pin(std::future::ready(status(http::StatusCode::NOT_FOUND)));
        };
        let next = route.next.fetch_add(1, Ordering::Relaxed) % route.instances.len();
        let target = format!(
            "http://127.0.0.1:{}{}",
            route.instances[next].port,
            request.uri().path_and_query().map_or("/", |p| p.as_str())
        );
        let host = request.uri().authority().map(|a| a.as_str().to_owned());
        let headers = request.headers_mut();
        headers.remove(HOST);
        if let Some(host) = host {
            let host = HeaderValue::from_str(&host)
                .unwrap_or_else(|e| panic!("a forwarded host from {host}: {e}"));
            headers.insert("x-forwarded-host", host);
        }
        let proto = if self.app.starts_with("https:") {
            "https"
        } else {
            "http"
        };
        headers.insert("x-forwarded-proto", HeaderValue::from_static(proto));
        *request.uri_mut() = target
            .parse()
            .unwrap_or_else(|e| panic!("not a URI: {target}: {e}"));
        self.http.send(request)
    }
}
