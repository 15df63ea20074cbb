//! Which scopes a request gets (Vercel's Authorization Server API reference,
//! `scope`) and what follows from them: the ID token with `openid` only, the
//! refresh token with `offline_access` only.

use crate::support::*;

/// Vercel's Authorization Server API reference, `scope`: "If you don't pass
/// scope, all scopes configured in your app are included by default."
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

/// Vercel's Authorization Server API reference, `scope`: "If you pass scopes
/// that aren't configured in your app's Manage settings, they're filtered out."
#[test]
fn unconfigured_scopes_are_filtered_out() {
    let emu = emulator_with(client(&["openid", "email"]));
    let t = tokens(&emu, Some("openid email offline_access"));
    assert_eq!(t["scope"], "openid email");
}

/// RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they
/// were omitted from the request." An empty `scope=` is an absent one, and gets
/// what Vercel's Authorization Server API reference gives no `scope`: "all
/// scopes configured in your app".
#[test]
fn an_empty_scope_is_an_absent_scope() {
    let emu = emulator_with(client(&["openid", "email"]));
    let t = tokens(&emu, Some(""));
    assert_eq!(t["scope"], "openid email");
    assert!(t["id_token"].is_string());
    assert_eq!(t["scope"], tokens(&emu, None)["scope"]);
}

/// Only unknown scopes: every one "filtered out" (Vercel's Authorization Server
/// API reference), nothing left: `invalid_scope` (RFC 6749 §4.1.2.1), not a
/// grant of everything.
#[test]
fn only_unknown_scopes_are_invalid_scope() {
    assert_eq!(
        error_back(&emulator(), &authorize_url(Some("repo admin:org"), "")).as_deref(),
        Some("invalid_scope")
    );
}

/// Only scopes the app is not configured for: the same.
#[test]
fn only_unconfigured_scopes_are_invalid_scope() {
    let emu = emulator_with(client(&["openid", "email"]));
    assert_eq!(
        error_back(&emu, &authorize_url(Some("offline_access"), "")).as_deref(),
        Some("invalid_scope")
    );
}

/// The refused request keeps its `state` (RFC 6749 §4.1.2.1).
#[test]
fn invalid_scope_carries_the_state() {
    let emu = emulator();
    let back = Browser::signed_in(&emu, DEMO).get(&authorize_url(Some("repo"), ""));
    assert_eq!(param(&back, "error").as_deref(), Some("invalid_scope"));
    assert_eq!(param(&back, "state").as_deref(), Some("st"));
}

/// OpenID Connect Core §3.1.2.1: "If the openid scope value is not
/// present, the behavior is entirely unspecified" by OpenID Connect — an
/// OAuth 2.0 grant, with no ID token.
#[test]
fn without_openid_there_is_no_id_token() {
    let emu = emulator();
    let t = tokens(&emu, Some("email offline_access"));
    assert_eq!(t["scope"], "email offline_access");
    assert!(t.get("id_token").is_none(), "{t}");
    let refreshed = json(&refresh(&emu, str_of(&t, "refresh_token")));
    assert!(refreshed.get("id_token").is_none(), "{refreshed}");
}

/// Userinfo is OpenID Connect's (Core §5.3): a token granted without
/// `openid` gets RFC 6750 §3.1's `403 insufficient_scope` (a guess).
#[test]
fn userinfo_needs_openid() {
    let emu = emulator();
    let t = tokens(&emu, Some("email"));
    let response = userinfo(&emu, str_of(&t, "access_token"));
    assert_eq!(response.status(), 403);
    assert_eq!(json(&response)["error"], "insufficient_scope");
    assert!(header(&response, "www-authenticate").contains("insufficient_scope"));
}

/// Vercel's Authorization Server API reference, Token Endpoint response:
/// `refresh_token` "Present if offline_access scope is requested".
#[test]
fn a_refresh_token_only_with_offline_access() {
    let emu = emulator();
    assert!(tokens(&emu, Some("openid")).get("refresh_token").is_none());
    assert!(tokens(&emu, Some("openid offline_access"))["refresh_token"].is_string());
}

/// Vercel's Authorization Server API reference, Token Endpoint response:
/// `"scope": "openid email profile offline_access", // The scopes that were granted to the application`.
#[test]
fn the_token_response_names_the_granted_scopes() {
    let t = tokens(&emulator(), Some("profile openid"));
    assert_eq!(t["scope"], "openid profile");
}

/// Vercel's Authorization Server API reference, "User Info Endpoint response",
/// and the ID token claims of Vercel's documentation (Sign in with Vercel →
/// Tokens): `profile` gives `name`, `preferred_username` and `picture`, `email`
/// gives `email` (and `email_verified` at userinfo).
#[test]
fn claims_follow_the_scopes() {
    let emu = emulator();
    let only_email = tokens(&emu, Some("openid email"));
    let c = claims(&only_email["id_token"]);
    assert_eq!(c["email"], "demo@example.com");
    assert!(c.get("name").is_none());
    let info = json(&userinfo(&emu, str_of(&only_email, "access_token")));
    assert_eq!(info["email_verified"], true);
    assert!(info.get("picture").is_none());
    let profile = tokens(&emu, Some("openid profile"));
    let c = claims(&profile["id_token"]);
    assert_eq!(c["name"], "Demo User");
    assert_eq!(c["preferred_username"], "demo");
    assert!(c.get("email").is_none());
}
