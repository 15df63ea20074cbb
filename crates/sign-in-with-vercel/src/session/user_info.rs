//! The signed-in user's claims (OpenID Connect Core §5.1), as the session
//! and the userinfo endpoint give them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::cookie::SessionData;

/// The signed-in user: the standard claims (OpenID Connect Core §5.1) the
/// provider proved, plus any others it sent.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserInfo {
    /// The subject: the user's stable identifier at the provider.
    pub sub: String,
    /// Full name (`profile` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Username (`profile` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Avatar URL (`profile` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    /// Email address (`email` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the provider verified the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Every other claim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Names no personal data.
impl std::fmt::Debug for UserInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserInfo([redacted])")
    }
}

impl UserInfo {
    pub(crate) fn from_session(data: &SessionData) -> Self {
        let p = &data.profile;
        Self {
            sub: data.sub.clone(),
            name: p.name.clone(),
            preferred_username: p.preferred_username.clone(),
            picture: p.picture.clone(),
            email: p.email.clone(),
            email_verified: None,
            other: Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Debug` (a log line's `{:?}`, a panic message) names no personal
    /// data: not the subject, the name, the email, or any other claim.
    #[test]
    fn debug_names_no_personal_data() {
        let mut other = Map::new();
        other.insert("phone_number".into(), "+1 555 0100".into());
        let user = UserInfo {
            sub: "usr_123".into(),
            name: Some("Demo User".into()),
            email: Some("demo@example.com".into()),
            other,
            ..UserInfo::default()
        };
        assert_eq!(format!("{user:?}"), "UserInfo([redacted])");
        assert_eq!(format!("{:?}", Some(&user)), "Some(UserInfo([redacted]))");
    }
}
