//! Authorization server metadata (RFC 8414 §2, OpenID Connect Discovery
//! §3) and the JWK Set (RFC 7517 §5), both on the issuer origin.

use http::StatusCode;
use serde_json::{Value, json};

use super::respond::json_response;
use super::{AUTHORIZE, INTROSPECT, JWKS, REVOKE, Request, Response, TOKEN, USERINFO};
use crate::{Emulator, SCOPES, lock};

/// `GET /.well-known/openid-configuration`: the endpoints on the two origins as
/// Vercel advertises them (authorization and JWKS on the issuer's, the rest on
/// the API's), and only the client authentication methods Vercel's metadata
/// lists (at `https://vercel.com/.well-known/oauth-authorization-server`);
/// `none` only while a public client is registered.
/// `authorization_response_iss_parameter_supported` (RFC 9207 §3) only while
/// the setting `authorization_response_iss` is on: Vercel does not advertise it
/// (its metadata has no such member). `request_parameter_supported` and
/// `request_uri_parameter_supported` are `false`, said outright because an
/// absent `request_uri_parameter_supported` means `true` (OpenID Connect
/// Discovery §3): the authorization endpoint refuses both (Core §6).
pub(super) fn metadata(emu: &Emulator, _: &Request) -> Response {
    json_response(StatusCode::OK, &document(emu))
}

fn document(emu: &Emulator) -> Value {
    let issuer = emu.issuer();
    let api = emu.api_origin();
    let (any_public, with_iss) = {
        let config = lock(&emu.config);
        (
            config.clients.iter().any(|c| c.is_public()),
            config.authorization_response_iss,
        )
    };
    let mut token_methods = vec!["client_secret_basic", "client_secret_post"];
    let mut revocation_methods = vec!["client_secret_basic"];
    if any_public {
        token_methods.push("none");
        revocation_methods.push("none");
    }
    let mut document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{AUTHORIZE}"),
        "token_endpoint": format!("{api}{TOKEN}"),
        "revocation_endpoint": format!("{api}{REVOKE}"),
        "introspection_endpoint": format!("{api}{INTROSPECT}"),
        "userinfo_endpoint": format!("{api}{USERINFO}"),
        "jwks_uri": format!("{issuer}{JWKS}"),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "token_endpoint_auth_methods_supported": token_methods,
        "revocation_endpoint_auth_methods_supported": revocation_methods,
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "nonce", "auth_time", "name", "preferred_username", "picture", "email", "email_verified"],
    });
    if with_iss {
        document["authorization_response_iss_parameter_supported"] = json!(true);
    }
    document
}

/// `GET /.well-known/jwks`: every signing key still published.
pub(super) fn jwks(emu: &Emulator, _: &Request) -> Response {
    let keys: Vec<Value> = lock(&emu.keys).iter().map(|k| k.jwk()).collect();
    json_response(StatusCode::OK, &json!({ "keys": keys }))
}
