//! The emulator's home page: its origins, its settings, who this browser
//! is signed in as, and the list of its guesses where Vercel documents
//! nothing (the crate documentation's list, from the same file).

use super::{escape, page};
use crate::{EmulatorConfig, Origins, ReusePolicy, User};

/// What the home page shows.
pub(crate) struct IndexFacts<'a> {
    pub origins: &'a Origins,
    pub config: &'a EmulatorConfig,
    pub signed_in: Option<&'a User>,
}

/// The home page.
pub(crate) fn index(facts: &IndexFacts<'_>) -> String {
    let config = facts.config;
    let reuse = match config.refresh_token_reuse {
        ReusePolicy::Reject => "reject (only the reused token fails)",
        ReusePolicy::RevokeGrant => {
            "revoke_grant (the whole grant is revoked, newest pair included)"
        }
    };
    let iss = if config.authorization_response_iss {
        "on (<code>iss</code> in every authorization response, advertised in discovery)"
    } else {
        "off (no <code>iss</code>, not advertised: Vercel documents neither)"
    };
    let browser = match facts.signed_in {
        Some(user) => format!(
            "This browser is signed in as <strong>{}</strong>. \
<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"next\" value=\"/\"><button class=\"link\" type=\"submit\">Sign out</button></form>",
            escape(&user.name)
        ),
        None => "This browser is not signed in. <a href=\"/login?next=%2F\">Sign in</a>".to_owned(),
    };
    let o = facts.origins;
    page(
        "Sign in with Vercel emulator",
        &format!(
            "<h1>Sign in with Vercel emulator</h1>\
<p>Issuer <code>{}</code> (authorization, login, JWKS, discovery, avatars, <a href=\"/account/authorizations\">authorized apps</a>, \
and the <code>/api/login/oauth/*</code> URLs of the examples in Vercel's Authorization Server API reference); \
API <code>{}</code> (token, revocation, introspection, userinfo, the REST API, the SSO exchange); \
marketplace issuer <code>{}</code> (SSO ID tokens: its discovery and JWKS). \
Metadata at <a href=\"/.well-known/openid-configuration\">/.well-known/openid-configuration</a>.</p>\
<div>{browser}</div>\
<h2>Settings</h2><ul>\
<li>Access token {} s, refresh token {} s from the sign-in, ID token {} s, code {} s.</li>\
<li>Refresh token reuse: {reuse}.</li>\
<li><code>iss</code> in authorization responses: {iss}.</li></ul>\
<h2>Undocumented by Vercel: the emulator's guesses</h2><ul id=\"guesses\">{}</ul>",
            escape(&o.issuer),
            escape(&o.api),
            escape(&o.marketplace),
            config.access_token_ttl,
            config.refresh_token_ttl,
            config.id_token_ttl,
            config.code_ttl,
            guesses(crate::GUESSES),
        ),
    )
}

/// The guesses' Markdown list (`- ` items, `**bold**` and `` `code` ``
/// only) as HTML list items.
fn guesses(markdown: &str) -> String {
    let mut items: Vec<String> = Vec::new();
    for line in markdown.lines() {
        match line.strip_prefix("- ") {
            Some(item) => items.push(item.to_owned()),
            None => {
                if let Some(last) = items.last_mut()
                    && !line.trim().is_empty()
                {
                    last.push(' ');
                    last.push_str(line.trim());
                }
            }
        }
    }
    items
        .iter()
        .map(|item| format!("<li>{}</li>", inline(item)))
        .collect()
}

/// `**bold**` and `` `code` `` in escaped text.
fn inline(text: &str) -> String {
    let escaped = escape(text);
    let mut out = String::with_capacity(escaped.len() + 32);
    let (mut bold, mut code) = (false, false);
    let mut rest = escaped.as_str();
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("**") && !code {
            out.push_str(if bold { "</strong>" } else { "<strong>" });
            bold = !bold;
            rest = &rest[2..];
        } else if c == '`' {
            out.push_str(if code { "</code>" } else { "<code>" });
            code = !code;
            rest = &rest[1..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_render_as_list_items_with_bold_and_code() {
        let html = guesses("- **A `x`.** Text <b>&.\n  more\n- **B.** `y`\n");
        assert_eq!(
            html,
            "<li><strong>A <code>x</code>.</strong> Text &lt;b&gt;&amp;. more</li>\
<li><strong>B.</strong> <code>y</code></li>"
        );
    }

    #[test]
    fn every_guess_has_a_bold_title() {
        for line in crate::GUESSES.lines().filter(|l| !l.trim().is_empty()) {
            assert!(line.starts_with("- **"), "{line}");
        }
    }
}
