//! What the emulator remembers: authorization requests awaiting consent,
//! codes, and issued tokens, grouped by grant so that revoking one token
//! revokes its siblings.

use std::collections::{HashMap, HashSet};

/// An authorization request shown on the consent page, awaiting a decision.
#[derive(Clone)]
pub(super) struct Pending {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub expires_at: i64,
}

/// What a grant (one consent) carries into its codes and tokens.
#[derive(Clone)]
pub(super) struct Grant {
    pub id: String,
    pub client_id: String,
    pub sub: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
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
}

/// A token created through Vercel's REST API (seed 003). Times in
/// milliseconds, as the API gives them.
#[derive(Clone)]
pub(super) struct UserToken {
    pub id: String,
    pub sub: String,
    pub name: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// The code of an integration's SSO redirect login (seed 003): single
/// use, short-lived, bound to the integration, its redirect URI and state.
pub(super) struct SsoCode {
    pub client_id: String,
    pub sub: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
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
