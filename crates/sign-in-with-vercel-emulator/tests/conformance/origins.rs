//! Which origin serves what: `vercel.com`, `api.vercel.com`,
//! `marketplace.vercel.com`, and the URLs of the examples in Vercel's
//! Authorization Server API reference.

use sign_in_with_vercel_emulator::{Emulator, EmulatorConfig, SigningKey};

use crate::support::*;

fn discovery(emu: &Emulator) -> serde_json::Value {
    json(&get(
        emu,
        &format!("{ISSUER}/.well-known/openid-configuration"),
    ))
}

/// Vercel's authorization server metadata
/// (`https://vercel.com/.well-known/oauth-authorization-server`): issuer
/// `https://vercel.com`, `jwks_uri` `https://vercel.com/.well-known/jwks`,
/// authorization endpoint `https://vercel.com/oauth/authorize`.
#[test]
fn discovery_puts_authorization_and_jwks_on_the_issuer_origin() {
    let d = discovery(&emulator());
    assert_eq!(d["issuer"], ISSUER);
    assert_eq!(
        d["authorization_endpoint"],
        format!("{ISSUER}/oauth/authorize")
    );
    assert_eq!(d["jwks_uri"], format!("{ISSUER}/.well-known/jwks"));
}

/// Vercel's authorization server metadata: token endpoint
/// `https://api.vercel.com/login/oauth/token`, revocation `…/token/revoke`,
/// introspection `…/token/introspect`, userinfo
/// `https://api.vercel.com/login/oauth/userinfo`.
#[test]
fn discovery_puts_token_revocation_introspection_and_userinfo_on_the_api_origin() {
    let d = discovery(&emulator());
    assert_eq!(d["token_endpoint"], format!("{API}/login/oauth/token"));
    assert_eq!(
        d["revocation_endpoint"],
        format!("{API}/login/oauth/token/revoke")
    );
    assert_eq!(
        d["introspection_endpoint"],
        format!("{API}/login/oauth/token/introspect")
    );
    assert_eq!(
        d["userinfo_endpoint"],
        format!("{API}/login/oauth/userinfo")
    );
}

/// The examples of Vercel's Authorization Server API reference post to
/// `https://vercel.com/api/login/oauth/token`, `…/token/revoke`,
/// `…/token/introspect` and `…/userinfo`: the issuer origin answers them, as
/// the API origin answers discovery's URLs.
#[test]
fn the_reference_examples_api_login_oauth_urls_work_on_the_issuer_origin() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let code = code_in(&browser.authorize_and_allow(None, ""));
    let token = exchange_at(&emu, &format!("{ISSUER}/api/login/oauth/token"), &code);
    assert_eq!(token.status(), 200, "{}", text(&token));
    let access = str_of(&json(&token), "access_token").to_owned();
    let info = post(
        &emu,
        &format!("{ISSUER}/api/login/oauth/userinfo"),
        "",
        Some(&format!("Bearer {access}")),
    );
    assert_eq!(json(&info)["sub"], DEMO);
    let inspected = post(
        &emu,
        &format!("{ISSUER}/api/login/oauth/token/introspect"),
        &format!("token={access}"),
        None,
    );
    assert_eq!(json(&inspected)["active"], true);
    let revoked = post(
        &emu,
        &format!("{ISSUER}/api/login/oauth/token/revoke"),
        &format!("token={access}"),
        Some(&basic(CLIENT, SECRET)),
    );
    assert_eq!(revoked.status(), 200);
    assert!(!active(&emu, &access));
}

/// Neither Vercel's Authorization Server API reference nor discovery names
/// `/login/oauth/*` without `/api` on the issuer origin: an app that builds its
/// token URL from the issuer and discovery's path gets a 404 there, as it would
/// from vercel.com.
#[test]
fn login_oauth_paths_without_api_answer_404_on_the_issuer_origin() {
    let emu = emulator();
    for path in [
        "/login/oauth/token",
        "/login/oauth/token/revoke",
        "/login/oauth/token/introspect",
        "/login/oauth/userinfo",
    ] {
        let response = post(&emu, &format!("{ISSUER}{path}"), "token=x", None);
        assert_eq!(response.status(), 404, "{path}");
    }
}

/// The `/api/login/oauth/*` form is vercel.com's (Vercel's Authorization Server
/// API reference; Vercel's reference app and its guide "Getting started with
/// Sign in with Vercel" moved from it to api.vercel.com); the API origin has
/// only `/login/oauth/*`.
#[test]
fn api_login_oauth_paths_answer_404_on_the_api_origin() {
    let emu = emulator();
    let response = post(&emu, &format!("{API}/api/login/oauth/token"), "x=1", None);
    assert_eq!(response.status(), 404);
}

/// Vercel's authorization server metadata: authorization, JWKS and discovery
/// are on vercel.com, not on api.vercel.com.
#[test]
fn issuer_endpoints_answer_404_on_the_api_origin() {
    let emu = emulator();
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/jwks",
        "/oauth/authorize",
        "/account/authorizations",
        "/login",
    ] {
        assert_eq!(get(&emu, &format!("{API}{path}")).status(), 404, "{path}");
    }
}

/// Vercel's Marketplace documentation (Partner API user authentication: OIDC
/// tokens): the marketplace issuer is an origin of its own; it serves none of
/// the sign-in's endpoints.
#[test]
fn the_marketplace_origin_serves_only_the_marketplace_issuer() {
    let emu = emulator();
    for path in ["/oauth/authorize", "/login/oauth/token", "/v2/user", "/"] {
        assert_eq!(
            get(&emu, &format!("{MARKETPLACE}{path}")).status(),
            404,
            "{path}"
        );
    }
}

/// Vercel's REST API errors share one shape,
/// `{"error":{"code":"...","message":"..."}}` (as seen in public CI logs and
/// integrations): an unknown path on the API origin too.
#[test]
fn an_unknown_api_path_is_vercels_not_found_error() {
    let response = get(&emulator(), &format!("{API}/v9/nothing"));
    assert_eq!(response.status(), 404);
    let body = json(&response);
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["message"].is_string());
}

/// vercel.com's unknown pages are pages, not JSON.
#[test]
fn an_unknown_issuer_path_is_a_page() {
    let response = get(&emulator(), &format!("{ISSUER}/nothing"));
    assert_eq!(response.status(), 404);
    assert!(header(&response, "content-type").starts_with("text/html"));
    assert!(text(&response).contains("<h1>Not found</h1>"));
}

/// The origins derive from the issuer as Vercel's do from `vercel.com`.
#[test]
fn origins_derive_from_the_issuer_as_vercels_do() {
    let emu = Emulator::with_key(
        "https://vercel.com",
        EmulatorConfig::default(),
        SigningKey::shared(),
    );
    assert_eq!(emu.api_origin(), "https://api.vercel.com");
    assert_eq!(emu.marketplace_issuer(), "https://marketplace.vercel.com");
    let local = emulator();
    assert_eq!(local.api_origin(), API);
    assert_eq!(local.marketplace_issuer(), MARKETPLACE);
}

/// One HTTP/1.1 request over a connection of its own: status and body.
fn http(method: &str, url: &str, form: &str) -> (u16, String) {
    http_with_host(method, url, None, form)
}

/// [`http`] with a `Host` header naming `host` (an authority) instead of
/// the URL's.
fn http_with_host(method: &str, url: &str, host: Option<&str>, form: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let url = url::Url::parse(url).unwrap();
    let authority = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let mut stream = std::net::TcpStream::connect(&authority).unwrap();
    write!(
        stream,
        "{method} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        url.path(),
        host.unwrap_or(&authority),
        form.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

/// Over HTTP the three origins are three ports: each answers only its own
/// endpoints, whatever `Host` says.
#[test]
fn over_http_each_port_serves_only_its_origin() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _context = runtime.enter();
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let running = Emulator::start(
        [bind(), bind(), bind()],
        EmulatorConfig::default(),
        SigningKey::shared(),
    )
    .unwrap();
    let origins = running.emulator().origins().clone();
    let discovery = |origin: &str| {
        http(
            "GET",
            &format!("{origin}/.well-known/openid-configuration"),
            "",
        )
    };
    let (status, body) = discovery(&origins.issuer);
    assert_eq!(status, 200);
    let metadata: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        metadata["token_endpoint"],
        format!("{}/login/oauth/token", origins.api)
    );
    let introspect = |origin: &str| {
        http(
            "POST",
            &format!("{origin}/login/oauth/token/introspect"),
            "token=x",
        )
        .0
    };
    assert_eq!(introspect(&origins.api), 200);
    assert_eq!(introspect(&origins.issuer), 404);
    // A `Host` naming another origin changes nothing: the port decides.
    let authority = |origin: &str| origin.trim_start_matches("http://").to_owned();
    let introspect_as = |origin: &str, host: &str| {
        let url = format!("{origin}/login/oauth/token/introspect");
        http_with_host("POST", &url, Some(&authority(host)), "token=x").0
    };
    assert_eq!(introspect_as(&origins.issuer, &origins.api), 404);
    assert_eq!(introspect_as(&origins.api, &origins.issuer), 200);
    let (status, body) = discovery(&origins.marketplace);
    assert_eq!(status, 200);
    let marketplace: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(marketplace["issuer"], origins.marketplace);
    assert_eq!(discovery(&origins.api).0, 404);
}

/// The program prints its three origins, each on a port of its own
/// (`EMULATOR_PORT`, `EMULATOR_API_PORT`, `EMULATOR_MARKETPLACE_PORT`).
#[test]
fn the_program_prints_its_three_origins() {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sign-in-with-vercel-emulator"))
        .env_clear()
        .env("EMULATOR_PORT", "0")
        .env("EMULATOR_API_PORT", "0")
        .env("EMULATOR_MARKETPLACE_PORT", "0")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines: Vec<String> = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.contains("clients"))
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    let url_after = |label: &str| -> String {
        let line = lines
            .iter()
            .find(|l| l.contains(label))
            .unwrap_or_else(|| panic!("no {label:?} line in {lines:?}"));
        let start = line.find("http://").unwrap();
        line[start..].split_whitespace().next().unwrap().to_owned()
    };
    let issuer = url_after("issuer http://");
    let api = url_after("API (");
    let marketplace = url_after("marketplace issuer");
    assert!(issuer != api && api != marketplace && issuer != marketplace);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("iss in authorization responses: off"))
    );
}

/// A URL without a port is on its scheme's default port (RFC 9110
/// §4.2.1–4.2.2): `http://127.0.0.1/` and `https://127.0.0.1/` are not
/// the issuer at `http://127.0.0.1:3001`: 404, as an unknown origin is.
#[test]
fn a_url_without_a_port_is_on_its_scheme_s_default_port() {
    let emu = emulator();
    let discovery = "/.well-known/openid-configuration";
    assert_eq!(get(&emu, &format!("{ISSUER}{discovery}")).status(), 200);
    for origin in ["http://127.0.0.1", "https://127.0.0.1"] {
        let answer = get(&emu, &format!("{origin}{discovery}"));
        assert_eq!(answer.status(), 404, "{origin}: {}", text(&answer));
    }
}

/// A prefix route needs something after its prefix: the token path with
/// an empty ID, or the SSO login without an integration, is no route.
#[test]
fn a_prefix_route_needs_something_after_the_prefix() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let empty_id = rest_get(&emu, "/v5/user/tokens/", Some(str_of(&t, "access_token")));
    assert_eq!(empty_id.status(), 404, "{}", text(&empty_id));
    let no_integration = get(&emu, &format!("{ISSUER}/sso/integrations/"));
    assert_eq!(no_integration.status(), 404, "{}", text(&no_integration));
}

/// `GET /_emulator/stats` on the issuer: the requests per endpoint, as
/// `Emulator::stats` gives them, for a test driving the emulator as a
/// separate process.
#[test]
fn the_stats_page_counts_the_requests_per_endpoint() {
    let emu = emulator();
    get(&emu, &format!("{ISSUER}/.well-known/openid-configuration"));
    let stats = json(&get(&emu, &format!("{ISSUER}/_emulator/stats")));
    assert_eq!(stats["discovery"], 1, "{stats}");
    assert_eq!(stats["token"], 0, "{stats}");
}
