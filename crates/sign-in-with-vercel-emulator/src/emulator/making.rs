//! How an emulator is made: from its issuer or its three origins, with a
//! signing key given or generated; the clock a test moves; and the three
//! origins it answers on.

use std::sync::{Arc, Mutex};

use super::{Clock, Emulator};
use crate::stats::Counters;
use crate::{EmulatorConfig, Faults, Origins, SigningKey, origins, store};

impl Emulator {
    /// An emulator whose issuer identifier is `issuer` (for example
    /// `http://127.0.0.1:3001`), with a freshly generated signing key. Its
    /// API and marketplace origins are derived from the issuer
    /// ([`Origins::derived_from`]): the next ports (`:3002`, `:3003`), or
    /// `api.` and `marketplace.` before a host without a port.
    pub fn new(issuer: impl Into<String>, config: EmulatorConfig) -> Arc<Self> {
        Self::with_key(issuer, config, SigningKey::generate())
    }

    /// Like [`Emulator::new`] with a given key ([`SigningKey::shared`] in tests).
    pub fn with_key(
        issuer: impl Into<String>,
        config: EmulatorConfig,
        key: SigningKey,
    ) -> Arc<Self> {
        Self::at(Origins::derived_from(&issuer.into()), config, key)
    }

    /// An emulator with the issuer and API origins given (`https://vercel.com`
    /// and `https://api.vercel.com`, or ports chosen at run time) and the
    /// marketplace origin derived ([`Origins::with_api`]).
    pub fn with_origins(
        issuer: impl Into<String>,
        api_origin: impl Into<String>,
        config: EmulatorConfig,
        key: SigningKey,
    ) -> Arc<Self> {
        Self::at(
            Origins::with_api(&issuer.into(), &api_origin.into()),
            config,
            key,
        )
    }

    /// An emulator on the three `origins` given; `key` signs the sign-in's
    /// ID tokens. The marketplace's key is generated when first needed.
    pub fn at(origins: Origins, config: EmulatorConfig, key: SigningKey) -> Arc<Self> {
        let origins = origins.normalized();
        Arc::new(Self {
            authorities: origins::Authorities::new(&origins),
            origins,
            config: Mutex::new(config),
            keys: Mutex::new(vec![Arc::new(key)]),
            marketplace_keys: Mutex::new(Vec::new()),
            store: Mutex::new(store::Store::default()),
            faults: Mutex::new(Faults::default()),
            counters: Counters::default(),
            clock: Arc::new(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64)
            }),
        })
    }

    /// Replaces the clock (tests move time forward without sleeping).
    ///
    /// # Panics
    ///
    /// When the emulator is already shared (cloned, or served): its other
    /// holders would go on with the old clock, and a test would run on the
    /// system clock without noticing.
    pub fn set_clock(self: &mut Arc<Self>, clock: Clock) {
        Arc::get_mut(self)
            .expect("set_clock is called before the emulator is shared")
            .clock = clock;
    }

    /// The issuer identifier, also the origin of the authorization
    /// endpoint, the JWK Set, discovery, avatars and the account page.
    pub fn issuer(&self) -> &str {
        &self.origins.issuer
    }

    /// The origin of the token, revocation, introspection and userinfo
    /// endpoints, the REST API and the SSO exchange (like
    /// `https://api.vercel.com`).
    pub fn api_origin(&self) -> &str {
        &self.origins.api
    }

    /// The marketplace issuer identifier, also its origin (like
    /// `https://marketplace.vercel.com`): the `iss` of SSO ID tokens.
    pub fn marketplace_issuer(&self) -> &str {
        &self.origins.marketplace
    }

    /// The three origins.
    pub fn origins(&self) -> &Origins {
        &self.origins
    }
}
