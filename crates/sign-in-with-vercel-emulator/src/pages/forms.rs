//! The pages a user answers: the login screen, the consent page, and the
//! account page's list of authorized apps. Each page's first form is its
//! answer (what a test submits); sign-out comes after it.

use super::{escape, page};
use crate::User;

fn scope_description(scope: &str) -> Option<&'static str> {
    match scope {
        "openid" => Some("Verify your identity"),
        "email" => Some("See your email address"),
        "profile" => Some("See your name, username and avatar"),
        "offline_access" => Some("Stay signed in (refresh tokens)"),
        _ => None,
    }
}

/// "Name (email, @username)".
fn who(user: &User) -> String {
    format!(
        "<strong>{}</strong> ({}, @{})",
        escape(&user.name),
        escape(&user.email),
        escape(&user.preferred_username)
    )
}

/// A sign-out button that goes on to `next`.
fn sign_out(next: &str, label: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"next\" value=\"{}\">\
<button class=\"link\" type=\"submit\">{}</button></form>",
        escape(next),
        escape(label)
    )
}

/// The login screen (Vercel's Authorization Server API reference: "Vercel will
/// show a login screen"): one button per configured user, no password; then on
/// to `next`.
pub(crate) fn login(users: &[User], next: &str, current: Option<&User>) -> String {
    let choices: String = users
        .iter()
        .map(|u| {
            format!(
                "<li><button class=\"user\" type=\"submit\" name=\"user\" value=\"{}\">{}</button></li>",
                escape(&u.sub),
                who(u),
            )
        })
        .collect();
    let current = current.map_or_else(String::new, |u| {
        format!(
            "<p class=\"note\">This browser is signed in as {}. Choosing a user switches to it.</p>",
            who(u)
        )
    });
    page(
        "Sign in to Vercel (emulator)",
        &format!(
            "<h1>Sign in to Vercel</h1>\
<p class=\"note\">Local emulator of Vercel's login: choose a user, no password. This browser stays signed in until it signs out.</p>{current}\
<form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"next\" value=\"{}\">\
<ul class=\"users\">{choices}</ul></form>",
            escape(next)
        ),
    )
}

/// The consent page: the app, the permissions it asks for, Allow and
/// Cancel; then who is signed in, with a way to switch (`switch_next`:
/// the authorization request to show again afterwards).
pub(crate) fn consent(
    app_name: &str,
    scopes: &[String],
    user: &User,
    request_id: &str,
    switch_next: &str,
) -> String {
    let permissions: String = scopes
        .iter()
        .filter_map(|s| scope_description(s).map(|d| format!("<li>{}</li>", escape(d))))
        .collect();
    let app = escape(app_name);
    page(
        "Sign in with Vercel (emulator)",
        &format!(
            "<h1>Sign in to {app} with Vercel</h1>\
<p class=\"note\">Local emulator of Vercel's authorization server. No real account is used.</p>\
<form method=\"post\" action=\"/oauth/authorize/decision\">\
<input type=\"hidden\" name=\"request_id\" value=\"{}\">\
<h2>{app} is asking to:</h2><ul>{permissions}</ul>\
<div class=\"actions\"><button class=\"cancel\" type=\"submit\" name=\"decision\" value=\"cancel\">Cancel</button>\
<button class=\"allow\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button></div>\
</form>\
<p class=\"note\">Signed in as {}.</p>{}",
            escape(request_id),
            who(user),
            sign_out(switch_next, "Sign in as someone else"),
        ),
    )
}

/// One row of the account page: an app the user has authorized.
pub(crate) struct AuthorizedApp {
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<String>,
}

/// The account page's "Sign in with Vercel" section (Vercel's user guide to
/// Sign in with Vercel): the apps the signed-in user has authorized, each with
/// a Remove button.
pub(crate) fn account(user: &User, apps: &[AuthorizedApp], picture: &str) -> String {
    let rows: String = apps
        .iter()
        .map(|app| {
            format!(
                "<tr><td><strong>{}</strong><br><code>{}</code><br><span class=\"note\">{}</span></td>\
<td><form method=\"post\" action=\"/account/authorizations/remove\">\
<input type=\"hidden\" name=\"client_id\" value=\"{}\">\
<button class=\"cancel\" type=\"submit\" aria-label=\"Remove {}\">Remove</button></form></td></tr>",
                escape(&app.name),
                escape(&app.client_id),
                escape(&app.scopes.join(" ")),
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
<h2>Authorized apps</h2>{list}\
<p class=\"note\">Signed in as {}.</p>{}",
            escape(picture),
            who(user),
            sign_out("/account/authorizations", "Sign out"),
        ),
    )
}
