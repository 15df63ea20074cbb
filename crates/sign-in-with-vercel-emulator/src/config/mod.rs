//! What the emulator is configured with: users, registered apps, token
//! lifetimes, marketplace installations and the settings for behaviours
//! Vercel does not document.
//!
//! The configuration itself ([`EmulatorConfig`]: its lifetimes, the
//! refresh-token reuse policy and its defaults) is here; its parts, each
//! in its own module: the users, their accounts and the marketplace
//! installations (`accounts`), the registered apps (`clients`), reading
//! a configuration from its file and the environment and the checks it
//! must pass (`reading`), and the hexadecimal identifiers the emulator
//! derives (`ids`).

mod accounts;
mod clients;
mod ids;
mod reading;

use serde::{Deserialize, Serialize};

pub use accounts::{DEMO_ACCOUNT_ID, Installation, Role, User, demo_user};
pub use clients::{Client, SCOPES};
pub(crate) use ids::{hex, sha256_hex};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
