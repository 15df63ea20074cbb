//! Reading a configuration: the JSON file `EMULATOR_CONFIG` names, then
//! the environment variables that override its lifetimes and policies;
//! and the checks the result must pass, which a client registered in code
//! passes too (its authentication method fit for its secret, its redirect
//! URIs absolute and without a fragment, RFC 6749 §3.1.2). What is refused
//! is named by field and entry, never by a value (a client secret may be
//! one).

use super::ids::is_hex;
use super::{Client, EmulatorConfig, MAX_TTL, ReusePolicy};

impl EmulatorConfig {
    /// Reads the configuration: the JSON file named by `EMULATOR_CONFIG`
    /// when set, else the default; then `EMULATOR_ACCESS_TOKEN_TTL`,
    /// `EMULATOR_REFRESH_TOKEN_TTL`, `EMULATOR_ID_TOKEN_TTL` and
    /// `EMULATOR_CODE_TTL` (seconds) override the lifetimes,
    /// `EMULATOR_REFRESH_TOKEN_REUSE` (`reject` or `revoke_grant`) the
    /// reuse policy, and `EMULATOR_AUTHORIZATION_RESPONSE_ISS` (`true` or
    /// `false`) whether authorization responses carry `iss`.
    ///
    /// The result is checked; an error names the field and the entry (never a
    /// secret): at least one user; no `sub` or `client_id` given twice; every
    /// user's `account_id` hexadecimal; every client's
    /// `token_endpoint_auth_method` one the emulator implements and fit for
    /// its secret (`client_secret_basic` or `client_secret_post` with one,
    /// `none` without); every redirect URI an absolute `http` or `https` URL
    /// without a fragment (RFC 6749 §3.1.2); no lifetime past 10 years.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut config = match lookup("EMULATOR_CONFIG") {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("EMULATOR_CONFIG: cannot read {path}: {e}"))?;
                // Where, and which field, never serde's own text: a type
                // error quotes the value, a client secret's included.
                serde_json::from_str(&text).map_err(|e| {
                    format!(
                        "EMULATOR_CONFIG: {path} is not a valid configuration ({}, line {} column {})",
                        config_error_kind(&e),
                        e.line(),
                        e.column()
                    )
                })?
            }
            None => Self::default(),
        };
        for (name, slot) in [
            ("EMULATOR_ACCESS_TOKEN_TTL", &mut config.access_token_ttl),
            ("EMULATOR_REFRESH_TOKEN_TTL", &mut config.refresh_token_ttl),
            ("EMULATOR_ID_TOKEN_TTL", &mut config.id_token_ttl),
            ("EMULATOR_CODE_TTL", &mut config.code_ttl),
        ] {
            if let Some(value) = lookup(name) {
                *slot = value
                    .trim()
                    .parse()
                    .map_err(|_| format!("{name} must be a whole number of seconds"))?;
            }
        }
        if let Some(value) = lookup("EMULATOR_REFRESH_TOKEN_REUSE") {
            config.refresh_token_reuse = ReusePolicy::parse(&value).ok_or_else(|| {
                "EMULATOR_REFRESH_TOKEN_REUSE must be reject or revoke_grant".to_owned()
            })?;
        }
        if let Some(value) = lookup("EMULATOR_AUTHORIZATION_RESPONSE_ISS") {
            config.authorization_response_iss = match value.trim() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(
                        "EMULATOR_AUTHORIZATION_RESPONSE_ISS must be true or false".to_owned()
                    );
                }
            };
        }
        config.check()?;
        Ok(config)
    }

    /// What [`EmulatorConfig::from_lookup`] refuses.
    fn check(&self) -> Result<(), String> {
        for (field, variable, ttl) in [
            (
                "access_token_ttl",
                "EMULATOR_ACCESS_TOKEN_TTL",
                self.access_token_ttl,
            ),
            (
                "refresh_token_ttl",
                "EMULATOR_REFRESH_TOKEN_TTL",
                self.refresh_token_ttl,
            ),
            ("id_token_ttl", "EMULATOR_ID_TOKEN_TTL", self.id_token_ttl),
            ("code_ttl", "EMULATOR_CODE_TTL", self.code_ttl),
        ] {
            if ttl > MAX_TTL {
                return Err(format!(
                    "{field} ({variable}) must be at most {MAX_TTL} seconds (10 years), not {ttl}"
                ));
            }
        }
        if self.users.is_empty() {
            return Err("EMULATOR_CONFIG: at least one user is needed".into());
        }
        if let Some(sub) = repeated(self.users.iter().map(|u| &u.sub)) {
            return Err(format!("EMULATOR_CONFIG: users: sub {sub} is given twice"));
        }
        if let Some(id) = repeated(self.clients.iter().map(|c| &c.client_id)) {
            return Err(format!(
                "EMULATOR_CONFIG: clients: client_id {id} is given twice"
            ));
        }
        for user in &self.users {
            if !is_hex(&user.account_id) {
                return Err(format!(
                    "EMULATOR_CONFIG: the account_id of user {} must be hexadecimal",
                    user.sub
                ));
            }
        }
        for client in &self.clients {
            client
                .check()
                .map_err(|e| format!("EMULATOR_CONFIG: {e}"))?;
        }
        Ok(())
    }
}

impl Client {
    /// The client's authentication method and redirect URIs, as
    /// [`EmulatorConfig::from_lookup`] and [`crate::Emulator::register_client`]
    /// check them: what is refused says so, naming the client.
    pub(crate) fn check(&self) -> Result<(), String> {
        let id = &self.client_id;
        let method = self.token_endpoint_auth_method.as_str();
        // The emulator's client authentication (the token endpoint's
        // `authenticate`): the registered method with a secret, `none`
        // without. `client_secret_post` without a secret is the default of
        // a public client that names no method.
        match (method, self.client_secret.is_some()) {
            ("client_secret_basic" | "client_secret_post", true)
            | ("none" | "client_secret_post", false) => {}
            ("none", true) => {
                return Err(format!(
                    "client {id}: token_endpoint_auth_method none is for a client without a client_secret; with one, use client_secret_basic or client_secret_post"
                ));
            }
            ("client_secret_basic", false) => {
                return Err(format!(
                    "client {id}: token_endpoint_auth_method client_secret_basic needs a client_secret (a public client uses none)"
                ));
            }
            (other, _) => {
                return Err(format!(
                    "client {id}: token_endpoint_auth_method {other:?} is not one the emulator implements (client_secret_basic, client_secret_post, none)"
                ));
            }
        }
        for uri in &self.redirect_uris {
            // RFC 6749 §3.1.2: "The redirection endpoint URI MUST be an
            // absolute URI [...] The endpoint URI MUST NOT include a
            // fragment component." Web URLs only is this emulator's own
            // rule: Sign in with Vercel serves web apps (RFC 8252's
            // private-use schemes of native apps are not among its
            // documented callbacks).
            let url = url::Url::parse(uri)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
            match url {
                None => {
                    return Err(format!(
                        "client {id}: redirect_uris entry {uri:?} is not an absolute http or https URL (RFC 6749 §3.1.2 asks for an absolute URI; the emulator takes web URLs only)"
                    ));
                }
                Some(url) if url.fragment().is_some() => {
                    return Err(format!(
                        "client {id}: redirect_uris entry {uri:?} has a fragment, which RFC 6749 §3.1.2 forbids"
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// What kind of mistake a configuration file has, naming at most a field
/// (`unknown field \`x\``, `missing field \`x\``), never a value.
fn config_error_kind(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if e.is_data()
        && let Some(field) = ["unknown field `", "missing field `", "duplicate field `"]
            .iter()
            .find_map(|prefix| {
                let rest = text.strip_prefix(prefix)?;
                Some(format!("{prefix}{}`", &rest[..rest.find('`')?]))
            })
    {
        return field;
    }
    match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "not JSON",
        serde_json::error::Category::Data => "a value of the wrong type",
        serde_json::error::Category::Io => "unreadable",
    }
    .to_owned()
}

/// The first id `ids` gives twice.
fn repeated<'a>(ids: impl IntoIterator<Item = &'a String>) -> Option<&'a String> {
    let mut seen = std::collections::HashSet::new();
    ids.into_iter().find(|id| !seen.insert(*id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SCOPES;

    fn from(vars: &[(&str, &str)]) -> Result<EmulatorConfig, String> {
        EmulatorConfig::from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn reuse_policy_defaults_to_revoking_the_grant() {
        assert_eq!(
            from(&[]).unwrap().refresh_token_reuse,
            ReusePolicy::RevokeGrant
        );
    }

    #[test]
    fn reuse_policy_is_read_from_the_environment() {
        let config = from(&[("EMULATOR_REFRESH_TOKEN_REUSE", "reject")]).unwrap();
        assert_eq!(config.refresh_token_reuse, ReusePolicy::Reject);
        let config = from(&[("EMULATOR_REFRESH_TOKEN_REUSE", " revoke_grant ")]).unwrap();
        assert_eq!(config.refresh_token_reuse, ReusePolicy::RevokeGrant);
        assert!(from(&[("EMULATOR_REFRESH_TOKEN_REUSE", "sometimes")]).is_err());
    }

    #[test]
    fn authorization_response_iss_is_off_by_default_and_read_from_the_environment() {
        assert!(!from(&[]).unwrap().authorization_response_iss);
        let on = from(&[("EMULATOR_AUTHORIZATION_RESPONSE_ISS", "true")]).unwrap();
        assert!(on.authorization_response_iss);
        for off in ["false", "0"] {
            let config = from(&[("EMULATOR_AUTHORIZATION_RESPONSE_ISS", off)]).unwrap();
            assert!(!config.authorization_response_iss, "{off}");
        }
        assert!(from(&[("EMULATOR_AUTHORIZATION_RESPONSE_ISS", "yes")]).is_err());
        let config: EmulatorConfig =
            serde_json::from_str(r#"{"authorization_response_iss": true}"#).unwrap();
        assert!(config.authorization_response_iss);
    }

    /// [`EmulatorConfig::from_lookup`] with `json` as the `EMULATOR_CONFIG`
    /// file and `vars` besides.
    fn from_file(json: &str, vars: &[(&str, &str)]) -> Result<EmulatorConfig, String> {
        static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Beside the test binary, in the target directory: not in a
        // shared `/tmp`, where another user could read or plant it.
        let exe = std::env::current_exe().unwrap();
        let path = exe.with_file_name(format!(
            "emulator-config-test-{}-{n}.json",
            std::process::id()
        ));
        std::fs::write(&path, json).unwrap();
        let path_text = path.display().to_string();
        let result = EmulatorConfig::from_lookup(|k| match k {
            "EMULATOR_CONFIG" => Some(path_text.clone()),
            _ => vars
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned()),
        });
        let _ = std::fs::remove_file(&path);
        result
    }

    /// A configuration file with one client, `fields` added to its
    /// `client_id` `cl_a`.
    fn with_client(fields: &str) -> Result<EmulatorConfig, String> {
        from_file(
            &format!(r#"{{"clients": [{{"client_id": "cl_a", {fields}}}]}}"#),
            &[],
        )
    }

    /// `result` is an error whose message names each of `names`.
    #[track_caller]
    fn refused(result: Result<EmulatorConfig, String>, names: &[&str]) -> String {
        let error = result.expect_err("accepted");
        for name in names {
            assert!(error.contains(name), "{error:?} does not name {name}");
        }
        error
    }

    /// serde's own messages quote a value of the wrong type: a secret
    /// written as a number would reach the program's output.
    #[test]
    fn a_malformed_file_is_reported_by_place_and_field_never_by_value() {
        let error = refused(
            with_client(r#""client_secret": 987654321, "redirect_uris": []"#),
            &["wrong type", "line 1"],
        );
        assert!(!error.contains("987654321"), "{error}");
        refused(
            with_client(r#""client_secert": "s", "redirect_uris": []"#),
            &["unknown field `client_secert`"],
        );
        refused(from_file("{", &[]), &["not JSON"]);
    }

    #[test]
    fn the_readme_example_is_a_valid_configuration() {
        let readme = include_str!("../../README.md");
        let example = readme
            .split("```json\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("a JSON example in the README");
        let config = from_file(example, &[]).unwrap();
        assert_eq!(
            config.clients[0].token_endpoint_auth_method,
            "client_secret_basic"
        );
        assert_eq!(config.installations.len(), 1);
    }

    /// What a file leaves out takes the documented default: a verified
    /// email, an app named "Local app" with every scope and the secret in
    /// the body, a code that lives a minute.
    #[test]
    fn omitted_fields_take_their_documented_defaults() {
        let config = from_file(
            r#"{"users": [{"sub": "u1", "name": "N", "preferred_username": "n", "email": "n@x"}],
                "clients": [{"client_id": "cl_a", "client_secret": "s",
                             "redirect_uris": ["http://localhost:3000/cb"]}]}"#,
            &[],
        )
        .unwrap();
        assert!(config.users[0].email_verified);
        let client = &config.clients[0];
        assert_eq!(client.name, "Local app");
        assert_eq!(client.scopes, SCOPES);
        assert_eq!(client.token_endpoint_auth_method, "client_secret_post");
        assert_eq!(
            (
                config.code_ttl,
                config.id_token_ttl,
                config.refresh_token_ttl
            ),
            (60, 3600, 30 * 24 * 3600)
        );
    }

    #[test]
    fn unknown_fields_are_refused_at_every_level() {
        let user = r#""sub": "u1", "name": "N", "preferred_username": "n", "email": "n@x""#;
        for (json, field) in [
            (r#"{"user": []}"#.to_owned(), "user"),
            (format!(r#"{{"users": [{{{user}, "emial": "x"}}]}}"#), "emial"),
            (
                r#"{"clients": [{"client_id": "a", "redirect_uri": "http://x/cb", "redirect_uris": []}]}"#
                    .to_owned(),
                "redirect_uri",
            ),
            (
                r#"{"installations": [{"client_id": "a", "account_id": "b", "installation_id": "c", "id": 1}]}"#
                    .to_owned(),
                "id",
            ),
        ] {
            refused(serde_json::from_str::<EmulatorConfig>(&json).map_err(|e| e.to_string()), &[
                &format!("unknown field `{field}`"),
            ]);
            refused(from_file(&json, &[]), &["EMULATOR_CONFIG", field]);
        }
    }

    #[test]
    fn an_authentication_method_the_emulator_does_not_implement_is_refused() {
        let error = refused(
            with_client(
                r#""client_secret": "s3cret-value", "token_endpoint_auth_method": "client_secret_jwt", "redirect_uris": []"#,
            ),
            &["cl_a", "token_endpoint_auth_method", "client_secret_jwt"],
        );
        assert!(!error.contains("s3cret-value"), "{error}");
    }

    #[test]
    fn the_authentication_method_must_fit_the_secret() {
        let error = refused(
            with_client(
                r#""client_secret": "s3cret-value", "token_endpoint_auth_method": "none", "redirect_uris": []"#,
            ),
            &[
                "cl_a",
                "token_endpoint_auth_method",
                "none",
                "client_secret",
            ],
        );
        assert!(!error.contains("s3cret-value"), "{error}");
        refused(
            with_client(
                r#""token_endpoint_auth_method": "client_secret_basic", "redirect_uris": []"#,
            ),
            &[
                "cl_a",
                "token_endpoint_auth_method",
                "client_secret_basic",
                "client_secret",
            ],
        );
        for fine in [
            r#""token_endpoint_auth_method": "none", "redirect_uris": []"#,
            r#""redirect_uris": []"#,
            r#""client_secret": "s", "token_endpoint_auth_method": "client_secret_basic", "redirect_uris": []"#,
            r#""client_secret": "s", "token_endpoint_auth_method": "client_secret_post", "redirect_uris": []"#,
        ] {
            assert!(with_client(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn redirect_uris_must_be_absolute_http_urls_without_a_fragment() {
        for bad in [
            "/api/auth/callback",
            "localhost:3000/api/auth/callback",
            "ftp://localhost/cb",
            "http://localhost:3000/cb#top",
            "http://localhost:3000/cb#",
            "not a url",
        ] {
            refused(
                with_client(&format!(
                    r#""redirect_uris": ["http://localhost/ok", "{bad}"]"#
                )),
                &["cl_a", "redirect_uris", bad],
            );
        }
        let fine = with_client(
            r#""redirect_uris": ["http://127.0.0.1:3000/cb?x=1", "https://app.example/api/auth/callback"]"#,
        );
        assert!(fine.is_ok(), "{fine:?}");
    }

    #[test]
    fn a_client_id_or_a_sub_given_twice_is_refused() {
        refused(
            from_file(
                r#"{"clients": [{"client_id": "cl_a", "redirect_uris": []},
                                {"client_id": "cl_a", "redirect_uris": []}]}"#,
                &[],
            ),
            &["client_id", "cl_a", "twice"],
        );
        let user = r#"{"sub": "u1", "name": "N", "preferred_username": "n", "email": "n@x"}"#;
        refused(
            from_file(&format!(r#"{{"users": [{user}, {user}]}}"#), &[]),
            &["sub", "u1", "twice"],
        );
    }

    #[test]
    fn lifetimes_past_ten_years_are_refused() {
        let ten_years = (10 * 365 * 24 * 3600).to_string();
        let more = (10 * 365 * 24 * 3600 + 1).to_string();
        assert!(from(&[("EMULATOR_ACCESS_TOKEN_TTL", &ten_years)]).is_ok());
        for (variable, field) in [
            ("EMULATOR_ACCESS_TOKEN_TTL", "access_token_ttl"),
            ("EMULATOR_REFRESH_TOKEN_TTL", "refresh_token_ttl"),
            ("EMULATOR_ID_TOKEN_TTL", "id_token_ttl"),
            ("EMULATOR_CODE_TTL", "code_ttl"),
        ] {
            refused(from(&[(variable, &more)]), &[variable, field]);
            let json = format!(r#"{{"{field}": {}}}"#, u64::MAX);
            refused(from_file(&json, &[]), &[field]);
        }
    }
}
