//! Who a browser is signed in to the emulator as, as a browser is signed in to
//! vercel.com: "If the user is not logged in, Vercel will show a login screen"
//! (Vercel's Authorization Server API reference, Authorization Endpoint). Each
//! browser has its own session, an unguessable `emulator_session` cookie on the
//! issuer origin, so two browsers can be two users.

use http::header::{COOKIE, ORIGIN};

use super::Request;
use crate::secret::random_token;
use crate::{Emulator, User, lock};

/// The session cookie's name. No `__Host-` prefix: it needs `Secure`, which
/// browsers other than Chromium refuse over plain `http://127.0.0.1` (loopback:
/// checked with headless Chromium, which accepts a `Secure` `__Host-` cookie
/// over plain `http://127.0.0.1`; Safari historically has not).
pub(super) const COOKIE_NAME: &str = "emulator_session";

/// A browser's session and the user it is signed in as.
pub(super) struct SignedIn {
    /// The session cookie's value.
    pub session: String,
    pub user: User,
    /// When the browser signed in (seconds since the epoch).
    pub auth_time: i64,
}

/// The user `request`'s browser is signed in as, if any (a session of a
/// user no longer configured counts as none).
pub(super) fn signed_in(emu: &Emulator, request: &Request) -> Option<SignedIn> {
    let session = cookie(request, COOKIE_NAME)?;
    let (sub, auth_time) = {
        let mut store = lock(&emu.store);
        let browser = store.session(session)?;
        (browser.sub.clone(), browser.auth_time)
    };
    Some(SignedIn {
        session: session.to_owned(),
        user: emu.user(&sub)?,
        auth_time,
    })
}

/// Signs the browser in as `sub` in a new session, ending the one it
/// had, and remembers when (`auth_time`); returns the `Set-Cookie` value.
pub(super) fn start(emu: &Emulator, request: &Request, sub: &str) -> String {
    if let Some(old) = cookie(request, COOKIE_NAME) {
        lock(&emu.store).sessions.remove(old);
    }
    format!(
        "{}; Path=/; HttpOnly; SameSite=Lax{}",
        new_session(emu, sub),
        secure(emu)
    )
}

/// A new session of `sub`, begun now (its `auth_time`): the
/// `emulator_session=<value>` pair.
fn new_session(emu: &Emulator, sub: &str) -> String {
    let session = random_token();
    lock(&emu.store).start_session(session.clone(), sub.to_owned(), emu.now());
    format!("{COOKIE_NAME}={session}")
}

impl Emulator {
    /// Signs a browser in as user `sub` without the login screen, as its
    /// form would, and returns the `Cookie` header value
    /// (`emulator_session=…`) that browser sends to the issuer origin: a
    /// test without a browser drives the authorization endpoint with it.
    /// `None` when no user `sub` is configured.
    pub fn sign_in(&self, sub: &str) -> Option<String> {
        self.user(sub)?;
        Some(new_session(self, sub))
    }
}

/// Ends the browser's session; returns the `Set-Cookie` value that
/// deletes its cookie.
pub(super) fn end(emu: &Emulator, request: &Request) -> String {
    if let Some(session) = cookie(request, COOKIE_NAME) {
        lock(&emu.store).sessions.remove(session);
    }
    format!(
        "{COOKIE_NAME}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}",
        secure(emu)
    )
}

/// `; Secure` when the issuer is served over HTTPS.
fn secure(emu: &Emulator) -> &'static str {
    if emu.issuer().starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// Whether a form post comes from the emulator's own pages: browsers mark
/// another site's with `Sec-Fetch-Site: cross-site` or `same-site` (Fetch
/// Metadata), and send an `Origin` naming it. A request with neither (a
/// test, a command-line client) is taken as the emulator's own, and so is
/// `Origin: null`, which browsers send from the emulator's pages because
/// they carry `Referrer-Policy: no-referrer` (the Fetch standard's
/// "serializing a request origin"). Keeps another site from signing a
/// browser in or out, or answering its pages.
pub(super) fn from_own_page(emu: &Emulator, request: &Request) -> bool {
    let header = |name| {
        request
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or_default())
    };
    let site_ok = header("sec-fetch-site").is_none_or(|v| matches!(v, "same-origin" | "none"));
    let origin_ok = header(ORIGIN.as_str()).is_none_or(|v| v == "null" || v == emu.issuer());
    site_ok && origin_ok
}

/// The value of cookie `name` in the request's `Cookie` headers. Other
/// cookies, in whatever bytes, are skipped.
fn cookie<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// Where a sign-in or sign-out goes next: a path on the emulator's own
/// origin (`/…`, not `//…` or `/\…`, which browsers read as another host),
/// else `/`.
pub(super) fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(char::is_control) =>
        {
            path
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(
            local_path(Some("/oauth/authorize?x=1")),
            "/oauth/authorize?x=1"
        );
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "",
            "/a\nb",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let request = http::Request::get("/")
            .header("cookie", "a=1; emulator_session=s3ss; b=\"q\"")
            .body(Vec::new())
            .unwrap();
        assert_eq!(cookie(&request, COOKIE_NAME), Some("s3ss"));
        let empty = http::Request::get("/")
            .header("cookie", "emulator_session=")
            .body(Vec::new())
            .unwrap();
        assert_eq!(cookie(&empty, COOKIE_NAME), None);
    }
}
