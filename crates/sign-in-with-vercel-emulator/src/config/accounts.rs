//! Who can sign in: the users, the Vercel account (team) each belongs to
//! and its role there, which marketplace tokens carry (`account_id`,
//! `user_role`, `user_id`), the built-in demo user of the demo account,
//! and the integrations installed on accounts (`installation_id`).

use serde::{Deserialize, Serialize};

use super::ids::{is_hex, sha256_hex};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmulatorConfig;

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
