//! The marketplace integrations' SSO token exchange (Vercel's REST API
//! reference, `POST /v1/integrations/sso/token`): "Open in Provider".
//!
//! Vercel sends the user to the integration's `redirectLoginUrl` with an
//! authorization `code` (and the `state` of a provider-initiated flow). The
//! integration exchanges the code, with its own client ID and secret, for
//! an OIDC ID token issued by the marketplace (`https://marketplace.vercel.com`,
//! not the sign-in's `https://vercel.com`: Vercel's Marketplace Partner
//! API, user authentication), verifies it as the sign-in verifies its own
//! (RS256 against the marketplace's JWKS, `iss`, `aud` = the integration's
//! ID, `exp`/`iat`/`nbf`, `nonce` when one was sent: OpenID Connect Core
//! §3.1.3.7), types its claims ([`MarketplaceClaims`]: account,
//! installation, user, role), and signs the user in from them. Check the
//! role before anything an administrator alone may do.
//!
//! An exchange needs only what it uses: a [`Marketplace`] holds the
//! integration's credentials, the issuer of its tokens (metadata and keys,
//! cached per instance; the marketplace's key set URL is built in, so a
//! cold start makes no discovery request), the REST API's origin, the HTTP
//! client and the clock. It is independent of the sign-in's configuration.
//!
//! Vercel: "Providers should not persist the returned `id_token` in a
//! database since the token will expire." So [`Marketplace::exchange`] never returns the
//! ID token, and the access token only as a redacted [`AccessToken`](crate::AccessToken) in a
//! value that is not `Serialize`: what can be stored is the claims, which
//! the app copies field by field into what it keeps.
//!
//! **What the exchange does not check: which browser brought the code.**
//! A login Vercel starts carries no `state` or `nonce` of the integration's
//! own, so nothing ties its code to the browser that opens the redirect
//! login URL: whoever gets someone else's browser to open a URL with their
//! own code signs that browser in as themselves (login CSRF, RFC 6749
//! §10.12). That is how Vercel's "Open in Provider" works; where it
//! matters, show who is signed in before acting for them. A login the
//! integration starts can be bound by its `state`: keep a random one in a
//! cookie of the browser and compare the callback's with it in constant
//! time ([`SsoCallback::state`], [`State::ct_eq`](crate::State::ct_eq)):
//! that check is the binding (the exchange forwards `state` to Vercel,
//! whose documentation does not say it checks it). Not by a `nonce`:
//! Vercel's marketplace ID tokens carry none, whatever the login sent, so
//! [`Marketplace::exchange`] takes `None` for them (a nonce is for another
//! issuer that echoes one).
//!
//! The request is JSON (`Content-Type: application/json`), as Vercel's
//! reference gives the body; the client authenticates with `client_id` and
//! `client_secret` in it, so no `Authorization` header is sent.
//!
//! # Example
//!
//! The integration's Redirect Login URL as a Vercel function (`api/sso.rs`,
//! with `INTEGRATION_CLIENT_ID` and `INTEGRATION_CLIENT_SECRET` set); the
//! repository's `examples/integration_sso` is the whole of it, with its
//! page, run end to end against the emulator by `tests/sso.rs`.
//!
//! ```no_run
//! use std::sync::OnceLock;
//!
//! use sign_in_with_vercel::http::StatusCode;
//! use sign_in_with_vercel::sso::{Marketplace, SsoCallback, SsoIdentity};
//! use sign_in_with_vercel::{ConfigError, Error};
//! use vercel_runtime::{Request, Response, ResponseBody, run, service_fn};
//!
//! async fn sign_in(sso: &Result<Marketplace, ConfigError>, query: &str) -> Result<SsoIdentity, Error> {
//!     let sso = sso.as_ref().map_err(|error| Error::Config(error.clone()))?;
//!     let callback = SsoCallback::from_query(query)?;
//!     // No nonce: Vercel's marketplace ID tokens carry none.
//!     sso.exchange(&callback, None).await
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), vercel_runtime::Error> {
//!     // Once per instance; a configuration error is answered on every request.
//!     static SSO: OnceLock<Result<Marketplace, ConfigError>> = OnceLock::new();
//!     let sso = SSO.get_or_init(Marketplace::from_env);
//!     run(service_fn(move |req: Request| async move {
//!         // GET /api/sso?mode=sso&code=…&state=…
//!         let (status, text) = match sign_in(sso, req.uri().query().unwrap_or("")).await {
//!             // Start your own session from the claims here, keyed by
//!             // account_id and user_id; keep neither token.
//!             Ok(identity) if identity.claims.is_admin() => {
//!                 (StatusCode::OK, "You can manage this installation.".to_owned())
//!             }
//!             Ok(_) => (StatusCode::OK, "You can view this installation.".to_owned()),
//!             // The reason only: no code or token.
//!             Err(error) => (error.status(), error.description().to_owned()),
//!         };
//!         let mut response = Response::new(ResponseBody::from(text));
//!         *response.status_mut() = status;
//!         Ok::<_, vercel_runtime::Error>(response)
//!     }))
//!     .await
//! }
//! ```

mod callback;
mod claims;
mod exchange;
mod integration;

use std::sync::Arc;

use crate::clock::{Clock, system_clock};
use crate::config::{ConfigError, check_client_id, check_provider_url, problem, read_unquoted};
use crate::discovery::KeyMetadata;
use crate::error::{Endpoint, Error};
use crate::issuer::{Audience, Issuer, send};
use crate::secret::Nonce;
use crate::transport::{HttpClient, ReqwestClient};
use crate::vercel_api::VERCEL_API;

pub use callback::SsoCallback;
pub use claims::{MarketplaceClaims, Role, SsoIdentity};
pub use exchange::{SSO_TOKEN_PATH, SsoTokens, parse_response, request};
pub use integration::Integration;

/// The issuer of Vercel's marketplace tokens, the SSO exchange's ID token
/// among them (Vercel's Marketplace Partner API, user authentication).
pub const MARKETPLACE_ISSUER: &str = "https://marketplace.vercel.com";
/// The marketplace's key set (Vercel's Marketplace Partner API, user
/// authentication): known, so its discovery document need not be read.
const MARKETPLACE_JWKS_URI: &str = "https://marketplace.vercel.com/.well-known/jwks";

/// What an integration's SSO exchange runs with: its credentials, the
/// issuer of the ID tokens it receives, the REST API the exchange is
/// posted to, the HTTP client and the clock. Build it once per instance.
pub struct Marketplace {
    integration: Integration,
    issuer: Issuer<KeyMetadata>,
    api: String,
    http: Arc<dyn HttpClient>,
    clock: Clock,
    /// Why the URLs or the client ID given to [`Marketplace::new`] cannot
    /// be used; every exchange answers it, before any call.
    refused: Option<ConfigError>,
}

/// The variables [`Marketplace::from_env`] reads (and checks for UTF-8).
const MARKETPLACE_VARIABLES: &[&str] = &[
    "INTEGRATION_CLIENT_ID",
    "INTEGRATION_CLIENT_SECRET",
    "VERCEL_MARKETPLACE_ISSUER",
    "VERCEL_API_URL",
    "VERCEL_ENV",
];

impl Marketplace {
    /// `integration`'s exchange, its tokens issued by `issuer` (for
    /// [`MARKETPLACE_ISSUER`] its key set is built in; any other is
    /// discovered once per instance from its
    /// `/.well-known/openid-configuration`), the exchange posted to `api`
    /// (like [`VERCEL_API`]). Both are checked as issuers are (`https`,
    /// plain `http` only on a loopback host, no query or credentials; not
    /// [`Marketplace::from_env`]'s refusal of a loopback host on a
    /// deployment, which needs `VERCEL_ENV`), and the client ID as
    /// `INTEGRATION_CLIENT_ID`: one that fails makes every exchange answer
    /// [`Error::Config`] without a call, so that the client secret and the
    /// code never travel in clear.
    pub fn new(
        integration: Integration,
        issuer: impl Into<String>,
        api: impl Into<String>,
    ) -> Self {
        let (issuer, api) = (issuer.into(), api.into());
        let refused = check_client_id("INTEGRATION_CLIENT_ID", &integration.client_id)
            .err()
            .or_else(|| {
                [
                    ("VERCEL_MARKETPLACE_ISSUER", &issuer),
                    ("VERCEL_API_URL", &api),
                ]
                .into_iter()
                .find_map(|(name, url)| {
                    crate::config::check_issuer(url)
                        .err()
                        .map(|why| problem(name, why))
                })
            });
        let known = (issuer == MARKETPLACE_ISSUER).then(|| KeyMetadata {
            issuer: MARKETPLACE_ISSUER.to_owned(),
            jwks_uri: MARKETPLACE_JWKS_URI.to_owned(),
            // RS256 only, which is what no list means.
            id_token_signing_alg_values_supported: None,
        });
        Self {
            integration,
            issuer: Issuer::new(issuer, known),
            api: api.trim_end_matches('/').to_owned(),
            http: Arc::new(ReqwestClient::new()),
            clock: system_clock(),
            refused,
        }
    }

    /// Replaces the HTTP client (tests, the emulator in process).
    pub fn with_http_client(mut self, http: Arc<dyn HttpClient>) -> Self {
        self.http = http;
        self
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The integration whose credentials these are.
    pub fn integration(&self) -> &Integration {
        &self.integration
    }

    /// The exchange as Vercel runs it: tokens from [`MARKETPLACE_ISSUER`],
    /// the exchange posted to [`VERCEL_API`].
    pub fn vercel(integration: Integration) -> Self {
        Self::new(integration, MARKETPLACE_ISSUER, VERCEL_API)
    }

    /// The exchange configured from the environment: the integration's
    /// credentials ([`Integration::from_lookup`]), and for another
    /// provider than Vercel (the emulator) `VERCEL_MARKETPLACE_ISSUER` and
    /// `VERCEL_API_URL`, each `https` (`http` only on a loopback host, and
    /// no loopback host on a deployment).
    /// A variable whose value is not UTF-8 is a configuration error naming
    /// it, not an unset one.
    pub fn from_env() -> Result<Self, ConfigError> {
        crate::config::all_utf8(MARKETPLACE_VARIABLES)?;
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Marketplace::from_env`], reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let integration = Integration::from_lookup(&lookup)?;
        let deployed = crate::config::deployed(&lookup);
        let url = |name: &'static str, default: &str| {
            let value = read_unquoted(&lookup, name)?.unwrap_or_else(|| default.to_owned());
            check_provider_url(deployed, name, &value)?;
            Ok(value)
        };
        let issuer = url("VERCEL_MARKETPLACE_ISSUER", MARKETPLACE_ISSUER)?;
        let api = url("VERCEL_API_URL", VERCEL_API)?;
        Ok(Self::new(integration, issuer, api))
    }

    /// Exchanges the code of an "Open in Provider" redirect and verifies
    /// the ID token against the issuer, with the integration's client ID
    /// as audience and, when given, `nonce`, which it then requires in the
    /// token: `None` for Vercel's marketplace, whose tokens carry none
    /// (bind a login the integration starts by its `state` instead).
    /// All of it, its provider calls included, within one
    /// [`REQUEST_DEADLINE`](crate::REQUEST_DEADLINE), or what is left of
    /// the deadline it runs under (inside [`Auth::protect`](crate::Auth::protect)).
    pub async fn exchange(
        &self,
        callback: &SsoCallback,
        nonce: Option<&Nonce>,
    ) -> Result<SsoIdentity, Error> {
        crate::clock::with_deadline(self.exchange_within_deadline(callback, nonce)).await
    }

    async fn exchange_within_deadline(
        &self,
        callback: &SsoCallback,
        nonce: Option<&Nonce>,
    ) -> Result<SsoIdentity, Error> {
        if let Some(refused) = &self.refused {
            return Err(Error::Config(refused.clone()));
        }
        let endpoint = format!("{}{SSO_TOKEN_PATH}", self.api);
        let request = request(&endpoint, &self.integration, callback);
        let response = send(self.http.as_ref(), Endpoint::Token, request).await?;
        if response.status() == http::StatusCode::BAD_REQUEST {
            // The user is told to sign in again; whoever runs the app is
            // told what else this 400 can mean.
            crate::log::warn(
                "sso: Vercel refused the code exchange (HTTP 400): the code or its state \
                 was refused, or the integration's client ID or secret is wrong",
            );
        }
        let tokens = parse_response(&response)?;
        let audience = Audience {
            client_id: &self.integration.client_id,
            trusted: &[],
            access_token: tokens.access_token.as_ref(),
            nonce,
            subject: None,
        };
        let now = (self.clock)();
        let claims = self
            .issuer
            .verify(self.http.as_ref(), &tokens.id_token, &audience, now)
            .await?;
        Ok(SsoIdentity {
            claims: MarketplaceClaims::from_verified(claims)?,
            access_token: tokens.access_token,
            token_type: tokens.token_type,
            expires_in: tokens.expires_in,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ClientSecret;
    use crate::transport::tests::response;
    use crate::transport::{HttpRequest, HttpResponse};

    /// Every variable `from_env` reads is one it checks for UTF-8 first:
    /// one it missed would read as unset when it is not UTF-8.
    #[test]
    fn every_variable_read_is_checked_for_utf8() {
        let read = std::cell::RefCell::new(Vec::new());
        let _ = Marketplace::from_lookup(|name| {
            read.borrow_mut().push(name.to_owned());
            match name {
                "INTEGRATION_CLIENT_ID" => Some("oac_x".into()),
                "INTEGRATION_CLIENT_SECRET" => Some("s3cret".into()),
                "VERCEL_MARKETPLACE_ISSUER" => Some("http://127.0.0.1:3003".into()),
                "VERCEL_API_URL" => Some("http://127.0.0.1:3002".into()),
                _ => None,
            }
        });
        let read = read.into_inner();
        assert!(read.len() >= 5, "{read:?}");
        for name in read {
            assert!(MARKETPLACE_VARIABLES.contains(&name.as_str()), "{name}");
        }
    }

    /// The integration's variables are read as the app's are: one wrapped
    /// in quotes is refused naming the variable, not sent to Vercel as typed.
    #[test]
    fn a_quoted_variable_is_refused() {
        for quoted in [
            "INTEGRATION_CLIENT_ID",
            "INTEGRATION_CLIENT_SECRET",
            "VERCEL_MARKETPLACE_ISSUER",
            "VERCEL_API_URL",
        ] {
            let err = Marketplace::from_lookup(|name| {
                let value = match name {
                    "INTEGRATION_CLIENT_ID" => "oac_x",
                    "INTEGRATION_CLIENT_SECRET" => "s3cret",
                    "VERCEL_MARKETPLACE_ISSUER" => "http://127.0.0.1:3003",
                    "VERCEL_API_URL" => "http://127.0.0.1:3002",
                    _ => return None,
                };
                Some(if name == quoted {
                    format!("\"{value}\"")
                } else {
                    value.into()
                })
            })
            .err()
            .unwrap_or_else(|| panic!("{quoted} accepted in quotes"));
            assert_eq!(err.variable, quoted);
            assert!(err.to_string().contains("wrapped in quotes"), "{err}");
        }
    }
    pub(super) fn integration() -> Integration {
        Integration {
            client_id: "oac_int".into(),
            client_secret: ClientSecret::new("s3cret"),
            redirect_uri: Some("https://int.example/sso".into()),
        }
    }

    /// `Marketplace::new` checks what `from_env` checks: a URL in clear
    /// to another host than loopback, or an unusable client ID, answers
    /// every exchange as a configuration error, and nothing is sent.
    #[tokio::test]
    async fn an_exchange_with_urls_or_a_client_id_from_env_would_refuse_sends_nothing() {
        let mut bad_id = integration();
        bad_id.client_id = "oac int".into();
        for (sso, variable) in [
            (
                Marketplace::new(integration(), MARKETPLACE_ISSUER, "http://api.example.com"),
                "VERCEL_API_URL",
            ),
            (
                Marketplace::new(integration(), "http://op.example", VERCEL_API),
                "VERCEL_MARKETPLACE_ISSUER",
            ),
            (
                Marketplace::new(
                    integration(),
                    MARKETPLACE_ISSUER,
                    "https://u:p@api.example.com",
                ),
                "VERCEL_API_URL",
            ),
            (
                Marketplace::new(bad_id, MARKETPLACE_ISSUER, VERCEL_API),
                "INTEGRATION_CLIENT_ID",
            ),
        ] {
            let sent = crate::transport::tests::Fake::new(|_| Ok(response(200, "{}")));
            let sso = sso.with_http_client(sent.clone());
            let callback = SsoCallback::from_query("code=c0de&state=st").unwrap();
            match sso.exchange(&callback, None).await {
                Err(Error::Config(e)) => assert_eq!(e.variable, variable),
                other => panic!("{variable}: {other:?}"),
            }
            assert_eq!(sent.calls(SSO_TOKEN_PATH), 0, "{variable}");
        }
        let local = Marketplace::new(integration(), "http://127.0.0.1:3003", "http://[::1]:3002");
        assert!(
            local.refused.is_none(),
            "loopback in clear is the emulator's"
        );
    }

    /// A client with no network: every call fails to connect.
    struct Offline;

    impl HttpClient for Offline {
        fn execute(
            &self,
            _: HttpRequest,
        ) -> crate::transport::BoxFuture<'_, Result<HttpResponse, crate::TransportError>> {
            Box::pin(async { Err(crate::TransportError::Connect) })
        }
    }

    #[tokio::test]
    async fn vercels_marketplace_keys_are_known_without_a_discovery_request() {
        for sso in [
            Marketplace::vercel(integration()),
            Marketplace::from_lookup(|name| match name {
                "INTEGRATION_CLIENT_ID" => Some("oac_int".into()),
                "INTEGRATION_CLIENT_SECRET" => Some("s3cret".into()),
                _ => None,
            })
            .unwrap(),
        ] {
            let metadata = sso.issuer.metadata(&Offline).await.unwrap();
            assert_eq!(metadata.issuer, MARKETPLACE_ISSUER);
            assert_eq!(
                metadata.jwks_uri,
                "https://marketplace.vercel.com/.well-known/jwks"
            );
        }
        let other = Marketplace::new(integration(), "https://op.example", VERCEL_API);
        assert!(other.issuer.metadata(&Offline).await.is_err());
    }
}
