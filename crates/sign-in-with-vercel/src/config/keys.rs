//! The keys that seal the session and flow cookies: every key of
//! `AUTH_SECRET` (a comma-separated rotation list, newest first), else one
//! derived from the client secret, which only local development on a
//! loopback origin may use. A key anyone could know (too short, the
//! documentation's example) is refused, saying how to make one.

use super::{ConfigError, problem};
use crate::seal::{self, Keys, Source};
use crate::secret::ClientSecret;

/// How to make an `AUTH_SECRET`, for the errors that ask for one.
const MAKE_A_SECRET: &str = "generate one with `openssl rand -base64 32`";

/// `AUTH_SECRET` values the documentation shows: a key anyone can read
/// seals sessions anyone can forge, so each is refused.
const EXAMPLE_SECRETS: &[&str] = &["a-random-string-of-at-least-32-characters"];

/// The error of a key derived from the client secret used `where_` (on an
/// origin, on a deployment) that only local development may use it.
pub(crate) fn derived_key_refused(where_: &str) -> ConfigError {
    problem(
        "AUTH_SECRET",
        format!(
            "is required {where_}: without it sessions are sealed with a key derived from the client secret, which only local development on a loopback origin accepts; {MAKE_A_SECRET}"
        ),
    )
}

/// The cookie-sealing keys: every entry of `AUTH_SECRET` (at least 32
/// bytes each, newest first), else one derived from the client secret; a
/// public client has no secret to derive from, so it needs `AUTH_SECRET`.
pub(super) fn session_keys(
    auth_keys: Option<&[&str]>,
    client_secret: Option<&ClientSecret>,
) -> Result<Keys, ConfigError> {
    let keys = match (auth_keys, client_secret) {
        (Some(entries), _) => {
            // A line break inside: a rotation list written one key a line.
            if entries.iter().any(|e| e.contains(['\n', '\r'])) {
                return Err(problem(
                    "AUTH_SECRET",
                    "holds a line break: a rotation list is comma-separated on one line (AUTH_SECRET=new,old)",
                ));
            }
            if entries
                .iter()
                .any(|e| e.len() < seal::MIN_SECRET_BYTES || e.chars().any(char::is_control))
            {
                return Err(problem(
                    "AUTH_SECRET",
                    format!(
                        "each comma-separated key must be at least {} bytes of random data; {MAKE_A_SECRET}",
                        seal::MIN_SECRET_BYTES
                    ),
                ));
            }
            if entries.iter().any(|e| EXAMPLE_SECRETS.contains(e)) {
                return Err(problem(
                    "AUTH_SECRET",
                    format!(
                        "is the documentation's example, which anyone can read; {MAKE_A_SECRET}"
                    ),
                ));
            }
            Keys::derive(Source::AuthSecret, entries.iter().map(|e| e.as_bytes()))
        }
        (None, Some(secret)) if secret.secret().len() >= seal::MIN_SECRET_BYTES => {
            Keys::derive(Source::ClientSecret, [secret.secret().as_bytes()])
        }
        (None, Some(_)) => {
            return Err(problem(
                "AUTH_SECRET",
                format!(
                    "is required: the client secret is too short to derive the session key from (under {} bytes); {MAKE_A_SECRET}",
                    seal::MIN_SECRET_BYTES
                ),
            ));
        }
        (None, None) => {
            return Err(problem(
                "AUTH_SECRET",
                format!(
                    "is required for a public client (no VERCEL_APP_CLIENT_SECRET): it seals the session cookie; {MAKE_A_SECRET}"
                ),
            ));
        }
    };
    keys.ok_or_else(|| problem("AUTH_SECRET", "cannot derive a key from it"))
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{AUTH_SECRET, load};

    /// A key derived from the client secret is refused where the request's
    /// `Host` cannot be trusted to say "local development": on a
    /// deployment, and behind a pinned origin that is not loopback.
    #[test]
    fn a_deployment_needs_its_own_session_key() {
        let local = [
            ("VERCEL_APP_CLIENT_ID", "x"),
            (
                "VERCEL_APP_CLIENT_SECRET",
                "a-client-secret-of-32-characters-or-more",
            ),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let vars: Vec<_> = local.iter().chain(extra).copied().collect();
            load(&vars)
        };
        for extra in [
            &[("VERCEL_ENV", "production")][..],
            &[("VERCEL_ENV", "preview")],
            &[("APP_URL", "https://app.example.com")],
            &[
                ("VERCEL_ENV", "development"),
                ("APP_URL", "https://app.example.com"),
            ],
        ] {
            let err = with(extra).unwrap_err();
            assert_eq!(err.variable, "AUTH_SECRET", "{extra:?}");
            assert!(err.problem.contains("client secret"), "{err}");
        }
        for extra in [
            &[][..],
            &[("VERCEL_ENV", "development")],
            &[("APP_URL", "http://localhost:3000")],
            &[("VERCEL_ENV", "production"), ("AUTH_SECRET", AUTH_SECRET)],
            &[
                ("APP_URL", "https://app.example.com"),
                ("AUTH_SECRET", AUTH_SECRET),
            ],
        ] {
            assert!(with(extra).is_ok(), "{extra:?}");
        }
    }

    /// A rotation list written one key a line is refused saying so (it
    /// read as a key too short, or with a control character), and never
    /// quoting a key.
    #[test]
    fn a_line_break_in_auth_secret_is_named() {
        let new = "f".repeat(40);
        for list in [
            format!("{new}\n{AUTH_SECRET}"),
            format!("{new}\r\n{AUTH_SECRET}"),
        ] {
            let err =
                load(&[("VERCEL_APP_CLIENT_ID", "cl_abc"), ("AUTH_SECRET", &list)]).unwrap_err();
            assert_eq!(err.variable, "AUTH_SECRET");
            let said = err.to_string();
            assert!(
                said.contains("line break") && said.contains("new,old"),
                "{said}"
            );
            assert!(
                !said.contains(&new) && !said.contains(AUTH_SECRET),
                "{said}"
            );
        }
    }

    #[test]
    fn public_client_without_auth_secret_names_auth_secret() {
        let err = load(&[("VERCEL_APP_CLIENT_ID", "x")]).unwrap_err();
        assert_eq!(err.variable, "AUTH_SECRET");
    }

    #[test]
    fn short_auth_secret_is_refused() {
        let err = load(&[
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("VERCEL_APP_CLIENT_SECRET", AUTH_SECRET),
            ("AUTH_SECRET", &format!("{AUTH_SECRET},short")),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "AUTH_SECRET");
        assert!(!err.problem.contains("short"));
    }

    /// The README's example value, pasted as it is (alone or in a list),
    /// is no key.
    #[test]
    fn the_documentations_example_auth_secret_is_refused() {
        for secret in [
            "a-random-string-of-at-least-32-characters".to_owned(),
            format!("{AUTH_SECRET}, a-random-string-of-at-least-32-characters"),
        ] {
            let err = load(&[("VERCEL_APP_CLIENT_ID", "x"), ("AUTH_SECRET", &secret)]).unwrap_err();
            assert_eq!(err.variable, "AUTH_SECRET");
            assert!(err.problem.contains("example"), "{}", err.problem);
            assert!(!err.problem.contains("a-random"), "{}", err.problem);
        }
    }

    #[test]
    fn client_secret_alone_gives_a_sealing_key() {
        assert!(
            load(&[
                ("VERCEL_APP_CLIENT_ID", "x"),
                ("VERCEL_APP_CLIENT_SECRET", AUTH_SECRET)
            ])
            .is_ok()
        );
    }

    #[test]
    fn a_client_secret_too_short_to_derive_from_needs_auth_secret() {
        let err = load(&[
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("VERCEL_APP_CLIENT_SECRET", "short"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "AUTH_SECRET");
        assert!(
            load(&[
                ("VERCEL_APP_CLIENT_ID", "x"),
                ("VERCEL_APP_CLIENT_SECRET", "short"),
                ("AUTH_SECRET", AUTH_SECRET),
            ])
            .is_ok()
        );
    }
}
