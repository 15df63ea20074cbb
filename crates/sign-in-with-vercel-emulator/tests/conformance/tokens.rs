//! The token, revocation, introspection and userinfo endpoints on the API
//! origin: the grants, rotation and its lifetimes, revocation, client
//! authentication, and the ID token's claims.

use serde_json::Value;
use sign_in_with_vercel_emulator::{Client, EmulatorConfig, ReusePolicy, SigningKey, User};

use crate::support::*;

// ---------------------------------------------------------- the code grant

/// Vercel's Authorization Server API reference, Token Endpoint response
/// example: `access_token` `vca_…`, `token_type` `Bearer`, `expires_in` 3600,
/// `scope`, `refresh_token` `vcr_…`, `id_token`.
#[test]
fn the_token_response_is_shaped_as_vercels_example() {
    let t = tokens(&emulator(), None);
    assert!(str_of(&t, "access_token").starts_with("vca_"));
    assert!(str_of(&t, "refresh_token").starts_with("vcr_"));
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 3600);
    assert_eq!(t["scope"], "openid email profile offline_access");
    assert!(t["id_token"].is_string());
}

/// RFC 6749 §4.1.2: "The client MUST NOT use the authorization code more
/// than once."
#[test]
fn a_code_is_single_use() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let code = code_in(&browser.authorize_and_allow(None, ""));
    assert_eq!(exchange(&emu, &code).status(), 200);
    let again = exchange(&emu, &code);
    assert_eq!(again.status(), 400);
    assert_eq!(json(&again)["error"], "invalid_grant");
}

/// Vercel's Authorization Server API reference, `code_verifier`: "the code
/// verifier bound to the code_challenge from the authorization request"
/// (RFC 7636 §4.6).
#[test]
fn a_wrong_code_verifier_is_invalid_grant() {
    let emu = emulator();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let code = code_in(&browser.authorize_and_allow(None, ""));
    let form = format!(
        "grant_type=authorization_code&client_id={CLIENT}&client_secret={SECRET}&code={code}&code_verifier={}&redirect_uri={}",
        "x".repeat(43),
        encode(REDIRECT)
    );
    let response = post(&emu, &format!("{API}/login/oauth/token"), &form, None);
    assert_eq!(json(&response)["error"], "invalid_grant");
}

/// The code lives 60 s by default (a guess: Vercel says only "a short lived
/// code", in its Authorization Server API reference).
#[test]
fn a_code_expires_after_60_seconds() {
    let (emu, clock) = emulator_on_a_clock();
    let mut browser = Browser::signed_in(&emu, DEMO);
    let code = code_in(&browser.authorize_and_allow(None, ""));
    advance(&clock, 60);
    assert_eq!(json(&exchange(&emu, &code))["error"], "invalid_grant");
}

/// Vercel's Authorization Server API reference, `nonce`: "The same value will
/// be attached as a claim in the ID Token."
#[test]
fn the_code_exchanges_id_token_carries_the_nonce() {
    let t = tokens(&emulator(), None);
    assert_eq!(claims(&t["id_token"])["nonce"], "n-0S6");
}

/// Vercel's documentation (Sign in with Vercel → Tokens), ID token claims:
/// `iss`, `sub`, `aud` (the client ID, a string), `exp` `iat` `nbf` `jti`
/// (UUID); the ID token lives an hour by default (a guess).
#[test]
fn the_id_token_has_vercels_claims() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let c = claims(&t["id_token"]);
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["sub"], DEMO);
    assert_eq!(c["aud"], CLIENT);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(c["nbf"], c["iat"]);
    assert_eq!(str_of(&c, "jti").len(), 36);
    let jwks = json(&get(&emu, &format!("{ISSUER}/.well-known/jwks")));
    assert!(verifies_with(str_of(&t, "id_token"), &jwks));
}

/// `Emulator::rotate_key`, for a relying party's key-rotation tests: the
/// next ID tokens are signed with a new key under a new `kid`; a graceful
/// rotation keeps the old key in the JWK Set, a hard one drops it.
#[test]
fn rotating_the_key_signs_with_a_new_kid_and_keeps_the_old_key_if_asked() {
    let emu = emulator();
    let jwks = || json(&get(&emu, &format!("{ISSUER}/.well-known/jwks")));
    let kids = |jwks: &Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let kid_of = |t: &Value| {
        decode_jwt(str_of(t, "id_token")).0["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let before = tokens(&emu, None);
    let first = kid_of(&before);
    assert_eq!(kids(&jwks()), std::slice::from_ref(&first));

    emu.rotate_key(true);
    let graceful = tokens(&emu, None);
    let second = kid_of(&graceful);
    assert_ne!(second, first);
    let both = jwks();
    assert_eq!(kids(&both).len(), 2);
    assert!(kids(&both).contains(&first) && kids(&both).contains(&second));
    assert!(verifies_with(str_of(&before, "id_token"), &both));
    assert!(verifies_with(str_of(&graceful, "id_token"), &both));

    emu.rotate_key(false);
    let hard = tokens(&emu, None);
    let third = kid_of(&hard);
    assert_eq!(kids(&jwks()), [third]);
    assert!(!verifies_with(str_of(&graceful, "id_token"), &jwks()));
}

/// `Emulator::stats`: the requests each endpoint answered, for a relying
/// party's tests of how often it calls the provider.
#[test]
fn stats_count_the_requests_per_endpoint() {
    let emu = emulator();
    assert_eq!(emu.stats(), Default::default());
    get(&emu, &format!("{ISSUER}/.well-known/openid-configuration"));
    get(&emu, &format!("{ISSUER}/.well-known/jwks"));
    let t = tokens(&emu, None);
    revoke(&emu, str_of(&t, "access_token"));
    let stats = emu.stats();
    assert_eq!(
        (stats.discovery, stats.jwks, stats.token, stats.revoke),
        (1, 1, 1, 1)
    );
    assert!(stats.authorize >= 1, "{stats:?}");
    assert_eq!((stats.introspect, stats.userinfo), (0, 0));
}

// ------------------------------------------------------- refresh and reuse

/// Vercel's documentation (Sign in with Vercel → Tokens): exchanging a refresh
/// token returns a new one, and the old one stops working.
#[test]
fn an_exchanged_refresh_token_stops_working() {
    let emu = emulator();
    let first = tokens(&emu, None);
    let old = str_of(&first, "refresh_token");
    assert_eq!(refresh(&emu, old).status(), 200);
    let again = refresh(&emu, old);
    assert_eq!(again.status(), 400);
    assert_eq!(json(&again)["error"], "invalid_grant");
}

/// Undocumented by Vercel (its documentation, Sign in with Vercel → Tokens,
/// says only that the old refresh token stops working, not what a reuse does to
/// the rest of the grant). Default, RFC 9700 §4.14.2: a reuse revokes the
/// grant, the newest pair included.
#[test]
fn refresh_token_reuse_revokes_the_whole_grant_by_default() {
    let emu = emulator();
    let first = tokens(&emu, None);
    let old = str_of(&first, "refresh_token");
    let newest = json(&refresh(&emu, old));
    let (access, refresh_token) = (
        str_of(&newest, "access_token"),
        str_of(&newest, "refresh_token"),
    );
    assert!(active(&emu, access) && active(&emu, refresh_token));
    assert_eq!(refresh(&emu, old).status(), 400);
    assert!(!active(&emu, access), "newest access token still active");
    assert!(
        !active(&emu, refresh_token),
        "newest refresh token still active"
    );
    assert_eq!(refresh(&emu, refresh_token).status(), 400);
}

/// The other policy, `reject`: only the reused token fails.
#[test]
fn refresh_token_reuse_with_reject_fails_only_the_reused_token() {
    let emu = emulator();
    emu.set_refresh_token_reuse(ReusePolicy::Reject);
    let first = tokens(&emu, None);
    let old = str_of(&first, "refresh_token");
    let newest = json(&refresh(&emu, old));
    assert_eq!(refresh(&emu, old).status(), 400);
    assert!(active(&emu, str_of(&newest, "access_token")));
    let next = refresh(&emu, str_of(&newest, "refresh_token"));
    assert_eq!(next.status(), 200);
}

/// Vercel's documentation (Sign in with Vercel → Tokens): a refresh token is
/// valid 30 days. Whether a rotation starts another 30 days is undocumented;
/// the emulator's (strict) guess: the grant's refresh tokens expire 30 days
/// after the sign-in, however often they are rotated.
#[test]
fn rotated_refresh_tokens_keep_the_sign_ins_expiry() {
    let (emu, clock) = emulator_on_a_clock();
    let first = tokens(&emu, None);
    let expiry = introspect(&emu, str_of(&first, "refresh_token"))["exp"].clone();
    assert_eq!(
        expiry.as_i64().unwrap() - 1_800_000_000,
        30 * 24 * 3600,
        "30 days"
    );
    advance(&clock, 20 * 24 * 3600);
    let second = json(&refresh(&emu, str_of(&first, "refresh_token")));
    let rotated = str_of(&second, "refresh_token");
    assert_eq!(introspect(&emu, rotated)["exp"], expiry);
    advance(&clock, 10 * 24 * 3600);
    assert_eq!(json(&refresh(&emu, rotated))["error"], "invalid_grant");
}

/// OpenID Connect Core §12.2 allows a refreshed ID token without `nonce`;
/// the emulator leaves it out, so an app that checks it there fails here.
#[test]
fn a_refreshed_id_token_has_no_nonce() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let refreshed = json(&refresh(&emu, str_of(&t, "refresh_token")));
    let c = claims(&refreshed["id_token"]);
    assert!(c.get("nonce").is_none(), "{c}");
    assert_eq!(c["sub"], claims(&t["id_token"])["sub"]);
}

// ------------------------------------------------------------- revocation

/// Vercel's Authorization Server API reference: "If the Access Token is
/// revoked, the Refresh Token is also revoked."
#[test]
fn revoking_the_access_token_revokes_the_refresh_token() {
    let emu = emulator();
    let t = tokens(&emu, None);
    assert_eq!(revoke(&emu, str_of(&t, "access_token")).status(), 200);
    assert!(!active(&emu, str_of(&t, "refresh_token")));
    assert_eq!(refresh(&emu, str_of(&t, "refresh_token")).status(), 400);
}

/// RFC 7009 §2.1: revoking a refresh token, the server "SHOULD also invalidate
/// all access tokens based on the same authorization grant" (a guess: Vercel's
/// Authorization Server API reference documents only the other direction).
#[test]
fn revoking_the_refresh_token_revokes_the_access_token() {
    let emu = emulator();
    let t = tokens(&emu, None);
    assert_eq!(revoke(&emu, str_of(&t, "refresh_token")).status(), 200);
    assert!(!active(&emu, str_of(&t, "access_token")));
    assert_eq!(userinfo(&emu, str_of(&t, "access_token")).status(), 401);
}

/// RFC 7009 §2.2: an expired access token is an invalid one, whose
/// revocation does nothing; the grant's refresh token keeps working. The
/// store forgets expired tokens at some point: the answer is the same
/// before and after.
#[test]
fn revoking_an_expired_access_token_revokes_nothing() {
    let (emu, clock) = emulator_on_a_clock();
    let t = tokens(&emu, None);
    advance(&clock, 3600);
    assert_eq!(revoke(&emu, str_of(&t, "access_token")).status(), 200);
    assert_eq!(refresh(&emu, str_of(&t, "refresh_token")).status(), 200);
}

/// A grant at the end of its refresh tokens' life: signed in, then
/// refreshed ten minutes before that end, the clock at the end. Its last
/// access token lives on (50 minutes); its refresh tokens, spent or not,
/// have just expired. Returns the first refresh token (spent), the last
/// one and the live access token.
fn at_the_end_of_the_refresh_tokens_life() -> (
    std::sync::Arc<sign_in_with_vercel_emulator::Emulator>,
    String,
    String,
    String,
) {
    let (emu, clock) = emulator_on_a_clock();
    let first = tokens(&emu, None);
    let expiry = introspect(&emu, str_of(&first, "refresh_token"))["exp"]
        .as_i64()
        .unwrap();
    advance(
        &clock,
        expiry - 600 - clock.load(std::sync::atomic::Ordering::SeqCst),
    );
    let last = json(&refresh(&emu, str_of(&first, "refresh_token")));
    advance(&clock, 600);
    assert!(
        !active(&emu, str_of(&last, "refresh_token")),
        "the refresh token expired"
    );
    assert!(active(&emu, str_of(&last, "access_token")));
    let owned = |v: &Value, m: &str| str_of(v, m).to_owned();
    (
        emu,
        owned(&first, "refresh_token"),
        owned(&last, "refresh_token"),
        owned(&last, "access_token"),
    )
}

/// A refresh token revoked at the very second it expires is an unknown
/// one: the grant's live access token stays active.
#[test]
fn revoking_a_refresh_token_as_it_expires_revokes_nothing() {
    let (emu, _, refresh_token, access_token) = at_the_end_of_the_refresh_tokens_life();
    assert_eq!(revoke(&emu, &refresh_token).status(), 200);
    assert!(active(&emu, &access_token));
}

/// A spent refresh token presented again at the very second it expires is
/// only expired, not a reuse: the grant's live access token stays active.
#[test]
fn a_spent_refresh_token_presented_as_it_expires_is_no_reuse() {
    let (emu, spent, _, access_token) = at_the_end_of_the_refresh_tokens_life();
    assert_eq!(json(&refresh(&emu, &spent))["error"], "invalid_grant");
    assert!(active(&emu, &access_token));
}

/// RFC 7009 §2.2: an unknown token is a 200.
#[test]
fn revoking_an_unknown_token_is_a_200() {
    assert_eq!(revoke(&emulator(), "vca_unknown").status(), 200);
}

/// A second confidential client, `cl_other` with secret `other-secret`.
fn register_other_client(emu: &sign_in_with_vercel_emulator::Emulator) {
    let mut other = client(&["openid"]);
    other.client_id = "cl_other".to_owned();
    other.client_secret = Some("other-secret".to_owned());
    emu.register_client(other);
}

/// Revokes `token` as [`register_other_client`]'s client.
fn revoke_as_other_client(emu: &sign_in_with_vercel_emulator::Emulator, token: &str) -> Response {
    post(
        emu,
        &format!("{API}/login/oauth/token/revoke"),
        &format!("token={token}"),
        Some(&basic("cl_other", "other-secret")),
    )
}

/// RFC 7009 §2.1: the server "verifies whether the token was issued to the
/// client making the revocation request. If this validation fails, the
/// request is refused and the client is informed of the error."
#[test]
fn revoking_another_clients_token_is_refused_and_revokes_nothing() {
    let emu = emulator();
    let t = tokens(&emu, None);
    register_other_client(&emu);
    let access = str_of(&t, "access_token");
    let response = revoke_as_other_client(&emu, access);
    assert_eq!(response.status(), 400);
    assert_eq!(json(&response)["error"], "unauthorized_client");
    assert!(active(&emu, access));
}

/// A token of a revoked grant is an unknown one at revocation, whoever
/// sends it: 200, as once the store's sweep has forgotten it.
#[test]
fn revoking_a_token_of_a_revoked_grant_is_a_200_for_any_client() {
    let emu = emulator();
    let t = tokens(&emu, None);
    register_other_client(&emu);
    let access = str_of(&t, "access_token");
    assert_eq!(revoke(&emu, str_of(&t, "refresh_token")).status(), 200);
    assert!(!active(&emu, access));
    let response = revoke_as_other_client(&emu, access);
    assert_eq!(response.status(), 200, "{}", text(&response));
    assert_eq!(revoke(&emu, access).status(), 200);
}

// ---------------------------------------------------------- introspection

/// Vercel's Authorization Server API reference, "Token Introspection response":
/// exactly `active`, `client_id`, `token_type`, `exp`, `iat`, `sub`, `iss`,
/// `jti`, `session_id`; no `scope`.
#[test]
fn introspection_answers_exactly_the_members_of_vercels_example() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let info = introspect(&emu, str_of(&t, "access_token"));
    assert_eq!(
        members(&info),
        [
            "active",
            "client_id",
            "exp",
            "iat",
            "iss",
            "jti",
            "session_id",
            "sub",
            "token_type"
        ]
    );
    assert_eq!(info["client_id"], CLIENT);
    assert_eq!(info["token_type"], "bearer");
    assert_eq!(info["iss"], ISSUER);
    assert_eq!(
        info["exp"].as_i64().unwrap() - info["iat"].as_i64().unwrap(),
        3600
    );
}

/// Vercel's Authorization Server API reference:
/// `"jti": "6cd20f0f-0ce2-408b-a21b-63445bccb69a"`,
/// `"session_id": "44c44cd9-6b1a-4a16-9296-cc9aea3f1800"`: UUIDs, one session
/// for the sign-in's tokens.
#[test]
fn introspection_jti_and_session_id_are_uuids() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let info = introspect(&emu, str_of(&t, "access_token"));
    for member in ["jti", "session_id"] {
        let value = str_of(&info, member);
        let lengths: Vec<usize> = value.split('-').map(str::len).collect();
        assert_eq!(lengths, [8, 4, 4, 4, 12], "{member}: {value}");
    }
    let refresh_info = introspect(&emu, str_of(&t, "refresh_token"));
    assert_eq!(refresh_info["session_id"], info["session_id"]);
    assert_eq!(refresh_info["token_type"], "bearer", "a guess");
}

/// RFC 7662 §2.2, as the route of Vercel's Authorization Server API reference
/// reads it (`if (!introspectionData.active)`).
#[test]
fn introspection_of_a_dead_token_is_only_active_false() {
    assert_eq!(
        introspect(&emulator(), "vca_unknown"),
        serde_json::json!({ "active": false })
    );
}

/// The `validate-token` route of Vercel's Authorization Server API reference
/// sends only `token`; credentials that are sent are checked (a guess).
#[test]
fn introspection_checks_credentials_only_when_sent() {
    let emu = emulator();
    let response = post(
        &emu,
        &format!("{API}/login/oauth/token/introspect"),
        "token=x",
        Some(&basic(CLIENT, "wrong")),
    );
    assert_eq!(response.status(), 401);
}

/// A confidential client may authenticate at introspection with Basic or
/// with its secret in the body, whichever it registered for the token
/// endpoint (a guess: Vercel's metadata lists no introspection methods,
/// and RFC 7662 §2.1's example uses Basic).
#[test]
fn introspection_takes_the_secret_either_way() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let form = format!("token={}", str_of(&t, "access_token"));
    let url = format!("{API}/login/oauth/token/introspect");
    let with_basic = post(&emu, &url, &form, Some(&basic(CLIENT, SECRET)));
    assert_eq!(with_basic.status(), 200);
    assert_eq!(json(&with_basic)["active"], true);
    let in_body = format!("{form}&client_id={CLIENT}&client_secret={SECRET}");
    assert_eq!(json(&post(&emu, &url, &in_body, None))["active"], true);
    let wrong = format!("{form}&client_id={CLIENT}&client_secret=wrong");
    assert_eq!(post(&emu, &url, &wrong, None).status(), 401);
}

/// RFC 7662 §2.1: a protected resource may authorize its introspection
/// call with a bearer token instead of client credentials. A live access
/// token of the emulator's is taken; a dead or unknown one is RFC 6750
/// §3.1's `invalid_token`, with its challenge; one beside client
/// credentials in the body is two methods in one request (RFC 6749 §2.3).
#[test]
fn introspection_takes_a_protected_resources_bearer_token() {
    let emu = emulator();
    let resource = tokens(&emu, None);
    let bearer = format!("Bearer {}", str_of(&resource, "access_token"));
    let t = tokens(&emu, None);
    let form = format!("token={}", str_of(&t, "access_token"));
    let url = format!("{API}/login/oauth/token/introspect");
    let answered = post(&emu, &url, &form, Some(&bearer));
    assert_eq!(answered.status(), 200, "{}", text(&answered));
    assert_eq!(json(&answered)["active"], true);

    let unknown = post(&emu, &url, &form, Some("Bearer vca_unknown"));
    assert_eq!(unknown.status(), 401);
    assert_eq!(
        unknown.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
    assert_eq!(json(&unknown)["error"], "invalid_token");

    for extra in [
        format!("client_id={CLIENT}&client_secret={SECRET}"),
        format!("client_id={CLIENT}"),
        format!("client_secret={SECRET}"),
    ] {
        let both = post(&emu, &url, &format!("{form}&{extra}"), Some(&bearer));
        assert_eq!(both.status(), 400, "{extra}");
        assert_eq!(json(&both)["error"], "invalid_request", "{extra}");
    }

    assert_eq!(
        revoke(&emu, str_of(&resource, "access_token")).status(),
        200
    );
    assert_eq!(
        post(&emu, &url, &form, Some(&bearer)).status(),
        401,
        "revoked"
    );
}

// ---------------------------------------------------- client authentication

/// Vercel's Authorization Server API reference, `exchangeCodeForToken`:
/// `client_id` and `client_secret` in the body, no Authorization header.
#[test]
fn the_token_endpoint_accepts_the_secret_in_the_body_as_the_guide_sends_it() {
    assert_eq!(tokens(&emulator(), None)["token_type"], "Bearer");
}

/// Vercel's Authorization Server API reference, the signout route:
/// `Authorization: Basic base64(id:secret)` and only `token` in the body.
#[test]
fn revocation_accepts_basic_as_the_guide_sends_it() {
    let emu = emulator();
    let t = tokens(&emu, None);
    assert_eq!(revoke(&emu, str_of(&t, "access_token")).status(), 200);
    assert!(!active(&emu, str_of(&t, "access_token")));
}

/// RFC 6749 §2.3.1: a client registered for `client_secret_basic` authenticates
/// with the header alone; the Token Endpoint table of Vercel's Authorization
/// Server API reference marks `client_id` required, for the body form its
/// example uses (a guess: Basic without a body `client_id` is accepted).
/// A `client_id` also sent in the body must name the same client (§3.2.1:
/// the header authenticates it): one naming another client is
/// `401 invalid_client`, whatever the header's secret proves.
#[test]
fn basic_authentication_needs_no_body_client_id_and_refuses_another() {
    let mut basic_client = client(&["openid"]);
    basic_client.token_endpoint_auth_method = "client_secret_basic".to_owned();
    let emu = emulator_with(basic_client);
    let mut browser = Browser::signed_in(&emu, DEMO);
    let mut exchange = |body_client: &str| {
        let code = code_in(&browser.authorize_and_allow(None, ""));
        post(
            &emu,
            &format!("{API}/login/oauth/token"),
            &format!(
                "grant_type=authorization_code&code={code}&code_verifier={VERIFIER}\
                 &redirect_uri={}{body_client}",
                encode(REDIRECT)
            ),
            Some(&basic(CLIENT, SECRET)),
        )
    };
    for body_client in ["", &format!("&client_id={CLIENT}")] {
        let response = exchange(body_client);
        assert_eq!(response.status(), 200, "{body_client}: {}", text(&response));
    }
    let other = exchange("&client_id=cl_other");
    assert_eq!(other.status(), 401, "{}", text(&other));
    assert_eq!(json(&other)["error"], "invalid_client");
    assert_eq!(json(&other)["error_description"], "client_id mismatch");
}

/// Vercel's metadata lists `client_secret_basic` and `client_secret_post`
/// without saying whether a client may use either; the emulator's (strict)
/// guess: only the method the client registered, the other one is
/// `401 invalid_client`.
#[test]
fn the_token_endpoint_accepts_only_the_registered_authentication_method() {
    for (registered, sent_as_basic) in
        [("client_secret_post", true), ("client_secret_basic", false)]
    {
        let mut registered_client = client(&["openid"]);
        registered_client.token_endpoint_auth_method = registered.to_owned();
        let emu = emulator_with(registered_client);
        let mut browser = Browser::signed_in(&emu, DEMO);
        let code = code_in(&browser.authorize_and_allow(None, ""));
        let grant = format!(
            "grant_type=authorization_code&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
            encode(REDIRECT)
        );
        let url = format!("{API}/login/oauth/token");
        let refused = if sent_as_basic {
            post(&emu, &url, &grant, Some(&basic(CLIENT, SECRET)))
        } else {
            let form = format!("{grant}&client_id={CLIENT}&client_secret={SECRET}");
            post(&emu, &url, &form, None)
        };
        assert_eq!(refused.status(), 401, "{registered}");
        assert_eq!(json(&refused)["error"], "invalid_client", "{registered}");
    }
}

/// Vercel's authorization server metadata: token endpoint authentication
/// `client_secret_basic` and `client_secret_post`, revocation
/// `client_secret_basic`. No `none` while no public client is registered.
#[test]
fn discovery_lists_only_the_methods_vercel_lists() {
    let d = json(&get(
        &emulator(),
        &format!("{ISSUER}/.well-known/openid-configuration"),
    ));
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(
        d["revocation_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic"])
    );
}

/// Vercel's Authorization Server API reference: "The client_secret parameter is
/// optional if client authentication is set to none": with a public client
/// registered, discovery offers `none`.
#[test]
fn discovery_lists_none_once_a_public_client_is_registered() {
    let d = json(&get(
        &emulator_with(public_client(&["openid"])),
        &format!("{ISSUER}/.well-known/openid-configuration"),
    ));
    let methods = d["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&Value::from("none")));
}

/// RFC 6749 §3.2: a parameter sent without a value is treated as omitted,
/// so a public client's `client_secret=` is no secret, and a Basic
/// client's `client_id=` no second client.
#[test]
fn a_parameter_sent_without_a_value_is_omitted() {
    let emu = emulator_with(public_client(&["openid"]));
    let mut browser = Browser::signed_in(&emu, DEMO);
    let code = code_in(&browser.authorize_and_allow(None, ""));
    let form = |secret: &str| {
        format!(
            "grant_type=authorization_code&client_id={CLIENT}{secret}&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
            encode(REDIRECT)
        )
    };
    let accepted = post(
        &emu,
        &format!("{API}/login/oauth/token"),
        &form("&client_secret="),
        None,
    );
    assert_eq!(accepted.status(), 200, "{}", text(&accepted));

    let emu = emulator();
    let t = tokens(&emu, None);
    let revoked = post(
        &emu,
        &format!("{API}/login/oauth/token/revoke"),
        &format!("token={}&client_id=", str_of(&t, "access_token")),
        Some(&basic(CLIENT, SECRET)),
    );
    assert_eq!(revoked.status(), 200, "{}", text(&revoked));
    let introspected = json(&post(
        &emu,
        &format!("{API}/login/oauth/token/introspect"),
        &format!("token={}&client_id=", str_of(&t, "refresh_token")),
        None,
    ));
    assert_eq!(introspected["active"], false, "revoked with its grant");
}

/// RFC 6749 §4.1.3: the code must have been issued to the client that
/// presents it; another client replaying a spent code is refused without
/// touching the grant (only the code's own client's reuse revokes it).
#[test]
fn another_clients_replay_of_a_spent_code_revokes_nothing() {
    let emu = emulator();
    emu.register_client(Client {
        client_id: "cl_other".to_owned(),
        client_secret: None,
        token_endpoint_auth_method: "none".to_owned(),
        ..client(&["openid"])
    });
    let mut browser = Browser::signed_in(&emu, DEMO);
    let code = code_in(&browser.authorize_and_allow(None, ""));
    let t = json(&exchange(&emu, &code));
    let replay = post(
        &emu,
        &format!("{API}/login/oauth/token"),
        &format!(
            "grant_type=authorization_code&client_id=cl_other&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
            encode(REDIRECT)
        ),
        None,
    );
    assert_eq!(json(&replay)["error"], "invalid_grant");
    assert!(active(&emu, str_of(&t, "access_token")), "the grant lives");
    assert!(active(&emu, str_of(&t, "refresh_token")));
}

/// RFC 6749 §5.2: a client that authenticated with the `Authorization`
/// header and failed is answered 401 with the challenge of its scheme;
/// the scheme's name is case-insensitive (RFC 7235 §2.1).
#[test]
fn failed_basic_authentication_is_challenged_and_the_scheme_is_case_insensitive() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let form = format!("token={}", str_of(&t, "access_token"));
    let url = format!("{API}/login/oauth/token/revoke");
    let refused = post(&emu, &url, &form, Some(&basic(CLIENT, "wrong")));
    assert_eq!(refused.status(), 401);
    assert!(header(&refused, "www-authenticate").starts_with("Basic "));
    let in_body = post(
        &emu,
        &format!("{API}/login/oauth/token"),
        &format!("grant_type=refresh_token&client_id={CLIENT}&client_secret=wrong&refresh_token=x"),
        None,
    );
    assert_eq!(in_body.status(), 401);
    assert!(in_body.headers().get("www-authenticate").is_none());
    let lower = basic(CLIENT, SECRET).replacen("Basic", "basic", 1);
    assert_eq!(post(&emu, &url, &form, Some(&lower)).status(), 200);
    assert!(!active(&emu, str_of(&t, "access_token")));
}

/// RFC 6749 §6: a refresh may not ask for more than was granted.
#[test]
fn a_refresh_asking_for_more_scope_than_granted_is_invalid_scope() {
    let emu = emulator();
    let t = tokens(&emu, Some("openid offline_access"));
    let refresh_token = str_of(&t, "refresh_token");
    let ask = |scope: &str| refresh_with(&emu, refresh_token, &format!("&scope={}", encode(scope)));
    let wider = ask("openid offline_access email");
    assert_eq!(wider.status(), 400);
    assert_eq!(json(&wider)["error"], "invalid_scope");
    // The request's text is not echoed in the description (§5.2 limits its
    // characters; a scope may carry any).
    let odd = ask("openid \"<script>");
    assert_eq!(json(&odd)["error"], "invalid_scope");
    let description = json(&odd)["error_description"].as_str().unwrap().to_owned();
    assert!(!description.contains("script"), "{description}");
    assert_eq!(ask("openid").status(), 200, "narrower is fine");
}

// --------------------------------------------------------------- userinfo

/// The userinfo route of Vercel's Authorization Server API reference sends
/// `Authorization: Bearer ${token}`. Undocumented; the emulator's strict
/// choice: `bearer` in lower case is refused.
#[test]
fn userinfo_accepts_bearer_and_refuses_lowercase_bearer() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let access = str_of(&t, "access_token");
    let ask = |scheme: &str| {
        post(
            &emu,
            &format!("{API}/login/oauth/userinfo"),
            "",
            Some(&format!("{scheme} {access}")),
        )
        .status()
    };
    assert_eq!(ask("Bearer"), 200);
    assert_eq!(ask("bearer"), 401);
}

/// RFC 6750 §3.1: a request with no bearer token at all gets a bare
/// challenge, no error code; a bad token gets `invalid_token`.
#[test]
fn userinfo_without_a_token_is_challenged_without_an_error_code() {
    let emu = emulator();
    let bare = rest_get(&emu, "/login/oauth/userinfo", None);
    assert_eq!(bare.status(), 401);
    let challenge = header(&bare, "www-authenticate");
    assert!(challenge.starts_with("Bearer") && !challenge.contains("error"));
    assert!(!text(&bare).contains("error"));
    let bad = userinfo(&emu, "vca_not_a_token");
    assert_eq!(bad.status(), 401);
    assert!(header(&bad, "www-authenticate").contains("error=\"invalid_token\""));
}

/// Vercel's Authorization Server API reference, "User Info Endpoint response":
/// `sub`, `email`, `email_verified`, `name`, `preferred_username`, `picture`;
/// with `GET` too (OpenID Connect Core §5.3.1).
#[test]
fn userinfo_answers_vercels_documented_claims() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let info = json(&userinfo(&emu, str_of(&t, "access_token")));
    assert_eq!(
        members(&info),
        [
            "email",
            "email_verified",
            "name",
            "picture",
            "preferred_username",
            "sub"
        ]
    );
    let by_get = rest_get(
        &emu,
        "/login/oauth/userinfo",
        Some(str_of(&t, "access_token")),
    );
    assert_eq!(by_get.status(), 200);
}

/// An access token the provider has expired (an app's clock behind the
/// provider's) is refused, and its refresh token still works.
#[test]
fn an_expired_access_token_is_refused_and_its_refresh_token_still_works() {
    let emu = emulator();
    let t = tokens(&emu, None);
    emu.expire_access_token(str_of(&t, "access_token"));
    assert_eq!(userinfo(&emu, str_of(&t, "access_token")).status(), 401);
    assert_eq!(refresh(&emu, str_of(&t, "refresh_token")).status(), 200);
}

// ---------------------------------------------------------------- avatars

/// Vercel's Authorization Server API reference, "User Info Endpoint response":
/// `"picture": "https://vercel.com/api/www/avatar/avatar-42…"`: an absolute URL
/// on the issuer's host, served as an image from the issuer origin only.
#[test]
fn the_picture_is_an_image_at_vercels_avatar_path_on_the_issuer_origin() {
    let emu = emulator();
    let t = tokens(&emu, None);
    let picture = str_of(&claims(&t["id_token"]), "picture").to_owned();
    assert!(
        picture.starts_with(&format!("{ISSUER}/api/www/avatar/")),
        "{picture}"
    );
    let image = get(&emu, &picture);
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/svg+xml");
    assert!(text(&image).starts_with("<svg"));
    // This user's picture ("Demo User"), not another configured user's.
    assert!(text(&image).contains(">DU</text>"), "{}", text(&image));
    assert_eq!(get(&emu, &picture.replace(ISSUER, API)).status(), 404);
    let unknown = format!("{ISSUER}/api/www/avatar/{}", "0".repeat(40));
    assert_eq!(get(&emu, &unknown).status(), 404);
}

/// A browser on the emulator's pages asks for `/favicon.ico`: an image,
/// not a 404.
#[test]
fn the_favicon_is_an_image() {
    let icon = get(&emulator(), &format!("{ISSUER}/favicon.ico"));
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    assert!(text(&icon).starts_with("<svg"), "{}", text(&icon));
}

/// A configured picture is passed on as it is.
#[test]
fn a_configured_picture_is_used_as_it_is() {
    let config = EmulatorConfig {
        users: vec![User {
            picture: Some("https://example.com/me.png".to_owned()),
            ..sign_in_with_vercel_emulator::demo_user()
        }],
        ..EmulatorConfig::default()
    };
    let emu =
        sign_in_with_vercel_emulator::Emulator::with_key(ISSUER, config, SigningKey::shared());
    emu.register_client(client(&["openid", "profile"]));
    let t = tokens(&emu, None);
    assert_eq!(
        claims(&t["id_token"])["picture"],
        "https://example.com/me.png"
    );
}

// ------------------------------------------------------- code exchange rules

/// RFC 6749 §4.1.3: the token request's `redirect_uri` must be "identical" to
/// the authorization request's; another one is `invalid_grant` (§5.2).
#[test]
fn a_code_exchanged_with_another_redirect_uri_is_invalid_grant() {
    let emu = emulator();
    let code = demo_code(&emu);
    let form = exchange_form(
        CLIENT,
        SECRET,
        &code,
        "http://localhost:3000/api/auth/other",
    );
    assert_eq!(token_error(&emu, &form), (400, "invalid_grant".to_owned()));
}

/// RFC 6749 §4.1.3: the server must "ensure that the authorization code was
/// issued to the authenticated confidential client"; another client's
/// exchange of an unspent code is `invalid_grant`, and spends nothing.
#[test]
fn an_unspent_code_exchanged_by_another_client_is_invalid_grant() {
    let emu = emulator();
    register_other_client(&emu);
    let code = demo_code(&emu);
    let form = exchange_form("cl_other", "other-secret", &code, REDIRECT);
    assert_eq!(token_error(&emu, &form), (400, "invalid_grant".to_owned()));
    assert_eq!(exchange(&emu, &code).status(), 200, "the code is unspent");
}

/// RFC 6749 §3.2: "Request and response parameters MUST NOT be included
/// more than once"; a token request repeating one is `invalid_request`
/// (§5.2), and its code stays unspent.
#[test]
fn a_repeated_parameter_at_the_token_endpoint_is_invalid_request() {
    let emu = emulator();
    let code = demo_code(&emu);
    let form = format!(
        "{}&code={code}",
        exchange_form(CLIENT, SECRET, &code, REDIRECT)
    );
    assert_eq!(
        token_error(&emu, &form),
        (400, "invalid_request".to_owned())
    );
    assert_eq!(exchange(&emu, &code).status(), 200, "the code is unspent");
}

/// RFC 6749 §4.1.2: a code used twice, the server "SHOULD revoke (when
/// possible) all tokens previously issued based on that authorization
/// code": the first exchange's tokens stop being active.
#[test]
fn a_reused_code_revokes_the_tokens_of_its_first_exchange() {
    let emu = emulator();
    let code = demo_code(&emu);
    let t = json(&exchange(&emu, &code));
    let (access, refresh_token) = (str_of(&t, "access_token"), str_of(&t, "refresh_token"));
    assert!(active(&emu, access));
    assert_eq!(json(&exchange(&emu, &code))["error"], "invalid_grant");
    assert_eq!(
        introspect(&emu, access),
        serde_json::json!({ "active": false })
    );
    assert!(!active(&emu, refresh_token));
    assert_eq!(userinfo(&emu, access).status(), 401);
}

/// A spent code replayed after its own expiry still revokes what it issued
/// (RFC 6749 §4.1.2 and §10.5 set no time limit): a code that leaked from
/// a log or a history is as dangerous a minute later. The store keeps a
/// spent code while a token of its grant is known, so the answer does not
/// depend on whether its sweep has run (`store::tests`).
#[test]
fn a_spent_code_replayed_after_it_expires_still_revokes_its_tokens() {
    let (emu, clock) = emulator_on_a_clock();
    let code = demo_code(&emu);
    let t = json(&exchange(&emu, &code));
    advance(&clock, 3600);
    let replay = json(&exchange(&emu, &code));
    assert_eq!(replay["error"], "invalid_grant");
    assert_eq!(
        replay["error_description"],
        "authorization code already used"
    );
    assert!(!active(&emu, str_of(&t, "refresh_token")));
    assert_eq!(refresh(&emu, str_of(&t, "refresh_token")).status(), 400);
}

/// A code never exchanged is only expired once its time is up.
#[test]
fn an_unspent_code_presented_late_is_expired() {
    let (emu, clock) = emulator_on_a_clock();
    let code = demo_code(&emu);
    advance(&clock, 60);
    let late = json(&exchange(&emu, &code));
    assert_eq!(late["error"], "invalid_grant");
    assert_eq!(late["error_description"], "authorization code expired");
}

// ------------------------------------------------------------- lifetimes

/// A lifetime set in code past what the clock can add (the configuration
/// file refuses more than 10 years) saturates: the token lives "forever",
/// and nothing panics.
#[test]
fn a_huge_access_token_lifetime_set_in_code_saturates() {
    for ttl in [i64::MAX as u64, u64::MAX] {
        let emu = emulator();
        emu.set_access_token_ttl(ttl);
        let t = tokens(&emu, None);
        let access = str_of(&t, "access_token");
        assert!(active(&emu, access), "ttl {ttl}");
        assert_eq!(introspect(&emu, access)["exp"], i64::MAX, "ttl {ttl}");
        let listed = rest_get(&emu, "/v5/user/tokens", Some(access));
        assert_eq!(listed.status(), 200, "ttl {ttl}: {}", text(&listed));
    }
}
