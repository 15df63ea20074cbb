//! The app's in-process tests: the relying party wired to an in-process
//! emulator (no sockets), a shared clock, a log of every request the
//! relying party sent to the provider, and testkit's browser in front of
//! both.

#![allow(dead_code)]

pub mod instances;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::{COOKIE, HOST, SET_COOKIE};
use sign_in_with_vercel::{
    Auth, BoxFuture, Config, HttpClient, HttpRequest, HttpResponse, TransportError,
};
use sign_in_with_vercel_emulator::{Client, Emulator, EmulatorConfig, SigningKey};
use testkit::{Browser, InProcess};
#[allow(unused_imports)] // Not every suite checks for a session.
pub use testkit::{Jar, assert_no_session};

pub const APP: &str = "http://localhost:3000";
/// The app's host, whose cookies the browser keeps in one jar.
pub const APP_HOST: &str = "localhost";
pub const ISSUER: &str = "http://127.0.0.1:3001";
/// The emulator's API origin (token, revocation, introspection, userinfo),
/// as `api.vercel.com` is Vercel's: derived from [`ISSUER`].
pub const API: &str = "http://127.0.0.1:3002";
pub const CLIENT_ID: &str = "cl_test_app";
pub const SECRET: &str = "test-client-secret-0123456789abcdef";
/// The cookie-sealing key of a public client's tests.
pub const AUTH_SECRET: &str = "test-auth-secret-0123456789abcdef-0123";

/// Every request the relying party sent, in order.
#[derive(Default)]
pub struct Recorder {
    pub requests: Mutex<Vec<HttpRequest>>,
    /// When set, every call fails with this transport error.
    pub fail: Mutex<Option<TransportError>>,
    /// When set, calls whose path ends with this fail with this error.
    pub fail_path: Mutex<Option<(String, TransportError)>>,
    /// When set, calls whose path ends with this get this status and body
    /// without reaching the provider.
    pub answer_path: Mutex<Option<(String, u16, String)>>,
    /// When set, every call takes this long.
    pub delay: Mutex<Option<std::time::Duration>>,
    /// When set, the token endpoint's answers take this long once the
    /// provider has handled the request (a token spent, its answer not yet
    /// back).
    pub token_answer_delay: Mutex<Option<std::time::Duration>>,
    /// When set, the clock moves on by these seconds between the token
    /// endpoint's handling of a call and its answer's arrival (a slow
    /// exchange, without a timer to race).
    pub token_call_takes: Mutex<Option<(Arc<AtomicI64>, i64)>>,
    /// The token endpoint's successful answers, in order.
    pub token_responses: Mutex<Vec<serde_json::Value>>,
}

/// The emulator as an HTTP client, recording what passes.
pub struct Recording {
    pub emulator: Arc<Emulator>,
    pub recorder: Arc<Recorder>,
}

impl HttpClient for Recording {
    fn execute(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        self.recorder.requests.lock().unwrap().push(request.clone());
        let to = |path: &String| request.uri().path().ends_with(path.as_str());
        let failed_path = (self.recorder.fail_path.lock().unwrap().clone())
            .filter(|(path, _)| to(path))
            .map(|(_, e)| e);
        if let Some(e) = (*self.recorder.fail.lock().unwrap()).or(failed_path) {
            return Box::pin(async move { Err(e) });
        }
        let answered =
            (self.recorder.answer_path.lock().unwrap().clone()).filter(|(path, _, _)| to(path));
        if let Some((_, status, body)) = answered {
            let response = http::Response::builder()
                .status(status)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.into_bytes())
                .unwrap();
            return Box::pin(async move { Ok(response) });
        }
        let delay = *self.recorder.delay.lock().unwrap();
        let is_token = request.uri().path().ends_with("/login/oauth/token");
        let delay_after = (*self.recorder.token_answer_delay.lock().unwrap()).filter(|_| is_token);
        let takes = (self.recorder.token_call_takes.lock().unwrap().clone()).filter(|_| is_token);
        Box::pin(async move {
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            let response = testkit::EmulatorClient(self.emulator.clone())
                .execute(request)
                .await;
            if let Some(delay) = delay_after {
                tokio::time::sleep(delay).await;
            }
            if let Some((clock, seconds)) = takes {
                clock.fetch_add(seconds, std::sync::atomic::Ordering::SeqCst);
            }
            if let Ok(r) = &response
                && is_token
                && r.status() == 200
            {
                let body = serde_json::from_slice(r.body()).unwrap();
                self.recorder.token_responses.lock().unwrap().push(body);
            }
            response
        })
    }
}

/// The relying party under test with its provider, and a browser that
/// reaches both in process.
pub struct Rp {
    pub auth: Arc<Auth>,
    pub emulator: Arc<Emulator>,
    pub recorder: Arc<Recorder>,
    pub clock: Arc<AtomicI64>,
    pub browser: Browser,
}

pub fn client(method: &str) -> Client {
    Client {
        client_id: CLIENT_ID.to_owned(),
        name: "Test app".to_owned(),
        client_secret: (method != "none").then(|| SECRET.to_owned()),
        token_endpoint_auth_method: method.to_owned(),
        redirect_uris: vec![format!("{APP}/api/auth/callback")],
        scopes: sign_in_with_vercel::SCOPES
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    }
}

/// A relying party using `method` at the token endpoint, against a fresh
/// in-process emulator, both on one adjustable clock.
pub fn rp(method: &str) -> Rp {
    rp_with(method, &[])
}

/// Like [`rp`], with extra configuration variables (e.g. `AUTH_SECRET`).
pub fn rp_with(method: &str, extra: &[(&'static str, &str)]) -> Rp {
    let clock = Arc::new(AtomicI64::new(1_800_000_000));
    let mut emulator = Emulator::with_key(ISSUER, EmulatorConfig::default(), SigningKey::shared());
    let c = clock.clone();
    emulator.set_clock(Arc::new(move || c.load(Ordering::SeqCst)));
    emulator.register_client(client(method));
    let recorder = Arc::new(Recorder::default());
    let mut vars = vec![
        ("VERCEL_APP_CLIENT_ID", CLIENT_ID.to_owned()),
        ("VERCEL_OAUTH_ISSUER", ISSUER.to_owned()),
    ];
    if method != "none" {
        vars.push(("VERCEL_APP_CLIENT_SECRET", SECRET.to_owned()));
        vars.push(("VERCEL_APP_TOKEN_AUTH", method.to_owned()));
    } else {
        vars.push(("AUTH_SECRET", AUTH_SECRET.to_owned()));
    }
    for (k, v) in extra {
        vars.retain(|(n, _)| n != k);
        vars.push((k, (*v).to_owned()));
    }
    let config =
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    let c = clock.clone();
    let auth = Arc::new(
        Auth::new(config)
            .with_http_client(Arc::new(Recording {
                emulator: emulator.clone(),
                recorder: recorder.clone(),
            }))
            .with_clock(Arc::new(move || c.load(Ordering::SeqCst))),
    );
    let transport = InProcess::default()
        .app(APP, auth.clone())
        .emulator(emulator.clone());
    Rp {
        auth,
        emulator,
        recorder,
        clock,
        browser: Browser::new(Arc::new(transport)),
    }
}

pub fn location(response: &http::Response<Bytes>) -> String {
    testkit::location(response.headers())
}

/// The `Set-Cookie` headers of a response, as text.
pub fn set_cookies(response: &http::Response<Bytes>) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

pub fn body_json(response: &http::Response<Bytes>) -> serde_json::Value {
    serde_json::from_slice(response.body()).unwrap()
}

impl Rp {
    /// Another instance of the same function (a separate `Auth`, sharing
    /// nothing in memory) against the same provider and clock, configured
    /// with `vars` (default: the same as this one's).
    pub fn instance(&self, vars: &[(&'static str, &str)]) -> Auth {
        let mut all = vec![
            ("VERCEL_APP_CLIENT_ID", CLIENT_ID.to_owned()),
            ("VERCEL_OAUTH_ISSUER", ISSUER.to_owned()),
            ("VERCEL_APP_CLIENT_SECRET", SECRET.to_owned()),
        ];
        for (k, v) in vars {
            all.retain(|(n, _)| n != k);
            all.push((k, (*v).to_owned()));
        }
        let config =
            Config::from_lookup(|k| all.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
                .unwrap();
        let c = self.clock.clone();
        Auth::new(config)
            .with_http_client(Arc::new(Recording {
                emulator: self.emulator.clone(),
                recorder: self.recorder.clone(),
            }))
            .with_clock(Arc::new(move || c.load(Ordering::SeqCst)))
    }

    /// From now on the app is `auth` (another configuration of the same
    /// function), the browser's cookies kept.
    pub fn replace_auth(&mut self, auth: Auth) {
        self.auth = Arc::new(auth);
        let transport = InProcess::default()
            .app(APP, self.auth.clone())
            .emulator(self.emulator.clone());
        self.browser.set_transport(Arc::new(transport));
    }

    pub fn advance(&self, seconds: i64) {
        self.clock.fetch_add(seconds, Ordering::SeqCst);
    }

    /// The browser's cookies for the app.
    pub fn jar(&self) -> &Jar {
        self.browser.jar(APP_HOST)
    }

    /// The browser's cookies for the app, to change them.
    pub fn jar_mut(&mut self) -> &mut Jar {
        self.browser.jar_mut(APP_HOST)
    }

    /// A request for `path_and_query` as the app receives it (a path and
    /// its `Host`), carrying the browser's cookies: for calling the
    /// library directly.
    pub fn request(&self, method: &str, path_and_query: &str) -> http::Request<()> {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(HOST, "localhost:3000");
        if let Some(cookies) = self.jar().header() {
            builder = builder.header(COOKIE, cookies);
        }
        builder.body(()).unwrap()
    }

    /// A `GET` of `path` carrying `jar`'s cookies, as the app receives it.
    pub fn request_with(&self, jar: &Jar, path: &str) -> http::Request<()> {
        let mut builder = http::Request::get(path).header(HOST, "localhost:3000");
        if let Some(cookies) = jar.header() {
            builder = builder.header(COOKIE, cookies);
        }
        builder.body(()).unwrap()
    }

    /// The browser sends a request to the app; cookies are stored.
    pub async fn send(&mut self, method: &str, path_and_query: &str) -> http::Response<Bytes> {
        self.browser
            .fetch(app_request(method, path_and_query))
            .await
    }

    /// A tab holding `jar`'s cookies sends a request; nothing is stored.
    pub async fn send_with(
        &self,
        jar: &Jar,
        method: &str,
        path_and_query: &str,
    ) -> http::Response<Bytes> {
        let mut tab = self.browser.clone();
        *tab.jar_mut(APP_HOST) = jar.clone();
        tab.send(app_request(method, path_and_query)).await
    }

    pub async fn get(&mut self, path_and_query: &str) -> http::Response<Bytes> {
        self.send("GET", path_and_query).await
    }

    /// Opens the emulator's page for `authorize_url` in another tab and
    /// answers it (testkit's one provider-page answer); returns the
    /// redirect back to the app. A user who already authorized the app is
    /// redirected back at once, as on Vercel.
    pub fn consent(&self, authorize_url: &str, decision: &str) -> String {
        let mut tab = self.browser.clone();
        testkit::ready_now(tab.consent(authorize_url, decision))
    }

    /// Starts a sign-in and consents; returns the callback path and query.
    pub async fn authorize_and_consent(&mut self) -> String {
        let start = self.get("/api/auth/authorize").await;
        assert_eq!(start.status(), 302);
        let back = self.browser.consent(&location(&start), "allow").await;
        back.strip_prefix(APP).unwrap().to_owned()
    }

    /// The whole sign-in: authorize, consent, callback.
    pub async fn sign_in(&mut self) -> http::Response<Bytes> {
        let callback = self.authorize_and_consent().await;
        self.get(&callback).await
    }

    /// Requests sent to the provider whose path ends with `suffix`.
    pub fn sent_to(&self, suffix: &str) -> Vec<HttpRequest> {
        self.recorder
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.uri().path().ends_with(suffix))
            .cloned()
            .collect()
    }

    /// The access and refresh tokens of the provider's latest token
    /// response: what the sealed session now holds.
    pub fn issued(&self) -> (String, String) {
        let responses = self.recorder.token_responses.lock().unwrap();
        let last = responses.last().expect("a token response");
        (
            last["access_token"].as_str().unwrap().to_owned(),
            last["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    }

    pub fn clear_log(&self) {
        self.recorder.requests.lock().unwrap().clear();
    }
}

/// A request to the app's public URL, as the browser sends it.
fn app_request(method: &str, path_and_query: &str) -> testkit::Request {
    http::Request::builder()
        .method(method)
        .uri(format!("{APP}{path_and_query}"))
        .body(Vec::new())
        .unwrap()
}

/// Asks the emulator directly whether a token is live.
pub fn active(rp: &Rp, token: &str) -> bool {
    let response = rp.emulator.handle(
        &http::Request::post("/login/oauth/token/introspect")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                format!("token={token}&client_id={CLIENT_ID}&client_secret={SECRET}").into_bytes(),
            )
            .unwrap(),
    );
    // Asked with this file's post client: anything but a 200 is the
    // question going wrong, not an answer.
    assert_eq!(response.status(), 200, "introspection as {CLIENT_ID}");
    serde_json::from_slice::<serde_json::Value>(response.body()).unwrap()["active"] == true
}

/// The rust block under `heading` in the README, which must be a block of
/// `module`'s doc comment (`//! ` lines), where `cargo test --doc`
/// compiles it: so the README's example is one that builds.
pub fn assert_readme_example_is_compiled(heading: &str, module: &str) {
    let readme = include_str!("../../README.md");
    let section = readme
        .split_once(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README.md has no {heading:?}"))
        .1;
    let section = section.split("\n## ").next().unwrap_or(section);
    let block = section
        .split_once("```rust\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .unwrap_or_else(|| panic!("README.md's {heading:?} has no rust block"))
        .0;
    let docs: String = module
        .lines()
        .filter_map(|line| line.strip_prefix("//!"))
        .map(|line| format!("{}\n", line.strip_prefix(' ').unwrap_or(line)))
        .collect();
    assert!(
        docs.contains(&format!("```no_run\n{block}\n```")),
        "README.md's {heading:?} example differs from the module's compiled one"
    );
}
