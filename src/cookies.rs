//! The cookies the relying party keeps in the browser (RFC 6265).
//!
//! - the flow cookie: `state`, `nonce`, PKCE verifier and return path of a
//!   sign-in in progress (the `redirect_uri` is the origin's, so it is not
//!   stored); 10 minutes; `__Host-` prefixed
//!   on https so that a sibling subdomain cannot plant one;
//! - `access_token` (life of the token), `refresh_token` (30 days) and
//!   `session_sub` (the verified ID token's `sub`, base64url-encoded since
//!   a subject may hold any character; userinfo and refreshed ID tokens are
//!   checked against it).
//!
//! All are `HttpOnly`, `SameSite=Lax`, `Path=/`, and `Secure` on https.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};
use http::{HeaderMap, HeaderValue, header::COOKIE};
use serde::{Deserialize, Serialize};

use crate::authorize::{FLOW_TTL_SECS, Flow};
use crate::error::Error;
use crate::origin::{Origin, safe_return_path};
use crate::pkce::is_valid_verifier;
use crate::secret::{AccessToken, CodeVerifier, Nonce, RefreshToken, State, is_random_token};

/// The access token cookie.
pub const ACCESS_TOKEN: &str = "access_token";
/// The refresh token cookie.
pub const REFRESH_TOKEN: &str = "refresh_token";
/// The signed-in user's subject identifier.
pub const SESSION_SUB: &str = "session_sub";
/// How long the refresh token is kept (Vercel's refresh token lifetime).
pub const REFRESH_TOKEN_TTL_SECS: i64 = 30 * 24 * 3600;
/// Browsers drop cookies larger than about 4 KiB; refuse before that.
const MAX_COOKIE_VALUE: usize = 3800;

/// The flow cookie's name: `__Host-` prefixed when the origin is https
/// (RFC 6265bis §4.1.3.2).
pub fn flow_cookie_name(origin: &Origin) -> &'static str {
    if origin.is_secure() {
        "__Host-oauth_flow"
    } else {
        "oauth_flow"
    }
}

/// The cookies of a request, parsed once.
pub struct RequestCookies {
    pairs: Vec<(String, String)>,
}

impl RequestCookies {
    /// Parses every `Cookie` header. A header that is not visible ASCII
    /// (invalid UTF-8, control characters) is a bad request.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, Error> {
        let mut pairs = Vec::new();
        for value in headers.get_all(COOKIE) {
            let value = value
                .to_str()
                .map_err(|_| Error::BadRequest("Cookie header is not ASCII"))?;
            if value.len() > 16 * 1024 {
                return Err(Error::BadRequest("Cookie header too large"));
            }
            for cookie in Cookie::split_parse(value).flatten() {
                pairs.push((cookie.name().to_owned(), cookie.value().to_owned()));
            }
        }
        Ok(Self { pairs })
    }

    /// The value of cookie `name`. Two cookies of the same name (one planted
    /// with another path or domain) make the value ambiguous: an error.
    pub fn get(&self, name: &str) -> Result<Option<&str>, Error> {
        let mut found = self
            .pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        match (found.next(), found.next()) {
            (Some(_), Some(_)) => Err(Error::InvalidSession("duplicate cookie")),
            (value, _) => Ok(value.filter(|v| !v.is_empty())),
        }
    }
}

/// The flow as it is stored in the cookie: base64url of this JSON.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredFlow {
    s: String,
    n: String,
    v: String,
    r: String,
    t: i64,
}

/// The `Set-Cookie` value holding `flow`.
pub fn flow_cookie(origin: &Origin, flow: &Flow) -> Result<HeaderValue, Error> {
    let stored = StoredFlow {
        s: flow.state.secret().to_owned(),
        n: flow.nonce.secret().to_owned(),
        v: flow.verifier.secret().to_owned(),
        r: flow.return_to.clone(),
        t: flow.created_at,
    };
    let json = serde_json::to_vec(&stored).map_err(|_| Error::UnstorableToken)?;
    set_cookie(
        origin,
        flow_cookie_name(origin),
        &URL_SAFE_NO_PAD.encode(json),
        Some(FLOW_TTL_SECS),
    )
}

/// Reads the flow back from the request. A missing cookie is
/// [`Error::FlowMissing`]; one that is not exactly what [`flow_cookie`]
/// writes, or is older than ten minutes, is [`Error::FlowInvalid`] /
/// [`Error::FlowMissing`].
pub fn read_flow(cookies: &RequestCookies, origin: &Origin, now: i64) -> Result<Flow, Error> {
    let value = cookies
        .get(flow_cookie_name(origin))
        .map_err(|_| Error::FlowInvalid)?
        .ok_or(Error::FlowMissing)?;
    if value.len() > 2048 {
        return Err(Error::FlowInvalid);
    }
    let json = URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| Error::FlowInvalid)?;
    let stored: StoredFlow = serde_json::from_slice(&json).map_err(|_| Error::FlowInvalid)?;
    let well_formed = is_random_token(&stored.s)
        && is_random_token(&stored.n)
        && is_valid_verifier(&stored.v)
        && safe_return_path(&stored.r).is_some();
    if !well_formed {
        return Err(Error::FlowInvalid);
    }
    let flow = Flow {
        state: State::new(stored.s),
        nonce: Nonce::new(stored.n),
        verifier: CodeVerifier::new(stored.v),
        redirect_uri: origin.redirect_uri(),
        return_to: stored.r,
        created_at: stored.t,
    };
    if flow.is_expired(now) {
        return Err(Error::FlowMissing);
    }
    Ok(flow)
}

/// The `Set-Cookie` value that deletes the flow cookie.
pub fn clear_flow_cookie(origin: &Origin) -> HeaderValue {
    clear_cookie(origin, flow_cookie_name(origin))
}

/// The session cookies of a request.
pub struct SessionCookies {
    /// The access token, until it expires.
    pub access_token: Option<AccessToken>,
    /// The refresh token, when one was issued.
    pub refresh_token: Option<RefreshToken>,
    /// The signed-in user's `sub`, from the verified ID token.
    pub sub: Option<String>,
}

impl SessionCookies {
    /// Reads the three session cookies; a duplicated one is an error.
    pub fn read(cookies: &RequestCookies) -> Result<Self, Error> {
        Ok(Self {
            access_token: cookies.get(ACCESS_TOKEN)?.map(AccessToken::new),
            refresh_token: cookies.get(REFRESH_TOKEN)?.map(RefreshToken::new),
            sub: cookies
                .get(SESSION_SUB)?
                .map(|v| {
                    URL_SAFE_NO_PAD
                        .decode(v)
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok())
                        .ok_or(Error::InvalidSession("malformed subject cookie"))
                })
                .transpose()?,
        })
    }

    /// Whether there is anything to sign in with.
    pub fn is_signed_in(&self) -> bool {
        self.access_token.is_some() || self.refresh_token.is_some()
    }
}

/// The `Set-Cookie` values that store a session: the access token for
/// `expires_in` seconds and, when given, the refresh token for 30 days; the
/// subject lives as long as the longest of them.
pub fn session_cookies(
    origin: &Origin,
    access_token: &AccessToken,
    expires_in: u64,
    refresh_token: Option<&RefreshToken>,
    has_refresh_token: bool,
    sub: &str,
) -> Result<Vec<HeaderValue>, Error> {
    let access_ttl = i64::try_from(expires_in).unwrap_or(i64::MAX);
    let mut cookies = vec![set_cookie(
        origin,
        ACCESS_TOKEN,
        access_token.secret(),
        Some(access_ttl),
    )?];
    if let Some(refresh) = refresh_token {
        cookies.push(set_cookie(
            origin,
            REFRESH_TOKEN,
            refresh.secret(),
            Some(REFRESH_TOKEN_TTL_SECS),
        )?);
    }
    let sub_ttl = if has_refresh_token {
        REFRESH_TOKEN_TTL_SECS.max(access_ttl)
    } else {
        access_ttl
    };
    cookies.push(set_cookie(
        origin,
        SESSION_SUB,
        &URL_SAFE_NO_PAD.encode(sub),
        Some(sub_ttl),
    )?);
    Ok(cookies)
}

/// The `Set-Cookie` values that delete every session cookie.
pub fn clear_session_cookies(origin: &Origin) -> Vec<HeaderValue> {
    [ACCESS_TOKEN, REFRESH_TOKEN, SESSION_SUB]
        .into_iter()
        .map(|name| clear_cookie(origin, name))
        .collect()
}

fn base(origin: &Origin, name: &'static str, value: String) -> cookie::CookieBuilder<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(origin.is_secure())
}

fn set_cookie(
    origin: &Origin,
    name: &'static str,
    value: &str,
    max_age: Option<i64>,
) -> Result<HeaderValue, Error> {
    // Only RFC 6265 cookie-octets, so the value needs no quoting or encoding.
    let cookie_safe = value
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\'));
    if value.len() > MAX_COOKIE_VALUE || !cookie_safe {
        return Err(Error::UnstorableToken);
    }
    let mut builder = base(origin, name, value.to_owned());
    if let Some(seconds) = max_age {
        builder = builder.max_age(cookie::time::Duration::seconds(seconds));
    }
    let mut header =
        HeaderValue::from_str(&builder.build().to_string()).map_err(|_| Error::UnstorableToken)?;
    header.set_sensitive(true);
    Ok(header)
}

fn clear_cookie(origin: &Origin, name: &'static str) -> HeaderValue {
    let cookie = base(origin, name, String::new())
        .max_age(cookie::time::Duration::ZERO)
        .expires(cookie::time::OffsetDateTime::UNIX_EPOCH)
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(s: &str) -> Origin {
        Origin::parse_configured(s).unwrap()
    }

    fn request_with(cookies: &[HeaderValue]) -> RequestCookies {
        let mut headers = HeaderMap::new();
        let joined = cookies
            .iter()
            .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("; ");
        headers.insert(COOKIE, HeaderValue::from_str(&joined).unwrap());
        RequestCookies::from_headers(&headers).unwrap()
    }

    #[test]
    fn flow_cookie_round_trips() {
        let o = origin("https://app.example.com");
        let flow = Flow::new(o.redirect_uri(), "/dash?x=1".into(), 100);
        let set = flow_cookie(&o, &flow).unwrap();
        let text = set.to_str().unwrap();
        assert!(text.starts_with("__Host-oauth_flow="));
        for attr in [
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
            "Max-Age=600",
        ] {
            assert!(text.contains(attr), "{text}");
        }
        assert!(!text.contains("Domain"));
        let back = read_flow(&request_with(&[set]), &o, 200).unwrap();
        assert_eq!(back, flow);
    }

    #[test]
    fn flow_cookie_on_http_has_no_prefix_and_no_secure() {
        let o = origin("http://localhost:3000");
        let set = flow_cookie(&o, &Flow::new(o.redirect_uri(), "/".into(), 0)).unwrap();
        let text = set.to_str().unwrap();
        assert!(text.starts_with("oauth_flow="));
        assert!(!text.contains("Secure"));
    }

    #[test]
    fn expired_flow_is_missing() {
        let o = origin("http://localhost:3000");
        let set = flow_cookie(&o, &Flow::new(o.redirect_uri(), "/".into(), 0)).unwrap();
        assert_eq!(
            read_flow(&request_with(&[set]), &o, 601).unwrap_err(),
            Error::FlowMissing
        );
    }

    #[test]
    fn tampered_flow_cookies_are_invalid() {
        let o = origin("http://localhost:3000");
        for value in [
            "garbage",
            "eyJ9",
            &URL_SAFE_NO_PAD.encode(r#"{"s":"a","n":"b","v":"c","r":"/","t":0}"#),
            &URL_SAFE_NO_PAD.encode(format!(
                r#"{{"s":"{0}","n":"{0}","v":"{0}","r":"//evil.com","t":0}}"#,
                "a".repeat(43)
            )),
            &URL_SAFE_NO_PAD.encode(format!(
                r#"{{"s":"{0}","n":"{0}","v":"{0}","u":"https://evil.com/api/auth/callback","r":"/","t":0}}"#,
                "a".repeat(43)
            )),
            &URL_SAFE_NO_PAD.encode(format!(
                r#"{{"s":"{0}","n":"{0}","v":"{0}","r":"/","t":"0"}}"#,
                "a".repeat(43)
            )),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(COOKIE, HeaderValue::from_str(&format!("oauth_flow={value}")).unwrap());
            let cookies = RequestCookies::from_headers(&headers).unwrap();
            assert_eq!(read_flow(&cookies, &o, 0).unwrap_err(), Error::FlowInvalid, "{value}");
        }
    }

    #[test]
    fn missing_flow_cookie_is_flow_missing() {
        let o = origin("http://localhost:3000");
        let cookies = RequestCookies::from_headers(&HeaderMap::new()).unwrap();
        assert_eq!(read_flow(&cookies, &o, 0).unwrap_err(), Error::FlowMissing);
    }

    #[test]
    fn duplicate_session_cookies_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("access_token=a; access_token=b"),
        );
        let cookies = RequestCookies::from_headers(&headers).unwrap();
        assert!(SessionCookies::read(&cookies).is_err());
    }

    #[test]
    fn non_ascii_cookie_header_is_a_bad_request() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_bytes(b"access_token=\xff\xfe").unwrap(),
        );
        assert!(matches!(
            RequestCookies::from_headers(&headers),
            Err(Error::BadRequest(_))
        ));
    }

    #[test]
    fn session_cookies_have_the_token_lifetimes() {
        let o = origin("https://app.example.com");
        let set = session_cookies(
            &o,
            &AccessToken::new("vca_a"),
            3600,
            Some(&RefreshToken::new("vcr_r")),
            true,
            "sub1",
        )
        .unwrap();
        let texts: Vec<_> = set.iter().map(|h| h.to_str().unwrap().to_owned()).collect();
        assert!(texts[0].starts_with("access_token=vca_a;") && texts[0].contains("Max-Age=3600"));
        assert!(
            texts[1].starts_with("refresh_token=vcr_r;") && texts[1].contains("Max-Age=2592000")
        );
        assert!(texts[2].starts_with(&format!("session_sub={};", URL_SAFE_NO_PAD.encode("sub1"))));
        assert!(
            texts.iter().all(|t| t.contains("HttpOnly")
                && t.contains("Secure")
                && t.contains("SameSite=Lax"))
        );
    }

    #[test]
    fn clearing_cookies_expires_all_three() {
        let cleared = clear_session_cookies(&origin("http://localhost:3000"));
        assert_eq!(cleared.len(), 3);
        assert!(
            cleared
                .iter()
                .all(|c| c.to_str().unwrap().contains("Max-Age=0"))
        );
    }

    #[test]
    fn tokens_that_cannot_be_cookies_are_refused() {
        let o = origin("http://localhost:3000");
        assert!(session_cookies(&o, &AccessToken::new("a b"), 1, None, false, "s").is_err());
        assert!(
            session_cookies(&o, &AccessToken::new("a".repeat(5000)), 1, None, false, "s").is_err()
        );
    }
}
