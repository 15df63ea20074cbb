//! Avatars, on the issuer origin at Vercel's path: "picture":
//! `"https://vercel.com/api/www/avatar/…"` (Vercel's Authorization Server API
//! reference, "User Info Endpoint response"). An app's pages then load the
//! picture from another origin locally, as they do in production, so an image
//! rule (a CSP `img-src`) that works locally works there too.

use bytes::Bytes;
use http::StatusCode;

use super::respond::not_found;
use super::{AVATAR_PREFIX, Request, Response};
use crate::{Emulator, pages};

/// `GET /favicon.ico`: Vercel's triangle, so a browser on the emulator's
/// pages meets no 404.
pub(super) fn favicon(_: &Emulator, _: &Request) -> Response {
    svg(Bytes::from_static(
        br##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><path d="M16 4 30 28H2z" fill="#000"/></svg>"##,
    ))
}

/// An SVG image, inert when opened on its own.
fn svg(body: Bytes) -> Response {
    http::Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "image/svg+xml")
        .header(http::header::CACHE_CONTROL, "public, max-age=3600")
        .header(http::header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(
            http::header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'",
        )
        .header("cross-origin-resource-policy", "cross-origin")
        .body(body)
        .unwrap_or_default()
}

/// `GET /api/www/avatar/<id>`: an SVG with the user's initials.
pub(super) fn avatar(emu: &Emulator, request: &Request) -> Response {
    let id = request
        .uri()
        .path()
        .strip_prefix(AVATAR_PREFIX)
        .unwrap_or_default();
    let Some(user) = emu
        .users()
        .into_iter()
        .find(|u| pages::avatar_id(&u.sub) == id)
    else {
        return not_found(true);
    };
    svg(Bytes::from(pages::avatar_svg(&user.name)))
}
