//! Client authentication at the token, introspection and revocation
//! endpoints (RFC 6749 §2.3, OpenID Connect Core §9).

use http::HeaderValue;

use crate::config::{ClientAuthMethod, Config};
use crate::transport::basic_auth_header;

/// Adds client authentication to a token, introspection or revocation
/// request: `client_secret_post` puts the secret in the body,
/// `client_secret_basic` in an `Authorization: Basic` header (RFC 6749
/// §2.3.1), and a public client sends only its `client_id` (§2.1, §3.2.1).
/// Returns the `Authorization` header to send, if any.
pub(crate) fn client_authentication<'a>(
    config: &'a Config,
    method: ClientAuthMethod,
    params: &mut Vec<(&'a str, &'a str)>,
) -> Option<HeaderValue> {
    match (method, &config.client_secret) {
        (ClientAuthMethod::ClientSecretBasic, Some(secret)) => {
            basic_auth_header(&config.client_id, secret)
        }
        (ClientAuthMethod::ClientSecretPost, Some(secret)) => {
            params.push(("client_id", &config.client_id));
            params.push(("client_secret", secret.secret()));
            None
        }
        _ => {
            params.push(("client_id", &config.client_id));
            None
        }
    }
}
