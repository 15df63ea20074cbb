//! What the emulator remembers: browsers signed in to it, authorization
//! requests awaiting consent, codes, issued tokens grouped by grant (so
//! that revoking one token revokes its siblings), and the consents users
//! have given.

use std::collections::{HashMap, HashSet};

use rand::RngCore as _;

/// An authorization request shown on the consent page, awaiting a decision
/// from the browser that saw it, for the user signed in there.
#[derive(Clone)]
pub(super) struct Pending {
    /// The browser session the page was shown to.
    pub session: String,
    /// Who that browser is signed in as.
    pub sub: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    /// When that browser signed in: the grant's `auth_time`.
    pub auth_time: i64,
    pub expires_at: i64,
}

/// What a grant (one sign-in) carries into its codes and tokens. Its `id` is
/// introspection's `session_id`, a UUID as in the example of Vercel's
/// Authorization Server API reference.
#[derive(Clone)]
pub(super) struct Grant {
    pub id: String,
    pub client_id: String,
    pub sub: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    /// When the user signed in to the emulator for this grant, in seconds
    /// since the epoch: its ID tokens' `auth_time` (OpenID Connect Core
    /// §2), refreshed ones included (§12.2). `None` for the marketplace's
    /// SSO grants, which have no ID token of this issuer.
    pub auth_time: Option<i64>,
    /// When the grant's refresh tokens stop working: set when the first
    /// one is issued, kept by every rotation.
    pub refresh_expires_at: Option<i64>,
}

/// A browser signed in to the emulator (its `emulator_session` cookie).
pub(super) struct BrowserSession {
    pub sub: String,
    /// When the browser signed in, in seconds since the epoch on the
    /// emulator's clock: what `max_age` is measured against, and the ID
    /// tokens' `auth_time` (OpenID Connect Core §2, §3.1.2.1).
    pub auth_time: i64,
}

/// An authorization code: single use, short-lived.
pub(super) struct Code {
    pub grant: Grant,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub expires_at: i64,
    pub used: bool,
}

/// An issued access or refresh token.
#[derive(Clone)]
pub(super) struct Token {
    pub grant: Grant,
    /// A UUID, as in the introspection example of Vercel's Authorization Server
    /// API reference.
    pub jti: String,
    pub issued_at: i64,
    pub expires_at: i64,
    /// Refresh tokens are single-use: set once exchanged.
    pub used: bool,
}

#[derive(Default)]
pub(super) struct Store {
    pub pending: HashMap<String, Pending>,
    pub codes: HashMap<String, Code>,
    pub access_tokens: HashMap<String, Token>,
    pub refresh_tokens: HashMap<String, Token>,
    pub revoked_grants: HashSet<String>,
    /// Tokens created through `POST /v3/user/tokens`, by bearer value.
    pub user_tokens: HashMap<String, UserToken>,
    /// Codes of integrations' SSO redirect logins, by code.
    pub sso_codes: HashMap<String, SsoCode>,
    /// Granted consents: (sub, client_id) → the scopes granted.
    pub consents: HashMap<(String, String), Vec<String>>,
    /// Browsers signed in to the emulator, by session cookie value.
    pub sessions: HashMap<String, BrowserSession>,
}

/// A token created through Vercel's REST API (`POST /v3/user/tokens`). Times in
/// milliseconds, as the API gives them.
#[derive(Clone)]
pub(super) struct UserToken {
    pub id: String,
    pub sub: String,
    pub name: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// The code of an integration's SSO redirect login (Vercel's REST API
/// reference, `POST /v1/integrations/sso/token`): single use, short-lived,
/// bound to the integration, its redirect URI and state.
pub(super) struct SsoCode {
    pub client_id: String,
    pub sub: String,
    pub state: Option<String>,
    pub redirect_uri: String,
    pub expires_at: i64,
    pub used: bool,
}

impl Store {
    /// Whether `token` is usable at `now`: known, unexpired, unused, and
    /// its grant not revoked.
    pub fn is_live(&self, token: &Token, now: i64) -> bool {
        !token.used && now < token.expires_at && !self.revoked_grants.contains(&token.grant.id)
    }

    /// Revokes every grant of `sub` to `client_id`: codes, access and
    /// refresh tokens alike.
    pub fn revoke_grants_of(&mut self, sub: &str, client_id: &str) {
        let of = |g: &Grant| g.sub == sub && g.client_id == client_id;
        let ids: Vec<String> = self
            .codes
            .values()
            .map(|c| &c.grant)
            .chain(self.access_tokens.values().map(|t| &t.grant))
            .chain(self.refresh_tokens.values().map(|t| &t.grant))
            .filter(|g| of(g))
            .map(|g| g.id.clone())
            .collect();
        self.revoked_grants.extend(ids);
    }

    /// Forgets what has expired, so a long benchmark does not grow the maps
    /// without bound.
    pub fn sweep(&mut self, now: i64) {
        if self.pending.len()
            + self.codes.len()
            + self.access_tokens.len()
            + self.refresh_tokens.len()
            < 4096
        {
            return;
        }
        self.pending.retain(|_, p| p.expires_at > now);
        self.codes.retain(|_, c| c.expires_at > now);
        self.access_tokens.retain(|_, t| t.expires_at > now);
        self.refresh_tokens.retain(|_, t| t.expires_at > now);
        self.sso_codes.retain(|_, c| c.expires_at > now);
    }
}

/// A random (version 4) UUID, RFC 9562 §5.4, the shape of Vercel's `jti`
/// and `session_id`.
pub(super) fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = crate::config::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4() {
        let id = uuid_v4();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(uuid_v4(), id);
    }
}
