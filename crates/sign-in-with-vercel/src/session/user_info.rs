//! The signed-in user's claims (OpenID Connect Core §5.1), as the session
//! and the userinfo endpoint give them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::cookie::SessionData;
use crate::id_token::take_string;

/// The signed-in user: the standard claims (OpenID Connect Core §5.1) the
/// provider proved, plus any others it sent. From a session (no provider
/// call), the profile claims the ID token proved, bounded to what the
/// cookie can carry: a name cut at 512 bytes, an email or username
/// longer than that left out, a picture only as an http(s) URL of at
/// most 2 KiB; the userinfo endpoint gives them whole.
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
    /// Every other claim, but the references of aggregated and distributed
    /// claims (`_claim_names`, `_claim_sources`: OpenID Connect Core §5.6.2).
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

impl UserInfo {
    /// The user from a userinfo response's claims (OpenID Connect Core
    /// §5.3.2), its `sub` already checked: each standard claim of §5.1
    /// taken when it has its type, and left out when not (a provider's
    /// `"name": 123` leaves the rest of the answer standing);
    /// `email_verified` also as the strings `"true"` and `"false"`, which
    /// some providers send. Aggregated and distributed claims (§5.6.2) are
    /// left out: their `_claim_sources` may hold an access token for
    /// another server, which must not reach the browser, and nothing here
    /// fetches or verifies them. Every other claim is kept as it came.
    pub(crate) fn from_claims(sub: String, mut claims: Map<String, Value>) -> Self {
        claims.remove("sub");
        claims.remove("_claim_names");
        claims.remove("_claim_sources");
        let mut string = |name: &str| take_string(&mut claims, name);
        let (name, preferred_username) = (string("name"), string("preferred_username"));
        let (picture, email) = (string("picture"), string("email"));
        let email_verified = match claims.remove("email_verified") {
            Some(Value::Bool(verified)) => Some(verified),
            Some(Value::String(verified)) => match verified.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        };
        Self {
            sub,
            name,
            preferred_username,
            picture,
            email,
            email_verified,
            other: claims,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distributed claims (OpenID Connect Core §5.6.2) are not passed on:
    /// their source's access token would reach the page's JSON.
    #[test]
    fn aggregated_and_distributed_claims_are_left_out() {
        let Value::Object(claims) = serde_json::json!({
            "sub": "usr_1", "locale": "en",
            "_claim_names": {"payment_info": "src1", "shipping_address": "src2"},
            "_claim_sources": {
                "src1": {"endpoint": "https://bank.example.com/claims", "access_token": "ksj3n283dke"},
                "src2": {"JWT": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"},
            },
        }) else {
            unreachable!()
        };
        let user = UserInfo::from_claims("usr_1".into(), claims);
        let json = serde_json::to_string(&user).unwrap();
        assert!(!json.contains("ksj3n283dke"), "{json}");
        assert!(!json.contains("_claim"), "{json}");
        assert_eq!(user.other.get("locale"), Some(&Value::from("en")));
    }

    /// A standard claim of the wrong type is left out, not a failure of
    /// the whole answer; the others, and every other claim, stand.
    #[test]
    fn claims_of_the_wrong_type_are_left_out() {
        let claims = serde_json::json!({
            "sub": "usr_1", "name": 123, "email": "a@example.com",
            "email_verified": "true", "picture": null, "preferred_username": ["x"],
            "locale": "en",
        });
        let Value::Object(claims) = claims else {
            unreachable!()
        };
        let user = UserInfo::from_claims("usr_1".into(), claims);
        assert_eq!(user.sub, "usr_1");
        assert_eq!(user.name, None);
        assert_eq!(user.email.as_deref(), Some("a@example.com"));
        assert_eq!(user.email_verified, Some(true));
        assert_eq!((user.picture, user.preferred_username), (None, None));
        assert_eq!(user.other.keys().collect::<Vec<_>>(), ["locale"]);
        for (verified, read) in [
            (serde_json::json!("yes"), None),
            (serde_json::json!("false"), Some(false)),
            (serde_json::json!(true), Some(true)),
            (serde_json::json!(false), Some(false)),
            (serde_json::json!(1), None),
        ] {
            let Value::Object(claims) = serde_json::json!({ "email_verified": verified }) else {
                unreachable!()
            };
            let user = UserInfo::from_claims("u".into(), claims);
            assert_eq!(user.email_verified, read, "{verified}");
            assert!(user.other.is_empty(), "{verified}");
        }
    }

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
