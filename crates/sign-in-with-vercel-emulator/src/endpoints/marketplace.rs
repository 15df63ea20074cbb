//! The marketplace issuer, on its own origin: Vercel's marketplace
//! user-authentication tokens are issued by `https://marketplace.vercel.com`,
//! with keys at `/.well-known/jwks` and discovery at
//! `/.well-known/openid-configuration`, RS256, `aud` the integration's ID
//! (Vercel's Marketplace documentation, Partner API user authentication: OIDC
//! tokens). The SSO exchange's `id_token` is one ([`id_token`]).

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::respond::json_response;
use super::{JWKS, Request, Response};
use crate::config::expiry;
use crate::{Emulator, User, lock};

/// `GET /.well-known/openid-configuration` on the marketplace origin: the
/// issuer, its JWK Set and its algorithm (OpenID Connect Discovery §3's
/// required members, with `response_types_supported` and
/// `subject_types_supported` as an ID-token issuer has them).
pub(super) fn metadata(emu: &Emulator, _: &Request) -> Response {
    let issuer = emu.marketplace_issuer();
    json_response(
        StatusCode::OK,
        &json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}{JWKS}"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }),
    )
}

/// `GET /.well-known/jwks` (and `/.well-known/jwks.json`, which public
/// integrations fetch too) on the marketplace origin: the marketplace
/// issuer's keys, none of the sign-in's.
pub(super) fn jwks(emu: &Emulator, _: &Request) -> Response {
    let keys: Vec<Value> = emu.marketplace_keys().iter().map(|k| k.jwk()).collect();
    json_response(StatusCode::OK, &json!({ "keys": keys }))
}

/// A marketplace user-authentication ID token for `user` signing in to
/// integration `client_id`: the claims of Vercel's "User Auth OIDC token
/// claims schema" — `iss`, `aud`, `type`, `sub`
/// (`account:<account_id>:user:<user_id>`), `account_id`,
/// `installation_id`, `user_id`, `user_role`, `user_name`,
/// `user_avatar_url`, `user_email` when the user has one — with `iat`,
/// `exp` and `nbf`. No `nonce`: the schema has none.
pub(super) fn id_token(emu: &Emulator, client_id: &str, user: &User, now: i64) -> String {
    let ttl = lock(&emu.config).id_token_ttl;
    let user_id = user.marketplace_user_id();
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(emu.marketplace_issuer()));
    claims.insert("aud".into(), json!(client_id));
    claims.insert("type".into(), json!("id_token"));
    claims.insert(
        "sub".into(),
        json!(format!("account:{}:user:{user_id}", user.account_id)),
    );
    claims.insert("account_id".into(), json!(user.account_id));
    claims.insert(
        "installation_id".into(),
        json!(emu.installation_id(client_id, &user.account_id)),
    );
    claims.insert("user_id".into(), json!(user_id));
    claims.insert("user_role".into(), json!(user.role.as_str()));
    claims.insert("user_name".into(), json!(user.name));
    claims.insert("user_avatar_url".into(), json!(emu.picture_of(user)));
    if !user.email.is_empty() {
        claims.insert("user_email".into(), json!(user.email));
    }
    claims.insert("iat".into(), json!(now));
    claims.insert("nbf".into(), json!(now));
    claims.insert("exp".into(), json!(expiry(now, ttl)));
    emu.sign_id_token(claims, true)
}
