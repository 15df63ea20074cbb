//! Reading the environment's variables, and the checks for an operator's
//! mistakes in them: a value wrapped in quotes, a client ID that is not
//! printable ASCII or is a secret pasted in its place (it is public: every
//! authorization request carries it, RFC 6749 §4.1.1), a value that is not
//! UTF-8; and whether this instance runs on a Vercel deployment
//! (`VERCEL_ENV`). The marketplace SSO exchange ([`crate::sso`]) reads and checks
//! its own variables with the same functions.

use super::{ConfigError, problem};
use crate::secret::ClientSecret;

/// Variable `name` through `lookup`, trimmed; `None` when unset or blank.
fn read_var(lookup: impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `value` of variable `name`, unless it is wrapped in quotes (`"…"` or
/// `'…'`): a value set in the Vercel dashboard or an `export` keeps them as
/// typed, and none of these variables can hold them (a URL, a client ID,
/// a key made by `openssl rand`), so it is refused with the fix rather
/// than read as a URL that does not parse, or a client ID Vercel does not
/// know. (`.env` files are read by a parser that takes quotes off.)
fn unquoted(name: &'static str, value: Option<String>) -> Result<Option<String>, ConfigError> {
    let quoted = |q: char| {
        value
            .as_deref()
            .is_some_and(|v| v.len() >= 2 && v.starts_with(q) && v.ends_with(q))
    };
    if quoted('"') || quoted('\'') {
        return Err(problem(
            name,
            "is wrapped in quotes: remove them (a value set in the Vercel dashboard or a shell keeps them as typed)",
        ));
    }
    Ok(value)
}

/// Variable `name` through `lookup`, as [`read_var`] reads it, refused
/// when wrapped in quotes ([`unquoted`]): how every variable of this
/// library and of the marketplace SSO exchange is read (but `VERCEL_ENV`,
/// which Vercel sets).
pub(crate) fn read_unquoted(
    lookup: impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<String>, ConfigError> {
    unquoted(name, read_var(lookup, name))
}

/// A client ID, from `variable`, must be printable ASCII without spaces
/// and at most 256 characters: it goes into URLs, forms and headers.
pub(crate) fn check_client_id(variable: &'static str, client_id: &str) -> Result<(), ConfigError> {
    if client_id.len() > 256 || !client_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(problem(
            variable,
            "must be printable ASCII without spaces, at most 256 characters",
        ));
    }
    Ok(())
}

/// The client ID is public: it is in every authorization URL, which every
/// visitor who clicks "Sign in" sees, and in their browser's history. A
/// secret pasted in its place (the two values swapped, or a key of
/// `AUTH_SECRET`) would be handed to all of them, so such a configuration
/// is refused. Vercel's client IDs start with `cl_`: a client secret that
/// does, beside a client ID that does not, is taken for a swap. The error
/// quotes neither value.
pub(super) fn check_id_is_no_secret(
    variable: &'static str,
    client_id: &str,
    client_secret: Option<&ClientSecret>,
    auth_keys: Option<&[&str]>,
) -> Result<(), ConfigError> {
    const PUBLIC: &str = "the client ID is public (every sign-in URL carries it): copy each value from your app's Manage page in the Vercel dashboard";
    if let Some(secret) = client_secret.map(ClientSecret::secret) {
        if secret == client_id {
            return Err(problem(
                variable,
                format!("is the same as VERCEL_APP_CLIENT_SECRET; {PUBLIC}"),
            ));
        }
        if secret.starts_with("cl_") && !client_id.starts_with("cl_") {
            return Err(problem(
                variable,
                format!(
                    "and VERCEL_APP_CLIENT_SECRET look swapped (Vercel's client IDs start with cl_, and the secret does); {PUBLIC}"
                ),
            ));
        }
    }
    if auth_keys.is_some_and(|keys| keys.contains(&client_id)) {
        return Err(problem(
            variable,
            format!("is one of AUTH_SECRET's keys; {PUBLIC}"),
        ));
    }
    Ok(())
}

/// A configuration error for the first of the process's variables `names`
/// whose value is not UTF-8, which `std::env::var(..).ok()` would read as
/// unset.
pub(crate) fn all_utf8(names: &[&'static str]) -> Result<(), ConfigError> {
    let not_unicode = names
        .iter()
        .find(|name| matches!(std::env::var(name), Err(std::env::VarError::NotUnicode(_))));
    match not_unicode {
        Some(name) => Err(problem(name, "is not valid UTF-8")),
        None => Ok(()),
    }
}

/// Whether this instance runs on a Vercel deployment: `VERCEL_ENV` is
/// `production` or `preview` (`development` under `vercel dev`).
pub(crate) fn deployed(lookup: impl Fn(&str) -> Option<String>) -> bool {
    matches!(
        read_var(&lookup, "VERCEL_ENV").as_deref(),
        Some("production" | "preview")
    )
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{AUTH_SECRET, load};

    /// A client ID goes into URLs, forms and the seal's context: printable
    /// ASCII without spaces, at most 256 characters, under either name.
    #[test]
    fn client_id_must_be_printable_ascii_of_at_most_256_characters() {
        let longest = "c".repeat(256);
        let too_long = "c".repeat(257);
        for name in ["VERCEL_APP_CLIENT_ID", "NEXT_PUBLIC_VERCEL_APP_CLIENT_ID"] {
            for (client_id, ok) in [
                ("cl_abc-~!", true),
                (longest.as_str(), true),
                (too_long.as_str(), false),
                ("cl abc", false),
                ("cl_\u{e9}", false),
                ("cl_\tabc", false),
                ("cl_\u{7f}", false),
            ] {
                let read = load(&[(name, client_id), ("AUTH_SECRET", AUTH_SECRET)]);
                match read {
                    Ok(c) => assert!(ok && c.client_id == client_id, "{name} {client_id:?}"),
                    Err(e) => assert!(!ok && e.variable == name, "{name} {client_id:?}"),
                }
            }
        }
    }

    /// A value wrapped in quotes, as the Vercel dashboard or a shell keeps
    /// it, is refused with the fix, naming the variable and not the value;
    /// a quote inside a value is not a wrapping.
    #[test]
    fn a_value_in_quotes_is_refused_with_the_fix() {
        for (name, value) in [
            ("VERCEL_APP_CLIENT_ID", "\"cl_abc\""),
            (
                "VERCEL_APP_CLIENT_SECRET",
                "'0123456789abcdef0123456789abcdef'",
            ),
            ("AUTH_SECRET", "\"0123456789abcdef0123456789abcdef-x\""),
            ("APP_URL", "\"https://app.example.com\""),
            ("REDIS_URL", "'rediss://default:pw@store.example.com:6380'"),
            ("VERCEL_OAUTH_ISSUER", " \"https://vercel.com\" "),
        ] {
            let mut vars = vec![
                ("VERCEL_APP_CLIENT_ID", "cl_abc"),
                ("AUTH_SECRET", AUTH_SECRET),
            ];
            vars.retain(|(n, _)| *n != name);
            vars.push((name, value));
            let err = load(&vars).unwrap_err();
            assert_eq!(err.variable, name, "{value}");
            let said = err.to_string();
            assert!(said.contains("wrapped in quotes: remove them"), "{said}");
            assert!(
                !said.contains(value.trim().trim_matches(['"', '\''])),
                "{said}"
            );
        }
        let c = load(&[
            ("VERCEL_APP_CLIENT_ID", "cl_abc"),
            (
                "VERCEL_APP_CLIENT_SECRET",
                "\"0123456789abcdef0123456789abcdef",
            ),
            ("AUTH_SECRET", AUTH_SECRET),
        ])
        .unwrap();
        assert!(
            c.client_secret.is_some(),
            "a quote at one end only is part of the value"
        );
    }

    /// A secret where the public client ID goes (every sign-in URL carries
    /// it) is refused, naming neither value: the two swapped, the same
    /// value in both, or a key of `AUTH_SECRET`.
    #[test]
    fn a_secret_in_place_of_the_client_id_is_refused() {
        let secret = "Xy7sK2pQ9vRt4LmN8bWc3FhJ6dGa1ZeU";
        for (vars, refused) in [
            (
                vec![
                    ("VERCEL_APP_CLIENT_ID", secret),
                    ("VERCEL_APP_CLIENT_SECRET", "cl_p4M3ExwwNx2qfEMWQHZfoajU"),
                ],
                Some("look swapped"),
            ),
            (
                vec![
                    ("VERCEL_APP_CLIENT_ID", secret),
                    ("VERCEL_APP_CLIENT_SECRET", secret),
                ],
                Some("is the same as VERCEL_APP_CLIENT_SECRET"),
            ),
            (
                vec![("VERCEL_APP_CLIENT_ID", AUTH_SECRET)],
                Some("is one of AUTH_SECRET's keys"),
            ),
            (
                vec![("NEXT_PUBLIC_VERCEL_APP_CLIENT_ID", AUTH_SECRET)],
                Some("is one of AUTH_SECRET's keys"),
            ),
            // Both from the dashboard, the right way round.
            (
                vec![
                    ("VERCEL_APP_CLIENT_ID", "cl_p4M3ExwwNx2qfEMWQHZfoajU"),
                    ("VERCEL_APP_CLIENT_SECRET", secret),
                ],
                None,
            ),
            // Another provider's IDs need not look like Vercel's.
            (
                vec![
                    ("VERCEL_APP_CLIENT_ID", "my-app"),
                    ("VERCEL_APP_CLIENT_SECRET", secret),
                ],
                None,
            ),
        ] {
            let mut all = vars.clone();
            all.push(("AUTH_SECRET", AUTH_SECRET));
            match load(&all) {
                Ok(_) => assert!(refused.is_none(), "{vars:?}"),
                Err(e) => {
                    // Refused by the check the case is for, not another.
                    let said = e.to_string();
                    assert!(
                        refused.is_some_and(|why| said.contains(why)),
                        "{vars:?}: {e}"
                    );
                    assert!(e.variable.ends_with("VERCEL_APP_CLIENT_ID"), "{e}");
                    for (_, value) in &all {
                        assert!(!said.contains(value), "{said}");
                    }
                }
            }
        }
        // A rotation list: any of its keys.
        let err = load(&[
            ("VERCEL_APP_CLIENT_ID", AUTH_SECRET),
            ("AUTH_SECRET", &format!("{}, {AUTH_SECRET}", "f".repeat(32))),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "VERCEL_APP_CLIENT_ID");
    }
}
