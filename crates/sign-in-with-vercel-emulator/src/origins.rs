//! The emulator's three origins. Vercel serves the authorization endpoint, the
//! JWK Set, discovery and avatars from `https://vercel.com` (the issuer), and
//! the token, revocation, introspection and userinfo endpoints from
//! `https://api.vercel.com` (Vercel's authorization server metadata,
//! `https://vercel.com/.well-known/oauth-authorization-server`); marketplace
//! tokens are issued by `https://marketplace.vercel.com`, with its own keys and
//! discovery (Vercel's Marketplace documentation, Partner API user
//! authentication: OIDC tokens). The emulator does the same on three ports, so
//! that an app which builds every URL from one base, or verifies one issuer's
//! tokens with another's keys, fails locally as it would on Vercel.

use url::Url;

/// Which of the three origins a request reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The issuer's origin (like `https://vercel.com`).
    Issuer,
    /// The API origin (like `https://api.vercel.com`).
    Api,
    /// The marketplace issuer's origin (like `https://marketplace.vercel.com`).
    Marketplace,
}

/// The emulator's three origins, as URLs without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origins {
    /// The issuer identifier and origin of the sign-in (`https://vercel.com`).
    pub issuer: String,
    /// The API origin (`https://api.vercel.com`).
    pub api: String,
    /// The marketplace issuer identifier and origin
    /// (`https://marketplace.vercel.com`).
    pub marketplace: String,
}

impl Origins {
    /// The three origins derived from an issuer: the next two ports on the
    /// same host when the issuer names a port (`http://127.0.0.1:3001` →
    /// `:3002` and `:3003`, the dev server's defaults), else the host with
    /// `api.` and `marketplace.` in front (`https://vercel.com` →
    /// `https://api.vercel.com`, `https://marketplace.vercel.com`).
    pub fn derived_from(issuer: &str) -> Self {
        Self {
            issuer: trimmed(issuer),
            api: beside(issuer, 1, "api."),
            marketplace: beside(issuer, 2, "marketplace."),
        }
    }

    /// `issuer` and `api` as given, the marketplace origin derived: the
    /// port after the API's when it names one, else as
    /// [`Origins::derived_from`] derives it from the issuer.
    pub fn with_api(issuer: &str, api: &str) -> Self {
        let marketplace = match Url::parse(api).ok().and_then(|u| u.port()) {
            Some(_) => beside(api, 1, ""),
            None => beside(issuer, 2, "marketplace."),
        };
        Self {
            issuer: trimmed(issuer),
            api: trimmed(api),
            marketplace,
        }
    }

    pub(crate) fn normalized(self) -> Self {
        Self {
            issuer: trimmed(&self.issuer),
            api: trimmed(&self.api),
            marketplace: trimmed(&self.marketplace),
        }
    }
}

fn trimmed(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

/// `base` with its port moved by `offset` when it names one, else with
/// `prefix` before its host.
fn beside(base: &str, offset: u16, prefix: &str) -> String {
    let Ok(mut url) = Url::parse(base) else {
        return trimmed(base);
    };
    match url.port() {
        Some(port) => {
            let _ = url.set_port(Some(port.wrapping_add(offset)));
        }
        None => {
            let host = format!("{prefix}{}", url.host_str().unwrap_or_default());
            let _ = url.set_host(Some(&host));
        }
    }
    url.origin().ascii_serialization()
}

/// Where a request was sent, as far as the emulator can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reached {
    /// One of the three origins.
    Origin(Origin),
    /// A bare path with no `Host`: a test calling [`super::Emulator::handle`]
    /// directly. Answered by whichever origin serves the path (the
    /// issuer's first, then the API's, then the marketplace's).
    Unaddressed,
    /// Some other host: nothing is served there.
    Elsewhere,
}

/// An origin's host and port, for matching a request's authority.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Authority {
    host: String,
    port: u16,
}

impl Authority {
    fn of_url(url: &str) -> Self {
        Url::parse(url)
            .ok()
            .and_then(|url| {
                Some(Self {
                    host: url.host_str()?.to_ascii_lowercase(),
                    port: url.port_or_known_default()?,
                })
            })
            .unwrap_or(Self {
                host: String::new(),
                port: 0,
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

/// The three origins' authorities, to tell which one a request reached.
#[derive(Clone, Debug)]
pub(super) struct Authorities {
    issuer: Authority,
    api: Authority,
    marketplace: Authority,
}

impl Authorities {
    pub fn new(origins: &Origins) -> Self {
        Self {
            issuer: Authority::of_url(&origins.issuer),
            api: Authority::of_url(&origins.api),
            marketplace: Authority::of_url(&origins.marketplace),
        }
    }

    /// Which origin the request's URL (or, for a request as a server
    /// receives it, its `Host`) names. A `Host` without a port is taken
    /// to mean the issuer's port.
    pub fn reached<B>(&self, request: &http::Request<B>) -> Reached {
        match Authority::of_request(request, self.issuer.port) {
            None => Reached::Unaddressed,
            Some(Some(a)) if a == self.issuer => Reached::Origin(Origin::Issuer),
            Some(Some(a)) if a == self.api => Reached::Origin(Origin::Api),
            Some(Some(a)) if a == self.marketplace => Reached::Origin(Origin::Marketplace),
            Some(_) => Reached::Elsewhere,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_the_next_ports_or_the_api_and_marketplace_hosts() {
        assert_eq!(
            Origins::derived_from("http://127.0.0.1:3001"),
            Origins {
                issuer: "http://127.0.0.1:3001".into(),
                api: "http://127.0.0.1:3002".into(),
                marketplace: "http://127.0.0.1:3003".into(),
            }
        );
        assert_eq!(
            Origins::derived_from("https://vercel.com/"),
            Origins {
                issuer: "https://vercel.com".into(),
                api: "https://api.vercel.com".into(),
                marketplace: "https://marketplace.vercel.com".into(),
            }
        );
    }

    #[test]
    fn with_api_puts_the_marketplace_after_the_api_port_or_on_its_host() {
        let o = Origins::with_api("http://127.0.0.1:4100", "http://127.0.0.1:4200");
        assert_eq!(o.marketplace, "http://127.0.0.1:4201");
        let o = Origins::with_api("https://vercel.com", "https://api.vercel.com");
        assert_eq!(o.marketplace, "https://marketplace.vercel.com");
    }

    #[test]
    fn requests_are_matched_by_authority_then_host() {
        let o = Authorities::new(&Origins::derived_from("http://127.0.0.1:3001"));
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
            o.reached(&get("http://127.0.0.1:3003/x")),
            Reached::Origin(Origin::Marketplace)
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
