//! What the redirect back to the app carries (RFC 6749 §4.1.2), and the
//! request parameters that shape it: `iss`, `response_mode`, `prompt`.

use crate::support::*;

/// Seed 001 documents `code` and `state` in the redirect back, and no
/// `iss`; its discovery (notes/vercel-platform.md) advertises no
/// `authorization_response_iss_parameter_supported`. So by default the
/// emulator sends none and advertises none.
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

/// Seed 001, `state`: it comes back as it was sent.
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

/// Seed 001, `response_type`: "Must be code."
#[test]
fn a_response_type_other_than_code_is_unsupported() {
    let url = authorize_url(None, "").replace("response_type=code", "response_type=token");
    assert_eq!(
        error_back(&emulator(), &url).as_deref(),
        Some("unsupported_response_type")
    );
}

/// Seed 001, `code_challenge_method`: "Must be S256."
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
    assert_eq!(page.status(), 400);
    assert!(location(&page).is_empty());
}

/// OpenID Connect Core §3.1.2.1: "If this parameter contains none with any
/// other value, an error is returned." (Seed 001 lists no `prompt`: the
/// emulator follows OpenID Connect, a guess.)
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

/// `max_age` and `login_hint` are ignored (a guess: Vercel documents
/// neither), and ID tokens carry no `auth_time`.
#[test]
fn max_age_and_login_hint_are_ignored() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let back = browser.authorize_and_allow(None, &format!("&max_age=0&login_hint={SECOND}"));
    let t = json(&exchange(&emu, &code_in(&back)));
    let c = claims(&t["id_token"]);
    assert_eq!(c["sub"], DEMO);
    assert!(c.get("auth_time").is_none(), "{c}");
}
