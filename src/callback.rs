//! The authorization response at the redirect URI (RFC 6749 §4.1.2),
//! checked against the flow this browser started.

use crate::authorize::Flow;
use crate::discovery::ProviderMetadata;
use crate::error::{Error, provider_error_code};
use crate::request::query_params;
use crate::secret::{AuthorizationCode, State};

/// The parameters of a callback request.
#[derive(Debug, Default)]
pub struct CallbackParams {
    /// The authorization code.
    pub code: Option<AuthorizationCode>,
    /// The `state` echoed back.
    pub state: Option<State>,
    /// The issuer, when the provider sends it (RFC 9207).
    pub iss: Option<String>,
    /// An error code instead of a code (RFC 6749 §4.1.2.1).
    pub error: Option<String>,
}

impl CallbackParams {
    /// Parses the callback's query string; repeated or oversized
    /// parameters are a bad request.
    pub fn parse(query: Option<&str>) -> Result<Self, Error> {
        let mut p = query_params(query, &["code", "state", "iss", "error"])?;
        Ok(Self {
            code: p
                .remove("code")
                .filter(|c| !c.is_empty())
                .map(AuthorizationCode::new),
            state: p.remove("state").map(State::new),
            iss: p.remove("iss"),
            error: p.remove("error"),
        })
    }
}

/// Checks the callback against `flow` and returns the code to exchange.
/// First `state` must equal the flow's, compared in constant time (RFC 6749
/// §10.12), and `iss`, when present or promised, must be the issuer exactly
/// (RFC 9207 §2.4), for error responses too: an error that is not the
/// answer to this browser's request is not believed (§4.1.2.1 requires
/// `state` in it). Then an `error` ends the flow with that (sanitised)
/// code; otherwise a `code` must be present.
pub fn check(
    params: CallbackParams,
    flow: &Flow,
    metadata: &ProviderMetadata,
) -> Result<AuthorizationCode, Error> {
    match &params.state {
        Some(state) if flow.state.ct_eq(state.secret()) => {}
        _ => return Err(Error::StateMismatch),
    }
    match params.iss.as_deref() {
        Some(iss) if iss == metadata.issuer => {}
        None if !metadata.authorization_response_iss_parameter_supported => {}
        _ => return Err(Error::IssuerMismatch),
    }
    if let Some(error) = params.error.as_deref() {
        return Err(Error::Provider(provider_error_code(error)));
    }
    params.code.ok_or(Error::MissingCode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow() -> Flow {
        Flow::new(
            "http://localhost:3000/api/auth/callback".into(),
            "/".into(),
            0,
        )
    }

    fn params(query: &str) -> CallbackParams {
        CallbackParams::parse(Some(query)).unwrap()
    }

    #[test]
    fn matching_state_yields_the_code() {
        let f = flow();
        let code = check(
            params(&format!("code=abc&state={}", f.state.secret())),
            &f,
            &ProviderMetadata::vercel(),
        )
        .unwrap();
        assert_eq!(code.secret(), "abc");
    }

    #[test]
    fn state_mismatch_or_missing_is_refused() {
        let f = flow();
        let m = ProviderMetadata::vercel();
        assert_eq!(
            check(params("code=abc&state=other"), &f, &m).unwrap_err(),
            Error::StateMismatch
        );
        assert_eq!(
            check(params("code=abc"), &f, &m).unwrap_err(),
            Error::StateMismatch
        );
    }

    #[test]
    fn provider_error_with_our_state_is_reported_sanitised() {
        let f = flow();
        let m = ProviderMetadata::vercel();
        let cancel = format!(
            "error=access_denied&error_description=The+user+canceled&state={}",
            f.state.secret()
        );
        assert_eq!(
            check(params(&cancel), &f, &m).unwrap_err(),
            Error::Provider("access_denied")
        );
        let odd = format!("error=%3Cb%3E&state={}", f.state.secret());
        assert_eq!(
            check(params(&odd), &f, &m).unwrap_err(),
            Error::Provider("provider_error")
        );
    }

    #[test]
    fn provider_error_without_our_state_is_not_believed() {
        let f = flow();
        let m = ProviderMetadata::vercel();
        assert_eq!(
            check(params("error=access_denied"), &f, &m).unwrap_err(),
            Error::StateMismatch
        );
        assert_eq!(
            check(params("error=access_denied&state=forged"), &f, &m).unwrap_err(),
            Error::StateMismatch
        );
    }

    #[test]
    fn iss_must_match_when_present_or_promised() {
        let f = flow();
        let mut m = ProviderMetadata::vercel();
        let ok = format!(
            "code=c&state={}&iss=https%3A%2F%2Fvercel.com",
            f.state.secret()
        );
        assert!(check(params(&ok), &f, &m).is_ok());
        let wrong = format!(
            "code=c&state={}&iss=https%3A%2F%2Fevil.com",
            f.state.secret()
        );
        assert_eq!(
            check(params(&wrong), &f, &m).unwrap_err(),
            Error::IssuerMismatch
        );
        m.authorization_response_iss_parameter_supported = true;
        let missing = format!("code=c&state={}", f.state.secret());
        assert_eq!(
            check(params(&missing), &f, &m).unwrap_err(),
            Error::IssuerMismatch
        );
    }

    #[test]
    fn debug_output_holds_no_code_or_state() {
        let printed = format!("{:?}", params("code=secret-code&state=secret-state"));
        assert!(!printed.contains("secret-"), "{printed}");
    }

    #[test]
    fn missing_code_is_refused() {
        let f = flow();
        let q = format!("state={}", f.state.secret());
        assert_eq!(
            check(params(&q), &f, &ProviderMetadata::vercel()).unwrap_err(),
            Error::MissingCode
        );
    }
}
