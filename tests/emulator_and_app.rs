//! The app's relying party against the emulator: it follows discovery to
//! the emulator's origins, and its harness runs against the emulator's
//! strict defaults. The emulator's own conformance suite is in its crate
//! (`crates/sign-in-with-vercel-emulator/tests/conformance.rs`).

mod support;

use support::{API, APP, ISSUER, Rp, body_json, location, rp};

/// Vercel's Authorization Server API reference: "These endpoints ... are
/// advertised at the following well-known URL". The app takes every endpoint
/// from discovery: the browser goes to the issuer origin, the back channel to
/// the API origin.
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
