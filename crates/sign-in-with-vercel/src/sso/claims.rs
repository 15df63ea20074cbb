//! Who the exchange signed in: the typed claims of the marketplace's ID
//! token once verified (Vercel's Marketplace Partner API, user
//! authentication: account, installation, user, role), checked to be an ID
//! token and not one of the marketplace's access tokens, and the identity
//! the exchange returns, which keeps the claims but not the ID token.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::id_token::{IdTokenClaims, IdTokenError};
use crate::secret::AccessToken;

/// A marketplace user's role in the Vercel account (team) that installed
/// the integration. Vercel's guidance: always check it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// `ADMIN`: may manage the installation.
    Admin,
    /// `USER`: a member.
    User,
    /// A role this version does not know, as sent.
    Other(String),
}

impl Role {
    fn parse(value: &str) -> Self {
        match value {
            "ADMIN" => Self::Admin,
            "USER" => Self::User,
            other => Self::Other(other.chars().take(64).collect()),
        }
    }
}

/// The claims of a marketplace ID token (Vercel's Marketplace Partner API,
/// user authentication): who the user is, in which account and
/// installation, with which role. Verified: signature, issuer, audience
/// (the integration), times. Claims Vercel documents are typed; the rest
/// of what the token carried, less the claims the verification read
/// (`aud`, `nbf`, `azp`, `nonce`, `at_hash` and the standard profile
/// claims, none of which Vercel's marketplace sends), is kept in `other`.
/// `Debug` shows no personal data; nothing here is `Serialize`: store what
/// you need of it, field by field.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MarketplaceClaims {
    /// The issuer (`https://marketplace.vercel.com`).
    pub iss: String,
    /// `account:<account_id>:user:<user_id>`.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// The Vercel account (team) that installed the integration.
    pub account_id: String,
    /// The installation.
    pub installation_id: String,
    /// The Vercel user.
    pub user_id: String,
    /// The user's role in the account.
    pub user_role: Role,
    /// The user's name, when Vercel sends it.
    pub user_name: Option<String>,
    /// The user's avatar URL, when Vercel sends it.
    pub user_avatar_url: Option<String>,
    /// The user's email address, when Vercel sends it.
    pub user_email: Option<String>,
    /// Every other claim, as sent.
    pub other: Map<String, Value>,
}

impl MarketplaceClaims {
    /// The typed claims of a verified token; a documented claim that is
    /// missing, or a `type` other than `id_token`, refuses it. The
    /// marketplace's access tokens share its issuer, audience and keys, and
    /// it always sends `type`: a token without one is refused too.
    pub(super) fn from_verified(claims: IdTokenClaims) -> Result<Self, Error> {
        let IdTokenClaims {
            iss,
            sub,
            exp,
            iat,
            mut other,
            ..
        } = claims;
        let mut take = |name: &'static str| crate::id_token::take_string(&mut other, name);
        let required = |value: Option<String>, name: &'static str| {
            value
                .filter(|v| !v.is_empty())
                .ok_or(IdTokenError::MissingClaim(name))
        };
        if required(take("type"), "type")? != "id_token" {
            return Err(IdTokenError::NotAnIdToken.into());
        }
        let account_id = required(take("account_id"), "account_id")?;
        let installation_id = required(take("installation_id"), "installation_id")?;
        let user_id = required(take("user_id"), "user_id")?;
        let user_role = Role::parse(&required(take("user_role"), "user_role")?);
        let (user_name, user_avatar_url, user_email) = (
            take("user_name"),
            take("user_avatar_url"),
            take("user_email"),
        );
        Ok(Self {
            iss,
            sub,
            exp,
            iat,
            account_id,
            installation_id,
            user_id,
            user_role,
            user_name,
            user_avatar_url,
            user_email,
            other,
        })
    }

    /// Whether the user is an administrator of the account.
    pub fn is_admin(&self) -> bool {
        self.user_role == Role::Admin
    }
}

/// Identifiers and the role; no name, email or avatar.
impl std::fmt::Debug for MarketplaceClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarketplaceClaims")
            .field("iss", &self.iss)
            .field("account_id", &self.account_id)
            .field("installation_id", &self.installation_id)
            .field("user_id", &self.user_id)
            .field("user_role", &self.user_role)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

/// The user an SSO exchange signed in. Deliberately not `Serialize`, and
/// without the ID token: keep the claims, let the tokens expire.
#[derive(Debug)]
#[non_exhaustive]
pub struct SsoIdentity {
    /// The verified ID token's claims.
    pub claims: MarketplaceClaims,
    /// The access token of the answer, when Vercel gave one.
    pub access_token: Option<AccessToken>,
    /// `token_type`, when given: `Bearer`, in any case.
    pub token_type: Option<String>,
    /// `expires_in`, seconds, when given; at most a year.
    pub expires_in: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn verified(extra: Value) -> IdTokenClaims {
        let Value::Object(other) = extra else {
            panic!("an object")
        };
        IdTokenClaims {
            iss: "https://marketplace.vercel.com".into(),
            sub: "account:a1:user:u1".into(),
            exp: 2,
            iat: 1,
            name: None,
            preferred_username: None,
            picture: None,
            email: None,
            other,
        }
    }

    fn marketplace_claims() -> Value {
        json!({"account_id": "a1", "installation_id": "icfg_1", "user_id": "u1",
               "user_role": "ADMIN", "user_name": "Ada Lovelace", "user_email": "ada@example.com",
               "user_avatar_url": "https://vercel.com/api/www/avatar/x", "type": "id_token",
               "future_claim": 7})
    }

    #[test]
    fn marketplace_claims_are_typed_and_the_rest_kept() {
        let claims = MarketplaceClaims::from_verified(verified(marketplace_claims())).unwrap();
        assert_eq!(claims.account_id, "a1");
        assert_eq!(claims.installation_id, "icfg_1");
        assert_eq!(claims.user_id, "u1");
        assert!(claims.is_admin());
        assert_eq!(claims.user_email.as_deref(), Some("ada@example.com"));
        assert_eq!(claims.other.len(), 1, "{:?}", claims.other.keys());
        assert_eq!(claims.other["future_claim"], 7);
    }

    #[test]
    fn roles_are_read_as_vercel_names_them() {
        assert_eq!(Role::parse("ADMIN"), Role::Admin);
        assert_eq!(Role::parse("USER"), Role::User);
        assert_eq!(Role::parse("OWNER"), Role::Other("OWNER".into()));
        let mut user = marketplace_claims();
        user["user_role"] = json!("USER");
        assert!(
            !MarketplaceClaims::from_verified(verified(user))
                .unwrap()
                .is_admin()
        );
    }

    #[test]
    fn a_documented_claim_missing_refuses_the_token() {
        for name in ["account_id", "installation_id", "user_id", "user_role"] {
            let mut claims = marketplace_claims();
            claims.as_object_mut().unwrap().remove(name);
            assert_eq!(
                MarketplaceClaims::from_verified(verified(claims)).err(),
                Some(Error::IdToken(IdTokenError::MissingClaim(name)))
            );
        }
    }

    #[test]
    fn an_access_token_offered_as_an_id_token_is_refused() {
        let mut claims = marketplace_claims();
        claims["type"] = json!("access_token");
        assert_eq!(
            MarketplaceClaims::from_verified(verified(claims)).err(),
            Some(Error::IdToken(IdTokenError::NotAnIdToken))
        );
    }

    /// The marketplace's access tokens share its issuer, audience and
    /// keys, and it always sends `type`: a token without one is refused.
    #[test]
    fn a_token_without_type_is_refused() {
        let mut claims = marketplace_claims();
        claims.as_object_mut().unwrap().remove("type");
        assert_eq!(
            MarketplaceClaims::from_verified(verified(claims)).err(),
            Some(Error::IdToken(IdTokenError::MissingClaim("type")))
        );
        let mut claims = marketplace_claims();
        claims["type"] = json!(["id_token"]);
        assert!(MarketplaceClaims::from_verified(verified(claims)).is_err());
    }

    #[test]
    fn identity_debug_shows_no_token_and_no_personal_data() {
        let identity = SsoIdentity {
            claims: MarketplaceClaims::from_verified(verified(marketplace_claims())).unwrap(),
            access_token: Some(AccessToken::new("vca_secret")),
            token_type: None,
            expires_in: None,
        };
        let printed = format!("{identity:?}");
        for private in ["vca_secret", "Ada", "ada@example.com", "avatar"] {
            assert!(!printed.contains(private), "{private} in {printed}");
        }
        assert!(
            printed.contains("Admin") && printed.contains("icfg_1"),
            "{printed}"
        );
    }
}
