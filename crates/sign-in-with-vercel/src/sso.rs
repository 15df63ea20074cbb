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
//! ID token, and the access token only as a redacted [`AccessToken`] in a
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

use serde::Deserialize;
use serde_json::{Map, Value, json};

use std::sync::Arc;

use crate::clock::{Clock, system_clock};
use crate::config::{
    ConfigError, check_client_id, check_provider_url, problem, read_var, unquoted,
};
use crate::discovery::KeyMetadata;
use crate::error::{Endpoint, Error};
use crate::id_token::{IdTokenClaims, IdTokenError};
use crate::provider::{Audience, Issuer, send};
use crate::secret::{AccessToken, AuthorizationCode, ClientSecret, IdToken, Nonce};
use crate::transport::{
    HttpClient, HttpRequest, HttpResponse, ReqwestClient, Unbuildable, base_request,
};
use crate::vercel_api::VERCEL_API;

/// The exchange's path on the REST API's origin.
pub const SSO_TOKEN_PATH: &str = "/v1/integrations/sso/token";

/// The issuer of Vercel's marketplace tokens, the SSO exchange's ID token
/// among them (Vercel's Marketplace Partner API, user authentication).
pub const MARKETPLACE_ISSUER: &str = "https://marketplace.vercel.com";
/// The marketplace's key set (Vercel's Marketplace Partner API, user
/// authentication): known, so its discovery document need not be read.
const MARKETPLACE_JWKS_URI: &str = "https://marketplace.vercel.com/.well-known/jwks";

/// A marketplace integration's credentials, from its settings in Vercel's
/// Integrations Console.
#[derive(Clone, Debug)]
pub struct Integration {
    /// The integration's client ID: the ID token's audience.
    pub client_id: String,
    /// The integration's client secret.
    pub client_secret: ClientSecret,
    /// The redirect login URL, sent as `redirect_uri` when set.
    pub redirect_uri: Option<String>,
}

impl Integration {
    /// The integration's credentials from `INTEGRATION_CLIENT_ID` and
    /// `INTEGRATION_CLIENT_SECRET` (the names of Vercel's example
    /// integration), read through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &'static str| {
            unquoted(name, read_var(&lookup, name))?.ok_or_else(|| {
                problem(
                    name,
                    "is required for the integration SSO token exchange; copy it from the integration's settings in Vercel's Integrations Console",
                )
            })
        };
        let client_id = var("INTEGRATION_CLIENT_ID")?;
        check_client_id("INTEGRATION_CLIENT_ID", &client_id)?;
        Ok(Self {
            client_id,
            client_secret: ClientSecret::new(var("INTEGRATION_CLIENT_SECRET")?),
            redirect_uri: None,
        })
    }
}

/// What the redirect login URL received from Vercel.
pub struct SsoCallback {
    /// The authorization code (`code`).
    pub code: AuthorizationCode,
    /// The `state` of the initialization request, as received.
    pub state: Option<String>,
}

impl SsoCallback {
    /// Reads `code` and `state` from the redirect login URL's query; a
    /// missing or empty `code`, or a repeated `code` or `state`, is an
    /// error.
    pub fn from_query(query: &str) -> Result<Self, Error> {
        let mut code = None;
        let mut state = None;
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match k.as_ref() {
                "code" => &mut code,
                "state" => &mut state,
                _ => continue,
            };
            if slot.replace(v.into_owned()).is_some() {
                return Err(Error::BadRequest("a parameter is repeated"));
            }
        }
        Ok(Self {
            code: AuthorizationCode::new(code.filter(|c| !c.is_empty()).ok_or(Error::MissingCode)?),
            state: state.filter(|s| !s.is_empty()),
        })
    }
}

/// A marketplace user's role in the Vercel account (team) that installed
/// the integration. Vercel's guidance: always check it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// `ADMIN`: may manage the installation.
    Admin,
    /// `USER`: a member.
    User,
    /// A role this version does not know, as sent.
    Other(String),
}

impl Role {
    fn parse(value: &str) -> Self {
        match value {
            "ADMIN" => Self::Admin,
            "USER" => Self::User,
            other => Self::Other(other.chars().take(64).collect()),
        }
    }
}

/// The claims of a marketplace ID token (Vercel's Marketplace Partner API,
/// user authentication): who the user is, in which account and
/// installation, with which role. Verified: signature, issuer, audience
/// (the integration), times. Claims Vercel documents are typed; the rest
/// of what the token carried, less the claims the verification read
/// (`aud`, `nbf`, `azp`, `nonce`, `at_hash` and the standard profile
/// claims, none of which Vercel's marketplace sends), is kept in `other`.
/// `Debug` shows no personal data; nothing here is `Serialize`: store what
/// you need of it, field by field.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MarketplaceClaims {
    /// The issuer (`https://marketplace.vercel.com`).
    pub iss: String,
    /// `account:<account_id>:user:<user_id>`.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// The Vercel account (team) that installed the integration.
    pub account_id: String,
    /// The installation.
    pub installation_id: String,
    /// The Vercel user.
    pub user_id: String,
    /// The user's role in the account.
    pub user_role: Role,
    /// The user's name, when Vercel sends it.
    pub user_name: Option<String>,
    /// The user's avatar URL, when Vercel sends it.
    pub user_avatar_url: Option<String>,
    /// The user's email address, when Vercel sends it.
    pub user_email: Option<String>,
    /// Every other claim, as sent.
    pub other: Map<String, Value>,
}

impl MarketplaceClaims {
    /// The typed claims of a verified token; a documented claim that is
    /// missing, or a `type` other than `id_token`, refuses it. The
    /// marketplace's access tokens share its issuer, audience and keys, and
    /// it always sends `type`: a token without one is refused too.
    fn from_verified(claims: IdTokenClaims) -> Result<Self, Error> {
        let IdTokenClaims {
            iss,
            sub,
            exp,
            iat,
            mut other,
            ..
        } = claims;
        let mut take = |name: &'static str| crate::id_token::take_string(&mut other, name);
        let required = |value: Option<String>, name: &'static str| {
            value
                .filter(|v| !v.is_empty())
                .ok_or(IdTokenError::MissingClaim(name))
        };
        if required(take("type"), "type")? != "id_token" {
            return Err(IdTokenError::NotAnIdToken.into());
        }
        let account_id = required(take("account_id"), "account_id")?;
        let installation_id = required(take("installation_id"), "installation_id")?;
        let user_id = required(take("user_id"), "user_id")?;
        let user_role = Role::parse(&required(take("user_role"), "user_role")?);
        let (user_name, user_avatar_url, user_email) = (
            take("user_name"),
            take("user_avatar_url"),
            take("user_email"),
        );
        Ok(Self {
            iss,
            sub,
            exp,
            iat,
            account_id,
            installation_id,
            user_id,
            user_role,
            user_name,
            user_avatar_url,
            user_email,
            other,
        })
    }

    /// Whether the user is an administrator of the account.
    pub fn is_admin(&self) -> bool {
        self.user_role == Role::Admin
    }
}

/// Identifiers and the role; no name, email or avatar.
impl std::fmt::Debug for MarketplaceClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarketplaceClaims")
            .field("iss", &self.iss)
            .field("account_id", &self.account_id)
            .field("installation_id", &self.installation_id)
            .field("user_id", &self.user_id)
            .field("user_role", &self.user_role)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

/// The user an SSO exchange signed in. Deliberately not `Serialize`, and
/// without the ID token: keep the claims, let the tokens expire.
#[derive(Debug)]
#[non_exhaustive]
pub struct SsoIdentity {
    /// The verified ID token's claims.
    pub claims: MarketplaceClaims,
    /// The access token of the answer, when Vercel gave one.
    pub access_token: Option<AccessToken>,
    /// `token_type`, when given: `Bearer`, in any case.
    pub token_type: Option<String>,
    /// `expires_in`, seconds, when given; at most a year.
    pub expires_in: Option<u64>,
}

/// The answer of the exchange, before verification.
#[non_exhaustive]
pub struct SsoTokens {
    /// `id_token`.
    pub id_token: IdToken,
    /// `access_token` (may be `null`).
    pub access_token: Option<AccessToken>,
    /// `token_type` (may be `null`; otherwise `Bearer`, in any case).
    pub token_type: Option<String>,
    /// `expires_in`, at most a year.
    pub expires_in: Option<u64>,
}

/// The exchange request: a JSON `POST` of `client_id`, `client_secret`,
/// `code`, and `state` and `redirect_uri` when there are.
pub fn request(
    endpoint: &str,
    integration: &Integration,
    callback: &SsoCallback,
) -> Result<HttpRequest, Unbuildable> {
    let mut body = Map::new();
    body.insert("client_id".into(), json!(integration.client_id));
    body.insert(
        "client_secret".into(),
        json!(integration.client_secret.secret()),
    );
    body.insert("code".into(), json!(callback.code.secret()));
    if let Some(state) = &callback.state {
        body.insert("state".into(), json!(state));
    }
    if let Some(uri) = &integration.redirect_uri {
        body.insert("redirect_uri".into(), json!(uri));
    }
    base_request(http::Method::POST, endpoint)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(&Value::Object(body)).map_err(|_| Unbuildable)?)
        .map_err(|_| Unbuildable)
}

#[derive(Deserialize)]
struct RawAnswer {
    id_token: String,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<Value>,
}

/// Parses the exchange's answer. Vercel's REST API answers a refusal with
/// its own `{"error": {"code", "message"}}`, not an OAuth error, so the
/// refusal is read from the status: a 400 (the code, its `state` or the
/// secret refused: the API does not say which) is `invalid_grant`, sign in
/// again; a 401, 403 or 404 (no such integration, or not these
/// credentials) is `invalid_client`, the integration's configuration.
/// Other failures are the provider's. The message is never kept. As at
/// the token endpoint, a `token_type` other than Bearer is refused (RFC
/// 6750 §4; `null` is allowed, as Vercel's reference shows it), and
/// `expires_in` is read leniently and capped at a year.
pub fn parse_response(response: &HttpResponse) -> Result<SsoTokens, Error> {
    let status = response.status();
    match status.as_u16() {
        400 => return Err(Error::TokenRejected("invalid_grant".into())),
        401 | 403 | 404 => return Err(Error::TokenRejected("invalid_client".into())),
        _ => {}
    }
    if !status.is_success() {
        return Err(Endpoint::Token.failed(status));
    }
    let raw: RawAnswer = serde_json::from_slice(response.body())
        .map_err(|_| Endpoint::Token.malformed("not an SSO token response"))?;
    if raw.id_token.is_empty() {
        return Err(Endpoint::Token.malformed("empty id_token"));
    }
    if let Some(kind) = &raw.token_type {
        crate::token::bearer(kind)?;
    }
    Ok(SsoTokens {
        id_token: IdToken::new(raw.id_token),
        access_token: raw
            .access_token
            .filter(|t| !t.is_empty())
            .map(AccessToken::new),
        token_type: raw.token_type,
        expires_in: crate::token::expires_in(raw.expires_in.as_ref()),
    })
}

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
        let url = |name: &'static str, default: &str| {
            let value =
                unquoted(name, read_var(&lookup, name))?.unwrap_or_else(|| default.to_owned());
            check_provider_url(&lookup, name, &value)?;
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
    use crate::transport::tests::response;

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

    fn integration() -> Integration {
        Integration {
            client_id: "oac_int".into(),
            client_secret: ClientSecret::new("s3cret"),
            redirect_uri: Some("https://int.example/sso".into()),
        }
    }

    #[test]
    fn request_posts_the_five_members_as_json() {
        let callback = SsoCallback::from_query("code=c0de&state=st&mode=sso").unwrap();
        let req = request(
            "https://api.vercel.com/v1/integrations/sso/token",
            &integration(),
            &callback,
        )
        .unwrap();
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(req.uri().path(), SSO_TOKEN_PATH);
        assert_eq!(req.headers()["content-type"], "application/json");
        assert_eq!(req.headers()["accept"], "application/json");
        assert!(req.headers().contains_key("user-agent"));
        assert!(!req.headers().contains_key("authorization"));
        let body: Value = serde_json::from_slice(req.body()).unwrap();
        assert_eq!(
            body,
            json!({"client_id": "oac_int", "client_secret": "s3cret", "code": "c0de",
                   "state": "st", "redirect_uri": "https://int.example/sso"})
        );
    }

    #[test]
    fn state_and_redirect_uri_are_left_out_when_absent() {
        let callback = SsoCallback::from_query("code=c").unwrap();
        let mut i = integration();
        i.redirect_uri = None;
        let req = request("https://api.vercel.com/x", &i, &callback).unwrap();
        let body: Value = serde_json::from_slice(req.body()).unwrap();
        assert_eq!(body.as_object().unwrap().len(), 3);
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

    #[test]
    fn callback_needs_one_code() {
        assert_eq!(
            SsoCallback::from_query("state=s").err(),
            Some(Error::MissingCode)
        );
        assert!(SsoCallback::from_query("code=a&code=b").is_err());
    }

    #[test]
    fn answer_with_null_access_token_is_understood() {
        let t = parse_response(&response(
            200,
            r#"{"id_token":"a.b.c","access_token":null,"token_type":null}"#,
        ))
        .unwrap();
        assert!(t.access_token.is_none());
        assert_eq!(t.expires_in, None);
    }

    /// An empty `access_token` is no access token; one that is given is
    /// kept.
    #[test]
    fn an_empty_access_token_is_none_and_a_given_one_is_kept() {
        let t =
            parse_response(&response(200, r#"{"id_token":"a.b.c","access_token":""}"#)).unwrap();
        assert!(t.access_token.is_none());
        let t = parse_response(&response(
            200,
            r#"{"id_token":"a.b.c","access_token":"vca_x"}"#,
        ))
        .unwrap();
        assert!(t.access_token.as_ref().map(AccessToken::secret) == Some("vca_x"));
    }

    #[test]
    fn a_huge_expires_in_is_capped_as_the_token_endpoints_is() {
        for value in ["1e300", "99999999999999999999", "\"99999999999999999999\""] {
            let t = parse_response(&response(
                200,
                &format!(r#"{{"id_token":"a.b.c","expires_in":{value}}}"#),
            ))
            .unwrap();
            assert_eq!(t.expires_in, Some(365 * 24 * 3600), "a year: {value}");
        }
        let t = parse_response(&response(200, r#"{"id_token":"a.b.c","expires_in":3600}"#));
        assert_eq!(t.unwrap().expires_in, Some(3600));
    }

    #[test]
    fn a_token_type_other_than_bearer_is_refused() {
        for kind in ["\"mac\"", "\"DPoP\"", "\"\""] {
            let e = parse_response(&response(
                200,
                &format!(r#"{{"id_token":"a.b.c","access_token":"vca_x","token_type":{kind}}}"#),
            ))
            .err()
            .unwrap();
            assert_eq!(e.code(), "provider_unavailable", "{kind}");
        }
        for kind in ["\"Bearer\"", "\"bearer\"", "\"BEARER\"", "null"] {
            let body =
                format!(r#"{{"id_token":"a.b.c","access_token":"vca_x","token_type":{kind}}}"#);
            assert!(parse_response(&response(200, &body)).is_ok(), "{kind}");
        }
    }

    #[test]
    fn a_refused_code_is_a_refused_grant_and_keeps_no_message() {
        let e = parse_response(&response(
            400,
            r#"{"error":{"code":"bad_request","message":"code c0de_secret is invalid"}}"#,
        ))
        .err()
        .unwrap();
        assert_eq!(e, Error::TokenRejected("invalid_grant".into()));
        assert!(e.is_grant_refusal());
        assert!(!format!("{e:?} {e}").contains("c0de_secret"));
    }

    #[test]
    fn an_unknown_integration_is_the_integrations_configuration() {
        for status in [401, 403, 404] {
            let e = parse_response(&response(status, r#"{"error":{"code":"not_found"}}"#))
                .err()
                .unwrap();
            assert_eq!(e, Error::TokenRejected("invalid_client".into()));
            // The operator's detail names the integration's variables too.
            assert!(e.to_string().contains("INTEGRATION_CLIENT_ID"), "{e}");
            assert_eq!(e.code(), "configuration");
            assert!(!e.ends_session());
        }
    }

    #[test]
    fn server_errors_are_the_providers() {
        let e = parse_response(&response(500, "")).err().unwrap();
        assert_eq!(e.code(), "provider_unavailable");
    }

    fn verified(extra: Value) -> IdTokenClaims {
        let Value::Object(other) = extra else {
            panic!("an object")
        };
        IdTokenClaims {
            iss: "https://marketplace.vercel.com".into(),
            sub: "account:a1:user:u1".into(),
            exp: 2,
            iat: 1,
            name: None,
            preferred_username: None,
            picture: None,
            email: None,
            other,
        }
    }

    fn marketplace_claims() -> Value {
        json!({"account_id": "a1", "installation_id": "icfg_1", "user_id": "u1",
               "user_role": "ADMIN", "user_name": "Ada Lovelace", "user_email": "ada@example.com",
               "user_avatar_url": "https://vercel.com/api/www/avatar/x", "type": "id_token",
               "future_claim": 7})
    }

    #[test]
    fn marketplace_claims_are_typed_and_the_rest_kept() {
        let claims = MarketplaceClaims::from_verified(verified(marketplace_claims())).unwrap();
        assert_eq!(claims.account_id, "a1");
        assert_eq!(claims.installation_id, "icfg_1");
        assert_eq!(claims.user_id, "u1");
        assert!(claims.is_admin());
        assert_eq!(claims.user_email.as_deref(), Some("ada@example.com"));
        assert_eq!(claims.other.len(), 1, "{:?}", claims.other.keys());
        assert_eq!(claims.other["future_claim"], 7);
    }

    #[test]
    fn roles_are_read_as_vercel_names_them() {
        assert_eq!(Role::parse("ADMIN"), Role::Admin);
        assert_eq!(Role::parse("USER"), Role::User);
        assert_eq!(Role::parse("OWNER"), Role::Other("OWNER".into()));
        let mut user = marketplace_claims();
        user["user_role"] = json!("USER");
        assert!(
            !MarketplaceClaims::from_verified(verified(user))
                .unwrap()
                .is_admin()
        );
    }

    #[test]
    fn a_documented_claim_missing_refuses_the_token() {
        for name in ["account_id", "installation_id", "user_id", "user_role"] {
            let mut claims = marketplace_claims();
            claims.as_object_mut().unwrap().remove(name);
            assert_eq!(
                MarketplaceClaims::from_verified(verified(claims)).err(),
                Some(Error::IdToken(IdTokenError::MissingClaim(name)))
            );
        }
    }

    #[test]
    fn an_access_token_offered_as_an_id_token_is_refused() {
        let mut claims = marketplace_claims();
        claims["type"] = json!("access_token");
        assert_eq!(
            MarketplaceClaims::from_verified(verified(claims)).err(),
            Some(Error::IdToken(IdTokenError::NotAnIdToken))
        );
    }

    /// The marketplace's access tokens share its issuer, audience and
    /// keys, and it always sends `type`: a token without one is refused.
    #[test]
    fn a_token_without_type_is_refused() {
        let mut claims = marketplace_claims();
        claims.as_object_mut().unwrap().remove("type");
        assert_eq!(
            MarketplaceClaims::from_verified(verified(claims)).err(),
            Some(Error::IdToken(IdTokenError::MissingClaim("type")))
        );
        let mut claims = marketplace_claims();
        claims["type"] = json!(["id_token"]);
        assert!(MarketplaceClaims::from_verified(verified(claims)).is_err());
    }

    #[test]
    fn identity_debug_shows_no_token_and_no_personal_data() {
        let identity = SsoIdentity {
            claims: MarketplaceClaims::from_verified(verified(marketplace_claims())).unwrap(),
            access_token: Some(AccessToken::new("vca_secret")),
            token_type: None,
            expires_in: None,
        };
        let printed = format!("{identity:?}");
        for private in ["vca_secret", "Ada", "ada@example.com", "avatar"] {
            assert!(!printed.contains(private), "{private} in {printed}");
        }
        assert!(
            printed.contains("Admin") && printed.contains("icfg_1"),
            "{printed}"
        );
    }
}
