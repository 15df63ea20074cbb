//! The browser: cookie jars per host, requests over a [`Transport`],
//! redirects followed on request, forms submitted, the provider's pages
//! answered.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use http::header::{CONTENT_TYPE, COOKIE};
use sign_in_with_vercel::{Clock, system_clock};

use crate::jar::Jar;
use crate::page::{Page, provider_answer};
use crate::transport::{Http, Request, Response, Transport, origin_of};

/// Redirects followed before a page is taken for a loop.
const MAX_REDIRECTS: usize = 10;

/// A browser: one cookie [`Jar`] per host (ports ignored, as browsers do),
/// requests carried by its [`Transport`]. A clone is another tab of the
/// same browser at that moment: the same cookies, from then on its own.
///
/// [`Browser::fetch`] applies a response's `Set-Cookie` headers when it
/// arrives; [`Browser::send`] leaves that to the caller
/// ([`Browser::store`]), to apply parallel answers in a chosen order.
#[derive(Clone)]
pub struct Browser {
    transport: Arc<dyn Transport>,
    jars: BTreeMap<String, Jar>,
    clock: Clock,
}

/// Over real HTTP.
impl Default for Browser {
    fn default() -> Self {
        Self::new(Arc::new(Http::default()))
    }
}

/// The host of an absolute URL.
fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("not an absolute URL: {url}"))
}

impl Browser {
    /// A browser with no cookies, whose requests `transport` carries.
    pub fn new(transport: Arc<dyn Transport>) -> Self {
        Self {
            transport,
            jars: BTreeMap::new(),
            clock: system_clock(),
        }
    }

    /// Expires cookies by `clock` (Unix seconds) instead of the system's.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// From now on `transport` carries the requests (the cookies stay).
    pub fn set_transport(&mut self, transport: Arc<dyn Transport>) {
        self.transport = transport;
    }

    /// The cookies of `host` (`localhost`, `127.0.0.1`).
    pub fn jar(&self, host: &str) -> &Jar {
        static EMPTY: LazyLock<Jar> = LazyLock::new(Jar::default);
        self.jars.get(host).unwrap_or(&EMPTY)
    }

    /// The cookies of `host`, to change them as a script or a user could.
    pub fn jar_mut(&mut self, host: &str) -> &mut Jar {
        let clock = &self.clock;
        self.jars
            .entry(host.to_owned())
            .or_insert_with(|| Jar::with_clock(clock.clone()))
    }

    /// Applies a response's `Set-Cookie` headers to `host`'s cookies.
    pub fn store(&mut self, host: &str, headers: &http::HeaderMap) {
        self.jar_mut(host).store(headers);
    }

    /// Sends `request` (an absolute URL) with the cookies of its host
    /// unless it carries a `Cookie` header of its own; stores nothing.
    pub async fn send(&self, mut request: Request) -> Response {
        let url = request.uri().to_string();
        if !request.headers().contains_key(COOKIE)
            && let Some(cookies) = self.jar(&host_of(&url)).header()
        {
            let value = cookies
                .parse()
                .unwrap_or_else(|e| panic!("a Cookie header for {url}: {e}"));
            request.headers_mut().insert(COOKIE, value);
        }
        self.transport.send(request).await
    }

    /// [`Browser::send`], then the response's cookies stored.
    pub async fn fetch(&mut self, request: Request) -> Response {
        let host = host_of(&request.uri().to_string());
        let response = self.send(request).await;
        self.store(&host, response.headers());
        response
    }

    /// `method url`, with `form` as an urlencoded body; cookies stored.
    pub async fn request(
        &mut self,
        method: &str,
        url: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Page {
        let mut builder = http::Request::builder().method(method).uri(url);
        let body = match form {
            Some(form) => {
                builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish()
                    .into_bytes()
            }
            None => Vec::new(),
        };
        let request = builder
            .body(body)
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        Page::new(url, self.fetch(request).await)
    }

    /// `GET url`; redirects are not followed.
    pub async fn get(&mut self, url: &str) -> Page {
        self.request("GET", url, None).await
    }

    /// `POST url` with an urlencoded `form`; redirects are not followed.
    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        self.request("POST", url, Some(form)).await
    }

    /// `GET url`, then follows redirects.
    pub async fn visit(&mut self, url: &str) -> Page {
        let page = self.get(url).await;
        self.follow(page).await
    }

    /// Follows redirects from `page` like a browser (relative locations
    /// resolved, every hop a `GET`).
    pub async fn follow(&mut self, mut page: Page) -> Page {
        for _ in 0..MAX_REDIRECTS {
            let Some(next) = page.redirect() else {
                return page;
            };
            page = self.get(&next).await;
        }
        panic!(
            "more than {MAX_REDIRECTS} redirects, the last to {}",
            page.url
        );
    }

    /// Submits the form of `page` (its hidden and checked inputs) with
    /// `extra` fields added: a user answering a page. Redirects are not
    /// followed.
    pub async fn submit(&mut self, page: &Page, extra: &[(&str, &str)]) -> Page {
        let (action, fields) = page.form();
        let mut all: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.extend_from_slice(extra);
        self.post(&action, &all).await
    }

    /// Answers a page of the provider (the emulator) with `decision`
    /// (`allow` or `deny`), as a user would; redirects are not followed.
    pub async fn answer(&mut self, page: &Page, decision: &str) -> Page {
        let (action, fields) = provider_answer(page, decision);
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.post(&action, &fields).await
    }

    /// Answers `page`, a page of the provider, and each page of the
    /// provider that follows (its login screen, then its consent page) with
    /// `decision`, following the provider's own redirects; returns the
    /// first page that sends the browser elsewhere (to the app's callback),
    /// not yet followed. A page that already does is returned as it is.
    pub async fn through_provider(&mut self, mut page: Page, decision: &str) -> Page {
        let provider = origin_of(
            &page
                .url
                .parse()
                .unwrap_or_else(|e| panic!("not a URL: {}: {e}", page.url)),
        );
        for _ in 0..MAX_REDIRECTS {
            page = match page.redirect() {
                Some(next) if next.starts_with(&format!("{provider}/")) => self.get(&next).await,
                Some(_) => return page,
                None => self.answer(&page, decision).await,
            };
        }
        panic!("the provider at {provider} kept the browser: {}", page.url);
    }

    /// Opens `url` (the app's redirect to the provider) and goes
    /// [`Browser::through_provider`]; returns the URL the provider sends
    /// the browser to (the app's callback with its query), not yet
    /// visited. A user who already consented is sent back at once, as on
    /// Vercel.
    pub async fn consent(&mut self, url: &str, decision: &str) -> String {
        let page = self.get(url).await;
        let back = self.through_provider(page, decision).await;
        back.redirect()
            .expect("through_provider returns a redirect away from the provider")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{BoxFuture, InProcess};
    use bytes::Bytes;

    /// A server that sets a cookie on `/set`, deletes it on `/clear`,
    /// redirects `/go` to `/set`, and echoes the `Cookie` header.
    fn echo() -> InProcess {
        InProcess::default().origin(
            "http://site.test",
            Arc::new(|request: Request| -> BoxFuture<'static, Response> {
                let mut response = http::Response::new(Bytes::from(
                    request
                        .headers()
                        .get(COOKIE)
                        .map(|c| c.to_str().unwrap_or_default().to_owned())
                        .unwrap_or_default(),
                ));
                let set = |r: &mut Response, v: &'static str| {
                    r.headers_mut()
                        .append("set-cookie", http::HeaderValue::from_static(v));
                };
                match request.uri().path() {
                    "/set" => set(&mut response, "a=1; Path=/"),
                    "/clear" => set(&mut response, "a=; Max-Age=0; Path=/"),
                    "/go" => {
                        *response.status_mut() = http::StatusCode::FOUND;
                        response
                            .headers_mut()
                            .insert("location", http::HeaderValue::from_static("/set"));
                    }
                    _ => {}
                }
                Box::pin(std::future::ready(response))
            }),
        )
    }

    #[tokio::test]
    async fn follows_redirects_and_keeps_cookies_per_host() {
        let mut browser = Browser::new(Arc::new(echo()));
        let page = browser.visit("http://site.test/go").await;
        assert_eq!(page.url, "http://site.test/set");
        assert_eq!(browser.jar("site.test").get("a"), Some("1"));
        assert!(browser.jar("other.test").is_empty());
        assert_eq!(browser.get("http://site.test/echo").await.body, "a=1");
        browser.get("http://site.test/clear").await;
        assert!(browser.jar("site.test").is_empty());
    }

    #[tokio::test]
    async fn send_stores_nothing_until_told() {
        let browser = Browser::new(Arc::new(echo()));
        let response = browser
            .send(
                http::Request::get("http://site.test/set")
                    .body(Vec::new())
                    .unwrap(),
            )
            .await;
        assert!(browser.jar("site.test").is_empty());
        let mut tab = browser.clone();
        tab.store("site.test", response.headers());
        assert_eq!(tab.jar("site.test").get("a"), Some("1"));
        assert!(browser.jar("site.test").is_empty(), "a tab is a copy");
    }
}
