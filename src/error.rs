//! One error type for every route, mapped to a response in one place.
//!
//! Browser routes (authorize, callback) redirect to `/auth/error?error=<code>`;
//! API routes answer `{"error": "<code>", "error_description": "..."}` with
//! the right status. Details go to the log, never to the response, and no
//! variant holds a secret.

use std::fmt;

use http::StatusCode;
use serde_json::{Map, Value};

use crate::config::ConfigError;
use crate::id_token::IdTokenError;
use crate::transport::{HttpResponse, TransportError};

/// Which provider endpoint a failed call went to, for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// OpenID Connect Discovery.
    Discovery,
    /// The JWK Set (RFC 7517).
    Jwks,
    /// The token endpoint (RFC 6749 §3.2).
    Token,
    /// The userinfo endpoint (OpenID Connect Core §5.3).
    Userinfo,
    /// Token introspection (RFC 7662).
    Introspection,
    /// Token revocation (RFC 7009).
    Revocation,
}

impl Endpoint {
    /// The endpoint answered with an unexpected status.
    pub(crate) fn failed(self, status: StatusCode) -> Error {
        Error::Upstream(self, UpstreamProblem::Status(status.as_u16()))
    }

    /// The endpoint answered with something the spec does not describe.
    pub(crate) fn malformed(self, why: &'static str) -> Error {
        Error::Upstream(self, UpstreamProblem::Malformed(why))
    }

    /// The call got no answer.
    pub(crate) fn unreachable(self, problem: TransportError) -> Error {
        Error::Upstream(self, UpstreamProblem::Transport(problem))
    }

    /// The JSON object of a successful response.
    pub(crate) fn json_object(self, response: &HttpResponse) -> Result<Map<String, Value>, Error> {
        if !response.status().is_success() {
            return Err(self.failed(response.status()));
        }
        match serde_json::from_slice(response.body()) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(self.malformed("not a JSON object")),
            Err(_) => Err(self.malformed("not JSON")),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Discovery => "discovery",
            Self::Jwks => "jwks",
            Self::Token => "token",
            Self::Userinfo => "userinfo",
            Self::Introspection => "introspection",
            Self::Revocation => "revocation",
        }
    }
}

/// How a provider call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpstreamProblem {
    /// No response (timeout, connection refused, oversized).
    Transport(TransportError),
    /// An unexpected HTTP status.
    Status(u16),
    /// A response that is not the JSON the spec describes.
    Malformed(&'static str),
}

/// Everything that can stop a route from doing its job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The configuration is missing or malformed.
    Config(ConfigError),
    /// The issuer's metadata cannot be used (wrong `issuer`, bad endpoint).
    Discovery(String),
    /// The provider does not offer the endpoint this route needs.
    Unsupported(&'static str),
    /// The request itself is malformed (repeated or oversized parameters…).
    BadRequest(&'static str),
    /// The method is not the route's.
    MethodNotAllowed(&'static str),
    /// A state-changing request from another origin.
    CrossOrigin,
    /// No session cookies.
    NotSignedIn,
    /// Session cookies that cannot be ours (tampered, incomplete).
    InvalidSession(&'static str),
    /// The callback arrived without a flow cookie: expired, or another browser.
    FlowMissing,
    /// The flow cookie is not one we wrote.
    FlowInvalid,
    /// `state` missing or not the one this browser sent (RFC 6749 §10.12).
    StateMismatch,
    /// The callback's `iss` is not our issuer, or is missing though the
    /// provider promised it (RFC 9207 §2.4).
    IssuerMismatch,
    /// The callback has no `code`.
    MissingCode,
    /// The provider answered the authorization request with an error
    /// (RFC 6749 §4.1.2.1); holds a code from a fixed list.
    Provider(&'static str),
    /// The token endpoint refused a grant (RFC 6749 §5.2); holds its
    /// `error` code, sanitised.
    TokenRejected(String),
    /// The ID token failed verification (OpenID Connect Core §3.1.3.7).
    IdToken(IdTokenError),
    /// userinfo's `sub` is not the signed-in user's (OpenID Connect Core §5.3.2).
    SubjectMismatch,
    /// Introspection says the access token is not active (RFC 7662 §2.2).
    TokenInactive,
    /// A token too large, or with characters that cannot be, kept in a cookie.
    UnstorableToken,
    /// A provider call failed.
    Upstream(Endpoint, UpstreamProblem),
}

impl Error {
    /// The short code shown to the user (error page or JSON `error`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) | Self::Discovery(_) => "configuration",
            Self::Unsupported(_) => "unsupported",
            Self::BadRequest(_) => "invalid_request",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::CrossOrigin => "cross_origin_request",
            Self::NotSignedIn => "not_signed_in",
            Self::InvalidSession(_) => "invalid_session",
            Self::FlowMissing => "sign_in_expired",
            Self::FlowInvalid | Self::StateMismatch => "invalid_state",
            Self::IssuerMismatch | Self::MissingCode => "invalid_response",
            Self::Provider(code) => code,
            Self::TokenRejected(_) => "token_rejected",
            Self::IdToken(_) => "invalid_token",
            Self::SubjectMismatch => "subject_mismatch",
            Self::TokenInactive => "token_inactive",
            Self::UnstorableToken => "unstorable_token",
            Self::Upstream(..) => "provider_unavailable",
        }
    }

    /// The status of the JSON answer on API routes.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Config(_) | Self::Discovery(_) | Self::UnstorableToken => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::Unsupported(_) => StatusCode::NOT_IMPLEMENTED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::CrossOrigin => StatusCode::FORBIDDEN,
            Self::Upstream(_, UpstreamProblem::Transport(TransportError::Timeout)) => {
                StatusCode::GATEWAY_TIMEOUT
            }
            Self::Upstream(..) | Self::Provider(_) => StatusCode::BAD_GATEWAY,
            Self::NotSignedIn
            | Self::InvalidSession(_)
            | Self::FlowMissing
            | Self::FlowInvalid
            | Self::StateMismatch
            | Self::IssuerMismatch
            | Self::MissingCode
            | Self::TokenRejected(_)
            | Self::IdToken(_)
            | Self::SubjectMismatch
            | Self::TokenInactive => StatusCode::UNAUTHORIZED,
        }
    }

    /// A sentence for the JSON `error_description`; fixed text, no details.
    pub fn description(&self) -> &'static str {
        match self {
            Self::Config(_) | Self::Discovery(_) => {
                "The sign-in service is not configured correctly."
            }
            Self::Unsupported(_) => "The identity provider does not support this operation.",
            Self::BadRequest(_) => "The request is malformed.",
            Self::MethodNotAllowed(_) => "This method is not allowed on this route.",
            Self::CrossOrigin => "Cross-origin requests are not allowed on this route.",
            Self::NotSignedIn => "No access token found: you are not signed in.",
            Self::InvalidSession(_) => "The session is invalid; sign in again.",
            Self::FlowMissing => "The sign-in attempt expired; start again.",
            Self::FlowInvalid | Self::StateMismatch | Self::IssuerMismatch | Self::MissingCode => {
                "The sign-in response does not match this browser's attempt."
            }
            Self::Provider(_) => "The identity provider returned an error.",
            Self::TokenRejected(_) => "The identity provider refused the grant; sign in again.",
            Self::IdToken(_) => "The ID token could not be verified.",
            Self::SubjectMismatch => "The identity provider returned a different user.",
            Self::TokenInactive => "Token is not active.",
            Self::UnstorableToken => "The token cannot be stored in a cookie.",
            Self::Upstream(..) => "The identity provider is unavailable; try again later.",
        }
    }

    /// Whether the session cookies must be cleared with this answer.
    pub fn ends_session(&self) -> bool {
        matches!(
            self,
            Self::InvalidSession(_)
                | Self::TokenRejected(_)
                | Self::IdToken(_)
                | Self::SubjectMismatch
                | Self::TokenInactive
                | Self::UnstorableToken
        )
    }

    /// Writes the log line for this error; server-side faults at error
    /// level, refusals at warn level. The line names the reason only.
    pub fn log(&self, route: &str) {
        if *self == Self::NotSignedIn {
            // Routine: a page asking whether anyone is signed in.
            return;
        }
        let line = format!("{route}: {} ({self})", self.code());
        let user_choice = matches!(self, Self::Provider(code) if !matches!(*code, "server_error" | "temporarily_unavailable"));
        if self.status().is_server_error() && !user_choice {
            crate::log::error(&line);
        } else {
            crate::log::warn(&line);
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => write!(f, "configuration error: {e}"),
            Self::Discovery(why) => write!(f, "unusable provider metadata: {why}"),
            Self::Unsupported(what) => write!(f, "provider has no {what} endpoint"),
            Self::BadRequest(why) => write!(f, "bad request: {why}"),
            Self::MethodNotAllowed(allowed) => write!(f, "method not allowed (allowed: {allowed})"),
            Self::CrossOrigin => f.write_str("cross-origin request refused"),
            Self::NotSignedIn => f.write_str("no session cookies"),
            Self::InvalidSession(why) => write!(f, "invalid session: {why}"),
            Self::FlowMissing => f.write_str("no flow cookie (expired or another browser)"),
            Self::FlowInvalid => f.write_str("flow cookie is malformed"),
            Self::StateMismatch => f.write_str("state missing or mismatched"),
            Self::IssuerMismatch => f.write_str("iss parameter missing or mismatched"),
            Self::MissingCode => f.write_str("no code in the callback"),
            Self::Provider(code) => write!(f, "provider returned error={code}"),
            Self::TokenRejected(code) => write!(f, "token endpoint returned error={code}"),
            Self::IdToken(e) => write!(f, "ID token rejected: {e}"),
            Self::SubjectMismatch => f.write_str("userinfo sub differs from the session's"),
            Self::TokenInactive => f.write_str("access token is not active"),
            Self::UnstorableToken => f.write_str("token cannot be stored in a cookie"),
            Self::Upstream(endpoint, UpstreamProblem::Transport(t)) => {
                write!(f, "{} request failed: {t}", endpoint.as_str())
            }
            Self::Upstream(endpoint, UpstreamProblem::Status(s)) => {
                write!(f, "{} answered HTTP {s}", endpoint.as_str())
            }
            Self::Upstream(endpoint, UpstreamProblem::Malformed(why)) => {
                write!(f, "{} response malformed: {why}", endpoint.as_str())
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<IdTokenError> for Error {
    fn from(e: IdTokenError) -> Self {
        Self::IdToken(e)
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

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

/// An OAuth `error` code from a token, revocation or introspection error
/// body, kept only if it has the form RFC 6749 §5.2 allows and is short.
pub fn sanitize_error_code(code: &str) -> String {
    if !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
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
    }

    #[test]
    fn upstream_failures_are_gateway_errors_without_details() {
        let e = Error::Upstream(Endpoint::Token, UpstreamProblem::Status(500));
        assert_eq!(e.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(e.code(), "provider_unavailable");
        let t = Error::Upstream(
            Endpoint::Token,
            UpstreamProblem::Transport(TransportError::Timeout),
        );
        assert_eq!(t.status(), StatusCode::GATEWAY_TIMEOUT);
    }
}
