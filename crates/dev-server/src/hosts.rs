//! Which hosts the dev server answers: `localhost`, `127.0.0.1` and `[::1]`
//! on its port, and `APP_URL`'s host; any other name that resolves to
//! loopback (DNS rebinding) is refused before a route sees the request.

use bytes::Bytes;

/// The names the dev server answers to: `localhost`, `127.0.0.1` and
/// `[::1]`, without a port or with the server's own, and the host of a
/// configured `APP_URL` (a tunnel's name, say), without a port or with
/// `APP_URL`'s or the server's.
///
/// The server listens on loopback only, but that alone does not keep other
/// sites out: a page on `evil.example` whose name its owner makes resolve
/// to 127.0.0.1 (DNS rebinding) reaches the server as its own origin, and
/// could drive the routes with the developer's cookies of that name, the
/// authorization request naming a redirect URI on `evil.example`. A browser
/// always sends the name it resolved as `Host`, which a page cannot set.
pub(crate) struct Hosts {
    port: u16,
    /// `APP_URL`'s host (lowercase, IPv6 in brackets) and port.
    app: Option<(String, Option<u16>)>,
}

impl Hosts {
    pub(crate) fn new(port: u16, app_url: Option<&sign_in_with_vercel::Origin>) -> Self {
        let app = app_url
            .and_then(|origin| url::Url::parse(origin.as_str()).ok())
            .and_then(|url| {
                let host = url.host_str()?.to_ascii_lowercase();
                Some((host, url.port_or_known_default()))
            });
        Self { port, app }
    }

    /// Whether `authority` (a `Host` value, or the authority of a request
    /// in absolute form) names this server.
    fn allow(&self, authority: &str) -> bool {
        if authority.contains('@') {
            return false;
        }
        let Ok(authority) = authority.parse::<http::uri::Authority>() else {
            return false;
        };
        let host = authority.host().to_ascii_lowercase();
        let port = authority.port_u16();
        let ours = port.is_none() || port == Some(self.port);
        let loopback = ["localhost", "127.0.0.1", "[::1]"].contains(&host.as_str()) && ours;
        loopback
            || self
                .app
                .as_ref()
                .is_some_and(|(app, app_port)| host == *app && (ours || port == *app_port))
    }

    /// The answer to `request` if it is refused before any route sees
    /// it: 400 without a `Host` (HTTP/1.1 requires one, RFC 9112 §3.2) or
    /// with several, 403 when it names another host than
    /// [`Hosts`] lists (in `Host` or in a request target of absolute form).
    pub(crate) fn refusal(
        &self,
        request: &http::Request<Vec<u8>>,
    ) -> Option<http::Response<Bytes>> {
        let answer = |status: http::StatusCode, text: &'static str| {
            http::Response::builder()
                .status(status)
                .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(Bytes::from_static(text.as_bytes()))
                .unwrap_or_default()
        };
        let mut values = request.headers().get_all(http::header::HOST).iter();
        let (Some(host), None) = (values.next(), values.next()) else {
            return Some(answer(
                http::StatusCode::BAD_REQUEST,
                "Bad request: a request needs one Host header.\n",
            ));
        };
        let target = request.uri().authority().map(http::uri::Authority::as_str);
        let allowed = host.to_str().is_ok_and(|host| self.allow(host))
            && target.is_none_or(|target| self.allow(target));
        (!allowed).then(|| {
            answer(
                http::StatusCode::FORBIDDEN,
                "Forbidden: the dev server answers only requests for localhost, 127.0.0.1 or [::1] \
                 on its port (or for APP_URL's host).\n",
            )
        })
    }
}
