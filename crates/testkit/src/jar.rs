//! One host's cookies as a browser keeps them, and the app's cookie names.

use std::collections::BTreeMap;

use http::HeaderMap;
use http::header::SET_COOKIE;
use sign_in_with_vercel::{
    Clock, ENDED_COOKIE, FLOW_COOKIE, HOST_PREFIX, SESSION_COOKIE, system_clock,
};

/// One cookie: its value and, with `Max-Age`, when it expires.
#[derive(Clone)]
struct Stored {
    value: String,
    expires: Option<i64>,
}

/// One host's cookies: one value per name, ports ignored (as browsers
/// do, so one jar serves every function of a host). A `Set-Cookie` with
/// `Max-Age` ≤ 0 deletes the cookie; a positive `Max-Age` makes it expire
/// that many seconds later by the jar's clock (Unix seconds: the system's unless
/// [`Jar::with_clock`] gives another). A clone is a copy at
/// that moment.
#[derive(Clone)]
pub struct Jar {
    cookies: BTreeMap<String, Stored>,
    clock: Clock,
}

impl Default for Jar {
    fn default() -> Self {
        Self::with_clock(system_clock())
    }
}

/// Names only: the values are sealed sessions and flows.
impl std::fmt::Debug for Jar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.live().map(|(n, _)| n)).finish()
    }
}

impl Jar {
    /// An empty jar whose cookies expire by `clock`.
    pub fn with_clock(clock: Clock) -> Self {
        Self {
            cookies: BTreeMap::new(),
            clock,
        }
    }

    /// The cookies that have not expired, by name.
    fn live(&self) -> impl Iterator<Item = (&String, &str)> {
        let now = (self.clock)();
        self.cookies
            .iter()
            .filter(move |(_, c)| c.expires.is_none_or(|e| now < e))
            .map(|(n, c)| (n, c.value.as_str()))
    }

    /// Applies one `Set-Cookie` value.
    pub fn store_set_cookie(&mut self, set_cookie: &str) {
        let cookie = cookie::Cookie::parse(set_cookie.to_owned())
            .unwrap_or_else(|e| panic!("not a Set-Cookie value ({e}): {set_cookie:.80}"));
        let name = cookie.name().to_owned();
        match cookie.max_age().map(|age| age.whole_seconds()) {
            Some(seconds) if seconds <= 0 => {
                self.cookies.remove(&name);
            }
            max_age => {
                let expires = max_age.map(|s| (self.clock)().saturating_add(s));
                let value = cookie.value().to_owned();
                self.cookies.insert(name, Stored { value, expires });
            }
        }
    }

    /// Applies every `Set-Cookie` header of a response, in their order.
    pub fn store(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let value = value
                .to_str()
                .unwrap_or_else(|_| panic!("a Set-Cookie header that is not ASCII: {value:?}"));
            self.store_set_cookie(value);
        }
    }

    /// The `Cookie` header the browser would send; `None` when empty.
    pub fn header(&self) -> Option<String> {
        let pairs: Vec<String> = self.live().map(|(n, v)| format!("{n}={v}")).collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// The value of cookie `name`, unless it has expired.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.live().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Sets a cookie as a script or another site could (no expiry).
    pub fn set(&mut self, name: &str, value: &str) {
        let value = value.to_owned();
        self.cookies.insert(
            name.to_owned(),
            Stored {
                value,
                expires: None,
            },
        );
    }

    /// Removes cookie `name`, as a user clearing it would.
    pub fn remove(&mut self, name: &str) {
        self.cookies.remove(name);
    }

    /// The live names of one family, `<base>.<suffix>` with or without the
    /// `__Host-` prefix: [`SESSION_COOKIE`] or [`FLOW_COOKIE`].
    pub fn names(&self, base: &str) -> Vec<String> {
        let family = format!("{base}.");
        self.live()
            .map(|(n, _)| n)
            .filter(|n| {
                n.strip_prefix(HOST_PREFIX)
                    .unwrap_or(n)
                    .starts_with(&family)
            })
            .cloned()
            .collect()
    }

    /// The names of the session's cookies: `session.<id>.<n>` (one per
    /// chunk), `__Host-` prefixed on https.
    pub fn session_names(&self) -> Vec<String> {
        self.names(SESSION_COOKIE)
    }

    /// The names of the sign-in attempts' cookies: `oauth_flow.<id>`,
    /// `__Host-` prefixed on https.
    pub fn flow_names(&self) -> Vec<String> {
        self.names(FLOW_COOKIE)
    }

    /// Whether the jar holds no live cookie.
    pub fn is_empty(&self) -> bool {
        self.live().next().is_none()
    }
}

/// Fails unless `jar` holds no session cookie of the app (any chunk of any
/// generation, prefixed or not): what every "no session" check asserts.
#[track_caller]
pub fn assert_no_session(jar: &Jar) {
    let names = jar.session_names();
    assert!(names.is_empty(), "a session cookie is set: {names:?}");
}

/// Fails unless the only cookie `jar` holds is one sign-out mark
/// (`ended.<hash>`): nothing that signs anyone in, nothing kept to retry.
#[track_caller]
pub fn assert_only_the_sign_out_mark(jar: &Jar) {
    let marks = jar.names(ENDED_COOKIE);
    assert!(
        jar.live().count() == 1 && marks.len() == 1,
        "cookies left: {jar:?}"
    );
}

/// Fails unless `jar` holds a session cookie of the app.
#[track_caller]
pub fn assert_session(jar: &Jar) {
    assert!(
        !jar.session_names().is_empty(),
        "no session cookie: {jar:?}"
    );
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;

    /// A jar on a clock the test moves.
    fn jar_at(now: &Arc<AtomicI64>) -> Jar {
        let now = now.clone();
        Jar::with_clock(Arc::new(move || now.load(Ordering::SeqCst)))
    }

    #[test]
    fn max_age_zero_deletes_and_debug_shows_names_only() {
        let mut jar = Jar::default();
        jar.store_set_cookie("session.ab.0=sealed-value; Path=/; HttpOnly");
        jar.store_set_cookie("oauth_flow.cd=flow-value; Path=/");
        assert_eq!(jar.session_names(), ["session.ab.0"]);
        assert_eq!(
            jar.header().as_deref(),
            Some("oauth_flow.cd=flow-value; session.ab.0=sealed-value")
        );
        assert!(!format!("{jar:?}").contains("value"));
        jar.store_set_cookie("session.ab.0=; Max-Age=0; Path=/");
        assert_eq!(jar.session_names(), Vec::<String>::new());
        assert_eq!(jar.flow_names(), ["oauth_flow.cd"]);
    }

    #[test]
    fn a_cookie_expires_after_its_max_age() {
        let now = Arc::new(AtomicI64::new(1_000));
        let mut jar = jar_at(&now);
        jar.store_set_cookie("oauth_flow.cd=v; Max-Age=600; Path=/");
        now.store(1_599, Ordering::SeqCst);
        assert_eq!(jar.get("oauth_flow.cd"), Some("v"));
        now.store(1_600, Ordering::SeqCst);
        assert_eq!(jar.get("oauth_flow.cd"), None);
        assert!(jar.is_empty() && jar.header().is_none());
    }

    #[test]
    fn set_cookies_apply_in_the_order_given() {
        let mut jar = Jar::default();
        jar.store_set_cookie("session.new.0=fresh; Path=/");
        jar.store_set_cookie("session.new.0=; Max-Age=0");
        assert!(jar.is_empty(), "a deletion applied last wins");
        jar.store_set_cookie("session.new.0=fresh; Path=/");
        assert_eq!(jar.get("session.new.0"), Some("fresh"));
    }

    #[test]
    fn the_families_know_the_host_prefix() {
        let mut jar = Jar::default();
        jar.set("__Host-session.ab.1", "x");
        jar.set("__Host-oauth_flow.cd", "y");
        jar.set("sessionx.ab.0", "not ours");
        jar.set("other", "z");
        assert_eq!(jar.session_names(), ["__Host-session.ab.1"]);
        assert_eq!(jar.flow_names(), ["__Host-oauth_flow.cd"]);
    }

    #[test]
    fn no_session_passes_without_a_session_cookie() {
        let mut jar = Jar::default();
        jar.set("oauth_flow.cd", "y");
        jar.set("sessionx", "not ours");
        assert_no_session(&jar);
    }

    #[test]
    #[should_panic(expected = "a session cookie is set: [\"session.ab.0\"]")]
    fn no_session_fails_on_a_session_chunk() {
        let mut jar = Jar::default();
        jar.store_set_cookie("session.ab.0=sealed; Path=/; HttpOnly");
        assert_no_session(&jar);
    }

    #[test]
    #[should_panic(expected = "a session cookie is set: [\"__Host-session.ab.3\"]")]
    fn no_session_fails_on_a_prefixed_session_chunk() {
        let mut jar = Jar::default();
        jar.set("__Host-session.ab.3", "sealed");
        assert_no_session(&jar);
    }

    #[test]
    #[should_panic(expected = "no session cookie")]
    fn session_fails_without_one() {
        assert_session(&Jar::default());
    }

    #[test]
    fn no_session_holds_for_other_cookies_only() {
        let mut jar = Jar::default();
        jar.store_set_cookie("oauth_flow.cd=flow-value; Path=/");
        jar.store_set_cookie("revoke.ef=pending; Path=/");
        assert_no_session(&jar);
    }
}
