//! The cookie of a sign-out whose revocation failed: the session's tokens,
//! sealed (their own purpose and key), kept a few minutes so that the user
//! can retry what the provider did not do. The session itself is already
//! gone; this cookie signs no one in.
//!
//! `revoke.<id>` on http, `__Host-revoke.<id>` on https, like the session's
//! cookies. Every one a request carries that opens and is recent is
//! retried (a browser can hold several: a sign-out, a sign-in, another
//! sign-out within the ten minutes); the others are deleted.

use http::HeaderValue;
use serde::{Deserialize, Serialize};

use super::Sessions;
use super::cookie::SessionData;
use super::spent::revoked_key;
use crate::config::Config;
use crate::cookies::{
    REVOCATION_COOKIE, RequestCookies, clear_cookie, cookie_name, set_sealed_cookie,
};
use crate::error::Error;
use crate::origin::Origin;
use crate::provider::Provider;
use crate::revoke::Revocation;
use crate::seal::Purpose;
use crate::secret::{AccessToken, RefreshToken, random_token};

/// How long a failed revocation can be retried.
pub const REVOCATION_RETRY_SECS: i64 = 10 * 60;
/// The most pending revocations one request retries: a browser holds one
/// or two; more are copies someone made to have the app call the provider
/// on their behalf.
const MAX_PENDING: usize = 4;

/// The tokens a sign-out could not revoke.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    a: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<String>,
    /// When the tokens were last kept: the sign-out, or the last retry
    /// that failed (each keeps them for another window).
    t: i64,
}

/// Tokens still to revoke: from a request's cookie, or from a session no
/// cookie will hold any more.
pub(crate) struct Pending {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
}

impl Pending {
    /// The tokens of session `data`.
    pub(crate) fn of(data: &SessionData) -> Self {
        Self {
            access_token: AccessToken::new(data.access_token.clone()),
            refresh_token: data.refresh_token.clone().map(RefreshToken::new),
        }
    }

    /// Revokes them at the provider (RFC 7009).
    pub(crate) async fn revoke(&self, provider: &Provider, route: &str) -> Revocation {
        let refresh = self.refresh_token.as_ref();
        crate::revoke::revoke(provider, &self.access_token, refresh, route).await
    }

    /// Revokes them; when the provider could not be reached, also the
    /// `Set-Cookie` that keeps them sealed for a retry (none if even that
    /// cannot be written).
    pub(crate) async fn revoke_or_keep(
        &self,
        provider: &Provider,
        origin: &Origin,
        route: &str,
    ) -> (Revocation, Option<HeaderValue>) {
        let outcome = self.revoke(provider, route).await;
        let kept = (outcome == Revocation::Failed)
            .then(|| provider.config().ok())
            .flatten()
            .and_then(|config| {
                let refresh = self.refresh_token.as_ref();
                cookie(origin, config, &self.access_token, refresh, provider.now()).ok()
            });
        (outcome, kept)
    }
}

/// What revoking several sets of tokens came to.
pub(crate) struct Revoked {
    /// Whether the provider revoked every set.
    pub(crate) all: bool,
    /// The retry cookies of the sets it could not revoke
    /// ([`Pending::revoke_or_keep`]).
    pub(crate) kept: Vec<HeaderValue>,
}

/// Revokes each set of `pending`, in order, keeping those the provider
/// could not revoke for a retry. A set this instance revoked before (or
/// that the provider cannot revoke) counts as revoked without a call: a
/// copy of a cookie sent again does not make the app ask again
/// ([`super::spent`]).
pub(crate) async fn revoke_all(
    pending: impl IntoIterator<Item = Pending>,
    sessions: &Sessions,
    origin: &Origin,
    route: &str,
) -> Revoked {
    let mut revoked = Revoked {
        all: true,
        kept: Vec::new(),
    };
    let provider = &sessions.provider;
    for tokens in pending {
        let key = revoked_key(&tokens.access_token, tokens.refresh_token.as_ref());
        let outcome = match sessions.spent.revocation(&key, provider.now()) {
            Some(outcome) => outcome,
            None => {
                let (outcome, kept) = tokens.revoke_or_keep(provider, origin, route).await;
                sessions.spent.revoked(key, outcome, provider.now());
                revoked.kept.extend(kept);
                outcome
            }
        };
        revoked.all &= outcome == Revocation::Revoked;
    }
    revoked
}

/// What is authenticated with the seal: this relying party and the name.
fn context(config: &Config, name: &str) -> Vec<u8> {
    [
        b"revocation".as_slice(),
        config.issuer.as_bytes(),
        config.client_id.as_bytes(),
        name.as_bytes(),
    ]
    .join(&0u8)
}

/// The cookie keeping the tokens a sign-out could not revoke, for a retry.
pub(crate) fn cookie(
    origin: &Origin,
    config: &Config,
    access: &AccessToken,
    refresh: Option<&RefreshToken>,
    now: i64,
) -> Result<HeaderValue, Error> {
    let name = cookie_name(origin, REVOCATION_COOKIE, &random_token()[..8]);
    let stored = Stored {
        a: access.secret().to_owned(),
        r: refresh.map(|r| r.secret().to_owned()),
        t: now,
    };
    let json = serde_json::to_vec(&stored).map_err(|_| Error::UnstorableToken)?;
    set_sealed_cookie(
        origin,
        &name,
        REVOCATION_RETRY_SECS,
        (&config.keys, Purpose::Revocation, &context(config, &name)),
        &json,
    )
    .ok_or(Error::UnstorableToken)
}

/// The pending revocations of the request that open and are recent, and
/// the `Set-Cookie` values deleting all of the request's revocation
/// cookies (to send once the retries are done).
pub(crate) fn read(
    cookies: &RequestCookies,
    origin: &Origin,
    config: &Config,
    now: i64,
) -> (Vec<Pending>, Vec<HeaderValue>) {
    let mut pending = Vec::new();
    let mut clear = Vec::new();
    for (name, _, value) in cookies.family(origin, REVOCATION_COOKIE) {
        clear.push(clear_cookie(origin, name));
        let Some(opened) = config
            .keys
            .open(Purpose::Revocation, &context(config, name), value)
        else {
            continue;
        };
        let Ok(stored) = serde_json::from_slice::<Stored>(&opened.plaintext) else {
            continue;
        };
        let recent = now.saturating_sub(stored.t) <= REVOCATION_RETRY_SECS
            && stored.t <= now.saturating_add(60);
        let copy = pending
            .iter()
            .any(|p: &Pending| p.access_token.secret() == stored.a);
        if recent && !copy && pending.len() < MAX_PENDING {
            pending.push(Pending {
                access_token: AccessToken::new(stored.a),
                refresh_token: stored.r.map(RefreshToken::new),
            });
        }
    }
    (pending, clear)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;
    use http::header::COOKIE;

    fn config(secret: &str) -> Config {
        Config::from_lookup(|k| match k {
            "VERCEL_APP_CLIENT_ID" => Some("cl".into()),
            "AUTH_SECRET" => Some(secret.into()),
            _ => None,
        })
        .unwrap()
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef-revoke";

    fn cookie_at(origin: &Origin, config: &Config, now: i64) -> HeaderValue {
        let refresh = RefreshToken::new("vcr_pending");
        cookie(
            origin,
            config,
            &AccessToken::new("vca_pending"),
            Some(&refresh),
            now,
        )
        .unwrap()
    }

    fn request(set: &HeaderValue, origin: &Origin) -> RequestCookies {
        requests(std::slice::from_ref(set), origin)
    }

    /// What a browser sends back after every one of `set` was set.
    fn requests(set: &[HeaderValue], origin: &Origin) -> RequestCookies {
        let pairs: Vec<&str> = set
            .iter()
            .map(|c| c.to_str().unwrap().split(';').next().unwrap())
            .collect();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(&pairs.join("; ")).unwrap());
        RequestCookies::parse(&headers, origin)
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_pending_revocation_round_trips_sealed() {
        let origin = Origin::parse_configured("https://app.example.com").unwrap();
        let config = config(SECRET);
        let set = cookie_at(&origin, &config, 100);
        let text = set.to_str().unwrap();
        assert!(
            text.starts_with("__Host-revoke.") && text.contains("Max-Age=600"),
            "{text}"
        );
        assert!(!text.contains("vca_pending") && !text.contains("vcr_pending"));
        let (pending, clear) = read(&request(&set, &origin), &origin, &config, 200);
        let [pending] = <[Pending; 1]>::try_from(pending).ok().unwrap();
        assert_eq!(pending.access_token.secret(), "vca_pending");
        assert_eq!(pending.refresh_token.unwrap().secret(), "vcr_pending");
        assert_eq!(clear.len(), 1);
    }

    #[test]
    fn an_old_or_foreign_pending_revocation_is_only_deleted() {
        let origin = Origin::parse_configured("http://localhost:3000").unwrap();
        let set = cookie_at(&origin, &config(SECRET), 0);
        let cookies = request(&set, &origin);
        let (late, clear) = read(
            &cookies,
            &origin,
            &config(SECRET),
            REVOCATION_RETRY_SECS + 1,
        );
        assert!(late.is_empty() && clear.len() == 1);
        let other = config("another-secret-of-at-least-32-characters");
        assert!(read(&cookies, &origin, &other, 1).0.is_empty());
    }

    /// Retried for ten minutes after the sign-out, and from a clock at
    /// most a minute ahead; not outside that window.
    #[test]
    fn a_pending_revocation_is_retried_only_within_its_window() {
        let origin = Origin::parse_configured("http://localhost:3000").unwrap();
        let config = config(SECRET);
        let pending_at = |written: i64| {
            let cookies = request(&cookie_at(&origin, &config, written), &origin);
            read(&cookies, &origin, &config, NOW).0.len()
        };
        assert_eq!(pending_at(NOW - REVOCATION_RETRY_SECS), 1);
        assert_eq!(pending_at(NOW - REVOCATION_RETRY_SECS - 1), 0);
        assert_eq!(pending_at(NOW + 60), 1);
        assert_eq!(pending_at(NOW + 61), 0);
        // At either end of `i64`: outside the window, without an overflow.
        assert_eq!(pending_at(i64::MIN), 0);
        assert_eq!(pending_at(i64::MAX), 0);
    }

    /// A seal opens only under the cookie name it was sealed for: moved to
    /// another `revoke.<id>`, it is only deleted.
    #[test]
    fn a_pending_revocation_under_another_name_is_only_deleted() {
        let origin = Origin::parse_configured("http://localhost:3000").unwrap();
        let config = config(SECRET);
        let set = cookie_at(&origin, &config, NOW);
        let text = set.to_str().unwrap();
        let (_, rest) = text.split_once('=').unwrap();
        let moved = HeaderValue::from_str(&format!("revoke.elsewhere={rest}")).unwrap();
        let (pending, clear) = read(&request(&moved, &origin), &origin, &config, NOW);
        assert!(pending.is_empty());
        assert_eq!(clear.len(), 1);
    }

    /// Copies of one set of tokens are retried once, and no more than
    /// [`MAX_PENDING`] sets per request; every cookie is deleted.
    #[test]
    fn copies_are_retried_once_and_at_most_max_pending_sets() {
        let origin = Origin::parse_configured("http://localhost:3000").unwrap();
        let config = config(SECRET);
        let mut set: Vec<HeaderValue> = (0..=MAX_PENDING)
            .map(|n| {
                let access = AccessToken::new(format!("vca_{n}"));
                cookie(&origin, &config, &access, None, NOW).unwrap()
            })
            .collect();
        let (pending, clear) = read(&requests(&set, &origin), &origin, &config, NOW);
        assert_eq!((pending.len(), clear.len()), (MAX_PENDING, MAX_PENDING + 1));
        set.truncate(1);
        set.push(cookie_at(&origin, &config, NOW));
        set.push(cookie_at(&origin, &config, NOW));
        let (pending, _) = read(&requests(&set, &origin), &origin, &config, NOW);
        let tokens: Vec<_> = pending.iter().map(|p| p.access_token.secret()).collect();
        assert_eq!(tokens, ["vca_0", "vca_pending"]);
    }

    /// `revoke_all` says whether every set was revoked, and keeps for a
    /// retry only those the provider could not take; a set this instance
    /// revoked (or found unrevocable) before is answered as it was, with
    /// no call; a failure is asked again.
    #[tokio::test]
    async fn revoking_several_sets_says_whether_all_were_and_asks_once_for_each() {
        use crate::transport::tests::response;
        use crate::transport::{BoxFuture, HttpClient, HttpRequest, HttpResponse, TransportError};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        /// `*_down`'s tokens: out of reach; `vcr_never`: not revocable;
        /// the rest revoked. Counts the calls.
        #[derive(Default)]
        struct Revoker(AtomicUsize);
        impl HttpClient for Revoker {
            fn execute(
                &self,
                request: HttpRequest,
            ) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
                self.0.fetch_add(1, Ordering::SeqCst);
                let body = String::from_utf8_lossy(request.body()).into_owned();
                let answer = if body.contains("_down") {
                    response(503, "")
                } else if body.contains("vcr_never") {
                    response(400, r#"{"error":"unsupported_token_type"}"#)
                } else {
                    response(200, "")
                };
                Box::pin(async move { Ok(answer) })
            }
        }
        let client = Arc::new(Revoker::default());
        let calls = || client.0.load(Ordering::SeqCst);
        let provider = Arc::new(
            Provider::loaded(Ok(config(SECRET)))
                .with_http_client(client.clone())
                .with_clock(Arc::new(|| NOW)),
        );
        let sessions = Sessions::new(&provider);
        let origin = Origin::parse_configured("http://localhost:3000").unwrap();
        let all = |names: &[&str]| {
            names
                .iter()
                .map(|name| Pending {
                    access_token: AccessToken::new(format!("vca_{name}")),
                    refresh_token: Some(RefreshToken::new(format!("vcr_{name}"))),
                })
                .collect::<Vec<_>>()
        };

        let revoked = revoke_all(all(&["ok"]), &sessions, &origin, "signout").await;
        assert!(revoked.all && revoked.kept.is_empty());
        assert_eq!(calls(), 2, "the access token and the refresh token");

        for names in [&["ok", "down"][..], &["down"][..]] {
            let before = calls();
            let revoked = revoke_all(all(names), &sessions, &origin, "signout").await;
            assert!(!revoked.all, "{names:?}");
            assert_eq!(revoked.kept.len(), 1, "{names:?}: the failed set, kept");
            assert_eq!(calls() - before, 2, "{names:?}: only the failed set asks");
        }

        let before = calls();
        let revoked = revoke_all(all(&["never"]), &sessions, &origin, "signout").await;
        assert!(!revoked.all && revoked.kept.is_empty());
        assert_eq!(calls() - before, 2);
        let revoked = revoke_all(all(&["ok", "never"]), &sessions, &origin, "signout").await;
        assert!(
            !revoked.all && revoked.kept.is_empty(),
            "remembered as not revocable"
        );
        assert_eq!(calls() - before, 2, "no call for either set");
    }
}
