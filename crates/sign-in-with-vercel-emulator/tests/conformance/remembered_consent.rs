//! Consent, remembered per user and app, and the account page that removes it
//! (Vercel's user guide to Sign in with Vercel).

use crate::support::*;

/// Vercel's Authorization Server API reference: "If they have already
/// authorized the app, they will be redirected immediately."
#[test]
fn a_repeat_sign_in_redirects_back_without_the_consent_page() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let first = browser.get(&authorize_url(None, ""));
    assert!(is_consent_page(&first), "the first sign-in shows consent");
    code_in(&browser.decide(&first, "allow"));
    let again = browser.get(&authorize_url(None, ""));
    assert_eq!(exchange(&emu, &code_in(&again)).status(), 200);
}

/// Consent is the user's, not the browser's: the same user in a fresh
/// browser is sent back at once too.
#[test]
fn consent_is_remembered_per_user_across_browsers() {
    let emu = emulator();
    tokens(&emu, None);
    let again = Browser::signed_in(&emu, DEMO).get(&authorize_url(None, ""));
    code_in(&again);
    let other_user = Browser::signed_in(&emu, SECOND).get(&authorize_url(None, ""));
    assert!(is_consent_page(&other_user));
}

/// OpenID Connect Core §3.1.2.1: `prompt=consent` asks again. (Whether
/// Vercel honours `prompt` is undocumented.)
#[test]
fn prompt_consent_shows_the_page_although_consent_is_remembered() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    browser.authorize_and_allow(None, "");
    let page = browser.get(&authorize_url(None, "&prompt=consent"));
    assert!(is_consent_page(&page));
}

/// Consent covers the scopes granted: asking for more asks again.
#[test]
fn asking_for_more_scopes_than_granted_shows_the_page_again() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    browser.authorize_and_allow(Some("openid email"), "");
    assert!(is_consent_page(
        &browser.get(&authorize_url(Some("openid email profile"), ""))
    ));
}

/// Vercel's consent page: Cancel redirects to the callback with
/// `error=access_denied&error_description=...`.
#[test]
fn cancel_redirects_back_with_access_denied() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let page = browser.get(&authorize_url(None, ""));
    let back = browser.decide(&page, "cancel");
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    assert!(param(&back, "error_description").is_some());
    assert_eq!(param(&back, "state").as_deref(), Some("st"));
}

/// A consent page is answered once.
#[test]
fn a_consent_page_is_answered_once() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let page = browser.get(&authorize_url(None, ""));
    code_in(&browser.decide(&page, "allow"));
    assert_eq!(browser.decide(&page, "allow").status(), 400);
}

/// Vercel's user guide to Sign in with Vercel, "Revoking third-party
/// application access": "Select Remove next to the application" ... "you will
/// need to re-authorize the application".
#[test]
fn remove_app_revokes_the_apps_tokens_and_forgets_the_consent() {
    let emu = emulator();
    let t = tokens(&emu, None);
    emu.remove_app(DEMO, CLIENT);
    assert!(!active(&emu, str_of(&t, "access_token")));
    assert!(!active(&emu, str_of(&t, "refresh_token")));
    let page = Browser::signed_in(&emu, DEMO).get(&authorize_url(None, ""));
    assert!(is_consent_page(&page));
}

/// Vercel's user guide to Sign in with Vercel: "Go to the Sign in with Vercel
/// section to view the third-party application." The account page is the
/// signed-in user's.
#[test]
fn the_account_page_lists_the_authorized_app_with_a_remove_button() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let page = browser.get(&format!("{ISSUER}/account/authorizations"));
    assert!(text(&page).contains("No apps are authorized"));
    browser.authorize_and_allow(None, "");
    let page = browser.get(&format!("{ISSUER}/account/authorizations"));
    assert_eq!(page.status(), 200);
    let html = text(&page);
    assert!(html.contains("Conformance app") && html.contains(CLIENT));
    assert!(html.contains("action=\"/account/authorizations/remove\""));
    assert!(html.contains(">Remove</button>"));
    let other = Browser::signed_in(&emu, SECOND).get(&format!("{ISSUER}/account/authorizations"));
    assert!(text(&other).contains("No apps are authorized"));
}

/// Vercel's account settings need a signed-in user: the login screen
/// stands in for the account page until then.
#[test]
fn the_account_page_needs_a_signed_in_browser() {
    let page = get(&emulator(), &format!("{ISSUER}/account/authorizations"));
    assert!(is_login_screen(&page));
}

/// Vercel's user guide to Sign in with Vercel: "Select Remove next to the
/// application": the button revokes and forgets, then shows the list again.
#[test]
fn the_remove_button_revokes_and_forgets() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let back = browser.authorize_and_allow(None, "");
    let t = json(&exchange(&emu, &code_in(&back)));
    let answer = browser.post(
        &format!("{ISSUER}/account/authorizations/remove"),
        &format!("client_id={CLIENT}"),
    );
    assert_eq!(answer.status(), 303);
    assert_eq!(location(&answer), "/account/authorizations");
    assert!(!active(&emu, str_of(&t, "access_token")));
    let html = browser.get(&format!("{ISSUER}/account/authorizations"));
    assert!(text(&html).contains("No apps are authorized"));
    assert!(is_consent_page(&browser.get(&authorize_url(None, ""))));
}

/// A test without a browser: `Emulator::sign_in` gives the session cookie
/// the login screen would have set, and `Emulator::grant_consent` the
/// consent its Allow would have given; the authorization request is then
/// answered with a code at once, which exchanges like any other.
#[test]
fn sign_in_and_grant_consent_let_a_test_skip_both_pages() {
    let emu = emulator();
    let cookie = emu.sign_in(DEMO).expect("a configured user");
    let authorize = |cookie: &str| {
        emu.handle(
            &http::Request::get(authorize_url(Some("openid email"), ""))
                .header("cookie", cookie)
                .body(Vec::new())
                .unwrap(),
        )
    };
    // Signed in, but no consent yet: the consent page, not the login screen.
    assert!(is_consent_page(&authorize(&cookie)));
    // Nothing is recorded for an unknown user, client or scope, or for
    // two scopes in one string.
    assert!(!emu.grant_consent("usr_nobody", CLIENT, &["openid"]));
    assert!(!emu.grant_consent(DEMO, "cl_nobody", &["openid"]));
    assert!(!emu.grant_consent(DEMO, CLIENT, &["openid email"]));
    assert!(is_consent_page(&authorize(&cookie)));
    assert!(emu.grant_consent(DEMO, CLIENT, &["openid", "email"]));
    let back = authorize(&cookie);
    assert_eq!(param(&back, "state").as_deref(), Some("st"));
    assert_eq!(exchange(&emu, &code_in(&back)).status(), 200);
    // Consent covers the scopes granted, not more.
    let more = emu.handle(
        &http::Request::get(authorize_url(Some("openid email profile"), ""))
            .header("cookie", &cookie)
            .body(Vec::new())
            .unwrap(),
    );
    assert!(is_consent_page(&more));
    // A made-up cookie is no session; an unknown user cannot be signed in.
    assert!(is_login_screen(&authorize("emulator_session=made-up")));
    assert_eq!(emu.sign_in("usr_nobody"), None);
}
