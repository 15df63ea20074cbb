//! CORS for public clients in a browser. Vercel's Authorization Server API
//! reference, Token Endpoint: authentication `none` "is suitable for public
//! applications that cannot securely store secrets, such as SPAs": an SPA calls
//! the token, revocation and userinfo endpoints from its own origin.

use crate::support::*;

const SPA: &str = "http://localhost:3000";

fn preflight(
    emu: &sign_in_with_vercel_emulator::Emulator,
    url: &str,
    origin: &str,
    method: &str,
) -> Response {
    emu.handle(
        &http::Request::builder()
            .method("OPTIONS")
            .uri(url)
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "authorization")
            .body(Vec::new())
            .unwrap(),
    )
}

fn header<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

/// The Fetch standard's CORS preflight: an SPA's origin (a public client's
/// redirect URI's) may `POST` to the token and revocation endpoints and
/// `GET` or `POST` userinfo with `Authorization`, without credentials.
#[test]
fn preflights_allow_a_public_clients_origin() {
    let emu = emulator_with(public_client(&["openid", "offline_access"]));
    for (path, method, methods) in [
        ("/login/oauth/token", "POST", "POST"),
        ("/login/oauth/token/revoke", "POST", "POST"),
        ("/login/oauth/userinfo", "GET", "GET, POST"),
    ] {
        for origin in [API.to_owned(), format!("{ISSUER}/api")] {
            let answer = preflight(&emu, &format!("{origin}{path}"), SPA, method);
            assert_eq!(answer.status(), 204, "{origin}{path}");
            assert_eq!(header(&answer, "access-control-allow-origin"), Some(SPA));
            assert_eq!(
                header(&answer, "access-control-allow-methods"),
                Some(methods)
            );
            let headers = header(&answer, "access-control-allow-headers").unwrap();
            assert!(headers.contains("authorization") && headers.contains("content-type"));
            assert!(header(&answer, "access-control-allow-credentials").is_none());
            assert!(header(&answer, "vary").unwrap().contains("Origin"));
        }
    }
}

/// Another origin gets no CORS headers: the browser refuses its request.
#[test]
fn preflights_of_other_origins_allow_nothing() {
    let emu = emulator_with(public_client(&["openid"]));
    let answer = preflight(
        &emu,
        &format!("{API}/login/oauth/token"),
        "https://evil.example",
        "POST",
    );
    assert!(header(&answer, "access-control-allow-origin").is_none());
}

/// A confidential client's redirect origin is not an SPA's (a guess: CORS
/// for public clients only).
#[test]
fn a_confidential_clients_origin_gets_no_cors() {
    let emu = emulator();
    let answer = preflight(&emu, &format!("{API}/login/oauth/token"), SPA, "POST");
    assert!(header(&answer, "access-control-allow-origin").is_none());
}

/// The SPA's whole flow, as its fetches carry `Origin`: the token
/// response, userinfo and revocation are readable by it.
#[test]
fn an_spa_reads_the_token_userinfo_and_revocation_answers() {
    let emu = emulator_with(public_client(&["openid", "offline_access"]));
    let mut browser = Browser::signed_in(&emu, DEMO);
    let code = code_in(&browser.authorize_and_allow(None, ""));
    let token = emu.handle(
        &http::Request::post(format!("{API}/login/oauth/token"))
            .header("origin", SPA)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                format!(
                    "grant_type=authorization_code&client_id={CLIENT}&code={code}&code_verifier={VERIFIER}&redirect_uri={}",
                    encode(REDIRECT)
                )
                .into_bytes(),
            )
            .unwrap(),
    );
    assert_eq!(token.status(), 200, "{}", text(&token));
    assert_eq!(header(&token, "access-control-allow-origin"), Some(SPA));
    let access = str_of(&json(&token), "access_token").to_owned();
    let info = emu.handle(
        &http::Request::get(format!("{API}/login/oauth/userinfo"))
            .header("origin", SPA)
            .header("authorization", format!("Bearer {access}"))
            .body(Vec::new())
            .unwrap(),
    );
    assert_eq!(info.status(), 200);
    assert_eq!(header(&info, "access-control-allow-origin"), Some(SPA));
    let revoked = emu.handle(
        &http::Request::post(format!("{API}/login/oauth/token/revoke"))
            .header("origin", SPA)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={access}&client_id={CLIENT}").into_bytes())
            .unwrap(),
    );
    assert_eq!(revoked.status(), 200, "{}", text(&revoked));
    assert_eq!(header(&revoked, "access-control-allow-origin"), Some(SPA));
}

/// Errors are readable too, with userinfo's `WWW-Authenticate` exposed.
#[test]
fn an_spa_reads_userinfos_refusal() {
    let emu = emulator_with(public_client(&["openid"]));
    let refused = emu.handle(
        &http::Request::get(format!("{API}/login/oauth/userinfo"))
            .header("origin", SPA)
            .header("authorization", "Bearer vca_unknown")
            .body(Vec::new())
            .unwrap(),
    );
    assert_eq!(refused.status(), 401);
    assert_eq!(header(&refused, "access-control-allow-origin"), Some(SPA));
    assert_eq!(
        header(&refused, "access-control-expose-headers"),
        Some("WWW-Authenticate")
    );
}

/// Only the three endpoints an SPA needs: discovery, the JWK Set and
/// introspection send no CORS headers (a guess: Vercel documents CORS
/// nowhere, so an SPA must not depend on more).
#[test]
fn discovery_jwks_and_introspection_send_no_cors() {
    let emu = emulator_with(public_client(&["openid"]));
    for url in [
        format!("{ISSUER}/.well-known/openid-configuration"),
        format!("{ISSUER}/.well-known/jwks"),
    ] {
        let response = emu.handle(
            &http::Request::get(&url)
                .header("origin", SPA)
                .body(Vec::new())
                .unwrap(),
        );
        assert!(
            header(&response, "access-control-allow-origin").is_none(),
            "{url}"
        );
    }
    let introspection = preflight(
        &emu,
        &format!("{API}/login/oauth/token/introspect"),
        SPA,
        "POST",
    );
    assert_eq!(introspection.status(), 405);
    assert!(header(&introspection, "access-control-allow-origin").is_none());
}
