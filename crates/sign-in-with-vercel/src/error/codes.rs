//! The error codes a provider answers with, read and sanitised: the
//! authorization endpoint's (RFC 6749 §4.1.2.1, OpenID Connect Core
//! §3.1.2.6), the token endpoint's and the shape revocation and
//! introspection reuse (RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 7662 §2.3), and
//! Vercel's REST API form. Only a code of the form RFC 6749 allows is
//! kept; no description is ever read, so nothing a provider writes reaches
//! a page or a log line as it wrote it.

/// Error codes a provider may put in an authorization error response
/// (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6). Anything else is
/// reported as `provider_error`, so the page never echoes attacker text.
pub fn provider_error_code(code: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "access_denied",
        "invalid_request",
        "unauthorized_client",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
        "request_uri_not_supported",
        "registration_not_supported",
    ];
    KNOWN
        .iter()
        .find(|known| **known == code)
        .copied()
        .unwrap_or("provider_error")
}

/// Whether a token endpoint's refusal `code` (sanitised) refuses the
/// grant rather than the client or the moment ([`Error::is_grant_refusal`](super::Error::is_grant_refusal)).
pub(crate) fn refuses_the_grant(code: &str) -> bool {
    !matches!(
        code,
        "invalid_client"
            | "unauthorized_client"
            | "unsupported_grant_type"
            | "temporarily_unavailable"
            | "slow_down"
    )
}

/// The `error` code of an OAuth error body (RFC 6749 §5.2, the shape
/// RFC 7009 §2.2.1 and RFC 7662 §2.3 reuse), sanitised; `None` when the
/// body is not one. The `error_description` is never read.
pub(crate) fn oauth_error_code(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct OAuthError {
        error: String,
    }
    serde_json::from_slice::<OAuthError>(body)
        .ok()
        .map(|e| sanitize_error_code(&e.error))
}

/// The token endpoint's error code: RFC 6749 §5.2's `error`, or the
/// `error.code` of Vercel's REST API form (`{"error": {"code": …}}`), on
/// the same host; sanitised. Neither `error_description` nor `message`
/// is read.
pub(crate) fn token_error_code(body: &[u8]) -> Option<String> {
    oauth_error_code(body).or_else(|| rest_error(body).and_then(|(code, _)| code))
}

/// Vercel's REST API error body (`{"error": {"code": …, "invalidToken":
/// …}}`): its code, sanitised, if it has one, and whether it marks the
/// token sent as one Vercel does not accept (whatever the code).
pub(crate) fn rest_error(body: &[u8]) -> Option<(Option<String>, bool)> {
    use serde_json::Value;
    /// Any JSON in either member: only a string is a code, only `true`
    /// marks the token.
    #[derive(serde::Deserialize)]
    struct Rest {
        #[serde(default)]
        code: Option<Value>,
        #[serde(default, rename = "invalidToken")]
        invalid_token: Option<Value>,
    }
    #[derive(serde::Deserialize)]
    struct RestError {
        error: Rest,
    }
    let e = serde_json::from_slice::<RestError>(body).ok()?.error;
    let code = match &e.code {
        Some(Value::String(code)) => Some(sanitize_error_code(code)),
        _ => None,
    };
    let marked = e.invalid_token == Some(Value::Bool(true));
    (code.is_some() || marked).then_some((code, marked))
}

/// An OAuth `error` code from a token, revocation or introspection error
/// body, kept only if it has the form of the registered codes (RFC 6749
/// §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1, and the IANA OAuth Extensions
/// Error Registry: lowercase words joined by underscores) and is short;
/// anything else is `unknown`. No registered code has a digit, so a value
/// of the request echoed back as the code (a hex secret, an authorization
/// code, a token, which a hostile or broken provider may return) is not
/// kept for the log line that quotes the code.
pub fn sanitize_error_code(code: &str) -> String {
    if code.len() <= 64
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        code.to_owned()
    } else {
        "unknown".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_provider_error_codes_are_not_echoed() {
        assert_eq!(provider_error_code("access_denied"), "access_denied");
        assert_eq!(provider_error_code("<script>"), "provider_error");
    }

    #[test]
    fn token_error_codes_are_sanitised() {
        assert_eq!(sanitize_error_code("invalid_grant"), "invalid_grant");
        assert_eq!(sanitize_error_code("vca_leaked token"), "unknown");
        assert_eq!(
            sanitize_error_code("insufficient_user_authentication"),
            "insufficient_user_authentication"
        );
    }

    /// A provider that answers with a value of the request as its `error`
    /// (our client secret, the code, a token: hex or base64url, so with a
    /// digit or a capital) does not get it into the log line that quotes
    /// the code.
    #[test]
    fn a_value_echoed_as_the_error_code_is_not_kept() {
        for echoed in [
            "3f6c2a9d0e1b4c7a8f2e5d6b9c0a1e3f4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e",
            "canary_client_secret_s3c",
            "vca_hq8GmfGdAkK6rVYxy2pAR5",
            "_leading_underscore",
            "",
        ] {
            assert_eq!(sanitize_error_code(echoed), "unknown", "{echoed}");
        }
    }
}
