//! A browser's cookies for the app's origin.

use std::collections::BTreeMap;

use http::HeaderMap;
use http::header::SET_COOKIE;

/// The app's cookies as a browser keeps them: one value per name, a
/// `Set-Cookie` with `Max-Age` ≤ 0 or an empty value deletes. Ports are
/// ignored, as browsers do, so one jar serves every function on a host.
#[derive(Clone, Default)]
pub struct Jar(BTreeMap<String, String>);

/// Names only: the values are sealed sessions and flows.
impl std::fmt::Debug for Jar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Jar {
    /// Applies one `Set-Cookie` value.
    pub fn store_set_cookie(&mut self, set_cookie: &str) {
        let cookie = cookie::Cookie::parse(set_cookie.to_owned())
            .unwrap_or_else(|e| panic!("not a Set-Cookie value ({e})"));
        let expired = cookie
            .max_age()
            .is_some_and(|a| a.is_zero() || a.is_negative());
        if expired || cookie.value().is_empty() {
            self.0.remove(cookie.name());
        } else {
            self.0
                .insert(cookie.name().to_owned(), cookie.value().to_owned());
        }
    }

    /// Applies every `Set-Cookie` header of a response, in order.
    pub fn store(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            self.store_set_cookie(value.to_str().expect("an ASCII Set-Cookie"));
        }
    }

    /// The `Cookie` header the browser would send; `None` when empty.
    pub fn header(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| {
            self.0
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// The value of cookie `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Sets a cookie as a script or another site could (tests).
    pub fn set(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_owned(), value.to_owned());
    }

    /// The names of one family, `<base>.<suffix>` with or without the
    /// `__Host-` prefix: [`sign_in_with_vercel::SESSION_COOKIE`] or [`sign_in_with_vercel::FLOW_COOKIE`].
    pub fn names(&self, base: &str) -> Vec<String> {
        let family = format!("{base}.");
        self.0
            .keys()
            .filter(|k| {
                k.strip_prefix(sign_in_with_vercel::HOST_PREFIX)
                    .unwrap_or(k)
                    .starts_with(&family)
            })
            .cloned()
            .collect()
    }

    /// Whether the browser holds no cookie of the app.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Asserts that `jar` holds no session: no cookie of the session family
/// (`session.<id>.<n>`, `__Host-` prefixed on https), whatever else it holds.
#[track_caller]
pub fn assert_no_session(jar: &Jar) {
    let sessions = jar.names(sign_in_with_vercel::SESSION_COOKIE);
    assert!(
        sessions.is_empty(),
        "a session is set: {sessions:?} (jar: {jar:?})"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_zero_deletes_and_debug_shows_names_only() {
        let mut jar = Jar::default();
        jar.store_set_cookie("session.ab.0=sealed-value; Path=/; HttpOnly");
        jar.store_set_cookie("oauth_flow.cd=flow-value; Path=/");
        assert_eq!(
            jar.names(sign_in_with_vercel::SESSION_COOKIE),
            ["session.ab.0"]
        );
        assert_eq!(
            jar.header().as_deref(),
            Some("oauth_flow.cd=flow-value; session.ab.0=sealed-value")
        );
        assert!(!format!("{jar:?}").contains("value"));
        jar.store_set_cookie("session.ab.0=; Max-Age=0; Path=/");
        assert_eq!(
            jar.names(sign_in_with_vercel::SESSION_COOKIE),
            Vec::<String>::new()
        );
    }

    #[test]
    fn no_session_holds_for_other_cookies_only() {
        let mut jar = Jar::default();
        jar.store_set_cookie("oauth_flow.cd=flow-value; Path=/");
        jar.store_set_cookie("revoke.ef=pending; Path=/");
        assert_no_session(&jar);
    }

    #[test]
    #[should_panic(expected = "a session is set")]
    fn no_session_fails_on_a_session_cookie() {
        let mut jar = Jar::default();
        jar.store_set_cookie("__Host-session.ab.0=sealed; Path=/; Secure");
        assert_no_session(&jar);
    }
}
