//! The integration's credentials: a marketplace integration's client ID
//! (the audience of the ID tokens it receives) and client secret, from its
//! settings in Vercel's Integrations Console or the variables that hold
//! them, checked as the app's own are (no wrapping quotes, a usable client
//! ID), and the redirect login URL sent with the exchange.

use crate::config::{ConfigError, check_client_id, problem, read_unquoted};
use crate::secret::ClientSecret;

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
            read_unquoted(&lookup, name)?.ok_or_else(|| {
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
