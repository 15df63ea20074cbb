//! The refresh token grant (RFC 6749 §6) and what its answer means for the
//! session (OpenID Connect Core §12).
//!
//! Once the token endpoint has answered with tokens, the old refresh token
//! is spent (Vercel rotates it), so the new tokens always go into the new
//! session, even when the ID token that came with them cannot be checked
//! for a transport reason (the key set did not load). Identity claims are
//! updated only from an ID token that verified; one that is definitely
//! wrong (another user, a bad signature) ends the session instead.

use crate::auth::Auth;
use crate::client_auth::client_authentication;
use crate::config::Config;
use crate::error::{Endpoint, Error};
use crate::revoke::{self, TokenKind};
use crate::secret::RefreshToken;
use crate::session::cookie::{Profile, SessionData};
use crate::token;
use crate::transport::{HttpRequest, Unbuildable, post_form};

/// The refresh token grant request (RFC 6749 §6), with the client's
/// authentication.
pub fn request(
    token_endpoint: &str,
    config: &Config,
    refresh_token: &RefreshToken,
) -> Result<HttpRequest, Unbuildable> {
    let mut params = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.secret()),
    ];
    let authorization = client_authentication(config, config.token_auth, &mut params);
    post_form(token_endpoint, &params, authorization)
}

/// Exchanges the session's refresh token and returns the session that
/// replaces it: new tokens, one more rotation, the same user and start.
pub(crate) async fn grant(auth: &Auth, old: &SessionData) -> Result<SessionData, Error> {
    let config = auth.config()?;
    let metadata = auth.metadata().await?;
    let refresh_token = RefreshToken::new(old.refresh_token.clone().unwrap_or_default());
    let response = auth
        .send(
            Endpoint::Token,
            request(&metadata.token_endpoint, config, &refresh_token),
        )
        .await?;
    let tokens = token::parse_response(&response)?;
    let now = auth.now();
    let profile = match &tokens.id_token {
        None => old.profile.clone(),
        Some(id_token) => match auth
            .verify_id_token(id_token, &tokens.access_token, None, Some(&old.sub))
            .await
        {
            Ok(claims) => Profile::from(claims),
            // The key set could not be fetched: keep the tokens the
            // provider has just rotated, and the claims we had.
            Err(e @ Error::Upstream(..)) => {
                e.log("refresh");
                old.profile.clone()
            }
            // Definitely wrong (another user, a bad signature): the new
            // tokens are not this session's. Nobody will hold them, so
            // they are revoked, as far as the provider lets us.
            Err(e) => {
                revoke_unheld(auth, &tokens).await;
                return Err(e);
            }
        },
    };
    let refresh_token = tokens
        .refresh_token
        .map(|t| t.secret().to_owned())
        // RFC 6749 §6: without a new one, the old refresh token stays valid.
        .or_else(|| old.refresh_token.clone());
    Ok(SessionData::issued(
        old.sub.clone(),
        &tokens.access_token,
        tokens.expires_in,
        refresh_token,
        profile,
        (old.started_at, old.rotation.saturating_add(1)),
        now,
    ))
}

/// Best-effort revocation (RFC 7009) of tokens the relying party will not
/// keep; a failure is only logged.
async fn revoke_unheld(auth: &Auth, tokens: &token::TokenResponse) {
    let (Ok(config), Ok(metadata)) = (auth.config(), auth.metadata().await) else {
        return;
    };
    let Some(endpoint) = metadata.revocation_endpoint.as_deref() else {
        return;
    };
    let supported = metadata
        .revocation_endpoint_auth_methods_supported
        .as_deref();
    let mut unheld = vec![(tokens.access_token.secret(), TokenKind::AccessToken)];
    if let Some(refresh) = &tokens.refresh_token {
        unheld.push((refresh.secret(), TokenKind::RefreshToken));
    }
    for (token, kind) in unheld {
        let request = revoke::request(endpoint, config, supported, token, kind);
        if let Err(e) = auth
            .send(Endpoint::Revocation, request)
            .await
            .and_then(|r| revoke::parse_response(&r))
        {
            e.log("refresh");
        }
    }
}
