//! The account page's "Sign in with Vercel" section: the apps the signed-in
//! user has authorized, each with Remove (Vercel's user guide to Sign in with
//! Vercel, "Revoking third-party application access"). Like Vercel's account
//! settings, it needs a signed-in browser: the login screen is shown in its
//! place otherwise.

use http::StatusCode;

use super::respond::{html, see_other};
use super::{ACCOUNT, Request, Response, login, session};
use crate::{Emulator, form_params, lock, pages};

/// `GET /account/authorizations`: the signed-in user's authorized apps.
pub(super) fn list(emu: &Emulator, request: &Request) -> Response {
    let Some(signed_in) = session::signed_in(emu, request) else {
        return login::screen(emu, request, ACCOUNT);
    };
    let user = signed_in.user;
    let mut apps: Vec<pages::AuthorizedApp> = {
        let store = lock(&emu.store);
        store
            .consents
            .iter()
            .filter(|((sub, _), _)| *sub == user.sub)
            .map(|((_, client_id), scopes)| pages::AuthorizedApp {
                client_id: client_id.clone(),
                name: String::new(),
                scopes: scopes.clone(),
            })
            .collect()
    };
    for app in &mut apps {
        app.name = emu
            .client(&app.client_id)
            .map_or_else(|| app.client_id.clone(), |c| c.name);
    }
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    html(
        StatusCode::OK,
        pages::account(&user, &apps, &emu.picture_of(&user)),
    )
}

/// `POST /account/authorizations/remove` (`client_id`): Remove, for the
/// signed-in user. Revokes every grant of that user to that app and
/// forgets the consent ([`Emulator::remove_app`]), then shows the list
/// again.
pub(super) fn remove(emu: &Emulator, request: &Request) -> Response {
    if !session::from_own_page(emu, request) {
        return login::refused();
    }
    let Some(signed_in) = session::signed_in(emu, request) else {
        return login::screen(emu, request, ACCOUNT);
    };
    let params = form_params(request.body()).unwrap_or_default();
    let Some(client_id) = params.get("client_id") else {
        return html(StatusCode::BAD_REQUEST, pages::error("Choose an app."));
    };
    emu.remove_app(&signed_in.user.sub, client_id);
    see_other(ACCOUNT)
}
