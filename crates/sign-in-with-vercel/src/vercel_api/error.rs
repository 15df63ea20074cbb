//! [`VercelApiError`]: a failed call to Vercel's REST API, typed by status.
//!
//! Vercel's error bodies are `{"error": {"code": "...", "message": "..."}}`.
//! The code is kept when it looks like one; the message is capped, stripped
//! of control characters, and any word that could be a credential is
//! replaced, so an error can be logged or shown without leaking a token.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::transport::{HttpResponse, TransportError};

/// The longest message kept from an error body, in characters.
const MAX_MESSAGE_CHARS: usize = 200;
/// Runs of token characters at least this long are redacted, whatever
/// they hold.
const MIN_TOKEN_LIKE: usize = 20;
/// Runs at least this long are redacted when they mix as generated
/// credentials do ([`is_mixed`]).
const MIN_MIXED_TOKEN_LIKE: usize = 12;

/// What Vercel said about a failed call, summarised: never a credential.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// `error.code`, when it is a short identifier (`forbidden`, `not_found`…).
    pub code: Option<String>,
    /// `error.message`, capped and with token-like words redacted.
    pub message: Option<String>,
    /// `error.invalidToken`: Vercel's mark of a token it does not accept.
    pub invalid_token: bool,
}

/// Why a REST call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VercelApiError {
    /// 400: a value of the request is invalid.
    Invalid(Problem),
    /// 401: the token is not accepted, even after a refresh.
    Unauthorized(Problem),
    /// 403: the token may not do this.
    Forbidden(Problem),
    /// 404: no such resource.
    NotFound(Problem),
    /// 429: too many requests; try again after `retry_after` when given
    /// (RFC 9110 §10.2.3, delta-seconds form).
    RateLimited {
        /// The `Retry-After` delay.
        retry_after: Option<Duration>,
        /// What Vercel said.
        problem: Problem,
    },
    /// 5xx: Vercel failed.
    Server {
        /// The status.
        status: u16,
        /// What Vercel said.
        problem: Problem,
    },
    /// Any other status that is not a success.
    Status {
        /// The status.
        status: u16,
        /// What Vercel said.
        problem: Problem,
    },
    /// A success whose body is not the JSON the endpoint documents.
    Malformed(&'static str),
    /// No response (timeout, connection, oversized body).
    Transport(TransportError),
    /// The access token was refused and refreshing it failed.
    Refresh(crate::Error),
    /// The request could not be built (an empty ID, a path off the API's origin).
    InvalidArgument(&'static str),
}

impl VercelApiError {
    /// The error for a response that is not a success (RFC 9110 §15).
    pub fn from_response(response: &HttpResponse) -> Self {
        let problem = problem(response.body());
        match response.status().as_u16() {
            400 => Self::Invalid(problem),
            401 => Self::Unauthorized(problem),
            403 => Self::Forbidden(problem),
            404 => Self::NotFound(problem),
            429 => Self::RateLimited {
                retry_after: retry_after(response),
                problem,
            },
            status @ 500..=599 => Self::Server { status, problem },
            status => Self::Status { status, problem },
        }
    }

    /// The HTTP status Vercel answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Invalid(_) => Some(400),
            Self::Unauthorized(_) => Some(401),
            Self::Forbidden(_) => Some(403),
            Self::NotFound(_) => Some(404),
            Self::RateLimited { .. } => Some(429),
            Self::Server { status, .. } | Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// What Vercel said, when it said something.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Invalid(p) | Self::Unauthorized(p) | Self::Forbidden(p) | Self::NotFound(p) => {
                Some(p)
            }
            Self::RateLimited { problem, .. }
            | Self::Server { problem, .. }
            | Self::Status { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// A short sentence for a person, with no detail from the body.
    pub fn description(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "Vercel's API refused the request as invalid.",
            Self::Unauthorized(_) => "Vercel's API does not accept this access token.",
            // Why the renewal failed: a refused grant, a provider out of
            // reach, a race to retry once.
            Self::Refresh(e) => e.description(),
            Self::Forbidden(_) => "Vercel's API does not allow this access token to do that.",
            Self::NotFound(_) => "Vercel's API has no such resource.",
            Self::RateLimited { .. } => "Vercel's API is rate limiting these requests.",
            Self::Server { .. } | Self::Status { .. } | Self::Malformed(_) => {
                "Vercel's API answered with an error."
            }
            Self::Transport(_) => "Vercel's API could not be reached.",
            Self::InvalidArgument(_) => "The request to Vercel's API could not be built.",
        }
    }
}

impl fmt::Display for VercelApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "Vercel API response malformed: {why}"),
            Self::Transport(t) => write!(f, "Vercel API request failed: {t}"),
            Self::Refresh(e) => write!(f, "Vercel API refused the token; refresh failed: {e}"),
            Self::InvalidArgument(why) => write!(f, "Vercel API request not built: {why}"),
            _ => {
                write!(f, "Vercel API answered HTTP {}", self.status().unwrap_or(0))?;
                if let Some(p) = self.problem() {
                    // The code only: the message is the provider's text
                    // (kept, capped and redacted, in `problem()`).
                    if let Some(code) = &p.code {
                        write!(f, " ({code})")?;
                    }
                }
                if let Self::RateLimited {
                    retry_after: Some(d),
                    ..
                } = self
                {
                    write!(f, "; retry after {} s", d.as_secs())?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for VercelApiError {}

/// Reads Vercel's `{"error": {"code", "message", "invalidToken"}}`.
fn problem(body: &[u8]) -> Problem {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Problem::default();
    };
    let error = &value["error"];
    Problem {
        code: error["code"].as_str().and_then(sanitize_code),
        message: error["message"]
            .as_str()
            .map(summarise)
            .filter(|m| !m.is_empty()),
        invalid_token: error["invalidToken"] == Value::Bool(true),
    }
}

fn sanitize_code(code: &str) -> Option<String> {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    ok.then(|| code.to_owned())
}

/// A message made safe to log: control characters dropped, token-like
/// words (long runs of letters, digits, `_`, `-`, `.`) redacted, capped.
/// The control characters go first: one inside a token would otherwise
/// split it into runs too short to redact, joined again once dropped.
fn summarise(message: &str) -> String {
    let printable: String = message
        .chars()
        .filter(|c| c.is_whitespace() || !c.is_control())
        .collect();
    let words: Vec<String> = printable
        .split_whitespace()
        .map(|word| {
            // Runs of base64url, hex and the `vca_`-style prefixes; then
            // the wider runs of standard base64 and percent-encoding,
            // whose `/` also joins a path's words.
            let narrow = |c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            let wide = |c: char| narrow(c) && !matches!(c, '+' | '/' | '=' | '%' | '~');
            let token_like = word.split(narrow).any(looks_like_a_credential)
                || word
                    .split(wide)
                    .any(|run| run.len() >= MIN_TOKEN_LIKE && is_mixed(run));
            if token_like {
                "[redacted]".to_owned()
            } else {
                word.to_owned()
            }
        })
        .collect();
    let joined = words.join(" ");
    if joined.chars().count() > MAX_MESSAGE_CHARS {
        let mut cut: String = joined.chars().take(MAX_MESSAGE_CHARS).collect();
        cut.push('…');
        cut
    } else {
        joined
    }
}

/// Whether `run`, of token characters, may be a credential: long, or
/// nearly as long and mixed as generated secrets are ([`is_mixed`]).
fn looks_like_a_credential(run: &str) -> bool {
    run.len() >= MIN_TOKEN_LIKE || run.len() >= MIN_MIXED_TOKEN_LIKE && is_mixed(run)
}

/// Whether `run` mixes as generated secrets do and words, names and
/// dates do not: three capitals past its first character (not a
/// camelCase field or a header name), or at least three letters and two
/// digits with a digit next to a letter (not `acme-corp-2024`, nor a
/// timestamp's single `T`).
fn is_mixed(run: &str) -> bool {
    let b = run.as_bytes();
    let capitals = b.iter().skip(1).filter(|c| c.is_ascii_uppercase()).count();
    let letters = b.iter().filter(|c| c.is_ascii_alphabetic()).count();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let touching = b.windows(2).any(|pair| {
        (pair[0].is_ascii_digit() && pair[1].is_ascii_alphabetic())
            || (pair[0].is_ascii_alphabetic() && pair[1].is_ascii_digit())
    });
    capitals >= 3 || (letters >= 3 && digits >= 2 && touching)
}

/// `Retry-After` in its delta-seconds form (RFC 9110 §10.2.3); the
/// HTTP-date form is not used by Vercel's API and is ignored.
fn retry_after(response: &HttpResponse) -> Option<Duration> {
    let value = response.headers().get(http::header::RETRY_AFTER)?;
    let seconds: u64 = value.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds.min(24 * 3600)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::tests::response;

    fn error(status: u16, body: &str) -> VercelApiError {
        VercelApiError::from_response(&response(status, body))
    }

    const BODY: &str = r#"{"error":{"code":"forbidden","message":"You do not have permission"}}"#;

    #[test]
    fn status_400_is_invalid() {
        assert!(matches!(error(400, BODY), VercelApiError::Invalid(_)));
    }

    #[test]
    fn status_401_is_unauthorized() {
        assert!(matches!(error(401, BODY), VercelApiError::Unauthorized(_)));
    }

    #[test]
    fn status_403_is_forbidden_with_code_and_message() {
        let e = error(403, BODY);
        let p = e.problem().unwrap();
        assert_eq!(p.code.as_deref(), Some("forbidden"));
        assert_eq!(p.message.as_deref(), Some("You do not have permission"));
        assert!(matches!(e, VercelApiError::Forbidden(_)));
    }

    #[test]
    fn status_404_is_not_found() {
        assert!(matches!(error(404, BODY), VercelApiError::NotFound(_)));
    }

    #[test]
    fn status_429_carries_retry_after() {
        let mut r = response(
            429,
            r#"{"error":{"code":"rate_limited","message":"slow down"}}"#,
        );
        r.headers_mut()
            .insert(http::header::RETRY_AFTER, "30".parse().unwrap());
        let e = VercelApiError::from_response(&r);
        assert_eq!(
            e,
            VercelApiError::RateLimited {
                retry_after: Some(Duration::from_secs(30)),
                problem: Problem {
                    code: Some("rate_limited".into()),
                    message: Some("slow down".into()),
                    invalid_token: false
                }
            }
        );
        assert!(e.to_string().contains("retry after 30 s"));
    }

    #[test]
    fn status_5xx_is_a_server_error() {
        assert!(matches!(
            error(503, "<html>"),
            VercelApiError::Server { status: 503, .. }
        ));
    }

    #[test]
    fn other_statuses_keep_their_number() {
        assert!(matches!(
            error(409, BODY),
            VercelApiError::Status { status: 409, .. }
        ));
    }

    #[test]
    fn error_messages_never_echo_a_token() {
        let token = "vca_QpZ3x9LrT0kWmN2bV8cY4dF6gH1jK5sA7eU0iO";
        let e = error(
            401,
            &format!(
                r#"{{"error":{{"code":"invalid_token","message":"token {token} is revoked\u0007","invalidToken":true}}}}"#
            ),
        );
        let printed = format!("{e} {e:?}");
        assert!(!printed.contains(token), "{printed}");
        assert!(printed.contains("token [redacted] is revoked"), "{printed}");
        assert!(e.problem().unwrap().invalid_token);
    }

    /// Credentials a run of 20 would miss: standard base64 (its `+`, `/`
    /// and `=` no longer split it), and shorter generated ones, mixed as
    /// words are not. Words, numbers and a short path stay.
    #[test]
    fn shorter_and_base64_credentials_are_redacted_too() {
        for message in [
            "token AbCdEfGhIjKlMnOpQ+rStUvWxYz0123456789/abcd= is bad",
            "Bearer AbCdEfGhIjKlMnOpQ",
            "token k3yAb9xQ7mZ2 is bad",
            "token abc%2Fdef%3Dghi%2Bjkl is bad",
        ] {
            let summary = summarise(message);
            assert!(summary.contains("[redacted]"), "{message} -> {summary}");
        }
        for message in [
            "You do not have permission to access this resource",
            "Rate limit of 1000 requests exceeded; retry after 60 seconds",
            "misconfiguration of the integration",
            "See /v9/projects for the list",
            "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p",
            "Invalid request: `configurationId` should be string",
            "Missing header Content-Type",
            "Rate limit resets at 2025-01-01T00:00:00.000Z",
            "Team acme-corp-2024 not found",
        ] {
            assert_eq!(summarise(message), message);
        }
    }

    #[test]
    fn unusual_codes_and_long_messages_are_cut() {
        let long = "word ".repeat(100);
        let e = error(
            400,
            &format!(r#"{{"error":{{"code":"<script>","message":"{long}"}}}}"#),
        );
        let p = e.problem().unwrap();
        assert_eq!(p.code, None);
        assert!(p.message.as_ref().unwrap().chars().count() <= MAX_MESSAGE_CHARS + 1);
    }

    /// RFC 9110 §15: the status Vercel answered with is kept, and printed.
    #[test]
    fn every_answered_error_reports_its_status() {
        for status in [400, 401, 403, 404, 409, 429, 503] {
            let e = error(status, BODY);
            assert_eq!(e.status(), Some(status));
            assert_eq!(
                e.to_string(),
                format!("Vercel API answered HTTP {status} (forbidden)")
            );
            assert_eq!(e.problem().unwrap().code.as_deref(), Some("forbidden"));
        }
        for unanswered in [
            VercelApiError::Malformed("no tokenId"),
            VercelApiError::Transport(TransportError::Timeout),
            VercelApiError::InvalidArgument("empty ID"),
        ] {
            assert_eq!(unanswered.status(), None, "{unanswered}");
            assert_eq!(unanswered.problem(), None, "{unanswered}");
        }
    }

    #[test]
    fn errors_without_an_answer_say_what_failed() {
        assert_eq!(
            VercelApiError::Malformed("no tokenId").to_string(),
            "Vercel API response malformed: no tokenId"
        );
        assert_eq!(
            VercelApiError::Transport(TransportError::Timeout).to_string(),
            "Vercel API request failed: timed out"
        );
        assert_eq!(
            VercelApiError::Refresh(crate::Error::BadRequest("x")).to_string(),
            "Vercel API refused the token; refresh failed: bad request: x"
        );
        assert_eq!(
            VercelApiError::InvalidArgument("empty ID").to_string(),
            "Vercel API request not built: empty ID"
        );
    }

    /// A failed renewal is described by why it failed, not as a refused
    /// token: the provider out of reach, or a race to retry once.
    #[test]
    fn a_failed_renewal_says_why_it_failed() {
        let unreachable = crate::Error::Upstream(
            crate::error::Endpoint::Token,
            crate::error::UpstreamProblem::Transport(TransportError::Connect),
        );
        for e in [unreachable, crate::Error::RefreshConflict] {
            let description = e.description();
            assert_eq!(VercelApiError::Refresh(e).description(), description);
        }
    }

    #[test]
    fn descriptions_are_fixed_sentences_by_kind() {
        assert_eq!(
            error(403, BODY).description(),
            "Vercel's API does not allow this access token to do that."
        );
        assert_eq!(
            VercelApiError::Transport(TransportError::Connect).description(),
            "Vercel's API could not be reached."
        );
    }

    #[test]
    fn an_empty_message_and_a_false_invalid_token_are_absent() {
        let p = problem(br#"{"error":{"code":"x","message":" ","invalidToken":false}}"#);
        assert_eq!(p.message, None);
        assert!(!p.invalid_token);
        let p = problem(br#"{"error":{"invalidToken":"true"}}"#);
        assert!(!p.invalid_token, "only the boolean");
    }

    #[test]
    fn codes_are_kept_when_they_are_short_identifiers() {
        for kept in ["not_found", "rate-limited", "v1.forbidden", &"c".repeat(64)] {
            assert_eq!(sanitize_code(kept).as_deref(), Some(kept));
        }
        for refused in ["", &"c".repeat(65), "a b", "a/b", "a\u{e9}"] {
            assert_eq!(sanitize_code(refused), None, "{refused:?}");
        }
    }

    /// Shorter runs of token characters are words; from
    /// [`MIN_TOKEN_LIKE`] on they may be credentials.
    #[test]
    fn token_like_runs_are_redacted_from_their_length_on() {
        let short = "a-b_c.d".repeat(3)[..MIN_TOKEN_LIKE - 1].to_owned();
        let long = "x".repeat(MIN_TOKEN_LIKE);
        assert_eq!(
            summarise(&format!("ok {short} then ({long}) end\u{7}!")),
            format!("ok {short} then [redacted] end!")
        );
        assert_eq!(
            summarise("a/b/c/d/e/f/g/h/i/j/k/l/m"),
            "a/b/c/d/e/f/g/h/i/j/k/l/m"
        );
    }

    /// A control character inside a token neither shields it from
    /// redaction nor survives; one that is whitespace still parts words.
    #[test]
    fn a_control_character_does_not_split_a_token_out_of_redaction() {
        let half = "x".repeat(MIN_TOKEN_LIKE / 2 + 1);
        for control in ['\u{0}', '\u{7f}', '\u{1b}'] {
            assert_eq!(
                summarise(&format!("bad {half}{control}{half} here")),
                "bad [redacted] here",
                "{control:?}"
            );
        }
        assert_eq!(summarise("a\tb\nc"), "a b c");
    }

    #[test]
    fn messages_are_cut_after_the_cap_only() {
        let exact = "é".repeat(MAX_MESSAGE_CHARS);
        assert_eq!(summarise(&exact), exact);
        let over = "é".repeat(MAX_MESSAGE_CHARS + 1);
        assert_eq!(summarise(&over), format!("{exact}…"));
    }

    /// RFC 9110 §10.2.3: delta-seconds, capped at a day; a date is ignored.
    #[test]
    fn retry_after_is_capped_at_a_day() {
        let with = |value: &str| {
            let mut r = response(429, "");
            r.headers_mut()
                .insert(http::header::RETRY_AFTER, value.parse().unwrap());
            retry_after(&r)
        };
        assert_eq!(with("86401"), Some(Duration::from_secs(86_400)));
        assert_eq!(with(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(with("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
