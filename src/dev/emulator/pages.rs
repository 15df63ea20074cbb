//! The emulator's HTML: the sign-in and consent page, and its error page.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::User;

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

/// A small SVG avatar with the user's initials, as a `data:` URL, so that
/// the demo user's picture loads offline and under a strict CSP.
pub fn avatar_data_url(initials: &str) -> String {
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96"><rect width="96" height="96" rx="48" fill="#111"/><text x="48" y="60" font-family="sans-serif" font-size="36" fill="#fff" text-anchor="middle">{}</text></svg>"##,
        escape(initials)
    );
    format!("data:image/svg+xml;base64,{}", STANDARD.encode(svg))
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#fafafa;color:#111;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}\
main{background:#fff;border:1px solid #eaeaea;border-radius:12px;padding:32px;max-width:420px;width:100%;box-sizing:border-box}\
h1{font-size:1.4rem;margin:0 0 8px}h2{font-size:1rem;margin:24px 0 8px}p.note{color:#555;font-size:.9rem}\
fieldset{border:1px solid #eaeaea;border-radius:8px;padding:12px}label{display:flex;gap:8px;align-items:center;padding:4px 0}\
ul{padding-left:20px}.actions{display:flex;gap:12px;margin-top:24px}\
button{flex:1;font:inherit;padding:10px;border-radius:8px;border:1px solid #111;cursor:pointer}\
button.allow{background:#111;color:#fff}button.cancel{background:#fff;color:#111}\
button:focus-visible{outline:3px solid #0070f3;outline-offset:2px}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        escape(title)
    )
}

fn scope_description(scope: &str) -> Option<&'static str> {
    match scope {
        "openid" => Some("Verify your identity"),
        "email" => Some("See your email address"),
        "profile" => Some("See your name, username and avatar"),
        "offline_access" => Some("Stay signed in (refresh tokens)"),
        _ => None,
    }
}

/// The sign-in and consent page: the app, the permissions it asks for, who
/// to sign in as, and Allow / Cancel.
pub(super) fn consent(
    app_name: &str,
    scopes: &[String],
    users: &[User],
    request_id: &str,
) -> String {
    let permissions: String = scopes
        .iter()
        .filter_map(|s| scope_description(s).map(|d| format!("<li>{}</li>", escape(d))))
        .collect();
    let choices: String = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            format!(
                "<label><input type=\"radio\" name=\"user\" value=\"{}\"{}> <span><strong>{}</strong> ({}, @{})</span></label>",
                escape(&u.sub),
                if i == 0 { " checked" } else { "" },
                escape(&u.name),
                escape(&u.email),
                escape(&u.preferred_username),
            )
        })
        .collect();
    let app = escape(app_name);
    page(
        "Sign in with Vercel (emulator)",
        &format!(
            "<h1>Sign in to {app} with Vercel</h1>\
<p class=\"note\">Local emulator of Vercel's authorization server. No real account is used.</p>\
<form method=\"post\" action=\"/oauth/authorize/decision\">\
<input type=\"hidden\" name=\"request_id\" value=\"{}\">\
<fieldset><legend>Sign in as</legend>{choices}</fieldset>\
<h2>{app} is asking to:</h2><ul>{permissions}</ul>\
<div class=\"actions\"><button class=\"cancel\" type=\"submit\" name=\"decision\" value=\"cancel\">Cancel</button>\
<button class=\"allow\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button></div>\
</form>",
            escape(request_id)
        ),
    )
}

/// An error shown instead of redirecting, when the redirect URI cannot be
/// trusted (RFC 6749 §4.1.2.1).
pub(super) fn error(message: &str) -> String {
    page(
        "Authorization error (emulator)",
        &format!(
            "<h1>Authorization error</h1><p role=\"alert\">{}</p>",
            escape(message)
        ),
    )
}

/// The emulator's home page.
pub(super) fn index(issuer: &str) -> String {
    page(
        "Sign in with Vercel emulator",
        &format!(
            "<h1>Sign in with Vercel emulator</h1><p>Issuer <code>{0}</code>. Metadata at <a href=\"/.well-known/openid-configuration\">/.well-known/openid-configuration</a>.</p>",
            escape(issuer)
        ),
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
            &[super::super::demo_user()],
            "r\"id",
        );
        assert!(!html.contains("<script>"));
        assert!(html.contains("r&quot;id"));
    }
}
