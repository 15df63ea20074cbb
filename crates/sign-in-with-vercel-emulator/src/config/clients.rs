//! The apps registered at the emulator, as in the Vercel dashboard: their
//! secrets (redacted from `Debug`), how they authenticate at the token
//! endpoint (`token_endpoint_auth_method`, RFC 7591 §2), their callback
//! URLs (RFC 6749 §3.1.2) and scopes, and the defaults a configuration
//! file leaves to them.

use serde::{Deserialize, Serialize};

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
    /// `client_secret_post` (the default, the way Vercel's guide sends the
    /// secret) or `client_secret_basic` (the method names of RFC 7591 §2,
    /// whose own default, for dynamic registration, is
    /// `client_secret_basic`): how a client with a secret authenticates at
    /// the token endpoint; it may use no other (a `401 invalid_client`
    /// names the method expected). A client without a secret authenticates with
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmulatorConfig;

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
}
