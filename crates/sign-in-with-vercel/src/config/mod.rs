//! Configuration, read once from the environment into a typed value.
//!
//! A missing or malformed variable is a [`ConfigError`] that names it; the
//! routes turn it into a "configuration" error page or JSON answer and a log
//! line, never a crash.
//!
//! Its parts, each in its own module: the shared store's URL
//! (`store_url`), reading a variable and the checks for an operator's
//! mistakes in one (`variables`), the issuer's and other provider URLs'
//! checks (`urls`), and the keys that seal the cookies (`keys`).

mod keys;
mod store_url;
mod urls;
mod variables;

use std::fmt;

use crate::origin::Origin;
use crate::paths::Paths;
use crate::seal::Keys;
use crate::secret::ClientSecret;

pub(crate) use keys::derived_key_refused;
use keys::session_keys;
pub use store_url::StoreUrl;
pub(crate) use urls::{check_issuer, check_provider_url};
use variables::check_id_is_no_secret;
pub(crate) use variables::deployed;
pub(crate) use variables::{all_utf8, check_client_id, read_unquoted};

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
        let var = |name: &'static str| read_unquoted(&lookup, name);
        // Whether this is a Vercel deployment, for the checks below.
        let deployed = deployed(&lookup);

        // The fallback is read only when the first is unset: a value never
        // used is no reason to refuse the configuration.
        let client_id = match var("VERCEL_APP_CLIENT_ID")? {
            Some(id) => ("VERCEL_APP_CLIENT_ID", id),
            None => match var("NEXT_PUBLIC_VERCEL_APP_CLIENT_ID")? {
                Some(id) => ("NEXT_PUBLIC_VERCEL_APP_CLIENT_ID", id),
                None => {
                    return Err(problem(
                        "VERCEL_APP_CLIENT_ID",
                        "is not set; copy the client ID from your app's Manage page in the Vercel dashboard (or run `vercel env pull`)",
                    ));
                }
            },
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
                check_provider_url(deployed, "VERCEL_OAUTH_ISSUER", &issuer)?;
                issuer
            }
        };

        let app_url = var("APP_URL")?
            .map(|url| Origin::parse_configured(&url).map_err(|p| problem("APP_URL", p)))
            .transpose()?;
        // The local app's origin copied from a `.env` file to a deployment:
        // every visitor's browser would be sent, with its code, to its own
        // machine, and the cookies would lose `Secure` and `__Host-`.
        if deployed
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
            let elsewhere = if deployed {
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

        let store_url = match var("REDIS_URL")? {
            Some(url) => Some(("REDIS_URL", url)),
            None => var("KV_URL")?.map(|url| ("KV_URL", url)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    pub(super) fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
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

    #[test]
    fn missing_client_id_names_the_variable() {
        let err = load(&[]).unwrap_err();
        assert_eq!(err.variable, "VERCEL_APP_CLIENT_ID");
    }

    pub(super) const AUTH_SECRET: &str = "0123456789abcdef0123456789abcdef";

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
    fn config_error_never_holds_the_secret() {
        let err = load(&[
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("VERCEL_APP_CLIENT_SECRET", "topsecret\u{1}"),
        ])
        .unwrap_err();
        assert!(!format!("{err} {err:?}").contains("topsecret"));
    }

    /// Every variable the configuration reads has its row in the crate's
    /// documentation, the table users read on docs.rs.
    #[test]
    fn every_variable_read_is_documented() {
        let docs = include_str!("../lib.rs");
        for name in ENV_VARIABLES {
            assert!(
                docs.lines()
                    .any(|line| line.starts_with("//! | ") && line.contains(&format!("`{name}`"))),
                "{name} has no row in lib.rs's table of variables"
            );
        }
    }
}
