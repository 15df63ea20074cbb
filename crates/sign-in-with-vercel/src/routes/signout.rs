//! `POST /api/auth/signout[?everywhere|?retry]`: ends the session here (its
//! cookie deleted; with a shared store, in every instance at once) and
//! revokes its tokens at the provider (RFC 7009), even when the provider
//! cannot be reached. 200 `{"signedOut": true, "revoked": bool, "retry":
//! bool}`: when revocation failed, `retry` says that the tokens are kept,
//! sealed, for ten minutes, and posting again (`?retry`, below) retries
//! it. With `?everywhere` (or `?everywhere=true`; `=false` is this session
//! only, another value 400), every session of the user on this app ends
//! too (`"everywhere": true`, or `false` and `"everywhereError"` when there
//! is no shared store, it does not answer, or the session had already
//! ended: a copy of an ended session may not end its user's new ones;
//! absent when there was no session, only kept revocations retried). 401
//! when not signed in and nothing to retry (a cookie that does not open is
//! deleted, and the provider is not called); 403 for a cross-origin
//! request; 405 for other methods.
//!
//! `POST /api/auth/signout?retry` retries the kept revocations only, and
//! leaves alone a session signed in since (in another tab, maybe by
//! another user), and the tokens of that user's other sessions: 200
//! `{"retried": n, "revoked": bool, "retry": bool, "signedIn": bool}`,
//! `retried` 0 when nothing was left to retry (kept ten minutes, or
//! retried from another tab), `signedIn` whether a session of this browser
//! is still current. With `everywhere`, 400.

use http::request::Parts;
use http::{Method, StatusCode};
use serde_json::json;

use super::Route;
use crate::answer::{ErrorAnswer, Reply};
use crate::cookies::{RequestCookies, clear_all};
use crate::error::Error;
use crate::provider::Provider;
use crate::request::query_params;
use crate::response::{Response, json};
use crate::session::revocation::{self, Pending};
use crate::session::{self, Sessions, cookie};

pub(super) const ROUTE: Route = Route {
    method: Method::POST,
    name: "signout",
    errors: ErrorAnswer::Json,
    path: |paths| &paths.signout,
    handler: |provider, sessions, parts, reply| Box::pin(signout(provider, sessions, parts, reply)),
};

async fn signout(
    provider: &Provider,
    sessions: &Sessions,
    parts: &Parts,
    reply: &mut Reply,
) -> Result<Response, Error> {
    let origin = provider.origin(&parts.headers)?;
    // A page of another origin may not sign the user out (SameSite=Lax
    // already keeps the cookie off a cross-site request; this also refuses
    // a same-site one, from a sibling subdomain).
    if crate::origin::from_another_origin(&parts.headers, origin.as_str()) {
        return Err(Error::CrossOrigin);
    }
    let params = query_params(parts.uri.query(), &["everywhere", "retry"])?;
    let everywhere = flag(params.get("everywhere"), EVERYWHERE_VALUE)?;
    let retry_only = flag(params.get("retry"), RETRY_VALUE)?;
    if retry_only && everywhere {
        return Err(Error::BadRequest(
            "retry signs no one out: it cannot be asked with everywhere",
        ));
    }
    reply.origin = Some(origin.clone());
    let config = provider.config()?;
    let now = provider.now();
    let cookies = RequestCookies::parse(&parts.headers, &origin);
    let read = cookie::read(&cookies, &origin, config, now);
    reply.set_cookies.extend(clear_all(&origin, &read.stale));
    // Earlier failed revocations (this browser's earlier sign-outs, maybe
    // of another user): retried with this one, and kept again only if they
    // fail again.
    let (pending, clear_pending) = revocation::read(&cookies, &origin, config, now);
    reply.set_cookies.extend(clear_pending);
    // And sessions signed out of earlier that a late refresh brought back;
    // with `retry`, which leaves the current session alone, not those of
    // its user (a provider may revoke all of a user's grants to the app at
    // once, the current one with them), as a request's check leaves them.
    let staying = match &read.current {
        Some(current) if retry_only => Some(current.data.sub.as_str()),
        _ => None,
    };
    let earlier: Vec<Pending> = pending
        .into_iter()
        .chain(
            read.ended
                .iter()
                .filter(|ended| Some(ended.sub.as_str()) != staying)
                .map(Pending::of),
        )
        .collect();

    if retry_only {
        let body = json!({
            "retried": earlier.len(),
            "signedIn": read.current.is_some(),
        });
        return retried(body, earlier, provider, &origin, reply).await;
    }
    let mut body = json!({ "signedOut": true });
    let current = match read.current {
        Some(current) => {
            let data = current.data;
            reply.set_cookies.extend(clear_all(&origin, &current.names));
            // A refresh of this session still in flight answers with a
            // generation this response cannot name: the mark refuses it.
            reply
                .set_cookies
                .extend(cookie::ended_cookie(&origin, &data, now));
            // "Everywhere" first: it asks whether the session is still live
            // (a copy of an ended one may not end the user's new ones).
            let ended_everywhere = if everywhere {
                Some(session::end_everywhere(sessions, &data, provider.now_ms()).await)
            } else {
                None
            };
            session::end(sessions, &data).await;
            if let Some(ended_everywhere) = ended_everywhere {
                match ended_everywhere {
                    Ok(()) => body["everywhere"] = json!(true),
                    Err(e) => {
                        e.log("signout");
                        body["everywhere"] = json!(false);
                        body["everywhereError"] = json!(match e {
                            // A copy of a session that had ended (another
                            // device signed out everywhere, a retry after a
                            // lost answer): said as such, not "not signed in".
                            Error::NotSignedIn => ENDED_ALREADY,
                            e => e.description(),
                        });
                    }
                }
            }
            Some(Pending::of(&data))
        }
        None if earlier.is_empty() => return Err(Error::NotSignedIn),
        None => None,
    };
    // The session signed out of is revoked first: the earlier sets share
    // its deadline, and it is the one the user is waiting on.
    retried(
        body,
        current.into_iter().chain(earlier),
        provider,
        &origin,
        reply,
    )
    .await
}

/// Revokes `to_revoke`, keeps those the provider could not take for a
/// retry, and says so in `body` (`revoked`, `retry`).
async fn retried(
    mut body: serde_json::Value,
    to_revoke: impl IntoIterator<Item = Pending>,
    provider: &Provider,
    origin: &crate::origin::Origin,
    reply: &mut Reply,
) -> Result<Response, Error> {
    let revoked = revocation::revoke_all(to_revoke, provider, origin, "signout").await;
    body["revoked"] = json!(revoked.all);
    body["retry"] = json!(!revoked.kept.is_empty());
    reply.set_cookies.extend(revoked.kept);
    Ok(json(StatusCode::OK, &body))
}

const EVERYWHERE_VALUE: &str = "everywhere must be true or false, or have no value";
const RETRY_VALUE: &str = "retry must be true or false, or have no value";

/// A yes-or-no parameter (`everywhere`, `retry`): present bare, or
/// `true`/`1`, asks for it; absent, or `false`/`0`, does not (a page that
/// writes `?everywhere=false` means it); anything else is refused with
/// `refusal` rather than guessed.
fn flag(value: Option<&String>, refusal: &'static str) -> Result<bool, Error> {
    match value.map(String::as_str) {
        None | Some("false" | "0") => Ok(false),
        Some("" | "true" | "1") => Ok(true),
        Some(_) => Err(Error::BadRequest(refusal)),
    }
}

/// Why a session that had already ended does not sign its user out
/// everywhere.
const ENDED_ALREADY: &str = "This session had already ended; sign in again to sign out everywhere.";
