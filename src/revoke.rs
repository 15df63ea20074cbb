//! Token revocation (RFC 7009).

use crate::config::{ClientAuthMethod, Config};
use crate::error::{Endpoint, Error};
use crate::transport::{HttpRequest, HttpResponse, post_form};

/// Which kind of token is being revoked (RFC 7009 §2.1 `token_type_hint`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// An access token.
    AccessToken,
    /// A refresh token.
    RefreshToken,
}

impl TokenKind {
    /// The registered hint value.
    pub fn hint(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::RefreshToken => "refresh_token",
        }
    }
}

/// The revocation request (RFC 7009 §2.1). A confidential client always
/// authenticates with HTTP Basic, as Vercel's revocation endpoint requires,
/// whatever it uses at the token endpoint; a public client sends its
/// `client_id` in the body.
pub fn request(
    endpoint: &str,
    config: &Config,
    token: &str,
    kind: TokenKind,
) -> Option<HttpRequest> {
    let mut params = vec![("token", token), ("token_type_hint", kind.hint())];
    let method = if config.client_secret.is_some() {
        ClientAuthMethod::ClientSecretBasic
    } else {
        ClientAuthMethod::None
    };
    let authorization = crate::token::client_authentication(config, method, &mut params);
    post_form(endpoint, &params, authorization)
}

/// Checks a revocation response: 200 means revoked, or already invalid
/// (RFC 7009 §2.2).
pub fn parse_response(response: &HttpResponse) -> Result<(), Error> {
    if response.status().is_success() {
        Ok(())
    } else {
        Err(Endpoint::Revocation.failed(response.status()))
    }
}
