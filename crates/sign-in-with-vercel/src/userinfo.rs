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
            .get_all(http::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(says_invalid_token)
    };
    // Vercel's REST API, on the same host, refuses a token with a 403
    // whose body says `"invalidToken": true`: read alike.
    let body_says_invalid = || {
        crate::vercel_api::VercelApiError::from_response(response)
            .problem()
            .is_some_and(|p| p.invalid_token)
    };
    match response.status().as_u16() {
        401 => return Ok(UserInfoResponse::TokenRejected),
        403 if challenge_says_invalid() || body_says_invalid() => {
            return Ok(UserInfoResponse::TokenRejected);
        }
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

/// Whether a `WWW-Authenticate` value has an `error` parameter whose
/// value is `invalid_token` (RFC 6750 §3, the parameters' syntax RFC 9110
/// §11.2: a token or a quoted string); not the words anywhere else, such
/// as in an `error_description` or a `realm`.
fn says_invalid_token(challenge: &str) -> bool {
    let mut rest = challenge.as_bytes();
    loop {
        // Skip separators to the next token: a scheme, or a parameter's name.
        let start = rest
            .iter()
            .position(|&b| !matches!(b, b' ' | b'\t' | b','))
            .unwrap_or(rest.len());
        rest = &rest[start..];
        if rest.is_empty() {
            return false;
        }
        let end = rest
            .iter()
            .position(|&b| matches!(b, b' ' | b'\t' | b',' | b'=' | b'"'))
            .unwrap_or(rest.len());
        let name = &rest[..end];
        rest = &rest[end..];
        let after_spaces = rest.iter().position(|&b| !matches!(b, b' ' | b'\t'));
        let Some(equals) = after_spaces.filter(|&i| rest[i] == b'=') else {
            if end == 0 {
                // A stray quote: skip it.
                rest = &rest[1..];
            }
            continue;
        };
        rest = &rest[equals + 1..];
        let spaces = rest
            .iter()
            .position(|&b| !matches!(b, b' ' | b'\t'))
            .unwrap_or(rest.len());
        rest = &rest[spaces..];
        let value = if rest.first() == Some(&b'"') {
            // A quoted string, with `\` escapes.
            let mut value = Vec::new();
            let mut i = 1;
            while i < rest.len() && rest[i] != b'"' {
                if rest[i] == b'\\' && i + 1 < rest.len() {
                    i += 1;
                }
                value.push(rest[i]);
                i += 1;
            }
            rest = &rest[(i + 1).min(rest.len())..];
            value
        } else {
            let end = rest
                .iter()
                .position(|&b| matches!(b, b' ' | b'\t' | b','))
                .unwrap_or(rest.len());
            let value = rest[..end].to_vec();
            rest = &rest[end..];
            value
        };
        if name.eq_ignore_ascii_case(b"error") && value == b"invalid_token" {
            return true;
        }
    }
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
    /// one, unless its challenge says `invalid_token` (or, in Vercel's
    /// REST form, its body says `"invalidToken": true`).
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
        for says in [
            "Bearer error=invalid_token",
            r#"Bearer realm="api", error = "invalid_token", error_description="expired""#,
            r#"Basic realm="x", Bearer ERROR="invalid_token""#,
            // A quoted-pair (RFC 9110 §5.6.4) is the character it escapes.
            r#"Bearer error="invalid\_token""#,
            r#"Bearer error_description="a \"quoted\" word", error="invalid_token""#,
        ] {
            assert_eq!(
                forbidden(Some(says)).unwrap(),
                UserInfoResponse::TokenRejected,
                "{says}"
            );
        }
        let rest = response(
            403,
            r#"{"error":{"code":"forbidden","message":"Not authorized","invalidToken":true}}"#,
        );
        assert_eq!(
            parse_response(&rest, "u1").unwrap(),
            UserInfoResponse::TokenRejected
        );
        let scope = response(
            403,
            r#"{"error":{"code":"forbidden","invalidToken":false}}"#,
        );
        assert!(parse_response(&scope, "u1").is_err());
        for challenge in [
            None,
            Some(r#"Bearer error="insufficient_scope", scope="openid email""#),
            Some(r#"Bearer error="insufficient_scope", error_description="not an invalid_token""#),
            Some(r#"Bearer realm="invalid_token", error="insufficient_scope""#),
            Some(r#"Bearer error_uri="https://x/invalid_token", error="insufficient_scope""#),
            Some(r#"Bearer error="invalid_token_binding""#),
            Some(r#"Bearer error=""#),
            Some(r#"Bearer error"#),
            Some(r#"Bearer "="invalid_token""#),
            // Unterminated, a backslash last: kept as it is.
            Some(r#"Bearer error="invalid_token\"#),
            // `error=invalid_token` inside a quoted string, its quotes escaped.
            Some(
                r#"Bearer error_description="\", error=invalid_token", error="insufficient_scope""#,
            ),
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
