//! Token revocation (RFC 7009).

use crate::client_auth::{authenticated_form, preferred};
use crate::config::{ClientAuthMethod, Config};
use crate::error::{Endpoint, Error, oauth_error_code};
use crate::provider::Provider;
use crate::secret::{AccessToken, RefreshToken};
use crate::token::TokenResponse;
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
    let method = match config.client_secret {
        None => ClientAuthMethod::None,
        Some(_) => preferred(
            supported,
            ClientAuthMethod::ClientSecretBasic,
            ClientAuthMethod::ClientSecretPost,
        ),
    };
    authenticated_form(endpoint, config, method, params)
}

/// What the provider said of one token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRevoked {
    /// Revoked, or already invalid: 200 (RFC 7009 §2.2).
    Yes,
    /// The provider does not revoke tokens of this type:
    /// `unsupported_token_type` (RFC 7009 §2.2.1). Asking again will not
    /// change that; only refresh tokens must be revocable (§2.1).
    NotRevocable,
}

/// Checks a revocation response (RFC 7009 §2.2); any other error, or an
/// answer we cannot read, is a failure worth a retry. A 400
/// `invalid_token` is a token already invalid, which RFC 7009 §2.2
/// answers with a 200 and some providers with that error (Google, for a
/// token revoked or expired, as the second of a session's two tokens is
/// once the first revoked the grant): what revoking it was for.
pub fn parse_response(response: &HttpResponse) -> Result<TokenRevoked, Error> {
    let status = response.status();
    if status.is_success() {
        return Ok(TokenRevoked::Yes);
    }
    if status == http::StatusCode::BAD_REQUEST {
        match oauth_error_code(response.body()).as_deref() {
            Some("unsupported_token_type") => return Ok(TokenRevoked::NotRevocable),
            Some("invalid_token") => return Ok(TokenRevoked::Yes),
            _ => {}
        }
    }
    Err(Endpoint::Revocation.failed(status))
}

/// What revoking a session's tokens came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Revocation {
    /// The provider revoked the grant: the refresh token or, without one,
    /// the access token (or they were already invalid).
    Revoked,
    /// The provider could not be reached or answered an error: worth a retry.
    Failed,
    /// The provider has no revocation endpoint, or does not revoke the
    /// token that ends the grant (`unsupported_token_type`): nothing to
    /// retry.
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
    // A public client has no credentials to offer: a provider that refuses
    // revocation without them (RFC 7009 §2.1 requires authentication of
    // confidential clients only) will refuse every retry alike.
    let public = config.client_secret.is_none();
    let one = async |token: &str, kind| {
        provider
            .send(
                Endpoint::Revocation,
                request(endpoint, config, supported, token, kind),
            )
            .await
            .and_then(|r| match parse_response(&r) {
                Err(_) if public && refuses_the_client(&r) => {
                    public_client_refused(route, r.status());
                    Ok(TokenRevoked::NotRevocable)
                }
                parsed => parsed,
            })
            .inspect_err(|e| e.log(route))
            .ok()
    };
    // An empty access token (an answer that held only a refresh token,
    // see `token::refused_tokens`) has nothing to revoke.
    let access_revoked = async {
        match access.secret() {
            "" => Some(TokenRevoked::Yes),
            access => one(access, TokenKind::AccessToken).await,
        }
    };
    let (access, refresh) = tokio::join!(access_revoked, async {
        match refresh {
            Some(token) => Some(one(token.secret(), TokenKind::RefreshToken).await),
            None => None,
        }
    },);
    combine(access, refresh)
}

/// Says, once per instance, that the provider refuses revocation by this
/// public client (`status`): every sign-out meets the same refusal (Vercel
/// documents Basic authentication only at its revocation endpoint), which
/// is no outage to look at each time, but the operator is to know that the
/// grants of signed-out sessions live on at the provider until they expire.
fn public_client_refused(route: &str, status: http::StatusCode) {
    static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
        crate::log::warn(&format!(
            "{route}: the provider refuses revocation by a public client (HTTP {}): the \
             grants of signed-out sessions live at the provider until they expire \
             (said once per instance)",
            status.as_u16()
        ));
    }
}

/// Whether a revocation response refuses the client itself: a 401, or
/// `invalid_client` (RFC 6749 §5.2).
fn refuses_the_client(response: &HttpResponse) -> bool {
    response.status() == http::StatusCode::UNAUTHORIZED
        || oauth_error_code(response.body()).as_deref() == Some("invalid_client")
}

/// Best-effort revocation of tokens the token endpoint issued that the
/// relying party will not keep (an ID token refused at sign-in or
/// refresh, a session that cannot be stored): nobody would ever hold them,
/// so the grant they carry ends here (RFC 7009 §1). A failure is only
/// logged under `route`.
pub(crate) async fn unheld(provider: &Provider, tokens: &TokenResponse, route: &str) {
    let refresh = tokens.refresh_token.as_ref();
    revoke(provider, &tokens.access_token, refresh, route).await;
}

/// The token endpoint's answer read (RFC 6749 §5.1); when it is refused,
/// the tokens it holds all the same (issued, the code or the refresh token
/// spent for them) are revoked first: nobody will hold them.
pub(crate) async fn parsed_or_unheld(
    provider: &Provider,
    response: &HttpResponse,
    route: &str,
) -> Result<TokenResponse, Error> {
    let parsed = crate::token::parse_response(response);
    if parsed.is_err()
        && let Some(refused) = crate::token::refused_tokens(response)
    {
        unheld(provider, &refused, route).await;
    }
    parsed
}

/// The session's revocation from each token's: any failure is retried
/// (revoking again is harmless, RFC 7009 §2.2); otherwise the token that
/// ends the grant decides, the refresh token when there is one.
/// `None` is a failed revocation; `refresh` is `None` without a refresh
/// token.
fn combine(access: Option<TokenRevoked>, refresh: Option<Option<TokenRevoked>>) -> Revocation {
    match (access, refresh.unwrap_or(access)) {
        (Some(_), Some(TokenRevoked::Yes)) => Revocation::Revoked,
        (Some(_), Some(TokenRevoked::NotRevocable)) => Revocation::Unsupported,
        _ => Revocation::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::AUTHORIZATION;

    /// A provider that refuses revocation without client authentication
    /// (401 `invalid_client`): for a public client, which has none to
    /// offer, nothing a retry changes; for a confidential one, worth a
    /// retry (a secret being rotated).
    #[tokio::test]
    async fn a_public_client_refused_at_revocation_has_nothing_to_retry() {
        let invalid_client = r#"{"error":"invalid_client"}"#;
        for (secret, status, body, expected) in [
            (None, 401, invalid_client, Revocation::Unsupported),
            (None, 401, "", Revocation::Unsupported),
            (None, 400, invalid_client, Revocation::Unsupported),
            (None, 503, "", Revocation::Failed),
            (
                None,
                400,
                r#"{"error":"invalid_request"}"#,
                Revocation::Failed,
            ),
            (Some("s3cret"), 401, invalid_client, Revocation::Failed),
        ] {
            let vercel = crate::transport::tests::Fake::new(move |_| {
                Ok(crate::transport::tests::response(status, body))
            });
            let provider = Provider::loaded(Ok(config(secret))).with_http_client(vercel.clone());
            let refresh = RefreshToken::new("vcr_x".to_owned());
            let outcome = revoke(
                &provider,
                &AccessToken::new("vca_x"),
                Some(&refresh),
                "test",
            )
            .await;
            assert_eq!(outcome, expected, "{secret:?} {status} {body}");
            assert_eq!(vercel.calls("/login/oauth/token/revoke"), 2);
        }
    }

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
    fn unsupported_token_type_is_an_answer_not_a_failure() {
        use crate::transport::tests::response;
        assert_eq!(
            parse_response(&response(200, "")).unwrap(),
            TokenRevoked::Yes
        );
        assert_eq!(
            parse_response(&response(400, r#"{"error":"unsupported_token_type"}"#)).unwrap(),
            TokenRevoked::NotRevocable
        );
        // Already invalid, as Google says it (RFC 7009 §2.2 says 200).
        assert_eq!(
            parse_response(&response(
                400,
                r#"{"error":"invalid_token","error_description":"Token expired or revoked"}"#
            ))
            .unwrap(),
            TokenRevoked::Yes
        );
        for (status, body) in [
            (400, r#"{"error":"invalid_request"}"#),
            (400, "unsupported_token_type"),
            (400, "invalid_token"),
            (401, r#"{"error":"invalid_token"}"#),
            (401, r#"{"error":"unsupported_token_type"}"#),
            (503, ""),
        ] {
            assert!(
                parse_response(&response(status, body)).is_err(),
                "{status} {body}"
            );
        }
    }

    #[test]
    fn the_token_that_ends_the_grant_decides_and_any_failure_is_retried() {
        use TokenRevoked::{NotRevocable, Yes};
        let cases = [
            (Some(Yes), Some(Some(Yes)), Revocation::Revoked),
            (Some(NotRevocable), Some(Some(Yes)), Revocation::Revoked),
            (Some(Yes), Some(Some(NotRevocable)), Revocation::Unsupported),
            (Some(Yes), None, Revocation::Revoked),
            (Some(NotRevocable), None, Revocation::Unsupported),
            (None, Some(Some(Yes)), Revocation::Failed),
            (Some(Yes), Some(None), Revocation::Failed),
            (None, None, Revocation::Failed),
        ];
        for (access, refresh, expected) in cases {
            assert_eq!(combine(access, refresh), expected, "{access:?} {refresh:?}");
        }
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
