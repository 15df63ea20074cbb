//! The relying party's cookies in the browser (RFC 6265bis): which names
//! are ours, reading them from a request, and writing them.
//!
//! Two families, each a base name plus a per-value suffix:
//! - `session.<id>.<n>`: the sealed session, chunk `n` (see `session`);
//!   `<id>` changes whenever the tokens do, so a response can only delete
//!   the generation it read, and `Set-Cookie` headers of parallel
//!   responses commute;
//! - `oauth_flow.<id>`: one sealed sign-in attempt each (see `flow`);
//! - `revoke.<id>`: the tokens of a sign-out whose revocation failed, for
//!   the user to retry (see `session::revocation`).
//!
//! On https both are `__Host-` prefixed (RFC 6265bis §4.1.3.2), so no
//! sibling or parent domain can set or shadow them; the plain names are
//! for the local http stack only. Every cookie is `HttpOnly`,
//! `SameSite=Lax`, `Path=/`, and `Secure` on https.
//!
//! A request's `Cookie` header also carries every other cookie of the site
//! and its parent domains, in whatever bytes their authors chose: only our
//! names are read, and nothing else in the header can make a request fail.

use cookie::{Cookie, SameSite};
use http::{HeaderMap, HeaderValue, header::COOKIE};

use crate::origin::Origin;

/// The session cookies' base name.
pub const SESSION_COOKIE: &str = "session";
/// The flow cookies' base name.
pub const FLOW_COOKIE: &str = "oauth_flow";
/// The base name of the cookie of a sign-out whose revocation is still to
/// be retried.
pub const REVOCATION_COOKIE: &str = "revoke";
/// The prefix of every cookie on https.
pub const HOST_PREFIX: &str = "__Host-";
/// The longest cookie value written: with its name and attributes a cookie
/// stays under the 4096 bytes browsers keep (RFC 6265bis §5.6).
pub(crate) const MAX_VALUE: usize = 3800;
/// How many of our cookies a request may carry before the rest are ignored.
const MAX_OURS: usize = 64;

/// The full name of the cookie `base.suffix` on `origin`.
pub fn cookie_name(origin: &Origin, base: &str, suffix: &str) -> String {
    let prefix = if origin.is_secure() { HOST_PREFIX } else { "" };
    format!("{prefix}{base}.{suffix}")
}

/// Our cookies of a request, parsed once: `(name, value)` pairs whose name
/// is one of our families on this origin.
pub(crate) struct RequestCookies {
    pairs: Vec<(String, String)>,
}

impl RequestCookies {
    /// Reads our cookies from every `Cookie` header. Pairs that are not
    /// ours, not parseable, or not cookie-octets are skipped: they cannot
    /// make the request fail.
    pub(crate) fn parse(headers: &HeaderMap, origin: &Origin) -> Self {
        let prefix = if origin.is_secure() { HOST_PREFIX } else { "" };
        let mut pairs = Vec::new();
        for header in headers.get_all(COOKIE) {
            for pair in header.as_bytes().split(|&b| b == b';') {
                if pairs.len() >= MAX_OURS {
                    break;
                }
                let pair = pair.trim_ascii();
                let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                    continue;
                };
                let (name, value) = (pair[..eq].trim_ascii(), pair[eq + 1..].trim_ascii());
                let Some(rest) = name.strip_prefix(prefix.as_bytes()) else {
                    continue;
                };
                let ours = [SESSION_COOKIE, FLOW_COOKIE, REVOCATION_COOKIE]
                    .iter()
                    .any(|base| {
                        rest.strip_prefix(base.as_bytes())
                            .is_some_and(|r| r.first() == Some(&b'.'))
                    });
                if !ours || !is_token(name) || value.len() > MAX_VALUE || !is_cookie_value(value) {
                    continue;
                }
                // Both checked to be ASCII above.
                if let (Ok(name), Ok(value)) =
                    (std::str::from_utf8(name), std::str::from_utf8(value))
                {
                    pairs.push((name.to_owned(), value.to_owned()));
                }
            }
        }
        Self { pairs }
    }

    /// The cookies of family `base`: `(full name, suffix, value)`.
    pub(crate) fn family<'a>(
        &'a self,
        origin: &Origin,
        base: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str, &'a str)> + 'a {
        let prefix_len = if origin.is_secure() {
            HOST_PREFIX.len()
        } else {
            0
        };
        self.pairs.iter().filter_map(move |(name, value)| {
            let suffix = name
                .get(prefix_len..)?
                .strip_prefix(base)?
                .strip_prefix('.')?;
            Some((name.as_str(), suffix, value.as_str()))
        })
    }
}

/// RFC 6265 `cookie-name`: an RFC 9110 token.
fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// RFC 6265 `cookie-octet`s, unquoted: all our values are base64url.
fn is_cookie_value(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\'))
}

fn base(origin: &Origin, name: String, value: String) -> cookie::CookieBuilder<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(origin.is_secure())
}

/// The `Set-Cookie` value storing `value` as `name` for `max_age` seconds.
/// `None` when the value is not cookie-octets or too long, which our
/// base64url seals never are.
pub(crate) fn set_cookie(
    origin: &Origin,
    name: &str,
    value: &str,
    max_age: i64,
) -> Option<HeaderValue> {
    if value.len() > MAX_VALUE || !is_cookie_value(value.as_bytes()) {
        return None;
    }
    let cookie = base(origin, name.to_owned(), value.to_owned())
        .max_age(cookie::time::Duration::seconds(max_age.max(0)))
        .build();
    let mut header = HeaderValue::from_str(&cookie.to_string()).ok()?;
    header.set_sensitive(true);
    Some(header)
}

/// The `Set-Cookie` value that deletes cookie `name`.
pub(crate) fn clear_cookie(origin: &Origin, name: &str) -> HeaderValue {
    let cookie = base(origin, name.to_owned(), String::new())
        .max_age(cookie::time::Duration::ZERO)
        .expires(cookie::time::OffsetDateTime::UNIX_EPOCH)
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
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

    fn parse(origin: &Origin, header: &[u8]) -> Vec<(String, String)> {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_bytes(header).unwrap());
        RequestCookies::parse(&headers, origin).pairs
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
        assert_eq!(sessions, [("__Host-session.ab.0", "ab.0", "a")]);
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
    fn cleared_cookies_expire_now() {
        let cleared = clear_cookie(&origin("http://localhost:3000"), "session.a.0");
        assert!(cleared.to_str().unwrap().contains("Max-Age=0"));
    }
}
