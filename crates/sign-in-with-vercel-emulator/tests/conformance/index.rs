//! The index page: the emulator's origins, settings, and every guess it
//! makes where Vercel documents nothing.

use crate::support::*;

/// The titles of the guesses on the index page, in order, tags stripped.
fn guess_titles(html: &str) -> Vec<String> {
    let list = html
        .split("<ul id=\"guesses\">")
        .nth(1)
        .and_then(|rest| rest.split("</ul>").next())
        .expect("the list of guesses");
    list.split("<li><strong>")
        .skip(1)
        .map(|item| {
            let title = item.split("</strong>").next().unwrap();
            title.replace("<code>", "").replace("</code>", "")
        })
        .collect()
}

/// Every behaviour Vercel does not document is on the index page, and
/// nothing else: the whole list, in order.
#[test]
fn the_index_page_lists_exactly_the_guesses() {
    let page = get(&emulator(), &format!("{ISSUER}/"));
    assert_eq!(page.status(), 200);
    assert_eq!(
        guess_titles(&text(&page)),
        [
            "Refresh-token reuse.",
            "Authorization-code reuse.",
            "Refresh-token lifetime.",
            "Revoking a refresh token.",
            "Deleting a token through the REST API.",
            "Remembered consent.",
            "prompt.",
            "max_age, auth_time and login_hint.",
            "response_mode.",
            "Authorization requests by POST.",
            "Request objects.",
            "S256 code_challenge.",
            "Length of authorization parameters.",
            "scope.",
            "iss in authorization responses.",
            "The emulator's login.",
            "Lifetimes Vercel does not state.",
            "Basic authentication at the token endpoint.",
            "Token endpoint authentication.",
            "Parameters without a value.",
            "The userinfo scheme.",
            "Revocation by a public client.",
            "Revoking another app's token.",
            "Refreshed ID tokens.",
            "Introspection.",
            "CORS.",
            "REST API refusals.",
            "GET /v2/user.",
            "SSO redirect login.",
            "SSO exchange.",
            "Marketplace tokens.",
        ]
        .map(|t| t.replace('\'', "&#39;"))
    );
}

/// The index page names the three origins and the settings in force.
#[test]
fn the_index_page_names_the_origins_and_settings() {
    let emu = emulator();
    let html = text(&get(&emu, &format!("{ISSUER}/")));
    for origin in [ISSUER, API, MARKETPLACE] {
        assert!(html.contains(origin), "{origin}");
    }
    assert!(html.contains("revoke_grant"));
    assert!(html.contains("off (no <code>iss</code>"));
    emu.set_authorization_response_iss(true);
    let html = text(&get(&emu, &format!("{ISSUER}/")));
    assert!(html.contains("on (<code>iss</code>"));
}

/// The index page says who this browser is signed in as.
#[test]
fn the_index_page_shows_the_browsers_sign_in() {
    let emu = emulator();
    let html = text(&get(&emu, &format!("{ISSUER}/")));
    assert!(html.contains("This browser is not signed in"));
    let mut browser = Browser::signed_in(&emu, SECOND);
    let html = text(&browser.get(&format!("{ISSUER}/")));
    assert!(html.contains("signed in as <strong>Second User</strong>"));
}
