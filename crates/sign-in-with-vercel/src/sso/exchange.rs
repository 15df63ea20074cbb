//! The token exchange itself (Vercel's REST API reference, `POST
//! /v1/integrations/sso/token`), as a pair that does no I/O: the JSON
//! request of the integration's credentials and the redirect's code, and
//! the parse of Vercel's answer (its refusals read from the status, RFC
//! 6750 §4 for the token type) into the tokens still to be verified.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::{Endpoint, Error};
use crate::secret::{AccessToken, IdToken};
use crate::transport::{HttpRequest, HttpResponse, Unbuildable, base_request};

use super::{Integration, SsoCallback};

/// The exchange's path on the REST API's origin.
pub const SSO_TOKEN_PATH: &str = "/v1/integrations/sso/token";

/// The answer of the exchange, before verification.
#[non_exhaustive]
pub struct SsoTokens {
    /// `id_token`.
    pub id_token: IdToken,
    /// `access_token` (may be `null`).
    pub access_token: Option<AccessToken>,
    /// `token_type` (may be `null`; otherwise `Bearer`, in any case).
    pub token_type: Option<String>,
    /// `expires_in`, at most a year.
    pub expires_in: Option<u64>,
}

/// The exchange request: a JSON `POST` of `client_id`, `client_secret`,
/// `code`, and `state` and `redirect_uri` when there are.
pub fn request(
    endpoint: &str,
    integration: &Integration,
    callback: &SsoCallback,
) -> Result<HttpRequest, Unbuildable> {
    let mut body = Map::new();
    body.insert("client_id".into(), json!(integration.client_id));
    body.insert(
        "client_secret".into(),
        json!(integration.client_secret.secret()),
    );
    body.insert("code".into(), json!(callback.code.secret()));
    if let Some(state) = &callback.state {
        body.insert("state".into(), json!(state));
    }
    if let Some(uri) = &integration.redirect_uri {
        body.insert("redirect_uri".into(), json!(uri));
    }
    base_request(http::Method::POST, endpoint)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(&Value::Object(body)).map_err(|_| Unbuildable)?)
        .map_err(|_| Unbuildable)
}

#[derive(Deserialize)]
struct RawAnswer {
    id_token: String,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<Value>,
}

/// Parses the exchange's answer. Vercel's REST API answers a refusal with
/// its own `{"error": {"code", "message"}}`, not an OAuth error, so the
/// refusal is read from the status: a 400 (the code, its `state` or the
/// secret refused: the API does not say which) is `invalid_grant`, sign in
/// again; a 401, 403 or 404 (no such integration, or not these
/// credentials) is `invalid_client`, the integration's configuration.
/// Other failures are the provider's. The message is never kept. As at
/// the token endpoint, a `token_type` other than Bearer is refused (RFC
/// 6750 §4; `null` is allowed, as Vercel's reference shows it), and
/// `expires_in` is read leniently and capped at a year.
pub fn parse_response(response: &HttpResponse) -> Result<SsoTokens, Error> {
    let status = response.status();
    match status.as_u16() {
        400 => return Err(Error::TokenRejected("invalid_grant".into())),
        401 | 403 | 404 => return Err(Error::TokenRejected("invalid_client".into())),
        _ => {}
    }
    if !status.is_success() {
        return Err(Endpoint::Token.failed(status));
    }
    let raw: RawAnswer = serde_json::from_slice(response.body())
        .map_err(|_| Endpoint::Token.malformed("not an SSO token response"))?;
    if raw.id_token.is_empty() {
        return Err(Endpoint::Token.malformed("empty id_token"));
    }
    if let Some(kind) = &raw.token_type {
        crate::token::bearer(kind)?;
    }
    Ok(SsoTokens {
        id_token: IdToken::new(raw.id_token),
        access_token: raw
            .access_token
            .filter(|t| !t.is_empty())
            .map(AccessToken::new),
        token_type: raw.token_type,
        expires_in: crate::token::expires_in(raw.expires_in.as_ref()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sso::tests::integration;
    use crate::transport::tests::response;

    #[test]
    fn request_posts_the_five_members_as_json() {
        let callback = SsoCallback::from_query("code=c0de&state=st&mode=sso").unwrap();
        let req = request(
            "https://api.vercel.com/v1/integrations/sso/token",
            &integration(),
            &callback,
        )
        .unwrap();
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(req.uri().path(), SSO_TOKEN_PATH);
        assert_eq!(req.headers()["content-type"], "application/json");
        assert_eq!(req.headers()["accept"], "application/json");
        assert!(req.headers().contains_key("user-agent"));
        assert!(!req.headers().contains_key("authorization"));
        let body: Value = serde_json::from_slice(req.body()).unwrap();
        assert_eq!(
            body,
            json!({"client_id": "oac_int", "client_secret": "s3cret", "code": "c0de",
                   "state": "st", "redirect_uri": "https://int.example/sso"})
        );
    }

    #[test]
    fn state_and_redirect_uri_are_left_out_when_absent() {
        let callback = SsoCallback::from_query("code=c").unwrap();
        let mut i = integration();
        i.redirect_uri = None;
        let req = request("https://api.vercel.com/x", &i, &callback).unwrap();
        let body: Value = serde_json::from_slice(req.body()).unwrap();
        assert_eq!(body.as_object().unwrap().len(), 3);
    }

    #[test]
    fn answer_with_null_access_token_is_understood() {
        let t = parse_response(&response(
            200,
            r#"{"id_token":"a.b.c","access_token":null,"token_type":null}"#,
        ))
        .unwrap();
        assert!(t.access_token.is_none());
        assert_eq!(t.expires_in, None);
    }

    /// An empty `access_token` is no access token; one that is given is
    /// kept.
    #[test]
    fn an_empty_access_token_is_none_and_a_given_one_is_kept() {
        let t =
            parse_response(&response(200, r#"{"id_token":"a.b.c","access_token":""}"#)).unwrap();
        assert!(t.access_token.is_none());
        let t = parse_response(&response(
            200,
            r#"{"id_token":"a.b.c","access_token":"vca_x"}"#,
        ))
        .unwrap();
        assert!(t.access_token.as_ref().map(AccessToken::secret) == Some("vca_x"));
    }

    #[test]
    fn a_huge_expires_in_is_capped_as_the_token_endpoints_is() {
        for value in ["1e300", "99999999999999999999", "\"99999999999999999999\""] {
            let t = parse_response(&response(
                200,
                &format!(r#"{{"id_token":"a.b.c","expires_in":{value}}}"#),
            ))
            .unwrap();
            assert_eq!(t.expires_in, Some(365 * 24 * 3600), "a year: {value}");
        }
        let t = parse_response(&response(200, r#"{"id_token":"a.b.c","expires_in":3600}"#));
        assert_eq!(t.unwrap().expires_in, Some(3600));
    }

    #[test]
    fn a_token_type_other_than_bearer_is_refused() {
        for kind in ["\"mac\"", "\"DPoP\"", "\"\""] {
            let e = parse_response(&response(
                200,
                &format!(r#"{{"id_token":"a.b.c","access_token":"vca_x","token_type":{kind}}}"#),
            ))
            .err()
            .unwrap();
            assert_eq!(e.code(), "provider_unavailable", "{kind}");
        }
        for kind in ["\"Bearer\"", "\"bearer\"", "\"BEARER\"", "null"] {
            let body =
                format!(r#"{{"id_token":"a.b.c","access_token":"vca_x","token_type":{kind}}}"#);
            assert!(parse_response(&response(200, &body)).is_ok(), "{kind}");
        }
    }

    #[test]
    fn a_refused_code_is_a_refused_grant_and_keeps_no_message() {
        let e = parse_response(&response(
            400,
            r#"{"error":{"code":"bad_request","message":"code c0de_secret is invalid"}}"#,
        ))
        .err()
        .unwrap();
        assert_eq!(e, Error::TokenRejected("invalid_grant".into()));
        assert!(e.is_grant_refusal());
        assert!(!format!("{e:?} {e}").contains("c0de_secret"));
    }

    #[test]
    fn an_unknown_integration_is_the_integrations_configuration() {
        for status in [401, 403, 404] {
            let e = parse_response(&response(status, r#"{"error":{"code":"not_found"}}"#))
                .err()
                .unwrap();
            assert_eq!(e, Error::TokenRejected("invalid_client".into()));
            // The operator's detail names the integration's variables too.
            assert!(e.to_string().contains("INTEGRATION_CLIENT_ID"), "{e}");
            assert_eq!(e.code(), "configuration");
            assert!(!e.ends_session());
        }
    }

    #[test]
    fn server_errors_are_the_providers() {
        let e = parse_response(&response(500, "")).err().unwrap();
        assert_eq!(e.code(), "provider_unavailable");
    }
}
