//! Client authentication at the token, introspection and revocation
//! endpoints (RFC 6749 §2.3, OpenID Connect Core §9).

use crate::config::{ClientAuthMethod, Config};
use crate::transport::{HttpRequest, Unbuildable, basic_auth_header, post_form};

/// A form `POST` of `params` to the token, introspection or revocation
/// endpoint, with the client's authentication: `client_secret_post` puts
/// the secret in the body, `client_secret_basic` in an `Authorization:
/// Basic` header (RFC 6749 §2.3.1), and a public client sends only its
/// `client_id` (§2.1, §3.2.1).
pub(crate) fn authenticated_form<'a>(
    endpoint: &str,
    config: &'a Config,
    method: ClientAuthMethod,
    mut params: Vec<(&'a str, &'a str)>,
) -> Result<HttpRequest, Unbuildable> {
    let authorization = match (method, &config.client_secret) {
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
    };
    post_form(endpoint, &params, authorization)
}
