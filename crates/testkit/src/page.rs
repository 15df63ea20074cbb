//! What the browser shows: a page (a response and its URL), the forms it
//! holds, and how a user answers the provider's pages: the one place that
//! knows what the emulator's sign-in pages ask.

use bytes::Bytes;
use http::HeaderMap;
use http::header::LOCATION;

/// The `Location` of a response, or "" when it has none.
pub fn location(headers: &HeaderMap) -> String {
    headers
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A response as the browser received it, at `url`.
#[derive(Clone, Debug)]
pub struct Page {
    /// The status code.
    pub status: u16,
    /// The response's headers.
    pub headers: HeaderMap,
    /// The body as text (invalid UTF-8 replaced).
    pub body: String,
    /// The URL that answered.
    pub url: String,
}

impl Page {
    /// The page `url` showed for `response`.
    pub fn new(url: &str, response: http::Response<Bytes>) -> Self {
        Self {
            status: response.status().as_u16(),
            body: String::from_utf8_lossy(response.body()).into_owned(),
            headers: response.into_parts().0.headers,
            url: url.to_owned(),
        }
    }

    /// The `Location` header, if any.
    pub fn location(&self) -> Option<String> {
        self.headers
            .get(LOCATION)
            .map(|l| l.to_str().unwrap_or_default().to_owned())
    }

    /// Where a redirect leads, resolved against the page's URL; `None`
    /// unless the status is 3xx with a `Location`.
    pub fn redirect(&self) -> Option<String> {
        let location = self
            .location()
            .filter(|_| (300..400).contains(&self.status))?;
        Some(resolve(&self.url, &location))
    }

    /// The `Max-Age` of the first cookie the page sets whose name starts
    /// with `prefix` and that is a deletion (`Max-Age=0`) if `deletion`,
    /// or is not.
    pub fn max_age(&self, prefix: &str, deletion: bool) -> Option<i64> {
        self.headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .find_map(|v| {
                let c = cookie::Cookie::parse(v.to_str().ok()?).ok()?;
                let age = c.max_age()?.whole_seconds();
                (c.name().starts_with(prefix) && (age == 0) == deletion).then_some(age)
            })
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|_| panic!("not JSON from {}: {:.300}", self.url, self.body))
    }

    /// The page's first form: its action (resolved against the page's URL)
    /// and the fields a browser submits without the user touching them:
    /// hidden inputs and checked radio buttons, of that form only (from
    /// its `<form` to the first `</form>`; a page may hold several forms,
    /// such as the emulator's account page, one per authorised app).
    pub fn form(&self) -> (String, Vec<(String, String)>) {
        let html = &self.body;
        let form = html
            .split_once("<form")
            .map(|(_, rest)| rest.split_once("</form>").map_or(rest, |(form, _)| form))
            .unwrap_or_else(|| panic!("no form at {}: {:.300}", self.url, html));
        let form_tag = form.split('>').next().unwrap_or_default();
        let action = resolve(
            &self.url,
            &attribute(form_tag, "action").unwrap_or_default(),
        );
        let mut fields = Vec::new();
        for input in form.split("<input").skip(1) {
            let tag = input.split('>').next().unwrap_or_default();
            let kind = attribute(tag, "type").unwrap_or_default();
            if (kind == "hidden" || (kind == "radio" && tag.contains("checked")))
                && let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value"))
            {
                fields.push((name, value));
            }
        }
        (action, fields)
    }
}

/// `reference` resolved against `base`, as a browser follows a link.
pub fn resolve(base: &str, reference: &str) -> String {
    url::Url::parse(base)
        .and_then(|b| b.join(reference))
        .unwrap_or_else(|e| panic!("cannot resolve {reference:?} against {base}: {e}"))
        .to_string()
}

/// The query parameters of `url`, decoded, in order (a repeated name is
/// there as often as it was sent).
pub fn query_pairs(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap_or_else(|e| panic!("not a URL: {url:?}: {e}"))
        .query_pairs()
        .into_owned()
        .collect()
}

/// The value of attribute `name` in an HTML tag, entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    Some(
        tag[start..]
            .split('"')
            .next()?
            .replace("&quot;", "\"")
            .replace("&amp;", "&"),
    )
}

/// How a user answers a page of the emulator (the provider), the one
/// place to change when its pages change: on its login screen, the first
/// user's button (the form's own fields plus `user`); on its consent page,
/// the form's own fields plus `decision` (`allow` or `cancel`), posted to
/// its action.
pub fn provider_answer(page: &Page, decision: &str) -> (String, Vec<(String, String)>) {
    assert_eq!(
        page.status, 200,
        "a provider page at {}: {:.300}",
        page.url, page.body
    );
    let (action, mut fields) = page.form();
    match first_user(&page.body).filter(|_| action.contains("/login")) {
        Some(user) => fields.push(("user".to_owned(), user)),
        None => fields.push(("decision".to_owned(), decision.to_owned())),
    }
    (action, fields)
}

/// The value of the first `<button name="user">`: the login screen's first
/// user.
fn first_user(html: &str) -> Option<String> {
    html.split("<button")
        .skip(1)
        .map(|b| b.split('>').next().unwrap_or_default())
        .find(|tag| attribute(tag, "name").as_deref() == Some("user"))
        .and_then(|tag| attribute(tag, "value"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str) -> Page {
        Page {
            status: 200,
            headers: HeaderMap::new(),
            body: body.to_owned(),
            url: "http://127.0.0.1:3001/oauth/authorize?client_id=x".to_owned(),
        }
    }

    #[test]
    fn a_form_submits_its_hidden_and_checked_fields() {
        let page = page(
            r#"<form method="post" action="/oauth/authorize/decision?a=1&amp;b=2">
            <input type="hidden" name="request_id" value="r&quot;1">
            <input type="radio" name="team" value="t1">
            <input type="radio" name="team" value="t2" checked>
            <input type="text" name="free" value="typed">
            <button name="decision" value="allow">Allow</button></form>"#,
        );
        let (action, fields) = provider_answer(&page, "deny");
        assert_eq!(
            action,
            "http://127.0.0.1:3001/oauth/authorize/decision?a=1&b=2"
        );
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            fields,
            [("request_id", "r\"1"), ("team", "t2"), ("decision", "deny")]
        );
    }

    /// On a page of several forms (the emulator's account page, a form
    /// per authorised app), only the first form's fields are submitted;
    /// inputs outside it, before or after, are not.
    #[test]
    fn a_form_submits_only_its_own_fields() {
        let page = page(
            r#"<input type="hidden" name="outside" value="0">
            <form method="post" action="/account/authorizations/remove">
            <input type="hidden" name="client_id" value="cl_one"><button>Remove</button></form>
            <form method="post" action="/account/authorizations/remove">
            <input type="hidden" name="client_id" value="cl_two"><button>Remove</button></form>"#,
        );
        let (action, fields) = page.form();
        assert_eq!(
            action,
            "http://127.0.0.1:3001/account/authorizations/remove"
        );
        assert_eq!(fields, [("client_id".to_owned(), "cl_one".to_owned())]);
    }

    #[test]
    fn the_login_screen_is_answered_with_its_first_user() {
        let page = page(
            r#"<form method="post" action="/login"><input type="hidden" name="next" value="/oauth/authorize?x=1">
            <ul><li><button class="user" type="submit" name="user" value="usr_1">Ada</button></li>
            <li><button class="user" type="submit" name="user" value="usr_2">Bo</button></li></ul></form>"#,
        );
        let (action, fields) = provider_answer(&page, "allow");
        assert_eq!(action, "http://127.0.0.1:3001/login");
        assert_eq!(
            fields,
            [
                ("next".to_owned(), "/oauth/authorize?x=1".to_owned()),
                ("user".to_owned(), "usr_1".to_owned())
            ]
        );
    }

    #[test]
    fn a_redirect_is_resolved_against_the_page() {
        let mut page = page("");
        page.status = 302;
        page.headers
            .insert(LOCATION, http::HeaderValue::from_static("/next?x=1"));
        assert_eq!(
            page.redirect().as_deref(),
            Some("http://127.0.0.1:3001/next?x=1")
        );
        page.status = 200;
        assert_eq!(page.redirect(), None, "only a 3xx redirects");
    }
}
