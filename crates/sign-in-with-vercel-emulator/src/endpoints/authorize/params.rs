//! What an authorization request asks for beyond the client and the
//! redirect URI: the scopes it gets, the `prompt` it carries, the
//! `response_mode` it wants. Pure functions, tested here.

use std::collections::HashMap;

use crate::{Client, SCOPES};

/// The scopes a request gets, or `None` when it gets none (then
/// `invalid_scope`, RFC 6749 §4.1.2.1). Vercel: scopes not configured for
/// the app "are filtered out", and with no `scope` "all scopes configured
/// in your app are included by default" (seed 001, `scope`). An empty
/// `scope=` asks for nothing, and one whose every scope is filtered out
/// is left with nothing: neither is taken as "no `scope`". `openid` is
/// granted only when asked for (or configured, for no `scope`): without
/// it, OpenID Connect issues no ID token (Core §3.1.2.1).
pub(super) fn granted_scopes(requested: Option<&str>, client: &Client) -> Option<Vec<String>> {
    let configured = |s: &str| client.scopes.iter().any(|c| c == s);
    let asked = |s: &str| requested.is_none_or(|r| r.split(' ').any(|r| r == s));
    let granted: Vec<String> = SCOPES
        .iter()
        .filter(|s| configured(s) && asked(s))
        .map(|s| (*s).to_owned())
        .collect();
    (!granted.is_empty()).then_some(granted)
}

/// The `prompt` values of OpenID Connect Core §3.1.2.1. Seed 001 lists
/// no `prompt`; these four are what OpenID Connect defines.
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
pub(super) fn response_mode_supported(value: Option<&str>) -> bool {
    value.is_none_or(|v| v == "query")
}

/// The authorization request again with `login` and `select_account`
/// taken out of `prompt`: where the login screen sends the browser once it
/// has signed in, so that it is not asked again.
pub(super) fn after_sign_in(path: &str, params: &HashMap<String, String>) -> String {
    let mut pairs: Vec<(&str, String)> = params
        .iter()
        .filter(|(k, _)| k.as_str() != "prompt")
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
