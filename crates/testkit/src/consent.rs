//! The emulator's login screen and consent page, answered like a user
//! would.

use http::HeaderMap;
use http::header::{COOKIE, LOCATION};

use sign_in_with_vercel_emulator::Emulator;

use crate::Jar;

/// The `Location` of a response, or "" when it has none.
pub fn location(headers: &HeaderMap) -> String {
    headers
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The `request_id` of the consent form in the page's HTML.
pub fn request_id_in(html: &str) -> Option<&str> {
    html.split("name=\"request_id\" value=\"")
        .nth(1)?
        .split('"')
        .next()
}

/// The form body that answers consent request `request_id` with
/// `decision` (`allow` or `cancel`), for `POST /oauth/authorize/decision`.
pub fn decision_form(request_id: &str, decision: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("request_id", request_id)
        .append_pair("decision", decision)
        .finish()
}

/// The first user the emulator's login screen offers (its first
/// `name="user"` button), or `None` when `html` is not the login screen.
pub fn login_choice_in(html: &str) -> Option<String> {
    if !html.contains("action=\"/login\"") {
        return None;
    }
    html.split("name=\"user\" value=\"")
        .nth(1)?
        .split('"')
        .next()
        .map(|sub| sub.replace("&amp;", "&").replace("&quot;", "\""))
}

/// The form body that signs in as `user` at the login screen and goes on to
/// `next`, for `POST /login`.
pub fn login_form(user: &str, next: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("user", user)
        .append_pair("next", next)
        .finish()
}

/// Opens `authorize_url` (the app's redirect to the emulator) in process in
/// a browser of its own, signs in at the login screen as the first user
/// offered, answers the consent page with `decision`, and returns where
/// the emulator sends the browser back: the app's callback URL with its
/// query. A user who already consented is sent back at once, as on Vercel:
/// then that redirect is the answer.
pub fn consent(emulator: &Emulator, authorize_url: &str, decision: &str) -> String {
    consent_as(emulator, authorize_url, decision, None)
}

/// [`consent`], signing in as `user` (a configured `sub`) rather than the
/// first user offered.
pub fn consent_as(
    emulator: &Emulator,
    authorize_url: &str,
    decision: &str,
    user: Option<&str>,
) -> String {
    let mut path = authorize_url
        .strip_prefix(emulator.issuer())
        .unwrap_or_else(|| panic!("not an URL of the emulator at {}", emulator.issuer()))
        .to_owned();
    let mut jar = Jar::default();
    let send = |jar: &mut Jar, request: http::request::Builder, body: String| {
        let request = match jar.header() {
            Some(cookies) => request.header(COOKIE, cookies),
            None => request,
        };
        let response = emulator.handle(&request.body(body.into_bytes()).unwrap());
        jar.store(response.headers());
        response
    };
    for _ in 0..3 {
        let page = send(&mut jar, http::Request::get(&path), String::new());
        if page.status() == 302 {
            return location(page.headers());
        }
        let html = String::from_utf8_lossy(page.body()).into_owned();
        assert_eq!(page.status(), 200, "emulator page: {html:.300}");
        if let Some(first) = login_choice_in(&html) {
            let form = login_form(user.unwrap_or(&first), &path);
            let signed_in = send(&mut jar, form_post("/login"), form);
            assert_eq!(signed_in.status(), 303, "sign-in at the emulator");
            path = location(signed_in.headers());
            continue;
        }
        let request_id =
            request_id_in(&html).unwrap_or_else(|| panic!("no request_id in the consent page"));
        let answer = send(
            &mut jar,
            form_post("/oauth/authorize/decision"),
            decision_form(request_id, decision),
        );
        assert_eq!(answer.status(), 302, "consent decision");
        return location(answer.headers());
    }
    panic!("the emulator kept showing its login screen");
}

fn form_post(path: &str) -> http::request::Builder {
    http::Request::post(path).header("content-type", "application/x-www-form-urlencoded")
}
