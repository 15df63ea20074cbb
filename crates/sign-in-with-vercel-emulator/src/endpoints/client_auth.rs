//! Client authentication (RFC 6749 §2.3.1), as Vercel's own examples send it
//! (Vercel's Authorization Server API reference): the secret in the body at the
//! token endpoint (its `exchangeCodeForToken`), HTTP Basic at revocation (its
//! signout route). A public client (registered with `none`) sends only its
//! `client_id`.
//!
//! A parameter sent without a value counts as omitted (RFC 6749 §3.2), so
//! a public client's `client_secret=` is no secret at all. A client that
//! authenticated with the `Authorization` header and failed gets the
//! `WWW-Authenticate` challenge of its scheme (§5.2).

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};

use super::Response;
use super::respond::oauth_error;
use crate::secret::ct_eq;
use crate::{Client, Emulator};

/// Which endpoint is authenticating: each has its rule.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum At {
    /// The method the client registered (`token_endpoint_auth_method`).
    Token,
    /// Basic for a confidential client (Vercel's authorization server metadata
    /// lists only `client_secret_basic` for revocation), `none` for a public
    /// one.
    Revocation,
    /// When the client authenticates at all: with its secret in either
    /// way (Vercel's metadata lists no introspection methods), or `none`
    /// for a public client.
    Introspection,
}

/// The authenticated client, or a `401 invalid_client` (RFC 6749 §5.2).
pub(super) fn authenticate(
    emu: &Emulator,
    request: &http::Request<Vec<u8>>,
    params: &HashMap<String, String>,
    at: At,
) -> Result<Client, Response> {
    let with_header = request.headers().contains_key(AUTHORIZATION);
    let invalid = |description: &str| {
        let mut response = oauth_error(401, "invalid_client", description);
        if with_header {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Vercel\", charset=\"UTF-8\""),
            );
        }
        response
    };
    let basic = match request.headers().get(AUTHORIZATION) {
        None => None,
        Some(value) => {
            Some(parse_basic(value).ok_or_else(|| invalid("malformed Authorization header"))?)
        }
    };
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    let client_id = match (&basic, body_id) {
        (Some((id, _)), Some(body)) if id != body => return Err(invalid("client_id mismatch")),
        (Some((id, _)), _) => id.clone(),
        (None, Some(id)) => id.clone(),
        (None, None) => return Err(invalid("no client authentication")),
    };
    let client = emu
        .client(&client_id)
        .ok_or_else(|| invalid("unknown client"))?;
    let registered = client.client_secret.as_deref();
    let method = match (at, registered) {
        (_, None) => "none",
        (At::Revocation, Some(_)) => "client_secret_basic",
        (At::Token, Some(_)) => client.token_endpoint_auth_method.as_str(),
        (At::Introspection, Some(_)) if basic.is_some() => "client_secret_basic",
        (At::Introspection, Some(_)) => "client_secret_post",
    };
    let ok = match (method, &basic, body_secret, registered) {
        ("client_secret_basic", Some((_, secret)), None, Some(expected)) => ct_eq(secret, expected),
        ("client_secret_post", None, Some(secret), Some(expected)) => ct_eq(secret, expected),
        ("none", None, None, None) => true,
        _ => false,
    };
    if ok {
        Ok(client)
    } else {
        Err(invalid(&format!(
            "client authentication failed (expected method: {method})"
        )))
    }
}

/// `Authorization: Basic` (RFC 7617; the scheme in any case, RFC 7235
/// §2.1), with the id and secret form-urlencoded first as RFC 6749 §2.3.1
/// says.
pub(super) fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    let (scheme, encoded) = value.to_str().ok()?.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let decode = |s: &str| -> Option<String> {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|d| d.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}
