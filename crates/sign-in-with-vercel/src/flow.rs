//! The flow cookies: one sealed cookie per sign-in attempt, holding what
//! the callback must match ([`Flow`]), so that several tabs can sign in at
//! once and each callback finds, and clears, only its own attempt.
//!
//! The cookie of an attempt is `oauth_flow.<id>`, where `<id>` is the first
//! 16 characters (96 random bits) of its `state`: the callback finds it
//! from the `state` it receives (RFC 6749 §10.12), and still compares the
//! whole `state` in constant time. The name tells no one anything the
//! callback URL does not (and an `HttpOnly` cookie's name is not even
//! visible to scripts); hashing it cost 6 % of authorize's instructions
//! (callgrind). Its value is sealed (`seal`), so it can neither be read
//! nor forged, and it lives [`FLOW_TTL_SECS`]. At most [`MAX_FLOWS`] are
//! kept.

use http::HeaderValue;
use serde::Deserialize;

use crate::authorize::{FLOW_TTL_SECS, Flow};
use crate::config::Config;
use crate::cookies::{
    FLOW_COOKIE, RequestCookies, beyond_newest, clear_cookie, cookie_name, set_sealed_cookie,
};
use crate::error::Error;
use crate::origin::{Origin, safe_return_path};
use crate::pkce::is_valid_verifier;
use crate::seal::Purpose;
use crate::secret::{CodeVerifier, Nonce, State, is_random_token};

/// How many sign-in attempts a browser may have open at once; starting
/// another drops the oldest.
pub const MAX_FLOWS: usize = 4;

/// The flow as sealed in the cookie.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredFlow {
    s: String,
    n: String,
    v: String,
    r: String,
    t: i64,
}

/// The length of a `state`, `nonce` or verifier as [`Flow::new`] makes them.
const TOKEN_CHARS: usize = 43;

impl StoredFlow {
    /// The sealed form: `state`, `nonce` and verifier (43 characters
    /// each), the start time (16 hex digits), then the return path. Fixed
    /// widths, no escaping: written on every sign-in.
    fn encode(flow: &Flow) -> Option<Vec<u8>> {
        let fields = [
            flow.state.secret(),
            flow.nonce.secret(),
            flow.verifier.secret(),
        ];
        if fields.iter().any(|f| f.len() != TOKEN_CHARS) {
            return None;
        }
        let mut out = Vec::with_capacity(3 * TOKEN_CHARS + 16 + flow.return_to.len());
        for field in fields {
            out.extend_from_slice(field.as_bytes());
        }
        out.extend_from_slice(&hex16(flow.created_at as u64));
        out.extend_from_slice(flow.return_to.as_bytes());
        Some(out)
    }

    /// [`StoredFlow::encode`]'s form, or the JSON object of flows sealed
    /// before it (a sign-in under way across an upgrade).
    fn decode(plaintext: &[u8]) -> Option<Self> {
        if plaintext.first() == Some(&b'{') {
            return serde_json::from_slice(plaintext).ok();
        }
        let text = std::str::from_utf8(plaintext).ok()?;
        let field = |n: usize| text.get(n * TOKEN_CHARS..(n + 1) * TOKEN_CHARS);
        let time = text.get(3 * TOKEN_CHARS..3 * TOKEN_CHARS + 16)?;
        Some(Self {
            s: field(0)?.to_owned(),
            n: field(1)?.to_owned(),
            v: field(2)?.to_owned(),
            t: u64::from_str_radix(time, 16).ok()? as i64,
            r: text.get(3 * TOKEN_CHARS + 16..)?.to_owned(),
        })
    }
}

/// `n` as 16 lowercase hex digits (`format!("{n:016x}")`, without the
/// formatting machinery).
fn hex16(n: u64) -> [u8; 16] {
    let mut digits = [0u8; 16];
    for (i, digit) in digits.iter_mut().enumerate() {
        *digit = b"0123456789abcdef"[(n >> (60 - 4 * i)) as usize & 0xf];
    }
    digits
}

/// The cookie suffix of the attempt whose `state` is `state`; `None` for a
/// `state` that no attempt of ours can have (too short, or not base64url).
fn flow_id(state: &str) -> Option<&str> {
    state.get(..16).filter(|id| {
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// What is authenticated with a flow seal: this relying party and the
/// cookie's name, so a seal cannot move to another attempt or app.
fn context(config: &Config, name: &str) -> Vec<u8> {
    [
        config.issuer.as_bytes(),
        config.client_id.as_bytes(),
        name.as_bytes(),
    ]
    .join(&0u8)
}

/// The flow cookies a request carries, opened.
pub(crate) struct Flows<'a> {
    config: &'a Config,
    origin: &'a Origin,
    /// `(cookie name, sealed value)`, opened only when needed.
    found: Vec<(&'a str, &'a [u8])>,
}

impl<'a> Flows<'a> {
    /// The flow cookies of the request, not yet opened.
    pub(crate) fn read(
        cookies: &'a RequestCookies,
        origin: &'a Origin,
        config: &'a Config,
    ) -> Self {
        let found = cookies
            .family(origin, FLOW_COOKIE)
            .map(|(name, _, value)| (name, value))
            .collect();
        Self {
            config,
            origin,
            found,
        }
    }

    /// The flow a cookie holds: `None` if it does not open or is not a
    /// well-formed flow (then it is to be cleared).
    fn open(&self, name: &str, value: &[u8]) -> Option<Flow> {
        open(self.config, self.origin, name, value)
    }

    /// The attempt `state` names, unexpired: the callback's flow. No flow
    /// cookie at all is [`Error::FlowMissing`]; flow cookies but none for
    /// this `state` (or no `state`, or one that does not open) is
    /// [`Error::StateMismatch`]; an expired one is [`Error::FlowMissing`].
    pub(crate) fn take(&self, state: Option<&State>, now: i64) -> Result<(Flow, String), Error> {
        if self.found.is_empty() {
            return Err(Error::FlowMissing);
        }
        let state = state.ok_or(Error::StateMismatch)?;
        let suffix = flow_id(state.secret()).ok_or(Error::StateMismatch)?;
        // Only this attempt's cookie is opened.
        let &(name, value) = self
            .found
            .iter()
            .find(|(name, _)| name.rsplit('.').next() == Some(suffix))
            .ok_or(Error::StateMismatch)?;
        // A cookie under this attempt's name that does not open is not ours:
        // altered, or sealed under another key (instances given different
        // `AUTH_SECRET`s, or one replaced mid-sign-in), which only the
        // operator can put right.
        let flow = self.open(name, value).ok_or_else(|| {
            crate::log::warn(
                "callback: the flow cookie of this sign-in's state did not open: \
                 altered, or sealed under a key AUTH_SECRET does not list (every \
                 instance needs the same AUTH_SECRET; to rotate, keep the old \
                 key listed beside the new, as the README says)",
            );
            Error::StateMismatch
        })?;
        if flow.is_expired(now) {
            return Err(Error::FlowMissing);
        }
        Ok((flow, name.to_owned()))
    }

    /// The cookies to delete so that, with one more attempt, at most
    /// [`MAX_FLOWS`] remain: the unreadable and expired ones, then the
    /// oldest. Attempts started in the same second go by their order in
    /// the `Cookie` header, oldest first (RFC 6265 §5.4).
    pub(crate) fn make_room(&self, now: i64) -> Vec<HeaderValue> {
        let mut live = Vec::new();
        let mut clear = Vec::new();
        for (position, &(name, value)) in self.found.iter().enumerate() {
            match self.open(name, value) {
                Some(flow) if !flow.is_expired(now) => {
                    live.push(((flow.created_at, position), name));
                }
                _ => clear.push(clear_cookie(self.origin, name)),
            }
        }
        clear
            .extend(beyond_newest(live, MAX_FLOWS - 1).map(|name| clear_cookie(self.origin, name)));
        clear
    }
}

fn open(config: &Config, origin: &Origin, name: &str, value: &[u8]) -> Option<Flow> {
    let opened = config
        .keys
        .open(Purpose::Flow, &context(config, name), value)?;
    let stored = StoredFlow::decode(&opened.plaintext)?;
    let well_formed = is_random_token(&stored.s)
        && is_random_token(&stored.n)
        && is_valid_verifier(&stored.v)
        && safe_return_path(&stored.r).is_some()
        && flow_id(&stored.s).is_some_and(|id| name.ends_with(id));
    well_formed.then(|| Flow {
        state: State::new(stored.s),
        nonce: Nonce::new(stored.n),
        verifier: CodeVerifier::new(stored.v),
        redirect_uri: origin.url(&config.paths.callback),
        return_to: stored.r,
        created_at: stored.t,
    })
}

/// The `Set-Cookie` value holding `flow` in its own cookie.
pub(crate) fn flow_cookie(
    config: &Config,
    origin: &Origin,
    flow: &Flow,
) -> Result<HeaderValue, Error> {
    let id = flow_id(flow.state.secret()).ok_or(Error::UnstorableToken)?;
    let name = cookie_name(origin, FLOW_COOKIE, id);
    let plaintext = StoredFlow::encode(flow).ok_or(Error::UnstorableToken)?;
    set_sealed_cookie(
        origin,
        &name,
        FLOW_TTL_SECS,
        (&config.keys, Purpose::Flow, &context(config, &name)),
        &plaintext,
    )
    .ok_or(Error::UnstorableToken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;
    use http::header::COOKIE;

    const SECRET: &str = "0123456789abcdef0123456789abcdef-flow";

    fn config(auth_secret: &str) -> Config {
        config_of("cl", auth_secret)
    }

    /// The configuration of client `client_id` with `auth_secret`.
    fn config_of(client_id: &str, auth_secret: &str) -> Config {
        Config::from_lookup(|k| match k {
            "VERCEL_APP_CLIENT_ID" => Some(client_id.into()),
            "AUTH_SECRET" => Some(auth_secret.into()),
            _ => None,
        })
        .unwrap()
    }

    fn origin(s: &str) -> Origin {
        Origin::parse_configured(s).unwrap()
    }

    /// The request cookies a browser sends back after `set`.
    fn jar(o: &Origin, set: &[HeaderValue]) -> RequestCookies {
        let joined = set
            .iter()
            .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("; ");
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(&joined).unwrap());
        RequestCookies::parse(&headers, o)
    }

    fn same(a: &Flow, b: &Flow) -> bool {
        a.state.ct_eq(b.state.secret())
            && a.nonce.ct_eq(b.nonce.secret())
            && a.verifier.ct_eq(b.verifier.secret())
            && a.return_to == b.return_to
            && a.created_at == b.created_at
            && a.redirect_uri == b.redirect_uri
    }

    fn new_flow(o: &Origin, now: i64) -> Flow {
        Flow::new(o.url("/api/auth/callback"), "/dash?x=1".into(), now)
    }

    #[test]
    fn flow_cookie_round_trips_by_state() {
        let (c, o) = (config(SECRET), origin("https://app.example.com"));
        let flow = new_flow(&o, 100);
        let set = flow_cookie(&c, &o, &flow).unwrap();
        let text = set.to_str().unwrap();
        assert!(text.starts_with("__Host-oauth_flow."), "{text}");
        for attr in [
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
            "Max-Age=600",
        ] {
            assert!(text.contains(attr), "{text}");
        }
        assert!(!text.contains(flow.state.secret()) && !text.contains(flow.verifier.secret()));
        let cookies = jar(&o, &[set]);
        let flows = Flows::read(&cookies, &o, &c);
        let (back, _) = flows.take(Some(&flow.state), 200).unwrap();
        assert!(same(&back, &flow));
    }

    #[test]
    fn the_sealed_form_round_trips_and_the_json_of_earlier_flows_still_opens() {
        let o = origin("http://localhost:3000");
        let flow = Flow::new(o.url("/api/auth/callback"), "/a?b=c".into(), 1_800_000_000);
        let encoded = StoredFlow::encode(&flow).unwrap();
        assert_eq!(encoded.len(), 3 * 43 + 16 + "/a?b=c".len());
        let back = StoredFlow::decode(&encoded).unwrap();
        assert!(flow.state.ct_eq(&back.s) && flow.nonce.ct_eq(&back.n));
        assert!(flow.verifier.ct_eq(&back.v));
        assert_eq!((back.r.as_str(), back.t), ("/a?b=c", 1_800_000_000));
        let json = serde_json::json!({"s": back.s, "n": back.n, "v": back.v, "r": "/x", "t": 5});
        let legacy = StoredFlow::decode(json.to_string().as_bytes()).unwrap();
        assert_eq!((legacy.r.as_str(), legacy.t), ("/x", 5));
        for short in [&encoded[..100], &encoded[..3 * 43 + 15], b"".as_slice()] {
            assert!(StoredFlow::decode(short).is_none());
        }
    }

    #[test]
    fn the_start_time_is_written_as_format_would() {
        for n in [0, 1, 0xf, 1_800_000_000, u64::MAX, (-5i64) as u64] {
            assert_eq!(hex16(n).as_slice(), format!("{n:016x}").as_bytes());
        }
    }

    #[test]
    fn two_attempts_each_find_their_own_flow() {
        let (c, o) = (config(SECRET), origin("http://localhost:3000"));
        let (a, b) = (new_flow(&o, 0), new_flow(&o, 1));
        let set = [
            flow_cookie(&c, &o, &a).unwrap(),
            flow_cookie(&c, &o, &b).unwrap(),
        ];
        let cookies = jar(&o, &set);
        let read = || Flows::read(&cookies, &o, &c);
        assert!(same(&read().take(Some(&a.state), 5).unwrap().0, &a));
        assert!(same(&read().take(Some(&b.state), 5).unwrap().0, &b));
    }

    #[test]
    fn a_state_with_no_attempt_is_a_mismatch() {
        let (c, o) = (config(SECRET), origin("http://localhost:3000"));
        let set = flow_cookie(&c, &o, &new_flow(&o, 0)).unwrap();
        let cookies = jar(&o, &[set]);
        let read = || Flows::read(&cookies, &o, &c);
        assert_eq!(
            read().take(Some(&State::new("forged")), 0).unwrap_err(),
            Error::StateMismatch
        );
        assert_eq!(read().take(None, 0).unwrap_err(), Error::StateMismatch);
    }

    #[test]
    fn no_flow_cookie_is_flow_missing() {
        let (c, o) = (config(SECRET), origin("http://localhost:3000"));
        let cookies = jar(&o, &[]);
        let flows = Flows::read(&cookies, &o, &c);
        assert_eq!(
            flows.take(Some(&State::new("s")), 0).unwrap_err(),
            Error::FlowMissing
        );
    }

    #[test]
    fn expired_flow_is_missing() {
        let (c, o) = (config(SECRET), origin("http://localhost:3000"));
        let flow = new_flow(&o, 0);
        let cookies = jar(&o, &[flow_cookie(&c, &o, &flow).unwrap()]);
        let flows = Flows::read(&cookies, &o, &c);
        assert_eq!(
            flows.take(Some(&flow.state), 601).unwrap_err(),
            Error::FlowMissing
        );
    }

    /// The seal is bound to its key and to this relying party: a flow
    /// cookie sealed with another key, or for another client under the
    /// same `AUTH_SECRET`, does not open here.
    #[test]
    fn flow_sealed_with_another_key_or_for_another_client_does_not_open() {
        let o = origin("http://localhost:3000");
        let flow = new_flow(&o, 0);
        let ours = config(SECRET);
        for theirs in [
            config("another-secret-of-more-than-32-bytes!!"),
            config_of("other-client", SECRET),
        ] {
            let set = flow_cookie(&theirs, &o, &flow).unwrap();
            let cookies = jar(&o, &[set]);
            let flows = Flows::read(&cookies, &o, &ours);
            crate::log::tests::taken();
            assert_eq!(
                flows.take(Some(&flow.state), 0).unwrap_err(),
                Error::StateMismatch,
                "{}",
                theirs.client_id
            );
            // Said to the operator: different keys in different instances
            // fail every sign-in that spans two.
            let said = crate::log::tests::taken();
            assert!(
                said.len() == 1
                    && said[0].contains("did not open")
                    && said[0].contains("AUTH_SECRET"),
                "{said:?}"
            );
        }
        // A state that names no attempt is the browser's, not the keys'.
        let cookies = jar(&o, &[flow_cookie(&ours, &o, &flow).unwrap()]);
        let other = new_flow(&o, 1);
        let flows = Flows::read(&cookies, &o, &ours);
        assert_eq!(
            flows.take(Some(&other.state), 0).unwrap_err(),
            Error::StateMismatch
        );
        assert_eq!(crate::log::tests::taken(), [] as [String; 0]);
    }

    /// What a flow cookie opens to is checked again: a sealed flow with a
    /// `state`, `nonce` or verifier not of the form we make them (RFC 7636
    /// §4.1), or a return path to another host (RFC 9700 §4.11), is no
    /// flow.
    #[test]
    fn a_sealed_flow_that_is_not_well_formed_does_not_open() {
        let (c, o) = (config(SECRET), origin("http://localhost:3000"));
        /// A token of the right length, ending in a character none may have.
        fn spoiled(token: &str) -> String {
            format!("{}+", &token[..42])
        }
        let flow_with = |edit: fn(&mut Flow)| {
            let mut flow = new_flow(&o, 0);
            edit(&mut flow);
            flow
        };
        for (what, flow) in [
            (
                "state",
                flow_with(|f| f.state = State::new(spoiled(f.state.secret()))),
            ),
            (
                "nonce",
                flow_with(|f| f.nonce = Nonce::new(spoiled(f.nonce.secret()))),
            ),
            (
                "verifier",
                flow_with(|f| f.verifier = CodeVerifier::new(spoiled(f.verifier.secret()))),
            ),
            (
                "return path",
                flow_with(|f| f.return_to = "//evil.example".into()),
            ),
        ] {
            let cookies = jar(&o, &[flow_cookie(&c, &o, &flow).unwrap()]);
            let flows = Flows::read(&cookies, &o, &c);
            assert_eq!(
                flows.take(Some(&flow.state), 0).unwrap_err(),
                Error::StateMismatch,
                "{what}"
            );
        }
    }

    /// A flow cookie's suffix is the first 16 characters of its `state`,
    /// base64url only: nothing else can name a cookie.
    #[test]
    fn a_flow_id_is_sixteen_base64url_characters_of_the_state() {
        assert_eq!(flow_id("abcDEF0123-_wxyzTAIL"), Some("abcDEF0123-_wxyz"));
        assert_eq!(flow_id("abcdefghijklmno"), None, "15 characters");
        for bad in ["abcdefghijklmn.p", "abcdefghijklmn%p", "abcdefghijklmn=p"] {
            assert_eq!(flow_id(bad), None, "{bad}");
        }
    }

    /// Starting an attempt clears the flow cookies that no longer count:
    /// one that has expired, one that does not open, and no live one while
    /// there is room.
    #[test]
    fn starting_an_attempt_clears_expired_and_unreadable_flows() {
        let (c, o) = (config(SECRET), origin("http://localhost:3000"));
        let expired = flow_cookie(&c, &o, &new_flow(&o, 0)).unwrap();
        let foreign = flow_cookie(
            &config("another-secret-of-more-than-32-bytes!!"),
            &o,
            &new_flow(&o, 600),
        )
        .unwrap();
        let live = flow_cookie(&c, &o, &new_flow(&o, 600)).unwrap();
        let name = |h: &HeaderValue| h.to_str().unwrap().split('=').next().unwrap().to_owned();
        let cookies = jar(&o, &[expired.clone(), foreign.clone(), live]);
        let flows = Flows::read(&cookies, &o, &c);
        let mut cleared: Vec<_> = flows.make_room(601).iter().map(name).collect();
        let mut gone = vec![name(&expired), name(&foreign)];
        cleared.sort();
        gone.sort();
        assert_eq!(cleared, gone);
    }

    #[test]
    fn starting_an_attempt_keeps_at_most_max_flows() {
        let (c, o) = (config(SECRET), origin("http://localhost:3000"));
        let set: Vec<_> = (0..MAX_FLOWS as i64 + 1)
            .map(|t| flow_cookie(&c, &o, &new_flow(&o, t)).unwrap())
            .collect();
        let cookies = jar(&o, &set);
        let flows = Flows::read(&cookies, &o, &c);
        let cleared = flows.make_room(10);
        assert_eq!(cleared.len(), 2, "the two oldest make room for one more");
        let oldest = set[0].to_str().unwrap().split('=').next().unwrap();
        assert!(
            cleared
                .iter()
                .any(|c| c.to_str().unwrap().starts_with(oldest))
        );
    }

    /// Five tabs in one second: the first two started go, whatever order
    /// their names sort in.
    #[test]
    fn attempts_started_in_the_same_second_go_oldest_first() {
        let (c, o) = (config(SECRET), origin("http://localhost:3000"));
        let set: Vec<_> = (0..=MAX_FLOWS)
            .map(|_| flow_cookie(&c, &o, &new_flow(&o, 0)).unwrap())
            .collect();
        let cookies = jar(&o, &set);
        let flows = Flows::read(&cookies, &o, &c);
        let name = |h: &HeaderValue| h.to_str().unwrap().split('=').next().unwrap().to_owned();
        let mut cleared: Vec<_> = flows.make_room(10).iter().map(name).collect();
        let mut first_two: Vec<_> = set[..2].iter().map(name).collect();
        cleared.sort();
        first_two.sort();
        assert_eq!(cleared, first_two);
    }
}
