//! The user's answer on the consent page: Allow redirects back with a code and
//! remembers the consent, Cancel with `error=access_denied` (RFC 6749
//! §4.1.2.1), as Vercel's Cancel does (its consent page redirects to the
//! callback with `error=access_denied&error_description=...`).

use http::StatusCode;

use super::{grant_code, redirect_back};
use crate::endpoints::respond::html;
use crate::endpoints::{Request, Response, login, session};
use crate::secret::ct_eq;
use crate::{Emulator, form_params, lock, pages};

const CANCEL_DESCRIPTION: &str = "The user canceled the authorization process";

/// `POST /oauth/authorize/decision` (`request_id`, `decision`). Only the
/// browser the page was shown to can answer it, for the user it was
/// signed in as then: a browser that has since signed out, or in as
/// someone else, starts again.
pub(in crate::endpoints) fn decision(emu: &Emulator, request: &Request) -> Response {
    if !session::from_own_page(emu, request) {
        return login::refused();
    }
    let params = match form_params(request.body()) {
        Ok(p) => p,
        Err(why) => return html(StatusCode::BAD_REQUEST, pages::error(why)),
    };
    let pending = params
        .get("request_id")
        .and_then(|id| lock(&emu.store).pending.remove(id))
        .filter(|p| p.expires_at > emu.now());
    let Some(pending) = pending else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(
                "This authorization request expired or was already answered. Start again from the app.",
            ),
        );
    };
    let same_browser = session::signed_in(emu, request)
        .is_some_and(|b| ct_eq(&b.session, &pending.session) && b.user.sub == pending.sub);
    if !same_browser {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(
                "This browser signed out, or in as someone else, since the page was shown. Start again from the app.",
            ),
        );
    }
    match params.get("decision").map(String::as_str) {
        Some("allow") => {}
        Some("cancel") => {
            return redirect_back(
                emu,
                &pending.redirect_uri,
                &[
                    ("error", "access_denied"),
                    ("error_description", CANCEL_DESCRIPTION),
                ],
                pending.state.as_deref(),
            );
        }
        _ => {
            return html(
                StatusCode::BAD_REQUEST,
                pages::error("Choose Allow or Cancel."),
            );
        }
    }
    lock(&emu.store).grant_consent(&pending.sub, &pending.client_id, &pending.scopes);
    grant_code(emu, pending)
}
