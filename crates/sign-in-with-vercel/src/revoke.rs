//! Token revocation (RFC 7009).

use crate::client_auth::authenticated_form;
use crate::config::{ClientAuthMethod, Config};
use crate::error::{Endpoint, Error};
use crate::provider::Provider;
use crate::secret::{AccessToken, RefreshToken};
use crate::transport::{HttpRequest, HttpResponse, Unbuildable};

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

/// The revocation request (RFC 7009 §2.1). A confidential client uses
/// HTTP Basic, which Vercel's revocation endpoint requires and RFC 8414 §2
/// makes the default, whatever it uses at the token endpoint; only a
/// provider whose metadata lists `client_secret_post` and not Basic gets
/// the secret in the body. A public client sends its `client_id`.
pub fn request(
    endpoint: &str,
    config: &Config,
    supported: Option<&[String]>,
    token: &str,
    kind: TokenKind,
) -> Result<HttpRequest, Unbuildable> {
    let params = vec![("token", token), ("token_type_hint", kind.hint())];
    let offers = |m: &str| supported.is_some_and(|list| list.iter().any(|s| s == m));
    let method = match config.client_secret {
        None => ClientAuthMethod::None,
        Some(_) if offers("client_secret_post") && !offers("client_secret_basic") => {
            ClientAuthMethod::ClientSecretPost
        }
        Some(_) => ClientAuthMethod::ClientSecretBasic,
    };
    authenticated_form(endpoint, config, method, params)
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

/// What revoking a session's tokens came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Revocation {
    /// The provider revoked them (or they were already invalid).
    Revoked,
    /// The provider could not be reached or answered an error: worth a retry.
    Failed,
    /// The provider has no revocation endpoint.
    Unsupported,
}

/// Revokes an access token and its refresh token at the provider (RFC
/// 7009), both at once. Revoking the access token revokes the refresh token
/// at Vercel; revoking the refresh token as well makes sure of it at
/// providers that do not (RFC 7009 §2.1 leaves it open). Failures are
/// logged under `route`.
pub(crate) async fn revoke(
    provider: &Provider,
    access: &AccessToken,
    refresh: Option<&RefreshToken>,
    route: &str,
) -> Revocation {
    let (config, metadata) = match (provider.config(), provider.metadata().await) {
        (Ok(config), Ok(metadata)) => (config, metadata),
        (Err(e), _) | (_, Err(e)) => {
            e.log(route);
            return Revocation::Failed;
        }
    };
    let Some(endpoint) = metadata.revocation_endpoint.as_deref() else {
        return Revocation::Unsupported;
    };
    let supported = metadata
        .revocation_endpoint_auth_methods_supported
        .as_deref();
    let one = async |token: Option<&str>, kind| match token {
        None => true,
        Some(token) => provider
            .send(
                Endpoint::Revocation,
                request(endpoint, config, supported, token, kind),
            )
            .await
            .and_then(|r| parse_response(&r))
            .inspect_err(|e| e.log(route))
            .is_ok(),
    };
    let (access, refresh) = tokio::join!(
        one(Some(access.secret()), TokenKind::AccessToken),
        one(refresh.map(RefreshToken::secret), TokenKind::RefreshToken),
    );
    if access && refresh {
        Revocation::Revoked
    } else {
        Revocation::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::AUTHORIZATION;

    fn config(secret: Option<&str>) -> Config {
        Config::from_lookup(|k| match k {
            "VERCEL_APP_CLIENT_ID" => Some("cl".into()),
            "VERCEL_APP_CLIENT_SECRET" => secret.map(str::to_owned),
            "AUTH_SECRET" => Some("0123456789abcdef0123456789abcdef".into()),
            _ => None,
        })
        .unwrap()
    }

    fn body(r: &HttpRequest) -> &str {
        std::str::from_utf8(r.body()).unwrap()
    }

    #[test]
    fn confidential_clients_revoke_with_basic_by_default() {
        let r = request(
            "https://as/revoke",
            &config(Some("s")),
            None,
            "t",
            TokenKind::AccessToken,
        )
        .unwrap();
        assert!(
            r.headers()[AUTHORIZATION]
                .to_str()
                .unwrap()
                .starts_with("Basic ")
        );
        assert_eq!(body(&r), "token=t&token_type_hint=access_token");
    }

    #[test]
    fn post_is_used_only_when_the_provider_offers_nothing_else() {
        let post = ["client_secret_post".to_owned()];
        let r = request(
            "https://as/revoke",
            &config(Some("s")),
            Some(&post),
            "t",
            TokenKind::RefreshToken,
        )
        .unwrap();
        assert!(r.headers().get(AUTHORIZATION).is_none());
        assert_eq!(
            body(&r),
            "token=t&token_type_hint=refresh_token&client_id=cl&client_secret=s"
        );
        let both = [
            "client_secret_post".to_owned(),
            "client_secret_basic".to_owned(),
        ];
        let r = request(
            "https://as/revoke",
            &config(Some("s")),
            Some(&both),
            "t",
            TokenKind::RefreshToken,
        )
        .unwrap();
        assert!(r.headers().get(AUTHORIZATION).is_some());
    }

    #[test]
    fn public_clients_send_their_client_id() {
        let r = request(
            "https://as/revoke",
            &config(None),
            None,
            "t",
            TokenKind::AccessToken,
        )
        .unwrap();
        assert!(r.headers().get(AUTHORIZATION).is_none());
        assert_eq!(
            body(&r),
            "token=t&token_type_hint=access_token&client_id=cl"
        );
    }
}
