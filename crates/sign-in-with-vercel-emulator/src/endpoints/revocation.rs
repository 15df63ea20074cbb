//! The revocation endpoint (RFC 7009), on the API origin (and at the
//! `/api/login/oauth/token/revoke` of Vercel's Authorization Server API
//! reference on the issuer origin). Revoking either token of a grant revokes
//! the whole grant: "If the Access Token is revoked, the Refresh Token is also
//! revoked" (the reference, on revocation); the other way round Vercel
//! documents nothing, and RFC 7009 §2.1 says the server "SHOULD also invalidate
//! all access tokens based on the same authorization grant" (one of the
//! emulator's guesses).

use bytes::Bytes;
use http::StatusCode;

use super::client_auth::{At, authenticate};
use super::respond::{form_body, oauth_error};
use super::{Request, Response};
use crate::{Emulator, lock};

/// `POST /login/oauth/token/revoke`. An unknown or already invalid token is
/// a 200 (RFC 7009 §2.2); another client's token is refused with an error
/// and left alone (§2.1: the server "verifies whether the token was issued
/// to the client making the revocation request. If this validation fails,
/// the request is refused and the client is informed of the error").
pub(super) fn revoke(emu: &Emulator, request: &Request) -> Response {
    if let Some(status) = emu.faults().revocation_status {
        return oauth_error(status, "server_error", "injected failure");
    }
    let params = match form_body(request) {
        Ok(p) => p,
        Err(response) => return response,
    };
    let client = match authenticate(emu, request, &params, At::Revocation) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let Some(token) = params.get("token") else {
        return oauth_error(400, "invalid_request", "token is required");
    };
    let (access_kept, refresh_kept) = {
        let faults = emu.faults();
        (
            faults.access_tokens_not_revocable,
            faults.refresh_tokens_not_revocable,
        )
    };
    let now = emu.now();
    let mut store = lock(&emu.store);
    // An expired token, or one of a revoked grant, is an unknown one (RFC
    // 7009 §2.2: nothing to do), as once the store's sweep forgets it.
    let access = store
        .access_tokens
        .get(token)
        .filter(|t| store.is_known(t, now));
    let refresh = store
        .refresh_tokens
        .get(token)
        .filter(|t| store.is_known(t, now));
    let refused = if access_kept && access.is_some() {
        Some("access tokens are not revoked here")
    } else if refresh_kept && refresh.is_some() {
        Some("refresh tokens are not revoked here")
    } else {
        None
    };
    if let Some(description) = refused {
        return oauth_error(400, "unsupported_token_type", description);
    }
    let grant = access.or(refresh).map(|t| t.grant.clone());
    match grant {
        Some(grant) if grant.client_id != client.client_id => {
            // RFC 7009 §2.2.1 presents errors as RFC 6749 §5.2 does.
            return oauth_error(
                400,
                "unauthorized_client",
                "the token was issued to another client",
            );
        }
        Some(grant) => {
            store.revoke_grant(grant.id, now);
        }
        None => {}
    }
    http::Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Bytes::new())
        .unwrap_or_default()
}
