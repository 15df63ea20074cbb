//! What the emulator is configured with: users, registered apps, token
//! lifetimes, marketplace installations and the settings for behaviours
//! Vercel does not document.

use serde::{Deserialize, Serialize};

/// A user who can sign in at the emulator. A configuration file naming a
/// field it does not have is refused.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Subject identifier.
    pub sub: String,
    /// Full name (`profile` scope).
    pub name: String,
    /// Username (`profile` scope).
    pub preferred_username: String,
    /// Email address (`email` scope).
    pub email: String,
    /// Whether the address is verified.
    #[serde(default = "yes")]
    pub email_verified: bool,
    /// Avatar URL (`profile` scope). When absent, the emulator serves a
    /// generated avatar from its issuer origin at `/api/www/avatar/<id>`,
    /// the path Vercel's avatars have.
    #[serde(default)]
    pub picture: Option<String>,
    /// The Vercel account (team) the user belongs to: the marketplace
    /// token's `account_id`, hexadecimal as Vercel's `sub` pattern
    /// `account:[0-9a-fA-F]+:user:[0-9a-fA-F]+` has it. Default: the demo
    /// account, [`DEMO_ACCOUNT_ID`].
    #[serde(default = "demo_account_id")]
    pub account_id: String,
    /// The user's role in that account: the marketplace token's
    /// `user_role`. Default [`Role::Admin`].
    #[serde(default)]
    pub role: Role,
}

impl User {
    /// The user's ID as marketplace tokens carry it (`user_id`, and the
    /// `user:` part of `sub`), hexadecimal as Vercel's pattern has it: the
    /// `sub` itself when it is hexadecimal, else 24 hexadecimal digits of
    /// a SHA-256 of it (stable across restarts).
    pub fn marketplace_user_id(&self) -> String {
        if is_hex(&self.sub) {
            return self.sub.clone();
        }
        sha256_hex(format!("marketplace-user:{}", self.sub).as_bytes(), 24)
    }
}

fn yes() -> bool {
    true
}

/// A user's role in a Vercel account, as the marketplace's `user_role`
/// claim names it (Vercel's marketplace documentation: `ADMIN` for users
/// who can install integrations, `USER` for read-only roles).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Role {
    /// `ADMIN`: can install and manage integrations.
    #[default]
    Admin,
    /// `USER`: a read-only member (Vercel's Billing or Viewer roles).
    User,
}

impl Role {
    /// `ADMIN` or `USER`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "ADMIN",
            Self::User => "USER",
        }
    }
}

/// An integration installed on an account, with the installation ID
/// marketplace tokens carry (`installation_id`, like
/// `icfg_9bceb8ccT32d3U417ezb5c8p`). An integration signed in to from an
/// account with no entry here gets an ID derived from the two
/// ([`crate::Emulator::installation_id`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Installation {
    /// The integration (a registered client with a secret).
    pub client_id: String,
    /// The account it is installed on ([`User::account_id`]).
    pub account_id: String,
    /// The installation ID.
    pub installation_id: String,
}

/// The account every user belongs to unless configured otherwise.
pub const DEMO_ACCOUNT_ID: &str = "0d3e0a1b2c3d4e5f60718293";

fn demo_account_id() -> String {
    DEMO_ACCOUNT_ID.to_owned()
}

pub(crate) fn is_hex(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first `digits` hexadecimal digits (at most 64) of the SHA-256 of
/// `data`: the stable, opaque identifiers the emulator derives from
/// something it must not show (token IDs, avatar IDs, installation and
/// marketplace user IDs).
pub(crate) fn sha256_hex(data: &[u8], digits: usize) -> String {
    let mut out = hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
    out.truncate(digits);
    out
}

/// An app registered at the emulator, as in the Vercel dashboard. A
/// configuration file naming a field it does not have is refused.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// The client ID.
    pub client_id: String,
    /// The app's name on the consent page.
    #[serde(default = "default_app_name")]
    pub name: String,
    /// The client secret; none for a public client.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// `client_secret_post` (the default) or `client_secret_basic` (RFC 7591
    /// §2): how a client with a secret authenticates at the token endpoint;
    /// it may use no other. A client without a secret authenticates with
    /// `none` (and a configuration file may say so, but not `none` with a
    /// secret, nor `client_secret_basic` without one).
    #[serde(default = "default_auth_method")]
    pub token_endpoint_auth_method: String,
    /// The Authorization Callback URLs, matched exactly: absolute `http` or
    /// `https` URLs without a fragment (RFC 6749 §3.1.2), which a
    /// configuration file must have.
    pub redirect_uris: Vec<String>,
    /// The permissions configured for the app.
    #[serde(default = "all_scopes")]
    pub scopes: Vec<String>,
}

impl Client {
    /// A public client: one without a secret, which authenticates with `none`
    /// (Vercel's Authorization Server API reference, Token Endpoint: "optional
    /// if client authentication is set to none").
    pub fn is_public(&self) -> bool {
        self.client_secret.is_none()
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "token_endpoint_auth_method",
                &self.token_endpoint_auth_method,
            )
            .field("redirect_uris", &self.redirect_uris)
            .field("scopes", &self.scopes)
            .finish()
    }
}

fn default_app_name() -> String {
    "Local app".to_owned()
}

fn default_auth_method() -> String {
    "client_secret_post".to_owned()
}

/// Every scope Sign in with Vercel offers (Vercel's documentation,
/// "Scopes and permissions"): the scopes a client is configured with when
/// its configuration names none.
pub const SCOPES: [&str; 4] = ["openid", "email", "profile", "offline_access"];

fn all_scopes() -> Vec<String> {
    SCOPES.iter().map(|s| (*s).to_owned()).collect()
}

/// What presenting an already-exchanged refresh token does. Vercel
/// documents single-use rotating refresh tokens ("the old one stops
/// working") but not what a reuse does to the rest of the grant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReusePolicy {
    /// Only the reused token fails (`invalid_grant`); the newest pair of
    /// the grant keeps working.
    Reject,
    /// The reuse also revokes every token issued from that grant, the
    /// newest pair included (RFC 9700 §4.14.2). The default: the harsher
    /// world, which a correct app must survive.
    #[default]
    RevokeGrant,
}

impl ReusePolicy {
    /// Parses `reject` or `revoke_grant` (the serde names).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "reject" => Some(Self::Reject),
            "revoke_grant" => Some(Self::RevokeGrant),
            _ => None,
        }
    }
}

/// Users, clients, lifetimes and policies. Read from a JSON file or built
/// in code; [`EmulatorConfig::default`] has one demo user and no client.
/// A file naming a field that does not exist, at any level, is refused;
/// so are lifetimes past 10 years (checked by
/// [`EmulatorConfig::from_lookup`]; set in code, a lifetime too long for
/// the clock saturates: the token never expires).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmulatorConfig {
    /// Who can sign in.
    #[serde(default = "demo_users")]
    pub users: Vec<User>,
    /// Registered apps.
    #[serde(default)]
    pub clients: Vec<Client>,
    /// Access token lifetime, seconds (Vercel: 1 hour).
    #[serde(default = "hour")]
    pub access_token_ttl: u64,
    /// Refresh token lifetime, seconds (Vercel: 30 days).
    #[serde(default = "thirty_days")]
    pub refresh_token_ttl: u64,
    /// ID token lifetime, seconds.
    #[serde(default = "hour")]
    pub id_token_ttl: u64,
    /// Authorization code lifetime, seconds.
    #[serde(default = "minute")]
    pub code_ttl: u64,
    /// What a reused refresh token does (undocumented by Vercel; default
    /// [`ReusePolicy::RevokeGrant`]).
    #[serde(default)]
    pub refresh_token_reuse: ReusePolicy,
    /// Whether authorization responses carry `iss` (RFC 9207) and
    /// discovery advertises `authorization_response_iss_parameter_supported`.
    /// Default `false`: Vercel documents neither, and the relying-party
    /// library's built-in Vercel metadata says `false`.
    #[serde(default)]
    pub authorization_response_iss: bool,
    /// Marketplace installations with their IDs (optional).
    #[serde(default)]
    pub installations: Vec<Installation>,
}

fn hour() -> u64 {
    3600
}
fn thirty_days() -> u64 {
    30 * 24 * 3600
}
fn minute() -> u64 {
    60
}

/// The longest lifetime a configuration file or variable may set: ten
/// years, in seconds.
const MAX_TTL: u64 = 10 * 365 * 24 * 3600;

/// A lifetime in seconds as the clock counts them, saturating: one set in
/// code past `i64::MAX` seconds is that.
pub(crate) fn seconds(ttl: u64) -> i64 {
    i64::try_from(ttl).unwrap_or(i64::MAX)
}

/// When something issued at `now` with lifetime `ttl` expires, saturating
/// instead of overflowing for a lifetime set in code.
pub(crate) fn expiry(now: i64, ttl: u64) -> i64 {
    now.saturating_add(seconds(ttl))
}

/// The built-in demo user; its avatar is the emulator's generated one.
pub fn demo_user() -> User {
    User {
        sub: "usr_demo1234567890".to_owned(),
        name: "Demo User".to_owned(),
        preferred_username: "demo".to_owned(),
        email: "demo@example.com".to_owned(),
        email_verified: true,
        picture: None,
        account_id: demo_account_id(),
        role: Role::Admin,
    }
}

fn demo_users() -> Vec<User> {
    vec![demo_user()]
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            users: demo_users(),
            clients: Vec::new(),
            access_token_ttl: hour(),
            refresh_token_ttl: thirty_days(),
            id_token_ttl: hour(),
            code_ttl: minute(),
            refresh_token_reuse: ReusePolicy::default(),
            authorization_response_iss: false,
            installations: Vec::new(),
        }
    }
}

impl EmulatorConfig {
    /// Reads the configuration: the JSON file named by `EMULATOR_CONFIG`
    /// when set, else the default; then `EMULATOR_ACCESS_TOKEN_TTL`,
    /// `EMULATOR_REFRESH_TOKEN_TTL`, `EMULATOR_ID_TOKEN_TTL` and
    /// `EMULATOR_CODE_TTL` (seconds) override the lifetimes,
    /// `EMULATOR_REFRESH_TOKEN_REUSE` (`reject` or `revoke_grant`) the
    /// reuse policy, and `EMULATOR_AUTHORIZATION_RESPONSE_ISS` (`true` or
    /// `false`) whether authorization responses carry `iss`.
    ///
    /// The result is checked; an error names the field and the entry (never a
    /// secret): at least one user; no `sub` or `client_id` given twice; every
    /// user's `account_id` hexadecimal; every client's
    /// `token_endpoint_auth_method` one the emulator implements and fit for
    /// its secret (`client_secret_basic` or `client_secret_post` with one,
    /// `none` without); every redirect URI an absolute `http` or `https` URL
    /// without a fragment (RFC 6749 §3.1.2); no lifetime past 10 years.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut config = match lookup("EMULATOR_CONFIG") {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("EMULATOR_CONFIG: cannot read {path}: {e}"))?;
                // Where, and which field, never serde's own text: a type
                // error quotes the value, a client secret's included.
                serde_json::from_str(&text).map_err(|e| {
                    format!(
                        "EMULATOR_CONFIG: {path} is not a valid configuration ({}, line {} column {})",
                        config_error_kind(&e),
                        e.line(),
                        e.column()
                    )
                })?
            }
            None => Self::default(),
        };
        for (name, slot) in [
            ("EMULATOR_ACCESS_TOKEN_TTL", &mut config.access_token_ttl),
            ("EMULATOR_REFRESH_TOKEN_TTL", &mut config.refresh_token_ttl),
            ("EMULATOR_ID_TOKEN_TTL", &mut config.id_token_ttl),
            ("EMULATOR_CODE_TTL", &mut config.code_ttl),
        ] {
            if let Some(value) = lookup(name) {
                *slot = value
                    .trim()
                    .parse()
                    .map_err(|_| format!("{name} must be a whole number of seconds"))?;
            }
        }
        if let Some(value) = lookup("EMULATOR_REFRESH_TOKEN_REUSE") {
            config.refresh_token_reuse = ReusePolicy::parse(&value).ok_or_else(|| {
                "EMULATOR_REFRESH_TOKEN_REUSE must be reject or revoke_grant".to_owned()
            })?;
        }
        if let Some(value) = lookup("EMULATOR_AUTHORIZATION_RESPONSE_ISS") {
            config.authorization_response_iss = match value.trim() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(
                        "EMULATOR_AUTHORIZATION_RESPONSE_ISS must be true or false".to_owned()
                    );
                }
            };
        }
        config.check()?;
        Ok(config)
    }

    /// What [`EmulatorConfig::from_lookup`] refuses.
    fn check(&self) -> Result<(), String> {
        for (field, variable, ttl) in [
            (
                "access_token_ttl",
                "EMULATOR_ACCESS_TOKEN_TTL",
                self.access_token_ttl,
            ),
            (
                "refresh_token_ttl",
                "EMULATOR_REFRESH_TOKEN_TTL",
                self.refresh_token_ttl,
            ),
            ("id_token_ttl", "EMULATOR_ID_TOKEN_TTL", self.id_token_ttl),
            ("code_ttl", "EMULATOR_CODE_TTL", self.code_ttl),
        ] {
            if ttl > MAX_TTL {
                return Err(format!(
                    "{field} ({variable}) must be at most {MAX_TTL} seconds (10 years), not {ttl}"
                ));
            }
        }
        if self.users.is_empty() {
            return Err("EMULATOR_CONFIG: at least one user is needed".into());
        }
        if let Some(sub) = repeated(self.users.iter().map(|u| &u.sub)) {
            return Err(format!("EMULATOR_CONFIG: users: sub {sub} is given twice"));
        }
        if let Some(id) = repeated(self.clients.iter().map(|c| &c.client_id)) {
            return Err(format!(
                "EMULATOR_CONFIG: clients: client_id {id} is given twice"
            ));
        }
        for user in &self.users {
            if !is_hex(&user.account_id) {
                return Err(format!(
                    "EMULATOR_CONFIG: the account_id of user {} must be hexadecimal",
                    user.sub
                ));
            }
        }
        for client in &self.clients {
            client
                .check()
                .map_err(|e| format!("EMULATOR_CONFIG: {e}"))?;
        }
        Ok(())
    }
}

impl Client {
    /// The client's authentication method and redirect URIs, as
    /// [`EmulatorConfig::from_lookup`] and [`crate::Emulator::register_client`]
    /// check them: what is refused says so, naming the client.
    pub(crate) fn check(&self) -> Result<(), String> {
        let id = &self.client_id;
        let method = self.token_endpoint_auth_method.as_str();
        // The emulator's client authentication (the token endpoint's
        // `authenticate`): the registered method with a secret, `none`
        // without. `client_secret_post` without a secret is the default of
        // a public client that names no method.
        match (method, self.client_secret.is_some()) {
            ("client_secret_basic" | "client_secret_post", true)
            | ("none" | "client_secret_post", false) => {}
            ("none", true) => {
                return Err(format!(
                    "client {id}: token_endpoint_auth_method none is for a client without a client_secret; with one, use client_secret_basic or client_secret_post"
                ));
            }
            ("client_secret_basic", false) => {
                return Err(format!(
                    "client {id}: token_endpoint_auth_method client_secret_basic needs a client_secret (a public client uses none)"
                ));
            }
            (other, _) => {
                return Err(format!(
                    "client {id}: token_endpoint_auth_method {other:?} is not one the emulator implements (client_secret_basic, client_secret_post, none)"
                ));
            }
        }
        for uri in &self.redirect_uris {
            // RFC 6749 §3.1.2: "The redirection endpoint URI MUST be an
            // absolute URI [...] The endpoint URI MUST NOT include a
            // fragment component." Web URLs only is this emulator's own
            // rule: Sign in with Vercel serves web apps (RFC 8252's
            // private-use schemes of native apps are not among its
            // documented callbacks).
            let url = url::Url::parse(uri)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
            match url {
                None => {
                    return Err(format!(
                        "client {id}: redirect_uris entry {uri:?} is not an absolute http or https URL (RFC 6749 §3.1.2 asks for an absolute URI; the emulator takes web URLs only)"
                    ));
                }
                Some(url) if url.fragment().is_some() => {
                    return Err(format!(
                        "client {id}: redirect_uris entry {uri:?} has a fragment, which RFC 6749 §3.1.2 forbids"
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// What kind of mistake a configuration file has, naming at most a field
/// (`unknown field \`x\``, `missing field \`x\``), never a value.
fn config_error_kind(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if e.is_data()
        && let Some(field) = ["unknown field `", "missing field `", "duplicate field `"]
            .iter()
            .find_map(|prefix| {
                let rest = text.strip_prefix(prefix)?;
                Some(format!("{prefix}{}`", &rest[..rest.find('`')?]))
            })
    {
        return field;
    }
    match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "not JSON",
        serde_json::error::Category::Data => "a value of the wrong type",
        serde_json::error::Category::Io => "unreadable",
    }
    .to_owned()
}

/// The first id `ids` gives twice.
fn repeated<'a>(ids: impl IntoIterator<Item = &'a String>) -> Option<&'a String> {
    let mut seen = std::collections::HashSet::new();
    ids.into_iter().find(|id| !seen.insert(*id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_hex_is_the_digest_in_lowercase_hex_cut_to_length() {
        // FIPS 180-2, Appendix B.1: SHA-256("abc").
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_hex(b"abc", 64), abc);
        assert_eq!(sha256_hex(b"abc", 24), abc[..24]);
    }

    fn from(vars: &[(&str, &str)]) -> Result<EmulatorConfig, String> {
        EmulatorConfig::from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn reuse_policy_defaults_to_revoking_the_grant() {
        assert_eq!(
            from(&[]).unwrap().refresh_token_reuse,
            ReusePolicy::RevokeGrant
        );
    }

    #[test]
    fn reuse_policy_is_read_from_the_environment() {
        let config = from(&[("EMULATOR_REFRESH_TOKEN_REUSE", "reject")]).unwrap();
        assert_eq!(config.refresh_token_reuse, ReusePolicy::Reject);
        let config = from(&[("EMULATOR_REFRESH_TOKEN_REUSE", " revoke_grant ")]).unwrap();
        assert_eq!(config.refresh_token_reuse, ReusePolicy::RevokeGrant);
        assert!(from(&[("EMULATOR_REFRESH_TOKEN_REUSE", "sometimes")]).is_err());
    }

    #[test]
    fn reuse_policy_serde_names() {
        assert_eq!(
            serde_json::to_string(&ReusePolicy::RevokeGrant).unwrap(),
            "\"revoke_grant\""
        );
        let config: EmulatorConfig =
            serde_json::from_str(r#"{"refresh_token_reuse": "reject"}"#).unwrap();
        assert_eq!(config.refresh_token_reuse, ReusePolicy::Reject);
    }

    #[test]
    fn authorization_response_iss_is_off_by_default_and_read_from_the_environment() {
        assert!(!from(&[]).unwrap().authorization_response_iss);
        let on = from(&[("EMULATOR_AUTHORIZATION_RESPONSE_ISS", "true")]).unwrap();
        assert!(on.authorization_response_iss);
        for off in ["false", "0"] {
            let config = from(&[("EMULATOR_AUTHORIZATION_RESPONSE_ISS", off)]).unwrap();
            assert!(!config.authorization_response_iss, "{off}");
        }
        assert!(from(&[("EMULATOR_AUTHORIZATION_RESPONSE_ISS", "yes")]).is_err());
        let config: EmulatorConfig =
            serde_json::from_str(r#"{"authorization_response_iss": true}"#).unwrap();
        assert!(config.authorization_response_iss);
    }

    #[test]
    fn users_default_to_admins_of_the_demo_account() {
        let config: EmulatorConfig = serde_json::from_str(
            r#"{"users": [{"sub": "u1", "name": "N", "preferred_username": "n", "email": "n@x"},
                          {"sub": "u2", "name": "M", "preferred_username": "m", "email": "m@x",
                           "account_id": "abc123", "role": "USER"}]}"#,
        )
        .unwrap();
        assert_eq!(config.users[0].account_id, DEMO_ACCOUNT_ID);
        assert_eq!(config.users[0].role, Role::Admin);
        assert_eq!(config.users[1].role, Role::User);
        assert_eq!(config.users[1].role.as_str(), "USER");
    }

    #[test]
    fn a_clients_debug_print_hides_its_secret() {
        let client = Client {
            client_id: "cl_app".into(),
            name: "App".into(),
            client_secret: Some("s3cret-value".into()),
            token_endpoint_auth_method: "client_secret_basic".into(),
            redirect_uris: vec!["http://localhost:3000/cb".into()],
            scopes: vec!["openid".into()],
        };
        let printed = format!("{client:?}");
        assert!(!printed.contains("s3cret-value"), "{printed}");
        assert!(printed.contains("[redacted]") && printed.contains("cl_app"));
        let config = EmulatorConfig {
            clients: vec![client],
            ..EmulatorConfig::default()
        };
        assert!(!format!("{config:?}").contains("s3cret-value"));
    }

    /// [`EmulatorConfig::from_lookup`] with `json` as the `EMULATOR_CONFIG`
    /// file and `vars` besides.
    fn from_file(json: &str, vars: &[(&str, &str)]) -> Result<EmulatorConfig, String> {
        static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Beside the test binary, in the target directory: not in a
        // shared `/tmp`, where another user could read or plant it.
        let exe = std::env::current_exe().unwrap();
        let path = exe.with_file_name(format!(
            "emulator-config-test-{}-{n}.json",
            std::process::id()
        ));
        std::fs::write(&path, json).unwrap();
        let path_text = path.display().to_string();
        let result = EmulatorConfig::from_lookup(|k| match k {
            "EMULATOR_CONFIG" => Some(path_text.clone()),
            _ => vars
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned()),
        });
        let _ = std::fs::remove_file(&path);
        result
    }

    /// A configuration file with one client, `fields` added to its
    /// `client_id` `cl_a`.
    fn with_client(fields: &str) -> Result<EmulatorConfig, String> {
        from_file(
            &format!(r#"{{"clients": [{{"client_id": "cl_a", {fields}}}]}}"#),
            &[],
        )
    }

    /// `result` is an error whose message names each of `names`.
    #[track_caller]
    fn refused(result: Result<EmulatorConfig, String>, names: &[&str]) -> String {
        let error = result.expect_err("accepted");
        for name in names {
            assert!(error.contains(name), "{error:?} does not name {name}");
        }
        error
    }

    /// serde's own messages quote a value of the wrong type: a secret
    /// written as a number would reach the program's output.
    #[test]
    fn a_malformed_file_is_reported_by_place_and_field_never_by_value() {
        let error = refused(
            with_client(r#""client_secret": 987654321, "redirect_uris": []"#),
            &["wrong type", "line 1"],
        );
        assert!(!error.contains("987654321"), "{error}");
        refused(
            with_client(r#""client_secert": "s", "redirect_uris": []"#),
            &["unknown field `client_secert`"],
        );
        refused(from_file("{", &[]), &["not JSON"]);
    }

    #[test]
    fn the_readme_example_is_a_valid_configuration() {
        let readme = include_str!("../README.md");
        let example = readme
            .split("```json\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("a JSON example in the README");
        let config = from_file(example, &[]).unwrap();
        assert_eq!(
            config.clients[0].token_endpoint_auth_method,
            "client_secret_basic"
        );
        assert_eq!(config.installations.len(), 1);
    }

    /// What a file leaves out takes the documented default: a verified
    /// email, an app named "Local app" with every scope and the secret in
    /// the body, a code that lives a minute.
    #[test]
    fn omitted_fields_take_their_documented_defaults() {
        let config = from_file(
            r#"{"users": [{"sub": "u1", "name": "N", "preferred_username": "n", "email": "n@x"}],
                "clients": [{"client_id": "cl_a", "client_secret": "s",
                             "redirect_uris": ["http://localhost:3000/cb"]}]}"#,
            &[],
        )
        .unwrap();
        assert!(config.users[0].email_verified);
        let client = &config.clients[0];
        assert_eq!(client.name, "Local app");
        assert_eq!(client.scopes, SCOPES);
        assert_eq!(client.token_endpoint_auth_method, "client_secret_post");
        assert_eq!(
            (
                config.code_ttl,
                config.id_token_ttl,
                config.refresh_token_ttl
            ),
            (60, 3600, 30 * 24 * 3600)
        );
    }

    #[test]
    fn unknown_fields_are_refused_at_every_level() {
        let user = r#""sub": "u1", "name": "N", "preferred_username": "n", "email": "n@x""#;
        for (json, field) in [
            (r#"{"user": []}"#.to_owned(), "user"),
            (format!(r#"{{"users": [{{{user}, "emial": "x"}}]}}"#), "emial"),
            (
                r#"{"clients": [{"client_id": "a", "redirect_uri": "http://x/cb", "redirect_uris": []}]}"#
                    .to_owned(),
                "redirect_uri",
            ),
            (
                r#"{"installations": [{"client_id": "a", "account_id": "b", "installation_id": "c", "id": 1}]}"#
                    .to_owned(),
                "id",
            ),
        ] {
            refused(serde_json::from_str::<EmulatorConfig>(&json).map_err(|e| e.to_string()), &[
                &format!("unknown field `{field}`"),
            ]);
            refused(from_file(&json, &[]), &["EMULATOR_CONFIG", field]);
        }
    }

    #[test]
    fn an_authentication_method_the_emulator_does_not_implement_is_refused() {
        let error = refused(
            with_client(
                r#""client_secret": "s3cret-value", "token_endpoint_auth_method": "client_secret_jwt", "redirect_uris": []"#,
            ),
            &["cl_a", "token_endpoint_auth_method", "client_secret_jwt"],
        );
        assert!(!error.contains("s3cret-value"), "{error}");
    }

    #[test]
    fn the_authentication_method_must_fit_the_secret() {
        let error = refused(
            with_client(
                r#""client_secret": "s3cret-value", "token_endpoint_auth_method": "none", "redirect_uris": []"#,
            ),
            &[
                "cl_a",
                "token_endpoint_auth_method",
                "none",
                "client_secret",
            ],
        );
        assert!(!error.contains("s3cret-value"), "{error}");
        refused(
            with_client(
                r#""token_endpoint_auth_method": "client_secret_basic", "redirect_uris": []"#,
            ),
            &[
                "cl_a",
                "token_endpoint_auth_method",
                "client_secret_basic",
                "client_secret",
            ],
        );
        for fine in [
            r#""token_endpoint_auth_method": "none", "redirect_uris": []"#,
            r#""redirect_uris": []"#,
            r#""client_secret": "s", "token_endpoint_auth_method": "client_secret_basic", "redirect_uris": []"#,
            r#""client_secret": "s", "token_endpoint_auth_method": "client_secret_post", "redirect_uris": []"#,
        ] {
            assert!(with_client(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn redirect_uris_must_be_absolute_http_urls_without_a_fragment() {
        for bad in [
            "/api/auth/callback",
            "localhost:3000/api/auth/callback",
            "ftp://localhost/cb",
            "http://localhost:3000/cb#top",
            "http://localhost:3000/cb#",
            "not a url",
        ] {
            refused(
                with_client(&format!(
                    r#""redirect_uris": ["http://localhost/ok", "{bad}"]"#
                )),
                &["cl_a", "redirect_uris", bad],
            );
        }
        let fine = with_client(
            r#""redirect_uris": ["http://127.0.0.1:3000/cb?x=1", "https://app.example/api/auth/callback"]"#,
        );
        assert!(fine.is_ok(), "{fine:?}");
    }

    #[test]
    fn a_client_id_or_a_sub_given_twice_is_refused() {
        refused(
            from_file(
                r#"{"clients": [{"client_id": "cl_a", "redirect_uris": []},
                                {"client_id": "cl_a", "redirect_uris": []}]}"#,
                &[],
            ),
            &["client_id", "cl_a", "twice"],
        );
        let user = r#"{"sub": "u1", "name": "N", "preferred_username": "n", "email": "n@x"}"#;
        refused(
            from_file(&format!(r#"{{"users": [{user}, {user}]}}"#), &[]),
            &["sub", "u1", "twice"],
        );
    }

    #[test]
    fn lifetimes_past_ten_years_are_refused() {
        let ten_years = (10 * 365 * 24 * 3600).to_string();
        let more = (10 * 365 * 24 * 3600 + 1).to_string();
        assert!(from(&[("EMULATOR_ACCESS_TOKEN_TTL", &ten_years)]).is_ok());
        for (variable, field) in [
            ("EMULATOR_ACCESS_TOKEN_TTL", "access_token_ttl"),
            ("EMULATOR_REFRESH_TOKEN_TTL", "refresh_token_ttl"),
            ("EMULATOR_ID_TOKEN_TTL", "id_token_ttl"),
            ("EMULATOR_CODE_TTL", "code_ttl"),
        ] {
            refused(from(&[(variable, &more)]), &[variable, field]);
            let json = format!(r#"{{"{field}": {}}}"#, u64::MAX);
            refused(from_file(&json, &[]), &[field]);
        }
    }

    #[test]
    fn marketplace_user_ids_are_hexadecimal() {
        let mut user = demo_user();
        let id = user.marketplace_user_id();
        assert_eq!(id.len(), 24);
        assert!(is_hex(&id));
        assert_eq!(user.marketplace_user_id(), id, "stable");
        user.sub = "345e869043f1e55f8bdc837c".into();
        assert_eq!(user.marketplace_user_id(), user.sub);
    }
}
