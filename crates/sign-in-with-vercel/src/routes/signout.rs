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
        return retried(body, earlier, sessions, &origin, reply).await;
    }
    let current = match read.current {
        Some(current) => {
            reply.set_cookies.extend(clear_all(&origin, &current.names));
            // A refresh of this session still in flight answers with a
            // generation this response cannot name: the mark refuses it.
            reply
                .set_cookies
                .extend(cookie::ended_cookie(&origin, &current.data, now));
            Some(current.data)
        }
        None if earlier.is_empty() => return Err(Error::NotSignedIn),
        None => None,
    };
    // The store's end and the revocations run as a task of their own: a
    // sign-out cut off (the tab closed) once the store took the end still
    // revokes the tokens, which no cookie would hold any more.
    let (sessions, task_origin) = (sessions.clone(), origin.clone());
    let (body, revoked) = crate::clock::to_the_end(async move {
        let mut body = json!({ "signedOut": true });
        if let Some(data) = &current {
            // "Everywhere" first: it asks whether the session is still
            // live (a copy of an ended one may not end the user's new ones).
            let ended_everywhere = if everywhere {
                let now_ms = sessions.provider.now_ms();
                Some(session::end_everywhere(&sessions, data, now_ms).await)
            } else {
                None
            };
            session::end(&sessions, data).await;
            if let Some(ended_everywhere) = ended_everywhere {
                everywhere_said(&mut body, ended_everywhere);
            }
        }
        // The session signed out of is revoked first: the earlier sets
        // share its deadline, and it is the one the user is waiting on.
        let to_revoke = current.as_ref().map(Pending::of).into_iter().chain(earlier);
        let revoked = revocation::revoke_all(to_revoke, &sessions, &task_origin, "signout").await;
        (body, revoked)
    })
    .await
    .ok_or(Error::Upstream(
        crate::error::Endpoint::Revocation,
        crate::error::UpstreamProblem::Transport(crate::TransportError::Other),
    ))?;
    Ok(revoked_answer(body, revoked, reply))
}

/// Says in `body` how "sign out everywhere" went.
fn everywhere_said(body: &mut serde_json::Value, ended_everywhere: Result<(), Error>) {
    match ended_everywhere {
        Ok(()) => body["everywhere"] = json!(true),
        Err(e) => {
            e.log("signout");
            body["everywhere"] = json!(false);
            body["everywhereError"] = json!(match e {
                // A copy of a session that had ended (another device
                // signed out everywhere, a retry after a lost answer):
                // said as such, not "not signed in".
                Error::NotSignedIn => ENDED_ALREADY,
                e => e.description(),
            });
        }
    }
}

/// The answer once `revoked`: `revoked` and `retry` said in `body`, the
/// sets the provider could not take kept in `reply` for a retry.
fn revoked_answer(
    mut body: serde_json::Value,
    revoked: revocation::Revoked,
    reply: &mut Reply,
) -> Response {
    body["revoked"] = json!(revoked.all);
    body["retry"] = json!(!revoked.kept.is_empty());
    reply.set_cookies.extend(revoked.kept);
    json(StatusCode::OK, &body)
}

/// Revokes `to_revoke`, keeps those the provider could not take for a
/// retry, and says so in `body` (`revoked`, `retry`).
async fn retried(
    body: serde_json::Value,
    to_revoke: impl IntoIterator<Item = Pending>,
    sessions: &Sessions,
    origin: &crate::origin::Origin,
    reply: &mut Reply,
) -> Result<Response, Error> {
    let revoked = revocation::revoke_all(to_revoke, sessions, origin, "signout").await;
    Ok(revoked_answer(body, revoked, reply))
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use crate::origin::Origin;
    use crate::session::cookie::{
        self,
        tests::{NOW, data},
    };
    use crate::transport::tests::response;
    use crate::transport::{BoxFuture, HttpClient, HttpRequest, HttpResponse, TransportError};

    /// Vercel: its revocation endpoint answers each call in a second, and
    /// counts those it answered; its userinfo refuses every token at once.
    #[derive(Default)]
    struct SlowRevocation(AtomicUsize);

    impl HttpClient for SlowRevocation {
        fn execute(
            &self,
            request: HttpRequest,
        ) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
            let revocation = request.uri().path() == "/login/oauth/token/revoke";
            Box::pin(async move {
                if !revocation {
                    return Ok(response(401, ""));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                self.0.fetch_add(1, Ordering::SeqCst);
                Ok(response(200, ""))
            })
        }
    }

    /// `request` of `session` (a `method` to `path` from the app's own
    /// page), sent to its route and cut off after half a second; the
    /// revocations Vercel answered within two seconds more.
    async fn cut_off(
        method: http::Method,
        path: &str,
        route: &'static crate::Route,
        session: &crate::session::cookie::SessionData,
    ) -> usize {
        let lookup = |k: &str| match k {
            "VERCEL_APP_CLIENT_ID" => Some("cl".to_owned()),
            "VERCEL_APP_CLIENT_SECRET" => Some("cl-secret".to_owned()),
            "AUTH_SECRET" => Some("0123456789abcdef0123456789abcdef-cookie".to_owned()),
            _ => None,
        };
        let vercel = Arc::new(SlowRevocation::default());
        let auth = crate::Auth::from_lookup(lookup)
            .with_http_client(vercel.clone())
            .with_clock(Arc::new(|| NOW + 10));
        let config = crate::Config::from_lookup(lookup).unwrap();
        let origin = Origin::parse_configured("http://localhost:3000").unwrap();
        let sealed = cookie::write(&origin, &config, session, NOW).unwrap();
        let pair = sealed.set_cookies[0].to_str().unwrap();
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, "localhost:3000")
            .header(http::header::ORIGIN, "http://localhost:3000")
            .header(http::header::COOKIE, pair.split(';').next().unwrap())
            .body(())
            .unwrap();
        let answering = auth.serve(route, request);
        let cut_off = tokio::time::timeout(Duration::from_millis(500), answering).await;
        assert!(cut_off.is_err(), "not cut off");
        tokio::time::sleep(Duration::from_secs(2)).await;
        vercel.0.load(Ordering::SeqCst)
    }

    /// A sign-out cut off (the tab closed) while the provider revokes the
    /// session's tokens: the revocation goes on to its end. The session
    /// was ended already (with a store, in every instance), and its
    /// cookie, deleted by the next answer, is the only holder of tokens
    /// that would otherwise live on at the provider.
    #[tokio::test(start_paused = true)]
    async fn a_sign_out_cut_off_still_revokes_its_tokens() {
        let revoked = cut_off(
            http::Method::POST,
            "/api/auth/signout",
            &crate::SIGNOUT,
            &data(),
        )
        .await;
        assert_eq!(revoked, 2, "the access and refresh tokens revoked");
    }

    /// So does a session the provider's answer ended (user-info: its
    /// access token refused, no refresh token to try), cut off while its
    /// token is revoked.
    #[tokio::test(start_paused = true)]
    async fn an_ended_session_cut_off_still_revokes_its_token() {
        let mut session = data();
        session.refresh_token = None;
        let revoked = cut_off(
            http::Method::GET,
            "/api/user-info",
            &crate::USER_INFO,
            &session,
        )
        .await;
        assert_eq!(revoked, 1, "the access token revoked");
    }
}
