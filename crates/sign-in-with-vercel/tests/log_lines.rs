//! What the library writes to its log (standard error, which Vercel
//! collects per invocation): the cleartext-store warning of an [`Auth`]
//! made in code, and the one line a route writes for an error, at the
//! level its error calls for, naming the reason and never a code, state
//! or password; and the marketplace SSO exchange's line on a refusal. Each case runs in a child process (this test binary
//! again, filtered to the `child` test) whose standard error is read here.

use std::process::Command;
use std::sync::Arc;

use sign_in_with_vercel::sso::{Marketplace, SsoCallback};
use sign_in_with_vercel::{
    Auth, BoxFuture, Config, HttpClient, HttpRequest, HttpResponse, TransportError,
};

/// Set in the child's environment: which case it runs.
const CHILD_CASE: &str = "LOG_LINES_TEST_CASE";
const PASSWORD: &str = "store-password-in-clear";
/// In the callback's query: neither may reach the log.
const CODE: &str = "code-in-the-callback-url";
const STATE: &str = "state-in-the-callback-url";

fn config(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, impl std::fmt::Debug> {
    Config::from_lookup(|name| match name {
        "VERCEL_APP_CLIENT_ID" => Some("cl_log_lines".into()),
        "AUTH_SECRET" => Some("log-lines-test-secret-0123456789abcdef".into()),
        _ => lookup(name),
    })
}

/// In the child process only: runs the case the parent named (`store=URL`
/// makes an `Auth` in code with that store URL; `routes` sends requests
/// that fail in known ways), writing a marker before each step. In the
/// parent's own run, does nothing.
#[test]
fn child() {
    let Ok(case) = std::env::var(CHILD_CASE) else {
        return;
    };
    if let Some(url) = case.strip_prefix("store=") {
        let config = config(|name| (name == "REDIS_URL").then(|| url.to_owned()));
        let _auth = Auth::new(config.expect("a valid configuration"));
        eprintln!("{MADE}");
        return;
    }
    assert_eq!(case, "routes");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let get = |auth: &Auth, path: &str| {
        let request = http::Request::get(path)
            .header("host", "localhost:3000")
            .body(())
            .unwrap();
        let response = runtime.block_on(auth.dispatch(&request).expect("an API route"));
        response.status().as_u16()
    };
    let auth = Auth::new(config(|_| None).expect("a valid configuration"));
    eprintln!("[user-info signed out]");
    assert_eq!(get(&auth, "/api/user-info"), 401);
    eprintln!("[callback without its flow]");
    let callback = format!("/api/auth/callback?code={CODE}&state={STATE}");
    assert_eq!(get(&auth, &callback), 302);
    eprintln!("[authorize misconfigured]");
    let broken = Auth::from_lookup(|_| None);
    assert_eq!(get(&broken, "/api/auth/authorize"), 302);
    eprintln!("[protect refuses another site]");
    let post = http::Request::post("/api/dashboard")
        .header("host", "localhost:3000")
        .header("sec-fetch-site", "cross-site")
        .body(())
        .unwrap();
    let refused = runtime.block_on(auth.protect(&post, async |_| http::Response::new(Vec::new())));
    assert_eq!(refused.status(), 403);
    eprintln!("[provider out of reach]");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = Auth::new(
        config(|name| (name == "VERCEL_OAUTH_ISSUER").then(|| issuer.clone()))
            .expect("a valid configuration"),
    );
    assert_eq!(get(&unreachable, "/api/auth/authorize"), 302);
    eprintln!("[sso exchange refused]");
    let marketplace = Marketplace::from_lookup(|name| match name {
        "INTEGRATION_CLIENT_ID" => Some("oac_log_lines".into()),
        "INTEGRATION_CLIENT_SECRET" => Some("integration-secret".into()),
        _ => None,
    })
    .expect("an integration")
    .with_http_client(Arc::new(Refuses));
    let callback = SsoCallback::from_query(&format!("code={CODE}&state={STATE}")).unwrap();
    let refused = runtime.block_on(marketplace.exchange(&callback, None));
    assert!(refused.is_err());
    eprintln!("[end]");
}

/// A REST API that refuses every SSO code exchange with a 400.
struct Refuses;

impl HttpClient for Refuses {
    fn execute(&self, _: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async {
            Ok(http::Response::builder()
                .status(400)
                .body(br#"{"error":"invalid_grant"}"#.to_vec())
                .unwrap())
        })
    }
}

/// What the `store=` child writes once its `Auth` is made.
const MADE: &str = "log_lines child: Auth made";

/// The standard error of the `child` test run with `case`.
fn stderr_of(case: &str) -> String {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CHILD_CASE, case)
        .output()
        .expect("the test binary runs again");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stderr).unwrap()
}

/// The standard error of an `Auth` made in code with `store_url`.
fn stderr_of_auth_new(store_url: &str) -> String {
    let stderr = stderr_of(&format!("store={store_url}"));
    assert!(stderr.contains(MADE), "the child made no Auth: {stderr}");
    stderr
}

#[test]
fn auth_new_warns_of_a_plain_store_url_to_another_host_without_its_password() {
    // TEST-NET-1: nothing connects there; the warning comes with the
    // configuration, before any store call.
    let stderr = stderr_of_auth_new(&format!("redis://default:{PASSWORD}@192.0.2.1:6379"));
    assert!(
        stderr.contains("sign-in-with-vercel warn: the shared store's URL")
            && stderr.contains("is a plain redis:// URL to another host"),
        "{stderr}"
    );
    assert!(!stderr.contains(PASSWORD), "{stderr}");
}

#[test]
fn auth_new_does_not_warn_of_a_tls_or_loopback_store() {
    for url in [
        format!("rediss://default:{PASSWORD}@192.0.2.1:6380"),
        format!("redis://default:{PASSWORD}@127.0.0.1:6379"),
    ] {
        let stderr = stderr_of_auth_new(&url);
        assert!(!stderr.contains("shared store"), "{stderr}");
        assert!(!stderr.contains(PASSWORD), "{stderr}");
    }
}

/// The library's lines between the child's `[step]` markers, by step.
fn lines_by_step(stderr: &str) -> Vec<(String, Vec<String>)> {
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    for line in stderr.lines() {
        if let Some(step) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            steps.push((step.to_owned(), Vec::new()));
        } else if line.starts_with("sign-in-with-vercel ")
            && let Some((_, lines)) = steps.last_mut()
        {
            lines.push(line.to_owned());
        }
    }
    steps
}

/// A route's error is one line: a warning for a refusal, an error for
/// what the operator must fix, nothing for the routine "nobody is signed
/// in"; each names the route and the reason, never the request's code
/// or state.
#[test]
fn a_route_logs_one_line_per_error_at_its_level() {
    let stderr = stderr_of("routes");
    assert!(
        !stderr.contains(CODE) && !stderr.contains(STATE),
        "{stderr}"
    );
    let steps = lines_by_step(&stderr);
    let step = |name: &str| -> &[String] {
        let found = steps.iter().find(|(step, _)| step == name);
        &found
            .unwrap_or_else(|| panic!("no step {name}: {stderr}"))
            .1
    };
    assert_eq!(step("user-info signed out"), [] as [String; 0], "{stderr}");
    assert_eq!(
        step("callback without its flow"),
        ["sign-in-with-vercel warn: callback: sign_in_expired \
          (The sign-in attempt expired; start again.)"],
        "{stderr}"
    );
    let misconfigured = step("authorize misconfigured");
    assert_eq!(misconfigured.len(), 2, "{stderr}");
    // Once when the configuration is read, then the route's own line.
    assert!(
        misconfigured[0].starts_with("sign-in-with-vercel error: configuration error: "),
        "{stderr}"
    );
    assert!(
        misconfigured[1].starts_with(
            "sign-in-with-vercel error: authorize: configuration (configuration error: "
        ),
        "{stderr}"
    );
    assert_eq!(
        step("protect refuses another site"),
        ["sign-in-with-vercel warn: protect: cross_origin_request \
          (Cross-origin requests are not allowed on this route.)"],
        "{stderr}"
    );
    // The transport's line names the origin and the system's cause; the
    // route's, the endpoint's role and the answer.
    let unreachable = step("provider out of reach");
    assert_eq!(unreachable.len(), 2, "{stderr}");
    assert!(
        unreachable[0].starts_with("sign-in-with-vercel warn: a call to http://127.0.0.1:")
            && unreachable[0].contains(": connection failed (")
            && unreachable[0].contains("Connection refused")
            && !unreachable[0].contains("openid-configuration"),
        "{stderr}"
    );
    assert_eq!(
        unreachable[1],
        "sign-in-with-vercel error: authorize: provider_unavailable \
         (discovery request failed: connection failed)",
        "{stderr}"
    );
    // The exchange's refusal, with what else its 400 can mean; the route
    // that calls it logs its own error.
    assert_eq!(
        step("sso exchange refused"),
        [
            "sign-in-with-vercel warn: sso: Vercel refused the code exchange (HTTP 400): \
          the code or its state was refused, or the integration's client ID or secret \
          is wrong"
        ],
        "{stderr}"
    );
    assert_eq!(step("end"), [] as [String; 0], "{stderr}");
}
