//! Client authentication at the token, introspection and revocation
//! endpoints (RFC 6749 §2.3, OpenID Connect Core §9).

use crate::config::{ClientAuthMethod, Config};
use crate::discovery::ProviderMetadata;
use crate::transport::{HttpRequest, Unbuildable, basic_auth_header, post_form};

/// How the client authenticates at `metadata`'s token and introspection
/// endpoints (RFC 6749 §2.3): the configured method
/// ([`Config::token_auth`]); without one, a public client sends its
/// `client_id` (`none`), and a confidential client uses
/// `client_secret_post`, as Vercel's guide does, unless the provider's
/// `token_endpoint_auth_methods_supported` (RFC 8414 §2) lists
/// `client_secret_basic` and not `client_secret_post`. A discovered
/// provider that does not list its methods gets Basic, RFC 8414's default
/// ([`ProviderMetadata::token_endpoint_auth_methods_supported`]).
pub(crate) fn token_endpoint_method(
    config: &Config,
    metadata: &ProviderMetadata,
) -> ClientAuthMethod {
    match (config.token_auth, &config.client_secret) {
        (Some(method), _) => method,
        (None, None) => ClientAuthMethod::None,
        (None, Some(_)) => preferred(
            metadata.token_endpoint_auth_methods_supported.as_deref(),
            ClientAuthMethod::ClientSecretPost,
            ClientAuthMethod::ClientSecretBasic,
        ),
    }
}

/// How the client authenticates at `metadata`'s introspection endpoint
/// (RFC 7662 §2.1): as at the token endpoint
/// ([`token_endpoint_method`]), unless the provider's
/// `introspection_endpoint_auth_methods_supported` (RFC 8414 §2) lists
/// the other way to send the secret and not that one.
pub(crate) fn introspection_method(
    config: &Config,
    metadata: &ProviderMetadata,
) -> ClientAuthMethod {
    use ClientAuthMethod::{ClientSecretBasic as Basic, ClientSecretPost as Post};
    let supported = metadata
        .introspection_endpoint_auth_methods_supported
        .as_deref();
    match token_endpoint_method(config, metadata) {
        Post => preferred(supported, Post, Basic),
        Basic => preferred(supported, Basic, Post),
        method => method,
    }
}

/// Of the two ways to send a client secret, `usual`, unless an endpoint's
/// list of supported methods (RFC 8414 §2) names `other` and not `usual`.
pub(crate) fn preferred(
    supported: Option<&[String]>,
    usual: ClientAuthMethod,
    other: ClientAuthMethod,
) -> ClientAuthMethod {
    let lists =
        |m: ClientAuthMethod| supported.is_some_and(|list| list.iter().any(|s| s == m.as_str()));
    if lists(other) && !lists(usual) {
        other
    } else {
        usual
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn load(vars: &[(&str, &str)]) -> Result<Config, crate::ConfigError> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    /// Metadata whose token endpoint lists `methods` (`None`: Vercel's
    /// built-in, which lists nothing).
    fn listing(methods: Option<&[&str]>) -> ProviderMetadata {
        ProviderMetadata {
            token_endpoint_auth_methods_supported: methods
                .map(|list| list.iter().map(|m| (*m).to_owned()).collect()),
            ..ProviderMetadata::vercel()
        }
    }

    /// The introspection endpoint gets the token endpoint's way, unless
    /// its own list (RFC 8414 §2) names only the other.
    #[test]
    fn introspection_follows_its_own_list_of_methods() {
        use ClientAuthMethod::{ClientSecretBasic as Basic, ClientSecretPost as Post};
        let c = load(&[
            ("VERCEL_APP_CLIENT_ID", "cl_abc"),
            ("VERCEL_APP_CLIENT_SECRET", SECRET),
        ])
        .unwrap();
        let with = |token: Option<&[&str]>, introspection: Option<&[&str]>| {
            let owned = |list: &[&str]| list.iter().map(|m| (*m).to_owned()).collect();
            let metadata = ProviderMetadata {
                introspection_endpoint_auth_methods_supported: introspection.map(owned),
                ..listing(token)
            };
            introspection_method(&c, &metadata)
        };
        assert_eq!(with(None, None), Post);
        assert_eq!(with(None, Some(&["client_secret_basic"])), Basic);
        assert_eq!(
            with(None, Some(&["client_secret_basic", "client_secret_post"])),
            Post
        );
        assert_eq!(with(Some(&["client_secret_basic"]), None), Basic);
        assert_eq!(
            with(
                Some(&["client_secret_basic"]),
                Some(&["client_secret_post"])
            ),
            Post
        );
        assert_eq!(with(None, Some(&["private_key_jwt"])), Post);
        let public = load(&[("VERCEL_APP_CLIENT_ID", "cl_abc"), ("AUTH_SECRET", SECRET)]).unwrap();
        let metadata = ProviderMetadata {
            introspection_endpoint_auth_methods_supported: Some(vec!["client_secret_basic".into()]),
            ..ProviderMetadata::vercel()
        };
        assert_eq!(
            introspection_method(&public, &metadata),
            ClientAuthMethod::None
        );
    }

    /// Without `VERCEL_APP_TOKEN_AUTH`, a client with a secret posts it, as
    /// Vercel's guide does, unless the provider lists Basic and not post.
    #[test]
    fn a_secret_is_posted_unless_the_provider_lists_only_basic() {
        use ClientAuthMethod::{ClientSecretBasic as Basic, ClientSecretPost as Post};
        let c = load(&[
            ("VERCEL_APP_CLIENT_ID", "cl_abc"),
            ("VERCEL_APP_CLIENT_SECRET", SECRET),
        ])
        .unwrap();
        for (methods, chosen) in [
            (None, Post),
            (
                Some(&["client_secret_basic", "client_secret_post"][..]),
                Post,
            ),
            (Some(&["client_secret_post"][..]), Post),
            (Some(&[][..]), Post),
            (Some(&["private_key_jwt"][..]), Post),
            (Some(&["client_secret_basic"][..]), Basic),
            (
                Some(&["private_key_jwt", "client_secret_basic", "none"][..]),
                Basic,
            ),
        ] {
            assert_eq!(
                token_endpoint_method(&c, &listing(methods)),
                chosen,
                "{methods:?}"
            );
        }
    }

    /// A discovered provider that lists no methods for its token endpoint
    /// gets the secret by Basic (RFC 8414 §2's default); Vercel's built-in
    /// metadata, which lists none either, gets it posted.
    #[test]
    fn a_provider_that_lists_nothing_gets_basic_vercel_gets_post() {
        let c = load(&[
            ("VERCEL_APP_CLIENT_ID", "cl_abc"),
            ("VERCEL_APP_CLIENT_SECRET", SECRET),
        ])
        .unwrap();
        let doc = r#"{"issuer": "https://op.example.com",
            "authorization_endpoint": "https://op.example.com/authorize",
            "token_endpoint": "https://op.example.com/token",
            "jwks_uri": "https://op.example.com/jwks"}"#;
        let discovered = ProviderMetadata::from_response(
            "https://op.example.com",
            &crate::transport::tests::response(200, doc),
        )
        .unwrap();
        assert_eq!(
            token_endpoint_method(&c, &discovered),
            ClientAuthMethod::ClientSecretBasic
        );
        assert_eq!(
            token_endpoint_method(&c, &ProviderMetadata::vercel()),
            ClientAuthMethod::ClientSecretPost
        );
    }

    /// A configured method is used whatever the provider lists; a public
    /// client sends no secret.
    #[test]
    fn a_configured_method_is_not_second_guessed() {
        let only_basic = listing(Some(&["client_secret_basic"]));
        let only_post = listing(Some(&["client_secret_post"]));
        for (method, metadata) in [
            ("client_secret_post", &only_basic),
            ("client_secret_basic", &only_post),
        ] {
            let c = load(&[
                ("VERCEL_APP_CLIENT_ID", "cl_abc"),
                ("VERCEL_APP_CLIENT_SECRET", SECRET),
                ("VERCEL_APP_TOKEN_AUTH", method),
            ])
            .unwrap();
            assert_eq!(token_endpoint_method(&c, metadata).as_str(), method);
        }
        let public = load(&[("VERCEL_APP_CLIENT_ID", "cl_abc"), ("AUTH_SECRET", SECRET)]).unwrap();
        for metadata in [&only_basic, &only_post] {
            assert_eq!(
                token_endpoint_method(&public, metadata),
                ClientAuthMethod::None
            );
        }
    }
}
