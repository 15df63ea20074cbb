//! What the redirect back to the app carries (RFC 6749 §4.1.2), and the
//! request parameters that shape it: `iss`, `response_mode`, `prompt`,
//! `max_age`, empty parameters, POST, request objects, the PKCE challenge.

use sha2::{Digest as _, Sha256};

use crate::support::*;

/// Vercel's Authorization Server API reference documents `code` and `state` in
/// the redirect back, and no `iss`; Vercel's discovery
/// (`https://vercel.com/.well-known/oauth-authorization-server`) advertises no
/// `authorization_response_iss_parameter_supported`. So by default the emulator
/// sends none and advertises none.
#[test]
fn by_default_no_iss_is_sent_or_advertised() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let back = browser.authorize_and_allow(None, "");
    let names: Vec<String> = redirect_params(&back).into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["code", "state"]);
    let d = json(&get(
        &emu,
        &format!("{ISSUER}/.well-known/openid-configuration"),
    ));
    assert!(
        d.get("authorization_response_iss_parameter_supported")
            .is_none(),
        "{d}"
    );
}

/// The setting `authorization_response_iss` (RFC 9207): `iss` in every
/// authorization response, errors included, and advertised.
#[test]
fn with_the_setting_iss_is_in_every_authorization_response_and_advertised() {
    let emu = emulator();
    emu.set_authorization_response_iss(true);
    let mut browser = Browser::signed_in(&emu, DEMO);
    let back = browser.authorize_and_allow(None, "");
    assert_eq!(param(&back, "iss").as_deref(), Some(ISSUER));
    let error = browser.get(&authorize_url(None, "&response_mode=fragment"));
    assert_eq!(param(&error, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&error, "iss").as_deref(), Some(ISSUER));
    let d = json(&get(
        &emu,
        &format!("{ISSUER}/.well-known/openid-configuration"),
    ));
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
}

/// Vercel's Authorization Server API reference, `state`: it comes back as it
/// was sent.
#[test]
fn state_comes_back_unchanged() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let back = browser.authorize_and_allow(None, "");
    assert_eq!(param(&back, "state").as_deref(), Some("st"));
}

/// Discovery advertises `response_modes_supported: ["query"]`; another
/// mode is refused rather than silently answered in the query (a guess:
/// Vercel documents no `response_mode`).
#[test]
fn a_response_mode_other_than_query_is_invalid_request() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    for mode in ["fragment", "form_post"] {
        let back = browser.get(&authorize_url(None, &format!("&response_mode={mode}")));
        assert_eq!(
            param(&back, "error").as_deref(),
            Some("invalid_request"),
            "{mode}"
        );
    }
    let query = browser.get(&authorize_url(None, "&response_mode=query"));
    assert!(is_consent_page(&query));
}

/// Vercel's Authorization Server API reference, `response_type`: "Must be
/// code."
#[test]
fn a_response_type_other_than_code_is_unsupported() {
    let url = authorize_url(None, "").replace("response_type=code", "response_type=token");
    assert_eq!(
        error_back(&emulator(), &url).as_deref(),
        Some("unsupported_response_type")
    );
}

/// Vercel's Authorization Server API reference, `code_challenge_method`: "Must
/// be S256."
#[test]
fn a_plain_code_challenge_method_is_refused() {
    let url = authorize_url(None, "")
        .replace("code_challenge_method=S256", "code_challenge_method=plain");
    assert_eq!(
        error_back(&emulator(), &url).as_deref(),
        Some("invalid_request")
    );
}

/// RFC 6749 §4.1.2.1: an unknown client or redirect URI is shown, never
/// redirected to.
#[test]
fn an_unregistered_redirect_uri_is_a_page_not_a_redirect() {
    let emu = emulator();
    let url =
        authorize_url(None, "").replace(&encode(REDIRECT), &encode("https://evil.example/cb"));
    let page = Browser::signed_in(&emu, DEMO).get(&url);
    assert_error_page(&page);
}

/// OpenID Connect Core §3.1.2.1: "If this parameter contains none with any
/// other value, an error is returned." (Vercel's Authorization Server API
/// reference lists no `prompt`: the emulator follows OpenID Connect, a guess.)
#[test]
fn prompt_none_with_another_value_is_invalid_request() {
    let url = authorize_url(None, "&prompt=none%20consent");
    assert_eq!(
        error_back(&emulator(), &url).as_deref(),
        Some("invalid_request")
    );
}

/// A `prompt` value OpenID Connect does not define is refused, as the
/// `prompt=create` specification has an OP answer one it does not
/// support (a guess).
#[test]
fn an_unknown_prompt_value_is_invalid_request() {
    let url = authorize_url(None, "&prompt=create");
    assert_eq!(
        error_back(&emulator(), &url).as_deref(),
        Some("invalid_request")
    );
}

/// RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if
/// they were omitted from the request." An empty `response_mode=` is no
/// `response_mode`, not an unsupported one.
#[test]
fn an_empty_response_mode_is_an_absent_one() {
    let emu = emulator();
    let page = Browser::signed_in(&emu, DEMO).get(&authorize_url(None, "&response_mode="));
    assert!(is_consent_page(&page), "{}", text(&page));
}

/// RFC 6749 §3.1 and §4.1.2: `state` is sent back "if the "state"
/// parameter was present"; an empty one was not.
#[test]
fn an_empty_state_is_not_sent_back() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    browser.authorize_and_allow(None, "");
    let url = authorize_url(None, "").replace("&state=st&", "&state=&");
    let back = browser.get(&url);
    let names: Vec<String> = redirect_params(&back).into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["code"]);
    let error = browser.get(&format!("{url}&prompt=create"));
    let names: Vec<String> = redirect_params(&error)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(names, ["error", "error_description"]);
}

/// RFC 6749 §3.1: an empty `nonce=` is no `nonce`, so the ID token has
/// none (OpenID Connect Core §2: `nonce` is there when the request had
/// one), rather than `"nonce": ""`.
#[test]
fn an_empty_nonce_puts_no_nonce_in_the_id_token() {
    let emu = emulator();
    let url = authorize_url(None, "").replace("&nonce=n-0S6&", "&nonce=&");
    let mut browser = Browser::signed_in(&emu, DEMO);
    let page = browser.get(&url);
    let back = browser.decide(&page, "allow");
    let c = claims(&json(&exchange(&emu, &code_in(&back)))["id_token"]);
    assert!(c.get("nonce").is_none(), "{c}");
}

/// Empty `prompt=` and `max_age=` are absent ones too: no login screen,
/// no `invalid_request`.
#[test]
fn empty_prompt_and_max_age_are_absent_ones() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    browser.authorize_and_allow(None, "");
    code_in(&browser.get(&authorize_url(None, "&prompt=&max_age=")));
}

/// OpenID Connect Core §2, `auth_time`: "Time when the End-User
/// authentication occurred", in seconds since the epoch: the browser's
/// sign-in to the emulator, on the emulator's clock, not the time of the
/// code. §12.2: a refreshed ID token keeps it.
#[test]
fn id_tokens_carry_the_sign_in_time_as_auth_time_even_when_refreshed() {
    let (emu, clock) = emulator_on_a_clock();
    let signed_in_at = clock.load(std::sync::atomic::Ordering::SeqCst);
    let mut browser = Browser::signed_in(&emu, DEMO);
    advance(&clock, 30);
    let back = browser.authorize_and_allow(None, "");
    let t = json(&exchange(&emu, &code_in(&back)));
    let c = claims(&t["id_token"]);
    assert_eq!(c["auth_time"], signed_in_at, "{c}");
    assert_eq!(c["iat"], signed_in_at + 30);
    advance(&clock, 600);
    let refreshed = json(&refresh(&emu, str_of(&t, "refresh_token")));
    assert_eq!(claims(&refreshed["id_token"])["auth_time"], signed_in_at);
    let d = json(&get(
        &emu,
        &format!("{ISSUER}/.well-known/openid-configuration"),
    ));
    assert!(
        d["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&"auth_time".into()),
        "{d}"
    );
}

/// OpenID Connect Core §3.1.2.1, `max_age`: "If the elapsed time is
/// greater than this value, the OP MUST attempt to actively
/// re-authenticate the End-User": the login screen again, then a code
/// whose ID token has the new sign-in's `auth_time`. Not greater: a code
/// at once.
#[test]
fn a_sign_in_older_than_max_age_shows_the_login_screen_again() {
    let (emu, clock) = emulator_on_a_clock();
    let mut browser = Browser::signed_in(&emu, DEMO);
    browser.authorize_and_allow(None, "");
    advance(&clock, 100);
    code_in(&browser.get(&authorize_url(None, "&max_age=100")));
    let page = browser.get(&authorize_url(None, "&max_age=99"));
    assert!(is_login_screen(&page), "{}", text(&page));
    let next = hidden_input(&page, "next");
    assert!(!next.contains("max_age"), "{next}");
    let signed_in = browser.sign_in_as(DEMO, &next);
    let back = browser.get(&format!("{ISSUER}{}", location(&signed_in)));
    let c = claims(&json(&exchange(&emu, &code_in(&back)))["id_token"]);
    assert_eq!(
        c["auth_time"],
        clock.load(std::sync::atomic::Ordering::SeqCst)
    );
}

/// "max_age=0 is equivalent to prompt=login" (OpenID Connect Core
/// §3.1.2.1): the login screen even for a sign-in of this very second.
#[test]
fn max_age_zero_always_shows_the_login_screen() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    browser.authorize_and_allow(None, "");
    let page = browser.get(&authorize_url(None, "&max_age=0"));
    assert!(is_login_screen(&page), "{}", text(&page));
    code_in(&browser.log_in_on(&page, DEMO));
}

/// OpenID Connect Core §3.1.2.1, `prompt=none`: "login_required" when the
/// End-User would have to sign in, as a sign-in older than `max_age`
/// must.
#[test]
fn prompt_none_with_a_sign_in_older_than_max_age_is_login_required() {
    let (emu, clock) = emulator_on_a_clock();
    let mut browser = Browser::signed_in(&emu, DEMO);
    browser.authorize_and_allow(None, "");
    advance(&clock, 61);
    let back = browser.get(&authorize_url(None, "&prompt=none&max_age=60"));
    assert_eq!(param(&back, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&back, "state").as_deref(), Some("st"));
    let back = browser.get(&authorize_url(None, "&prompt=none&max_age=0"));
    assert_eq!(param(&back, "error").as_deref(), Some("login_required"));
    code_in(&browser.get(&authorize_url(None, "&prompt=none&max_age=61")));
}

/// `max_age` is a number of seconds, a non-negative integer (OpenID
/// Connect Core §3.1.2.1); anything else is `invalid_request`.
#[test]
fn a_malformed_max_age_is_invalid_request() {
    let emu = emulator();
    for bad in ["-1", "1.5", "ten", "+5", "%205", "0x10"] {
        let url = authorize_url(None, &format!("&max_age={bad}"));
        assert_eq!(
            error_back(&emu, &url).as_deref(),
            Some("invalid_request"),
            "{bad}"
        );
    }
}

/// `login_hint` is ignored (a guess: Vercel documents none, and OpenID
/// Connect Core §3.1.2.1 makes it a MAY): the browser's user signs in.
#[test]
fn login_hint_is_ignored() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let back = browser.authorize_and_allow(None, &format!("&login_hint={SECOND}"));
    let c = claims(&json(&exchange(&emu, &code_in(&back)))["id_token"]);
    assert_eq!(c["sub"], DEMO);
}

/// The query of [`authorize_url`]: an authorization request's parameters,
/// as a form body.
/// POSTs the authorization request from `browser`: `query` appended to
/// the endpoint, `extra` to the form.
fn post_authorize(browser: &mut Browser, query: &str, extra: &str) -> Response {
    browser.post(
        &format!("{ISSUER}/oauth/authorize{query}"),
        &authorize_form(None, extra),
    )
}

fn authorize_form(scope: Option<&str>, extra: &str) -> String {
    let url = authorize_url(scope, extra);
    url.split_once('?')
        .map(|(_, q)| q.to_owned())
        .unwrap_or_default()
}

/// OpenID Connect Core §3.1.2.1: "Authorization Servers MUST support the
/// use of the HTTP GET and POST methods": the same request, form-encoded
/// in the body, gets the same answer.
#[test]
fn the_authorization_endpoint_takes_post() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let page = post_authorize(&mut browser, "", "");
    assert!(is_consent_page(&page), "{}", text(&page));
    let back = browser.decide(&page, "allow");
    assert_eq!(param(&back, "state").as_deref(), Some("st"));
    let t = json(&exchange(&emu, &code_in(&back)));
    assert_eq!(claims(&t["id_token"])["nonce"], "n-0S6");
    let again = post_authorize(&mut browser, "", "&prompt=none");
    code_in(&again);
}

/// A POSTed request from a browser not signed in goes through the login
/// screen, and comes back as a GET with the same parameters.
#[test]
fn a_posted_request_survives_the_login_screen() {
    let emu = emulator();
    let mut browser = Browser::new(&emu);
    let page = post_authorize(&mut browser, "", "");
    assert!(is_login_screen(&page), "{}", text(&page));
    let consent = browser.log_in_on(&page, DEMO);
    assert!(is_consent_page(&consent), "{}", text(&consent));
    assert_eq!(
        param(&browser.decide(&consent, "allow"), "state").as_deref(),
        Some("st")
    );
}

/// A parameter in both the query and the body of a POST is sent twice
/// (RFC 6749 §3.1: "MUST NOT be included more than once"):
/// `invalid_request`, with no `state`, which cannot be told; a repeated
/// `client_id` or `redirect_uri` is shown, never redirected to (§4.1.2.1).
#[test]
fn a_parameter_in_both_the_query_and_the_body_is_repeated() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let back = post_authorize(&mut browser, "?state=other", "");
    assert_eq!(param(&back, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&back, "state"), None);
    let page = post_authorize(&mut browser, &format!("?client_id={CLIENT}"), "");
    assert_error_page(&page);
}

/// A POST whose body is not a form is refused on a page: its parameters,
/// `redirect_uri` among them, cannot be read.
#[test]
fn a_posted_body_that_is_not_a_form_is_refused() {
    let emu = emulator();
    let answer = Browser::signed_in(&emu, DEMO).send(
        http::Request::post(format!("{ISSUER}/oauth/authorize"))
            .header("content-type", "application/json"),
        &authorize_form(None, ""),
    );
    assert_error_page(&answer);
}

/// OpenID Connect Core §6.1 and §6.2: an OP that takes no request object
/// answers `request_not_supported` to `request` and
/// `request_uri_not_supported` to `request_uri`, back at the redirect URI
/// with the `state`; discovery says it takes neither (Discovery §3: an
/// absent `request_uri_parameter_supported` means `true`).
#[test]
fn request_objects_are_not_supported() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    for (parameter, error) in [
        ("request=eyJhbGciOiJub25lIn0.e30.", "request_not_supported"),
        (
            "request_uri=https%3A%2F%2Fapp.example%2Frequest.jwt",
            "request_uri_not_supported",
        ),
    ] {
        let back = browser.get(&authorize_url(None, &format!("&{parameter}")));
        assert_eq!(param(&back, "error").as_deref(), Some(error), "{parameter}");
        assert_eq!(param(&back, "state").as_deref(), Some("st"));
    }
    let d = json(&get(
        &emu,
        &format!("{ISSUER}/.well-known/openid-configuration"),
    ));
    assert_eq!(d["request_parameter_supported"], false, "{d}");
    assert_eq!(d["request_uri_parameter_supported"], false, "{d}");
}

/// RFC 7636 §4.2: an S256 `code_challenge` is
/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`, always 43 base64url
/// characters. Another shape, such as the digest in hexadecimal (a common
/// client bug), is `invalid_request` at once (a guess: Vercel documents no
/// such check), not a code that no verifier can redeem.
#[test]
fn an_s256_challenge_of_another_shape_is_invalid_request() {
    let emu = emulator();
    let hex: String = Sha256::digest(VERIFIER.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let good = challenge();
    for bad in [
        hex,
        format!("{good}A"),
        encode(&format!("{good}=")),
        good[..42].to_owned(),
    ] {
        let url = authorize_url(None, "").replace(&good, &bad);
        assert_eq!(
            error_back(&emu, &url).as_deref(),
            Some("invalid_request"),
            "{bad}"
        );
    }
}

/// A parameter of up to 2,048 bytes is read; a longer one is
/// `invalid_request`, sent back to the app (a guess, listed on the index
/// page: Vercel documents no limit; 2,048 is what browsers and proxies
/// keep of a URL's parts).
#[test]
fn a_parameter_longer_than_2048_bytes_is_invalid_request() {
    let emu = emulator();
    let at_limit = format!("&login_hint={}", "a".repeat(2048));
    code_in(&Browser::signed_in(&emu, DEMO).authorize_and_allow(None, &at_limit));
    let over = authorize_url(None, &format!("&login_hint={}", "a".repeat(2049)));
    assert_eq!(error_back(&emu, &over).as_deref(), Some("invalid_request"));
}

/// The consent page can be answered for ten minutes after it was shown
/// (a guess, listed on the index page); at ten minutes it has expired
/// and the user starts again from the app.
#[test]
fn the_consent_page_can_be_answered_for_ten_minutes() {
    let (emu, clock) = emulator_on_a_clock();
    let mut first = Browser::signed_in(&emu, DEMO);
    let page = first.get(&authorize_url(None, ""));
    assert!(is_consent_page(&page), "{}", text(&page));
    advance(&clock, 599);
    code_in(&first.decide(&page, "allow"));
    let mut second = Browser::signed_in(&emu, SECOND);
    let page = second.get(&authorize_url(None, ""));
    assert!(is_consent_page(&page), "{}", text(&page));
    advance(&clock, 600);
    let late = second.decide(&page, "allow");
    assert_eq!(late.status(), 400);
    assert!(text(&late).contains("expired"), "{}", text(&late));
}

/// A GET's body has no meaning (RFC 9110 §9.3.1): only the query is the
/// request, even when the body looks like a form; only a POST's body is
/// read (OpenID Connect Core §3.1.2.1).
#[test]
fn a_get_s_body_is_not_read() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    browser.authorize_and_allow(None, "");
    let back = browser.send(
        http::Request::get(authorize_url(None, ""))
            .header("content-type", "application/x-www-form-urlencoded"),
        "state=from-the-body&prompt=none",
    );
    assert_eq!(param(&back, "state").as_deref(), Some("st"));
    code_in(&back);
}
