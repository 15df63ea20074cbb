//! What happens to the tokens the emulator issued outside any request:
//! what a user does in Vercel's account settings (removing an app, which
//! revokes its grants), and an access token's life ending early, as time
//! does at the provider.

use super::Emulator;
use crate::lock;

impl Emulator {
    /// What the user does with "Remove" next to an app in Vercel's account
    /// settings (Vercel's user guide to Sign in with Vercel, "Revoking
    /// third-party application access"): every grant of `sub` to `client_id` is
    /// revoked, its codes and tokens with it, and the consent is forgotten, so
    /// the next sign-in shows the consent page again.
    pub fn remove_app(&self, sub: &str, client_id: &str) {
        let mut store = lock(&self.store);
        store
            .consents
            .remove(&(sub.to_owned(), client_id.to_owned()));
        let now = self.now();
        store.revoke_grants_of(sub, client_id, now);
    }

    /// Ends the life of one access token now, as its hour running out does
    /// at the provider, and leaves its refresh token alone: what an app
    /// whose clock runs behind the provider's meets. Unknown tokens are
    /// ignored.
    pub fn expire_access_token(&self, access_token: &str) {
        let now = self.now();
        if let Some(token) = lock(&self.store).access_tokens.get_mut(access_token) {
            token.expires_at = token.expires_at.min(now);
        }
    }

    /// Ends the life of every access token of user `sub` now, as
    /// [`Emulator::expire_access_token`] does one: for a test that cannot
    /// see the tokens (the app's functions hold them in their cookies).
    pub fn expire_access_tokens_of(&self, sub: &str) {
        let now = self.now();
        for token in lock(&self.store).access_tokens.values_mut() {
            if token.grant.sub == sub {
                token.expires_at = token.expires_at.min(now);
            }
        }
    }
}
