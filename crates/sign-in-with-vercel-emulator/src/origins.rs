//! The emulator's two origins. Vercel serves the authorization endpoint,
//! the JWK Set, discovery and avatars from `https://vercel.com` (the
//! issuer), and the token, revocation, introspection and userinfo
//! endpoints from `https://api.vercel.com` (`../shared/notes/vercel-platform.md`,
//! "oauth-authorization-server metadata"). The emulator does the same on
//! two ports, so that an app which builds every URL from one base fails
//! locally as it would on Vercel.

use url::Url;

/// Which of the two origins a request reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The issuer's origin (like `https://vercel.com`).
    Issuer,
    /// The API origin (like `https://api.vercel.com`).
    Api,
}

/// Where a request was sent, as far as the emulator can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reached {
    /// One of the two origins.
    Origin(Origin),
    /// A bare path with no `Host`: a test calling [`super::Emulator::handle`]
    /// directly. Answered by whichever origin serves the path.
    Unaddressed,
    /// Some other host: nothing is served there.
    Elsewhere,
}

/// The API origin derived from an issuer: the next port on the same host
/// when the issuer names a port (`http://127.0.0.1:3001` → `:3002`, the
/// dev server's defaults), else the host with `api.` in front
/// (`https://vercel.com` → `https://api.vercel.com`).
pub(super) fn derive_api_origin(issuer: &str) -> String {
    let Ok(mut url) = Url::parse(issuer) else {
        return issuer.to_owned();
    };
    match url.port() {
        Some(port) => {
            let _ = url.set_port(Some(port.wrapping_add(1)));
        }
        None => {
            let host = format!("api.{}", url.host_str().unwrap_or_default());
            let _ = url.set_host(Some(&host));
        }
    }
    url.origin().ascii_serialization()
}

/// An origin's host and port, for matching a request's authority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Authority {
    host: String,
    port: u16,
}

impl Authority {
    pub fn of_url(url: &str) -> Option<Self> {
        let url = Url::parse(url).ok()?;
        Some(Self {
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }

    fn of_request<B>(request: &http::Request<B>, default_port: u16) -> Option<Option<Self>> {
        let authority = match request.uri().authority() {
            Some(a) => a.clone(),
            None => match request.headers().get(http::header::HOST) {
                None => return None,
                Some(host) => match host.to_str().ok().and_then(|h| h.parse().ok()) {
                    Some(a) => a,
                    None => return Some(None),
                },
            },
        };
        let port = authority
            .port_u16()
            .unwrap_or_else(|| match request.uri().scheme_str() {
                Some("https") => 443,
                Some("http") => 80,
                _ => default_port,
            });
        Some(Some(Self {
            host: authority.host().to_ascii_lowercase(),
            port,
        }))
    }
}

/// The emulator's two origins.
#[derive(Clone, Debug)]
pub(super) struct Origins {
    pub issuer: Authority,
    pub api: Authority,
    /// The API origin as discovery advertises it, e.g. `http://127.0.0.1:3002`.
    pub api_origin: String,
    default_port: u16,
}

impl Origins {
    pub fn new(issuer: &str, api_origin: &str) -> Self {
        let issuer_authority = Authority::of_url(issuer).unwrap_or(Authority {
            host: String::new(),
            port: 0,
        });
        Self {
            default_port: issuer_authority.port,
            issuer: issuer_authority,
            api: Authority::of_url(api_origin).unwrap_or(Authority {
                host: String::new(),
                port: 0,
            }),
            api_origin: api_origin.trim_end_matches('/').to_owned(),
        }
    }

    /// Which origin the request's URL (or, for a request as a server
    /// receives it, its `Host`) names.
    pub fn reached<B>(&self, request: &http::Request<B>) -> Reached {
        match Authority::of_request(request, self.default_port) {
            None => Reached::Unaddressed,
            Some(Some(a)) if a == self.issuer => Reached::Origin(Origin::Issuer),
            Some(Some(a)) if a == self.api => Reached::Origin(Origin::Api),
            Some(_) => Reached::Elsewhere,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_origin_is_the_next_port_or_the_api_host() {
        assert_eq!(
            derive_api_origin("http://127.0.0.1:3001"),
            "http://127.0.0.1:3002"
        );
        assert_eq!(
            derive_api_origin("https://vercel.com"),
            "https://api.vercel.com"
        );
    }

    #[test]
    fn requests_are_matched_by_authority_then_host() {
        let o = Origins::new("http://127.0.0.1:3001", "http://127.0.0.1:3002");
        let get = |uri: &str| http::Request::get(uri).body(()).unwrap();
        assert_eq!(
            o.reached(&get("http://127.0.0.1:3001/x")),
            Reached::Origin(Origin::Issuer)
        );
        assert_eq!(
            o.reached(&get("http://127.0.0.1:3002/x")),
            Reached::Origin(Origin::Api)
        );
        assert_eq!(
            o.reached(&get("http://localhost:3002/x")),
            Reached::Elsewhere
        );
        assert_eq!(o.reached(&get("/x")), Reached::Unaddressed);
        let hosted = http::Request::get("/x")
            .header("host", "127.0.0.1:3002")
            .body(())
            .unwrap();
        assert_eq!(o.reached(&hosted), Reached::Origin(Origin::Api));
    }
}
