//! How a provider call failed, and which endpoint it went to.

use http::StatusCode;
use serde_json::{Map, Value};

use super::Error;
use crate::transport::{HttpResponse, TransportError};

/// Which provider endpoint a failed call went to, for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
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

    pub(super) fn as_str(self) -> &'static str {
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
#[non_exhaustive]
pub enum UpstreamProblem {
    /// No response (timeout, connection refused, oversized, past the
    /// request's deadline).
    Transport(TransportError),
    /// An unexpected HTTP status.
    Status(u16),
    /// A response that is not the JSON the spec describes.
    Malformed(&'static str),
}
