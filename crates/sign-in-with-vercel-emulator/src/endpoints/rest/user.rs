//! `GET /v2/user`, Vercel's "Get the User": "Retrieves information related
//! to the currently authenticated User", as `{"user": {…}}`.

use http::StatusCode;
use serde_json::json;

use super::caller;
use crate::endpoints::Response;
use crate::endpoints::respond::{json_response, not_authorized};
use crate::{Emulator, pages};

/// When every emulated account was created (Vercel's `createdAt`,
/// milliseconds): 2020-01-01, so that the value is stable.
const CREATED_AT_MS: i64 = 1_577_836_800_000;

/// `GET /v2/user`: the members of Vercel's user object an app reads —
/// `id` (the ID token's `sub`), `email`, `name`, `username`, `avatar` (the
/// avatar's ID at `/api/www/avatar/<id>`, or `null` when the user has a
/// configured picture), `defaultTeamId`, `createdAt`, `softBlock: null`,
/// `version: "northstar"`. Vercel's billing, limits and preferences are
/// left out (one of the emulator's guesses).
pub(in crate::endpoints) fn user(emu: &Emulator, request: &http::Request<Vec<u8>>) -> Response {
    let caller = match caller(emu, request) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let Some(user) = emu.user(&caller.sub) else {
        return not_authorized();
    };
    let avatar = user.picture.is_none().then(|| pages::avatar_id(&user.sub));
    json_response(
        StatusCode::OK,
        &json!({
            "user": {
                "id": user.sub,
                "email": user.email,
                "name": user.name,
                "username": user.preferred_username,
                "avatar": avatar,
                "defaultTeamId": format!("team_{}", user.account_id),
                "createdAt": CREATED_AT_MS,
                "softBlock": null,
                "version": "northstar",
            }
        }),
    )
}
