//! The cleartext-store warning of a [`Auth`] made in code: `Auth::new`
//! logs it for a configuration whose store URL is a plain `redis://` URL
//! to another host, as `Auth::from_env` does, and never with the URL's
//! password. The library logs on standard error, so each case runs in a
//! child process (this test binary again, filtered to the `child` test)
//! whose standard error is read here.

use std::process::Command;

use sign_in_with_vercel::{Auth, Config};

/// Set in the child's environment: the store URL its `Auth` is made with.
const CHILD_STORE_URL: &str = "STORE_WARNING_TEST_STORE_URL";
const PASSWORD: &str = "store-password-in-clear";

/// In the child process only: makes an `Auth` in code with the store URL
/// the parent passed; in the parent's own run, does nothing.
#[test]
fn child() {
    let Ok(url) = std::env::var(CHILD_STORE_URL) else {
        return;
    };
    let config = Config::from_lookup(|name| match name {
        "VERCEL_APP_CLIENT_ID" => Some("cl_store_warning".into()),
        "AUTH_SECRET" => Some("store-warning-test-secret-0123456789abcdef".into()),
        "REDIS_URL" => Some(url.clone()),
        _ => None,
    })
    .expect("a valid configuration");
    let _auth = Auth::new(config);
    eprintln!("{MADE}");
}

/// What the child writes once its `Auth` is made.
const MADE: &str = "store_warning child: Auth made";

/// The standard error of the `child` test run with `store_url`.
fn stderr_of_auth_new(store_url: &str) -> String {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CHILD_STORE_URL, store_url)
        .output()
        .expect("the test binary runs again");
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains(MADE), "the child made no Auth: {stderr}");
    stderr
}

#[test]
fn auth_new_warns_of_a_plain_store_url_to_another_host_without_its_password() {
    // TEST-NET-1: nothing connects there; the warning comes with the
    // configuration, before any store call.
    let stderr = stderr_of_auth_new(&format!("redis://default:{PASSWORD}@192.0.2.1:6379"));
    assert!(
        stderr.contains("sign-in-with-vercel warn: the shared store's URL")
            && stderr.contains("is a plain redis:// URL to another host"),
        "{stderr}"
    );
    assert!(!stderr.contains(PASSWORD), "{stderr}");
}

#[test]
fn auth_new_does_not_warn_of_a_tls_or_loopback_store() {
    for url in [
        format!("rediss://default:{PASSWORD}@192.0.2.1:6380"),
        format!("redis://default:{PASSWORD}@127.0.0.1:6379"),
    ] {
        let stderr = stderr_of_auth_new(&url);
        assert!(!stderr.contains("shared store"), "{stderr}");
        assert!(!stderr.contains(PASSWORD), "{stderr}");
    }
}
