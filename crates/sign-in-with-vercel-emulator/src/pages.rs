//! The emulator's HTML: the sign-in and consent page, the account page of
//! authorized apps, the home page, the error page; and the avatar images.

use sha2::{Digest as _, Sha256};

use super::{EmulatorConfig, ReusePolicy, User};

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

/// The avatar ID of a user: `/api/www/avatar/<id>`. Derived from `sub`, so
/// it is stable across restarts and says nothing readable about the user.
pub(super) fn avatar_id(sub: &str) -> String {
    Sha256::digest(sub.as_bytes())[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
main{background:#fff;border:1px solid #eaeaea;border-radius:12px;padding:32px;max-width:420px;width:100%;box-sizing:border-box}\
h1{font-size:1.4rem;margin:0 0 8px}h2{font-size:1rem;margin:24px 0 8px}p.note{color:#555;font-size:.9rem}\
fieldset{border:1px solid #eaeaea;border-radius:8px;padding:12px}label{display:flex;gap:8px;align-items:center;padding:4px 0}\
ul{padding-left:20px}.actions{display:flex;gap:12px;margin-top:24px}\
table{border-collapse:collapse;width:100%}td{padding:6px 4px;border-top:1px solid #eaeaea;vertical-align:top}\
img.avatar{border-radius:50%;vertical-align:middle}code{font-size:.85em}\
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
    signed_in: Option<&str>,
) -> String {
    let selected = signed_in
        .filter(|sub| users.iter().any(|u| u.sub == *sub))
        .or(users.first().map(|u| u.sub.as_str()));
    let permissions: String = scopes
        .iter()
        .filter_map(|s| scope_description(s).map(|d| format!("<li>{}</li>", escape(d))))
        .collect();
    let choices: String = users
        .iter()
        .map(|u| {
            format!(
                "<label><input type=\"radio\" name=\"user\" value=\"{}\"{}> <span><strong>{}</strong> ({}, @{})</span></label>",
                escape(&u.sub),
                if Some(u.sub.as_str()) == selected { " checked" } else { "" },
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

/// One row of the account page: an app the user has authorized.
pub(super) struct AuthorizedApp {
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<String>,
}

/// The account page's "Sign in with Vercel" section (seed 004): the apps
/// `sub` has authorized, each with a Remove button, and a user picker.
pub(super) fn account(users: &[User], sub: &str, apps: &[AuthorizedApp], picture: &str) -> String {
    let options: String = users
        .iter()
        .map(|u| {
            format!(
                "<option value=\"{}\"{}>{} ({})</option>",
                escape(&u.sub),
                if u.sub == sub { " selected" } else { "" },
                escape(&u.name),
                escape(&u.email)
            )
        })
        .collect();
    let rows: String = apps
        .iter()
        .map(|app| {
            format!(
                "<tr><td><strong>{}</strong><br><code>{}</code><br><span class=\"note\">{}</span></td>\
<td><form method=\"post\" action=\"/account/authorizations/remove\">\
<input type=\"hidden\" name=\"user\" value=\"{}\"><input type=\"hidden\" name=\"client_id\" value=\"{}\">\
<button class=\"cancel\" type=\"submit\" aria-label=\"Remove {}\">Remove</button></form></td></tr>",
                escape(&app.name),
                escape(&app.client_id),
                escape(&app.scopes.join(" ")),
                escape(sub),
                escape(&app.client_id),
                escape(&app.name),
            )
        })
        .collect();
    let list = if apps.is_empty() {
        "<p role=\"status\">No apps are authorized.</p>".to_owned()
    } else {
        format!("<table><tbody>{rows}</tbody></table>")
    };
    page(
        "Sign in with Vercel: authorized apps (emulator)",
        &format!(
            "<h1><img class=\"avatar\" src=\"{}\" alt=\"\" width=\"32\" height=\"32\"> Sign in with Vercel</h1>\
<p class=\"note\">The apps this user has authorized. Remove revokes the app's tokens and forgets the consent: the next sign-in asks again.</p>\
<form method=\"get\" action=\"/account/authorizations\"><label>User <select name=\"user\">{options}</select> <button type=\"submit\">Show</button></label></form>\
<h2>Authorized apps</h2>{list}",
            escape(picture)
        ),
    )
}

/// The emulator's home page: its origins, its settings, and which of its
/// behaviours are guesses where Vercel documents nothing.
pub(super) fn index(issuer: &str, api: &str, config: &EmulatorConfig) -> String {
    let reuse = match config.refresh_token_reuse {
        ReusePolicy::Reject => "reject (only the reused token fails)",
        ReusePolicy::RevokeGrant => {
            "revoke_grant (the whole grant is revoked, newest pair included)"
        }
    };
    page(
        "Sign in with Vercel emulator",
        &format!(
            "<h1>Sign in with Vercel emulator</h1>\
<p>Issuer <code>{0}</code> (authorization, JWKS, discovery, avatars, <a href=\"/account/authorizations\">authorized apps</a>); \
API <code>{1}</code> (token, revocation, introspection, userinfo). \
Metadata at <a href=\"/.well-known/openid-configuration\">/.well-known/openid-configuration</a>.</p>\
<h2>Settings</h2><ul>\
<li>Access token {2} s, refresh token {3} s, ID token {4} s, code {5} s.</li>\
<li>Refresh token reuse: {6}.</li></ul>\
<h2>Undocumented by Vercel: the emulator's guesses</h2><ul>\
<li>A reused refresh token: the setting above (default revoke_grant, RFC 9700 §4.14.2).</li>\
<li>Remembered consent is per user and app, for the scopes granted; more scopes ask again. \
<code>prompt=consent</code>, <code>login</code> or <code>select_account</code> always show the page; \
<code>prompt=none</code> answers <code>login_required</code> or <code>consent_required</code> when it cannot skip it. \
The user signed in to the emulator is the one of the last Allow.</li>\
<li>An empty <code>scope</code>, or only unknown scopes, means all the app's scopes; <code>openid</code> is always granted.</li>\
<li>Introspection answers <code>token_type: \"bearer\"</code> for refresh tokens too, and no <code>aud</code>.</li>\
<li>A public client's empty <code>client_secret=</code> is refused (<code>invalid_client</code>).</li>\
<li>Userinfo accepts only <code>Bearer</code> spelled so, not <code>bearer</code>.</li>\
<li>Revoking another app's token answers <code>400 unauthorized_client</code> and revokes nothing.</li>\
<li>Refreshed ID tokens carry no <code>nonce</code>.</li>\
<li>Introspection without client authentication is allowed, as in Vercel's guide; sent credentials are checked.</li>\
</ul>",
            escape(issuer),
            escape(api),
            config.access_token_ttl,
            config.refresh_token_ttl,
            config.id_token_ttl,
            config.code_ttl,
            reuse,
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
            None,
        );
        assert!(!html.contains("<script>"));
        assert!(html.contains("r&quot;id"));
    }

    #[test]
    fn avatars_show_initials_and_ids_are_stable() {
        assert!(avatar_svg("Demo User").contains(">DU</text>"));
        assert_eq!(avatar_id("usr_1"), avatar_id("usr_1"));
        assert_ne!(avatar_id("usr_1"), avatar_id("usr_2"));
    }
}
