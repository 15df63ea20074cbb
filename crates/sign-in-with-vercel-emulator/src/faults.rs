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
}
