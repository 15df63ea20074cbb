//! The UserInfo endpoint (OpenID Connect Core §5.3).

use serde_json::{Map, Value};

use crate::error::{Endpoint, Error};
use crate::secret::{AccessToken, ct_eq};
use crate::transport::{HttpRequest, HttpResponse, Unbuildable, get_json};

/// The userinfo request: a `GET` with the access token as a bearer token
/// (OpenID Connect Core §5.3.1, RFC 6750 §2.1).
pub fn request(endpoint: &str, token: &AccessToken) -> Result<HttpRequest, Unbuildable> {
    get_json(endpoint, Some(token))
}

/// What the userinfo endpoint said.
#[derive(Debug, PartialEq)]
pub enum UserInfoResponse {
    /// The user's claims, `sub` checked against the session's.
    Claims(Map<String, Value>),
    /// 401: the access token is expired, revoked or unknown (RFC 6750 §3.1).
    TokenRejected,
}

/// Parses a userinfo response. Its `sub` must equal the signed-in user's,
/// from the ID token (OpenID Connect Core §5.3.2); a different one is
/// [`Error::SubjectMismatch`], never data.
pub fn parse_response(
    response: &HttpResponse,
    expected_sub: &str,
) -> Result<UserInfoResponse, Error> {
    // RFC 6750 §3.1: 401 is a token the provider does not accept; a 403
    // means the token is fine but lacks a scope, unless its challenge
    // says `invalid_token`.
    let challenge_says_invalid = || {
        response
            .headers()
            .get(http::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("invalid_token"))
    };
    match response.status().as_u16() {
        401 => return Ok(UserInfoResponse::TokenRejected),
        403 if challenge_says_invalid() => return Ok(UserInfoResponse::TokenRejected),
        _ => {}
    }
    let claims = Endpoint::Userinfo.json_object(response)?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or(Endpoint::Userinfo.malformed("no sub"))?;
    if !ct_eq(sub, expected_sub) {
        return Err(Error::SubjectMismatch);
    }
    Ok(UserInfoResponse::Claims(claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::tests::response;

    /// OpenID Connect Core §5.3.1, RFC 6750 §2.1: a `GET` with the access
    /// token as a bearer token.
    #[test]
    fn the_request_presents_the_access_token_as_a_bearer_token() {
        let endpoint = "https://api.vercel.com/login/oauth/userinfo";
        let r = request(endpoint, &AccessToken::new("vca_x")).unwrap();
        assert_eq!(r.method(), http::Method::GET);
        assert_eq!(r.uri().to_string(), endpoint);
        assert!(r.headers()[http::header::AUTHORIZATION] == "Bearer vca_x");
        assert!(r.body().is_empty());
    }

    /// RFC 6750 §3.1: a 403 is a token that lacks a scope, not a rejected
    /// one, unless its challenge says `invalid_token`.
    #[test]
    fn a_403_rejects_the_token_only_when_its_challenge_says_invalid_token() {
        let forbidden = |challenge: Option<&str>| {
            let mut r = response(403, r#"{"error":"insufficient_scope"}"#);
            if let Some(challenge) = challenge {
                r.headers_mut().insert(
                    http::header::WWW_AUTHENTICATE,
                    http::HeaderValue::from_str(challenge).unwrap(),
                );
            }
            parse_response(&r, "u1")
        };
        assert_eq!(
            forbidden(Some(r#"Bearer error="invalid_token""#)).unwrap(),
            UserInfoResponse::TokenRejected
        );
        for challenge in [
            None,
            Some(r#"Bearer error="insufficient_scope", scope="openid email""#),
        ] {
            assert!(forbidden(challenge).is_err(), "{challenge:?}");
        }
    }

    #[test]
    fn userinfo_with_the_session_sub_is_data() {
        let r = parse_response(&response(200, r#"{"sub":"u1","name":"N"}"#), "u1").unwrap();
        assert!(matches!(r, UserInfoResponse::Claims(c) if c["name"] == "N"));
    }

    #[test]
    fn userinfo_sub_mismatch_is_an_error() {
        assert_eq!(
            parse_response(&response(200, r#"{"sub":"u2"}"#), "u1").unwrap_err(),
            Error::SubjectMismatch
        );
    }

    #[test]
    fn userinfo_401_means_the_token_was_rejected() {
        assert_eq!(
            parse_response(&response(401, ""), "u1").unwrap(),
            UserInfoResponse::TokenRejected
        );
        assert!(parse_response(&response(200, r#"{"name":"no sub"}"#), "u1").is_err());
        assert!(parse_response(&response(500, ""), "u1").is_err());
    }
}
