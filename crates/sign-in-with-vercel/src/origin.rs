//! Where the app lives (its public origin) and where a sign-in may return to.

use std::borrow::Cow;
use std::sync::Arc;

use http::HeaderMap;
use url::{Host, Url};

/// The public origin of the app (RFC 6454), e.g. `https://app.example.com`.
/// Cheap to clone: every request clones its origin, which is parsed once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    serialized: Arc<str>,
    secure: bool,
    loopback: bool,
}

impl Origin {
    /// Parses a pinned origin such as `APP_URL`: scheme, host and optional
    /// port, nothing else; `https`, or `http` on a loopback host.
    pub fn parse_configured(value: &str) -> Result<Self, String> {
        let url = Url::parse(value).map_err(|_| "is not a valid URL".to_owned())?;
        check_secure_url(&url)?;
        if url.path() != "/"
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err("must be an origin only, like https://app.example.com".into());
        }
        Ok(Self::from_url(&url))
    }

    /// The origin of the current request: the pinned one when configured,
    /// else `x-forwarded-proto` + `x-forwarded-host` (set by Vercel's
    /// proxy), else the `Host` header.
    pub fn from_request(headers: &HeaderMap, pinned: Option<&Origin>) -> Option<Self> {
        if let Some(origin) = pinned {
            return Some(origin.clone());
        }
        let first = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        // `Host` is one host, once (RFC 9112 §3.2: a request with two, or
        // with a list, is answered 400; the byte check below refuses a
        // list's comma); only the proxy's `X-Forwarded-Host` may be a
        // list, whose first is the client's.
        let host = match first("x-forwarded-host") {
            Some(forwarded) => forwarded,
            None => {
                let mut hosts = headers.get_all(http::header::HOST).iter();
                let host = hosts.next()?.to_str().ok()?.trim();
                if hosts.next().is_some() {
                    return None;
                }
                host
            }
        };
        if host.len() > 255
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
        {
            return None;
        }
        // No empty label: the URL parser would accept `..` as a host, an
        // origin no browser names (RFC 3986 §3.2.2; a final `.`, an
        // absolute DNS name, is kept). An empty port (`host:`, the same
        // as `host`, §6.2.3) is refused too: no browser or proxy sends it.
        let name = if host.starts_with('[') {
            ""
        } else {
            host.rsplit_once(':').map_or(host, |(name, _)| name)
        };
        if host.ends_with(':') || name.starts_with('.') || name.contains("..") {
            return None;
        }
        let scheme = match first("x-forwarded-proto") {
            Some(p) if p.eq_ignore_ascii_case("https") => "https",
            Some(p) if p.eq_ignore_ascii_case("http") => "http",
            Some(_) => return None,
            None => "",
        };
        let parse = |scheme: &str| Url::parse(&format!("{scheme}://{host}/")).ok();
        let url = match scheme {
            "" => {
                // No proxy told us the scheme: plain http is assumed only for
                // a loopback host (the local dev server); anything else is
                // served over TLS.
                let url = parse("http")?;
                if is_loopback(&url) {
                    url
                } else {
                    parse("https")?
                }
            }
            // A proxy may say plain http only for a loopback host (vercel
            // dev, the local stack): anywhere else the cookies would lose
            // `Secure` and their `__Host-` prefix.
            "http" => parse("http").filter(is_loopback)?,
            scheme => parse(scheme)?,
        };
        Some(Self::from_url(&url))
    }

    fn from_url(url: &Url) -> Self {
        Self {
            serialized: url.origin().ascii_serialization().into(),
            secure: url.scheme() == "https",
            loopback: is_loopback(url),
        }
    }

    /// The serialised origin, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.serialized
    }

    /// Whether the origin is `https`, which makes cookies `Secure` and
    /// allows the `__Host-` prefix.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// Whether the host is `localhost` or a loopback address: a developer's
    /// own machine.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }

    /// The absolute URL of `path` on this origin: the redirect URI is
    /// `origin.url(&paths.callback)`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.serialized)
    }
}

/// `https`, or `http` on a loopback host only.
pub(crate) fn check_secure_url(url: &Url) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err("must use https (plain http is accepted only on a loopback host)".into()),
        _ => Err("must be an https URL".into()),
    }
}

/// Whether the URL's host is `localhost` or a loopback address, of any
/// scheme (a `redis://` URL's host is opaque to the parser, its IPv4
/// address a name).
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.parse::<std::net::Ipv4Addr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A `next` path as a browser sends it when it follows a link to it:
/// spaces, controls and non-ASCII characters percent-encoded (UTF-8), the
/// rest as written. A link written `?next=/café`, or built without
/// `encodeURIComponent`, reaches the query's decoding as `/café`, where
/// the page meant is `/caf%C3%A9`. Encoding adds no `/`, `\`, `.` or
/// control character, and [`safe_return_path`] decodes what it checks,
/// so its checks keep their meaning (a tab stays refused, encoded or
/// not). Borrowed when there is nothing to encode.
pub(crate) fn as_browsers_send_it(path: &str) -> Cow<'_, str> {
    const SENT_ENCODED: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b' ');
    percent_encoding::utf8_percent_encode(path, SENT_ENCODED).into()
}

/// Accepts `candidate` as a post-sign-in destination only if it is a path
/// on this origin: `/` followed by anything that cannot turn into another
/// host, however it is encoded (no `//host`, `/\host`, scheme, control
/// characters, or percent-encoded forms of those). Prevents the open
/// redirector of RFC 9700 §4.11.
pub fn safe_return_path(candidate: &str) -> Option<&str> {
    // Any decoding of it: still a path that cannot name another host,
    // even after the browser removes dot segments (RFC 3986 §5.2.4 turns
    // `/a/..//host` into `//host`), so no `.` or `..` segment and no empty
    // segment in the path.
    fn decoded_ok(p: &str) -> bool {
        let b = p.as_bytes();
        let path = p.split(['?', '#']).next().unwrap_or("");
        b.first() == Some(&b'/')
            && !b.iter().any(|&c| c == b'\\' || c.is_ascii_control())
            && !path.contains("//")
            && !path
                .split('/')
                .any(|segment| segment == "." || segment == "..")
    }
    if candidate.is_empty() || candidate.len() > 1024 || !candidate.is_ascii() {
        return None;
    }
    // The raw value: no whitespace at all (browsers strip tabs and
    // newlines, turning `/\t/host` into `//host`).
    if candidate.bytes().any(|c| c.is_ascii_whitespace()) {
        return None;
    }
    // Check the value and each percent-decoding of it, since a proxy or the
    // browser may decode once more before interpreting it. A value without
    // `%` (the usual `next`) decodes to itself: checked once, not copied.
    let mut current = Cow::Borrowed(candidate);
    for _ in 0..4 {
        if !decoded_ok(&current) {
            return None;
        }
        if !current.contains('%') {
            return Some(candidate);
        }
        let decoded = percent_encoding::percent_decode_str(&current)
            .decode_utf8()
            .ok()?;
        if decoded == current {
            return Some(candidate);
        }
        current = Cow::Owned(decoded.into_owned());
    }
    None
}

/// Whether the browser says a page of another origin than `origin` sent
/// this request: by fetch metadata, by `Origin` (RFC 6454 §7), or, when it
/// sends neither, by `Referer` unless its policy hides it (OWASP's CSRF
/// fallback). `Origin: null` is what a browser sends for a form posted
/// from a page whose referrer policy is `no-referrer` (this app's pages);
/// it is accepted only when fetch metadata vouches for the request
/// (`same-origin`, or `none`: the user's own action), which a sandboxed
/// frame or a redirect from another site never gets.
pub(crate) fn from_another_origin(headers: &HeaderMap, origin: &str) -> bool {
    /// Fetch metadata's header, named once: a lookup by `&str` would parse
    /// the name on every request.
    static SEC_FETCH_SITE: http::HeaderName = http::HeaderName::from_static("sec-fetch-site");
    let site = headers.get(&SEC_FETCH_SITE);
    if site.is_some_and(|site| !matches!(site.as_bytes(), b"same-origin" | b"none")) {
        return true;
    }
    match headers.get(http::header::ORIGIN) {
        Some(sender) if sender.as_bytes() == b"null" => site.is_none(),
        Some(sender) => sender.as_bytes() != origin.as_bytes(),
        None => {
            site.is_none()
                && headers
                    .get(http::header::REFERER)
                    .is_some_and(|referer| !is_of_origin(referer.as_bytes(), origin))
        }
    }
}

/// Whether the URL `referer` is on `origin` (`scheme://host[:port]`, as
/// RFC 6454 §6.1 serialises it): the origin, then the end, a path, a query
/// or a fragment, so that `https://app.example.evil` and
/// `https://app.example:4430` are not taken for `https://app.example`.
fn is_of_origin(referer: &[u8], origin: &str) -> bool {
    referer
        .strip_prefix(origin.as_bytes())
        .is_some_and(|rest| matches!(rest.first(), None | Some(b'/' | b'?' | b'#')))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Who sent a request, as fetch metadata, `Origin` and `Referer` say
    /// (each case: its headers, and whether another origin than
    /// `http://localhost:3000` sent it).
    #[test]
    fn a_request_from_another_origin_is_told_by_the_browsers_headers() {
        let cases: &[(&[(&str, &str)], bool)] = &[
            (&[("sec-fetch-site", "cross-site")], true),
            (&[("sec-fetch-site", "same-site")], true),
            (&[("sec-fetch-site", "same-origin")], false),
            (&[("sec-fetch-site", "none")], false),
            (&[("origin", "http://localhost:3000")], false),
            (&[("origin", "https://localhost:3000")], true),
            (&[("origin", "http://blog.localhost:3000")], true),
            (&[("origin", "null")], true),
            (
                &[("origin", "null"), ("sec-fetch-site", "same-origin")],
                false,
            ),
            (
                &[
                    ("origin", "http://evil.example"),
                    ("sec-fetch-site", "same-origin"),
                ],
                true,
            ),
            (&[("referer", "http://localhost:3000/profile")], false),
            (&[("referer", "http://localhost:3000")], false),
            (&[("referer", "http://localhost:3000?x")], false),
            (&[("referer", "http://localhost:3000.evil.example/")], true),
            (&[("referer", "http://localhost:30001/")], true),
            (
                &[
                    ("referer", "http://evil.example/"),
                    ("sec-fetch-site", "same-origin"),
                ],
                false,
            ),
            (&[], false),
        ];
        for (headers, another) in cases {
            let mut map = HeaderMap::new();
            for (name, value) in *headers {
                map.insert(
                    http::HeaderName::from_static(name),
                    http::HeaderValue::from_static(value),
                );
            }
            assert_eq!(
                from_another_origin(&map, "http://localhost:3000"),
                *another,
                "{headers:?}"
            );
        }
    }
    use http::HeaderValue;

    /// A request's headers, in order (the provider's tests share it).
    pub(crate) fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn origin_prefers_forwarded_headers() {
        let o = Origin::from_request(
            &headers(&[
                ("host", "127.0.0.1:3000"),
                ("x-forwarded-host", "app.example.com"),
                ("x-forwarded-proto", "https"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(o.as_str(), "https://app.example.com");
        assert!(o.is_secure());
        assert_eq!(
            o.url("/api/auth/callback"),
            "https://app.example.com/api/auth/callback"
        );
    }

    #[test]
    fn origin_from_host_is_http_only_on_loopback() {
        let local = Origin::from_request(&headers(&[("host", "localhost:3000")]), None).unwrap();
        assert_eq!(local.as_str(), "http://localhost:3000");
        let remote = Origin::from_request(&headers(&[("host", "example.com")]), None).unwrap();
        assert_eq!(remote.as_str(), "https://example.com");
        // The names and ports the label checks must let through.
        for (host, origin) in [
            ("example.com.", "https://example.com."),
            ("[::1]:3000", "http://[::1]:3000"),
            ("127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("a-b.example.com:443", "https://a-b.example.com"),
        ] {
            let parsed = Origin::from_request(&headers(&[("host", host)]), None);
            assert_eq!(parsed.as_ref().map(Origin::as_str), Some(origin), "{host}");
        }
    }

    /// Only a developer's own machine is loopback: `localhost` or a
    /// loopback address, behind a proxy or not.
    #[test]
    fn only_localhost_and_loopback_addresses_are_loopback() {
        for (host, loopback) in [
            ("localhost:3000", true),
            ("127.0.0.1", true),
            ("[::1]:3000", true),
            ("app.example.com", false),
            ("192.0.2.1:3000", false),
        ] {
            let o = Origin::from_request(&headers(&[("host", host)]), None).unwrap();
            assert_eq!(o.is_loopback(), loopback, "{host}");
        }
        let pinned = Origin::parse_configured("https://app.example.com").unwrap();
        assert!(!pinned.is_loopback());
    }

    /// A host name is at most 255 characters (RFC 1035 §2.3.4); a longer
    /// `Host` is refused before it is parsed.
    #[test]
    fn a_host_of_255_characters_is_the_longest_accepted() {
        let label = "a".repeat(63);
        let longest = format!("{label}.{label}.{label}.{label}");
        assert_eq!(longest.len(), 255);
        let origin = Origin::from_request(&headers(&[("host", &longest)]), None);
        assert_eq!(
            origin.as_ref().map(Origin::as_str),
            Some(format!("https://{longest}").as_str())
        );
        let longer = format!("{label}.{label}.{label}.{}.a", &label[1..]);
        assert_eq!(longer.len(), 256);
        assert!(Origin::from_request(&headers(&[("host", &longer)]), None).is_none());
    }

    #[test]
    fn pinned_origin_wins() {
        let pinned = Origin::parse_configured("https://pinned.example.com").unwrap();
        let o = Origin::from_request(&headers(&[("host", "evil.com")]), Some(&pinned)).unwrap();
        assert_eq!(o, pinned);
    }

    #[test]
    fn a_proxy_saying_http_is_believed_only_for_a_loopback_host() {
        let local = Origin::from_request(
            &headers(&[
                ("x-forwarded-host", "localhost:3000"),
                ("x-forwarded-proto", "http"),
            ]),
            None,
        );
        assert_eq!(local.unwrap().as_str(), "http://localhost:3000");
        let remote = Origin::from_request(
            &headers(&[("host", "app.example.com"), ("x-forwarded-proto", "http")]),
            None,
        );
        assert!(remote.is_none());
    }

    #[test]
    fn hostile_host_headers_are_refused() {
        for bad in [
            "evil.com/path",
            "a@b.com",
            "evil.com\\x",
            "evil .com",
            "evil.com?x",
            "evil.com#x",
            "..",
            ".",
            ".evil.com",
            "a..b.com",
            "localhost:",
            "[::1]:",
        ] {
            assert!(
                Origin::from_request(&headers(&[("host", bad)]), None).is_none(),
                "{bad}"
            );
        }
        for host in ["a.com", "localhost:3000"] {
            assert!(
                Origin::from_request(
                    &headers(&[("host", host), ("x-forwarded-proto", "javascript")]),
                    None
                )
                .is_none(),
                "{host}"
            );
        }
        assert!(Origin::from_request(&HeaderMap::new(), None).is_none());
    }

    /// RFC 9112 §3.2: a request with two `Host` lines, or a list in one,
    /// names no origin (whichever came first used to win); a proxy's
    /// `X-Forwarded-Host` list still gives its first, the client's.
    #[test]
    fn two_hosts_name_no_origin() {
        let mut two = HeaderMap::new();
        two.append("host", HeaderValue::from_static("localhost:3000"));
        two.append("host", HeaderValue::from_static("evil.example"));
        assert!(Origin::from_request(&two, None).is_none());
        for listed in ["localhost:3000, evil.example", "localhost:3000,", " "] {
            assert!(
                Origin::from_request(&headers(&[("host", listed)]), None).is_none(),
                "{listed:?}"
            );
        }
        let forwarded = Origin::from_request(
            &headers(&[
                ("host", "internal"),
                ("x-forwarded-host", "app.example.com, proxy.internal"),
                ("x-forwarded-proto", "https"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(forwarded.as_str(), "https://app.example.com");
    }

    #[test]
    fn configured_origin_must_be_bare() {
        assert!(Origin::parse_configured("https://a.example.com/").is_ok());
        assert!(Origin::parse_configured("https://a.example.com/path").is_err());
        assert_eq!(
            Origin::parse_configured("http://a.example.com").unwrap_err(),
            "must use https (plain http is accepted only on a loopback host)",
            "the refusal says why"
        );
        assert!(Origin::parse_configured("http://localhost:3000").is_ok());
        // RFC 6454 §4: an origin has no query, fragment or credentials.
        for bad in [
            "https://a.example.com/?q=1",
            "https://a.example.com/#top",
            "https://user@a.example.com",
            "https://:pw@a.example.com",
        ] {
            assert!(Origin::parse_configured(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn same_origin_paths_are_accepted() {
        for ok in [
            "/",
            "/profile",
            "/a/b?c=d&e=f#g",
            "/search?q=a%20b",
            "/x+y",
            "/a.b/c..d",
            "/?next=../x",
            "/.well-known",
        ] {
            assert_eq!(safe_return_path(ok), Some(ok), "{ok}");
        }
    }

    #[test]
    fn open_redirect_variants_are_refused() {
        for bad in [
            "",
            "profile",
            "//evil.com",
            "/\\evil.com",
            "\\\\evil.com",
            "https://evil.com",
            "javascript:alert(1)",
            "/%2Fevil.com",
            "/%2fevil.com",
            "/%5Cevil.com",
            "%2F%2Fevil.com",
            "/%252F%252Fevil.com",
            "/%25252F%25252Fevil.com",
            "/\tevil.com",
            "/\t/evil.com",
            "/\n/evil.com",
            "/ /evil.com",
            "/évil",
            "/%FF",
            "/a\\b",
            "/%00",
            "/.//evil.example",
            "/a/..//evil.example",
            "/./",
            "/a/../b",
            "/a/.",
            "/a/..",
            "/%2e%2e//evil.example",
            "/%2E/%2Fevil.example",
            "/a/%2e%2e/%2fevil.example",
            "/a/%252e%252e//evil.example",
            "/a//b",
        ] {
            assert_eq!(safe_return_path(bad), None, "{bad:?}");
        }
        assert_eq!(safe_return_path(&format!("/{}", "a".repeat(2000))), None);
    }

    /// A return path may be up to 1024 characters long, and no longer.
    #[test]
    fn a_return_path_of_1024_characters_is_the_longest_accepted() {
        let longest = format!("/{}", "a".repeat(1023));
        assert_eq!(safe_return_path(&longest), Some(longest.as_str()));
        assert_eq!(safe_return_path(&format!("{longest}a")), None);
    }
}
