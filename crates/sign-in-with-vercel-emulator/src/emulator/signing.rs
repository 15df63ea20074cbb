//! The two issuers' signing keys and the signing of ID tokens: the
//! sign-in issuer's key, rotated on request; the marketplace issuer's,
//! made when first needed; and an ID token's claims signed with either,
//! after the faults a test set.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value};

use super::Emulator;
use crate::{SigningKey, lock};

impl Emulator {
    /// Starts signing the sign-in's ID tokens with a new key. With
    /// `keep_old`, the old key stays in the JWK Set (a graceful rotation);
    /// without, it is dropped.
    pub fn rotate_key(&self, keep_old: bool) {
        rotate(&self.keys, keep_old);
    }

    /// [`Emulator::rotate_key`] for the marketplace issuer's key.
    pub fn rotate_marketplace_key(&self, keep_old: bool) {
        // The key made on first use, to be kept beside the new one (the
        // 1.5–6 s of an unoptimised RSA key only when it is).
        if keep_old {
            drop(self.marketplace_keys());
        }
        rotate(&self.marketplace_keys, keep_old);
    }

    /// The marketplace issuer's keys, the first one generated on first use,
    /// outside the lock: generating an RSA key takes a while (seconds in an
    /// unoptimised build), and the lock's other users (every marketplace
    /// request) would wait for it. Requests racing to the first use may
    /// each generate one; the first pushed is kept.
    pub(crate) fn marketplace_keys(&self) -> MutexGuard<'_, Vec<Arc<SigningKey>>> {
        if lock(&self.marketplace_keys).is_empty() {
            let key = Arc::new(SigningKey::generate());
            let mut keys = lock(&self.marketplace_keys);
            if keys.is_empty() {
                keys.push(key);
            }
            return keys;
        }
        lock(&self.marketplace_keys)
    }

    /// Signs an ID token's `claims` with the current key of the sign-in
    /// issuer, or of the marketplace issuer, after the
    /// [`Faults`](crate::Faults): they apply to both alike.
    pub(crate) fn sign_id_token(
        &self,
        mut claims: Map<String, Value>,
        marketplace: bool,
    ) -> String {
        let (edit, signing, by_sign_in_key) = {
            let faults = self.faults();
            (
                faults.id_token_claims.clone(),
                faults.signing,
                faults.marketplace_signed_by_sign_in_key,
            )
        };
        if let Some(edit) = edit {
            edit(&mut claims);
        }
        let claims = Value::Object(claims);
        // Signed after the lock is let go: a key a rotation drops meanwhile
        // still signs this one token.
        let key = if marketplace && !by_sign_in_key {
            self.marketplace_keys()[0].clone()
        } else {
            lock(&self.keys)[0].clone()
        };
        key.sign(&claims, signing)
    }
}

/// Puts a new key first in `keys`, dropping the others unless `keep_old`;
/// the key is generated before the lock is taken.
fn rotate(keys: &Mutex<Vec<Arc<SigningKey>>>, keep_old: bool) {
    let key = Arc::new(SigningKey::generate());
    let mut keys = lock(keys);
    if !keep_old {
        keys.clear();
    }
    keys.insert(0, key);
}
