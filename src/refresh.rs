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
            Err(e) => return Err(e),
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
