//! The emulator's HTML: the login screen, the consent page, the account
//! page of authorized apps, the home page, the error pages; and the avatar
//! images. Every text put into a page goes through [`escape`].

mod forms;
mod index;

pub(super) use forms::{AuthorizedApp, account, consent, login};
pub(super) use index::{IndexFacts, index};

/// Escapes text for HTML element content and quoted attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The avatar ID of a user: `/api/www/avatar/<id>`, 40 hexadecimal digits
/// like Vercel's (its REST API calls the avatar "SHA1 hash of the avatar").
/// Derived from `sub`, so it is stable across restarts and says nothing
/// readable about the user.
pub(super) fn avatar_id(sub: &str) -> String {
    crate::config::sha256_hex(sub.as_bytes(), 40)
}

/// A 96×96 SVG avatar with the initials of `name`.
pub(super) fn avatar_svg(name: &str) -> String {
    let initials: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96"><rect width="96" height="96" rx="48" fill="#111"/><text x="48" y="60" font-family="sans-serif" font-size="36" fill="#fff" text-anchor="middle">{}</text></svg>"##,
        escape(&initials)
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#fafafa;color:#111;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}\
main{background:#fff;border:1px solid #eaeaea;border-radius:12px;padding:32px;max-width:560px;width:100%;box-sizing:border-box}\
h1{font-size:1.4rem;margin:0 0 8px}h2{font-size:1rem;margin:24px 0 8px}p.note,.note{color:#555;font-size:.9rem}\
ul{padding-left:20px}ul.users{list-style:none;padding:0}ul.users li{margin:8px 0}.actions{display:flex;gap:12px;margin-top:24px}\
table{border-collapse:collapse;width:100%}td{padding:6px 4px;border-top:1px solid #eaeaea;vertical-align:top}\
img.avatar{border-radius:50%;vertical-align:middle}code{font-size:.85em}\
button{font:inherit;padding:10px;border-radius:8px;border:1px solid #111;cursor:pointer;background:#fff;color:#111}\
.actions button{flex:1}button.allow{background:#111;color:#fff}button.user{width:100%;text-align:left}\
button.link{border:none;padding:0;text-decoration:underline;color:#0060df;background:none}\
button:focus-visible{outline:3px solid #0070f3;outline-offset:2px}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        escape(title)
    )
}

/// An error shown instead of redirecting, when the redirect URI cannot be
/// trusted (RFC 6749 §4.1.2.1), or when a form cannot be answered.
pub(super) fn error(message: &str) -> String {
    page(
        "Authorization error (emulator)",
        &format!(
            "<h1>Authorization error</h1><p role=\"alert\">{}</p>",
            escape(message)
        ),
    )
}

/// A path the emulator serves nothing at.
pub(super) fn not_found() -> String {
    page(
        "Not found (emulator)",
        "<h1>Not found</h1><p>Nothing is served at this path on this origin of the emulator. See <a href=\"/\">its home page</a> on the issuer origin for what is where.</p>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let html = consent(
            "<script>",
            &["openid".into()],
            &crate::demo_user(),
            "r\"id",
            "/oauth/authorize?a=<b>",
        );
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<b>"));
        assert!(html.contains("r&quot;id"));
    }

    /// The consent page says what each scope it asks for allows, and
    /// nothing for a scope it does not know.
    #[test]
    fn consent_lists_what_each_scope_allows() {
        let scopes = ["openid", "email", "profile", "offline_access", "repo"];
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let html = consent("App", &scopes, &crate::demo_user(), "r1", "/");
        let listed: Vec<&str> = html
            .split("<li>")
            .skip(1)
            .map(|item| item.split("</li>").next().unwrap())
            .collect();
        assert_eq!(
            listed,
            [
                "Verify your identity",
                "See your email address",
                "See your name, username and avatar",
                "Stay signed in (refresh tokens)",
            ]
        );
    }

    #[test]
    fn avatars_show_initials_and_ids_are_stable() {
        assert!(avatar_svg("Demo User").contains(">DU</text>"));
        assert_eq!(avatar_id("usr_1"), avatar_id("usr_1"));
        assert_eq!(avatar_id("usr_1").len(), 40);
        assert_ne!(avatar_id("usr_1"), avatar_id("usr_2"));
    }
}
