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

/// Checks the callback against the flow this browser started and returns
/// the flow with the code to exchange.
///
/// An error response (RFC 6749 §4.1.2.1) ends the flow with the provider's
/// (sanitised) code, so a user who cancels, even after the flow cookie
/// expired, is told so: [`Error::Provider`] when it answers this browser's
/// attempt, [`Error::ProviderUnmatched`] when it names none (no flow, or no
/// `state`). It is still refused as a forgery when its `iss` is
/// not the issuer, or is missing while the metadata promises it (RFC 9207
/// §2.4), or when its `state` is not the flow's. An error response never
/// yields a code, so believing one costs at most the wording of the error
/// page.
///
/// Otherwise the flow must exist, `state` must equal the flow's, compared in
/// constant time (RFC 6749 §10.12), `iss` must be the issuer exactly when
/// present or promised by the metadata (RFC 9207 §2.4), and a `code` must
/// be present.
pub fn check(
    params: CallbackParams,
    flow: Result<Flow, Error>,
    metadata: &ProviderMetadata,
) -> Result<(Flow, AuthorizationCode), Error> {
    if let Some(error) = params.error.as_deref() {
        check_iss(params.iss.as_deref(), metadata)?;
        // A `state` that names no attempt of this browser, while it has
        // attempts, is not this browser's answer.
        let code = provider_error_code(error);
        return Err(match (&flow, &params.state) {
            (Ok(flow), Some(state)) if !flow.state.ct_eq(state.secret()) => Error::StateMismatch,
            (Err(Error::StateMismatch), Some(_)) => Error::StateMismatch,
            (Ok(_), Some(_)) => Error::Provider(code),
            _ => Error::ProviderUnmatched(code),
        });
    }
    let flow = flow?;
    match &params.state {
        Some(state) if flow.state.ct_eq(state.secret()) => {}
        _ => return Err(Error::StateMismatch),
    }
    check_iss(params.iss.as_deref(), metadata)?;
    let code = params.code.ok_or(Error::MissingCode)?;
    Ok((flow, code))
}

/// RFC 9207 §2.4: an authorization response, an error response included
/// (§2), names the issuer exactly when it names one, and must name it when
/// the metadata promises it.
fn check_iss(iss: Option<&str>, metadata: &ProviderMetadata) -> Result<(), Error> {
    match iss {
        Some(iss) if iss == metadata.issuer => Ok(()),
        None if !metadata.authorization_response_iss_parameter_supported => Ok(()),
        _ => Err(Error::IssuerMismatch),
    }
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

    /// `check` with the flow `f` present.
    fn check_with(query: &str, f: &Flow, m: &ProviderMetadata) -> Result<AuthorizationCode, Error> {
        let copy = Flow {
            state: State::new(f.state.secret()),
            nonce: crate::secret::Nonce::new(f.nonce.secret()),
            verifier: crate::secret::CodeVerifier::new(f.verifier.secret()),
            redirect_uri: f.redirect_uri.clone(),
            return_to: f.return_to.clone(),
            created_at: f.created_at,
        };
        check(params(query), Ok(copy), m).map(|(_, code)| code)
    }

    #[test]
    fn matching_state_yields_the_code() {
        let f = flow();
        let q = format!("code=abc&state={}", f.state.secret());
        let code = check_with(&q, &f, &ProviderMetadata::vercel()).unwrap();
        assert_eq!(code.secret(), "abc");
    }

    #[test]
    fn state_mismatch_or_missing_is_refused() {
        let f = flow();
        let m = ProviderMetadata::vercel();
        for q in ["code=abc&state=other", "code=abc"] {
            assert_eq!(check_with(q, &f, &m).unwrap_err(), Error::StateMismatch);
        }
    }

    #[test]
    fn a_code_without_a_flow_is_refused_with_the_flows_error() {
        let m = ProviderMetadata::vercel();
        assert_eq!(
            check(params("code=abc&state=s"), Err(Error::FlowMissing), &m).unwrap_err(),
            Error::FlowMissing
        );
    }

    #[test]
    fn provider_error_is_reported_sanitised() {
        let f = flow();
        let m = ProviderMetadata::vercel();
        let cancel = format!(
            "error=access_denied&error_description=The+user+canceled&state={}",
            f.state.secret()
        );
        assert_eq!(
            check_with(&cancel, &f, &m).unwrap_err(),
            Error::Provider("access_denied")
        );
        let odd = format!("error=%3Cb%3E&state={}", f.state.secret());
        assert_eq!(
            check_with(&odd, &f, &m).unwrap_err(),
            Error::Provider("provider_error")
        );
    }

    /// An error response no attempt of this browser matches is still
    /// shown (the user's late cancel), as one anyone could have sent.
    #[test]
    fn provider_error_after_the_flow_expired_is_still_the_users_cancel() {
        let m = ProviderMetadata::vercel();
        assert_eq!(
            check(
                params("error=access_denied&state=s"),
                Err(Error::FlowMissing),
                &m
            )
            .unwrap_err(),
            Error::ProviderUnmatched("access_denied")
        );
        assert_eq!(
            check(params("error=access_denied"), Err(Error::FlowMissing), &m).unwrap_err(),
            Error::ProviderUnmatched("access_denied")
        );
        // No `state` while this browser has attempts: `Flows::take` says
        // `StateMismatch`, and the error response names none of them.
        assert_eq!(
            check(params("error=server_error"), Err(Error::StateMismatch), &m).unwrap_err(),
            Error::ProviderUnmatched("server_error")
        );
        assert_eq!(
            check_with("error=server_error", &flow(), &m).unwrap_err(),
            Error::ProviderUnmatched("server_error"),
            "no state: not this attempt's answer"
        );
        let shown = |e: Error| (e.code(), e.status());
        assert_eq!(
            shown(Error::ProviderUnmatched("access_denied")),
            shown(Error::Provider("access_denied"))
        );
    }

    #[test]
    fn provider_error_naming_another_flow_or_issuer_is_not_believed() {
        let f = flow();
        let m = ProviderMetadata::vercel();
        assert_eq!(
            check_with("error=access_denied&state=forged", &f, &m).unwrap_err(),
            Error::StateMismatch
        );
        let other_issuer = format!(
            "error=access_denied&state={}&iss=https%3A%2F%2Fevil.com",
            f.state.secret()
        );
        assert_eq!(
            check_with(&other_issuer, &f, &m).unwrap_err(),
            Error::IssuerMismatch
        );
        // A provider that promises `iss` sends it with its errors too.
        let mut promised = ProviderMetadata::vercel();
        promised.authorization_response_iss_parameter_supported = true;
        let without_iss = format!("error=access_denied&state={}", f.state.secret());
        assert_eq!(
            check_with(&without_iss, &f, &promised).unwrap_err(),
            Error::IssuerMismatch
        );
        assert_eq!(
            check_with(&without_iss, &f, &m).unwrap_err(),
            Error::Provider("access_denied")
        );
        let with_iss = format!("{without_iss}&iss=https%3A%2F%2Fvercel.com");
        assert_eq!(
            check_with(&with_iss, &f, &promised).unwrap_err(),
            Error::Provider("access_denied")
        );
    }

    /// An error response whose `state` names none of the attempts this
    /// browser has open is not believed (RFC 6749 §10.12): it is refused as
    /// a forgery, not shown as the user's cancel.
    #[test]
    fn provider_error_whose_state_names_none_of_this_browsers_attempts_is_a_mismatch() {
        let m = ProviderMetadata::vercel();
        assert_eq!(
            check(
                params("error=access_denied&state=forged"),
                Err(Error::StateMismatch),
                &m
            )
            .unwrap_err(),
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
        assert!(check_with(&ok, &f, &m).is_ok());
        let wrong = format!(
            "code=c&state={}&iss=https%3A%2F%2Fevil.com",
            f.state.secret()
        );
        assert_eq!(
            check_with(&wrong, &f, &m).unwrap_err(),
            Error::IssuerMismatch
        );
        m.authorization_response_iss_parameter_supported = true;
        let missing = format!("code=c&state={}", f.state.secret());
        assert_eq!(
            check_with(&missing, &f, &m).unwrap_err(),
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
            check_with(&q, &f, &ProviderMetadata::vercel()).unwrap_err(),
            Error::MissingCode
        );
    }
}
