//! The local stack as real processes (the `dev` binary behind `cargo run`,
//! the standalone `emulator`), and a cookie-jar HTTP client that follows
//! what a browser would.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

// Some suites use it, some do not.
use testkit::clean_command;
#[allow(unused_imports)]
pub use testkit::free_port;

/// A child process of the stack (killed on drop) and what it printed
/// until it was ready.
pub struct Process {
    _child: testkit::Process,
    pub lines: Vec<String>,
}

/// The dev server's binary (`cargo run`), built if need be.
pub fn dev_server() -> String {
    testkit::workspace_bin("dev-server", "dev")
        .display()
        .to_string()
}

/// The standalone emulator's binary, built if need be.
pub fn emulator_bin() -> String {
    testkit::workspace_bin(
        "sign-in-with-vercel-emulator",
        "sign-in-with-vercel-emulator",
    )
    .display()
    .to_string()
}

/// Starts `program` with a clean environment plus `env`, and waits (up to
/// 30 s) for a stdout line containing `ready`; returns the process and
/// that line.
pub fn spawn(program: &str, env: &[(&str, String)], ready: &str) -> (Process, String) {
    let mut command = clean_command(program);
    command.stdout(Stdio::piped()).stderr(Stdio::inherit());
    for (k, v) in env {
        command.env(k, v);
    }
    // Keep a developer's own .env.local out of the test.
    command.current_dir(std::env::temp_dir());
    let mut child = testkit::Process::spawn(&mut command, program);
    let stdout = child.child_mut().stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut process = Process {
        _child: child,
        lines: Vec::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                process.lines.push(line.clone());
                if line.contains(ready) {
                    // Drain the rest of stdout in the background.
                    std::thread::spawn(move || while rx.recv().is_ok() {});
                    return (process, line);
                }
            }
            Err(_) => panic!(
                "{program} did not print {ready:?} within 30 s; it printed {:?}",
                process.lines
            ),
        }
    }
}

/// The standalone emulator (`cargo run --bin emulator`) with the clients of
/// `config` (written to a file for `EMULATOR_CONFIG`), on free ports, with
/// `env` besides: the process, its issuer origin and its API origin.
pub fn emulator(
    program: &str,
    config: &serde_json::Value,
    env: &[(&str, String)],
) -> (Process, String, String) {
    let path = std::env::temp_dir().join(format!("emulator-{}.json", free_port()));
    std::fs::write(&path, config.to_string()).unwrap();
    let mut all = vec![
        ("EMULATOR_PORT", "0".to_owned()),
        ("EMULATOR_API_PORT", "0".to_owned()),
        ("EMULATOR_MARKETPLACE_PORT", "0".to_owned()),
        ("EMULATOR_CONFIG", path.display().to_string()),
    ];
    all.extend(env.iter().cloned());
    let (process, api_line) = spawn(program, &all, "API (");
    let issuer = url_in(
        process
            .lines
            .iter()
            .find(|l| l.contains("issuer http://"))
            .expect("the emulator names its issuer"),
    );
    let api = url_in(&api_line);
    (process, issuer, api)
}

/// The first `http://…` URL in `line`.
pub fn url_in(line: &str) -> String {
    let start = line.find("http://").expect("a URL");
    line[start..]
        .split(|c: char| c.is_whitespace() || c == ';' || c == ',')
        .next()
        .unwrap()
        .trim_end_matches(['.', ')'])
        .to_owned()
}

/// A cookie-jar HTTP client: cookies per host, `Max-Age` honoured, no
/// automatic redirects. A clone is another tab of the same browser at
/// that moment: it sends the same cookies.
#[derive(Clone)]
pub struct Browser {
    client: reqwest::Client,
    cookies: BTreeMap<(String, String), (String, Option<Instant>)>,
}

pub struct Page {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
    pub url: String,
}

impl Page {
    pub fn location(&self) -> Option<String> {
        self.headers
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }
}

impl Default for Browser {
    fn default() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }
}

impl Browser {
    fn host(url: &str) -> String {
        url::Url::parse(url).unwrap().host_str().unwrap().to_owned()
    }

    pub fn cookie(&self, host: &str, name: &str) -> Option<String> {
        self.cookies
            .get(&(host.to_owned(), name.to_owned()))
            .filter(|(_, expires)| expires.is_none_or(|e| Instant::now() < e))
            .map(|(v, _)| v.clone())
    }

    pub fn set_cookie(&mut self, host: &str, name: &str, value: &str) {
        self.cookies
            .insert((host.to_owned(), name.to_owned()), (value.to_owned(), None));
    }

    /// The names of the live cookies of `host` that start with `prefix`.
    pub fn cookie_names(&self, host: &str, prefix: &str) -> Vec<String> {
        let now = Instant::now();
        self.cookies
            .iter()
            .filter(|((h, n), (_, expires))| {
                h == host && n.starts_with(prefix) && expires.is_none_or(|e| now < e)
            })
            .map(|((_, n), _)| n.clone())
            .collect()
    }

    /// Applies a response's `Set-Cookie` headers, as a browser does when
    /// the response arrives.
    pub fn store(&mut self, host: &str, headers: &http::HeaderMap) {
        for value in headers.get_all("set-cookie") {
            let cookie = cookie::Cookie::parse(value.to_str().unwrap().to_owned()).unwrap();
            let key = (host.to_owned(), cookie.name().to_owned());
            match cookie.max_age() {
                Some(age) if age.whole_seconds() <= 0 => {
                    self.cookies.remove(&key);
                }
                Some(age) => {
                    let expires = Instant::now() + Duration::from_secs(age.whole_seconds() as u64);
                    self.cookies
                        .insert(key, (cookie.value().to_owned(), Some(expires)));
                }
                None => {
                    self.cookies.insert(key, (cookie.value().to_owned(), None));
                }
            }
        }
    }

    fn cookie_header(&self, host: &str) -> Option<String> {
        let now = Instant::now();
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .filter(|((h, _), (_, expires))| h == host && expires.is_none_or(|e| now < e))
            .map(|((_, n), (v, _))| format!("{n}={v}"))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    pub async fn request(
        &mut self,
        method: &str,
        url: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Page {
        let host = Self::host(url);
        let mut request = self.client.request(method.parse().unwrap(), url);
        if let Some(cookies) = self.cookie_header(&host) {
            request = request.header("cookie", cookies);
        }
        if let Some(form) = form {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        self.store(&host, &headers);
        let body = response.text().await.unwrap_or_default();
        Page {
            status,
            headers,
            body,
            url: url.to_owned(),
        }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        self.request("GET", url, None).await
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        self.request("POST", url, Some(form)).await
    }

    /// `GET`, then follows redirects.
    pub async fn visit(&mut self, url: &str) -> Page {
        let page = self.get(url).await;
        self.follow(page).await
    }

    /// Follows redirects like a browser (relative locations resolved).
    pub async fn follow(&mut self, mut page: Page) -> Page {
        for _ in 0..10 {
            let Some(location) = page
                .location()
                .filter(|_| (300..400).contains(&page.status))
            else {
                return page;
            };
            let next = url::Url::parse(&page.url)
                .unwrap()
                .join(&location)
                .unwrap()
                .to_string();
            page = self.get(&next).await;
        }
        panic!("too many redirects");
    }
}

impl Browser {
    /// Submits the form of `page` (its hidden and checked inputs) with
    /// `extra` fields added: a user answering a page. Redirects are not
    /// followed.
    pub async fn submit(&mut self, page: &Page, extra: &[(&str, &str)]) -> Page {
        let (action, fields) = form_of(page);
        let mut all: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.extend_from_slice(extra);
        self.post(&action, &all).await
    }

    /// Answers the emulator's pages from `page` on, as a user would: at its
    /// login screen, signs in as the first user offered; at its consent
    /// page, submits `decision`. Returns the emulator's redirect back to
    /// the app, not followed (or `page` itself when it is neither page).
    pub async fn through_emulator(&mut self, mut page: Page, decision: &str) -> Page {
        for _ in 0..3 {
            if page.status != 200 {
                return page;
            }
            if let Some(user) = testkit::login_choice_in(&page.body) {
                let signed_in = self.submit(&page, &[("user", &user)]).await;
                assert_eq!(signed_in.status, 303, "sign-in at the emulator");
                let next = url::Url::parse(&signed_in.url)
                    .unwrap()
                    .join(&signed_in.location().unwrap())
                    .unwrap();
                page = self.get(next.as_str()).await;
                continue;
            }
            return self.submit(&page, &[("decision", decision)]).await;
        }
        panic!("the emulator kept showing its login screen");
    }
}

/// Reads an HTML form: its action (resolved against `page.url`) and its
/// hidden and checked inputs.
fn form_of(page: &Page) -> (String, Vec<(String, String)>) {
    let html = &page.body;
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        Some(
            tag[start..]
                .split('"')
                .next()?
                .replace("&amp;", "&")
                .replace("&quot;", "\""),
        )
    };
    let form_tag = html
        .split("<form")
        .nth(1)
        .expect("a form")
        .split('>')
        .next()
        .unwrap();
    let action = attr(form_tag, "action").unwrap_or_default();
    let action = url::Url::parse(&page.url)
        .unwrap()
        .join(&action)
        .unwrap()
        .to_string();
    let mut fields = Vec::new();
    for input in html.split("<input").skip(1) {
        let tag = input.split('>').next().unwrap();
        let kind = attr(tag, "type").unwrap_or_default();
        if (kind == "hidden" || (kind == "radio" && tag.contains("checked")))
            && let (Some(name), Some(value)) = (attr(tag, "name"), attr(tag, "value"))
        {
            fields.push((name, value));
        }
    }
    (action, fields)
}

/// Checks that Node.js 20 or later is on `PATH` (else the test fails and
/// says what to install) and that `e2e/<suite>/node_modules` holds every
/// package its lock file names, at the locked version (else runs `npm ci`
/// there: a fresh clone, or a lock file that has moved on since the last
/// install). `package` is the suite's main package, named when node is missing.
/// Returns `e2e/<suite>`.
pub fn node_suite(suite: &str, package: &str) -> std::path::PathBuf {
    let version = Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|| {
            panic!(
                "node not found: e2e/{suite} ({package}) needs Node.js 20 or later with npm \
                 (`apt-get install nodejs npm`, or https://nodejs.org)"
            )
        });
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(
        major >= 20,
        "node {version} is too old for e2e/{suite}: install Node.js 20 or later"
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("e2e")
        .join(suite);
    if let Some(stale) = stale_npm_package(&dir) {
        // Straight to stderr, past the harness's capture, like npm's own output.
        let _ = writeln!(
            std::io::stderr(),
            "e2e/{suite}/node_modules is missing or out of date ({stale} not installed): \
             running `npm ci --prefix e2e/{suite}`"
        );
        let status = Command::new("npm")
            .arg("ci")
            .arg("--prefix")
            .arg(&dir)
            .args(["--no-audit", "--no-fund"])
            .status()
            .unwrap_or_else(|e| panic!("cannot run npm ({e}): e2e/{suite} needs npm"));
        assert!(
            status.success(),
            "`npm ci --prefix e2e/{suite}` failed ({status})"
        );
        if let Some(stale) = stale_npm_package(&dir) {
            panic!("after `npm ci --prefix e2e/{suite}`, node_modules still lacks {stale}");
        }
    }
    dir
}

/// The first package of `dir/package-lock.json` that `dir/node_modules` does
/// not hold at the locked version, as `name@version`; `None` when all are there.
fn stale_npm_package(dir: &std::path::Path) -> Option<String> {
    let lock_path = dir.join("package-lock.json");
    let lock: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&lock_path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", lock_path.display())),
    )
    .unwrap_or_else(|e| panic!("{} is not JSON: {e}", lock_path.display()));
    let packages = lock["packages"]
        .as_object()
        .unwrap_or_else(|| panic!("{} has no \"packages\"", lock_path.display()));
    for (path, entry) in packages {
        // The root entry, and platform packages npm leaves out elsewhere.
        if path.is_empty() || entry["optional"].as_bool() == Some(true) {
            continue;
        }
        let Some(locked) = entry["version"].as_str() else {
            continue;
        };
        let installed = std::fs::read_to_string(dir.join(path).join("package.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|manifest| manifest["version"].as_str().map(str::to_owned));
        if installed.as_deref() != Some(locked) {
            let name = path.rsplit("node_modules/").next().unwrap_or(path);
            return Some(format!("{name}@{locked}"));
        }
    }
    None
}
