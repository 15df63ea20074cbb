//! Configuration, read once from the environment into a typed value.
//!
//! A missing or malformed variable is a [`ConfigError`] that names it; the
//! routes turn it into a "configuration" error page or JSON answer and a log
//! line, never a crash.

use std::fmt;

use url::Url;

use crate::origin::{Origin, check_secure_url, is_loopback};
use crate::paths::Paths;
use crate::seal::{self, Keys, Source};
use crate::secret::ClientSecret;

/// The issuer used when `VERCEL_OAUTH_ISSUER` is not set.
pub const VERCEL_ISSUER: &str = "https://vercel.com";

/// How the client authenticates at the token endpoint (RFC 6749 §2.3,
/// OpenID Connect Core §9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1).
    ClientSecretPost,
    /// HTTP Basic with the form-encoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// A public client: `client_id` in the body, no secret (RFC 6749 §2.1).
    None,
}

impl ClientAuthMethod {
    /// The registered name of the method (OAuth Dynamic Client Registration).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::None => "none",
        }
    }
}

/// The relying party's settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The app's client ID from the Vercel dashboard.
    pub client_id: String,
    /// The client secret; `None` makes this a public client.
    pub client_secret: Option<ClientSecret>,
    /// Client authentication at the token and introspection endpoints,
    /// from `VERCEL_APP_TOKEN_AUTH`. `None` when it is not set and there is
    /// a client secret: then `client_secret_post`, as Vercel's guide does,
    /// unless the provider's metadata lists `client_secret_basic` and not
    /// `client_secret_post` for its token endpoint, or a discovered
    /// provider's lists nothing (RFC 8414 §2's default is Basic:
    /// [`ProviderMetadata::token_endpoint_auth_methods_supported`](crate::ProviderMetadata::token_endpoint_auth_methods_supported)).
    pub token_auth: Option<ClientAuthMethod>,
    /// The issuer identifier, compared exactly as a string.
    pub issuer: String,
    /// The public origin of the app, when pinned with `APP_URL`.
    pub app_url: Option<Origin>,
    /// The keys that seal the session and flow cookies: from `AUTH_SECRET`
    /// (a comma-separated list, newest first), else derived from the
    /// client secret.
    pub keys: Keys,
    /// Where the app's routes and pages are; `AUTH_BASE_PATH` moves the
    /// sign-in routes, `AUTH_ERROR_PAGE` and `AUTH_DEFAULT_RETURN` the
    /// error page and where a sign-in returns by default.
    pub paths: Paths,
    /// The shared session store, from `REDIS_URL` (or `KV_URL`), used when
    /// the library is built with its `redis` feature.
    pub store_url: Option<StoreUrl>,
    /// The audiences besides the client ID an ID token may name, from
    /// `VERCEL_OAUTH_TRUSTED_AUDIENCES` (comma-separated); none by default
    /// (OpenID Connect Core §3.1.3.7 step 3: the token is refused if it
    /// names an audience the client does not trust). For a provider that
    /// adds its own (Zitadel adds the project's ID to every ID token);
    /// such a token must then carry `azp`, the client ID.
    pub trusted_audiences: Vec<String>,
    /// Whether a key of `AUTH_SECRET` holds whitespace: most likely a
    /// rotation list written with spaces (`new old`), read as one key that
    /// opens no session sealed before; said once per instance
    /// ([`Auth`](crate::Auth)'s start), not refused (a passphrase may
    /// hold spaces).
    pub(crate) spaced_auth_secret: bool,
}

/// A store URL: `redis://` or `rediss://` (TLS). It carries the store's
/// password, so it never prints. A `rediss://` store's certificate must
/// chain to Mozilla's roots, or to the authorities of `REDIS_CA_PEM` when
/// it is set (a store whose provider signs its own, as Redis Cloud does).
#[derive(Clone)]
pub struct StoreUrl {
    url: String,
    /// `REDIS_CA_PEM`: the PEM certificates of the authorities trusted
    /// instead of Mozilla's roots.
    authorities: Option<String>,
}

impl std::fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreUrl([redacted])")
    }
}

impl StoreUrl {
    /// Checks the scheme, and that there is no `#fragment`: the Redis
    /// client reads `#insecure` as "check no certificate" (refused by the
    /// client unless a feature someone else's dependency may turn on is
    /// on). The rest is the Redis client's to parse.
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        if value.contains('#') {
            return Err(
                "must not have a #fragment (#insecure would turn TLS certificate checks off)"
                    .into(),
            );
        }
        let scheme = value.split_once("://").map(|(s, _)| s);
        if !matches!(scheme, Some("redis" | "rediss")) || value.len() > 2048 {
            return Err("must be a redis:// or rediss:// URL".into());
        }
        // A parameter the Redis client does not read (it reads only
        // `protocol`) would be ignored, unsaid: `?db=2` (another client's
        // form; the database is the path, `/2`) would use database 0, maybe
        // another app's. Refused, not named: a password holding a bare `?`
        // ends the authority there, and its rest reads as the query.
        let url = Url::parse(value).map_err(|_| "is not a valid URL".to_owned())?;
        if url.query_pairs().any(|(name, _)| name != "protocol") {
            return Err("has a query parameter other than protocol, which the Redis client ignores: the database is the URL's path (/2), and TLS is rediss://".into());
        }
        // What the Redis client would refuse at the first connection (a
        // path that is not a database number, a wildcard address) is a
        // configuration error now, not a store silently left out. Its error
        // may quote the URL: only its kind.
        #[cfg(feature = "redis")]
        if let Err(e) = redis::Client::open(value) {
            return Err(format!(
                "is not a URL the Redis client can use ({:?})",
                e.kind()
            ));
        }
        Ok(Self {
            url: value.to_owned(),
            authorities: None,
        })
    }

    /// Trusts the certificate authorities in `pem` (one or more PEM
    /// `CERTIFICATE` blocks; `\n` escapes, as a one-line environment
    /// value holds them, are read as line breaks) instead of Mozilla's
    /// roots. Only for a `rediss://` store: on a plain one it would
    /// promise a protection the connection does not have.
    pub(crate) fn trusting(mut self, pem: &str) -> Result<Self, String> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject as _;
        if !self.is_tls() {
            return Err("applies to a rediss:// (TLS) store, and the store URL is redis://".into());
        }
        let pem = if pem.contains('\n') {
            pem.to_owned()
        } else {
            pem.replace("\\n", "\n")
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|_| "holds a malformed PEM block")?;
            roots
                .add(cert)
                .map_err(|_| "holds a CERTIFICATE block that is not a certificate")?;
        }
        if roots.is_empty() {
            return Err(
                "must hold one or more PEM certificates (-----BEGIN CERTIFICATE-----)".into(),
            );
        }
        self.authorities = Some(pem);
        Ok(self)
    }

    /// Whether the connection is TLS.
    pub fn is_tls(&self) -> bool {
        self.url.starts_with("rediss://")
    }

    /// The authorities of `REDIS_CA_PEM`, as PEM, when set.
    #[cfg(feature = "redis")]
    pub(crate) fn authorities(&self) -> Option<&str> {
        self.authorities.as_deref()
    }

    /// Whether the store's password and traffic would cross a network in
    /// clear: a plain `redis://` URL whose host is not loopback.
    pub(crate) fn is_cleartext_remote(&self) -> bool {
        !self.is_tls() && !Url::parse(&self.url).is_ok_and(|url| is_loopback(&url))
    }

    /// The URL itself, password and all: for the store client only.
    #[cfg(feature = "redis")]
    pub(crate) fn secret(&self) -> &str {
        &self.url
    }
}

/// A configuration problem, naming the variable at fault (or, for a
/// [`Config`] built in code, the field). Never holds a secret variable's
/// value; a refused path (`AUTH_BASE_PATH`, `AUTH_ERROR_PAGE`,
/// `AUTH_DEFAULT_RETURN`) is quoted, as it is no secret.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// The environment variable at fault (`Config.issuer`, `Config.paths`
    /// for a [`Config`] built in code).
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.problem)
    }
}

impl std::error::Error for ConfigError {}

pub(crate) fn problem(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

/// Variable `name` through `lookup`, trimmed; `None` when unset or blank.
pub(crate) fn read_var(lookup: impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `value` of variable `name`, unless it is wrapped in quotes (`"…"` or
/// `'…'`): a value set in the Vercel dashboard or an `export` keeps them as
/// typed, and none of these variables can hold them (a URL, a client ID,
/// a key made by `openssl rand`), so it is refused with the fix rather
/// than read as a URL that does not parse, or a client ID Vercel does not
/// know. (`.env` files are read by a parser that takes quotes off.)
pub(crate) fn unquoted(
    name: &'static str,
    value: Option<String>,
) -> Result<Option<String>, ConfigError> {
    let quoted = |q: char| {
        value
            .as_deref()
            .is_some_and(|v| v.len() >= 2 && v.starts_with(q) && v.ends_with(q))
    };
    if quoted('"') || quoted('\'') {
        return Err(problem(
            name,
            "is wrapped in quotes: remove them (a value set in the Vercel dashboard or a shell keeps them as typed)",
        ));
    }
    Ok(value)
}

/// A client ID, from `variable`, must be printable ASCII without spaces
/// and at most 256 characters: it goes into URLs, forms and headers.
pub(crate) fn check_client_id(variable: &'static str, client_id: &str) -> Result<(), ConfigError> {
    if client_id.len() > 256 || !client_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(problem(
            variable,
            "must be printable ASCII without spaces, at most 256 characters",
        ));
    }
    Ok(())
}

/// The client ID is public: it is in every authorization URL, which every
/// visitor who clicks "Sign in" sees, and in their browser's history. A
/// secret pasted in its place (the two values swapped, or a key of
/// `AUTH_SECRET`) would be handed to all of them, so such a configuration
/// is refused. Vercel's client IDs start with `cl_`: a client secret that
/// does, beside a client ID that does not, is taken for a swap. The error
/// quotes neither value.
fn check_id_is_no_secret(
    variable: &'static str,
    client_id: &str,
    client_secret: Option<&ClientSecret>,
    auth_keys: Option<&[&str]>,
) -> Result<(), ConfigError> {
    const PUBLIC: &str = "the client ID is public (every sign-in URL carries it): copy each value from your app's Manage page in the Vercel dashboard";
    if let Some(secret) = client_secret.map(ClientSecret::secret) {
        if secret == client_id {
            return Err(problem(
                variable,
                format!("is the same as VERCEL_APP_CLIENT_SECRET; {PUBLIC}"),
            ));
        }
        if secret.starts_with("cl_") && !client_id.starts_with("cl_") {
            return Err(problem(
                variable,
                format!(
                    "and VERCEL_APP_CLIENT_SECRET look swapped (Vercel's client IDs start with cl_, and the secret does); {PUBLIC}"
                ),
            ));
        }
    }
    if auth_keys.is_some_and(|keys| keys.contains(&client_id)) {
        return Err(problem(
            variable,
            format!("is one of AUTH_SECRET's keys; {PUBLIC}"),
        ));
    }
    Ok(())
}

/// A configuration error for the first of the process's variables `names`
/// whose value is not UTF-8, which `std::env::var(..).ok()` would read as
/// unset.
pub(crate) fn all_utf8(names: &[&'static str]) -> Result<(), ConfigError> {
    let not_unicode = names
        .iter()
        .find(|name| matches!(std::env::var(name), Err(std::env::VarError::NotUnicode(_))));
    match not_unicode {
        Some(name) => Err(problem(name, "is not valid UTF-8")),
        None => Ok(()),
    }
}

/// The environment variables [`Config::from_lookup`] reads (and
/// [`Config::from_env`] checks are UTF-8): what a test harness clears
/// from a child process so that a developer's shell cannot change it.
pub const ENV_VARIABLES: &[&str] = &[
    "VERCEL_APP_CLIENT_ID",
    "NEXT_PUBLIC_VERCEL_APP_CLIENT_ID",
    "VERCEL_APP_CLIENT_SECRET",
    "VERCEL_APP_TOKEN_AUTH",
    "VERCEL_OAUTH_ISSUER",
    "VERCEL_OAUTH_TRUSTED_AUDIENCES",
    "APP_URL",
    "AUTH_SECRET",
    "AUTH_BASE_PATH",
    "AUTH_ERROR_PAGE",
    "AUTH_DEFAULT_RETURN",
    "REDIS_URL",
    "KV_URL",
    "REDIS_CA_PEM",
    "VERCEL_ENV",
];

impl Config {
    /// Reads the configuration from the process environment, as
    /// [`Config::from_lookup`] does; a variable whose value is not UTF-8
    /// is a configuration error naming it, not a variable left unset (an
    /// `AUTH_SECRET` or `REDIS_URL` quietly ignored).
    pub fn from_env() -> Result<Self, ConfigError> {
        all_utf8(ENV_VARIABLES)?;
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, which returns a variable's
    /// value (the process environment, or that plus a `.env.local` file).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &'static str| unquoted(name, read_var(&lookup, name));

        let client_id = match (
            var("VERCEL_APP_CLIENT_ID")?,
            var("NEXT_PUBLIC_VERCEL_APP_CLIENT_ID")?,
        ) {
            (Some(id), _) => ("VERCEL_APP_CLIENT_ID", id),
            (None, Some(id)) => ("NEXT_PUBLIC_VERCEL_APP_CLIENT_ID", id),
            (None, None) => {
                return Err(problem(
                    "VERCEL_APP_CLIENT_ID",
                    "is not set; copy the client ID from your app's Manage page in the Vercel dashboard (or run `vercel env pull`)",
                ));
            }
        };
        let (client_id_var, client_id) = client_id;
        check_client_id(client_id_var, &client_id)?;

        let client_secret = var("VERCEL_APP_CLIENT_SECRET")?.map(ClientSecret::new);
        // Its keys, newest first: read once, for every check below.
        let auth_secret = var("AUTH_SECRET")?;
        let auth_keys: Option<Vec<&str>> = auth_secret
            .as_deref()
            .map(|list| list.split(',').map(str::trim).collect());
        if client_secret
            .as_ref()
            .is_some_and(|s| s.secret().len() > 1024 || s.secret().chars().any(char::is_control))
        {
            return Err(problem(
                "VERCEL_APP_CLIENT_SECRET",
                "must be at most 1024 bytes with no control characters",
            ));
        }

        check_id_is_no_secret(
            client_id_var,
            &client_id,
            client_secret.as_ref(),
            auth_keys.as_deref(),
        )?;

        let token_auth = match (var("VERCEL_APP_TOKEN_AUTH")?.as_deref(), &client_secret) {
            (None, Some(_)) => None,
            (Some("client_secret_post"), Some(_)) => Some(ClientAuthMethod::ClientSecretPost),
            (Some("client_secret_basic"), Some(_)) => Some(ClientAuthMethod::ClientSecretBasic),
            (None | Some("none"), None) => Some(ClientAuthMethod::None),
            (Some("client_secret_post" | "client_secret_basic"), None) => {
                return Err(problem(
                    "VERCEL_APP_CLIENT_SECRET",
                    "is required when VERCEL_APP_TOKEN_AUTH is client_secret_post or client_secret_basic",
                ));
            }
            (Some("none"), Some(_)) => {
                return Err(problem(
                    "VERCEL_APP_TOKEN_AUTH",
                    "is `none` but VERCEL_APP_CLIENT_SECRET is set; remove one of them",
                ));
            }
            (Some(_), _) => {
                return Err(problem(
                    "VERCEL_APP_TOKEN_AUTH",
                    "must be client_secret_post, client_secret_basic or none",
                ));
            }
        };

        let trusted_audiences = match var("VERCEL_OAUTH_TRUSTED_AUDIENCES")? {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|aud| !aud.is_empty())
                .map(|aud| {
                    check_client_id("VERCEL_OAUTH_TRUSTED_AUDIENCES", aud)?;
                    Ok(aud.to_owned())
                })
                .collect::<Result<_, ConfigError>>()?,
        };

        let issuer = match var("VERCEL_OAUTH_ISSUER")? {
            None => VERCEL_ISSUER.to_owned(),
            Some(issuer) => {
                check_provider_url(&lookup, "VERCEL_OAUTH_ISSUER", &issuer)?;
                issuer
            }
        };

        let app_url = var("APP_URL")?
            .map(|url| Origin::parse_configured(&url).map_err(|p| problem("APP_URL", p)))
            .transpose()?;
        // The local app's origin copied from a `.env` file to a deployment:
        // every visitor's browser would be sent, with its code, to its own
        // machine, and the cookies would lose `Secure` and `__Host-`.
        if deployed(&lookup)
            && app_url
                .as_ref()
                .is_some_and(|url| url.is_loopback() || !url.is_secure())
        {
            return Err(problem(
                "APP_URL",
                "must be an https origin, not a loopback one, on a Vercel deployment (VERCEL_ENV production or preview)",
            ));
        }

        let keys = session_keys(auth_keys.as_deref(), client_secret.as_ref())?;
        let spaced_auth_secret = auth_keys
            .iter()
            .flatten()
            .any(|key| key.contains(char::is_whitespace));
        // A key derived from the client secret is for a developer's own
        // machine: each request's origin is checked too (`Provider::origin`),
        // but an origin read from `Host` is the client's to choose where no
        // proxy sets it, so a deployment, or a pinned origin that is not
        // loopback, needs its own key whatever a request says.
        if keys.derived_from_client_secret() {
            let elsewhere = if deployed(&lookup) {
                Some("on a Vercel deployment (VERCEL_ENV production or preview)")
            } else if app_url.as_ref().is_some_and(|url| !url.is_loopback()) {
                Some("when APP_URL is not a loopback origin")
            } else {
                None
            };
            if let Some(elsewhere) = elsewhere {
                return Err(derived_key_refused(elsewhere));
            }
        }

        // The default layout is checked by the tests, not on each cold start.
        let mut paths = match var("AUTH_BASE_PATH")? {
            Some(base) => {
                let paths = Paths::with_base(&base);
                paths.check().map_err(|p| problem("AUTH_BASE_PATH", p))?;
                paths
            }
            None => Paths::default(),
        };
        // The two pages the routes send a browser to, which a project
        // without this one's `public/` has under other paths.
        if let Some(page) = var("AUTH_ERROR_PAGE")? {
            paths.error_page = page;
            paths.check().map_err(|p| problem("AUTH_ERROR_PAGE", p))?;
        }
        if let Some(page) = var("AUTH_DEFAULT_RETURN")? {
            paths.default_return = page;
            paths
                .check()
                .map_err(|p| problem("AUTH_DEFAULT_RETURN", p))?;
        }

        let store_url = match (var("REDIS_URL")?, var("KV_URL")?) {
            (Some(url), _) => Some(("REDIS_URL", url)),
            (None, Some(url)) => Some(("KV_URL", url)),
            (None, None) => None,
        }
        .map(|(name, url)| StoreUrl::parse(&url).map_err(|p| problem(name, p)))
        .transpose()?;
        let store_url = match (store_url, var("REDIS_CA_PEM")?) {
            (store_url, None) => store_url,
            (Some(url), Some(pem)) => {
                Some(url.trusting(&pem).map_err(|p| problem("REDIS_CA_PEM", p))?)
            }
            (None, Some(_)) => {
                return Err(problem(
                    "REDIS_CA_PEM",
                    "is set, and neither REDIS_URL nor KV_URL is",
                ));
            }
        };

        Ok(Self {
            client_id,
            client_secret,
            token_auth,
            issuer,
            app_url,
            keys,
            paths,
            store_url,
            trusted_audiences,
            spaced_auth_secret,
        })
    }

    /// Whether the issuer is Vercel's own, whose endpoints are built in.
    pub fn is_vercel_issuer(&self) -> bool {
        self.issuer == VERCEL_ISSUER
    }

    /// The checks [`Config::from_lookup`] makes of the environment, made of
    /// a configuration built or changed in code: the issuer
    /// ([`check_issuer`]) and the paths ([`Paths::check`]).
    pub(crate) fn checked(self) -> Result<Self, ConfigError> {
        check_issuer(&self.issuer).map_err(|p| problem("Config.issuer", p))?;
        self.paths.check().map_err(|p| problem("Config.paths", p))?;
        Ok(self)
    }
}

/// An issuer must be an `https` URL without query or fragment (OpenID
/// Connect Discovery §2) or credentials; plain `http` only on a loopback
/// host, for local development and tests.
pub(crate) fn check_issuer(issuer: &str) -> Result<Url, String> {
    let url = Url::parse(issuer).map_err(|_| "is not a valid URL".to_owned())?;
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        // Credentials in it would reach discovery's URL and its errors.
        return Err("must not have a query, fragment, user name or password".into());
    }
    // The discovery document's URL, copied for the issuer's: discovery
    // would look for `.well-known/openid-configuration` twice over.
    if url.path().contains("/.well-known/") {
        return Err("must be the issuer's URL, not a /.well-known/ document's".into());
    }
    check_secure_url(&url)?;
    Ok(url)
}

/// Whether this instance runs on a Vercel deployment: `VERCEL_ENV` is
/// `production` or `preview` (`development` under `vercel dev`).
fn deployed(lookup: impl Fn(&str) -> Option<String>) -> bool {
    matches!(
        read_var(&lookup, "VERCEL_ENV").as_deref(),
        Some("production" | "preview")
    )
}

/// [`check_issuer`] for the provider URL in variable `name`, and, on a
/// Vercel deployment (`VERCEL_ENV` `production` or `preview`), no loopback
/// host: that is the local emulator, copied from a `.env` file, which a
/// deployment cannot reach (every sign-in would fail as if Vercel were
/// down).
pub(crate) fn check_provider_url(
    lookup: impl Fn(&str) -> Option<String>,
    name: &'static str,
    value: &str,
) -> Result<(), ConfigError> {
    let url = check_issuer(value).map_err(|p| problem(name, p))?;
    if deployed(&lookup) && is_loopback(&url) {
        return Err(problem(
            name,
            "names a loopback host (the local emulator), which a deployment cannot reach; \
             remove it from the project's environment to sign in with Vercel",
        ));
    }
    Ok(())
}

/// How to make an `AUTH_SECRET`, for the errors that ask for one.
const MAKE_A_SECRET: &str = "generate one with `openssl rand -base64 32`";

/// `AUTH_SECRET` values the documentation shows: a key anyone can read
/// seals sessions anyone can forge, so each is refused.
const EXAMPLE_SECRETS: &[&str] = &["a-random-string-of-at-least-32-characters"];

/// The error of a key derived from the client secret used `where_` (on an
/// origin, on a deployment) that only local development may use it.
pub(crate) fn derived_key_refused(where_: &str) -> ConfigError {
    problem(
        "AUTH_SECRET",
        format!(
            "is required {where_}: without it sessions are sealed with a key derived from the client secret, which only local development on a loopback origin accepts; {MAKE_A_SECRET}"
        ),
    )
}

/// The cookie-sealing keys: every entry of `AUTH_SECRET` (at least 32
/// bytes each, newest first), else one derived from the client secret; a
/// public client has no secret to derive from, so it needs `AUTH_SECRET`.
fn session_keys(
    auth_keys: Option<&[&str]>,
    client_secret: Option<&ClientSecret>,
) -> Result<Keys, ConfigError> {
    let keys = match (auth_keys, client_secret) {
        (Some(entries), _) => {
            // A line break inside: a rotation list written one key a line.
            if entries.iter().any(|e| e.contains(['\n', '\r'])) {
                return Err(problem(
                    "AUTH_SECRET",
                    "holds a line break: a rotation list is comma-separated on one line (AUTH_SECRET=new,old)",
                ));
            }
            if entries
                .iter()
                .any(|e| e.len() < seal::MIN_SECRET_BYTES || e.chars().any(char::is_control))
            {
                return Err(problem(
                    "AUTH_SECRET",
                    format!(
                        "each comma-separated key must be at least {} bytes of random data; {MAKE_A_SECRET}",
                        seal::MIN_SECRET_BYTES
                    ),
                ));
            }
            if entries.iter().any(|e| EXAMPLE_SECRETS.contains(e)) {
                return Err(problem(
                    "AUTH_SECRET",
                    format!(
                        "is the documentation's example, which anyone can read; {MAKE_A_SECRET}"
                    ),
                ));
            }
            Keys::derive(Source::AuthSecret, entries.iter().map(|e| e.as_bytes()))
        }
        (None, Some(secret)) if secret.secret().len() >= seal::MIN_SECRET_BYTES => {
            Keys::derive(Source::ClientSecret, [secret.secret().as_bytes()])
        }
        (None, Some(_)) => {
            return Err(problem(
                "AUTH_SECRET",
                format!(
                    "is required: the client secret is too short to derive the session key from (under {} bytes); {MAKE_A_SECRET}",
                    seal::MIN_SECRET_BYTES
                ),
            ));
        }
        (None, None) => {
            return Err(problem(
                "AUTH_SECRET",
                format!(
                    "is required for a public client (no VERCEL_APP_CLIENT_SECRET): it seals the session cookie; {MAKE_A_SECRET}"
                ),
            ));
        }
    };
    keys.ok_or_else(|| problem("AUTH_SECRET", "cannot derive a key from it"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    /// A configuration built or changed in code is checked as the
    /// environment's is: every route then answers the configuration error.
    #[test]
    fn a_configuration_set_in_code_is_checked_too() {
        let good = || load(&[("VERCEL_APP_CLIENT_ID", "x"), ("AUTH_SECRET", AUTH_SECRET)]).unwrap();
        let of = |provider: crate::Provider| provider.config().err().map(|e| e.to_string());
        assert_eq!(of(crate::Provider::new(Ok(good()))), None);
        for issuer in ["http://op.example", "https://:hunter2@op.example"] {
            let mut config = good();
            config.issuer = issuer.into();
            let error = of(crate::Provider::new(Ok(config))).unwrap();
            assert!(error.contains("Config.issuer"), "{error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
        let mut config = good();
        config.paths.default_return = "//evil.example".into();
        let error = of(crate::Provider::new(Ok(config))).unwrap();
        assert!(error.contains("Config.paths"), "{error}");
        for paths in [
            Paths::with_base("api/login"),
            Paths::with_base("//evil.example"),
        ] {
            let provider = crate::Provider::new(Ok(good())).with_paths(paths);
            let error = of(provider).unwrap();
            assert!(error.contains("Config.paths"), "{error}");
        }
        let moved = crate::Provider::new(Ok(good())).with_paths(Paths::with_base("/api/login"));
        assert_eq!(moved.paths().callback, "/api/login/callback");
    }

    #[test]
    fn a_plain_store_url_to_another_host_is_cleartext() {
        for (url, cleartext) in [
            ("redis://default:pw@redis-1.cloud.example:12345", true),
            ("redis://10.0.0.1:6379", true),
            ("redis://localhost.evil.example:6379", true),
            ("rediss://default:pw@redis-1.cloud.example:12345", false),
            ("redis://127.0.0.1:6379", false),
            ("redis://:pw@localhost:6379/0", false),
            ("redis://[::1]:6379", false),
        ] {
            let store = StoreUrl::parse(url).unwrap();
            assert_eq!(store.is_cleartext_remote(), cleartext, "{url}");
        }
    }

    #[test]
    fn a_deployment_refuses_the_local_emulator() {
        let emulator = [
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("AUTH_SECRET", AUTH_SECRET),
            ("VERCEL_OAUTH_ISSUER", "http://127.0.0.1:3001"),
        ];
        for env in ["production", "preview"] {
            let vars: Vec<_> = emulator
                .iter()
                .copied()
                .chain([("VERCEL_ENV", env)])
                .collect();
            let err = load(&vars).unwrap_err();
            assert_eq!(err.variable, "VERCEL_OAUTH_ISSUER", "{env}");
            assert!(err.problem.contains("loopback"), "{err}");
        }
        let vars: Vec<_> = emulator
            .iter()
            .copied()
            .chain([("VERCEL_ENV", "development")])
            .collect();
        assert!(load(&vars).is_ok(), "vercel dev");
        assert!(load(&emulator).is_ok(), "cargo run");
    }

    /// The local app's origin, copied from a `.env` file to a deployment,
    /// would send every visitor's browser (and code) to their own machine:
    /// a deployment's `APP_URL` is an https origin that is not loopback.
    #[test]
    fn a_deployment_refuses_a_local_app_url() {
        let base = [("VERCEL_APP_CLIENT_ID", "x"), ("AUTH_SECRET", AUTH_SECRET)];
        let with = |extra: &[(&'static str, &'static str)]| {
            let vars: Vec<_> = base.iter().chain(extra).copied().collect();
            load(&vars)
        };
        for env in ["production", "preview"] {
            for url in [
                "http://localhost:3000",
                "https://localhost:3000",
                "http://127.0.0.1:3000",
            ] {
                let err = with(&[("VERCEL_ENV", env), ("APP_URL", url)]).unwrap_err();
                assert_eq!(err.variable, "APP_URL", "{env} {url}");
                assert!(err.problem.contains("https"), "{err}");
            }
            assert!(with(&[("VERCEL_ENV", env), ("APP_URL", "https://app.example.com")]).is_ok());
        }
        assert!(
            with(&[
                ("VERCEL_ENV", "development"),
                ("APP_URL", "http://localhost:3000")
            ])
            .is_ok()
        );
        assert!(with(&[("APP_URL", "http://localhost:3000")]).is_ok());
    }

    /// A key derived from the client secret is refused where the request's
    /// `Host` cannot be trusted to say "local development": on a
    /// deployment, and behind a pinned origin that is not loopback.
    #[test]
    fn a_deployment_needs_its_own_session_key() {
        let local = [
            ("VERCEL_APP_CLIENT_ID", "x"),
            (
                "VERCEL_APP_CLIENT_SECRET",
                "a-client-secret-of-32-characters-or-more",
            ),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let vars: Vec<_> = local.iter().chain(extra).copied().collect();
            load(&vars)
        };
        for extra in [
            &[("VERCEL_ENV", "production")][..],
            &[("VERCEL_ENV", "preview")],
            &[("APP_URL", "https://app.example.com")],
            &[
                ("VERCEL_ENV", "development"),
                ("APP_URL", "https://app.example.com"),
            ],
        ] {
            let err = with(extra).unwrap_err();
            assert_eq!(err.variable, "AUTH_SECRET", "{extra:?}");
            assert!(err.problem.contains("client secret"), "{err}");
        }
        for extra in [
            &[][..],
            &[("VERCEL_ENV", "development")],
            &[("APP_URL", "http://localhost:3000")],
            &[("VERCEL_ENV", "production"), ("AUTH_SECRET", AUTH_SECRET)],
            &[
                ("APP_URL", "https://app.example.com"),
                ("AUTH_SECRET", AUTH_SECRET),
            ],
        ] {
            assert!(with(extra).is_ok(), "{extra:?}");
        }
    }

    #[test]
    fn missing_client_id_names_the_variable() {
        let err = load(&[]).unwrap_err();
        assert_eq!(err.variable, "VERCEL_APP_CLIENT_ID");
    }

    const AUTH_SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn next_public_client_id_from_the_guide_is_accepted() {
        let c = load(&[
            ("NEXT_PUBLIC_VERCEL_APP_CLIENT_ID", "cl_abc"),
            ("AUTH_SECRET", AUTH_SECRET),
        ])
        .unwrap();
        assert_eq!(c.client_id, "cl_abc");
        assert_eq!(c.token_auth, Some(ClientAuthMethod::None));
        assert!(c.is_vercel_issuer());
    }

    /// A client ID goes into URLs, forms and the seal's context: printable
    /// ASCII without spaces, at most 256 characters, under either name.
    #[test]
    fn client_id_must_be_printable_ascii_of_at_most_256_characters() {
        let longest = "c".repeat(256);
        let too_long = "c".repeat(257);
        for name in ["VERCEL_APP_CLIENT_ID", "NEXT_PUBLIC_VERCEL_APP_CLIENT_ID"] {
            for (client_id, ok) in [
                ("cl_abc-~!", true),
                (longest.as_str(), true),
                (too_long.as_str(), false),
                ("cl abc", false),
                ("cl_\u{e9}", false),
                ("cl_\tabc", false),
                ("cl_\u{7f}", false),
            ] {
                let read = load(&[(name, client_id), ("AUTH_SECRET", AUTH_SECRET)]);
                match read {
                    Ok(c) => assert!(ok && c.client_id == client_id, "{name} {client_id:?}"),
                    Err(e) => assert!(!ok && e.variable == name, "{name} {client_id:?}"),
                }
            }
        }
    }

    /// A rotation list written one key a line is refused saying so (it
    /// read as a key too short, or with a control character), and never
    /// quoting a key.
    #[test]
    fn a_line_break_in_auth_secret_is_named() {
        let new = "f".repeat(40);
        for list in [
            format!("{new}\n{AUTH_SECRET}"),
            format!("{new}\r\n{AUTH_SECRET}"),
        ] {
            let err =
                load(&[("VERCEL_APP_CLIENT_ID", "cl_abc"), ("AUTH_SECRET", &list)]).unwrap_err();
            assert_eq!(err.variable, "AUTH_SECRET");
            let said = err.to_string();
            assert!(
                said.contains("line break") && said.contains("new,old"),
                "{said}"
            );
            assert!(
                !said.contains(&new) && !said.contains(AUTH_SECRET),
                "{said}"
            );
        }
    }

    /// `VERCEL_OAUTH_TRUSTED_AUDIENCES`: comma-separated, spaces and empty
    /// entries dropped, each checked as a client ID is; none when unset.
    #[test]
    fn trusted_audiences_are_a_comma_separated_list() {
        let base = [
            ("VERCEL_APP_CLIENT_ID", "cl_abc"),
            ("AUTH_SECRET", AUTH_SECRET),
        ];
        assert!(load(&base).unwrap().trusted_audiences.is_empty());
        let mut vars = base.to_vec();
        vars.push(("VERCEL_OAUTH_TRUSTED_AUDIENCES", " 6923, proj-b ,"));
        assert_eq!(load(&vars).unwrap().trusted_audiences, ["6923", "proj-b"]);
        vars.pop();
        vars.push(("VERCEL_OAUTH_TRUSTED_AUDIENCES", "a b"));
        assert_eq!(
            load(&vars).unwrap_err().variable,
            "VERCEL_OAUTH_TRUSTED_AUDIENCES"
        );
    }

    /// A value wrapped in quotes, as the Vercel dashboard or a shell keeps
    /// it, is refused with the fix, naming the variable and not the value;
    /// a quote inside a value is not a wrapping.
    #[test]
    fn a_value_in_quotes_is_refused_with_the_fix() {
        for (name, value) in [
            ("VERCEL_APP_CLIENT_ID", "\"cl_abc\""),
            (
                "VERCEL_APP_CLIENT_SECRET",
                "'0123456789abcdef0123456789abcdef'",
            ),
            ("AUTH_SECRET", "\"0123456789abcdef0123456789abcdef-x\""),
            ("APP_URL", "\"https://app.example.com\""),
            ("REDIS_URL", "'rediss://default:pw@store.example.com:6380'"),
            ("VERCEL_OAUTH_ISSUER", " \"https://vercel.com\" "),
        ] {
            let mut vars = vec![
                ("VERCEL_APP_CLIENT_ID", "cl_abc"),
                ("AUTH_SECRET", AUTH_SECRET),
            ];
            vars.retain(|(n, _)| *n != name);
            vars.push((name, value));
            let err = load(&vars).unwrap_err();
            assert_eq!(err.variable, name, "{value}");
            let said = err.to_string();
            assert!(said.contains("wrapped in quotes: remove them"), "{said}");
            assert!(
                !said.contains(value.trim().trim_matches(['"', '\''])),
                "{said}"
            );
        }
        let c = load(&[
            ("VERCEL_APP_CLIENT_ID", "cl_abc"),
            (
                "VERCEL_APP_CLIENT_SECRET",
                "\"0123456789abcdef0123456789abcdef",
            ),
            ("AUTH_SECRET", AUTH_SECRET),
        ])
        .unwrap();
        assert!(
            c.client_secret.is_some(),
            "a quote at one end only is part of the value"
        );
    }

    /// A secret where the public client ID goes (every sign-in URL carries
    /// it) is refused, naming neither value: the two swapped, the same
    /// value in both, or a key of `AUTH_SECRET`.
    #[test]
    fn a_secret_in_place_of_the_client_id_is_refused() {
        let secret = "Xy7sK2pQ9vRt4LmN8bWc3FhJ6dGa1ZeU";
        for (vars, refused) in [
            (
                vec![
                    ("VERCEL_APP_CLIENT_ID", secret),
                    ("VERCEL_APP_CLIENT_SECRET", "cl_p4M3ExwwNx2qfEMWQHZfoajU"),
                ],
                true,
            ),
            (
                vec![
                    ("VERCEL_APP_CLIENT_ID", secret),
                    ("VERCEL_APP_CLIENT_SECRET", secret),
                ],
                true,
            ),
            (vec![("VERCEL_APP_CLIENT_ID", AUTH_SECRET)], true),
            (
                vec![("NEXT_PUBLIC_VERCEL_APP_CLIENT_ID", AUTH_SECRET)],
                true,
            ),
            // Both from the dashboard, the right way round.
            (
                vec![
                    ("VERCEL_APP_CLIENT_ID", "cl_p4M3ExwwNx2qfEMWQHZfoajU"),
                    ("VERCEL_APP_CLIENT_SECRET", secret),
                ],
                false,
            ),
            // Another provider's IDs need not look like Vercel's.
            (
                vec![
                    ("VERCEL_APP_CLIENT_ID", "my-app"),
                    ("VERCEL_APP_CLIENT_SECRET", secret),
                ],
                false,
            ),
        ] {
            let mut all = vars.clone();
            all.push(("AUTH_SECRET", AUTH_SECRET));
            match load(&all) {
                Ok(_) => assert!(!refused, "{vars:?}"),
                Err(e) => {
                    assert!(refused, "{vars:?}: {e}");
                    assert!(e.variable.ends_with("VERCEL_APP_CLIENT_ID"), "{e}");
                    let said = e.to_string();
                    for (_, value) in &all {
                        assert!(!said.contains(value), "{said}");
                    }
                }
            }
        }
        // A rotation list: any of its keys.
        let err = load(&[
            ("VERCEL_APP_CLIENT_ID", AUTH_SECRET),
            ("AUTH_SECRET", &format!("{}, {AUTH_SECRET}", "f".repeat(32))),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "VERCEL_APP_CLIENT_ID");
    }

    /// A client secret is sent in a form or a Basic header: at most 1024
    /// characters, none of them a control character.
    #[test]
    fn client_secret_must_be_at_most_1024_characters_without_controls() {
        let longest = "s".repeat(1024);
        let too_long = "s".repeat(1025);
        for (secret, ok) in [
            (longest.as_str(), true),
            (too_long.as_str(), false),
            ("0123456789abcdef\n0123456789abcdef", false),
            ("0123456789abcdef\u{0}0123456789abcdef", false),
            ("0123456789abcdef\u{85}0123456789abcdef", false),
        ] {
            let read = load(&[
                ("VERCEL_APP_CLIENT_ID", "cl_abc"),
                ("VERCEL_APP_CLIENT_SECRET", secret),
                ("AUTH_SECRET", AUTH_SECRET),
            ]);
            match read {
                Ok(c) => assert!(
                    ok && c.client_secret.is_some(),
                    "{} characters",
                    secret.len()
                ),
                Err(e) => assert!(
                    !ok && e.variable == "VERCEL_APP_CLIENT_SECRET",
                    "{} characters",
                    secret.len()
                ),
            }
        }
    }

    /// `VERCEL_APP_TOKEN_AUTH` as set; not set, `none` for a public client
    /// and left to the provider's metadata for one with a secret.
    #[test]
    fn token_auth_is_read_from_the_environment() {
        for (method, secret, read) in [
            ("", Some(AUTH_SECRET), None),
            (
                "client_secret_post",
                Some(AUTH_SECRET),
                Some(ClientAuthMethod::ClientSecretPost),
            ),
            (
                "client_secret_basic",
                Some(AUTH_SECRET),
                Some(ClientAuthMethod::ClientSecretBasic),
            ),
            ("", None, Some(ClientAuthMethod::None)),
            ("none", None, Some(ClientAuthMethod::None)),
        ] {
            let mut vars = vec![
                ("VERCEL_APP_CLIENT_ID", "cl_abc"),
                ("VERCEL_APP_TOKEN_AUTH", method),
                ("AUTH_SECRET", AUTH_SECRET),
            ];
            vars.extend(secret.map(|s| ("VERCEL_APP_CLIENT_SECRET", s)));
            assert_eq!(load(&vars).unwrap().token_auth, read, "{method:?}");
        }
    }

    #[test]
    fn basic_auth_without_secret_is_an_error() {
        let err = load(&[
            ("VERCEL_APP_CLIENT_ID", "cl_abc"),
            ("VERCEL_APP_TOKEN_AUTH", "client_secret_basic"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "VERCEL_APP_CLIENT_SECRET");
    }

    #[test]
    fn unknown_token_auth_is_an_error() {
        let err = load(&[
            ("VERCEL_APP_CLIENT_ID", "cl_abc"),
            ("VERCEL_APP_CLIENT_SECRET", AUTH_SECRET),
            ("VERCEL_APP_TOKEN_AUTH", "private_key_jwt"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "VERCEL_APP_TOKEN_AUTH");
    }

    /// Only Vercel's own issuer, compared exactly, gets the built-in
    /// endpoints; any other issuer's are discovered (OpenID Connect
    /// Discovery §4).
    #[test]
    fn only_vercels_issuer_uses_the_built_in_endpoints() {
        for (issuer, vercel) in [
            (VERCEL_ISSUER, true),
            ("https://vercel.com/tenant", false),
            ("https://op.example.com", false),
        ] {
            let c = load(&[
                ("VERCEL_APP_CLIENT_ID", "x"),
                ("VERCEL_OAUTH_ISSUER", issuer),
                ("AUTH_SECRET", AUTH_SECRET),
            ])
            .unwrap();
            assert_eq!(c.is_vercel_issuer(), vercel, "{issuer}");
        }
    }

    #[test]
    fn http_issuer_only_on_loopback() {
        for ok in [
            "http://localhost:3001",
            "http://127.0.0.1:9",
            "http://[::1]:9",
            "https://example.com/tenant",
        ] {
            let c = load(&[
                ("VERCEL_APP_CLIENT_ID", "x"),
                ("VERCEL_OAUTH_ISSUER", ok),
                ("AUTH_SECRET", AUTH_SECRET),
            ])
            .unwrap();
            assert_eq!(c.issuer, ok);
        }
        for bad in [
            "http://example.com",
            "ftp://localhost",
            "https://example.com?x=1",
            "https://example.com#f",
            "not a url",
            "http://localhost.evil.com",
            "https://user@example.com",
            "https://:password@example.com",
            "https://vercel.com/.well-known/openid-configuration",
            "https://op.example.com/tenant/.well-known/openid-configuration",
        ] {
            let err =
                load(&[("VERCEL_APP_CLIENT_ID", "x"), ("VERCEL_OAUTH_ISSUER", bad)]).unwrap_err();
            assert_eq!(err.variable, "VERCEL_OAUTH_ISSUER", "{bad}");
        }
    }

    #[test]
    fn only_redis_urls_are_store_urls_and_they_never_print() {
        let url = StoreUrl::parse("rediss://default:s3cret@redis.example:6380").unwrap();
        assert!(url.is_tls());
        assert!(!format!("{url:?}").contains("s3cret"));
        assert!(!StoreUrl::parse("redis://localhost:6379").unwrap().is_tls());
        for bad in [
            "https://redis.example",
            "localhost:6379",
            "",
            "rediss://default:pw@redis.example:6380/#insecure",
            "rediss://redis.example:6380#x",
        ] {
            assert!(StoreUrl::parse(bad).is_err(), "{bad}");
        }
    }

    /// Every variable the configuration reads is one `Config::from_env`
    /// checks for a value that is not UTF-8.
    #[test]
    fn every_variable_read_is_checked_for_utf8() {
        let read = std::cell::RefCell::new(Vec::new());
        let _ = Config::from_lookup(|name| {
            read.borrow_mut().push(name.to_owned());
            match name {
                "VERCEL_APP_CLIENT_ID" => Some("x".into()),
                "AUTH_SECRET" => Some(AUTH_SECRET.into()),
                "REDIS_URL" => Some("redis://127.0.0.1:6379".into()),
                "APP_URL" => Some("http://localhost:3000".into()),
                _ => None,
            }
        });
        let read = read.into_inner();
        assert!(read.len() >= 10, "{read:?}");
        for name in read {
            assert!(ENV_VARIABLES.contains(&name.as_str()), "{name}");
        }
    }

    /// A store URL the Redis client would refuse at its first connection
    /// is a configuration error naming the variable it came from, and not
    /// its password; the client's own error is not quoted.
    #[cfg(feature = "redis")]
    #[test]
    fn a_store_url_the_redis_client_refuses_is_a_configuration_error() {
        for (name, url) in [
            (
                "REDIS_URL",
                "rediss://default:s3cret@kv.example:6379/notadb",
            ),
            ("KV_URL", "redis://0.0.0.0:6379"),
            (
                "REDIS_URL",
                "rediss://default:s3cret@kv.example:6379/?protocol=bogus",
            ),
        ] {
            let err = load(&[
                ("VERCEL_APP_CLIENT_ID", "x"),
                ("AUTH_SECRET", AUTH_SECRET),
                (name, url),
            ])
            .unwrap_err();
            assert_eq!(err.variable, name, "{url}");
            assert!(err.problem.contains("Redis client"), "{err}");
            assert!(!err.to_string().contains("s3cret"), "{err}");
        }
        assert!(StoreUrl::parse("rediss://default:s3cret@kv.example:6379/0").is_ok());
        assert!(StoreUrl::parse("rediss://default:s3cret@kv.example:6379/?protocol=resp3").is_ok());
        // A parameter the client would ignore is refused, without quoting
        // the URL (a password's bare `?` starts what reads as the query).
        for url in [
            "rediss://default:s3cret@kv.example:6379/?db=2",
            "rediss://default:s3cret@kv.example:6379/?ssl_cert_reqs=none",
            "redis://127.0.0.1:6379/0?protocol=resp3&timeout=5",
            "rediss://default:123?s3cret@kv.example:6379",
        ] {
            let err = StoreUrl::parse(url).unwrap_err();
            assert!(err.contains("other than protocol"), "{url}: {err}");
            assert!(!err.contains("s3cret") && !err.contains("db"), "{err}");
        }
    }

    /// A store URL is at most 2048 bytes, and its `Debug` says nothing of
    /// it, not even that it is TLS.
    #[test]
    fn a_store_url_is_at_most_2048_bytes_and_prints_as_redacted() {
        let of_length = |len: usize| {
            let prefix = "rediss://default:pw@redis.example:6380/";
            format!("{prefix}{}", "0".repeat(len - prefix.len()))
        };
        assert!(StoreUrl::parse(&of_length(2048)).is_ok());
        assert!(StoreUrl::parse(&of_length(2049)).is_err());
        let url = StoreUrl::parse("rediss://default:s3cret@redis.example:6380").unwrap();
        assert_eq!(format!("{url:?}"), "StoreUrl([redacted])");
        assert_eq!(format!("{:?}", Some(&url)), "Some(StoreUrl([redacted]))");
    }

    #[test]
    fn the_store_is_redis_url_else_kv_url() {
        let base = [("VERCEL_APP_CLIENT_ID", "x"), ("AUTH_SECRET", AUTH_SECRET)];
        let with = |extra: &[(&'static str, &'static str)]| {
            let vars: Vec<_> = base.iter().chain(extra).copied().collect();
            load(&vars)
        };
        assert!(with(&[]).unwrap().store_url.is_none());
        let kv = with(&[("KV_URL", "rediss://default:p@kv.example:6379")]).unwrap();
        assert!(kv.store_url.unwrap().is_tls());
        let both = with(&[
            ("KV_URL", "rediss://kv.example:6379"),
            ("REDIS_URL", "redis://localhost:6379"),
        ])
        .unwrap();
        assert!(!both.store_url.unwrap().is_tls());
        let bad = with(&[("REDIS_URL", "http://redis.example")]).unwrap_err();
        assert_eq!(bad.variable, "REDIS_URL");
    }

    /// A certificate authority's certificate (`tests/support/store-tls/ca.pem`).
    const AUTHORITY: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBpTCCAUugAwIBAgIUXaKSygZCMry8DCJ7TIkBDePJvBswCgYIKoZIzj0EAwIw\n\
HzEdMBsGA1UEAwwUVGVzdCBzdG9yZSBhdXRob3JpdHkwIBcNMjYxMjAzMDgwNTQ0\n\
WhgPMjEyNjExMDkwODA1NDRaMB8xHTAbBgNVBAMMFFRlc3Qgc3RvcmUgYXV0aG9y\n\
aXR5MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEjG5wZlbWsFZRY6vsFpDoYUkl\n\
zB7nRDmQnJFeXPqCrbJFcercyKSjvvhB2DXPkm+Koi/dUXQkx+OayDvtWwdGiqNj\n\
MGEwHQYDVR0OBBYEFKAvbJyQGisUSSEKGp+Cwx71w7E/MB8GA1UdIwQYMBaAFKAv\n\
bJyQGisUSSEKGp+Cwx71w7E/MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQD\n\
AgEGMAoGCCqGSM49BAMCA0gAMEUCIQCH4j7TsaS3Ot8AToUp+JYnpOv6x942I84k\n\
kTju7LqEUAIgbpPfoIKOMNB4lmPZPNJrtyWtAg1kqwIh1G3w2+y7xh0=\n\
-----END CERTIFICATE-----\n\
";

    #[test]
    fn redis_ca_pem_names_the_authorities_a_tls_store_is_trusted_by() {
        let base = [
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("AUTH_SECRET", AUTH_SECRET),
            ("KV_URL", "rediss://default:p@kv.example:6379"),
        ];
        let with = |pem: &str| {
            let mut vars = base.to_vec();
            vars.push(("REDIS_CA_PEM", pem));
            load(&vars)
        };
        // As written, and on one line with `\n` escapes.
        let one_line = AUTHORITY.replace('\n', "\\n");
        for pem in [AUTHORITY, one_line.as_str()] {
            let store = with(pem).unwrap().store_url.unwrap();
            #[cfg(feature = "redis")]
            assert_eq!(store.authorities().map(str::trim), Some(AUTHORITY.trim()));
            assert!(store.is_tls());
        }
        let twice = format!("{AUTHORITY}{AUTHORITY}");
        assert!(with(&twice).is_ok());
        // Not a certificate: refused, naming the variable.
        let key_only = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let broken = AUTHORITY.replace("MIIB", "MIIC");
        for bad in ["hello", key_only, &broken] {
            let e = with(bad).unwrap_err();
            assert_eq!(e.variable, "REDIS_CA_PEM", "{bad}");
        }
        // Only for a TLS store, and only with a store.
        let plain = load(&[
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("AUTH_SECRET", AUTH_SECRET),
            ("REDIS_URL", "redis://localhost:6379"),
            ("REDIS_CA_PEM", AUTHORITY),
        ]);
        assert_eq!(plain.unwrap_err().variable, "REDIS_CA_PEM");
        let alone = load(&[
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("AUTH_SECRET", AUTH_SECRET),
            ("REDIS_CA_PEM", AUTHORITY),
        ]);
        assert_eq!(alone.unwrap_err().variable, "REDIS_CA_PEM");
    }

    #[test]
    fn auth_base_path_moves_the_sign_in_routes() {
        let c = load(&[
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("AUTH_SECRET", AUTH_SECRET),
            ("AUTH_BASE_PATH", "/api/login"),
        ])
        .unwrap();
        assert_eq!(c.paths.callback, "/api/login/callback");
        let c = load(&[
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("AUTH_SECRET", AUTH_SECRET),
            ("AUTH_ERROR_PAGE", "/oops"),
            ("AUTH_DEFAULT_RETURN", "/"),
        ])
        .unwrap();
        assert_eq!(
            (c.paths.error_page.as_str(), c.paths.default_return.as_str()),
            ("/oops", "/")
        );
        assert_eq!(c.paths.authorize, "/api/auth/authorize");
        for variable in ["AUTH_ERROR_PAGE", "AUTH_DEFAULT_RETURN"] {
            for bad in ["https://evil.example/", "//evil.example", "/x?y=1", "oops"] {
                let err = load(&[
                    ("VERCEL_APP_CLIENT_ID", "x"),
                    ("AUTH_SECRET", AUTH_SECRET),
                    (variable, bad),
                ])
                .unwrap_err();
                assert_eq!(err.variable, variable, "{bad}");
            }
        }
        let err = load(&[
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("AUTH_SECRET", AUTH_SECRET),
            ("AUTH_BASE_PATH", "//evil.example"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "AUTH_BASE_PATH");
    }

    #[test]
    fn malformed_app_url_names_the_variable() {
        let err = load(&[
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("APP_URL", "http://example.com"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "APP_URL");
    }

    #[test]
    fn public_client_without_auth_secret_names_auth_secret() {
        let err = load(&[("VERCEL_APP_CLIENT_ID", "x")]).unwrap_err();
        assert_eq!(err.variable, "AUTH_SECRET");
    }

    #[test]
    fn short_auth_secret_is_refused() {
        let err = load(&[
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("VERCEL_APP_CLIENT_SECRET", AUTH_SECRET),
            ("AUTH_SECRET", &format!("{AUTH_SECRET},short")),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "AUTH_SECRET");
        assert!(!err.problem.contains("short"));
    }

    /// The README's example value, pasted as it is (alone or in a list),
    /// is no key.
    #[test]
    fn the_documentations_example_auth_secret_is_refused() {
        for secret in [
            "a-random-string-of-at-least-32-characters".to_owned(),
            format!("{AUTH_SECRET}, a-random-string-of-at-least-32-characters"),
        ] {
            let err = load(&[("VERCEL_APP_CLIENT_ID", "x"), ("AUTH_SECRET", &secret)]).unwrap_err();
            assert_eq!(err.variable, "AUTH_SECRET");
            assert!(err.problem.contains("example"), "{}", err.problem);
            assert!(!err.problem.contains("a-random"), "{}", err.problem);
        }
    }

    #[test]
    fn client_secret_alone_gives_a_sealing_key() {
        assert!(
            load(&[
                ("VERCEL_APP_CLIENT_ID", "x"),
                ("VERCEL_APP_CLIENT_SECRET", AUTH_SECRET)
            ])
            .is_ok()
        );
    }

    #[test]
    fn a_client_secret_too_short_to_derive_from_needs_auth_secret() {
        let err = load(&[
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("VERCEL_APP_CLIENT_SECRET", "short"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "AUTH_SECRET");
        assert!(
            load(&[
                ("VERCEL_APP_CLIENT_ID", "x"),
                ("VERCEL_APP_CLIENT_SECRET", "short"),
                ("AUTH_SECRET", AUTH_SECRET),
            ])
            .is_ok()
        );
    }

    #[test]
    fn config_error_never_holds_the_secret() {
        let err = load(&[
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("VERCEL_APP_CLIENT_SECRET", "topsecret\u{1}"),
        ])
        .unwrap_err();
        assert!(!format!("{err} {err:?}").contains("topsecret"));
    }
}
