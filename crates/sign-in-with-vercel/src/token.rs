//! The token endpoint (RFC 6749 §3.2): the authorization code grant
//! (§4.1.3, with the PKCE verifier of RFC 7636 §4.5) and the refresh token
//! grant (§6), with client authentication (§2.3).

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use crate::client_auth::authenticated_form;
use crate::config::{ClientAuthMethod, Config};
use crate::error::{Endpoint, Error, refuses_the_grant, token_error_code};
use crate::secret::{AccessToken, AuthorizationCode, CodeVerifier, IdToken, RefreshToken};
use crate::transport::{HttpRequest, HttpResponse, Unbuildable};

/// The longest access-token lifetime we will store, whatever the provider says.
const MAX_EXPIRES_IN: u64 = 365 * 24 * 3600;
/// Lifetime assumed when the provider omits `expires_in` (Vercel: one hour).
pub const DEFAULT_EXPIRES_IN: u64 = 3600;

/// The authorization code grant request (RFC 6749 §4.1.3, RFC 7636 §4.5):
/// the same `redirect_uri` as the authorization request, and the verifier,
/// with the client's authentication `method` (§2.3).
pub fn code_request(
    token_endpoint: &str,
    config: &Config,
    method: ClientAuthMethod,
    code: &AuthorizationCode,
    verifier: &CodeVerifier,
    redirect_uri: &str,
) -> Result<HttpRequest, Unbuildable> {
    let params = vec![
        ("grant_type", "authorization_code"),
        ("code", code.secret()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier.secret()),
    ];
    authenticated_form(token_endpoint, config, method, params)
}

/// A successful token response (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3).
#[derive(Debug)]
pub struct TokenResponse {
    /// The bearer access token.
    pub access_token: AccessToken,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// A refresh token, when `offline_access` was granted; a new one on
    /// every refresh at Vercel (rotation).
    pub refresh_token: Option<RefreshToken>,
    /// The ID token; required for the code grant, optional on refresh.
    pub id_token: Option<IdToken>,
}

/// A token response as sent; `E` is how `expires_in` is read: as a value,
/// or, when that fails (a number beyond a float's range, which the JSON
/// parser refuses), skipped.
#[derive(Deserialize)]
struct RawTokenResponse<E = Option<Value>> {
    access_token: String,
    token_type: String,
    #[serde(default)]
    expires_in: E,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
}

/// Parses a token endpoint response. An error response (RFC 6749 §5.2)
/// becomes [`Error::TokenRejected`] with its `error` code only; its
/// description is not kept, since it is the provider's text.
pub fn parse_response(response: &HttpResponse) -> Result<TokenResponse, Error> {
    let status = response.status();
    // Throttled (RFC 6585 §4): the provider's state, whatever the body says.
    if status == http::StatusCode::TOO_MANY_REQUESTS {
        return Err(Endpoint::Token.failed(status));
    }
    if status.is_client_error() {
        // Vercel's API, on the token endpoint's host, refuses a token it
        // does not accept with a 403 whose body says `"invalidToken": true`
        // (where RFC 6749 §5.2 has a 400 `invalid_grant`): the code or
        // refresh token sent is dead, as with `invalid_grant`. Not on a
        // 401, which is the client's authentication whatever its body.
        if status != http::StatusCode::UNAUTHORIZED && marks_invalid_token(response) {
            return Err(Error::TokenRejected("invalid_grant".into()));
        }
        return Err(refused(status, token_error_code(response.body())));
    }
    if !status.is_success() {
        return Err(Endpoint::Token.failed(status));
    }
    let body = response.body();
    let raw: RawTokenResponse = match serde_json::from_slice(body) {
        Ok(raw) => raw,
        // `expires_in` is only RECOMMENDED, and read leniently: one the
        // parser cannot hold counts as absent, as other odd forms do.
        Err(_) => match serde_json::from_slice::<RawTokenResponse<IgnoredAny>>(body) {
            Ok(raw) => RawTokenResponse {
                access_token: raw.access_token,
                token_type: raw.token_type,
                expires_in: None,
                refresh_token: raw.refresh_token,
                id_token: raw.id_token,
            },
            // An error belongs on a 400 (RFC 6749 §5.2), but a provider that
            // answers it with a 200 still refused the grant: the same error.
            Err(_) => {
                return Err(
                    refusal(response).unwrap_or(Endpoint::Token.malformed("not a token response"))
                );
            }
        },
    };
    bearer(&raw.token_type)?;
    if raw.access_token.is_empty() {
        return Err(Endpoint::Token.malformed("empty access_token"));
    }
    // RFC 6749 Appendix A.12 and A.17: `1*VSCHAR`. Anything else could
    // not go into an `Authorization` header, and every call made with the
    // token would fail later, as if this app were misconfigured.
    if !vschars(&raw.access_token) || !raw.refresh_token.as_deref().is_none_or(vschars) {
        return Err(Endpoint::Token.malformed("a token holds characters RFC 6749 does not allow"));
    }
    let expires_in = expires_in(raw.expires_in.as_ref()).unwrap_or(DEFAULT_EXPIRES_IN);
    Ok(TokenResponse {
        access_token: AccessToken::new(raw.access_token),
        expires_in,
        refresh_token: raw
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(RefreshToken::new),
        id_token: raw.id_token.filter(|t| !t.is_empty()).map(IdToken::new),
    })
}

/// The tokens a successful answer holds that [`parse_response`] refused
/// (a `token_type` other than Bearer, characters RFC 6749 does not allow):
/// issued all the same, the code or the refresh token spent for them, and
/// held by no one, so to be revoked (RFC 7009). `None` when there are none
/// to read.
pub(crate) fn refused_tokens(response: &HttpResponse) -> Option<TokenResponse> {
    if !response.status().is_success() {
        return None;
    }
    // The first JSON value of the body, whatever follows it (a proxy's
    // comment); a repeated member is read as its last.
    let first = serde_json::Deserializer::from_slice(response.body())
        .into_iter::<Value>()
        .next()?
        .ok()?;
    let text = |name: &str| match first.get(name) {
        Some(Value::String(token)) if !token.is_empty() => Some(token.clone()),
        _ => None,
    };
    let refresh_token = text("refresh_token").map(RefreshToken::new);
    let access_token = match (text("access_token"), &refresh_token) {
        (Some(access), _) => access,
        // Revoking the refresh token ends the grant (RFC 7009 §2.1); the
        // access token's revocation then asks for nothing.
        (None, Some(_)) => String::new(),
        (None, None) => return None,
    };
    Some(TokenResponse {
        access_token: AccessToken::new(access_token),
        expires_in: DEFAULT_EXPIRES_IN,
        refresh_token,
        id_token: None,
    })
}

/// Whether `token` is only visible ASCII characters and spaces (RFC 6749
/// Appendix A: `VSCHAR = %x20-7E`).
fn vschars(token: &str) -> bool {
    token.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// The refusal an OAuth error body says (RFC 6749 §5.2), if the body is
/// one: its `error` code only.
fn refusal(response: &HttpResponse) -> Option<Error> {
    token_error_code(response.body()).map(Error::TokenRejected)
}

/// What a 4xx other than 429 from the token endpoint is, with the error
/// `code` its body holds, if any (RFC 6749 §5.2):
/// - a 400 is the endpoint's refusal, whatever its body holds: of the
///   grant unless the code names the client or a throttle (and without a
///   readable code, `unknown`, of the grant all the same, rather than an
///   outage every later request would meet again);
/// - `invalid_grant`, or a code of the client's or of a throttle, says
///   what it says on any status;
/// - any other code on a 401 is a failed client authentication: the app's
///   configuration, never the end of the session;
/// - anything else is no refusal of the grant: the provider's trouble.
fn refused(status: http::StatusCode, code: Option<String>) -> Error {
    match (status.as_u16(), code) {
        (400, code) => Error::TokenRejected(code.unwrap_or_else(|| "unknown".into())),
        (_, Some(code)) if code == "invalid_grant" || !refuses_the_grant(&code) => {
            Error::TokenRejected(code)
        }
        (401, Some(code)) => Error::ClientRefused(code),
        _ => Endpoint::Token.failed(status),
    }
}

/// Whether the body is Vercel's REST error marking the token sent as one
/// it does not accept (`{"error": {"code": …, "invalidToken": true}}`).
fn marks_invalid_token(response: &HttpResponse) -> bool {
    crate::error::rest_error(response.body()).is_some_and(|(_, marked)| marked)
}

/// RFC 6750 §4: only bearer tokens are understood (`token_type`
/// compared case-insensitively, RFC 6749 §5.1).
pub(crate) fn bearer(token_type: &str) -> Result<(), Error> {
    if token_type.eq_ignore_ascii_case("bearer") {
        Ok(())
    } else {
        Err(Endpoint::Token.malformed("token_type is not Bearer"))
    }
}

/// The access token's lifetime in seconds from `expires_in` (RFC 6749
/// §5.1, only RECOMMENDED), at most [`MAX_EXPIRES_IN`]: a non-negative JSON
/// number, whole or not, or such a number in a string, as some providers
/// send it. Anything else counts as absent rather than failing the
/// exchange: by then the code or the refresh token has been spent, and the
/// tokens are good.
pub(crate) fn expires_in(value: Option<&Value>) -> Option<u64> {
    let seconds = match value? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().and_then(whole_seconds)),
        Value::String(s) => {
            let s = s.trim();
            s.parse()
                .ok()
                .or_else(|| s.parse().ok().and_then(whole_seconds))
        }
        _ => None,
    };
    seconds.map(|s| s.min(MAX_EXPIRES_IN))
}

fn whole_seconds(f: f64) -> Option<u64> {
    // Non-negative and finite; `as` saturates above u64::MAX.
    (f.is_finite() && f >= 0.0).then(|| f.floor() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::tests::response;

    /// The tokens of a successful answer [`parse_response`] refuses are
    /// read for revocation: both, or the refresh token alone; none from an
    /// error answer, a body that is not JSON, or tokens that are not text.
    #[test]
    fn the_tokens_of_a_refused_answer_are_read_for_revocation() {
        let read = |status: u16, body: &str| {
            refused_tokens(&response(status, body)).map(|t| {
                (
                    t.access_token.secret().to_owned(),
                    t.refresh_token.map(|r| r.secret().to_owned()),
                )
            })
        };
        let both = r#"{"access_token":"a b\u0001","token_type":"mac","refresh_token":"r"}"#;
        assert!(parse_response(&response(200, both)).is_err());
        assert_eq!(
            read(200, both),
            Some(("a b\u{1}".to_owned(), Some("r".to_owned())))
        );
        assert_eq!(
            read(200, r#"{"access_token":7,"refresh_token":"r"}"#),
            Some((String::new(), Some("r".to_owned())))
        );
        // Refused as a token response (a repeated member, bytes after the
        // JSON), its tokens issued all the same: the last of a repeated
        // one, and whatever follows the JSON ignored.
        for body in [
            r#"{"access_token":"x","access_token":"a","token_type":"Bearer","refresh_token":"r"}"#,
            r#"{"access_token":"a","token_type":"Bearer","refresh_token":"r"}<!-- cdn -->"#,
        ] {
            assert!(parse_response(&response(200, body)).is_err(), "{body}");
            assert_eq!(
                read(200, body),
                Some(("a".to_owned(), Some("r".to_owned()))),
                "{body}"
            );
        }
        for (status, body) in [
            (400, both),
            (200, "not json"),
            (200, r#"{"access_token":["a"],"refresh_token":{}}"#),
            (200, r#"{"error":"invalid_grant"}"#),
            (200, r#"{"access_token":"","refresh_token":""}"#),
        ] {
            assert_eq!(read(status, body), None, "{status} {body}");
        }
    }

    /// RFC 6749 §4.1.3 and RFC 7636 §4.5: the code grant posts the code,
    /// the authorization request's `redirect_uri` and the PKCE verifier to
    /// the token endpoint (here as a public client, which adds its
    /// `client_id`).
    #[test]
    fn the_code_grant_posts_the_code_the_redirect_uri_and_the_verifier() {
        let config = Config::from_lookup(|k| match k {
            "VERCEL_APP_CLIENT_ID" => Some("cl".into()),
            "AUTH_SECRET" => Some("0123456789abcdef0123456789abcdef".into()),
            _ => None,
        })
        .unwrap();
        let verifier = "v".repeat(43);
        let request = code_request(
            "https://op.example/token",
            &config,
            ClientAuthMethod::None,
            &AuthorizationCode::new("code-1"),
            &CodeVerifier::new(verifier.clone()),
            "https://app.example/api/auth/callback",
        )
        .unwrap();
        assert_eq!(request.method(), http::Method::POST);
        assert_eq!(request.uri(), "https://op.example/token");
        let form: Vec<(String, String)> = url::form_urlencoded::parse(request.body())
            .into_owned()
            .collect();
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            form,
            [
                pair("grant_type", "authorization_code"),
                pair("code", "code-1"),
                pair("redirect_uri", "https://app.example/api/auth/callback"),
                pair("code_verifier", &verifier),
                pair("client_id", "cl"),
            ]
        );
    }

    #[test]
    fn token_response_is_parsed() {
        let t = parse_response(&response(
            200,
            r#"{"access_token":"vca_x","token_type":"Bearer","id_token":"a.b.c","expires_in":3600,
                "scope":"openid email profile offline_access","refresh_token":"vcr_y"}"#,
        ))
        .unwrap();
        assert_eq!(t.access_token.secret(), "vca_x");
        assert_eq!(t.expires_in, 3600);
        assert_eq!(t.refresh_token.unwrap().secret(), "vcr_y");
        assert_eq!(t.id_token.unwrap().secret(), "a.b.c");
    }

    /// An empty `id_token` or `refresh_token` is no token: absent, rather
    /// than one to verify or to store.
    #[test]
    fn empty_tokens_in_a_token_response_count_as_absent() {
        let t = parse_response(&response(
            200,
            r#"{"access_token":"a","token_type":"Bearer","id_token":"","refresh_token":""}"#,
        ))
        .unwrap();
        assert!(t.id_token.is_none());
        assert!(t.refresh_token.is_none());
    }

    /// RFC 6749 §5.2: only a 400 (or an error in a 200) refuses the grant
    /// with another code than `invalid_grant`; a 401 is the client's
    /// authentication, whatever its code; another 4xx is not the grant's.
    /// Vercel's REST form (`{"error": {"code": …}}`) is read alike.
    #[test]
    fn only_a_400_refuses_the_grant_and_a_401_is_the_clients() {
        let grant = [
            (400, r#"{"error":"invalid_request"}"#),
            (
                400,
                r#"{"error":{"code":"invalid_grant","message":"expired"}}"#,
            ),
            (400, "Bad Request"),
            (401, r#"{"error":"invalid_grant"}"#),
            (200, r#"{"error":"invalid_scope"}"#),
            // Vercel's API marks a token it does not accept so, whatever
            // its code.
            (
                403,
                r#"{"error":{"code":"forbidden","message":"Not authorized","invalidToken":true}}"#,
            ),
            (
                403,
                r#"{"error":{"message":"Not authorized","invalidToken":true}}"#,
            ),
            (403, r#"{"error":{"code":null,"invalidToken":true}}"#),
            (403, r#"{"error":{"code":403,"invalidToken":true}}"#),
        ];
        for (status, body) in grant {
            let e = parse_response(&response(status, body)).unwrap_err();
            assert!(
                e.is_grant_refusal() && e.ends_session(),
                "{status} {body}: {e:?}"
            );
        }
        let not_grant = [
            (
                401,
                r#"{"error":{"code":"unauthorized","message":"Invalid client credentials"}}"#,
            ),
            (401, r#"{"error":"invalid_token"}"#),
            (401, r#"{"error":"invalid_client"}"#),
            (
                403,
                r#"{"error":{"code":"forbidden","message":"Not authorized"}}"#,
            ),
            (404, r#"{"error":{"code":"not_found"}}"#),
            (403, r#"{"error":"access_denied"}"#),
            (400, r#"{"error":"unauthorized_client"}"#),
            (400, r#"{"error":"slow_down"}"#),
            (429, r#"{"error":"invalid_grant"}"#),
            (401, ""),
            // Only `true` marks the token.
            (
                403,
                r#"{"error":{"code":"forbidden","invalidToken":"true"}}"#,
            ),
            // A 401 is the client's, whatever the body marks.
            (
                401,
                r#"{"error":{"code":"unauthorized","invalidToken":true}}"#,
            ),
        ];
        for (status, body) in not_grant {
            let e = parse_response(&response(status, body)).unwrap_err();
            assert!(
                !e.is_grant_refusal() && !e.ends_session(),
                "{status} {body}: {e:?}"
            );
        }
        let client = parse_response(&response(401, r#"{"error":{"code":"unauthorized"}}"#));
        assert_eq!(client.unwrap_err().code(), "configuration");
    }

    /// RFC 6749 Appendix A.12, A.17: tokens are `1*VSCHAR`. One with a
    /// control character or beyond ASCII could not be sent in a header:
    /// the response is refused now, not every call made with it later.
    #[test]
    fn a_token_with_characters_rfc_6749_does_not_allow_is_refused() {
        let with = |access: &str, refresh: &str| {
            let body = serde_json::json!({
                "access_token": access, "token_type": "Bearer", "refresh_token": refresh,
            });
            parse_response(&response(200, &body.to_string()))
        };
        assert!(with("vca_a b~!", "vcr_x").is_ok());
        for (access, refresh) in [
            ("vca_a\r\nX-Injected: 1", "vcr_x"),
            ("vca_\u{0}", "vcr_x"),
            ("vca_\u{7f}", "vcr_x"),
            ("vca_é", "vcr_x"),
            ("vca_a", "vcr_\t"),
            ("vca_a", "vcr_ü"),
        ] {
            let error = with(access, refresh).unwrap_err();
            assert_eq!(
                error.code(),
                "provider_unavailable",
                "{access:?} {refresh:?}"
            );
            let said = format!("{error} {error:?}");
            assert!(!said.contains("vca_") && !said.contains("vcr_"), "{said}");
        }
    }

    #[test]
    fn expires_in_as_string_and_absent_are_understood() {
        let t = parse_response(&response(
            200,
            r#"{"access_token":"a","token_type":"bearer","expires_in":"60"}"#,
        ))
        .unwrap();
        assert_eq!(t.expires_in, 60);
        let t = parse_response(&response(
            200,
            r#"{"access_token":"a","token_type":"Bearer"}"#,
        ))
        .unwrap();
        assert_eq!(t.expires_in, DEFAULT_EXPIRES_IN);
    }

    #[test]
    fn an_odd_expires_in_is_read_or_counts_as_absent() {
        for (value, expected) in [
            ("3600", 3600),
            ("3600.0", 3600),
            ("59.9", 59),
            ("\"120\"", 120),
            ("\" 120.5 \"", 120),
            ("0", 0),
            ("-5", DEFAULT_EXPIRES_IN),
            ("-0.5", DEFAULT_EXPIRES_IN),
            ("\"soon\"", DEFAULT_EXPIRES_IN),
            ("\"NaN\"", DEFAULT_EXPIRES_IN),
            ("\"inf\"", DEFAULT_EXPIRES_IN),
            ("true", DEFAULT_EXPIRES_IN),
            ("[60]", DEFAULT_EXPIRES_IN),
            ("{}", DEFAULT_EXPIRES_IN),
            ("null", DEFAULT_EXPIRES_IN),
            ("1e300", MAX_EXPIRES_IN),
            ("99999999999999999999", MAX_EXPIRES_IN),
            // Beyond a float's range: the parser refuses the number itself.
            ("1e400", DEFAULT_EXPIRES_IN),
            ("-1e400", DEFAULT_EXPIRES_IN),
        ] {
            let body =
                format!(r#"{{"access_token":"a","token_type":"Bearer","expires_in":{value}}}"#);
            let t =
                parse_response(&response(200, &body)).unwrap_or_else(|e| panic!("{value}: {e}"));
            assert_eq!(t.expires_in, expected, "expires_in {value}");
        }
    }

    /// RFC 6749 §5.2: only the `error` code is kept, on the 400 the RFC
    /// asks for and on a 200 a provider may send it with alike.
    #[test]
    fn token_endpoint_error_keeps_only_the_code_whatever_its_status() {
        for status in [400, 200] {
            let err = parse_response(&response(
                status,
                r#"{"error":"invalid_grant","error_description":"code vca_secret expired"}"#,
            ))
            .unwrap_err();
            assert_eq!(
                err,
                Error::TokenRejected("invalid_grant".into()),
                "{status}"
            );
            assert!(!format!("{err} {err:?}").contains("vca_secret"), "{status}");
        }
    }

    /// A redirect from the token endpoint is not its answer, whatever its
    /// body holds (RFC 6749 §5.1's answer is a 200, and any 2xx is read;
    /// the transport follows no redirect, so the 3xx reaches the parser).
    #[test]
    fn a_redirect_from_the_token_endpoint_is_no_token_answer() {
        let tokens = r#"{"access_token":"vca_x","token_type":"Bearer","expires_in":3600}"#;
        assert!(parse_response(&response(200, tokens)).is_ok());
        for status in [300, 301, 302, 303, 304, 307, 308] {
            assert!(
                parse_response(&response(status, tokens)).is_err(),
                "{status}"
            );
        }
    }

    #[test]
    fn non_bearer_and_malformed_responses_are_refused() {
        assert!(
            parse_response(&response(200, r#"{"access_token":"a","token_type":"mac"}"#)).is_err()
        );
        assert!(parse_response(&response(200, "not json")).is_err());
        assert_eq!(
            parse_response(&response(502, "bad gateway"))
                .unwrap_err()
                .code(),
            "provider_unavailable"
        );
    }
}
