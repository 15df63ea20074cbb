//! Deliberate misbehaviour, for a relying party's rejection tests.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::Signing;

/// A claims edit applied to every ID token issued while set.
pub type ClaimsEdit = Arc<dyn Fn(&mut Map<String, Value>) + Send + Sync>;

/// Deliberate misbehaviour, for the relying party's rejection tests. Set
/// through [`crate::Emulator::set_faults`], [`crate::Emulator::update_faults`]
/// or [`crate::Emulator::faults`]; never reachable over HTTP. The ID-token
/// faults apply to the sign-in's ID tokens and to the marketplace's SSO
/// tokens alike.
#[derive(Clone, Default)]
pub struct Faults {
    /// How ID tokens are signed.
    pub signing: Signing,
    /// Edits the claims of ID tokens before signing.
    pub id_token_claims: Option<ClaimsEdit>,
    /// Makes userinfo answer with this `sub`.
    pub userinfo_sub: Option<String>,
    /// Makes introspection answer with this `sub` for an active token.
    pub introspection_sub: Option<String>,
    /// Makes the token endpoint answer with this status and JSON body.
    pub token_response: Option<(u16, String)>,
    /// Makes the token endpoint of the served origins wait this long
    /// before it handles a request (a slow provider); [`crate::Emulator::handle`]
    /// answers at once.
    pub token_delay: Option<std::time::Duration>,
    /// Makes revocation answer with this status.
    pub revocation_status: Option<u16>,
    /// Makes revocation refuse access tokens with `unsupported_token_type`
    /// (RFC 7009 §2.2.1), as a provider that only revokes refresh tokens
    /// does; they stay valid until they expire.
    pub access_tokens_not_revocable: bool,
    /// Makes revocation refuse refresh tokens with `unsupported_token_type`.
    /// With [`Faults::access_tokens_not_revocable`], the provider revokes
    /// nothing: a sign-out can end the session but not the grant.
    pub refresh_tokens_not_revocable: bool,
    /// Makes the endpoints counted in [`crate::Stats`] (discovery, JWK
    /// Set, authorization, token, revocation, introspection, userinfo)
    /// answer with this status and an RFC 6749 §5.2 `server_error` body.
    pub all_status: Option<u16>,
    /// Signs marketplace (SSO) ID tokens with the sign-in issuer's key
    /// instead of the marketplace's: a verifier that takes the wrong key
    /// set accepts them.
    pub marketplace_signed_by_sign_in_key: bool,
    /// Makes Vercel's REST API (the user and user-token endpoints, not the
    /// SSO exchange) answer with this status in its own error shape
    /// (`{"error": {"code", "message"}}`), whatever the token.
    pub rest_status: Option<u16>,
}

/// Every fault, but of the claims edit only whether one is set (a function
/// cannot be shown), and of the token endpoint's answer only its status
/// and length: a test may make it answer tokens.
impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Every field named, none with `..`: a field added later fails to
        // build here until it is shown or hidden on purpose.
        let Self {
            signing,
            id_token_claims,
            userinfo_sub,
            introspection_sub,
            token_response,
            token_delay,
            revocation_status,
            access_tokens_not_revocable,
            refresh_tokens_not_revocable,
            all_status,
            marketplace_signed_by_sign_in_key,
            rest_status,
        } = self;
        f.debug_struct("Faults")
            .field("signing", signing)
            .field(
                "id_token_claims",
                &id_token_claims.as_ref().map(|_| "<edit>"),
            )
            .field("userinfo_sub", userinfo_sub)
            .field("introspection_sub", introspection_sub)
            .field(
                "token_response",
                &token_response
                    .as_ref()
                    .map(|(status, body)| (status, format!("<{} bytes>", body.len()))),
            )
            .field("token_delay", token_delay)
            .field("revocation_status", revocation_status)
            .field("access_tokens_not_revocable", access_tokens_not_revocable)
            .field("refresh_tokens_not_revocable", refresh_tokens_not_revocable)
            .field("all_status", all_status)
            .field(
                "marketplace_signed_by_sign_in_key",
                marketplace_signed_by_sign_in_key,
            )
            .field("rest_status", rest_status)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Debug` shows no body the token endpoint is made to answer (it may
    /// hold tokens), and that a claims edit is set, not what it is.
    #[test]
    fn debug_shows_no_token_response_body() {
        let faults = Faults {
            token_response: Some((200, r#"{"access_token":"at_secret"}"#.to_owned())),
            id_token_claims: Some(Arc::new(|_| {})),
            ..Faults::default()
        };
        let shown = format!("{faults:?}");
        assert!(!shown.contains("at_secret"), "{shown}");
        assert!(
            shown.contains("token_response: Some((200, \"<28 bytes>\"))"),
            "{shown}"
        );
        assert!(
            shown.contains("id_token_claims: Some(\"<edit>\")"),
            "{shown}"
        );
    }
}
