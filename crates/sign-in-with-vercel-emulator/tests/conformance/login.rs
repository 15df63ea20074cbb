//! Signing in to the emulator, per browser. Vercel's Authorization Server API
//! reference: "If the user is not logged in, Vercel will show a login screen
//! and then the consent page to grant or deny the requested permissions."

use sign_in_with_vercel_emulator::{Emulator, EmulatorConfig, SigningKey};

use crate::support::*;

/// Vercel's Authorization Server API reference: a browser not signed in sees
/// the login screen first, listing the configured users; one click signs in and
/// goes on to the consent page.
#[test]
fn a_browser_not_signed_in_sees_the_login_screen_then_the_consent_page() {
    let emu = emulator();
    let mut browser = Browser::new(&emu);
    let page = browser.get(&authorize_url(None, ""));
    assert!(is_login_screen(&page), "{}", text(&page));
    let html = text(&page);
    for user in [DEMO, SECOND] {
        assert!(
            html.contains(&format!("name=\"user\" value=\"{user}\"")),
            "{user}"
        );
    }
    assert!(!html.contains("type=\"password\""), "no password");
    let signed_in = browser.sign_in_as(SECOND, &hidden_input(&page, "next"));
    assert_eq!(signed_in.status(), 303);
    assert!(browser.session().is_some());
    let consent = browser.get(&format!("{ISSUER}{}", location(&signed_in)));
    assert!(is_consent_page(&consent), "{}", text(&consent));
    assert!(text(&consent).contains("Second User"));
    let back = browser.decide(&consent, "allow");
    let t = json(&exchange(&emu, &code_in(&back)));
    assert_eq!(claims(&t["id_token"])["sub"], SECOND);
}

/// Vercel's Authorization Server API reference: "If they have already
/// authorized the app, they will be redirected immediately" — the user of this
/// browser, not whoever last clicked Allow elsewhere. Two browsers are two
/// users.
#[test]
fn two_browsers_are_two_users() {
    let emu = emulator();
    let mut first = Browser::signed_in(&emu, DEMO);
    let code = code_in(&first.authorize_and_allow(None, ""));
    assert_eq!(
        claims(&json(&exchange(&emu, &code))["id_token"])["sub"],
        DEMO
    );

    let mut second = Browser::new(&emu);
    let page = second.get(&authorize_url(None, ""));
    assert!(
        is_login_screen(&page),
        "the second browser is not signed in"
    );
    second.sign_in_as(SECOND, "/");
    let consent = second.get(&authorize_url(None, ""));
    assert!(
        is_consent_page(&consent),
        "the second user has not consented"
    );
    let code = code_in(&second.decide(&consent, "allow"));
    assert_eq!(
        claims(&json(&exchange(&emu, &code))["id_token"])["sub"],
        SECOND
    );

    let again = first.get(&authorize_url(None, ""));
    let code = code_in(&again);
    assert_eq!(
        claims(&json(&exchange(&emu, &code))["id_token"])["sub"],
        DEMO
    );
}

/// OpenID Connect Core §3.1.2.1, `prompt=none`: "login_required" when the
/// End-User is not authenticated.
#[test]
fn prompt_none_in_a_browser_not_signed_in_is_login_required() {
    let emu = emulator();
    tokens(&emu, None);
    let back = Browser::new(&emu).get(&authorize_url(None, "&prompt=none"));
    assert_eq!(param(&back, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&back, "state").as_deref(), Some("st"));
}

/// OpenID Connect Core §3.1.2.1, `prompt=none`: "consent_required" when
/// the signed-in user has not consented.
#[test]
fn prompt_none_without_consent_is_consent_required() {
    let url = authorize_url(None, "&prompt=none");
    assert_eq!(
        error_back(&emulator(), &url).as_deref(),
        Some("consent_required")
    );
}

/// `prompt=none` with a signed-in browser whose user consented: a code, no
/// page.
#[test]
fn prompt_none_signed_in_and_consented_is_a_code() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    browser.authorize_and_allow(None, "");
    let back = browser.get(&authorize_url(None, "&prompt=none"));
    code_in(&back);
}

/// OpenID Connect Core §3.1.2.1, `prompt=login`: the login screen again,
/// even though the browser is signed in; after it, no second login screen.
#[test]
fn prompt_login_shows_the_login_screen_to_a_signed_in_browser() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    browser.authorize_and_allow(None, "");
    let page = browser.get(&authorize_url(None, "&prompt=login"));
    assert!(is_login_screen(&page));
    let next = hidden_input(&page, "next");
    assert!(!next.contains("prompt"), "{next}");
    let signed_in = browser.sign_in_as(DEMO, &next);
    let back = browser.get(&format!("{ISSUER}{}", location(&signed_in)));
    code_in(&back);
}

/// `prompt=select_account` shows the login screen, where another user can
/// be chosen.
#[test]
fn prompt_select_account_lets_the_browser_switch_users() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let page = browser.get(&authorize_url(None, "&prompt=select_account"));
    assert!(is_login_screen(&page));
    assert!(text(&page).contains("This browser is signed in as"));
    let consent = browser.log_in_on(&page, SECOND);
    assert!(text(&consent).contains("Second User"));
}

/// Sign-out ends this browser's session only: the next authorization
/// request shows the login screen again.
#[test]
fn signing_out_shows_the_login_screen_again() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let mut other = Browser::signed_in(&emu, DEMO);
    browser.authorize_and_allow(None, "");
    let out = browser.sign_out();
    assert_eq!(out.status(), 303);
    assert_eq!(location(&out), "/");
    assert!(browser.session().is_none());
    assert!(is_login_screen(&browser.get(&authorize_url(None, ""))));
    code_in(&other.get(&authorize_url(None, "")));
}

/// The consent page says who is signed in and offers to switch.
#[test]
fn the_consent_page_names_the_user_and_offers_to_switch() {
    let emu = emulator();
    let page = Browser::signed_in(&emu, DEMO).get(&authorize_url(None, ""));
    let html = text(&page);
    assert!(html.contains("Signed in as <strong>Demo User</strong>"));
    assert!(html.contains("action=\"/logout\""));
    assert!(html.contains("Sign in as someone else"));
}

/// A consent page answers only from the browser it was shown to: another
/// browser cannot submit its `request_id`, even one signed in as the same
/// user.
#[test]
fn a_consent_page_cannot_be_answered_from_another_browser() {
    let emu = emulator();
    let page = Browser::signed_in(&emu, DEMO).get(&authorize_url(None, ""));
    let answer = Browser::signed_in(&emu, DEMO).decide(&page, "allow");
    assert_error_page(&answer);
}

/// A browser that switched users after the page was shown starts again.
#[test]
fn a_consent_page_is_void_once_the_browser_switched_users() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let page = browser.get(&authorize_url(None, ""));
    browser.sign_in_as(SECOND, "/");
    assert_eq!(browser.decide(&page, "allow").status(), 400);
}

/// Another site cannot sign a browser in or out (Fetch Metadata's
/// `Sec-Fetch-Site`, and `Origin`).
#[test]
fn another_sites_form_posts_are_refused() {
    let emu = emulator();
    let mut browser = Browser::new(&emu);
    for (header, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let answer = browser.send(
            http::Request::post(format!("{ISSUER}/login"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header(header, value),
            &format!("user={DEMO}&next=%2F"),
        );
        assert_eq!(answer.status(), 403, "{header}");
        assert!(browser.session().is_none());
    }
    // The emulator's own page, whose `Referrer-Policy: no-referrer` makes
    // the browser send `Origin: null`, or names the issuer.
    for origin in ["null", ISSUER] {
        let own = browser.send(
            http::Request::post(format!("{ISSUER}/login"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("sec-fetch-site", "same-origin")
                .header("origin", origin),
            &format!("user={DEMO}&next=%2F"),
        );
        assert_eq!(own.status(), 303, "{origin}");
    }
}

/// The login screen goes on only to a path of the emulator's own origin.
#[test]
fn sign_in_never_redirects_off_the_emulator() {
    let emu = emulator();
    for next in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
    ] {
        let answer = Browser::new(&emu).sign_in_as(DEMO, next);
        assert_eq!(location(&answer), "/", "{next}");
    }
}

/// Only configured users can be signed in as.
#[test]
fn an_unknown_user_cannot_sign_in() {
    let emu = emulator();
    let mut browser = Browser::new(&emu);
    let answer = browser.sign_in_as("usr_nobody", "/");
    assert_eq!(answer.status(), 400);
    assert!(browser.session().is_none());
}

/// The session cookie is the browser's own, unguessable, `HttpOnly` and
/// `SameSite=Lax` (so the app's redirect to the authorization endpoint, a
/// top-level navigation, carries it).
#[test]
fn the_session_cookie_is_httponly_and_lax() {
    let emu = emulator();
    let answer = Browser::new(&emu).sign_in_as(DEMO, "/");
    let cookie = answer.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("emulator_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    let value = cookie["emulator_session=".len()..]
        .split(';')
        .next()
        .unwrap();
    assert!(value.len() >= 43, "{value}");
    let other = Browser::new(&emu).sign_in_as(DEMO, "/");
    assert_ne!(
        other.headers()["set-cookie"],
        answer.headers()["set-cookie"]
    );
}

/// Served over HTTPS (an issuer like `https://vercel.com`), the session
/// cookie is `Secure`, and so is the one that deletes it.
#[test]
fn over_https_the_session_cookie_is_secure() {
    let emu = Emulator::with_key(
        "https://vercel.com",
        EmulatorConfig::default(),
        SigningKey::shared(),
    );
    let mut browser = Browser::new(&emu);
    for (path, form) in [
        ("/login", format!("user={DEMO}")),
        ("/logout", String::new()),
    ] {
        let answer = browser.post(&format!("https://vercel.com{path}"), &form);
        assert_eq!(answer.status(), 303, "{path}");
        let cookie = answer.headers()["set-cookie"].to_str().unwrap();
        assert!(cookie.ends_with("; Secure"), "{cookie}");
    }
    let local = Browser::new(&emulator()).sign_in_as(DEMO, "/");
    let cookie = local.headers()["set-cookie"].to_str().unwrap();
    assert!(
        !cookie.contains("Secure"),
        "plain http://127.0.0.1: {cookie}"
    );
}

/// `GET /login` shows the login screen on its own (to switch users).
#[test]
fn the_login_screen_has_its_own_url() {
    let page = get(
        &emulator(),
        &format!("{ISSUER}/login?next=%2Faccount%2Fauthorizations"),
    );
    assert!(is_login_screen(&page));
    assert_eq!(hidden_input(&page, "next"), "/account/authorizations");
}
