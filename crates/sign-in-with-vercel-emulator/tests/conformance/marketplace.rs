//! The marketplace issuer and the SSO token exchange. Vercel's Marketplace
//! documentation (Partner API user authentication: OIDC tokens): issued by
//! `https://marketplace.vercel.com` (keys at `/.well-known/jwks`, discovery at
//! `/.well-known/openid-configuration`), RS256, `aud` the integration's ID,
//! claims `sub` = `account:<account_id>:user:<user_id>`, `account_id`,
//! `installation_id`, `user_id`, `user_role`, `user_name`, `user_avatar_url`,
//! `user_email`, `type`, `iat`, `exp`, `nbf`.

use std::sync::Arc;

use http::Method;
use serde_json::{Value, json};
use sign_in_with_vercel_emulator::{
    Client, DEMO_ACCOUNT_ID, Emulator, EmulatorConfig, Installation, Role, Signing, SigningKey,
};

use crate::support::*;

const INTEGRATION: &str = "oac_9f4YG9JFjgKkRlxoaaGG0y05";
const INTEGRATION_SECRET: &str = "integration-secret";
const REDIRECT_LOGIN: &str = "http://localhost:4000/api/sso";

fn integration() -> Client {
    Client {
        client_id: INTEGRATION.to_owned(),
        name: "Test integration".to_owned(),
        client_secret: Some(INTEGRATION_SECRET.to_owned()),
        redirect_uris: vec![REDIRECT_LOGIN.to_owned()],
        ..client(&["openid"])
    }
}

fn marketplace_emulator() -> Arc<Emulator> {
    let emu = emulator();
    emu.register_client(integration());
    emu
}

/// Vercel's side of "Open in Provider": the redirect to the redirect login
/// URL.
fn open_in_provider(browser: &mut Browser<'_>, query: &str) -> Response {
    let response = browser.get(&format!("{ISSUER}/sso/integrations/{INTEGRATION}?{query}"));
    assert_eq!(response.status(), 302, "{}", text(&response));
    response
}

fn sso_param(response: &Response, name: &str) -> Option<String> {
    url::Url::parse(&location(response))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Vercel's REST API reference,
/// `POST https://api.vercel.com/v1/integrations/sso/token`, its JSON body.
fn exchange_sso(emu: &Emulator, redirect: &Response) -> Response {
    let mut body = json!({
        "client_id": INTEGRATION,
        "client_secret": INTEGRATION_SECRET,
        "code": sso_param(redirect, "code").unwrap(),
    });
    if let Some(state) = sso_param(redirect, "state") {
        body["state"] = json!(state);
    }
    api_call(
        emu,
        Method::POST,
        "/v1/integrations/sso/token",
        None,
        Some(&body.to_string()),
    )
}

/// The SSO exchange's answer for `sub` (signed in to the emulator in a
/// browser).
fn sso_answer(emu: &Emulator, sub: &str) -> Value {
    let mut browser = Browser::signed_in(emu, sub);
    let redirect = open_in_provider(&mut browser, "state=st4te");
    let answer = exchange_sso(emu, &redirect);
    assert_eq!(answer.status(), 200, "{}", text(&answer));
    json(&answer)
}

/// The SSO ID token of `sub`.
fn sso_id_token(emu: &Emulator, sub: &str) -> String {
    str_of(&sso_answer(emu, sub), "id_token").to_owned()
}

fn marketplace_jwks(emu: &Emulator) -> Value {
    json(&get(emu, &format!("{MARKETPLACE}/.well-known/jwks")))
}

/// "Discovery: `https://marketplace.vercel.com/.well-known/openid-configuration`";
/// "Keys: `https://marketplace.vercel.com/.well-known/jwks`"; "RS256".
#[test]
fn the_marketplace_issuer_has_its_own_discovery_and_keys() {
    let emu = marketplace_emulator();
    let d = json(&get(
        &emu,
        &format!("{MARKETPLACE}/.well-known/openid-configuration"),
    ));
    assert_eq!(d["issuer"], MARKETPLACE);
    assert_eq!(d["jwks_uri"], format!("{MARKETPLACE}/.well-known/jwks"));
    assert_eq!(d["id_token_signing_alg_values_supported"], json!(["RS256"]));
    let keys = marketplace_jwks(&emu);
    let sign_in_keys = json(&get(&emu, &format!("{ISSUER}/.well-known/jwks")));
    let kids = |set: &Value| -> Vec<Value> {
        set["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].clone())
            .collect()
    };
    assert_eq!(kids(&keys).len(), 1);
    assert!(kids(&keys).iter().all(|k| !kids(&sign_in_keys).contains(k)));
    assert_ne!(
        keys["keys"][0]["n"], sign_in_keys["keys"][0]["n"],
        "another key"
    );
    assert_eq!(
        json(&get(&emu, &format!("{MARKETPLACE}/.well-known/jwks.json"))),
        keys
    );
}

/// The SSO exchange's `id_token` is the marketplace's: issued by it,
/// signed with its key (and not the sign-in's), for the integration.
#[test]
fn the_sso_id_token_is_issued_and_signed_by_the_marketplace() {
    let emu = marketplace_emulator();
    let token = sso_id_token(&emu, DEMO);
    let (header, claims) = decode_jwt(&token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["iss"], MARKETPLACE);
    assert_eq!(claims["aud"], INTEGRATION);
    assert!(verifies_with(&token, &marketplace_jwks(&emu)));
    let sign_in_keys = json(&get(&emu, &format!("{ISSUER}/.well-known/jwks")));
    assert!(!verifies_with(&token, &sign_in_keys));
}

/// Exactly the claims of Vercel's user-authentication schema, with the
/// JWT's times.
#[test]
fn the_sso_id_token_has_exactly_the_marketplace_claims() {
    let emu = marketplace_emulator();
    let (_, c) = decode_jwt(&sso_id_token(&emu, DEMO));
    assert_eq!(
        members(&c),
        [
            "account_id",
            "aud",
            "exp",
            "iat",
            "installation_id",
            "iss",
            "nbf",
            "sub",
            "type",
            "user_avatar_url",
            "user_email",
            "user_id",
            "user_name",
            "user_role"
        ]
    );
    assert_eq!(c["type"], "id_token");
    assert_eq!(c["user_role"], "ADMIN", "the demo user is an admin");
    assert_eq!(c["account_id"], DEMO_ACCOUNT_ID);
    assert_eq!(c["user_name"], "Demo User");
    assert_eq!(c["user_email"], "demo@example.com");
    assert!(str_of(&c, "user_avatar_url").starts_with(&format!("{ISSUER}/api/www/avatar/")));
    assert!(str_of(&c, "installation_id").starts_with("icfg_"));
    assert_eq!(c["nbf"], c["iat"]);
    assert!(c["exp"].as_i64().unwrap() > c["iat"].as_i64().unwrap());
}

/// Vercel's pattern: `sub` matches `^account:[0-9a-fA-F]+:user:[0-9a-fA-F]+$`,
/// made of `account_id` and `user_id`.
#[test]
fn the_sso_sub_is_account_and_user_in_hexadecimal() {
    let emu = marketplace_emulator();
    let (_, c) = decode_jwt(&sso_id_token(&emu, DEMO));
    let (account, user) = (str_of(&c, "account_id"), str_of(&c, "user_id"));
    assert_eq!(c["sub"], format!("account:{account}:user:{user}"));
    for id in [account, user] {
        assert!(
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
    }
}

/// Each user signs in as themselves: another user's token names them.
#[test]
fn each_user_gets_their_own_marketplace_identity() {
    let emu = marketplace_emulator();
    let (_, demo) = decode_jwt(&sso_id_token(&emu, DEMO));
    let (_, second) = decode_jwt(&sso_id_token(&emu, SECOND));
    assert_ne!(demo["user_id"], second["user_id"]);
    assert_eq!(second["user_name"], "Second User");
    assert_eq!(demo["account_id"], second["account_id"], "one demo account");
}

/// Vercel's guidance: "always check the user's role". The role is a
/// setting per user, in the configuration or at run time.
#[test]
fn the_users_role_is_a_setting() {
    let emu = marketplace_emulator();
    emu.set_user_role(SECOND, Role::User);
    let (_, c) = decode_jwt(&sso_id_token(&emu, SECOND));
    assert_eq!(c["user_role"], "USER");
    let config: EmulatorConfig = serde_json::from_str(
        r#"{"users": [{"sub": "u1", "name": "N", "preferred_username": "n",
                       "email": "n@example.com", "account_id": "ab12", "role": "USER"}]}"#,
    )
    .unwrap();
    let emu = Emulator::with_key(ISSUER, config, SigningKey::shared());
    emu.register_client(integration());
    let (_, c) = decode_jwt(&sso_id_token(&emu, "u1"));
    assert_eq!(c["user_role"], "USER");
    assert_eq!(c["account_id"], "ab12");
}

/// A configured installation ID is the one the token carries.
#[test]
fn a_configured_installation_id_is_used() {
    let config = EmulatorConfig {
        users: vec![sign_in_with_vercel_emulator::demo_user()],
        installations: vec![Installation {
            client_id: INTEGRATION.to_owned(),
            account_id: DEMO_ACCOUNT_ID.to_owned(),
            installation_id: "icfg_9bceb8ccT32d3U417ezb5c8p".to_owned(),
        }],
        ..EmulatorConfig::default()
    };
    let emu = Emulator::with_key(ISSUER, config, SigningKey::shared());
    emu.register_client(integration());
    let (_, c) = decode_jwt(&sso_id_token(&emu, DEMO));
    assert_eq!(c["installation_id"], "icfg_9bceb8ccT32d3U417ezb5c8p");
    assert_eq!(
        emu.installation_id(INTEGRATION, DEMO_ACCOUNT_ID),
        "icfg_9bceb8ccT32d3U417ezb5c8p"
    );
    // Configured for that integration on that account only.
    for (client_id, account_id) in [(INTEGRATION, "team_other"), ("oac_other", DEMO_ACCOUNT_ID)] {
        let derived = emu.installation_id(client_id, account_id);
        assert!(
            derived.starts_with("icfg_") && derived.len() == 29,
            "{derived}"
        );
        assert_ne!(derived, "icfg_9bceb8ccT32d3U417ezb5c8p");
    }
}

/// The marketplace's claims schema has no `nonce`: a nonce sent to the SSO
/// login is not echoed.
#[test]
fn the_sso_id_token_carries_no_nonce() {
    let emu = marketplace_emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let redirect = open_in_provider(&mut browser, "state=s&nonce=n0nce");
    let token = str_of(&json(&exchange_sso(&emu, &redirect)), "id_token").to_owned();
    assert!(decode_jwt(&token).1.get("nonce").is_none());
}

/// The faults apply to marketplace tokens too, for an integration's
/// rejection tests; the marketplace key rotates on its own.
#[test]
fn faults_and_key_rotation_apply_to_marketplace_tokens() {
    let emu = marketplace_emulator();
    emu.faults().signing = Signing::CorruptSignature;
    assert!(!verifies_with(
        &sso_id_token(&emu, DEMO),
        &marketplace_jwks(&emu)
    ));
    emu.faults().signing = Signing::Rs256;
    let before = marketplace_jwks(&emu);
    emu.rotate_marketplace_key(false);
    let after = marketplace_jwks(&emu);
    assert_ne!(before["keys"][0]["kid"], after["keys"][0]["kid"]);
    assert!(verifies_with(&sso_id_token(&emu, DEMO), &after));
}

/// Vercel's marketplace documentation: the SSO request to the
/// redirectLoginUrl carries `mode` ("always set to sso"), `code` and
/// `state`, and may carry context such as `product_id` and `resource_id`.
#[test]
fn the_redirect_login_carries_mode_code_state_and_the_deep_link() {
    let emu = marketplace_emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let redirect = open_in_provider(&mut browser, "state=s&resource_id=res_1&product_id=redis");
    assert!(location(&redirect).starts_with(REDIRECT_LOGIN));
    assert_eq!(sso_param(&redirect, "mode").as_deref(), Some("sso"));
    assert_eq!(sso_param(&redirect, "state").as_deref(), Some("s"));
    assert_eq!(
        sso_param(&redirect, "resource_id").as_deref(),
        Some("res_1")
    );
    assert_eq!(sso_param(&redirect, "product_id").as_deref(), Some("redis"));
    assert!(sso_param(&redirect, "code").unwrap().len() >= 32);
}

/// The SSO login signs in the browser's user (a guess: the dashboard the
/// flow starts from has one), or the `user` parameter.
#[test]
fn the_redirect_login_signs_in_the_browsers_user() {
    let emu = marketplace_emulator();
    let (_, c) = decode_jwt(&sso_id_token(&emu, SECOND));
    assert_eq!(c["user_name"], "Second User");
    let mut browser = Browser::new(&emu);
    let redirect = open_in_provider(&mut browser, &format!("user={SECOND}"));
    let (_, c) = decode_jwt(str_of(&json(&exchange_sso(&emu, &redirect)), "id_token"));
    assert_eq!(c["user_name"], "Second User");
}

/// Vercel's REST API reference: the exchange answers `access_token`, `id_token`
/// and `token_type`; Vercel's current reference adds `expires_in` (optional).
#[test]
fn the_exchange_answers_the_documented_members() {
    let answer = sso_answer(&marketplace_emulator(), DEMO);
    assert_eq!(
        members(&answer),
        ["access_token", "expires_in", "id_token", "token_type"]
    );
    assert_eq!(answer["token_type"], "Bearer");
}

/// Vercel's REST API reference, codes 400 and 404: a reused code is refused, an
/// unknown integration is not found, in Vercel's error shape.
#[test]
fn the_exchange_refuses_a_reused_code_and_an_unknown_integration() {
    let emu = marketplace_emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let redirect = open_in_provider(&mut browser, "state=s");
    assert_eq!(exchange_sso(&emu, &redirect).status(), 200);
    let again = exchange_sso(&emu, &redirect);
    assert_eq!(again.status(), 400);
    assert_eq!(json(&again)["error"]["code"], "bad_request");
    let unknown = api_call(
        &emu,
        Method::POST,
        "/v1/integrations/sso/token",
        None,
        Some(r#"{"client_id": "oac_unknown", "client_secret": "x", "code": "c"}"#),
    );
    assert_eq!(unknown.status(), 404);
    assert_eq!(json(&unknown)["error"]["code"], "not_found");
}

/// The SSO access token calls Vercel's REST API as the user.
#[test]
fn the_sso_access_token_calls_the_rest_api() {
    let emu = marketplace_emulator();
    let answer = sso_answer(&emu, DEMO);
    let user = json(&rest_get(
        &emu,
        "/v2/user",
        Some(str_of(&answer, "access_token")),
    ));
    assert_eq!(user["user"]["id"], DEMO);
}

/// The SSO exchange (`POST /v1/integrations/sso/token`) gives tokens only
/// for what the code was issued for: its integration, its `state`, and its
/// redirect login URL when one is sent (a guess, after RFC 6749 §4.1.3),
/// once. A refused attempt does not spend the code.
#[test]
fn the_sso_exchange_checks_the_code_s_client_state_and_redirect() {
    let emu = marketplace_emulator();
    emu.register_client(Client {
        client_id: "oac_other".to_owned(),
        client_secret: Some("other-secret".to_owned()),
        ..integration()
    });
    let mut browser = Browser::signed_in(&emu, DEMO);
    let code = sso_param(&open_in_provider(&mut browser, "state=st4te"), "code").unwrap();
    let exchange = |extra: Value| {
        let mut body = json!({
            "client_id": INTEGRATION,
            "client_secret": INTEGRATION_SECRET,
            "code": code,
            "state": "st4te",
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let body = body.to_string();
        api_call(
            &emu,
            Method::POST,
            "/v1/integrations/sso/token",
            None,
            Some(&body),
        )
    };
    for refused in [
        json!({ "client_id": "oac_other", "client_secret": "other-secret" }),
        json!({ "state": "another" }),
        json!({ "redirect_uri": "http://localhost:4000/api/elsewhere" }),
    ] {
        let answer = exchange(refused.clone());
        assert_eq!(answer.status(), 400, "{refused}: {}", text(&answer));
        assert_eq!(json(&answer)["error"]["code"], "bad_request", "{refused}");
    }
    let answer = exchange(json!({ "redirect_uri": REDIRECT_LOGIN }));
    assert_eq!(answer.status(), 200, "{}", text(&answer));
    assert_eq!(exchange(json!({})).status(), 400, "spent");
}

/// The SSO exchange also takes a form, as an OAuth token request
/// (`grant_type=authorization_code`, RFC 6749 §4.1.3); a form without that
/// grant type is refused.
#[test]
fn the_sso_exchange_takes_a_form_with_the_authorization_code_grant() {
    let emu = marketplace_emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let mut form = |grant: &str| {
        let code = sso_param(&open_in_provider(&mut browser, ""), "code").unwrap();
        emu.handle(
            &http::Request::post(format!("{API}/v1/integrations/sso/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    format!(
                        "{grant}client_id={INTEGRATION}&client_secret={INTEGRATION_SECRET}&code={code}"
                    )
                    .into_bytes(),
                )
                .unwrap(),
        )
    };
    let answer = form("grant_type=authorization_code&");
    assert_eq!(answer.status(), 200, "{}", text(&answer));
    assert_eq!(form("").status(), 400);
    assert_eq!(form("grant_type=refresh_token&").status(), 400);
}

/// A repeated parameter in "Open in Provider" is an error page, not a
/// redirect: which value counts cannot be told.
#[test]
fn a_repeated_parameter_in_the_sso_login_is_an_error_page() {
    let emu = marketplace_emulator();
    let page = Browser::signed_in(&emu, DEMO).get(&format!(
        "{ISSUER}/sso/integrations/{INTEGRATION}?state=a&state=b"
    ));
    assert_eq!(page.status(), 400);
    assert!(
        text(&page).contains("A parameter is repeated."),
        "{}",
        text(&page)
    );
}
