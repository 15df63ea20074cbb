//! The relying party's cookies in the browser (RFC 6265bis): which names
//! are ours, reading them from a request, and writing them.
//!
//! Four families, each a base name plus a per-value suffix:
//! - `session.<id>.<n>`: the sealed session, chunk `n` (see `session`);
//!   `<id>` changes whenever the tokens do, so a response can only delete
//!   the generation it read, and `Set-Cookie` headers of parallel
//!   responses commute;
//! - `oauth_flow.<id>`: one sealed sign-in attempt each (see `flow`);
//! - `revoke.<id>`: the tokens of a sign-out whose revocation failed, for
//!   the user to retry (see `session::revocation`);
//! - `ended.<mark>`: a sign-out of the session `<mark>` names, its time the
//!   value, until a sign-in more than fifteen minutes later (at most a
//!   refresh token's life; a sign-in keeps the four newest younger ones),
//!   so that a
//!   refresh answered after it cannot bring the session back (see
//!   `session::cookie::ended_cookie`).
//!
//! On https all are `__Host-` prefixed (RFC 6265bis §4.1.3.2), so no
//! sibling or parent domain can set or shadow them; the plain names are
//! for the local http stack only. Every cookie is `HttpOnly`,
//! `SameSite=Lax`, `Path=/`, and `Secure` on https. `Lax`, where the
//! browser-based apps BCP's backend-for-frontend SHOULD use `Strict`: the
//! flow cookie must come back with the provider's cross-site redirect to
//! the callback, which also reads the session it replaces, and a link from
//! another site into a protected page must find the user signed in. What
//! `Strict` would add is done by origin checks instead: the sign-out, the
//! routes that act with the tokens on a `GET` (session, user-info,
//! validate-token) and `Auth::protect`'s unsafe methods refuse other
//! origins, a sibling subdomain included.
//!
//! A request's `Cookie` header also carries every other cookie of the site
//! and its parent domains, in whatever bytes their authors chose: only our
//! names are read, and nothing else in the header can make a request fail.

use std::ops::Range;

use http::{HeaderMap, HeaderValue, header::COOKIE};

use crate::origin::Origin;
use crate::seal::{Keys, Purpose, sealed_len};

/// The session cookies' base name.
pub const SESSION_COOKIE: &str = "session";
/// The flow cookies' base name.
pub const FLOW_COOKIE: &str = "oauth_flow";
/// The base name of the cookie of a sign-out whose revocation is still to
/// be retried.
pub const REVOCATION_COOKIE: &str = "revoke";
/// The base name of the cookie marking a session signed out in this
/// browser.
pub const ENDED_COOKIE: &str = "ended";
/// The prefix of every cookie on https.
pub const HOST_PREFIX: &str = "__Host-";
/// The longest cookie value written: with its name and attributes a cookie
/// stays under the 4096 bytes browsers keep (RFC 6265bis §5.6).
pub(crate) const MAX_VALUE: usize = 3800;
/// How many of our cookies a request may carry before the rest are ignored.
const MAX_OURS: usize = 64;

/// The full name of the cookie `base.suffix` on `origin`.
pub fn cookie_name(origin: &Origin, base: &str, suffix: &str) -> String {
    let prefix = prefix(origin);
    let mut name = String::with_capacity(prefix.len() + base.len() + 1 + suffix.len());
    for part in [prefix, base, ".", suffix] {
        name.push_str(part);
    }
    name
}

/// What starts the name of each of our cookies on `origin`: `__Host-` on
/// https, nothing on a loopback http origin.
fn prefix(origin: &Origin) -> &'static str {
    if origin.is_secure() { HOST_PREFIX } else { "" }
}

/// Our cookies of a request, parsed once: the `Cookie` headers that hold
/// them (shared, not copied) and where in them each of our cookies is.
pub(crate) struct RequestCookies {
    headers: Vec<HeaderValue>,
    /// Whether any of the pairs is a sign-out's mark ([`ENDED_COOKIE`]),
    /// noted while parsing so that the common request, which has none,
    /// does not look for one again.
    has_ended_mark: bool,
    /// `(header, name, value)` byte ranges, names checked, values opaque:
    /// only a seal that opens is believed, so a value is not inspected here.
    pairs: Vec<(usize, Range<usize>, Range<usize>)>,
}

impl RequestCookies {
    /// Reads our cookies from every `Cookie` header. Pairs that are not
    /// ours, whose name is not a token, or whose value is too long to be
    /// ours are skipped: they cannot make the request fail.
    pub(crate) fn parse(headers: &HeaderMap, origin: &Origin) -> Self {
        let prefix = prefix(origin);
        let mut found = Self {
            headers: Vec::new(),
            has_ended_mark: false,
            pairs: Vec::new(),
        };
        for header in headers.get_all(COOKIE) {
            let bytes = header.as_bytes();
            let mut ours_here = false;
            let mut start = 0;
            while start <= bytes.len() && found.pairs.len() < MAX_OURS {
                let end = memchr::memchr(b';', &bytes[start..]).map_or(bytes.len(), |i| start + i);
                if let Some((name, value)) = pair_at(bytes, start, end)
                    && let Some(base) = ours(&bytes[name.clone()], prefix)
                    && value.len() <= MAX_VALUE
                {
                    found.has_ended_mark |= base == ENDED_COOKIE;
                    found.pairs.push((found.headers.len(), name, value));
                    ours_here = true;
                }
                start = end + 1;
            }
            if ours_here {
                found.headers.push(header.clone());
            }
        }
        found
    }

    /// Whether the request carries a sign-out's mark ([`ENDED_COOKIE`]).
    pub(crate) fn has_ended_mark(&self) -> bool {
        self.has_ended_mark
    }

    /// The cookies of family `base`: `(full name, suffix, value)`.
    pub(crate) fn family<'a>(
        &'a self,
        origin: &Origin,
        base: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str, &'a [u8])> + 'a {
        let prefix_len = prefix(origin).len();
        self.pairs.iter().filter_map(move |(header, name, value)| {
            let bytes = self.headers[*header].as_bytes();
            // A token, checked when parsed: ASCII.
            let name = std::str::from_utf8(&bytes[name.clone()]).ok()?;
            let suffix = name
                .get(prefix_len..)?
                .strip_prefix(base)?
                .strip_prefix('.')?;
            Some((name, suffix, &bytes[value.clone()]))
        })
    }
}

/// The name and value ranges of the pair in `bytes[start..end]`, trimmed of
/// spaces and tabs; `None` without an `=`.
fn pair_at(bytes: &[u8], start: usize, end: usize) -> Option<(Range<usize>, Range<usize>)> {
    let eq = start + memchr::memchr(b'=', &bytes[start..end])?;
    let trim = |mut a: usize, mut b: usize| {
        while a < b && bytes[a].is_ascii_whitespace() {
            a += 1;
        }
        while b > a && bytes[b - 1].is_ascii_whitespace() {
            b -= 1;
        }
        a..b
    };
    Some((trim(start, eq), trim(eq + 1, end)))
}

/// The family (base name) of ours that `name` belongs to on an origin
/// whose cookies have `prefix`, if it is a valid cookie name.
fn ours(name: &[u8], prefix: &str) -> Option<&'static str> {
    let rest = name.strip_prefix(prefix.as_bytes())?;
    [SESSION_COOKIE, FLOW_COOKIE, REVOCATION_COOKIE, ENDED_COOKIE]
        .into_iter()
        .find(|base| {
            rest.strip_prefix(base.as_bytes())
                .is_some_and(|r| r.first() == Some(&b'.'))
        })
        .filter(|_| is_token(name))
}

/// RFC 6265 `cookie-name`: an RFC 9110 token.
fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| TCHAR[usize::from(b)])
}

/// Which bytes are RFC 9110 `tchar`s (§5.6.2), as a table: every request
/// checks the name of each of our cookies it carries.
static TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};

/// RFC 6265 `cookie-octet`s, unquoted: all our values are base64url.
fn is_cookie_value(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\'))
}

/// A `Set-Cookie` header (RFC 6265bis §4.1): `name=value`, the value
/// appended by `value` (about `value_len` bytes), then the attributes every
/// cookie of ours has (`HttpOnly; SameSite=Lax`, `Secure` on https,
/// `Path=/`, no `Domain`, so the `__Host-` prefix holds), then `Max-Age`,
/// and `extra`. Written out directly, in one allocation: this runs on every
/// sign-in and refresh. `None` when `value` fails or appends more than
/// [`MAX_VALUE`] bytes.
fn header(
    origin: &Origin,
    name: &str,
    max_age: i64,
    extra: &str,
    value_len: usize,
    value: impl FnOnce(&mut Vec<u8>) -> Option<()>,
) -> Option<HeaderValue> {
    let secure = if origin.is_secure() { "; Secure" } else { "" };
    let mut text = Vec::with_capacity(name.len() + value_len + 96 + extra.len());
    text.extend_from_slice(name.as_bytes());
    text.push(b'=');
    let start = text.len();
    value(&mut text)?;
    if text.len() - start > MAX_VALUE {
        return None;
    }
    for part in ["; HttpOnly; SameSite=Lax", secure, "; Path=/; Max-Age="] {
        text.extend_from_slice(part.as_bytes());
    }
    push_decimal(&mut text, max_age.max(0).unsigned_abs());
    text.extend_from_slice(extra.as_bytes());
    // Shared, not copied, into the header.
    HeaderValue::from_maybe_shared(bytes::Bytes::from(text)).ok()
}

/// Appends `n` in decimal (what `write!` would, without the formatting
/// machinery).
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// The `Set-Cookie` value storing `value` as `name` for `max_age` seconds.
/// `None` when the name is not a token or the value is not cookie-octets
/// or too long, which our names and base64url seals never are.
pub(crate) fn set_cookie(
    origin: &Origin,
    name: &str,
    value: &str,
    max_age: i64,
) -> Option<HeaderValue> {
    if !is_cookie_value(value.as_bytes()) {
        return None;
    }
    sensitive(origin, name, max_age, value.len(), |out| {
        out.extend_from_slice(value.as_bytes());
        Some(())
    })
}

/// The `Set-Cookie` value storing `plaintext` as `name` for `max_age`
/// seconds, sealed for `purpose` under `context` ([`Keys::seal_into`]) and
/// written straight into the header: base64url, cookie-octets by
/// construction, so not checked again. `None` when the name is not a
/// token, sealing fails or the seal is too long.
pub(crate) fn set_sealed_cookie(
    origin: &Origin,
    name: &str,
    max_age: i64,
    sealed: (&Keys, Purpose, &[u8]),
    plaintext: &[u8],
) -> Option<HeaderValue> {
    let (keys, purpose, context) = sealed;
    let len = sealed_len(plaintext.len())?;
    sensitive(origin, name, max_age, len, |out| {
        let start = out.len();
        keys.seal_into(purpose, context, plaintext, out)?;
        debug_assert!(is_cookie_value(&out[start..]));
        Some(())
    })
}

/// [`header`] for a cookie that holds a secret, so marked for `http`'s
/// users (HPACK never indexes it); `None` when `name` is not a token.
fn sensitive(
    origin: &Origin,
    name: &str,
    max_age: i64,
    value_len: usize,
    value: impl FnOnce(&mut Vec<u8>) -> Option<()>,
) -> Option<HeaderValue> {
    if !is_token(name.as_bytes()) {
        return None;
    }
    let mut header = header(origin, name, max_age, "", value_len, value)?;
    header.set_sensitive(true);
    Some(header)
}

/// The `Set-Cookie` value that deletes cookie `name` (`Max-Age=0`, and an
/// `Expires` in the past for older browsers).
pub(crate) fn clear_cookie(origin: &Origin, name: &str) -> HeaderValue {
    const EXPIRED: &str = "; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
    if !is_token(name.as_bytes()) {
        return HeaderValue::from_static("");
    }
    header(origin, name, 0, EXPIRED, 0, |_| Some(()))
        .unwrap_or_else(|| HeaderValue::from_static(""))
}

/// The names of `written` beyond its `keep` newest. Each is `(when,
/// position)`: the time its cookie holds, and the cookie's position in the
/// request's `Cookie` header, which orders the cookies of one second (a
/// browser sends those of one path oldest first, RFC 6265 §5.4).
pub(crate) fn beyond_newest(
    mut written: Vec<((i64, usize), &str)>,
    keep: usize,
) -> impl Iterator<Item = &str> {
    written.sort_unstable_by_key(|&(order, _)| std::cmp::Reverse(order));
    written.into_iter().skip(keep).map(|(_, name)| name)
}

/// The `Set-Cookie` values deleting `names`.
pub(crate) fn clear_all<'a>(
    origin: &Origin,
    names: impl IntoIterator<Item = &'a String>,
) -> Vec<HeaderValue> {
    names
        .into_iter()
        .map(|name| clear_cookie(origin, name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(s: &str) -> Origin {
        Origin::parse_configured(s).unwrap()
    }

    /// Every cookie of ours in `header`, as `(name, value)`.
    fn parse(origin: &Origin, header: &[u8]) -> Vec<(String, String)> {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_bytes(header).unwrap());
        let cookies = RequestCookies::parse(&headers, origin);
        [SESSION_COOKIE, FLOW_COOKIE, REVOCATION_COOKIE]
            .iter()
            .flat_map(|base| {
                cookies
                    .family(origin, base)
                    .map(|(name, _, value)| {
                        (name.to_owned(), String::from_utf8_lossy(value).into_owned())
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn only_our_names_are_read() {
        let o = origin("http://localhost:3000");
        let pairs = parse(
            &o,
            b"theme=dark; session.ab.0=v1; sessionx.ab=v; oauth_flow.x=v2; access_token=t",
        );
        assert_eq!(
            pairs,
            [
                ("session.ab.0".into(), "v1".into()),
                ("oauth_flow.x".into(), "v2".into())
            ]
        );
    }

    #[test]
    fn foreign_cookies_with_any_bytes_are_ignored() {
        let o = origin("http://localhost:3000");
        let pairs = parse(
            &o,
            b"x=\xff\xfe; \xe9t\xe9=1; session.ab.0=ok; =; ;;; noequals",
        );
        assert_eq!(pairs, [("session.ab.0".into(), "ok".into())]);
    }

    /// A `cookie-value` may be empty (RFC 6265 §4.1.1), last in the header
    /// too: read as empty, never past the header's end.
    #[test]
    fn an_empty_value_at_the_end_of_the_header_is_read_as_empty() {
        let o = origin("http://localhost:3000");
        let pairs = parse(&o, b"session.ab.0=v; theme=; oauth_flow.x=");
        assert_eq!(
            pairs,
            [
                ("session.ab.0".into(), "v".into()),
                ("oauth_flow.x".into(), String::new())
            ]
        );
    }

    #[test]
    fn on_https_only_host_prefixed_names_are_read() {
        let o = origin("https://app.example.com");
        let pairs = parse(&o, b"session.ab.0=planted; __Host-session.cd.0=mine");
        assert_eq!(pairs, [("__Host-session.cd.0".into(), "mine".into())]);
    }

    #[test]
    fn family_yields_suffixes() {
        let o = origin("https://app.example.com");
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("__Host-session.ab.0=a; __Host-oauth_flow.f=b"),
        );
        let cookies = RequestCookies::parse(&headers, &o);
        let sessions: Vec<_> = cookies.family(&o, SESSION_COOKIE).collect();
        assert_eq!(sessions, [("__Host-session.ab.0", "ab.0", b"a".as_slice())]);
    }

    #[test]
    fn several_cookie_headers_and_spaces_are_read() {
        let o = origin("http://localhost:3000");
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static(" theme=dark ;session.ab.0= v1 "),
        );
        headers.append(COOKIE, HeaderValue::from_static("other=1"));
        headers.append(COOKIE, HeaderValue::from_static("oauth_flow.x=v2;"));
        let cookies = RequestCookies::parse(&headers, &o);
        let names: Vec<(&str, &[u8])> = [SESSION_COOKIE, FLOW_COOKIE]
            .iter()
            .flat_map(|b| {
                cookies
                    .family(&o, b)
                    .map(|(n, _, v)| (n, v))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(
            names,
            [("session.ab.0", b"v1".as_slice()), ("oauth_flow.x", b"v2")]
        );
        assert_eq!(
            cookies.headers.len(),
            2,
            "only the headers holding ours are kept"
        );
    }

    #[test]
    fn no_more_than_max_ours_are_read() {
        let o = origin("http://localhost:3000");
        let many: Vec<String> = (0..MAX_OURS + 10)
            .map(|n| format!("session.a{n}.0=v"))
            .collect();
        assert_eq!(parse(&o, many.join("; ").as_bytes()).len(), MAX_OURS);
    }

    #[test]
    fn the_cookies_we_write_are_exactly_these_bytes() {
        let o = origin("https://app.example.com");
        assert_eq!(
            set_cookie(&o, "__Host-session.a.0", "v", 60).unwrap(),
            "__Host-session.a.0=v; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=60"
        );
        assert_eq!(
            clear_cookie(&origin("http://localhost:3000"), "session.a.0"),
            "session.a.0=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert!(set_cookie(&o, "bad name", "v", 1).is_none());
    }

    #[test]
    fn set_cookie_has_the_security_attributes() {
        let o = origin("https://app.example.com");
        let text = set_cookie(&o, "__Host-session.a.0", "v", 60).unwrap();
        let text = text.to_str().unwrap();
        for attr in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/", "Max-Age=60"] {
            assert!(text.contains(attr), "{text}");
        }
        assert!(!text.contains("Domain"));
        let local = set_cookie(&origin("http://localhost:3000"), "session.a.0", "v", 60).unwrap();
        assert!(!local.to_str().unwrap().contains("Secure"));
    }

    #[test]
    fn values_that_cannot_be_cookies_are_refused() {
        let o = origin("http://localhost:3000");
        assert!(set_cookie(&o, "session.a.0", "a b", 1).is_none());
        assert!(set_cookie(&o, "session.a.0", &"a".repeat(MAX_VALUE + 1), 1).is_none());
    }

    #[test]
    fn max_age_is_written_as_format_would() {
        for n in [0, 7, 10, 600, 86_400, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
        let o = origin("http://localhost:3000");
        let negative = set_cookie(&o, "session.a.0", "v", -3).unwrap();
        assert!(negative.to_str().unwrap().ends_with("Max-Age=0"));
    }

    #[test]
    fn a_sealed_cookie_is_its_name_the_seal_and_our_attributes() {
        let o = origin("https://app.example.com");
        let keys = crate::seal::Keys::derive(
            crate::seal::Source::AuthSecret,
            [b"0123456789abcdef0123456789abcdef-seal".as_slice()],
        )
        .unwrap();
        let sealed_for = (&keys, Purpose::Flow, b"ctx".as_slice());
        let sealed = set_sealed_cookie(&o, "__Host-oauth_flow.x", 600, sealed_for, b"hi").unwrap();
        assert!(sealed.is_sensitive());
        let text = sealed.to_str().unwrap();
        let (seal, attributes) = text
            .strip_prefix("__Host-oauth_flow.x=")
            .unwrap()
            .split_once(';')
            .unwrap();
        assert_eq!(Some(seal.len()), sealed_len(2));
        assert_eq!(
            attributes,
            " HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=600"
        );
        let opened = keys.open(Purpose::Flow, b"ctx", seal).unwrap();
        assert_eq!(opened.plaintext, b"hi");
        assert!(set_sealed_cookie(&o, "bad name", 1, sealed_for, b"hi").is_none());
        let too_long = vec![0; MAX_VALUE];
        assert!(set_sealed_cookie(&o, "n", 1, sealed_for, &too_long).is_none());
    }

    #[test]
    fn tokens_are_exactly_the_rfc_9110_tchars() {
        let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        for b in 0..=u8::MAX {
            assert_eq!(is_token(&[b]), tchar(b), "byte {b}");
        }
        assert!(!is_token(b""));
        assert!(is_token(b"__Host-session.a.0"));
    }

    #[test]
    fn cleared_cookies_expire_now() {
        let cleared = clear_cookie(&origin("http://localhost:3000"), "session.a.0");
        assert!(cleared.to_str().unwrap().contains("Max-Age=0"));
    }

    /// Each name gets its own deleting `Set-Cookie` (RFC 6265 §3.1: a
    /// cookie is removed by one with its name and a past expiry), in order.
    #[test]
    fn clear_all_deletes_every_name_given() {
        let o = origin("https://app.example.com");
        let names = [
            "__Host-session.a.0".to_owned(),
            "__Host-revoke.r".to_owned(),
        ];
        let cleared = clear_all(&o, &names);
        let expected: Vec<_> = names.iter().map(|n| clear_cookie(&o, n)).collect();
        assert_eq!(cleared, expected);
        assert!(
            cleared[1]
                .to_str()
                .unwrap()
                .starts_with("__Host-revoke.r=;")
        );
    }
}
