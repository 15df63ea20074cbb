//! One error type for every route, and the facts that turn each variant
//! into an answer: its short code, status, fixed description, and whether
//! it ends the session. `answer::answer` is the one place those facts
//! become a response; details go to the log, never to the response, and no
//! variant holds a secret.

mod codes;
mod id_token;
mod upstream;

use std::fmt;

use http::StatusCode;

pub(crate) use codes::{oauth_error_code, refuses_the_grant, rest_error, token_error_code};
pub use codes::{provider_error_code, sanitize_error_code};
pub use id_token::IdTokenError;
pub(crate) use id_token::jose_algorithm;
pub use upstream::{Endpoint, UpstreamProblem};

use crate::config::ConfigError;
use crate::transport::TransportError;

/// Everything that can stop a route from doing its job.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is missing or malformed.
    Config(ConfigError),
    /// The issuer's metadata cannot be used (wrong `issuer`, bad endpoint).
    Discovery(String),
    /// The request to this endpoint cannot be built: its URL (from the
    /// provider's metadata) or a header value is not valid.
    Unbuildable(Endpoint),
    /// The provider does not offer the endpoint this route needs.
    Unsupported(&'static str),
    /// The request itself is malformed (repeated or oversized parameters…).
    BadRequest(&'static str),
    /// The method is not the route's.
    MethodNotAllowed(&'static str),
    /// A request from another origin to a route that refuses them (one
    /// that changes things, or acts with the user's tokens on a `GET`).
    CrossOrigin,
    /// No session: no session cookie, or none that opens (tampered,
    /// truncated, another key, expired).
    NotSignedIn,
    /// The callback arrived without a flow cookie for its `state`: expired,
    /// or another browser.
    FlowMissing,
    /// `state` missing or not the one this browser sent (RFC 6749 §10.12).
    StateMismatch,
    /// The callback's `iss` is not our issuer, or is missing though the
    /// provider promised it (RFC 9207 §2.4).
    IssuerMismatch,
    /// The callback has no `code`.
    MissingCode,
    /// The provider answered the authorization request with an error
    /// (RFC 6749 §4.1.2.1); holds a code from a fixed list. Logged as a
    /// warning, whatever its code: the browser brings it, so anyone can
    /// send one for a sign-in they started.
    Provider(&'static str),
    /// An error response (RFC 6749 §4.1.2.1) that names no sign-in attempt
    /// of this browser: its flow expired, or it carries no `state`. Shown
    /// as [`Error::Provider`] is (a user who cancels late is told so), and
    /// logged as a warning that says it matched no sign-in.
    ProviderUnmatched(&'static str),
    /// The token endpoint refused a grant (RFC 6749 §5.2); holds the
    /// `error` code, sanitised.
    TokenRejected(String),
    /// The introspection endpoint refused this client (RFC 7662 §2.3:
    /// `invalid_client` and the like), or the token endpoint answered 401
    /// with another code (RFC 6749 §5.2: a failed client authentication);
    /// holds the `error` code, sanitised. The app's configuration: no
    /// session ends.
    ClientRefused(String),
    /// The refresh token was refused, and this request needs a live access
    /// token. Either a parallel request (in another instance) spent the
    /// refresh token first and its response carries the new session, or
    /// the grant is dead; the request is worth a retry, which tells.
    RefreshConflict,
    /// The ID token failed verification (OpenID Connect Core §3.1.3.7).
    IdToken(IdTokenError),
    /// userinfo's `sub` is not the signed-in user's (OpenID Connect Core §5.3.2).
    SubjectMismatch,
    /// The provider says the access token is not active (RFC 7662 §2.2,
    /// RFC 6750 §3.1 `invalid_token`).
    TokenInactive,
    /// A session too large to keep in the browser's cookies.
    UnstorableToken,
    /// Signing out everywhere needs a shared session store, and none is
    /// configured (`REDIS_URL`, with the `redis` feature).
    NoSharedStore,
    /// The shared session store did not answer.
    StoreUnavailable,
    /// A provider call failed.
    Upstream(Endpoint, UpstreamProblem),
}

/// What an error means to the browser, in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Facts {
    /// The short code shown to the user (error page or JSON `error`).
    pub code: &'static str,
    /// The status of the JSON answer on API routes.
    pub status: StatusCode,
    /// A sentence for the JSON `error_description`; fixed text, no details.
    pub description: &'static str,
    /// Whether the session cookies the request carried are cleared.
    pub ends_session: bool,
}

const fn facts(
    code: &'static str,
    status: StatusCode,
    description: &'static str,
    ends_session: bool,
) -> Facts {
    Facts {
        code,
        status,
        description,
        ends_session,
    }
}

impl Error {
    /// The facts of this error: the one table of codes, statuses,
    /// descriptions and session endings.
    pub(crate) fn facts(&self) -> Facts {
        use StatusCode as S;
        const SIGN_IN_MISMATCH: &str =
            "The sign-in response does not match this browser's attempt.";
        match self {
            Self::Config(_)
            | Self::Discovery(_)
            | Self::Unbuildable(_)
            | Self::ClientRefused(_) => facts(
                "configuration",
                S::INTERNAL_SERVER_ERROR,
                "The sign-in service is not configured correctly.",
                false,
            ),
            Self::Unsupported(_) => facts(
                "unsupported",
                S::NOT_IMPLEMENTED,
                "The identity provider does not support this operation.",
                false,
            ),
            Self::BadRequest(_) => facts(
                "invalid_request",
                S::BAD_REQUEST,
                "The request is malformed.",
                false,
            ),
            Self::MethodNotAllowed(_) => facts(
                "method_not_allowed",
                S::METHOD_NOT_ALLOWED,
                "This method is not allowed on this route.",
                false,
            ),
            Self::CrossOrigin => facts(
                "cross_origin_request",
                S::FORBIDDEN,
                "Cross-origin requests are not allowed on this route.",
                false,
            ),
            Self::NotSignedIn => facts(
                "not_signed_in",
                S::UNAUTHORIZED,
                "No session found: you are not signed in.",
                true,
            ),
            Self::FlowMissing => facts(
                "sign_in_expired",
                S::UNAUTHORIZED,
                "The sign-in attempt expired; start again.",
                false,
            ),
            Self::StateMismatch => facts("invalid_state", S::UNAUTHORIZED, SIGN_IN_MISMATCH, false),
            Self::IssuerMismatch | Self::MissingCode => {
                facts("invalid_response", S::UNAUTHORIZED, SIGN_IN_MISMATCH, false)
            }
            Self::Provider(code) | Self::ProviderUnmatched(code) => facts(
                code,
                S::BAD_GATEWAY,
                "The identity provider returned an error.",
                false,
            ),
            // The grant is dead (spent, revoked, expired), or the provider
            // refused this request for a reason no retry changes: sign in
            // again.
            Self::TokenRejected(code) if refuses_the_grant(code) => facts(
                "token_rejected",
                S::UNAUTHORIZED,
                "The identity provider refused the grant; sign in again.",
                true,
            ),
            // Throttled: the provider's state, not the session's.
            Self::TokenRejected(code)
                if matches!(code.as_str(), "temporarily_unavailable" | "slow_down") =>
            {
                facts(
                    "provider_unavailable",
                    S::SERVICE_UNAVAILABLE,
                    "The identity provider is unavailable; try again later.",
                    false,
                )
            }
            // The provider refused this app (`invalid_client` after a
            // secret rotation, `unauthorized_client`, …): the app's
            // configuration, not the user's session, which is kept.
            Self::TokenRejected(_) => facts(
                "configuration",
                S::INTERNAL_SERVER_ERROR,
                "The sign-in service is not configured correctly.",
                false,
            ),
            Self::RefreshConflict => facts(
                "session_refresh_conflict",
                S::CONFLICT,
                "The session's refresh was refused or taken by another request; retry in a moment.",
                true,
            ),
            // No ID token at all: `openid` not granted, the app's settings.
            Self::IdToken(IdTokenError::Missing) => facts(
                "configuration",
                S::INTERNAL_SERVER_ERROR,
                "The sign-in service is not configured correctly.",
                false,
            ),
            Self::IdToken(_) => facts(
                "invalid_token",
                S::UNAUTHORIZED,
                "The ID token could not be verified.",
                true,
            ),
            Self::SubjectMismatch => facts(
                "subject_mismatch",
                S::UNAUTHORIZED,
                "The identity provider returned a different user.",
                true,
            ),
            Self::TokenInactive => facts(
                "token_inactive",
                S::UNAUTHORIZED,
                "Token is not active.",
                true,
            ),
            Self::UnstorableToken => facts(
                "unstorable_token",
                S::INTERNAL_SERVER_ERROR,
                "The session cannot be stored in a cookie.",
                true,
            ),
            Self::NoSharedStore => facts(
                "no_shared_store",
                S::NOT_IMPLEMENTED,
                "Signing out everywhere needs the app's shared session store.",
                false,
            ),
            Self::StoreUnavailable => facts(
                "store_unavailable",
                S::SERVICE_UNAVAILABLE,
                "The session store is unavailable; try again later.",
                false,
            ),
            Self::Upstream(_, UpstreamProblem::Transport(TransportError::Timeout)) => facts(
                "provider_unavailable",
                S::GATEWAY_TIMEOUT,
                "The identity provider is unavailable; try again later.",
                false,
            ),
            Self::Upstream(..) => facts(
                "provider_unavailable",
                S::BAD_GATEWAY,
                "The identity provider is unavailable; try again later.",
                false,
            ),
        }
    }

    /// The short code shown to the user (error page or JSON `error`).
    pub fn code(&self) -> &'static str {
        self.facts().code
    }

    /// The status of the JSON answer on API routes.
    pub fn status(&self) -> StatusCode {
        self.facts().status
    }

    /// A fixed sentence for the user (the JSON `error_description`): no
    /// details, no secret. The details are in the log line and `Display`.
    pub fn description(&self) -> &'static str {
        self.facts().description
    }

    /// Whether the session cookies must be cleared with this answer.
    pub fn ends_session(&self) -> bool {
        self.facts().ends_session
    }

    /// Whether the token endpoint refused the grant itself (RFC 6749 §5.2):
    /// `invalid_grant` (the refresh token is dead, spent or revoked), or
    /// any other refusal with a 400 (or in a 200) that names neither the
    /// client nor a throttle (`invalid_request`, `invalid_scope`, a code
    /// that is not RFC 6749's, or none; the token response's parser
    /// decides which answers are refusals): nothing makes the same request succeed
    /// later, and a session kept on it would answer errors for as long as
    /// its cookie lives. Refusals of the client (`invalid_client`,
    /// `unauthorized_client`, `unsupported_grant_type`, or any on a 401)
    /// are the app's configuration, not the user's session.
    pub fn is_grant_refusal(&self) -> bool {
        matches!(self, Self::TokenRejected(code) if refuses_the_grant(code))
    }

    /// Writes the log line for this error; server-side faults at error
    /// level, refusals at warn level. The line names the reason only.
    pub(crate) fn log(&self, route: &str) {
        if *self == Self::NotSignedIn {
            // Routine: a page asking whether anyone is signed in.
            return;
        }
        let line = format!("{route}: {} ({self})", self.code());
        if self.is_for_the_operator() {
            crate::log::error(&line);
        } else {
            crate::log::warn(&line);
        }
    }

    /// Whether [`Error::log`] writes an error line (something an operator
    /// should look at) rather than a warning: a server error, never an
    /// error response of the authorization endpoint (RFC 6749 §4.1.2.1).
    /// That response reaches the callback through the browser, so anyone
    /// can send it, `server_error` included, and a matching `state` proves
    /// only that some browser started a sign-in (the sender can be that
    /// browser, and replay its flow cookie until it expires): an outage
    /// an operator should look at shows in the provider calls made over
    /// TLS (discovery, token, keys), which are errors. So is an ID token
    /// that fails verification, or a provider's answer about another
    /// user: they come from the token, userinfo or introspection endpoint
    /// over TLS, never from the browser, and stop every sign-in until the
    /// key set, the issuer, the client ID or a clock is put right.
    fn is_for_the_operator(&self) -> bool {
        match self {
            Self::Provider(_) | Self::ProviderUnmatched(_) => false,
            // A deployment without a store, as the README allows: a user
            // asked for what it cannot do, nothing broke.
            Self::NoSharedStore => false,
            Self::IdToken(_) | Self::SubjectMismatch => true,
            _ => self.status().is_server_error(),
        }
    }
}

/// The detail for the log: what exactly went wrong, never a secret.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => write!(f, "configuration error: {e}"),
            Self::Discovery(why) => write!(f, "unusable provider metadata: {why}"),
            Self::Unbuildable(endpoint) => write!(
                f,
                "cannot build the {} request: its URL or a header is not valid",
                endpoint.as_str()
            ),
            Self::Unsupported(what) => write!(f, "provider has no {what} endpoint"),
            Self::BadRequest(why) => write!(f, "bad request: {why}"),
            Self::MethodNotAllowed(allowed) => write!(f, "method not allowed (allowed: {allowed})"),
            Self::Provider(code) => write!(f, "provider returned error={code}"),
            Self::ProviderUnmatched(code) => write!(
                f,
                "an error response naming no sign-in of this browser: error={code}"
            ),
            Self::TokenRejected(code) => write!(
                f,
                "provider refused the grant: error={code}{}",
                credentials_hint(code)
            ),
            Self::ClientRefused(code) => write!(
                f,
                "provider refused this client: error={code}{}",
                credentials_hint(code)
            ),
            Self::IdToken(e) => write!(f, "ID token rejected: {e}"),
            Self::Upstream(endpoint, UpstreamProblem::Transport(t)) => {
                write!(f, "{} request failed: {t}", endpoint.as_str())
            }
            Self::Upstream(endpoint, UpstreamProblem::Status(s)) => {
                write!(f, "{} answered HTTP {s}", endpoint.as_str())
            }
            Self::Upstream(endpoint, UpstreamProblem::Malformed(why)) => {
                write!(f, "{} response malformed: {why}", endpoint.as_str())
            }
            Self::StateMismatch => f.write_str(
                "the callback's state names no sign-in attempt of this browser \
                 (none, another browser's, or a flow cookie that did not open)",
            ),
            Self::IssuerMismatch => f.write_str(
                "the callback's iss is not the issuer, or is missing though the \
                 provider's metadata promises it (RFC 9207 §2.4)",
            ),
            Self::MissingCode => f.write_str("the callback carries no code"),
            other => f.write_str(other.facts().description),
        }
    }
}

impl std::error::Error for Error {}

/// What the operator should check when the provider refused the client's
/// authentication (`invalid_client`, RFC 6749 §5.2): the three settings
/// that must match the provider's registration of the client.
fn credentials_hint(code: &str) -> &'static str {
    if code == "invalid_client" {
        " (check VERCEL_APP_CLIENT_ID, VERCEL_APP_CLIENT_SECRET and VERCEL_APP_TOKEN_AUTH against the provider's registration of the client; for a marketplace integration's exchange, INTEGRATION_CLIENT_ID and INTEGRATION_CLIENT_SECRET against the integration's settings)"
    } else {
        ""
    }
}

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

/// `value` quoted for a log line or an error's detail, at most `max_chars`
/// characters of it (cut on a character boundary, and marked so): for text
/// a provider's document carries, which may be any size. Quoted as `Debug`
/// quotes, so control characters cannot break the line.
pub(crate) fn excerpt(value: &str, max_chars: usize) -> String {
    match value.char_indices().nth(max_chars) {
        None => format!("{value:?}"),
        Some((end, _)) => format!("{:?}… (cut, {} bytes in all)", &value[..end], value.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused client authentication names the settings to check; other
    /// refusals do not.
    #[test]
    fn a_refused_client_names_the_settings_to_check() {
        for e in [
            Error::TokenRejected("invalid_client".into()),
            Error::ClientRefused("invalid_client".into()),
        ] {
            let line = e.to_string();
            assert!(line.contains("error=invalid_client (check VERCEL_APP_CLIENT_ID, VERCEL_APP_CLIENT_SECRET and VERCEL_APP_TOKEN_AUTH"), "{line}");
        }
        for e in [
            Error::TokenRejected("invalid_grant".into()),
            Error::ClientRefused("unauthorized_client".into()),
        ] {
            assert!(!e.to_string().contains("check"), "{e}");
        }
    }

    /// An error response of the authorization endpoint is a warning
    /// whatever its code, matched to a sign-in of this browser or not:
    /// anyone who starts a sign-in can send one with its `state`.
    #[test]
    fn no_error_response_of_the_authorization_endpoint_is_logged_as_an_error() {
        for code in ["server_error", "temporarily_unavailable", "access_denied"] {
            assert!(!Error::Provider(code).is_for_the_operator(), "{code}");
            assert!(
                !Error::ProviderUnmatched(code).is_for_the_operator(),
                "{code}"
            );
        }
        // What the provider answers over TLS still is.
        assert!(Error::Discovery("x".into()).is_for_the_operator());
        assert!(
            Error::Upstream(Endpoint::Token, UpstreamProblem::Status(500)).is_for_the_operator()
        );
        assert!(!Error::StateMismatch.is_for_the_operator());
        // An ID token the provider's key set, issuer or clock refuses.
        assert!(Error::IdToken(IdTokenError::UnknownKey).is_for_the_operator());
        assert!(Error::IdToken(IdTokenError::BadSignature).is_for_the_operator());
        assert!(Error::SubjectMismatch.is_for_the_operator());
        assert!(!Error::NoSharedStore.is_for_the_operator());
    }

    #[test]
    fn excerpts_are_cut_on_a_character_boundary_and_marked() {
        assert_eq!(
            excerpt("https://op.example", 100),
            r#""https://op.example""#
        );
        assert_eq!(excerpt("abcdef", 6), r#""abcdef""#);
        assert_eq!(excerpt("abcdef", 3), r#""abc"… (cut, 6 bytes in all)"#);
        assert_eq!(excerpt("éééé", 2), r#""éé"… (cut, 8 bytes in all)"#);
        assert_eq!(excerpt("a\nb", 10), r#""a\nb""#);
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

    /// The callback's refusals that share the user's sentence tell the
    /// operator apart which check failed.
    #[test]
    fn the_callback_refusals_say_which_check_failed() {
        let said: Vec<String> = [
            Error::StateMismatch,
            Error::IssuerMismatch,
            Error::MissingCode,
        ]
        .iter()
        .map(|e| {
            assert_eq!(e.description(), e.facts().description);
            e.to_string()
        })
        .collect();
        assert!(said[0].contains("state"), "{said:?}");
        assert!(
            said[1].contains("iss") && said[1].contains("RFC 9207"),
            "{said:?}"
        );
        assert!(said[2].contains("no code"), "{said:?}");
        for line in &said {
            assert_ne!(line, Error::StateMismatch.description());
        }
    }

    /// The log line of a failed provider call names the endpoint it went
    /// to, in the words the operator reads in the provider's metadata.
    #[test]
    fn a_failed_provider_call_names_its_endpoint_in_the_log() {
        for (endpoint, name) in [
            (Endpoint::Discovery, "discovery"),
            (Endpoint::Jwks, "jwks"),
            (Endpoint::Token, "token"),
            (Endpoint::Userinfo, "userinfo"),
            (Endpoint::Introspection, "introspection"),
            (Endpoint::Revocation, "revocation"),
        ] {
            let status = Error::Upstream(endpoint, UpstreamProblem::Status(503));
            assert_eq!(status.to_string(), format!("{name} answered HTTP 503"));
            let malformed = endpoint.malformed("not JSON");
            assert_eq!(
                malformed.to_string(),
                format!("{name} response malformed: not JSON")
            );
            assert_eq!(
                Error::Unbuildable(endpoint).to_string(),
                format!("cannot build the {name} request: its URL or a header is not valid")
            );
        }
        assert_eq!(
            Error::IdToken(IdTokenError::BadSignature).to_string(),
            "ID token rejected: bad signature"
        );
    }

    /// RFC 6749 §5.2: `invalid_grant` is the grant's death (the user signs
    /// in again, the session's cookies go), and so is any other refusal
    /// that names neither the client nor a throttle; a throttle is the
    /// provider's state; a refused client is the app's configuration, and
    /// the session is kept for when it is fixed.
    #[test]
    fn a_refused_grant_ends_the_session_and_a_refused_client_keeps_it() {
        for code in [
            "invalid_grant",
            "invalid_request",
            "invalid_scope",
            "unknown",
        ] {
            let grant = Error::TokenRejected(code.into());
            assert_eq!(
                (grant.code(), grant.status(), grant.ends_session()),
                ("token_rejected", StatusCode::UNAUTHORIZED, true),
                "{code}"
            );
            assert!(grant.is_grant_refusal(), "{code}");
        }
        for code in ["temporarily_unavailable", "slow_down"] {
            let throttled = Error::TokenRejected(code.into());
            assert_eq!(
                (
                    throttled.code(),
                    throttled.status(),
                    throttled.ends_session()
                ),
                (
                    "provider_unavailable",
                    StatusCode::SERVICE_UNAVAILABLE,
                    false
                ),
                "{code}"
            );
        }
        for code in [
            "invalid_client",
            "unauthorized_client",
            "unsupported_grant_type",
        ] {
            let refused = Error::TokenRejected(code.into());
            assert_eq!(
                (refused.code(), refused.status(), refused.ends_session()),
                ("configuration", StatusCode::INTERNAL_SERVER_ERROR, false),
                "{code}"
            );
            assert!(!refused.is_grant_refusal(), "{code}");
        }
    }
}
