//! The provider's endpoints: built in for Vercel, otherwise from OpenID
//! Connect Discovery 1.0 (`/.well-known/openid-configuration`).

use http::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::config::{ClientAuthMethod, VERCEL_ISSUER};
use crate::error::{Endpoint, Error, excerpt};
use crate::origin::{check_secure_url, is_loopback};
use crate::transport::{HttpRequest, HttpResponse, Unbuildable, get_json};

/// The subset of provider metadata (RFC 8414 §2, OpenID Connect Discovery
/// §3) this relying party uses.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// The issuer identifier; must equal the configured one exactly.
    pub issuer: String,
    /// Where the browser is sent to sign in (RFC 6749 §3.1).
    pub authorization_endpoint: String,
    /// Where codes and refresh tokens are exchanged (RFC 6749 §3.2).
    pub token_endpoint: String,
    /// The provider's signing keys (RFC 7517).
    pub jwks_uri: String,
    /// OpenID Connect Core §5.3.
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// RFC 7009.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// How the token endpoint authenticates clients (RFC 8414 §2): where
    /// [`Config::token_auth`](crate::Config::token_auth) is not set, a
    /// client with a secret sends it by Basic when this names Basic and
    /// not `client_secret_post`, and posts it otherwise.
    ///
    /// A discovery document without the member (or with a value that is
    /// not a list of strings) reads as `["client_secret_basic"]`: RFC 8414
    /// §2's and OpenID Connect Discovery §3's default, and the one method
    /// RFC 6749 §2.3.1 says every authorization server must support.
    /// `None` only in [`ProviderMetadata::vercel`]: Vercel takes both, and
    /// its guide posts the secret.
    #[serde(
        default = "basic_by_default",
        deserialize_with = "auth_methods_or_basic"
    )]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// RFC 7662.
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    /// How the introspection endpoint authenticates clients (RFC 8414 §2);
    /// absent, the token endpoint's way. A value that is not a list of
    /// strings reads as absent.
    #[serde(default, deserialize_with = "string_list")]
    pub introspection_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// How the revocation endpoint authenticates clients (RFC 8414 §2;
    /// `client_secret_basic` when absent). A value that is not a list of
    /// strings reads as absent.
    #[serde(default, deserialize_with = "string_list")]
    pub revocation_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// RFC 9207 §3: when true, the callback must carry `iss`. `null` reads
    /// as absent (false); any other value but a boolean fails the
    /// discovery, since reading it as absent would drop the check.
    #[serde(default, deserialize_with = "bool_or_null")]
    pub authorization_response_iss_parameter_supported: bool,
    /// The algorithms the provider signs ID tokens with (Discovery §3):
    /// RS256 is accepted always, any other implemented one only when
    /// listed here. A value that is not a list of strings reads as absent.
    #[serde(default, deserialize_with = "string_list")]
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
    /// The scopes the provider lists (OpenID Connect Discovery §3), read
    /// for one: see [`ProviderMetadata::offers_offline_access`]. A value
    /// that is not a list of strings reads as absent.
    #[serde(default, deserialize_with = "string_list")]
    pub scopes_supported: Option<Vec<String>>,
}

impl ProviderMetadata {
    /// Vercel's documented endpoints, so that a cold start with the default
    /// issuer makes no discovery request.
    pub fn vercel() -> Self {
        Self {
            issuer: VERCEL_ISSUER.to_owned(),
            authorization_endpoint: "https://vercel.com/oauth/authorize".to_owned(),
            token_endpoint: "https://api.vercel.com/login/oauth/token".to_owned(),
            jwks_uri: "https://vercel.com/.well-known/jwks".to_owned(),
            userinfo_endpoint: Some("https://api.vercel.com/login/oauth/userinfo".to_owned()),
            revocation_endpoint: Some("https://api.vercel.com/login/oauth/token/revoke".to_owned()),
            introspection_endpoint: Some(
                "https://api.vercel.com/login/oauth/token/introspect".to_owned(),
            ),
            // Both methods, which is what no list means here (and no
            // allocation in the heap every request of the instance uses).
            token_endpoint_auth_methods_supported: None,
            introspection_endpoint_auth_methods_supported: None,
            revocation_endpoint_auth_methods_supported: Some(vec![
                "client_secret_basic".to_owned(),
            ]),
            authorization_response_iss_parameter_supported: false,
            // Vercel signs RS256 only, which is what no list means (and no
            // allocation in the heap every request of the instance uses).
            id_token_signing_alg_values_supported: None,
            // Vercel gives refresh tokens for `offline_access`, which is
            // what no list means.
            scopes_supported: None,
        }
    }

    /// Whether to ask for a refresh token with `offline_access` (OpenID
    /// Connect Core §11): unless the provider lists its scopes and leaves
    /// it out. A provider may support scopes it does not list (Discovery
    /// §3), but Google, GitLab and Amazon Cognito, which do not list it,
    /// refuse a request for it with `invalid_scope`, which no sign-in
    /// passes; one that supports it unlisted gives sessions that end with
    /// their access token.
    pub fn offers_offline_access(&self) -> bool {
        self.scopes_supported
            .as_ref()
            .is_none_or(|scopes| scopes.iter().any(|s| s == "offline_access"))
    }

    /// The discovery request for `issuer` (OpenID Connect Discovery §4.1:
    /// a trailing `/` of the issuer is removed before appending the path).
    pub fn request(issuer: &str) -> Result<HttpRequest, Unbuildable> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        get_json(&url, None)
    }

    /// Parses and checks a discovery response: the `issuer` in it must be
    /// exactly `expected_issuer` (Discovery §4.3), and every endpoint an
    /// `https` URL (`http` only on loopback, for an `http` issuer on
    /// loopback), kept as the URL it was checked as.
    pub fn from_response(expected_issuer: &str, response: &HttpResponse) -> Result<Self, Error> {
        discovered(expected_issuer, response)
    }
}

/// The metadata an [`Issuer`](crate::issuer::Issuer) keeps: enough to
/// verify the issuer's ID tokens.
pub(crate) trait IssuerMetadata: DeserializeOwned + Send + Sync {
    /// The issuer identifier, as the metadata states it.
    fn issuer(&self) -> &str;
    /// Where the issuer's signing keys are.
    fn jwks_uri(&self) -> &str;
    /// Every endpoint it names, by member name, for [`discovered`] to check
    /// and replace by the URL it checked.
    fn endpoints(&mut self) -> Vec<(&'static str, &mut String)>;
    /// Its `id_token_signing_alg_values_supported` (Discovery §3).
    fn signing_algorithms(&self) -> Option<&[String]>;
}

impl IssuerMetadata for ProviderMetadata {
    fn issuer(&self) -> &str {
        &self.issuer
    }

    fn jwks_uri(&self) -> &str {
        &self.jwks_uri
    }

    fn endpoints(&mut self) -> Vec<(&'static str, &mut String)> {
        let optional = [
            ("userinfo_endpoint", &mut self.userinfo_endpoint),
            ("revocation_endpoint", &mut self.revocation_endpoint),
            ("introspection_endpoint", &mut self.introspection_endpoint),
        ];
        let mut endpoints = vec![
            ("authorization_endpoint", &mut self.authorization_endpoint),
            ("token_endpoint", &mut self.token_endpoint),
            ("jwks_uri", &mut self.jwks_uri),
        ];
        endpoints.extend(
            optional
                .into_iter()
                .filter_map(|(name, value)| Some((name, value.as_mut()?))),
        );
        endpoints
    }

    fn signing_algorithms(&self) -> Option<&[String]> {
        self.id_token_signing_alg_values_supported.as_deref()
    }
}

/// The part of an issuer's metadata that verifying its ID tokens needs
/// (OpenID Connect Discovery §3: `issuer`, `jwks_uri`): for an issuer this
/// relying party only receives tokens from, such as the marketplace's.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct KeyMetadata {
    /// The issuer identifier; must equal the configured one exactly.
    pub issuer: String,
    /// The issuer's signing keys (RFC 7517).
    pub jwks_uri: String,
    /// The algorithms the issuer signs ID tokens with (Discovery §3).
    #[serde(default, deserialize_with = "string_list")]
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
}

impl IssuerMetadata for KeyMetadata {
    fn issuer(&self) -> &str {
        &self.issuer
    }

    fn jwks_uri(&self) -> &str {
        &self.jwks_uri
    }

    fn endpoints(&mut self) -> Vec<(&'static str, &mut String)> {
        vec![("jwks_uri", &mut self.jwks_uri)]
    }

    fn signing_algorithms(&self) -> Option<&[String]> {
        self.id_token_signing_alg_values_supported.as_deref()
    }
}

/// A member that should be a list of strings: `None` when it is anything
/// else, so that a provider's odd value for a member the relying party
/// only consults does not fail its whole discovery.
fn string_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    // Read by hand, not by `serde_json::from_value`: that would link a
    // second JSON deserializer into every function (6 KB).
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                serde_json::Value::String(alg) => Some(alg),
                _ => None,
            })
            .collect(),
        _ => None,
    })
}

/// A boolean member that may be `null`, which reads as `false` (absent).
fn bool_or_null<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(false))
}

/// RFC 8414 §2's `token_endpoint_auth_methods_supported` when a document
/// does not list it: `client_secret_basic`.
fn basic_by_default() -> Option<Vec<String>> {
    Some(vec![
        ClientAuthMethod::ClientSecretBasic.as_str().to_owned(),
    ])
}

/// A list of client authentication methods, or [`basic_by_default`] when
/// the value is not a list of strings.
fn auth_methods_or_basic<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    Ok(string_list(deserializer)?.or_else(basic_by_default))
}

/// How much of a mismatching `issuer` an error quotes: the document is the
/// provider's, and may be any size.
const QUOTED_ISSUER_CHARS: usize = 100;

/// Parses and checks a discovery response for `expected_issuer`: a
/// success, whose `issuer` is exactly the expected one (Discovery §4.3),
/// each of whose endpoints is an `https` URL. Plain `http` is accepted only
/// on a loopback host, and only when the issuer itself is `http` on
/// loopback (the emulator, local development): the client secret, the code
/// and the verifier are never sent in cleartext for an `https` issuer, even
/// to this machine. Each endpoint is kept as the URL it was checked as
/// (see [`checked_endpoint`]).
pub(crate) fn discovered<M: IssuerMetadata>(
    expected_issuer: &str,
    response: &HttpResponse,
) -> Result<M, Error> {
    let status = response.status();
    // Nothing at the well-known path: the configured issuer is not one (an
    // endpoint's URL, a path too many or too few), which only the operator
    // can mend; every other failure may pass.
    if matches!(status, StatusCode::NOT_FOUND | StatusCode::GONE) {
        return Err(Error::Discovery(format!(
            "no provider metadata at the issuer's /.well-known/openid-configuration (HTTP {}): \
             the configured issuer must be the provider's issuer URL exactly as its metadata \
             names it, not an endpoint",
            status.as_u16()
        )));
    }
    if !status.is_success() {
        return Err(Endpoint::Discovery.failed(status));
    }
    let mut metadata: M = serde_json::from_slice(response.body())
        .map_err(|_| Endpoint::Discovery.malformed("not provider metadata"))?;
    if metadata.issuer() != expected_issuer {
        return Err(Error::Discovery(format!(
            "the provider's metadata names issuer {}, not the configured {:?}",
            excerpt(metadata.issuer(), QUOTED_ISSUER_CHARS),
            expected_issuer
        )));
    }
    let plain_http = Url::parse(expected_issuer)
        .is_ok_and(|issuer| issuer.scheme() == "http" && is_loopback(&issuer));
    for (name, value) in metadata.endpoints() {
        *value = checked_endpoint(name, value, plain_http)?;
    }
    Ok(metadata)
}

/// An endpoint from metadata: a URL, `https` (`http` on loopback when
/// `plain_http`), with no fragment; returned as parsed (`Url::as_str`).
///
/// The parser forgives what the provider's string should not have (it
/// drops tabs and newlines, reads `\` as `/`, trims spaces): what is
/// checked here and what is then sent must be the same URL, so the
/// serialisation is kept, not the raw string. Endpoints are never compared
/// as strings (only the issuer is, and it is not rewritten), so nothing
/// matches against the raw form.
fn checked_endpoint(name: &str, value: &str, plain_http: bool) -> Result<String, Error> {
    let url = Url::parse(value).map_err(|_| Error::Discovery(format!("{name} is not a URL")))?;
    check_secure_url(&url).map_err(|p| Error::Discovery(format!("{name} {p}")))?;
    if url.scheme() == "http" && !plain_http {
        return Err(Error::Discovery(format!(
            "{name} must use https, as the issuer does (plain http is accepted only for an http issuer on a loopback host)"
        )));
    }
    if url.fragment().is_some() {
        return Err(Error::Discovery(format!("{name} has a fragment")));
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::tests::response;

    const DOC: &str = r#"{
        "issuer": "https://op.example.com",
        "authorization_endpoint": "https://op.example.com/authorize",
        "token_endpoint": "https://op.example.com/token",
        "jwks_uri": "https://op.example.com/jwks",
        "userinfo_endpoint": "https://op.example.com/userinfo",
        "authorization_response_iss_parameter_supported": true,
        "id_token_signing_alg_values_supported": ["RS256", "ES256"]
    }"#;

    #[test]
    fn discovery_url_strips_trailing_slash() {
        let req = ProviderMetadata::request("https://op.example.com/tenant/").unwrap();
        assert_eq!(
            req.uri().to_string(),
            "https://op.example.com/tenant/.well-known/openid-configuration"
        );
    }

    #[test]
    fn discovered_metadata_is_parsed() {
        let m =
            ProviderMetadata::from_response("https://op.example.com", &response(200, DOC)).unwrap();
        assert_eq!(m.token_endpoint, "https://op.example.com/token");
        assert!(m.authorization_response_iss_parameter_supported);
        assert_eq!(m.revocation_endpoint, None);
        assert_eq!(
            m.id_token_signing_alg_values_supported.as_deref(),
            Some(&["RS256".to_owned(), "ES256".to_owned()][..])
        );
    }

    /// RFC 9207's `authorization_response_iss_parameter_supported` as
    /// `null` reads as absent, not as a document that fails discovery; a
    /// value that is not a boolean still fails it (read as absent, it would
    /// drop the `iss` check a provider meant to promise).
    #[test]
    fn the_iss_parameter_promise_may_be_null_and_nothing_else() {
        let with = |value: &str| {
            DOC.replace(
                r#""authorization_response_iss_parameter_supported": true"#,
                &format!(r#""authorization_response_iss_parameter_supported": {value}"#),
            )
        };
        assert_ne!(with("null"), DOC, "the document names the member");
        let parsed = |value: &str| {
            ProviderMetadata::from_response("https://op.example.com", &response(200, &with(value)))
        };
        assert!(
            !parsed("null")
                .unwrap()
                .authorization_response_iss_parameter_supported
        );
        assert!(
            !parsed("false")
                .unwrap()
                .authorization_response_iss_parameter_supported
        );
        assert!(parsed(r#""true""#).is_err());
        assert!(parsed("1").is_err());
    }

    /// An issuer's ID tokens are verified with what its own metadata says
    /// (Discovery §3): the keys at its `jwks_uri`, by the algorithms it
    /// lists; for the sign-in issuer and for one known by its keys alone.
    #[test]
    fn an_issuer_is_verified_by_its_own_jwks_uri_and_algorithms() {
        let listed = Some(&["RS256".to_owned(), "ES256".to_owned()][..]);
        let m =
            ProviderMetadata::from_response("https://op.example.com", &response(200, DOC)).unwrap();
        assert_eq!(IssuerMetadata::jwks_uri(&m), "https://op.example.com/jwks");
        assert_eq!(m.signing_algorithms(), listed);
        let keys: KeyMetadata = discovered("https://op.example.com", &response(200, DOC)).unwrap();
        assert_eq!(
            IssuerMetadata::jwks_uri(&keys),
            "https://op.example.com/jwks"
        );
        assert_eq!(keys.signing_algorithms(), listed);
        let vercel = ProviderMetadata::vercel();
        assert_eq!(
            IssuerMetadata::jwks_uri(&vercel),
            "https://vercel.com/.well-known/jwks"
        );
        assert_eq!(vercel.signing_algorithms(), None, "RS256 only");
    }

    /// A value that is not a list of strings is read as absent (RS256
    /// only), not as a discovery failure.
    #[test]
    fn an_odd_signing_algorithm_list_reads_as_absent() {
        for odd in [r#""ES256""#, "[1, 2]", "null", "{}"] {
            let doc = DOC.replace(r#"["RS256", "ES256"]"#, odd);
            assert_ne!(doc, DOC);
            let m = ProviderMetadata::from_response("https://op.example.com", &response(200, &doc))
                .unwrap();
            assert_eq!(m.id_token_signing_alg_values_supported, None, "{odd}");
            let keys: KeyMetadata =
                discovered("https://op.example.com", &response(200, &doc)).unwrap();
            assert_eq!(keys.id_token_signing_alg_values_supported, None, "{odd}");
        }
    }

    /// The token endpoint's methods as listed; RFC 8414 §2's default,
    /// Basic, when the list is absent or not a list of strings. Only the
    /// built-in metadata of Vercel, which takes both, lists nothing.
    #[test]
    fn token_endpoint_methods_are_read_as_listed_or_basic() {
        let listed = DOC.replace(
            r#""jwks_uri""#,
            r#""token_endpoint_auth_methods_supported": ["client_secret_post"], "jwks_uri""#,
        );
        let m = ProviderMetadata::from_response("https://op.example.com", &response(200, &listed))
            .unwrap();
        let post = Some(vec!["client_secret_post".to_owned()]);
        assert_eq!(m.token_endpoint_auth_methods_supported, post);
        let basic = Some(vec!["client_secret_basic".to_owned()]);
        for odd in [
            "",
            r#""token_endpoint_auth_methods_supported": "client_secret_post", "#,
            r#""token_endpoint_auth_methods_supported": null, "#,
            r#""token_endpoint_auth_methods_supported": [1], "#,
        ] {
            let doc = DOC.replace(r#""jwks_uri""#, &format!(r#"{odd}"jwks_uri""#));
            let m = ProviderMetadata::from_response("https://op.example.com", &response(200, &doc))
                .unwrap();
            assert_eq!(m.token_endpoint_auth_methods_supported, basic, "{odd}");
        }
        assert_eq!(
            ProviderMetadata::vercel().token_endpoint_auth_methods_supported,
            None
        );
    }

    /// The revocation endpoint's methods as listed; absent (Basic, RFC
    /// 8414 §2) when the value is not a list of strings, rather than a
    /// failed discovery.
    #[test]
    fn revocation_endpoint_methods_are_read_as_listed() {
        let member = |value: &str| {
            let doc = DOC.replace(
                r#""jwks_uri""#,
                &format!(r#""revocation_endpoint_auth_methods_supported": {value}, "jwks_uri""#),
            );
            ProviderMetadata::from_response("https://op.example.com", &response(200, &doc))
                .unwrap()
                .revocation_endpoint_auth_methods_supported
        };
        assert_eq!(
            member(r#"["client_secret_post"]"#),
            Some(vec!["client_secret_post".to_owned()])
        );
        for odd in [r#""client_secret_post""#, "null", "{}"] {
            assert_eq!(member(odd), None, "{odd}");
        }
    }

    #[test]
    fn discovered_issuer_must_equal_configured_exactly() {
        for configured in [
            "https://op.example.com/",
            "https://OP.example.com",
            "https://evil.com",
        ] {
            let err = ProviderMetadata::from_response(configured, &response(200, DOC)).unwrap_err();
            assert_eq!(err.code(), "configuration", "{configured}");
        }
    }

    #[test]
    fn plain_http_endpoints_are_refused_off_loopback() {
        let doc = DOC.replace(
            "https://op.example.com/token",
            "http://op.example.com/token",
        );
        assert!(
            ProviderMetadata::from_response("https://op.example.com", &response(200, &doc))
                .is_err()
        );
    }

    #[test]
    fn key_metadata_is_checked_as_provider_metadata_is() {
        let keys: KeyMetadata = discovered("https://op.example.com", &response(200, DOC)).unwrap();
        assert_eq!(keys.jwks_uri, "https://op.example.com/jwks");
        let err = discovered::<KeyMetadata>("https://evil.com", &response(200, DOC)).unwrap_err();
        assert_eq!(err.code(), "configuration");
        let doc = DOC.replace("https://op.example.com/jwks", "http://op.example.com/jwks");
        assert!(discovered::<KeyMetadata>("https://op.example.com", &response(200, &doc)).is_err());
    }

    /// A hostile document on an https issuer must not send the client
    /// secret, the code and the verifier to a loopback service in
    /// cleartext.
    #[test]
    fn plain_http_loopback_endpoints_are_refused_for_an_https_issuer() {
        for endpoint in [
            "https://op.example.com/token",
            "https://op.example.com/jwks",
            "https://op.example.com/authorize",
            "https://op.example.com/userinfo",
        ] {
            for local in [
                "http://127.0.0.1:8080/x",
                "http://localhost/x",
                "http://[::1]/x",
            ] {
                let doc = DOC.replace(endpoint, local);
                let err =
                    ProviderMetadata::from_response("https://op.example.com", &response(200, &doc))
                        .unwrap_err();
                assert_eq!(err.code(), "configuration", "{endpoint} as {local}");
            }
        }
        let doc = DOC.replace("https://op.example.com/jwks", "http://127.0.0.1/jwks");
        assert!(discovered::<KeyMetadata>("https://op.example.com", &response(200, &doc)).is_err());
    }

    /// Only an `http` issuer lets its endpoints be plain `http`: an
    /// `https` issuer on loopback is kept to `https` endpoints too.
    #[test]
    fn plain_http_loopback_endpoints_are_refused_for_an_https_loopback_issuer() {
        let doc = DOC
            .replace("https://op.example.com", "https://127.0.0.1:3001")
            .replace(
                "https://127.0.0.1:3001/token",
                "http://127.0.0.1:3002/token",
            );
        let err = ProviderMetadata::from_response("https://127.0.0.1:3001", &response(200, &doc))
            .unwrap_err();
        assert_eq!(err.code(), "configuration");
        // The control: the same document with an https token endpoint.
        let doc = doc.replace(
            "http://127.0.0.1:3002/token",
            "https://127.0.0.1:3002/token",
        );
        assert!(
            ProviderMetadata::from_response("https://127.0.0.1:3001", &response(200, &doc)).is_ok()
        );
    }

    #[test]
    fn plain_http_loopback_endpoints_are_accepted_for_a_loopback_http_issuer() {
        let doc = DOC
            .replace("https://op.example.com", "http://127.0.0.1:3002")
            .replace(
                "\"issuer\": \"http://127.0.0.1:3002\"",
                "\"issuer\": \"http://127.0.0.1:3001\"",
            );
        let m =
            ProviderMetadata::from_response("http://127.0.0.1:3001", &response(200, &doc)).unwrap();
        assert_eq!(m.token_endpoint, "http://127.0.0.1:3002/token");
        // Off loopback, still refused.
        let doc = doc.replace("http://127.0.0.1:3002/token", "http://op.example.com/token");
        assert!(
            ProviderMetadata::from_response("http://127.0.0.1:3001", &response(200, &doc)).is_err()
        );
    }

    /// `Url::parse` drops tabs and newlines and reads `\` as `/`: the
    /// endpoint used is the one checked, not the provider's raw string.
    #[test]
    fn endpoints_are_kept_as_the_urls_they_were_checked_as() {
        let doc = DOC
            .replace(
                "https://op.example.com/token",
                r"https://op.example.com/to\tke\nn",
            )
            .replace(
                "https://op.example.com/authorize",
                r" https://op.example.com\\authorize",
            )
            .replace(
                "https://op.example.com/jwks",
                "HTTPS://OP.example.com:443/jwks",
            );
        let m = ProviderMetadata::from_response("https://op.example.com", &response(200, &doc))
            .unwrap();
        assert_eq!(m.token_endpoint, "https://op.example.com/token");
        assert_eq!(m.authorization_endpoint, "https://op.example.com/authorize");
        assert_eq!(m.jwks_uri, "https://op.example.com/jwks");
        let keys: KeyMetadata = discovered("https://op.example.com", &response(200, &doc)).unwrap();
        assert_eq!(keys.jwks_uri, "https://op.example.com/jwks");
    }

    #[test]
    fn a_long_mismatching_issuer_is_cut_in_the_error() {
        for long in ["a".repeat(200_000), "é".repeat(200_000)] {
            let doc = DOC.replace("https://op.example.com\",", &format!("https://{long}\","));
            let err =
                ProviderMetadata::from_response("https://op.example.com", &response(200, &doc))
                    .unwrap_err();
            let line = err.to_string();
            assert!(
                line.chars().count() < 300,
                "{} characters",
                line.chars().count()
            );
            assert!(line.contains("(cut,"), "{line}");
            assert!(line.contains("https://op.example.com"), "{line}");
        }
    }

    #[test]
    fn discovery_failures_are_upstream_errors() {
        let err = ProviderMetadata::from_response("https://op.example.com", &response(503, ""))
            .unwrap_err();
        assert_eq!(err.code(), "provider_unavailable");
        let err =
            ProviderMetadata::from_response("https://op.example.com", &response(200, "<html>"))
                .unwrap_err();
        assert_eq!(err.code(), "provider_unavailable");
        for status in [401, 403, 429, 500] {
            let err =
                ProviderMetadata::from_response("https://op.example.com", &response(status, ""))
                    .unwrap_err();
            assert_eq!(err.code(), "provider_unavailable", "{status}");
        }
    }

    /// Nothing at the well-known path (an endpoint's URL configured as the
    /// issuer, a path too many or too few) is the operator's to mend: a
    /// configuration error saying what the issuer must be, not "Vercel is
    /// unavailable" for as long as the setting stays wrong.
    #[test]
    fn no_metadata_at_the_issuer_is_a_configuration_error() {
        for status in [404, 410] {
            let err = ProviderMetadata::from_response(
                "https://op.example.com/oauth",
                &response(status, ""),
            )
            .unwrap_err();
            assert_eq!(err.code(), "configuration", "{status}");
            let said = err.to_string();
            assert!(
                said.contains(&format!("HTTP {status}")) && said.contains("not an endpoint"),
                "{said}"
            );
        }
    }
}
