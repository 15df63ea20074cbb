//! The emulator's sign-in and consent page, answered like a user would.

use http::HeaderMap;
use http::header::LOCATION;

use sign_in_with_vercel_emulator::Emulator;

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
/// `decision` (`allow` or `deny`), for `POST /oauth/authorize/decision`.
pub fn decision_form(request_id: &str, decision: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("request_id", request_id)
        .append_pair("decision", decision)
        .finish()
}

/// Opens `authorize_url` (the app's redirect to the emulator) in process,
/// answers its consent page with `decision`, and returns where the
/// emulator sends the browser back: the app's callback URL with its query.
/// A user who already consented is sent back at once, as on Vercel: then
/// that redirect is the answer.
pub fn consent(emulator: &Emulator, authorize_url: &str, decision: &str) -> String {
    let path = authorize_url
        .strip_prefix(emulator.issuer())
        .unwrap_or_else(|| panic!("not an URL of the emulator at {}", emulator.issuer()));
    let page = emulator.handle(&http::Request::get(path).body(Vec::new()).unwrap());
    if page.status() == 302 {
        return location(page.headers());
    }
    let html = String::from_utf8_lossy(page.body());
    assert_eq!(page.status(), 200, "consent page: {html:.300}");
    let request_id =
        request_id_in(&html).unwrap_or_else(|| panic!("no request_id in the consent page"));
    let answer = emulator.handle(
        &http::Request::post("/oauth/authorize/decision")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(decision_form(request_id, decision).into_bytes())
            .unwrap(),
    );
    assert_eq!(answer.status(), 302, "consent decision");
    location(answer.headers())
}
