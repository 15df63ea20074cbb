//! The static site: `public/` served as Vercel serves it with
//! `vercel.json` (clean URLs, header rules).

use std::path::{Path, PathBuf};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;

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
pub(super) struct Site {
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
    /// Reads `vercel.json`. With `provider` (an issuer that is not
    /// Vercel's, such as the emulator), the Content-Security-Policy's
    /// `https://vercel.com` source becomes the provider's origin: the
    /// avatars Vercel serves from `vercel.com` come from there locally.
    pub(super) fn load(
        root: &Path,
        vercel_json: &Path,
        provider: Option<&str>,
    ) -> Result<Self, String> {
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
                    let name = HeaderName::try_from(kv.key.as_str()).ok()?;
                    let value = match provider {
                        Some(issuer) if name == http::header::CONTENT_SECURITY_POLICY => {
                            csp_for_provider(&kv.value, issuer)
                        }
                        _ => kv.value.clone(),
                    };
                    Some((name, HeaderValue::try_from(value).ok()?))
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

    pub(super) fn with_headers(
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

    pub(super) async fn serve(&self, request: &http::Request<Vec<u8>>) -> http::Response<Bytes> {
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
        // Only plain names under `public/`: no `..` or `.`, no `\\` or NUL,
        // and no `:`, which on Windows starts a drive (`/C:/…` would join
        // as an absolute path) or names a file's alternate stream.
        if decoded.contains(['\\', '\0', ':'])
            || decoded.split('/').any(|seg| seg == ".." || seg == ".")
        {
            return respond(StatusCode::BAD_REQUEST, &[], Bytes::new());
        }
        // cleanUrls: /page.html and /index.html redirect to the clean form.
        if self.clean_urls
            && let Some(stem) = path.strip_suffix(".html")
        {
            let clean = stem.strip_suffix("/index").unwrap_or(stem);
            // One leading slash, never `//` (a scheme-relative URL: another
            // origin) nor `/\` (which browsers read as `//`).
            let target = format!("/{}", clean.trim_start_matches(['/', '\\']));
            let location = match request.uri().query() {
                Some(q) => format!("{target}?{q}"),
                None => target,
            };
            if !is_same_origin_path(&location) {
                return respond(StatusCode::BAD_REQUEST, &[], Bytes::new());
            }
            return respond(
                StatusCode::PERMANENT_REDIRECT,
                &[("location", &location)],
                Bytes::new(),
            );
        }
        let relative = decoded.trim_start_matches('/');
        if !std::path::Path::new(relative)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
        {
            return respond(StatusCode::BAD_REQUEST, &[], Bytes::new());
        }
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

/// Whether a `Location` stays on this origin: an absolute path that a
/// browser cannot read as scheme-relative.
fn is_same_origin_path(location: &str) -> bool {
    location.starts_with('/')
        && !location.starts_with("//")
        && !location.starts_with("/\\")
        && !location.contains(['\\', '\r', '\n', '\t'])
}

/// `csp` with its `https://vercel.com` sources replaced by `issuer`'s origin.
fn csp_for_provider(csp: &str, issuer: &str) -> String {
    let origin = url::Url::parse(issuer)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| issuer.to_owned());
    csp.split(';')
        .map(|directive| {
            directive
                .split(' ')
                .map(|source| {
                    if source == sign_in_with_vercel::VERCEL_ISSUER {
                        origin.as_str()
                    } else {
                        source
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        let root = crate::app_root();
        Site::load(&root.join("public"), &root.join("vercel.json"), None).unwrap()
    }

    async fn get(site: &Site, path: &str) -> http::Response<Bytes> {
        site.serve(&http::Request::get(path).body(Vec::new()).unwrap())
            .await
    }

    #[tokio::test]
    async fn clean_url_redirects_never_leave_the_origin() {
        let site = site();
        let base = url::Url::parse("http://localhost:3000/").unwrap();
        for path in [
            "//evil.example.html",
            "///evil.example.html",
            "//evil.example/index.html",
            "/%2F%2Fevil.example.html",
            "/%5Cevil.example.html",
            "/.//evil.example.html",
            "//evil.example.html?x=//y",
            "/profile.html",
        ] {
            let response = get(&site, path).await;
            let Some(location) = response.headers().get(http::header::LOCATION) else {
                continue;
            };
            let location = location.to_str().unwrap();
            assert!(
                is_same_origin_path(location),
                "{path} -> Location: {location}"
            );
            assert_eq!(
                base.join(location).unwrap().origin(),
                base.origin(),
                "{path} -> Location: {location}"
            );
        }
    }

    #[tokio::test]
    async fn only_files_under_public_are_served() {
        let site = site();
        assert_eq!(get(&site, "/app.js").await.status(), StatusCode::OK);
        for path in [
            "/../Cargo.toml",
            "/%2e%2e/Cargo.toml",
            "/auth/%2E%2E/%2E%2E/Cargo.toml",
            "/./app.js",
            "/%5C..%5CCargo.toml",
            "/C:/Windows/win.ini",
            "/C%3A/Windows/win.ini",
            "/app.js:stream",
            "/app.js%00.html",
            "/auth/./error.html",
        ] {
            let response = get(&site, path).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
            assert!(response.body().is_empty(), "{path}");
        }
    }

    #[tokio::test]
    async fn double_slash_html_redirects_to_a_local_path() {
        let response = get(&site(), "//evil.example.html").await;
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(response.headers()[http::header::LOCATION], "/evil.example");
    }

    #[test]
    fn csp_names_the_provider_instead_of_vercel() {
        let csp = "default-src 'none'; img-src 'self' https://vercel.com; connect-src 'self'";
        assert_eq!(
            csp_for_provider(csp, "http://127.0.0.1:3001"),
            "default-src 'none'; img-src 'self' http://127.0.0.1:3001; connect-src 'self'"
        );
        assert_eq!(
            csp_for_provider("img-src https://vercel.com.evil", "http://x:1"),
            "img-src https://vercel.com.evil"
        );
    }

    /// Only GET and HEAD; HEAD has the headers and no body.
    #[tokio::test]
    async fn head_has_no_body_and_other_methods_are_405() {
        let site = site();
        let head = site
            .serve(&http::Request::head("/app.js").body(Vec::new()).unwrap())
            .await;
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(
            head.headers()["content-type"],
            "text/javascript; charset=utf-8"
        );
        assert!(head.body().is_empty());
        assert!(!get(&site, "/app.js").await.body().is_empty());
        let post = site
            .serve(&http::Request::post("/app.js").body(Vec::new()).unwrap())
            .await;
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers()["allow"], "GET, HEAD");
    }

    #[test]
    fn content_types_follow_the_extension() {
        for (name, expected) in [
            ("a.html", "text/html; charset=utf-8"),
            ("a.css", "text/css; charset=utf-8"),
            ("a.js", "text/javascript; charset=utf-8"),
            ("a.mjs", "text/javascript; charset=utf-8"),
            ("a.json", "application/json"),
            ("a.svg", "image/svg+xml"),
            ("a.png", "image/png"),
            ("a.ico", "image/x-icon"),
            ("a.txt", "text/plain; charset=utf-8"),
            ("a.wasm", "application/octet-stream"),
            ("README", "application/octet-stream"),
        ] {
            assert_eq!(content_type(Path::new(name)), expected, "{name}");
        }
    }

    #[test]
    fn a_same_origin_path_is_absolute_and_not_scheme_relative() {
        for ok in ["/", "/profile", "/a?b=//c"] {
            assert!(is_same_origin_path(ok), "{ok}");
        }
        for bad in [
            "profile",
            "//evil.example",
            "/\\evil.example",
            "/a\\b",
            "/a\rb",
            "/a\nb",
            "/a\tb",
        ] {
            assert!(!is_same_origin_path(bad), "{bad:?}");
        }
    }

    /// `vercel.json`'s header rules: `/(.*)` for every path, an exact path
    /// for that path only, other patterns skipped; with a provider, only
    /// the Content-Security-Policy names it instead of Vercel.
    #[test]
    fn header_rules_apply_by_source_and_the_csp_names_the_provider() {
        let dir = std::env::temp_dir().join(format!("dev-server-site-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let vercel_json = dir.join("vercel.json");
        let rules = serde_json::json!({ "headers": [
            { "source": "/(.*)", "headers": [
                { "key": "Content-Security-Policy", "value": "img-src https://vercel.com" },
                { "key": "X-Link", "value": "https://vercel.com" },
            ] },
            { "source": "/profile", "headers": [{ "key": "X-Exact", "value": "1" }] },
            { "source": "/:slug", "headers": [{ "key": "X-Pattern", "value": "1" }] },
            { "source": "/a*", "headers": [{ "key": "X-Star", "value": "1" }] },
        ] });
        std::fs::write(&vercel_json, rules.to_string()).unwrap();
        let site = Site::load(&dir, &vercel_json, Some("http://127.0.0.1:3001/")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let headers = |path: &str| {
            site.with_headers(path, http::Response::default())
                .headers()
                .clone()
        };
        let profile = headers("/profile");
        assert_eq!(
            profile["content-security-policy"],
            "img-src http://127.0.0.1:3001"
        );
        assert_eq!(profile["x-link"], "https://vercel.com");
        assert_eq!(profile["x-exact"], "1");
        let other = headers("/other");
        assert!(other.contains_key("x-link") && !other.contains_key("x-exact"));
        for path in ["/profile", "/other", "/a", "/:slug", "/a*"] {
            let h = headers(path);
            assert!(
                !h.contains_key("x-pattern") && !h.contains_key("x-star"),
                "{path}"
            );
        }
    }
}
