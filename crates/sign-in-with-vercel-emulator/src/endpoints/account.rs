//! The account page's "Sign in with Vercel" section: the apps a user has
//! authorized, each with Remove (seed 004, "Revoking third-party
//! application access"). The emulator has no login, so the page has a
//! user picker, as the consent page does.

use http::StatusCode;

use super::respond::{html, see_other};
use super::{ACCOUNT, Request, Response};
use crate::{Emulator, form_params, lock, pages};

/// `GET /account/authorizations?user=<sub>`: the user's authorized apps.
/// Without `user`, the user signed in to the emulator (else the first).
pub(super) fn list(emu: &Emulator, request: &Request) -> Response {
    let query = request.uri().query().unwrap_or("");
    let params = form_params(query.as_bytes()).unwrap_or_default();
    let users = emu.users();
    let signed_in = lock(&emu.store).signed_in.clone();
    let chosen = params
        .get("user")
        .or(signed_in.as_ref())
        .and_then(|sub| users.iter().find(|u| &u.sub == sub))
        .or(users.first());
    let Some(user) = chosen else {
        return html(StatusCode::NOT_FOUND, pages::error("No users."));
    };
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
        pages::account(&users, &user.sub, &apps, &emu.picture_of(user)),
    )
}

/// `POST /account/authorizations/remove` (`user`, `client_id`): Remove.
/// Revokes every grant of that user to that app and forgets the consent
/// ([`Emulator::remove_app`]), then shows the list again.
pub(super) fn remove(emu: &Emulator, request: &Request) -> Response {
    let params = form_params(request.body()).unwrap_or_default();
    let (Some(sub), Some(client_id)) = (params.get("user"), params.get("client_id")) else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error("Choose a user and an app."),
        );
    };
    emu.remove_app(sub, client_id);
    let user: String = url::form_urlencoded::byte_serialize(sub.as_bytes()).collect();
    see_other(&format!("{ACCOUNT}?user={user}"))
}
