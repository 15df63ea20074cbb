//! What the emulator remembers: browsers signed in to it, authorization
//! requests awaiting consent, codes, issued tokens grouped by grant (so
//! that revoking one token revokes its siblings), and the consents users
//! have given.

use std::collections::HashMap;

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
    /// When the session was last started or seen, in uses of any session
    /// (not seconds): which ones [`MAX_SESSIONS`] forgets first.
    last_used: u64,
}

/// What the store holds before its first sweep. After a sweep, the next
/// one comes when what was left has doubled, so that sweeping costs a
/// constant time per insert, amortised, however much stays live.
const SWEEP_AT_LEAST: usize = 4096;

/// How long a revoked grant's id outlives its revocation (see
/// [`Store::sweep`]): far longer than any token request takes.
const REVOKED_KEPT_SECS: i64 = 3600;

/// Browser sessions kept. A real browser session lasts long, and so does
/// the emulator's; but a benchmark signs in a fresh browser per flow, so
/// past this many the least recently used half is forgotten (those
/// browsers see the login screen again).
const MAX_SESSIONS: usize = 65_536;

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
    /// Revoked grants, by id, with when they were revoked: see
    /// [`Store::sweep`].
    revoked_grants: HashMap<String, i64>,
    /// Tokens created through `POST /v3/user/tokens`, by bearer value.
    pub user_tokens: HashMap<String, UserToken>,
    /// Codes of integrations' SSO redirect logins, by code.
    pub sso_codes: HashMap<String, SsoCode>,
    /// Granted consents: (sub, client_id) → the scopes granted.
    pub consents: HashMap<(String, String), Vec<String>>,
    /// Browsers signed in to the emulator, by session cookie value.
    pub sessions: HashMap<String, BrowserSession>,
    /// What [`Store::held`] must reach for [`Store::inserted`] to sweep.
    next_sweep: usize,
    /// Session uses so far: the clock of [`BrowserSession::last_used`].
    session_uses: u64,
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

impl UserToken {
    /// Whether the token still works at `now` (seconds).
    pub fn is_live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|at| at > millis(now))
    }
}

/// `seconds` in milliseconds, the REST API's unit, saturating.
pub(super) fn millis(seconds: i64) -> i64 {
    seconds.saturating_mul(1000)
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

/// Whether [`Store::sweep`] keeps `token` at `now`: unexpired, and of a
/// grant not in `revoked`. What it would forget counts as unknown
/// everywhere, whether it has yet or not, so that no answer depends on when
/// the sweep last ran.
fn kept(token: &Token, revoked: &HashMap<String, i64>, now: i64) -> bool {
    now < token.expires_at && !revoked.contains_key(&token.grant.id)
}

impl Store {
    /// Whether `token` counts as known at `now`: one the sweep keeps.
    pub fn is_known(&self, token: &Token, now: i64) -> bool {
        kept(token, &self.revoked_grants, now)
    }

    /// Whether `token` is usable at `now`: known and unused.
    pub fn is_live(&self, token: &Token, now: i64) -> bool {
        !token.used && self.is_known(token, now)
    }

    /// Records that `sub` has authorized `client_id` for `scopes`, beside
    /// what it had authorized before.
    pub fn grant_consent(&mut self, sub: &str, client_id: &str, scopes: &[impl AsRef<str>]) {
        let granted = self
            .consents
            .entry((sub.to_owned(), client_id.to_owned()))
            .or_default();
        for scope in scopes.iter().map(AsRef::as_ref) {
            if !granted.iter().any(|g| g == scope) {
                granted.push(scope.to_owned());
            }
        }
    }

    /// Whether grant `id` has been revoked.
    pub fn is_revoked(&self, id: &str) -> bool {
        self.revoked_grants.contains_key(id)
    }

    /// Revokes grant `id` at `now`: its codes and tokens, and any it would
    /// issue from now on, are dead.
    pub fn revoke_grant(&mut self, id: String, now: i64) {
        self.revoked_grants.entry(id).or_insert(now);
    }

    /// Revokes every grant of `sub` to `client_id`: codes, access and
    /// refresh tokens alike.
    pub fn revoke_grants_of(&mut self, sub: &str, client_id: &str, now: i64) {
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
        for id in ids {
            self.revoke_grant(id, now);
        }
    }

    /// Called after each insert of a code, token, page or SSO code:
    /// sweeps ([`Store::sweep`]) once the store holds twice what the last
    /// sweep left (and at least [`SWEEP_AT_LEAST`]), so that a long
    /// benchmark does not grow it without bound, whichever endpoints it
    /// calls, and no request pays for scanning it all.
    pub fn inserted(&mut self, now: i64) {
        if self.held() >= self.next_sweep.max(SWEEP_AT_LEAST) {
            self.sweep(now);
            self.next_sweep = 2 * self.held();
        }
    }

    /// How many codes, tokens, pages and revoked grants the store holds.
    fn held(&self) -> usize {
        self.pending.len()
            + self.codes.len()
            + self.access_tokens.len()
            + self.refresh_tokens.len()
            + self.revoked_grants.len()
            + self.user_tokens.len()
            + self.sso_codes.len()
    }

    /// Forgets what can no longer be used: what has expired, and the codes
    /// and tokens of revoked grants. A spent refresh token of a live grant
    /// stays until it expires: presenting it again is the reuse that
    /// `refresh_token_reuse` answers (RFC 9700 §4.14.2). So does a spent
    /// code, past its own expiry, while a token of its grant is known:
    /// presenting it again revokes them (RFC 6749 §4.1.2, §10.5), however
    /// late. A forgotten code or token is answered as an unknown one. A revoked grant's id is kept
    /// [`REVOKED_KEPT_SECS`] after its revocation: a token request that
    /// had spent its code or refresh token just before the revocation may
    /// still be issuing the grant's next tokens, which must be born dead.
    pub fn sweep(&mut self, now: i64) {
        let revoked = &self.revoked_grants;
        let live = |grant: &Grant| !revoked.contains_key(&grant.id);
        self.pending.retain(|_, p| p.expires_at > now);
        self.access_tokens.retain(|_, t| kept(t, revoked, now));
        self.refresh_tokens.retain(|_, t| kept(t, revoked, now));
        let with_tokens: std::collections::HashSet<&str> = self
            .access_tokens
            .values()
            .chain(self.refresh_tokens.values())
            .map(|t| t.grant.id.as_str())
            .collect();
        self.codes.retain(|_, c| {
            live(&c.grant)
                && (c.expires_at > now || c.used && with_tokens.contains(c.grant.id.as_str()))
        });
        self.sso_codes.retain(|_, c| c.expires_at > now);
        self.user_tokens.retain(|_, t| t.is_live(now));
        self.revoked_grants
            .retain(|_, revoked_at| now.saturating_sub(*revoked_at) < REVOKED_KEPT_SECS);
    }

    /// Signs a browser in: session `id`, as `sub`, at `auth_time`. Past
    /// [`MAX_SESSIONS`], the least recently used half of the sessions is
    /// forgotten.
    pub fn start_session(&mut self, id: String, sub: String, auth_time: i64) {
        self.session_uses += 1;
        let session = BrowserSession {
            sub,
            auth_time,
            last_used: self.session_uses,
        };
        self.sessions.insert(id, session);
        if self.sessions.len() > MAX_SESSIONS {
            let mut uses: Vec<u64> = self.sessions.values().map(|s| s.last_used).collect();
            let keep = MAX_SESSIONS / 2;
            let cut = uses.len() - keep;
            let (_, oldest_kept, _) = uses.select_nth_unstable(cut);
            let oldest_kept = *oldest_kept;
            self.sessions.retain(|_, s| s.last_used >= oldest_kept);
        }
    }

    /// The browser session `id`, now marked as used.
    pub fn session(&mut self, id: &str) -> Option<&BrowserSession> {
        self.session_uses += 1;
        let uses = self.session_uses;
        let session = self.sessions.get_mut(id)?;
        session.last_used = uses;
        Some(session)
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

    fn grant(id: &str) -> Grant {
        Grant {
            id: id.to_owned(),
            client_id: "cl".to_owned(),
            sub: "usr".to_owned(),
            scopes: Vec::new(),
            nonce: None,
            auth_time: None,
            refresh_expires_at: None,
        }
    }

    fn token(grant_id: &str, expires_at: i64, used: bool) -> Token {
        Token {
            grant: grant(grant_id),
            jti: uuid_v4(),
            issued_at: 0,
            expires_at,
            used,
        }
    }

    fn user_token(expires_at: Option<i64>) -> UserToken {
        UserToken {
            id: uuid_v4(),
            sub: "usr".to_owned(),
            name: "ci".to_owned(),
            created_at: 0,
            expires_at,
        }
    }

    fn page(expires_at: i64) -> Pending {
        Pending {
            session: String::new(),
            sub: "usr".to_owned(),
            client_id: "cl".to_owned(),
            redirect_uri: String::new(),
            scopes: Vec::new(),
            state: None,
            nonce: None,
            code_challenge: String::new(),
            auth_time: 0,
            expires_at,
        }
    }

    fn sso_code(expires_at: i64) -> SsoCode {
        SsoCode {
            client_id: "cl".to_owned(),
            sub: "usr".to_owned(),
            state: None,
            redirect_uri: String::new(),
            expires_at,
            used: false,
        }
    }

    fn keys<V>(map: &HashMap<String, V>) -> Vec<&str> {
        let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn a_sweep_forgets_what_can_no_longer_be_used() {
        let now = 1_000;
        let mut store = Store::default();
        store.revoke_grant("revoked".to_owned(), now);
        store.revoke_grant("gone".to_owned(), now - REVOKED_KEPT_SECS);
        for (key, t) in [
            ("a_live", token("live", 2_000, false)),
            ("a_expired", token("live", now, false)),
            ("a_revoked", token("revoked", 2_000, false)),
        ] {
            store.access_tokens.insert(key.to_owned(), t);
        }
        for (key, t) in [
            ("r_live", token("live", 5_000, false)),
            ("r_expired", token("live", now, false)),
            // What a reuse of a spent token of a live grant is detected by.
            ("r_spent", token("live", 5_000, true)),
            ("r_revoked", token("revoked", 5_000, false)),
            ("r_spent_revoked", token("revoked", 5_000, true)),
        ] {
            store.refresh_tokens.insert(key.to_owned(), t);
        }
        store.codes.insert(
            "c_revoked".to_owned(),
            Code {
                grant: grant("revoked"),
                redirect_uri: String::new(),
                code_challenge: String::new(),
                expires_at: 1_050,
                used: true,
            },
        );
        for (key, at) in [
            ("u_expired", Some(now * 1000)),
            ("u_live", Some(now * 1000 + 1)),
            ("u_forever", None),
        ] {
            store.user_tokens.insert(key.to_owned(), user_token(at));
        }

        // Pages and codes of both kinds: expired at `now`, live a second
        // later.
        for (key, expires_at) in [("p_expired", now), ("p_live", now + 1)] {
            store.pending.insert(key.to_owned(), page(expires_at));
        }
        for (key, expires_at) in [("c_expired", now), ("c_live", now + 1)] {
            let code = Code {
                expires_at,
                ..expired_code()
            };
            store.codes.insert(key.to_owned(), code);
        }
        for (key, expires_at) in [("s_expired", now), ("s_live", now + 1)] {
            store.sso_codes.insert(key.to_owned(), sso_code(expires_at));
        }
        // Spent codes past their expiry: kept while a token of their grant
        // is (its replay revokes them), forgotten once none is.
        for (key, grant_id) in [("c_spent", "live"), ("c_spent_done", "g")] {
            let code = Code {
                grant: grant(grant_id),
                expires_at: now,
                used: true,
                ..expired_code()
            };
            store.codes.insert(key.to_owned(), code);
        }

        store.sweep(now);
        assert_eq!(keys(&store.pending), ["p_live"]);
        assert_eq!(keys(&store.codes), ["c_live", "c_spent"]);
        assert_eq!(keys(&store.sso_codes), ["s_live"]);
        assert_eq!(keys(&store.access_tokens), ["a_live"]);
        assert_eq!(keys(&store.refresh_tokens), ["r_live", "r_spent"]);
        assert_eq!(keys(&store.user_tokens), ["u_forever", "u_live"]);
        // A grant revoked an hour ago is forgotten; a recent one is kept
        // whether or not anything refers to it.
        assert!(!store.is_revoked("gone"));
        assert!(store.is_revoked("revoked"));
        // A token request that spent its refresh token before the
        // revocation issues the grant's next tokens after the sweep: they
        // are born dead.
        let late = token("revoked", 5_000, false);
        assert!(!store.is_live(&late, now + 1));
        store.sweep(now + REVOKED_KEPT_SECS);
        assert!(!store.is_revoked("revoked"), "forgotten an hour later");
    }

    fn expired_code() -> Code {
        Code {
            grant: grant("g"),
            redirect_uri: String::new(),
            code_challenge: String::new(),
            expires_at: 0,
            used: false,
        }
    }

    /// Whatever the store fills with (pages, revoked grants, REST API
    /// tokens, SSO codes), it counts toward the next sweep: a benchmark
    /// that only signs in through SSO, or only creates REST API tokens,
    /// does not grow it without bound.
    #[test]
    fn every_kind_of_entry_counts_toward_a_sweep() {
        let now = 10_000;
        /// Puts the `n`th expired entry of one kind into the store.
        type Fill = fn(&mut Store, usize);
        let fills: [(&str, Fill); 4] = [
            ("pages", |store, n| {
                store.pending.insert(n.to_string(), page(0));
            }),
            ("revoked grants", |store, n| {
                store.revoke_grant(n.to_string(), 10_000 - REVOKED_KEPT_SECS);
            }),
            ("REST API tokens", |store, n| {
                store.user_tokens.insert(n.to_string(), user_token(Some(0)));
            }),
            ("SSO codes", |store, n| {
                store.sso_codes.insert(n.to_string(), sso_code(0));
            }),
        ];
        for (kind, fill) in fills {
            let mut store = Store::default();
            for n in 0..SWEEP_AT_LEAST {
                fill(&mut store, n);
                store.inserted(now);
            }
            // Each map on its own: `held` is what is under test.
            let left = [
                store.pending.len(),
                store.revoked_grants.len(),
                store.user_tokens.len(),
                store.sso_codes.len(),
            ];
            assert_eq!(left, [0; 4], "{kind}: swept at {SWEEP_AT_LEAST}");
        }
    }

    /// Removing an app for one user revokes that user's grants to that
    /// app only: neither another user's grants to it nor the user's
    /// grants to other apps.
    #[test]
    fn revoking_the_grants_of_a_user_to_an_app_leaves_the_others() {
        let mut store = Store::default();
        for (id, sub, client_id) in [
            ("mine", "usr", "cl"),
            ("another_user", "usr_other", "cl"),
            ("another_app", "usr", "cl_other"),
        ] {
            let mut token = token(id, 2_000, false);
            token.grant.sub = sub.to_owned();
            token.grant.client_id = client_id.to_owned();
            store.refresh_tokens.insert(id.to_owned(), token);
        }
        store.revoke_grants_of("usr", "cl", 1_000);
        assert!(store.is_revoked("mine"));
        assert!(!store.is_revoked("another_user"));
        assert!(!store.is_revoked("another_app"));
    }

    #[test]
    fn inserts_sweep_once_the_store_has_doubled_since_the_last_sweep() {
        let now = 1_000;
        let mut store = Store::default();
        for n in 1..SWEEP_AT_LEAST {
            store.codes.insert(n.to_string(), expired_code());
            store.inserted(now);
        }
        assert_eq!(store.codes.len(), SWEEP_AT_LEAST - 1, "not yet");
        store.codes.insert("last".to_owned(), expired_code());
        store.inserted(now);
        assert!(store.codes.is_empty(), "swept");

        // What stays live is not scanned again on every insert: the next
        // sweep waits until the store has doubled.
        for n in 0..SWEEP_AT_LEAST {
            let key = format!("live{n}");
            store.access_tokens.insert(key, token("g", 2_000, false));
            store.inserted(now);
        }
        assert_eq!(store.next_sweep, 2 * SWEEP_AT_LEAST);
        store.codes.insert("expired".to_owned(), expired_code());
        store.inserted(now);
        assert_eq!(store.codes.len(), 1, "not swept before the store doubles");
        // 4096 live + 1 code + 4095 more is twice what was left.
        for n in 1..SWEEP_AT_LEAST {
            store
                .refresh_tokens
                .insert(n.to_string(), token("g", 0, true));
            store.inserted(now);
        }
        assert!(store.codes.is_empty() && store.refresh_tokens.is_empty());
        assert_eq!(store.access_tokens.len(), SWEEP_AT_LEAST);
    }

    #[test]
    fn past_the_bound_the_least_recently_used_browser_sessions_are_forgotten() {
        let mut store = Store::default();
        store.start_session("first".to_owned(), "usr".to_owned(), 0);
        store.start_session("second".to_owned(), "usr".to_owned(), 0);
        for n in 2..MAX_SESSIONS {
            store.start_session(n.to_string(), "usr".to_owned(), 0);
        }
        assert_eq!(store.sessions.len(), MAX_SESSIONS, "all kept");
        assert!(store.session("first").is_some(), "used again");
        store.start_session("one more".to_owned(), "usr".to_owned(), 0);
        assert_eq!(store.sessions.len(), MAX_SESSIONS / 2);
        assert!(store.session("first").is_some(), "recently used");
        assert!(store.session("one more").is_some());
        assert!(store.session("second").is_none(), "the least recently used");
    }
}
