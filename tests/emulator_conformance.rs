//! The emulator against what Vercel documents: one test per behaviour, each
//! citing the line it follows in the Authorization Server API (seed 001),
//! the user's guide to Sign in with Vercel (seed 004), or the team's notes
//! (`notes/vercel-platform.md`, `notes/cookies-and-sessions.md`). Where Vercel
//! documents nothing, the test names the emulator's (strict) choice and
//! says so.
//!
//! Requests are sent to full URLs, so they are routed by origin exactly as
//! the app's are.

mod support;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use sign_in_with_vercel_emulator::{
    Client, Emulator, EmulatorConfig, ReusePolicy, SigningKey, User,
};
use support::{API, APP, ISSUER, Rp, body_json, location, rp};

const CLIENT: &str = "cl_conformance";
const SECRET: &str = "conformance-secret";
const REDIRECT: &str = "http://localhost:3000/api/auth/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92ZNRVmA1e0wVBYM0p1nXW4LT9Ua";

type Response = http::Response<Bytes>;

fn client(scopes: &[&str]) -> Client {
    Client {
        client_id: CLIENT.to_owned(),
        name: "Conformance app".to_owned(),
        client_secret: Some(SECRET.to_owned()),
        token_endpoint_auth_method: "client_secret_post".to_owned(),
        redirect_uris: vec![REDIRECT.to_owned()],
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn emulator() -> Arc<Emulator> {
    emulator_with(client(&["openid", "email", "profile", "offline_access"]))
}

fn emulator_with(client: Client) -> Arc<Emulator> {
    let emu = Emulator::with_key(ISSUER, EmulatorConfig::default(), SigningKey::shared());
    emu.register_client(client);
    emu
}

fn get(emu: &Emulator, url: &str) -> Response {
    emu.handle(&http::Request::get(url).body(Vec::new()).unwrap())
}

fn post(emu: &Emulator, url: &str, form: &str, authorization: Option<&str>) -> Response {
    let mut request =
        http::Request::post(url).header("content-type", "application/x-www-form-urlencoded");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    emu.handle(&request.body(form.as_bytes().to_vec()).unwrap())
}

fn json(response: &Response) -> Value {
    serde_json::from_slice(response.body())
        .unwrap_or_else(|_| panic!("not JSON: {:?}", response.body()))
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

fn challenge() -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()))
}

/// The authorization request of seed 001's `authorize` route, with `extra`
/// parameters (or `scope` left out when `scope` is `None`).
fn authorize_url(scope: Option<&str>, extra: &str) -> String {
    let mut url = format!(
        "{ISSUER}/oauth/authorize?client_id={CLIENT}&redirect_uri={}&response_type=code&state=st&nonce=n-0S6&code_challenge={}&code_challenge_method=S256",
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>(),
        challenge()
    );
    if let Some(scope) = scope {
        url.push_str("&scope=");
        url.extend(url::form_urlencoded::byte_serialize(scope.as_bytes()));
    }
    url.push_str(extra);
    url
}

fn request_id(page: &Response) -> String {
    let html = String::from_utf8_lossy(page.body());
    html.split("name=\"request_id\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no consent form: {html:.300}"))
        .to_owned()
}

fn allow(emu: &Emulator, page: &Response) -> Response {
    post(
        emu,
        &format!("{ISSUER}/oauth/authorize/decision"),
        &format!("request_id={}&decision=allow", request_id(page)),
        None,
    )
}

fn code_in(redirect: &Response) -> String {
    assert_eq!(redirect.status(), 302, "{:?}", redirect.body());
    let url = url::Url::parse(&location(redirect)).unwrap();
    assert!(url.as_str().starts_with(REDIRECT), "{url}");
    url.query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code in {url}"))
}

/// The guide's `exchangeCodeForToken`: the secret in the body (seed 001).
fn exchange(emu: &Emulator, code: &str) -> Response {
    post(
        emu,
        &format!("{API}/login/oauth/token"),
        &format!(
            "grant_type=authorization_code&client_id={CLIENT}&client_secret={SECRET}&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
            url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
        ),
        None,
    )
}

/// Authorize (consenting when the page is shown) and exchange the code.
fn tokens(emu: &Emulator, scope: Option<&str>) -> Value {
    let answer = get(emu, &authorize_url(scope, ""));
    let redirect = if answer.status() == 200 {
        allow(emu, &answer)
    } else {
        answer
    };
    let response = exchange(emu, &code_in(&redirect));
    assert_eq!(response.status(), 200, "{:?}", response.body());
    json(&response)
}

fn refresh(emu: &Emulator, refresh_token: &str) -> Response {
    post(
        emu,
        &format!("{API}/login/oauth/token"),
        &format!(
            "grant_type=refresh_token&client_id={CLIENT}&client_secret={SECRET}&refresh_token={refresh_token}"
        ),
        None,
    )
}

/// Seed 001's `validate-token` route: only the token, no client auth.
fn introspect(emu: &Emulator, token: &str) -> Value {
    json(&post(
        emu,
        &format!("{API}/login/oauth/token/introspect"),
        &format!("token={token}"),
        None,
    ))
}

fn active(emu: &Emulator, token: &str) -> bool {
    introspect(emu, token)["active"] == true
}

fn claims(id_token: &Value) -> Value {
    let payload = id_token.as_str().unwrap().split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn discovery(emu: &Emulator) -> Value {
    json(&get(
        emu,
        &format!("{ISSUER}/.well-known/openid-configuration"),
    ))
}

// ---------------------------------------------------------------- origins

/// notes/vercel-platform.md: "issuer https://vercel.com, jwks_uri
/// https://vercel.com/.well-known/jwks, authorize https://vercel.com/oauth/authorize".
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

/// notes/vercel-platform.md: "token https://api.vercel.com/login/oauth/token,
/// revoke .../token/revoke, introspect .../token/introspect, userinfo
/// https://api.vercel.com/login/oauth/userinfo".
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

/// notes/vercel-platform.md: the token, revocation, introspection and
/// userinfo endpoints are on api.vercel.com, not on the issuer's host.
#[test]
fn api_endpoints_answer_404_on_the_issuer_origin() {
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

/// notes/vercel-platform.md: authorization, JWKS and discovery are on
/// vercel.com, not on api.vercel.com.
#[test]
fn issuer_endpoints_answer_404_on_the_api_origin() {
    let emu = emulator();
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/jwks",
        "/oauth/authorize",
        "/account/authorizations",
    ] {
        assert_eq!(get(&emu, &format!("{API}{path}")).status(), 404, "{path}");
    }
}

/// Seed 001: "These endpoints ... are advertised at the following
/// well-known URL". The app takes every endpoint from discovery: the
/// browser goes to the issuer origin, the back channel to the API origin.
#[tokio::test]
async fn the_app_follows_discovery_to_both_origins() {
    let mut rp: Rp = rp("client_secret_post");
    let start = rp.get("/api/auth/authorize").await;
    assert!(location(&start).starts_with(&format!("{ISSUER}/oauth/authorize?")));
    let callback = rp.consent(&location(&start), "allow");
    rp.get(callback.strip_prefix(APP).unwrap()).await;
    assert_eq!(rp.get("/api/user-info").await.status(), 200);
    assert_eq!(rp.get("/api/validate-token").await.status(), 200);
    assert_eq!(rp.send("POST", "/api/auth/signout").await.status(), 200);
    let sent: Vec<String> = rp
        .recorder
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.uri().to_string())
        .collect();
    for (path, origin) in [
        ("/.well-known/openid-configuration", ISSUER),
        ("/.well-known/jwks", ISSUER),
        ("/login/oauth/token", API),
        ("/login/oauth/userinfo", API),
        ("/login/oauth/token/introspect", API),
        ("/login/oauth/token/revoke", API),
    ] {
        assert!(
            sent.contains(&format!("{origin}{path}")),
            "{origin}{path} not requested; sent: {sent:?}"
        );
    }
    assert!(
        !sent
            .iter()
            .any(|u| u.starts_with(ISSUER) && u.contains("/login/oauth/")),
        "{sent:?}"
    );
}

/// An app that builds its token URL from the issuer, as seed 001's older
/// examples did (`https://vercel.com/...`), fails here as on Vercel.
#[tokio::test]
async fn an_app_that_builds_api_urls_from_the_issuer_gets_404() {
    use sign_in_with_vercel::HttpClient as _;
    let emu = emulator();
    let request = http::Request::post(format!("{ISSUER}/login/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"grant_type=refresh_token&refresh_token=x".to_vec())
        .unwrap();
    let response = emu.execute(request).await.unwrap();
    assert_eq!(response.status(), 404);
}

/// Over HTTP the two origins are two ports: each answers only its own
/// endpoints, whatever `Host` says.
#[tokio::test]
async fn over_http_each_port_serves_only_its_origin() {
    let issuer_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let api_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", issuer_listener.local_addr().unwrap());
    let api = format!("http://{}", api_listener.local_addr().unwrap());
    let emu = Emulator::with_origins(
        issuer.clone(),
        api.clone(),
        EmulatorConfig::default(),
        SigningKey::shared(),
    );
    let _servers = emu.serve(issuer_listener, api_listener).unwrap();
    let mut browser = support::stack::Browser::default();
    let metadata = browser
        .get(&format!("{issuer}/.well-known/openid-configuration"))
        .await;
    assert_eq!(metadata.status, 200);
    assert_eq!(
        metadata.json()["token_endpoint"],
        format!("{api}/login/oauth/token")
    );
    let introspect = |origin: &str| format!("{origin}/login/oauth/token/introspect");
    assert_eq!(
        browser
            .post(&introspect(&api), &[("token", "x")])
            .await
            .status,
        200
    );
    assert_eq!(
        browser
            .post(&introspect(&issuer), &[("token", "x")])
            .await
            .status,
        404
    );
    assert_eq!(
        browser
            .get(&format!("{api}/.well-known/openid-configuration"))
            .await
            .status,
        404
    );
}

// ------------------------------------------------------ refresh token reuse

/// notes/cookies-and-sessions.md: "Exchanging it returns a new one, and the
/// old one stops working."
#[test]
fn an_exchanged_refresh_token_stops_working() {
    let emu = emulator();
    let first = tokens(&emu, None);
    let old = first["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&emu, old).status(), 200);
    let again = refresh(&emu, old);
    assert_eq!(again.status(), 400);
    assert_eq!(json(&again)["error"], "invalid_grant");
}

/// Undocumented by Vercel (notes/cookies-and-sessions.md: "What a reuse ...
/// does to the rest of the grant is not documented"). Default, RFC 9700
/// §4.14.2: a reuse revokes the grant, the newest pair included.
#[test]
fn refresh_token_reuse_revokes_the_whole_grant_by_default() {
    let emu = emulator();
    let first = tokens(&emu, None);
    let old = first["refresh_token"].as_str().unwrap();
    let newest = json(&refresh(&emu, old));
    let (access, refresh_token) = (
        newest["access_token"].as_str().unwrap(),
        newest["refresh_token"].as_str().unwrap(),
    );
    assert!(active(&emu, access) && active(&emu, refresh_token));
    assert_eq!(refresh(&emu, old).status(), 400);
    assert!(!active(&emu, access), "newest access token still active");
    assert!(
        !active(&emu, refresh_token),
        "newest refresh token still active"
    );
    assert_eq!(refresh(&emu, refresh_token).status(), 400);
}

/// The other policy, `reject`: only the reused token fails.
#[test]
fn refresh_token_reuse_with_reject_fails_only_the_reused_token() {
    let emu = emulator();
    emu.set_refresh_token_reuse(ReusePolicy::Reject);
    let first = tokens(&emu, None);
    let old = first["refresh_token"].as_str().unwrap();
    let newest = json(&refresh(&emu, old));
    assert_eq!(refresh(&emu, old).status(), 400);
    assert!(active(&emu, newest["access_token"].as_str().unwrap()));
    let next = refresh(&emu, newest["refresh_token"].as_str().unwrap());
    assert_eq!(next.status(), 200);
}

// -------------------------------------------------------- remembered consent

/// Seed 001: "If they have already authorized the app, they will be
/// redirected immediately."
#[test]
fn a_repeat_sign_in_redirects_back_without_the_consent_page() {
    let emu = emulator();
    let first = get(&emu, &authorize_url(None, ""));
    assert_eq!(first.status(), 200, "the first sign-in shows consent");
    code_in(&allow(&emu, &first));
    let again = get(&emu, &authorize_url(None, ""));
    let code = code_in(&again);
    assert_eq!(exchange(&emu, &code).status(), 200);
}

/// OpenID Connect Core §3.1.2.1: `prompt=consent` asks again. (Whether
/// Vercel honours `prompt` is undocumented.)
#[test]
fn prompt_consent_shows_the_page_although_consent_is_remembered() {
    let emu = emulator();
    tokens(&emu, None);
    let page = get(&emu, &authorize_url(None, "&prompt=consent"));
    assert_eq!(page.status(), 200);
    assert!(String::from_utf8_lossy(page.body()).contains("Allow"));
}

/// Consent covers the scopes granted: asking for more asks again.
#[test]
fn asking_for_more_scopes_than_granted_shows_the_page_again() {
    let emu = emulator();
    tokens(&emu, Some("openid email"));
    assert_eq!(
        get(&emu, &authorize_url(Some("openid email profile"), "")).status(),
        200
    );
}

/// Seed 004: "Select Remove next to the application" ... "you will need to
/// re-authorize the application".
#[test]
fn remove_app_revokes_the_apps_tokens_and_forgets_the_consent() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let sub = claims(&t["id_token"])["sub"].as_str().unwrap().to_owned();
    emu.remove_app(&sub, CLIENT);
    assert!(!active(&emu, t["access_token"].as_str().unwrap()));
    assert!(!active(&emu, t["refresh_token"].as_str().unwrap()));
    assert_eq!(get(&emu, &authorize_url(None, "")).status(), 200);
}

/// Seed 004: "Go to the Sign in with Vercel section to view the
/// third-party application."
#[test]
fn the_account_page_lists_the_authorized_app_with_a_remove_button() {
    let emu = emulator();
    let page = get(&emu, &format!("{ISSUER}/account/authorizations"));
    assert!(String::from_utf8_lossy(page.body()).contains("No apps are authorized"));
    tokens(&emu, None);
    let page = get(&emu, &format!("{ISSUER}/account/authorizations"));
    assert_eq!(page.status(), 200);
    let html = String::from_utf8_lossy(page.body());
    assert!(html.contains("Conformance app") && html.contains(CLIENT));
    assert!(html.contains("action=\"/account/authorizations/remove\""));
    assert!(html.contains(">Remove</button>"));
}

/// Seed 004: "Select Remove next to the application": the button revokes
/// and forgets, then shows the list again.
#[test]
fn the_remove_button_revokes_and_forgets() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let sub = claims(&t["id_token"])["sub"].as_str().unwrap().to_owned();
    let answer = post(
        &emu,
        &format!("{ISSUER}/account/authorizations/remove"),
        &format!("user={sub}&client_id={CLIENT}"),
        None,
    );
    assert_eq!(answer.status(), 303);
    assert!(location(&answer).starts_with("/account/authorizations?user="));
    assert!(!active(&emu, t["access_token"].as_str().unwrap()));
    let html = get(&emu, &format!("{ISSUER}/account/authorizations?user={sub}"));
    assert!(String::from_utf8_lossy(html.body()).contains("No apps are authorized"));
    assert_eq!(get(&emu, &authorize_url(None, "")).status(), 200);
}

// ------------------------------------------------------------ introspection

/// Seed 001, "Token Introspection response": exactly `active`, `client_id`,
/// `token_type`, `exp`, `iat`, `sub`, `iss`, `jti`, `session_id`; no `scope`.
#[test]
fn introspection_answers_exactly_the_members_of_vercels_example() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let info = introspect(&emu, t["access_token"].as_str().unwrap());
    let mut keys: Vec<&str> = info
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "active",
            "client_id",
            "exp",
            "iat",
            "iss",
            "jti",
            "session_id",
            "sub",
            "token_type"
        ]
    );
    assert_eq!(info["active"], true);
    assert_eq!(info["client_id"], CLIENT);
    assert_eq!(info["token_type"], "bearer");
    assert_eq!(info["iss"], ISSUER);
    assert_eq!(
        info["exp"].as_i64().unwrap() - info["iat"].as_i64().unwrap(),
        3600
    );
}

/// Seed 001: `"jti": "6cd20f0f-0ce2-408b-a21b-63445bccb69a"`,
/// `"session_id": "44c44cd9-6b1a-4a16-9296-cc9aea3f1800"`: UUIDs.
#[test]
fn introspection_jti_and_session_id_are_uuids() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let info = introspect(&emu, t["access_token"].as_str().unwrap());
    for member in ["jti", "session_id"] {
        let value = info[member].as_str().unwrap();
        let lengths: Vec<usize> = value.split('-').map(str::len).collect();
        assert_eq!(lengths, [8, 4, 4, 4, 12], "{member}: {value}");
        assert!(value.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }
    let refresh_info = introspect(&emu, t["refresh_token"].as_str().unwrap());
    assert_eq!(
        refresh_info["session_id"], info["session_id"],
        "one sign-in, one session"
    );
}

/// RFC 7662 §2.2, as seed 001's route reads it (`if (!introspectionData.active)`).
#[test]
fn introspection_of_a_dead_token_is_only_active_false() {
    let emu = emulator();
    assert_eq!(
        introspect(&emu, "vca_unknown"),
        serde_json::json!({ "active": false })
    );
}

// ---------------------------------------------------- client authentication

/// Seed 001, `exchangeCodeForToken`: `client_id` and `client_secret` in the
/// body, no Authorization header.
#[test]
fn the_token_endpoint_accepts_the_secret_in_the_body_as_the_guide_sends_it() {
    let t = tokens(&emulator(), None);
    assert_eq!(t["token_type"], "Bearer");
    assert!(t["access_token"].as_str().unwrap().starts_with("vca_"));
    assert!(t["refresh_token"].as_str().unwrap().starts_with("vcr_"));
}

/// Seed 001, the signout route: `Authorization: Basic base64(id:secret)`
/// and only `token` in the body.
#[test]
fn revocation_accepts_basic_as_the_guide_sends_it() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let access = t["access_token"].as_str().unwrap();
    let response = post(
        &emu,
        &format!("{API}/login/oauth/token/revoke"),
        &format!("token={access}"),
        Some(&basic(CLIENT, SECRET)),
    );
    assert_eq!(response.status(), 200);
    assert!(!active(&emu, access));
}

/// notes/vercel-platform.md: "token auth client_secret_basic,
/// client_secret_post ...; revocation auth client_secret_basic". No `none`
/// while no public client is registered.
#[test]
fn discovery_lists_only_the_methods_vercel_lists() {
    let d = discovery(&emulator());
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(
        d["revocation_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic"])
    );
}

/// Seed 001: "The client_secret parameter is optional if client
/// authentication is set to none": with a public client registered,
/// discovery offers `none`.
#[test]
fn discovery_lists_none_once_a_public_client_is_registered() {
    let mut public = client(&["openid"]);
    public.client_secret = None;
    public.token_endpoint_auth_method = "none".to_owned();
    let d = discovery(&emulator_with(public));
    let methods = d["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&Value::from("none")));
}

/// Undocumented; the emulator's strict choice: a public client's empty
/// `client_secret=` is refused (`invalid_client`), a correct app omits it.
#[test]
fn a_public_clients_empty_client_secret_is_refused() {
    let mut public = client(&["openid"]);
    public.client_secret = None;
    public.token_endpoint_auth_method = "none".to_owned();
    let emu = emulator_with(public);
    let page = get(&emu, &authorize_url(None, ""));
    let code = code_in(&allow(&emu, &page));
    let form = |secret: &str| {
        format!(
            "grant_type=authorization_code&client_id={CLIENT}{secret}&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
            url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
        )
    };
    let refused = post(
        &emu,
        &format!("{API}/login/oauth/token"),
        &form("&client_secret="),
        None,
    );
    assert_eq!(refused.status(), 401);
    assert_eq!(json(&refused)["error"], "invalid_client");
    let accepted = post(&emu, &format!("{API}/login/oauth/token"), &form(""), None);
    assert_eq!(accepted.status(), 200, "{:?}", accepted.body());
}

/// Seed 001's userinfo route sends `Authorization: Bearer ${token}`.
/// Undocumented; the emulator's strict choice: `bearer` in lower case is
/// refused.
#[test]
fn userinfo_accepts_bearer_and_refuses_lowercase_bearer() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let access = t["access_token"].as_str().unwrap();
    let ask = |scheme: &str| {
        post(
            &emu,
            &format!("{API}/login/oauth/userinfo"),
            "",
            Some(&format!("{scheme} {access}")),
        )
        .status()
    };
    assert_eq!(ask("Bearer"), 200);
    assert_eq!(ask("bearer"), 401);
}

// ------------------------------------------------------------------ avatars

/// Seed 001, "User Info Endpoint response": `"picture":
/// "https://vercel.com/api/www/avatar/avatar-42…"`: an absolute URL on the
/// issuer's host, not a `data:` URL.
#[test]
fn picture_is_an_absolute_url_at_vercels_avatar_path_on_the_issuer_origin() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let picture = claims(&t["id_token"])["picture"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        picture.starts_with(&format!("{ISSUER}/api/www/avatar/")),
        "{picture}"
    );
    let info = json(&post(
        &emu,
        &format!("{API}/login/oauth/userinfo"),
        "",
        Some(&format!("Bearer {}", t["access_token"].as_str().unwrap())),
    ));
    assert_eq!(info["picture"], picture.as_str());
}

/// The picture URL answers with an image, from the issuer origin only.
#[test]
fn the_avatar_is_an_image_served_from_the_issuer_origin() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let picture = claims(&t["id_token"])["picture"]
        .as_str()
        .unwrap()
        .to_owned();
    let image = get(&emu, &picture);
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/svg+xml");
    assert!(String::from_utf8_lossy(image.body()).starts_with("<svg"));
    let on_api = picture.replace(ISSUER, API);
    assert_eq!(get(&emu, &on_api).status(), 404);
}

/// A configured picture is passed on as it is.
#[test]
fn a_configured_picture_is_used_as_it_is() {
    let config = EmulatorConfig {
        users: vec![User {
            picture: Some("https://example.com/me.png".to_owned()),
            ..sign_in_with_vercel_emulator::demo_user()
        }],
        ..EmulatorConfig::default()
    };
    let emu = Emulator::with_key(ISSUER, config, SigningKey::shared());
    emu.register_client(client(&["openid", "profile"]));
    let t = tokens(&emu, None);
    assert_eq!(
        claims(&t["id_token"])["picture"],
        "https://example.com/me.png"
    );
}

// ------------------------------------------------------------------- scopes

/// Seed 001, `scope`: "If you don't pass scope, all scopes configured in
/// your app are included by default."
#[test]
fn absent_scope_grants_all_configured_scopes() {
    let emu = emulator_with(client(&["openid", "email"]));
    let t = tokens(&emu, None);
    assert_eq!(t["scope"], "openid email");
    assert!(t["id_token"].is_string());
    assert!(
        t.get("refresh_token").is_none(),
        "offline_access not configured"
    );
}

/// Seed 001, `scope`: "If you pass scopes that aren't configured in your
/// app's Manage settings, they're filtered out."
#[test]
fn unconfigured_scopes_are_filtered_out() {
    let emu = emulator_with(client(&["openid", "email"]));
    let t = tokens(&emu, Some("openid email offline_access"));
    assert_eq!(t["scope"], "openid email");
}

/// `scope=` (empty) is taken as no scope: all configured scopes, and an ID
/// token (seed 001's `TokenData.id_token: string` is never absent).
#[test]
fn empty_scope_is_taken_as_absent_and_yields_an_id_token() {
    let emu = emulator();
    let t = tokens(&emu, Some(""));
    assert_eq!(t["scope"], "openid email profile offline_access");
    assert!(t["id_token"].is_string());
}

/// Only unknown scopes: every one "filtered out" (seed 001), so as absent;
/// never a 200 without an ID token.
#[test]
fn only_unknown_scopes_are_taken_as_absent_and_yield_an_id_token() {
    let emu = emulator();
    let t = tokens(&emu, Some("repo admin:org"));
    assert_eq!(t["scope"], "openid email profile offline_access");
    assert!(t["id_token"].is_string());
}

/// Seed 001's `TokenData.id_token: string`: the ID token is always there,
/// even when the app asks only for `email`.
#[test]
fn openid_is_always_granted() {
    let emu = emulator();
    let t = tokens(&emu, Some("email"));
    assert_eq!(t["scope"], "openid email");
    assert!(t["id_token"].is_string());
}

// ------------------------------------------------------------ smaller points

/// Seed 001, `nonce`: "The same value will be attached as a claim in the ID
/// Token."
#[test]
fn the_code_exchanges_id_token_carries_the_nonce() {
    let t = tokens(&emulator(), None);
    assert_eq!(claims(&t["id_token"])["nonce"], "n-0S6");
}

/// OpenID Connect Core §12.2 allows a refreshed ID token without `nonce`;
/// the emulator leaves it out, so an app that checks it there fails here.
#[test]
fn a_refreshed_id_token_has_no_nonce() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let refreshed = json(&refresh(&emu, t["refresh_token"].as_str().unwrap()));
    let c = claims(&refreshed["id_token"]);
    assert!(c.get("nonce").is_none(), "{c}");
    assert_eq!(c["sub"], claims(&t["id_token"])["sub"]);
}

/// Seed 001: "If the Access Token is revoked, the Refresh Token is also
/// revoked."
#[test]
fn revoking_the_access_token_revokes_the_refresh_token() {
    let emu = emulator();
    let t = tokens(&emu, None);
    post(
        &emu,
        &format!("{API}/login/oauth/token/revoke"),
        &format!("token={}", t["access_token"].as_str().unwrap()),
        Some(&basic(CLIENT, SECRET)),
    );
    assert!(!active(&emu, t["refresh_token"].as_str().unwrap()));
}

/// RFC 7009 §2.1: the server "verifies whether the token was issued to the
/// client making the revocation request. If this validation fails, the
/// request is refused and the client is informed of the error."
#[test]
fn revoking_another_clients_token_is_refused_and_revokes_nothing() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let mut other = client(&["openid"]);
    other.client_id = "cl_other".to_owned();
    other.client_secret = Some("other-secret".to_owned());
    emu.register_client(other);
    let access = t["access_token"].as_str().unwrap();
    let response = post(
        &emu,
        &format!("{API}/login/oauth/token/revoke"),
        &format!("token={access}"),
        Some(&basic("cl_other", "other-secret")),
    );
    assert_eq!(response.status(), 400);
    assert_eq!(json(&response)["error"], "unauthorized_client");
    assert!(active(&emu, access));
}

/// The issue's last point: the index page says which behaviours are guesses.
#[test]
fn the_index_page_states_the_undocumented_guesses() {
    let page = get(&emulator(), &format!("{ISSUER}/"));
    let html = String::from_utf8_lossy(page.body());
    assert!(html.contains("Undocumented by Vercel"));
    for guess in [
        "revoke_grant",
        "prompt=consent",
        "client_secret=",
        "bearer",
        "nonce",
    ] {
        assert!(html.contains(guess), "{guess} missing from the index page");
    }
    assert!(html.contains(API));
}

/// The app's own suites run against these defaults.
#[tokio::test]
async fn the_apps_harness_runs_against_the_strict_defaults() {
    let mut rp = rp("client_secret_basic");
    assert_eq!(location(&rp.sign_in().await), "/profile");
    let user = rp.get("/api/user-info").await;
    assert_eq!(body_json(&user)["userInfo"]["sub"], "usr_demo1234567890");
    // A second sign-in in the same test: consent is remembered.
    assert_eq!(location(&rp.sign_in().await), "/profile");
}
