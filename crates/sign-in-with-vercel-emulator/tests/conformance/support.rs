//! What the conformance tests share: an in-process emulator on Vercel-like
//! origins, a browser with its emulator session cookie, the requests of
//! Vercel's Authorization Server API reference, and readers for what comes
//! back.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use sign_in_with_vercel_emulator::{Client, Emulator, EmulatorConfig, SigningKey, User};

pub const ISSUER: &str = "http://127.0.0.1:3001";
pub const API: &str = "http://127.0.0.1:3002";
pub const MARKETPLACE: &str = "http://127.0.0.1:3003";
pub const CLIENT: &str = "cl_conformance";
pub const SECRET: &str = "conformance-secret";
pub const REDIRECT: &str = "http://localhost:3000/api/auth/callback";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mJ92ZNRVmA1e0wVBYM0p1nXW4LT9Ua";
pub const DEMO: &str = "usr_demo1234567890";
pub const SECOND: &str = "usr_second0987654321";

pub type Response = http::Response<Bytes>;

pub fn client(scopes: &[&str]) -> Client {
    Client {
        client_id: CLIENT.to_owned(),
        name: "Conformance app".to_owned(),
        client_secret: Some(SECRET.to_owned()),
        token_endpoint_auth_method: "client_secret_post".to_owned(),
        redirect_uris: vec![REDIRECT.to_owned()],
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// A public SPA client: no secret, authentication `none`.
pub fn public_client(scopes: &[&str]) -> Client {
    Client {
        client_secret: None,
        token_endpoint_auth_method: "none".to_owned(),
        ..client(scopes)
    }
}

/// A second configured user, besides the demo user.
pub fn second_user() -> User {
    User {
        sub: SECOND.to_owned(),
        name: "Second User".to_owned(),
        preferred_username: "second".to_owned(),
        email: "second@example.com".to_owned(),
        ..sign_in_with_vercel_emulator::demo_user()
    }
}

/// The emulator with the demo user and a second one, and the conformance
/// app with every scope.
pub fn emulator() -> Arc<Emulator> {
    emulator_with(client(&["openid", "email", "profile", "offline_access"]))
}

pub fn emulator_with(client: Client) -> Arc<Emulator> {
    let config = EmulatorConfig {
        users: vec![sign_in_with_vercel_emulator::demo_user(), second_user()],
        ..EmulatorConfig::default()
    };
    let emu = Emulator::with_key(ISSUER, config, SigningKey::shared());
    emu.register_client(client);
    emu
}

pub fn get(emu: &Emulator, url: &str) -> Response {
    emu.handle(&http::Request::get(url).body(Vec::new()).unwrap())
}

pub fn post(emu: &Emulator, url: &str, form: &str, authorization: Option<&str>) -> Response {
    let mut request =
        http::Request::post(url).header("content-type", "application/x-www-form-urlencoded");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    emu.handle(&request.body(form.as_bytes().to_vec()).unwrap())
}

pub fn json(response: &Response) -> Value {
    serde_json::from_slice(response.body())
        .unwrap_or_else(|_| panic!("not JSON: {:?}", response.body()))
}

pub fn text(response: &Response) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

/// A 400 shown as a page, not redirected back: what an authorization
/// request whose client or redirect URI cannot be trusted gets (RFC 6749
/// §4.1.2.1).
pub fn assert_error_page(response: &Response) {
    assert_eq!(response.status(), 400);
    assert!(location(response).is_empty(), "redirected");
}

/// The value of header `name`, which the response must have, as text.
pub fn header<'r>(response: &'r Response, name: &str) -> &'r str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap_or_else(|_| panic!("{name} is not text"))
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

pub fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

pub fn challenge() -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()))
}

pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The authorization request of the `authorize` route in Vercel's Authorization
/// Server API reference, with `extra` parameters (or `scope` left out when
/// `scope` is `None`).
pub fn authorize_url(scope: Option<&str>, extra: &str) -> String {
    let mut url = format!(
        "{ISSUER}/oauth/authorize?client_id={CLIENT}&redirect_uri={}&response_type=code&state=st&nonce=n-0S6&code_challenge={}&code_challenge_method=S256",
        encode(REDIRECT),
        challenge()
    );
    if let Some(scope) = scope {
        url.push_str("&scope=");
        url.push_str(&encode(scope));
    }
    url.push_str(extra);
    url
}

/// The query parameters of a redirect back to the app.
pub fn redirect_params(redirect: &Response) -> Vec<(String, String)> {
    assert_eq!(redirect.status(), 302, "{}", text(redirect));
    let url = url::Url::parse(&location(redirect)).unwrap();
    assert!(url.as_str().starts_with(REDIRECT), "{url}");
    url.query_pairs().into_owned().collect()
}

pub fn param(redirect: &Response, name: &str) -> Option<String> {
    redirect_params(redirect)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The `error` that a browser signed in as the demo user is sent back to
/// the app with for the authorization request `url`.
pub fn error_back(emu: &Emulator, url: &str) -> Option<String> {
    param(&Browser::signed_in(emu, DEMO).get(url), "error")
}

pub fn code_in(redirect: &Response) -> String {
    param(redirect, "code").unwrap_or_else(|| panic!("no code in {}", location(redirect)))
}

/// Whether `page` is the emulator's login screen.
pub fn is_login_screen(page: &Response) -> bool {
    page.status() == 200 && text(page).contains("action=\"/login\"")
}

/// Whether `page` is the consent page.
pub fn is_consent_page(page: &Response) -> bool {
    page.status() == 200 && text(page).contains("action=\"/oauth/authorize/decision\"")
}

/// A browser talking to the emulator in process: it keeps the emulator's
/// session cookie, as a browser keeps vercel.com's.
pub struct Browser<'a> {
    emu: &'a Emulator,
    session: Option<String>,
}

impl<'a> Browser<'a> {
    pub fn new(emu: &'a Emulator) -> Self {
        Self { emu, session: None }
    }

    /// A browser already signed in to the emulator as `sub`.
    pub fn signed_in(emu: &'a Emulator, sub: &str) -> Self {
        let mut browser = Self::new(emu);
        let answer = browser.sign_in_as(sub, "/");
        assert_eq!(answer.status(), 303, "{}", text(&answer));
        browser
    }

    /// The session cookie's value, if any.
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    pub fn send(&mut self, request: http::request::Builder, body: &str) -> Response {
        let request = match &self.session {
            Some(s) => request.header("cookie", format!("other=1; emulator_session={s}")),
            None => request,
        };
        let response = self
            .emu
            .handle(&request.body(body.as_bytes().to_vec()).unwrap());
        for value in response.headers().get_all("set-cookie") {
            let value = value.to_str().unwrap();
            if let Some(rest) = value.strip_prefix("emulator_session=") {
                let cookie = rest.split(';').next().unwrap_or_default();
                self.session =
                    (!cookie.is_empty() && !value.contains("Max-Age=0")).then(|| cookie.to_owned());
            }
        }
        response
    }

    pub fn get(&mut self, url: &str) -> Response {
        self.send(http::Request::get(url), "")
    }

    pub fn post(&mut self, url: &str, form: &str) -> Response {
        self.send(
            http::Request::post(url).header("content-type", "application/x-www-form-urlencoded"),
            form,
        )
    }

    /// Clicks `sub` on the login screen, going on to `next`.
    pub fn sign_in_as(&mut self, sub: &str, next: &str) -> Response {
        self.post(
            &format!("{ISSUER}/login"),
            &format!("user={}&next={}", encode(sub), encode(next)),
        )
    }

    /// Signs in as `sub` on the login screen `page` and follows the
    /// redirect back to what the screen was shown for.
    pub fn log_in_on(&mut self, page: &Response, sub: &str) -> Response {
        let signed_in = self.sign_in_as(sub, &hidden_input(page, "next"));
        self.get(&format!("{ISSUER}{}", location(&signed_in)))
    }

    /// Signs out, going on to `/`.
    pub fn sign_out(&mut self) -> Response {
        self.post(&format!("{ISSUER}/logout"), "next=%2F")
    }

    /// Answers the consent page `page` with `decision`.
    pub fn decide(&mut self, page: &Response, decision: &str) -> Response {
        self.post(
            &format!("{ISSUER}/oauth/authorize/decision"),
            &format!("request_id={}&decision={decision}", request_id(page)),
        )
    }

    /// Opens the authorization request and answers the consent page with
    /// Allow when it is shown: the redirect back to the app. The browser
    /// must be signed in.
    pub fn authorize_and_allow(&mut self, scope: Option<&str>, extra: &str) -> Response {
        let answer = self.get(&authorize_url(scope, extra));
        if is_consent_page(&answer) {
            self.decide(&answer, "allow")
        } else {
            answer
        }
    }
}

/// The value of the first hidden input named `name` in `page`.
pub fn hidden_input(page: &Response, name: &str) -> String {
    let html = text(page);
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no {name} input: {html:.300}"))
        .replace("&amp;", "&")
}

/// The consent page's `request_id`.
pub fn request_id(page: &Response) -> String {
    hidden_input(page, "request_id")
}

/// The `exchangeCodeForToken` of Vercel's Authorization Server API reference:
/// the secret in the body.
pub fn exchange(emu: &Emulator, code: &str) -> Response {
    exchange_at(emu, &format!("{API}/login/oauth/token"), code)
}

/// [`exchange`] at the token endpoint `url`.
pub fn exchange_at(emu: &Emulator, url: &str, code: &str) -> Response {
    post(
        emu,
        url,
        &exchange_form(CLIENT, SECRET, code, REDIRECT),
        None,
    )
}

/// The form of [`exchange`], as client `client_id` with `secret`, for the
/// redirect URI `redirect_uri`.
pub fn exchange_form(client_id: &str, secret: &str, code: &str, redirect_uri: &str) -> String {
    format!(
        "grant_type=authorization_code&client_id={client_id}&client_secret={secret}&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
        encode(redirect_uri)
    )
}

/// A code of the demo user's sign-in, consented, not yet exchanged.
pub fn demo_code(emu: &Emulator) -> String {
    code_in(&Browser::signed_in(emu, DEMO).authorize_and_allow(None, ""))
}

/// The status and OAuth `error` (RFC 6749 §5.2) with which the token
/// endpoint refuses the form `form`.
pub fn token_error(emu: &Emulator, form: &str) -> (u16, String) {
    let refused = post(emu, &format!("{API}/login/oauth/token"), form, None);
    let error = json(&refused)["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (refused.status().as_u16(), error)
}

/// A sign-in of the demo user with `scope`: authorize (consenting when the
/// page is shown) and exchange the code.
pub fn tokens(emu: &Emulator, scope: Option<&str>) -> Value {
    tokens_as(emu, DEMO, scope)
}

/// [`tokens`] for user `sub`.
pub fn tokens_as(emu: &Emulator, sub: &str, scope: Option<&str>) -> Value {
    let mut browser = Browser::signed_in(emu, sub);
    let redirect = browser.authorize_and_allow(scope, "");
    let response = exchange(emu, &code_in(&redirect));
    assert_eq!(response.status(), 200, "{}", text(&response));
    json(&response)
}

pub fn refresh(emu: &Emulator, refresh_token: &str) -> Response {
    refresh_with(emu, refresh_token, "")
}

/// [`refresh`] with `extra` (`&name=value…`) added to the form.
pub fn refresh_with(emu: &Emulator, refresh_token: &str, extra: &str) -> Response {
    post(
        emu,
        &format!("{API}/login/oauth/token"),
        &format!(
            "grant_type=refresh_token&client_id={CLIENT}&client_secret={SECRET}&refresh_token={refresh_token}{extra}"
        ),
        None,
    )
}

/// The `validate-token` route of Vercel's Authorization Server API reference:
/// only the token, no client auth.
/// A refused introspection is a failure, never read as `active: false`.
pub fn introspect(emu: &Emulator, token: &str) -> Value {
    let response = post(
        emu,
        &format!("{API}/login/oauth/token/introspect"),
        &format!("token={token}"),
        None,
    );
    assert_eq!(response.status(), 200, "introspection: {}", text(&response));
    json(&response)
}

pub fn active(emu: &Emulator, token: &str) -> bool {
    introspect(emu, token)["active"] == true
}

pub fn revoke(emu: &Emulator, token: &str) -> Response {
    post(
        emu,
        &format!("{API}/login/oauth/token/revoke"),
        &format!("token={token}"),
        Some(&basic(CLIENT, SECRET)),
    )
}

pub fn userinfo(emu: &Emulator, access_token: &str) -> Response {
    post(
        emu,
        &format!("{API}/login/oauth/userinfo"),
        "",
        Some(&format!("Bearer {access_token}")),
    )
}

/// A request to `path` on the API origin, as the REST API, userinfo and
/// the SSO exchange are called: a bearer token and a JSON body when given.
pub fn api_call(
    emu: &Emulator,
    method: http::Method,
    path: &str,
    bearer: Option<&str>,
    json_body: Option<&str>,
) -> Response {
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("{API}{path}"));
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if json_body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let body = json_body.unwrap_or_default().as_bytes().to_vec();
    emu.handle(&request.body(body).unwrap())
}

/// A REST API `GET` with a bearer token.
pub fn rest_get(emu: &Emulator, path: &str, bearer: Option<&str>) -> Response {
    api_call(emu, http::Method::GET, path, bearer, None)
}

/// The member names of a JSON object, sorted: to assert exactly which
/// members an answer has.
pub fn members(value: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    names
}

pub fn str_of<'v>(value: &'v Value, member: &str) -> &'v str {
    value[member]
        .as_str()
        .unwrap_or_else(|| panic!("no {member} in {value}"))
}

/// The header and claims of a compact JWS, decoded (not verified).
pub fn decode_jwt(jwt: &str) -> (Value, Value) {
    let mut parts = jwt.split('.');
    let mut part = || -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap()
    };
    (part(), part())
}

pub fn claims(id_token: &Value) -> Value {
    decode_jwt(id_token.as_str().unwrap()).1
}

/// Whether `jwt`'s RS256 signature verifies with a key of the JWK Set
/// `jwks` named by its `kid` (RFC 7515 §5.2, RFC 7518 §3.3).
pub fn verifies_with(jwt: &str, jwks: &Value) -> bool {
    let (header, _) = decode_jwt(jwt);
    let Some(key) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
    else {
        return false;
    };
    let decode = |m: &str| URL_SAFE_NO_PAD.decode(str_of(key, m)).unwrap();
    let public = ring::signature::RsaPublicKeyComponents {
        n: decode("n"),
        e: decode("e"),
    };
    let (input, signature) = jwt.rsplit_once('.').unwrap();
    public
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            input.as_bytes(),
            &URL_SAFE_NO_PAD.decode(signature).unwrap(),
        )
        .is_ok()
}

/// [`emulator`] on a clock the test moves: the current second, shared.
pub fn emulator_on_a_clock() -> (Arc<Emulator>, Arc<std::sync::atomic::AtomicI64>) {
    use std::sync::atomic::{AtomicI64, Ordering};
    let clock = Arc::new(AtomicI64::new(1_800_000_000));
    let mut emu = emulator();
    let c = clock.clone();
    emu.set_clock(Arc::new(move || c.load(Ordering::SeqCst)));
    (emu, clock)
}

/// Moves `clock` forward by `seconds`.
pub fn advance(clock: &std::sync::atomic::AtomicI64, seconds: i64) {
    clock.fetch_add(seconds, std::sync::atomic::Ordering::SeqCst);
}
