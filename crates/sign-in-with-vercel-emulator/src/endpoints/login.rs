//! The emulator's login screen, sign-in and sign-out: the "login screen" of
//! Vercel's Authorization Server API reference, shown before the consent page
//! to a browser not signed in. The configured users are listed; one click signs
//! in as one, with no password. Pages that need a user show it in their place.

use http::StatusCode;

use super::respond::{html, see_other, with_cookie};
use super::session::{self, local_path};
use super::{Request, Response};
use crate::{Emulator, form_params, pages};

/// The login screen, answering a request for a page at `next` that needs
/// a signed-in user.
pub(super) fn screen(emu: &Emulator, request: &Request, next: &str) -> Response {
    let current = session::signed_in(emu, request).map(|s| s.user);
    html(
        StatusCode::OK,
        pages::login(&emu.users(), local_path(Some(next)), current.as_ref()),
    )
}

/// `GET /login?next=<path>`: the login screen, also to switch users.
pub(super) fn page(emu: &Emulator, request: &Request) -> Response {
    let query = request.uri().query().unwrap_or("");
    let params = form_params(query.as_bytes()).unwrap_or_default();
    screen(
        emu,
        request,
        local_path(params.get("next").map(String::as_str)),
    )
}

/// `POST /login` (`user`, `next`): signs the browser in as `user` in a
/// session of its own, then goes on to `next`.
pub(super) fn sign_in(emu: &Emulator, request: &Request) -> Response {
    if !session::from_own_page(emu, request) {
        return refused();
    }
    let Ok(params) = form_params(request.body()) else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error("A parameter is repeated."),
        );
    };
    let Some(user) = params.get("user").and_then(|sub| emu.user(sub)) else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error("Choose one of the users."),
        );
    };
    let cookie = session::start(emu, request, &user.sub);
    let next = local_path(params.get("next").map(String::as_str));
    with_cookie(see_other(next), &cookie)
}

/// `POST /logout` (`next` optional): signs the browser out, then goes on
/// to `next` (or `/`).
pub(super) fn sign_out(emu: &Emulator, request: &Request) -> Response {
    if !session::from_own_page(emu, request) {
        return refused();
    }
    let params = form_params(request.body()).unwrap_or_default();
    let cookie = session::end(emu, request);
    let next = local_path(params.get("next").map(String::as_str));
    with_cookie(see_other(next), &cookie)
}

/// Another site's form post to the emulator's pages.
pub(super) fn refused() -> Response {
    html(
        StatusCode::FORBIDDEN,
        pages::error("This form was sent from another site."),
    )
}
