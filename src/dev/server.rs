//! The local dev server behind `cargo run`: the five routes at their
//! Vercel paths (the same library functions the Vercel binaries call), the
//! pages of `public/` with `vercel.json`'s clean URLs and headers, and,
//! when no client ID is configured, the emulator as the provider.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;

use super::emulator::{Client, Emulator, EmulatorConfig, User};
use super::{Server, serve};
use crate::auth::Auth;
use crate::config::Config;
use crate::routes::dispatch;
use crate::secret::random_token;

/// The environment as `cargo run` sees it: the process environment, over
/// `.env.local`, over `.env` (the files `vercel env pull` and `vercel dev`
/// use), read from `dir`.
pub fn load_env(dir: &Path) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    for file in [".env", ".env.local"] {
        let path = dir.join(file);
        if let Ok(iter) = dotenvy::from_path_iter(&path) {
            for (key, value) in iter.flatten() {
                vars.insert(key, value);
            }
        }
    }
    vars.extend(std::env::vars());
    vars
}

/// How the dev server runs.
#[derive(Clone, Debug)]
pub struct DevOptions {
    /// The app's port (`PORT`, default 3000; 0 picks a free one).
    pub port: u16,
    /// The emulator's port (`EMULATOR_PORT`, default 3001; 0 picks a free one).
    pub emulator_port: u16,
    /// The static pages (`public/`).
    pub public_dir: PathBuf,
    /// `vercel.json`.
    pub vercel_json: PathBuf,
    /// The variables the app and the emulator are configured from.
    pub vars: HashMap<String, String>,
}

impl DevOptions {
    /// Options from `vars` (see [`load_env`]), with `public/` and
    /// `vercel.json` looked up in `root`.
    pub fn from_vars(vars: HashMap<String, String>, root: &Path) -> Result<Self, String> {
        let port = |name: &str, default: u16| -> Result<u16, String> {
            vars.get(name)
                .map(|v| {
                    v.trim()
                        .parse()
                        .map_err(|_| format!("{name} must be a port number"))
                })
                .unwrap_or(Ok(default))
        };
        Ok(Self {
            port: port("PORT", 3000)?,
            emulator_port: port("EMULATOR_PORT", 3001)?,
            public_dir: root.join("public"),
            vercel_json: root.join("vercel.json"),
            vars,
        })
    }
}

/// The running app (and emulator, if started).
pub struct DevStack {
    /// The app's URL, e.g. `http://localhost:3000`.
    pub app_url: String,
    /// The emulator, when it is the provider.
    pub emulator: Option<Arc<Emulator>>,
    /// What to tell the developer.
    pub banner: String,
    servers: Vec<Server>,
}

impl DevStack {
    /// Runs until the process ends.
    pub async fn wait(mut self) {
        if let Some(server) = self.servers.pop() {
            server.wait().await;
        }
    }
}

fn bind(port: u16, what: &str) -> Result<TcpListener, String> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).map_err(|e| {
        format!(
            "cannot listen on 127.0.0.1:{port} for the {what}: {e} (set a different port with {})",
            if what == "app" {
                "PORT"
            } else {
                "EMULATOR_PORT"
            }
        )
    })
}

/// Starts the dev server, and the emulator when no client ID is configured.
pub async fn start(options: DevOptions) -> Result<DevStack, String> {
    let listener = bind(options.port, "app")?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let app_url = format!("http://localhost:{port}");
    let mut vars = options.vars.clone();
    let mut servers = Vec::new();
    let mut emulator = None;

    let configured = ["VERCEL_APP_CLIENT_ID", "NEXT_PUBLIC_VERCEL_APP_CLIENT_ID"]
        .iter()
        .any(|k| vars.get(*k).is_some_and(|v| !v.trim().is_empty()));
    let banner;
    if configured {
        let issuer = vars
            .get("VERCEL_OAUTH_ISSUER")
            .cloned()
            .unwrap_or_else(|| crate::config::VERCEL_ISSUER.to_owned());
        banner = format!(
            "Sign in with Vercel: dev server\n\n  Open {app_url} and sign in.\n  Provider: {issuer} (client ID from the environment or .env.local)\n  The app's Authorization Callback URLs must include {app_url}/api/auth/callback\n\n  Press Ctrl+C to stop.\n"
        );
    } else {
        let emu_listener = match bind(options.emulator_port, "emulator") {
            Ok(l) => l,
            Err(_) if !vars.contains_key("EMULATOR_PORT") => bind(0, "emulator")?,
            Err(e) => return Err(e),
        };
        let emu_port = emu_listener.local_addr().map_err(|e| e.to_string())?.port();
        let issuer = format!("http://127.0.0.1:{emu_port}");
        let config = EmulatorConfig::from_lookup(|k| vars.get(k).cloned())?;
        let emu = Emulator::new(issuer.clone(), config);
        let secret = random_token();
        let method = vars
            .get("VERCEL_APP_TOKEN_AUTH")
            .cloned()
            .unwrap_or_else(|| "client_secret_post".to_owned());
        let public = method == "none";
        emu.register_client(Client {
            client_id: "cl_local_dev_app".to_owned(),
            name: "Local app".to_owned(),
            client_secret: (!public).then(|| secret.clone()),
            token_endpoint_auth_method: method,
            redirect_uris: vec![
                format!("http://localhost:{port}/api/auth/callback"),
                format!("http://127.0.0.1:{port}/api/auth/callback"),
            ],
            scopes: super::emulator::SCOPES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        });
        vars.insert("VERCEL_APP_CLIENT_ID".into(), "cl_local_dev_app".into());
        if !public {
            vars.insert("VERCEL_APP_CLIENT_SECRET".into(), secret);
        }
        vars.insert("VERCEL_OAUTH_ISSUER".into(), issuer.clone());
        servers.push(emu.serve(emu_listener).map_err(|e| e.to_string())?);
        let users = emu.users();
        let who = users
            .first()
            .map(|u: &User| format!("{} ({})", u.name, u.email))
            .unwrap_or_default();
        banner = format!(
            "Sign in with Vercel: dev server\n\n  Open {app_url} and click \"Sign in with Vercel\".\n  No Vercel app is configured, so a local emulator of Vercel's authorization\n  server is running at {issuer}; you will sign in as {who}.\n\n  To use your real Vercel app instead: create it in the Vercel dashboard with the\n  callback URL {app_url}/api/auth/callback, run `vercel env pull` (or put\n  VERCEL_APP_CLIENT_ID and VERCEL_APP_CLIENT_SECRET in .env.local), and restart.\n\n  Press Ctrl+C to stop.\n"
        );
        emulator = Some(emu);
    }

    let set = |name: &str| vars.get(name).is_some_and(|v| !v.trim().is_empty());
    let key_note = if set("AUTH_SECRET") {
        "Sessions are sealed with AUTH_SECRET."
    } else if set("VERCEL_APP_CLIENT_SECRET") {
        "Sessions are sealed with a key derived from the client secret (AUTH_SECRET is not set)."
    } else {
        vars.insert("AUTH_SECRET".into(), random_token());
        "AUTH_SECRET is not set: sessions are sealed with a development key made now,\n  so they end when this server stops. Set AUTH_SECRET to keep them."
    };
    let banner = banner.replace(
        "\n  Press Ctrl+C to stop.",
        &format!("\n  {key_note}\n\n  Press Ctrl+C to stop."),
    );
    let config = Config::from_lookup(|k| vars.get(k).cloned())
        .map_err(|e| format!("configuration error: {e}"))?;
    let auth = Arc::new(Auth::new(config));
    let site = Arc::new(Site::load(&options.public_dir, &options.vercel_json)?);
    // Browsers may try ::1 for "localhost"; listen there too when possible.
    if let Ok(v6) = TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))) {
        servers.insert(
            0,
            serve(v6, handler(auth.clone(), site.clone())).map_err(|e| e.to_string())?,
        );
    }
    servers.push(serve(listener, handler(auth, site)).map_err(|e| e.to_string())?);
    Ok(DevStack {
        app_url,
        emulator,
        banner,
        servers,
    })
}

fn handler(
    auth: Arc<Auth>,
    site: Arc<Site>,
) -> impl Fn(http::Request<Vec<u8>>) -> crate::transport::BoxFuture<'static, http::Response<Bytes>>
+ Clone
+ Send
+ Sync
+ 'static {
    move |request| {
        let auth = auth.clone();
        let site = site.clone();
        Box::pin(async move {
            let response = match dispatch(&auth, &request) {
                Some(route) => route.await,
                None => site.serve(&request).await,
            };
            site.with_headers(request.uri().path(), response)
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct VercelJson {
    #[serde(default)]
    clean_urls: bool,
    #[serde(default)]
    headers: Vec<HeaderRule>,
}

#[derive(Deserialize)]
struct HeaderRule {
    source: String,
    headers: Vec<KeyValue>,
}

#[derive(Deserialize)]
struct KeyValue {
    key: String,
    value: String,
}

/// `public/` served as Vercel serves it with `vercel.json`.
struct Site {
    root: PathBuf,
    clean_urls: bool,
    rules: Vec<(Source, Vec<(HeaderName, HeaderValue)>)>,
}

/// The `source` patterns the dev server understands: `/(.*)` and exact paths.
enum Source {
    All,
    Exact(String),
}

impl Site {
    fn load(root: &Path, vercel_json: &Path) -> Result<Self, String> {
        let config: VercelJson = match std::fs::read_to_string(vercel_json) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| format!("vercel.json: {e}"))?,
            Err(_) => VercelJson::default(),
        };
        let mut rules = Vec::new();
        for rule in config.headers {
            let source = match rule.source.as_str() {
                "/(.*)" => Source::All,
                s if !s.contains(['(', ')', ':', '*']) => Source::Exact(s.to_owned()),
                s => {
                    eprintln!(
                        "vercel.json: header source {s:?} is not understood by the dev server; skipped"
                    );
                    continue;
                }
            };
            let headers = rule
                .headers
                .iter()
                .filter_map(|kv| {
                    Some((
                        HeaderName::try_from(kv.key.as_str()).ok()?,
                        HeaderValue::try_from(kv.value.as_str()).ok()?,
                    ))
                })
                .collect();
            rules.push((source, headers));
        }
        Ok(Self {
            root: root.to_owned(),
            clean_urls: config.clean_urls,
            rules,
        })
    }

    fn with_headers(
        &self,
        path: &str,
        mut response: http::Response<Bytes>,
    ) -> http::Response<Bytes> {
        for (source, headers) in &self.rules {
            let matches = match source {
                Source::All => true,
                Source::Exact(p) => p == path,
            };
            if matches {
                for (name, value) in headers {
                    response.headers_mut().insert(name.clone(), value.clone());
                }
            }
        }
        response
    }

    async fn serve(&self, request: &http::Request<Vec<u8>>) -> http::Response<Bytes> {
        let respond = |status: StatusCode, headers: &[(&str, &str)], body: Bytes| {
            let mut builder = http::Response::builder().status(status);
            for (k, v) in headers {
                builder = builder.header(*k, *v);
            }
            builder.body(body).unwrap_or_default()
        };
        if request.method() != http::Method::GET && request.method() != http::Method::HEAD {
            return respond(
                StatusCode::METHOD_NOT_ALLOWED,
                &[("allow", "GET, HEAD")],
                Bytes::new(),
            );
        }
        let path = request.uri().path();
        let Some(decoded) = percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .ok()
        else {
            return respond(StatusCode::BAD_REQUEST, &[], Bytes::new());
        };
        if decoded.contains(['\\', '\0']) || decoded.split('/').any(|seg| seg == ".." || seg == ".")
        {
            return respond(StatusCode::BAD_REQUEST, &[], Bytes::new());
        }
        // cleanUrls: /page.html and /index.html redirect to the clean form.
        if self.clean_urls
            && let Some(stem) = path.strip_suffix(".html")
        {
            let clean = stem.strip_suffix("/index").unwrap_or(stem);
            let target = if clean.is_empty() { "/" } else { clean };
            let location = match request.uri().query() {
                Some(q) => format!("{target}?{q}"),
                None => target.to_owned(),
            };
            return respond(
                StatusCode::PERMANENT_REDIRECT,
                &[("location", &location)],
                Bytes::new(),
            );
        }
        let relative = decoded.trim_start_matches('/');
        let mut candidates = Vec::new();
        if relative.is_empty() {
            candidates.push(self.root.join("index.html"));
        } else {
            if self.clean_urls {
                candidates.push(self.root.join(format!("{relative}.html")));
            }
            candidates.push(self.root.join(relative));
            candidates.push(self.root.join(relative).join("index.html"));
        }
        for candidate in candidates {
            if let Ok(body) = tokio::fs::read(&candidate).await {
                let body = if request.method() == http::Method::HEAD {
                    Vec::new()
                } else {
                    body
                };
                return respond(
                    StatusCode::OK,
                    &[
                        ("content-type", content_type(&candidate)),
                        ("cache-control", "no-cache"),
                    ],
                    Bytes::from(body),
                );
            }
        }
        let body = tokio::fs::read(self.root.join("404.html"))
            .await
            .unwrap_or_else(|_| b"Not found".to_vec());
        respond(
            StatusCode::NOT_FOUND,
            &[("content-type", "text/html; charset=utf-8")],
            Bytes::from(body),
        )
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
