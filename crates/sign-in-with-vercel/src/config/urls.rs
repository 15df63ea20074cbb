//! The checks of the issuer's URL (OpenID Connect Discovery §2: `https`,
//! no query or fragment) and of any provider URL set in a variable, which
//! on a Vercel deployment cannot be a loopback URL (the local emulator's,
//! copied from a `.env` file).

use url::Url;

use super::{ConfigError, problem};
use crate::origin::{check_secure_url, is_loopback};

/// An issuer must be an `https` URL without query or fragment (OpenID
/// Connect Discovery §2) or credentials; plain `http` only on a loopback
/// host, for local development and tests.
pub(crate) fn check_issuer(issuer: &str) -> Result<Url, String> {
    let url = Url::parse(issuer).map_err(|_| "is not a valid URL".to_owned())?;
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        // Credentials in it would reach discovery's URL and its errors.
        return Err("must not have a query, fragment, user name or password".into());
    }
    // The discovery document's URL, copied for the issuer's: discovery
    // would look for `.well-known/openid-configuration` twice over.
    if url.path().contains("/.well-known/") {
        return Err("must be the issuer's URL, not a /.well-known/ document's".into());
    }
    check_secure_url(&url)?;
    Ok(url)
}

/// [`check_issuer`] for the provider URL in variable `name`, and, on a
/// Vercel deployment (`deployed`: `VERCEL_ENV` `production` or
/// `preview`), no loopback host: that is the local emulator, copied from a
/// `.env` file, which a deployment cannot reach (every sign-in would fail
/// as if Vercel were down).
pub(crate) fn check_provider_url(
    deployed: bool,
    name: &'static str,
    value: &str,
) -> Result<(), ConfigError> {
    let url = check_issuer(value).map_err(|p| problem(name, p))?;
    if deployed && is_loopback(&url) {
        return Err(problem(
            name,
            "names a loopback host (the local emulator), which a deployment cannot reach; \
             remove it from the project's environment to sign in with Vercel",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{AUTH_SECRET, load};

    #[test]
    fn a_deployment_refuses_the_local_emulator() {
        let emulator = [
            ("VERCEL_APP_CLIENT_ID", "x"),
            ("AUTH_SECRET", AUTH_SECRET),
            ("VERCEL_OAUTH_ISSUER", "http://127.0.0.1:3001"),
        ];
        for env in ["production", "preview"] {
            let vars: Vec<_> = emulator
                .iter()
                .copied()
                .chain([("VERCEL_ENV", env)])
                .collect();
            let err = load(&vars).unwrap_err();
            assert_eq!(err.variable, "VERCEL_OAUTH_ISSUER", "{env}");
            assert!(err.problem.contains("loopback"), "{err}");
        }
        let vars: Vec<_> = emulator
            .iter()
            .copied()
            .chain([("VERCEL_ENV", "development")])
            .collect();
        assert!(load(&vars).is_ok(), "vercel dev");
        assert!(load(&emulator).is_ok(), "cargo run");
    }

    #[test]
    fn http_issuer_only_on_loopback() {
        for ok in [
            "http://localhost:3001",
            "http://127.0.0.1:9",
            "http://[::1]:9",
            "https://example.com/tenant",
        ] {
            let c = load(&[
                ("VERCEL_APP_CLIENT_ID", "x"),
                ("VERCEL_OAUTH_ISSUER", ok),
                ("AUTH_SECRET", AUTH_SECRET),
            ])
            .unwrap();
            assert_eq!(c.issuer, ok);
        }
        for bad in [
            "http://example.com",
            "ftp://localhost",
            "https://example.com?x=1",
            "https://example.com#f",
            "not a url",
            "http://localhost.evil.com",
            "https://user@example.com",
            "https://:password@example.com",
            "https://vercel.com/.well-known/openid-configuration",
            "https://op.example.com/tenant/.well-known/openid-configuration",
        ] {
            let err =
                load(&[("VERCEL_APP_CLIENT_ID", "x"), ("VERCEL_OAUTH_ISSUER", bad)]).unwrap_err();
            assert_eq!(err.variable, "VERCEL_OAUTH_ISSUER", "{bad}");
        }
    }
}
