//! The settings of a running emulator (its
//! [`EmulatorConfig`](crate::EmulatorConfig), behind a lock): the setters
//! of the crate documentation's Settings table, which change them for what
//! is issued from then on, and the look-ups the endpoints make in them (a
//! client, a user, an installation ID, an avatar URL).

use super::Emulator;
use crate::{Client, ReusePolicy, Role, User, config, endpoints, lock, pages};

impl Emulator {
    /// Registers (or replaces) a client, checked as a configuration file's
    /// clients are ([`Emulator::try_register_client`]).
    ///
    /// # Panics
    ///
    /// When the client is one a configuration file could not register: a
    /// `token_endpoint_auth_method` other than `client_secret_basic` or
    /// `client_secret_post` with a secret, or `none` (or
    /// `client_secret_post`, the default) without one; a redirect URI that
    /// is not an absolute `http(s)` URL, or has a fragment. The message
    /// says which (never the secret). Such a client would otherwise fail
    /// later and elsewhere: `client_secret_basic` without a secret served
    /// as a public client, an unknown method refused at every token
    /// request.
    pub fn register_client(&self, client: Client) {
        if let Err(e) = self.try_register_client(client) {
            panic!("Emulator::register_client: {e}");
        }
    }

    /// Registers (or replaces) a client, unless it is one a configuration
    /// file could not register ([`Emulator::register_client`] says which):
    /// then nothing changes, and the error says why.
    pub fn try_register_client(&self, client: Client) -> Result<(), String> {
        client.check()?;
        let mut config = lock(&self.config);
        config.clients.retain(|c| c.client_id != client.client_id);
        config.clients.push(client);
        Ok(())
    }

    /// The configured users.
    pub fn users(&self) -> Vec<User> {
        lock(&self.config).users.clone()
    }

    /// Sets the role of user `sub` in its account (the marketplace's
    /// `user_role`) for tokens issued from now on. Unknown users are
    /// ignored.
    pub fn set_user_role(&self, sub: &str, role: Role) {
        if let Some(user) = lock(&self.config).users.iter_mut().find(|u| u.sub == sub) {
            user.role = role;
        }
    }

    /// Sets the access token lifetime for tokens issued from now on.
    pub fn set_access_token_ttl(&self, seconds: u64) {
        lock(&self.config).access_token_ttl = seconds;
    }

    /// Sets what a refresh-token reuse does from now on.
    pub fn set_refresh_token_reuse(&self, policy: ReusePolicy) {
        lock(&self.config).refresh_token_reuse = policy;
    }

    /// Sets whether authorization responses carry `iss` (RFC 9207) and
    /// discovery advertises `authorization_response_iss_parameter_supported`.
    pub fn set_authorization_response_iss(&self, on: bool) {
        lock(&self.config).authorization_response_iss = on;
    }

    /// The installation ID of integration `client_id` on account
    /// `account_id`: the configured one
    /// ([`EmulatorConfig::installations`](crate::EmulatorConfig::installations)),
    /// else `icfg_` and 24 characters derived from the two.
    pub fn installation_id(&self, client_id: &str, account_id: &str) -> String {
        let configured = lock(&self.config)
            .installations
            .iter()
            .find(|i| i.client_id == client_id && i.account_id == account_id)
            .map(|i| i.installation_id.clone());
        configured.unwrap_or_else(|| {
            let derived = config::sha256_hex(format!("{client_id}\n{account_id}").as_bytes(), 24);
            format!("icfg_{derived}")
        })
    }

    pub(crate) fn client(&self, client_id: &str) -> Option<Client> {
        lock(&self.config)
            .clients
            .iter()
            .find(|c| c.client_id == client_id)
            .cloned()
    }

    pub(crate) fn user(&self, sub: &str) -> Option<User> {
        lock(&self.config)
            .users
            .iter()
            .find(|u| u.sub == sub)
            .cloned()
    }

    /// The avatar URL served for `user` from the issuer origin, at Vercel's
    /// path (`/api/www/avatar/<id>`), unless the user was configured with
    /// a picture of its own.
    pub fn picture_of(&self, user: &User) -> String {
        match &user.picture {
            Some(picture) => picture.clone(),
            None => format!(
                "{}{}{}",
                self.origins.issuer,
                endpoints::AVATAR_PREFIX,
                pages::avatar_id(&user.sub)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::app;
    use super::*;
    use crate::{EmulatorConfig, SigningKey};

    /// A client registered in code is checked as a configuration file's
    /// are: one that would fail later and elsewhere is refused now, and
    /// nothing is registered.
    #[test]
    fn a_client_is_checked_as_a_configuration_file_s_are() {
        let emulator = Emulator::with_key(
            "http://127.0.0.1:3001",
            EmulatorConfig::default(),
            SigningKey::shared(),
        );
        let callback = "http://localhost:3000/api/auth/callback";
        for (client, says) in [
            (
                app("client_secret_basic", None, callback),
                "client_secret_basic needs a client_secret",
            ),
            (
                app("none", Some("s3cret"), callback),
                "none is for a client without a client_secret",
            ),
            (
                app("private_key_jwt", Some("s3cret"), callback),
                "\"private_key_jwt\" is not one the emulator implements",
            ),
            (
                app(
                    "client_secret_post",
                    Some("s3cret"),
                    &format!("{callback}#x"),
                ),
                "has a fragment",
            ),
            (
                app("client_secret_post", Some("s3cret"), "/api/auth/callback"),
                "is not an absolute http or https URL",
            ),
        ] {
            let e = emulator.try_register_client(client).unwrap_err();
            assert!(e.starts_with("client cl_app: ") && e.contains(says), "{e}");
            assert!(!e.contains("s3cret"), "{e}");
            assert!(emulator.client("cl_app").is_none());
        }
        for client in [
            app("client_secret_basic", Some("s3cret"), callback),
            app("client_secret_post", Some("s3cret"), callback),
            app("client_secret_post", None, callback),
            app("none", None, callback),
        ] {
            let method = client.token_endpoint_auth_method.clone();
            emulator.try_register_client(client).unwrap();
            assert_eq!(
                emulator
                    .client("cl_app")
                    .unwrap()
                    .token_endpoint_auth_method,
                method
            );
        }
    }

    #[test]
    #[should_panic(
        expected = "Emulator::register_client: client cl_app: token_endpoint_auth_method client_secret_basic needs a client_secret"
    )]
    fn registering_a_client_a_configuration_file_could_not_have_panics() {
        let emulator = Emulator::with_key(
            "http://127.0.0.1:3001",
            EmulatorConfig::default(),
            SigningKey::shared(),
        );
        emulator.register_client(app(
            "client_secret_basic",
            None,
            "http://localhost:3000/api/auth/callback",
        ));
    }
}
