//! What an authorization request asks for beyond the client and the
//! redirect URI: its parameters as read, the scopes it gets, the `prompt`
//! and `max_age` it carries, the `response_mode` it wants, and whether it
//! is one the emulator answers at all. Pure functions, tested here.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::{Client, SCOPES, pkce};

/// An authorization request's parameters, from the query and, for a POST,
/// the form body (OpenID Connect Core §3.1.2.1), read as one request.
#[derive(Debug, Default)]
pub(super) struct Params {
    /// Each parameter sent once, with a value.
    pub values: HashMap<String, String>,
    /// Parameters sent more than once (RFC 6749 §3.1: "MUST NOT be
    /// included more than once"), in the order first repeated; none of
    /// their values is in `values`, since none can be trusted.
    pub repeated: Vec<String>,
}

impl Params {
    /// Reads `pairs`, the query's then the body's. A parameter sent without
    /// a value is left out: RFC 6749 §3.1, "Parameters sent without a value
    /// MUST be treated as if they were omitted from the request". A
    /// repeat is found before that, as the token endpoint's form does: a
    /// name sent twice is repeated whatever its values.
    pub fn read<'a>(pairs: impl IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>) -> Self {
        let mut params = Self::default();
        // Looked up by hash: a body of a megabyte of repeated names is
        // read in linear time, not in the square of its pairs.
        let mut repeated = HashSet::new();
        for (name, value) in pairs {
            let name = name.into_owned();
            if repeated.contains(&name) {
                continue;
            }
            if params
                .values
                .insert(name.clone(), value.into_owned())
                .is_some()
            {
                params.values.remove(&name);
                repeated.insert(name.clone());
                params.repeated.push(name);
            }
        }
        params.values.retain(|_, value| !value.is_empty());
        params
    }

    /// The value of parameter `name`, if it was sent once with a value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The first of `names` that was repeated.
    pub fn repeated_among(&self, names: &[&str]) -> Option<&str> {
        self.repeated
            .iter()
            .map(String::as_str)
            .find(|r| names.contains(r))
    }
}

/// An authorization error to send back to the redirect URI (RFC 6749
/// §4.1.2.1, OpenID Connect Core §3.1.2.6): `error` and its description.
pub(super) type Refusal = (&'static str, &'static str);

/// What a request the emulator answers asks for, once checked.
#[derive(Debug)]
pub(super) struct Asked {
    pub scopes: Vec<String>,
    pub prompt: Prompt,
    pub max_age: Option<u64>,
    pub code_challenge: String,
}

impl Asked {
    /// Checks the request of a verified `client` and redirect URI, or says
    /// why it is refused.
    pub fn check(params: &Params, client: &Client) -> Result<Self, Refusal> {
        if !params.repeated.is_empty() {
            return Err(("invalid_request", "a parameter is repeated"));
        }
        unsupported_request_object(params)?;
        match params.get("response_type") {
            Some("code") => {}
            None => return Err(("invalid_request", "response_type is required")),
            Some(_) => {
                return Err(("unsupported_response_type", "response_type must be code"));
            }
        }
        if !response_mode_supported(params.get("response_mode")) {
            return Err(("invalid_request", "response_mode must be query"));
        }
        let code_challenge = s256_challenge(params)?;
        if params.values.values().any(|v| v.len() > 2048) {
            return Err(("invalid_request", "a parameter is too long"));
        }
        let prompt = Prompt::parse(params.get("prompt")).map_err(|why| ("invalid_request", why))?;
        let max_age = max_age(params.get("max_age")).map_err(|why| ("invalid_request", why))?;
        let Some(scopes) = granted_scopes(params.get("scope"), client) else {
            return Err((
                "invalid_scope",
                "none of the requested scopes is configured for this app",
            ));
        };
        Ok(Self {
            scopes,
            prompt,
            max_age,
            code_challenge: code_challenge.to_owned(),
        })
    }
}

/// OpenID Connect Core §6: the emulator takes no request object, by value
/// (`request`, refused with `request_not_supported`, §6.1) or by reference
/// (`request_uri`, `request_uri_not_supported`, §6.2), and its discovery
/// says so.
fn unsupported_request_object(params: &Params) -> Result<(), Refusal> {
    if params.get("request").is_some() {
        return Err((
            "request_not_supported",
            "the request parameter is not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err((
            "request_uri_not_supported",
            "the request_uri parameter is not supported",
        ));
    }
    Ok(())
}

/// The PKCE challenge (Vercel's Authorization Server API reference:
/// `code_challenge` required, `code_challenge_method` "Must be S256"), in
/// S256's one shape: 43 base64url characters (RFC 7636 §4.2).
fn s256_challenge(params: &Params) -> Result<&str, Refusal> {
    let Some(challenge) = params.get("code_challenge") else {
        return Err(("invalid_request", "code_challenge is required (PKCE)"));
    };
    if params.get("code_challenge_method") != Some("S256") {
        return Err(("invalid_request", "code_challenge_method must be S256"));
    }
    if !pkce::s256_challenge_well_formed(challenge) {
        return Err((
            "invalid_request",
            "code_challenge must be BASE64URL(SHA256(code_verifier)): 43 base64url characters",
        ));
    }
    Ok(challenge)
}

/// `max_age` (OpenID Connect Core §3.1.2.1): the seconds a login stays
/// recent enough, `None` when absent. Anything but a non-negative
/// integer in decimal digits is an error; one too large to hold is no
/// limit at all.
fn max_age(value: Option<&str>) -> Result<Option<u64>, &'static str> {
    let Some(value) = value else {
        return Ok(None);
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err("max_age must be a non-negative integer");
    }
    Ok(Some(value.parse().unwrap_or(u64::MAX)))
}

/// Whether a login at `auth_time` is too old at `now` for `max_age`
/// (OpenID Connect Core §3.1.2.1): "If the elapsed time is greater than
/// this value, the OP MUST attempt to actively re-authenticate the
/// End-User", and "max_age=0 is equivalent to prompt=login", so any login
/// is too old for 0.
pub(super) fn too_old(auth_time: i64, max_age: Option<u64>, now: i64) -> bool {
    max_age.is_some_and(|max| max == 0 || i128::from(now) - i128::from(auth_time) > i128::from(max))
}

/// The scopes a request gets, or `None` when it gets none (then
/// `invalid_scope`, RFC 6749 §4.1.2.1). Vercel: scopes not configured for the
/// app "are filtered out", and with no `scope` "all scopes configured in your
/// app are included by default" (Vercel's Authorization Server API reference,
/// `scope`). An empty `scope=` is no `scope` ([`Params::read`], RFC 6749 §3.1);
/// one whose every scope is filtered out is left with nothing, which is not
/// taken as "no `scope`". `openid` is granted only when asked for (or
/// configured, for no `scope`): without it, OpenID Connect issues no ID token
/// (Core §3.1.2.1).
fn granted_scopes(requested: Option<&str>, client: &Client) -> Option<Vec<String>> {
    let configured = |s: &str| client.scopes.iter().any(|c| c == s);
    let asked = |s: &str| requested.is_none_or(|r| r.split(' ').any(|r| r == s));
    let granted: Vec<String> = SCOPES
        .iter()
        .filter(|s| configured(s) && asked(s))
        .map(|s| (*s).to_owned())
        .collect();
    (!granted.is_empty()).then_some(granted)
}

/// The `prompt` values of OpenID Connect Core §3.1.2.1. Vercel's Authorization
/// Server API reference lists no `prompt`; these four are what OpenID Connect
/// defines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Prompt {
    /// Show no page: answer with an error instead.
    pub none: bool,
    /// Ask the user to sign in again.
    pub login: bool,
    /// Ask for consent even when it is remembered.
    pub consent: bool,
    /// Let the user choose an account.
    pub select_account: bool,
}

impl Prompt {
    /// Parses a space-delimited `prompt`. `none` with any other value is an
    /// error (Core §3.1.2.1: "If this parameter contains none with any
    /// other value, an error is returned"), and so is a value other than
    /// the four, as OpenID Connect's `prompt=create` specification has an
    /// OP answer values it does not support.
    pub fn parse(value: Option<&str>) -> Result<Self, &'static str> {
        let mut prompt = Self::default();
        let values: Vec<&str> = value
            .unwrap_or_default()
            .split(' ')
            .filter(|v| !v.is_empty())
            .collect();
        for v in &values {
            match *v {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => prompt.select_account = true,
                _ => return Err("prompt has a value the emulator does not support"),
            }
        }
        if prompt.none && values.len() > 1 {
            return Err("prompt=none cannot be combined with other values");
        }
        Ok(prompt)
    }

    /// Whether the login screen must be shown even to a signed-in browser.
    pub fn asks_to_sign_in(self) -> bool {
        self.login || self.select_account
    }
}

/// `response_mode` (OAuth 2.0 Multiple Response Type Encoding Practices
/// §2.1): only `query`, the one mode discovery advertises
/// (`response_modes_supported: ["query"]`).
fn response_mode_supported(value: Option<&str>) -> bool {
    value.is_none_or(|v| v == "query")
}

/// The authorization request again with `login` and `select_account`
/// taken out of `prompt`, and without `max_age`: where the login screen
/// sends the browser once it has signed in, so that it is not asked
/// again (the login it has just made is as recent as any `max_age` asks).
/// A POSTed request comes back as a GET with the same parameters.
pub(super) fn after_sign_in(path: &str, params: &HashMap<String, String>) -> String {
    let mut pairs: Vec<(&str, String)> = params
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "prompt" | "max_age"))
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    if let Some(prompt) = params.get("prompt") {
        let kept: Vec<&str> = prompt
            .split(' ')
            .filter(|v| !v.is_empty() && !matches!(*v, "login" | "select_account"))
            .collect();
        if !kept.is_empty() {
            pairs.push(("prompt", kept.join(" ")));
        }
    }
    pairs.sort();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name of a large request sent twice: each is repeated once, in
    /// the order first repeated, and none has a value.
    #[test]
    fn a_request_of_many_repeated_names_has_every_one_repeated_once() {
        let names: Vec<String> = (0..20_000).map(|i| format!("{i:x}")).collect();
        let pairs = names
            .iter()
            .chain(&names)
            .map(|n| (Cow::Borrowed(n.as_str()), Cow::Borrowed("v")));
        let params = Params::read(pairs);
        assert!(params.values.is_empty());
        assert_eq!(params.repeated, names);
    }

    fn client(scopes: &[&str]) -> Client {
        Client {
            client_id: "c".into(),
            name: "App".into(),
            client_secret: None,
            token_endpoint_auth_method: "none".into(),
            redirect_uris: vec![],
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn read(query: &str) -> Params {
        Params::read(url::form_urlencoded::parse(query.as_bytes()))
    }

    #[test]
    fn empty_parameters_are_omitted_and_repeats_are_set_apart() {
        let params = read("scope=&state=s&nonce=&nonce=n&prompt=a&prompt=b&prompt=c");
        assert_eq!(params.get("state"), Some("s"));
        for name in ["scope", "nonce", "prompt"] {
            assert_eq!(params.get(name), None, "{name}");
        }
        assert_eq!(params.repeated, ["nonce", "prompt"]);
        assert_eq!(params.repeated_among(&["prompt", "state"]), Some("prompt"));
        assert_eq!(params.repeated_among(&["state"]), None);
    }

    #[test]
    fn max_age_is_a_non_negative_integer() {
        assert_eq!(max_age(None), Ok(None));
        assert_eq!(max_age(Some("0")), Ok(Some(0)));
        assert_eq!(max_age(Some("3600")), Ok(Some(3600)));
        assert_eq!(max_age(Some("99999999999999999999999")), Ok(Some(u64::MAX)));
        for bad in ["", "-1", "+1", " 1", "1.0", "1e3", "x"] {
            assert!(max_age(Some(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_login_is_too_old_past_max_age_and_always_for_zero() {
        assert!(!too_old(100, None, 1_000_000));
        assert!(!too_old(100, Some(60), 160));
        assert!(too_old(100, Some(60), 161));
        assert!(too_old(100, Some(0), 100));
        assert!(!too_old(100, Some(u64::MAX), i64::MAX));
    }

    #[test]
    fn absent_scope_means_all_configured_scopes() {
        let c = client(&["openid", "email"]);
        assert_eq!(granted_scopes(None, &c).unwrap(), ["openid", "email"]);
    }

    #[test]
    fn unconfigured_scopes_are_filtered_out() {
        let c = client(&["openid", "email", "profile"]);
        assert_eq!(
            granted_scopes(Some("openid email offline_access"), &c).unwrap(),
            ["openid", "email"]
        );
    }

    #[test]
    fn openid_is_granted_only_when_asked_for() {
        let c = client(&["openid", "email"]);
        assert_eq!(granted_scopes(Some("email"), &c).unwrap(), ["email"]);
    }

    #[test]
    fn empty_unknown_or_unconfigured_scopes_grant_nothing() {
        let c = client(&["openid", "email"]);
        for requested in ["", " ", "repo admin", "offline_access"] {
            assert_eq!(granted_scopes(Some(requested), &c), None, "{requested:?}");
        }
    }

    #[test]
    fn prompt_values_are_openid_connects_four() {
        assert_eq!(Prompt::parse(None), Ok(Prompt::default()));
        let p = Prompt::parse(Some("login consent")).unwrap();
        assert!(p.login && p.consent && !p.none && p.asks_to_sign_in());
        assert!(
            Prompt::parse(Some("select_account"))
                .unwrap()
                .asks_to_sign_in()
        );
        assert!(Prompt::parse(Some("none")).unwrap().none);
        assert!(Prompt::parse(Some("none consent")).is_err());
        assert!(Prompt::parse(Some("create")).is_err());
    }

    #[test]
    fn only_the_query_response_mode_is_supported() {
        assert!(response_mode_supported(None));
        assert!(response_mode_supported(Some("query")));
        assert!(!response_mode_supported(Some("fragment")));
        assert!(!response_mode_supported(Some("form_post")));
    }

    #[test]
    fn after_sign_in_drops_only_the_sign_in_prompts() {
        let params: HashMap<String, String> = [
            ("client_id", "c"),
            ("prompt", "login consent"),
            ("state", "a b"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            after_sign_in("/oauth/authorize", &params),
            "/oauth/authorize?client_id=c&prompt=consent&state=a+b"
        );
        let mut only_login = params.clone();
        only_login.insert("prompt".into(), "login".into());
        assert!(!after_sign_in("/oauth/authorize", &only_login).contains("prompt"));
    }
}
