//! The refresh token grant (RFC 6749 §6), and the check of the ID token
//! that comes with its answer (OpenID Connect Core §12.2).
//!
//! Once the token endpoint has answered with tokens, the old refresh token
//! is spent (Vercel rotates it), so the new tokens are returned even when
//! the ID token's signature cannot be checked for a transport reason (the
//! key set did not load). Its claims are checked all the same, unsigned,
//! as OpenID Connect Core §3.1.3.7 step 6 allows for an ID token received
//! directly from the token endpoint; claims are returned only from an ID
//! token that verified.

use crate::client_auth::{authenticated_form, token_endpoint_method};
use crate::config::{ClientAuthMethod, Config};
use crate::error::{Endpoint, Error};
use crate::id_token::IdTokenClaims;
use crate::provider::Provider;
use crate::revoke;
use crate::secret::{IdToken, RefreshToken};
use crate::token;
use crate::transport::{HttpRequest, Unbuildable};

/// The refresh token grant request (RFC 6749 §6), with the client's
/// authentication `method` (§2.3).
pub fn request(
    token_endpoint: &str,
    config: &Config,
    method: ClientAuthMethod,
    refresh_token: &RefreshToken,
) -> Result<HttpRequest, Unbuildable> {
    let params = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.secret()),
    ];
    authenticated_form(token_endpoint, config, method, params)
}

/// What a refresh brought: the provider's new tokens, and the claims of
/// the ID token that came with them when it verified.
pub(crate) struct Renewed {
    /// The token endpoint's answer (its ID token already checked).
    pub tokens: token::TokenResponse,
    /// The verified claims; `None` when there was no ID token, or when its
    /// signature could not be checked for a transport reason (the key set
    /// did not load) and its claims, checked unsigned, passed: then the
    /// caller keeps the claims it had.
    pub claims: Option<IdTokenClaims>,
}

/// Exchanges `refresh_token` of user `sub` (RFC 6749 §6). A refreshed ID
/// token must be about the same user (OpenID Connect Core §12.2); one that
/// is definitely wrong (another user, a bad signature, or, when the keys
/// did not load, a claim that fails its check) fails the refresh, and the
/// tokens it came with are revoked, since nobody will hold them.
pub(crate) async fn grant(
    provider: &Provider,
    refresh_token: &RefreshToken,
    sub: &str,
) -> Result<Renewed, Error> {
    let config = provider.config()?;
    let metadata = provider.metadata().await?;
    let response = provider
        .send(
            Endpoint::Token,
            request(
                &metadata.token_endpoint,
                config,
                token_endpoint_method(config, metadata),
                refresh_token,
            ),
        )
        .await?;
    let tokens = token::parse_response(&response)?;
    let claims = match &tokens.id_token {
        None => None,
        Some(id_token) => match checked(provider, id_token, &tokens, sub).await {
            Ok(claims) => claims,
            Err(e) => {
                revoke::unheld(provider, &tokens, "refresh").await;
                return Err(e);
            }
        },
    };
    Ok(Renewed { tokens, claims })
}

/// The refreshed ID token's claims when it verified; `None` when its key
/// set could not be fetched and its claims, checked unsigned, pass.
async fn checked(
    provider: &Provider,
    id_token: &IdToken,
    tokens: &token::TokenResponse,
    sub: &str,
) -> Result<Option<IdTokenClaims>, Error> {
    match provider
        .verify_id_token(id_token, &tokens.access_token, None, Some(sub))
        .await
    {
        Ok(claims) => Ok(Some(claims)),
        // The key set could not be fetched: the provider has rotated the
        // tokens all the same, so they must be kept, if the ID token that
        // came with them, straight from the token endpoint (§3.1.3.7 step
        // 6), is about this user, for this client, and current.
        Err(e @ Error::Upstream(..)) => {
            provider
                .check_refreshed_id_token_unsigned(id_token, &tokens.access_token, sub)
                .await?;
            e.log("refresh");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
