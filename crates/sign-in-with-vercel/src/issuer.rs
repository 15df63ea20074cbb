//! One OpenID Provider seen from here: its issuer identifier, its
//! metadata, built in or discovered once (a failed discovery answered
//! from memory for [`DISCOVERY_RETRY_AFTER`]), and its key set, cached and
//! refetched once when a token names a key the cached set lacks, or has a
//! signature the cached key does not verify (OpenID Connect Core §10.1.1).
//! The sign-in's [`Provider`](crate::Provider) has one; the marketplace
//! SSO exchange ([`crate::sso`]) has its own. Every call to a provider,
//! these and the protocol steps', goes through [`send`], within what is
//! left of the request's deadline.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use crate::clock::time_left;
use crate::discovery::{IssuerMetadata, ProviderMetadata, discovered};
use crate::error::{Endpoint, Error, UpstreamProblem};
use crate::id_token::{self, Expected, IdTokenClaims, IdTokenError};
use crate::jwks::{JwkSet, JwksCache};
use crate::jws::Algorithms;
use crate::secret::{AccessToken, IdToken, Nonce};
use crate::transport::{
    HttpClient, HttpRequest, HttpResponse, REQUEST_TIMEOUT, TransportError, Unbuildable,
};

/// Runs one provider call through `http`, within what is left of the
/// request's deadline ([`REQUEST_TIMEOUT`] outside a request). A request
/// that could not be built (an endpoint that is not a URL) is
/// [`Error::Unbuildable`], a configuration problem.
pub(crate) async fn send(
    http: &dyn HttpClient,
    endpoint: Endpoint,
    request: Result<HttpRequest, Unbuildable>,
) -> Result<HttpResponse, Error> {
    let request = request.map_err(|Unbuildable| Error::Unbuildable(endpoint))?;
    let left = time_left().unwrap_or(REQUEST_TIMEOUT);
    if left.is_zero() {
        return Err(endpoint.unreachable(TransportError::Timeout));
    }
    match tokio::time::timeout(left, http.execute(request)).await {
        Ok(result) => result.map_err(|t| endpoint.unreachable(t)),
        Err(_) => Err(endpoint.unreachable(TransportError::Timeout)),
    }
}

/// One OpenID Provider: its issuer identifier, its metadata (`M`: the
/// sign-in's whole [`ProviderMetadata`], or only what verifying its tokens
/// needs) and its keys.
pub(crate) struct Issuer<M = ProviderMetadata> {
    issuer: String,
    metadata: OnceCell<M>,
    failed_discovery: RecentFailure,
    jwks: JwksCache,
    /// Held while the key set is fetched: the requests that find the
    /// cache cold or stale at once (a cold instance's parallel sign-ins,
    /// a busy one's every ten minutes) wait for one fetch and take what it
    /// brought, rather than each asking the provider.
    fetching: tokio::sync::Mutex<()>,
}

/// How long a failed discovery stands for the instance: its requests
/// within this time get the same error at once, without a call. While a
/// provider does not answer, each request would otherwise wait its own
/// call out (up to 8 s; the instance's requests queue for
/// the one discovery in flight, then each tries again), and an issuer
/// already in trouble would get a discovery request for every request the
/// app serves.
pub const DISCOVERY_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The last failure of a call many requests wait on (discovery), and when
/// it came.
#[derive(Default)]
struct RecentFailure(Mutex<Option<(Instant, Error)>>);

impl RecentFailure {
    /// The failure, if it came within [`DISCOVERY_RETRY_AFTER`].
    fn get(&self) -> Option<Error> {
        let failure = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        failure
            .as_ref()
            .filter(|(at, _)| at.elapsed() < DISCOVERY_RETRY_AFTER)
            .map(|(_, error)| error.clone())
    }

    /// Remembers `error`, unless it is a call cut off by its request's
    /// deadline (a timeout with no time left): that says nothing of the
    /// provider.
    fn note(&self, error: &Error) {
        let cut_off = matches!(
            error,
            Error::Upstream(_, UpstreamProblem::Transport(TransportError::Timeout))
        ) && time_left().is_some_and(|left| left.is_zero());
        if !cut_off {
            *self.0.lock().unwrap_or_else(PoisonError::into_inner) =
                Some((Instant::now(), error.clone()));
        }
    }
}

/// What an ID token must match besides the issuer and the clock, which
/// the [`Issuer`] and its caller supply.
pub(crate) struct Audience<'a> {
    /// The client ID that must be an audience.
    pub client_id: &'a str,
    /// The other audiences the client trusts (OpenID Connect Core
    /// §3.1.3.7 step 3): `VERCEL_OAUTH_TRUSTED_AUDIENCES`, none by default.
    pub trusted: &'a [String],
    /// The access token that came with the ID token (`at_hash`).
    pub access_token: Option<&'a AccessToken>,
    /// The nonce sent in the authorization request.
    pub nonce: Option<&'a Nonce>,
    /// The signed-in user, for the ID token of a refresh.
    pub subject: Option<&'a str>,
}

impl<M: IssuerMetadata> Issuer<M> {
    /// The provider whose issuer identifier is `issuer`; `known` metadata
    /// (Vercel's, built in) spares the discovery request.
    pub(crate) fn new(issuer: String, known: Option<M>) -> Self {
        Self {
            issuer,
            metadata: OnceCell::new_with(known),
            failed_discovery: RecentFailure::default(),
            jwks: JwksCache::default(),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// The provider's metadata: built in, or discovered once per instance
    /// (OpenID Connect Discovery §4). A failed discovery stands for
    /// [`DISCOVERY_RETRY_AFTER`], then the next request tries again.
    pub(crate) async fn metadata(&self, http: &dyn HttpClient) -> Result<&M, Error> {
        self.metadata
            .get_or_try_init(|| async {
                if let Some(failed) = self.failed_discovery.get() {
                    return Err(failed);
                }
                let request = ProviderMetadata::request(&self.issuer);
                send(http, Endpoint::Discovery, request)
                    .await
                    .and_then(|response| discovered(&self.issuer, &response))
                    .inspect_err(|failed| self.failed_discovery.note(failed))
            })
            .await
    }

    /// The key set: cached for [`crate::jwks::JWKS_TTL_SECS`], or fetched
    /// now (`fresh`, or when the cache is stale), one fetch at a time: a
    /// call that waited for another's fetch (no longer than its own
    /// deadline) takes the set it brought. The flag says whether this call
    /// fetched the set itself: one another call fetched may have been
    /// asked for before this call began, so a token naming a key it lacks
    /// still gets its one forced refetch.
    async fn keys(
        &self,
        http: &dyn HttpClient,
        jwks_uri: &str,
        fresh: bool,
        now: i64,
    ) -> Result<(Arc<JwkSet>, bool), Error> {
        if !fresh && let Some(set) = self.jwks.get(now) {
            return Ok((set, false));
        }
        let seen = self.jwks.stored();
        let _one_fetch = match time_left() {
            Some(left) => tokio::time::timeout(left, self.fetching.lock())
                .await
                .map_err(|_| Endpoint::Jwks.unreachable(TransportError::Timeout))?,
            None => self.fetching.lock().await,
        };
        if self.jwks.stored() != seen
            && let Some(set) = self.jwks.latest()
        {
            // Another call's fetch, which may have been sent before this
            // call began: not this call's own (a token naming a key it
            // lacks still gets its forced refetch).
            return Ok((set, false));
        }
        let mut request = JwkSet::request(jwks_uri);
        if fresh && let Ok(request) = &mut request {
            // A rotation the cached set does not show: a cache on the way
            // (a CDN in front of the provider) may not either.
            request.headers_mut().insert(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-cache"),
            );
        }
        let response = send(http, Endpoint::Jwks, request).await?;
        let set = Arc::new(JwkSet::from_response(&response)?);
        self.jwks.store(set.clone(), now);
        Ok((set, true))
    }

    /// Fetches the key set unless a fresh one is cached, so that an ID token
    /// on its way can be verified without waiting for it: a cold instance's
    /// callback fetches the keys while its code is exchanged. A failure is
    /// left to [`Issuer::verify`], which fetches again and reports it; a
    /// token naming a key the prefetched set lacks also gets its one
    /// refetch, as on a warm instance.
    pub(crate) async fn prefetch_keys(&self, http: &dyn HttpClient, now: i64) {
        if let Ok(metadata) = self.metadata(http).await {
            let _ = self.keys(http, metadata.jwks_uri(), false, now).await;
        }
    }

    /// Verifies an ID token of this issuer (OpenID Connect Core §3.1.3.7).
    /// A key rotation (§10.1.1) shows up against a cached key set as a
    /// token naming a key the set lacks, or, when the provider replaces a
    /// key under the same `kid` (or the one key of the token's algorithm in
    /// a set whose tokens name none), as a signature the cached key does
    /// not verify: either way the set is fetched again and the token
    /// verified once more. At most one
    /// fetch per verification (none more when this verification fetched
    /// it; a set fetched just before, as a cold callback's prefetch does,
    /// counts as cached). A bad signature whose refetch fails stays a bad
    /// signature: only a key the set lacks is "the keys did not load".
    pub(crate) async fn verify(
        &self,
        http: &dyn HttpClient,
        token: &IdToken,
        audience: &Audience<'_>,
        now: i64,
    ) -> Result<IdTokenClaims, Error> {
        let metadata = self.metadata(http).await?;
        let expected = expected(metadata, audience, now);
        let (keys, fetched) = self.keys(http, metadata.jwks_uri(), false, now).await?;
        match id_token::verify(token, &keys, &expected) {
            Err(refused @ (IdTokenError::UnknownKey | IdTokenError::BadSignature)) if !fetched => {
                let keys = match self.keys(http, metadata.jwks_uri(), true, now).await {
                    Ok((keys, _)) => keys,
                    Err(_) if refused == IdTokenError::BadSignature => return Err(refused.into()),
                    Err(unavailable) => return Err(unavailable),
                };
                Ok(id_token::verify(token, &keys, &expected)?)
            }
            result => Ok(result?),
        }
    }

    /// Checks the claims of an ID token the token endpoint has just
    /// returned, without its signature, as [`id_token::check_unsigned`]
    /// does: only for a refresh's ID token whose key set cannot be fetched.
    pub(crate) async fn check_unsigned(
        &self,
        http: &dyn HttpClient,
        token: &IdToken,
        audience: &Audience<'_>,
        now: i64,
    ) -> Result<(), Error> {
        let metadata = self.metadata(http).await?;
        Ok(id_token::check_unsigned(
            token,
            &expected(metadata, audience, now),
        )?)
    }
}

/// What an ID token of the issuer `metadata` describes must match for
/// `audience`, at `now`.
fn expected<'a>(
    metadata: &'a impl IssuerMetadata,
    audience: &Audience<'a>,
    now: i64,
) -> Expected<'a> {
    Expected {
        issuer: metadata.issuer(),
        client_id: audience.client_id,
        trusted_audiences: audience.trusted,
        nonce: audience.nonce,
        subject: audience.subject,
        access_token: audience.access_token,
        now,
        algorithms: Algorithms::accepted(metadata.signing_algorithms()),
    }
}

#[cfg(test)]
impl<M> Issuer<M> {
    /// Ages the remembered discovery failure by `by`.
    pub(crate) fn age_failed_discovery(&self, by: Duration) {
        let mut failure = self.failed_discovery.0.lock().unwrap();
        let (at, _) = failure.as_mut().expect("a failure is remembered");
        *at = at.checked_sub(by).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use serde_json::{Value, json};

    use super::*;
    use crate::discovery::KeyMetadata;
    use crate::id_token::tests::{
        KEY_B, KID_EC, NOW, Signing, claims, ec_jwk, jwk, jwk_of, sign, sign_ec,
    };

    use crate::transport::tests::response;
    use crate::transport::{BoxFuture, HttpRequest, HttpResponse};

    /// An issuer's key set endpoint serving `keys`, counting its fetches.
    struct KeyServer {
        keys: Mutex<Vec<Value>>,
        fetches: AtomicUsize,
        /// Each fetch's `Cache-Control`, in order (`None` without one).
        cache_control: Mutex<Vec<Option<String>>>,
        /// Answers every fetch with a connection failure.
        down: AtomicBool,
    }

    impl KeyServer {
        fn serving(keys: Vec<Value>) -> Self {
            Self {
                keys: Mutex::new(keys),
                fetches: AtomicUsize::new(0),
                cache_control: Mutex::default(),
                down: Default::default(),
            }
        }

        fn go_down(&self) {
            self.down.store(true, Ordering::SeqCst);
        }

        fn serve(&self, keys: Vec<Value>) {
            *self.keys.lock().unwrap() = keys;
        }

        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }
    }

    impl HttpClient for KeyServer {
        fn execute(
            &self,
            request: HttpRequest,
        ) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            let cache_control = request
                .headers()
                .get(http::header::CACHE_CONTROL)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
            self.cache_control.lock().unwrap().push(cache_control);
            if self.down.load(Ordering::SeqCst) {
                return Box::pin(async { Err(TransportError::Connect) });
            }
            let body = json!({ "keys": *self.keys.lock().unwrap() }).to_string();
            Box::pin(async move { Ok(response(200, &body)) })
        }
    }

    fn issuer() -> Issuer<KeyMetadata> {
        issuer_signing(None)
    }

    /// What a refreshed ID token of user `u1`, for client `cl`, must match.
    const REFRESH_OF_U1: Audience<'static> = Audience {
        client_id: "cl",
        trusted: &[],
        access_token: None,
        nonce: None,
        subject: Some("u1"),
    };

    /// The issuer, its metadata listing `algorithms` as its
    /// `id_token_signing_alg_values_supported`.
    fn issuer_signing(algorithms: Option<&[&str]>) -> Issuer<KeyMetadata> {
        let metadata = KeyMetadata {
            issuer: "https://op.example".into(),
            jwks_uri: "https://op.example/jwks".into(),
            id_token_signing_alg_values_supported: algorithms
                .map(|list| list.iter().map(|alg| (*alg).to_owned()).collect()),
        };
        Issuer::new(metadata.issuer.clone(), Some(metadata))
    }

    /// What the issuer's metadata lists decides whether its ES256 ID tokens
    /// are accepted, signed or (a refresh whose keys did not load)
    /// unsigned; Vercel's lists RS256 only.
    #[tokio::test]
    async fn es256_is_accepted_from_an_issuer_whose_metadata_lists_it() {
        let keys = KeyServer::serving(vec![jwk(), ec_jwk()]);
        let token = sign_ec(&claims(), "ES256", Some(KID_EC), false);
        let audience = REFRESH_OF_U1;
        let unsupported = || Error::IdToken(IdTokenError::UnsupportedAlgorithm("ES256".into()));
        for (listed, accepted) in [
            (Some(&["RS256", "ES256"][..]), true),
            (Some(&["ES256"][..]), true),
            (Some(&["RS256"][..]), false),
            (Some(&[][..]), false),
            (None, false),
        ] {
            let issuer = issuer_signing(listed);
            let signed = issuer.verify(&keys, &token, &audience, NOW).await;
            let unsigned = issuer.check_unsigned(&keys, &token, &audience, NOW).await;
            if accepted {
                assert!(signed.is_ok(), "{listed:?}: {signed:?}");
                assert!(unsigned.is_ok(), "{listed:?}: {unsigned:?}");
            } else {
                assert_eq!(signed.map(drop), Err(unsupported()), "{listed:?}");
                assert_eq!(unsigned, Err(unsupported()), "{listed:?}");
            }
        }
        assert_eq!(
            expected(&ProviderMetadata::vercel(), &audience, NOW).algorithms,
            Algorithms::DEFAULT,
            "Vercel signs RS256 only"
        );
    }

    /// A token signed as `signing`, verified as a refresh of `u1`.
    async fn verify_signed(
        issuer: &Issuer<KeyMetadata>,
        keys: &KeyServer,
        signing: Signing,
    ) -> Result<(), Error> {
        let token = IdToken::new(sign(&claims(), signing));
        let audience = REFRESH_OF_U1;
        issuer.verify(keys, &token, &audience, NOW).await.map(drop)
    }

    /// An issuer whose key set (key A) is cached, and its key server.
    async fn warm() -> (Issuer<KeyMetadata>, KeyServer) {
        let (issuer, keys) = (issuer(), KeyServer::serving(vec![jwk()]));
        issuer.prefetch_keys(&keys, NOW).await;
        (issuer, keys)
    }

    #[tokio::test]
    async fn a_key_replaced_under_the_same_kid_refetches_the_cached_set_once() {
        let (issuer, keys) = warm().await;
        // The provider replaces key A by key B, keeping the `kid`.
        keys.serve(vec![jwk_of(KEY_B)]);
        assert_eq!(
            verify_signed(&issuer, &keys, Signing::ForeignKey).await,
            Ok(())
        );
        assert_eq!(keys.fetches(), 2);
        // The refetch asks past a cache on the way (a CDN in front of the
        // provider would hide the rotation too); the first fetch does not.
        assert_eq!(
            *keys.cache_control.lock().unwrap(),
            [None, Some("no-cache".to_owned())]
        );
        // The refetched set is cached: the next token needs no fetch.
        assert_eq!(
            verify_signed(&issuer, &keys, Signing::ForeignKey).await,
            Ok(())
        );
        assert_eq!(keys.fetches(), 2);
    }

    #[tokio::test]
    async fn a_bad_signature_refetches_at_most_once_per_verification() {
        let (issuer, keys) = warm().await;
        let refused = Err(Error::IdToken(IdTokenError::BadSignature));
        assert_eq!(
            verify_signed(&issuer, &keys, Signing::ForeignKey).await,
            refused
        );
        assert_eq!(keys.fetches(), 2, "one refetch");
        assert_eq!(
            verify_signed(&issuer, &keys, Signing::ForeignKey).await,
            refused
        );
        assert_eq!(keys.fetches(), 3, "one refetch each");
    }

    /// Only a key the set lacks may be "the keys did not load" (which a
    /// refresh survives on its claims alone): a signature the cached key
    /// refuses stays refused when the refetch fails.
    #[tokio::test]
    async fn a_bad_signature_whose_refetch_fails_stays_a_bad_signature() {
        let (issuer, keys) = warm().await;
        keys.go_down();
        assert_eq!(
            verify_signed(&issuer, &keys, Signing::ForeignKey).await,
            Err(Error::IdToken(IdTokenError::BadSignature))
        );
        assert_eq!(keys.fetches(), 2, "the refetch was tried");
        assert!(
            matches!(
                verify_signed(&issuer, &keys, Signing::UnpublishedKid).await,
                Err(Error::Upstream(..))
            ),
            "a key the set lacks, with the set unreachable, is the provider's outage"
        );
    }

    /// Requests that find the key set's cache cold at once (a cold
    /// instance's parallel sign-ins) wait for one fetch, and so do forced
    /// refetches (a rotation seen by several tokens at once): the provider
    /// is asked once, not once a request.
    #[tokio::test(start_paused = true)]
    async fn parallel_requests_on_a_cold_cache_fetch_the_key_set_once() {
        let (issuer, keys) = (issuer(), KeyServer::serving(vec![jwk()]));
        let slow = Hanging(&keys, 100);
        let uri = "https://op.example/jwks";
        let (a, b, c) = tokio::join!(
            issuer.keys(&slow, uri, false, NOW),
            issuer.keys(&slow, uri, false, NOW),
            issuer.keys(&slow, uri, false, NOW),
        );
        assert_eq!(keys.fetches(), 1);
        let fetched: Vec<bool> = [a, b, c].map(|r| r.unwrap().1).into();
        assert_eq!(
            fetched.iter().filter(|f| **f).count(),
            1,
            "one fetched it, the others took it: {fetched:?}"
        );
        let (a, b) = tokio::join!(
            issuer.keys(&slow, uri, true, NOW),
            issuer.keys(&slow, uri, true, NOW),
        );
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(keys.fetches(), 2, "one forced refetch for both");
        // Warm: no fetch, and not fetched by the call.
        assert!(!issuer.keys(&slow, uri, false, NOW).await.unwrap().1);
        assert_eq!(keys.fetches(), 2);
    }

    #[tokio::test]
    async fn a_bad_signature_against_a_set_fetched_for_it_is_not_refetched() {
        let (issuer, keys) = (issuer(), KeyServer::serving(vec![jwk()]));
        let refused = Err(Error::IdToken(IdTokenError::BadSignature));
        assert_eq!(
            verify_signed(&issuer, &keys, Signing::ForeignKey).await,
            refused
        );
        assert_eq!(keys.fetches(), 1);
    }

    /// A key set endpoint that answers after `.1` ms, with the set it
    /// served when the request was sent.
    struct Hanging<'a>(&'a KeyServer, u64);

    impl HttpClient for Hanging<'_> {
        fn execute(
            &self,
            request: HttpRequest,
        ) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
            let answer = self.0.execute(request);
            let ms = self.1;
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                answer.await
            })
        }
    }

    /// A request that waits for another's key-set fetch keeps to its own
    /// deadline (a callback late from a slow exchange still has the time
    /// to revoke; a refresh, to end before its claim lapses), not to the
    /// fetch's.
    #[tokio::test(start_paused = true)]
    async fn a_request_waiting_for_the_key_set_keeps_to_its_own_deadline() {
        let (issuer, keys) = (issuer(), KeyServer::serving(vec![jwk()]));
        let hanging = Hanging(&keys, 60_000);
        let uri = "https://op.example/jwks";
        let start = tokio::time::Instant::now();
        let holder = crate::clock::with_deadline_in(
            Duration::from_secs(7),
            issuer.keys(&hanging, uri, false, NOW),
        );
        let waiter = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let r = crate::clock::with_deadline_in(
                Duration::from_secs(1),
                issuer.keys(&hanging, uri, false, NOW),
            )
            .await;
            (r.is_ok(), start.elapsed())
        };
        let (_, (ok, waited)) = tokio::join!(holder, waiter);
        assert!(!ok);
        assert!(
            waited <= Duration::from_millis(1_100),
            "the waiter had 1 s left and answered after {waited:?}"
        );
    }

    /// A verification that waited for another's fetch, asked for before
    /// the provider replaced its key, still refetches for a token the set
    /// does not verify: the set was not fetched for it.
    #[tokio::test(start_paused = true)]
    async fn a_set_asked_for_before_a_verification_began_is_not_its_refetch() {
        let (issuer, keys) = (issuer(), KeyServer::serving(vec![jwk()]));
        let slow = Hanging(&keys, 100);
        let uri = "https://op.example/jwks";
        let other = issuer.keys(&slow, uri, false, NOW);
        let mine = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            // The provider replaces key A by key B (same kid) and signs
            // this token with B.
            keys.serve(vec![jwk_of(KEY_B)]);
            let token = IdToken::new(sign(&claims(), Signing::ForeignKey));
            issuer
                .verify(&Hanging(&keys, 100), &token, &REFRESH_OF_U1, NOW)
                .await
                .map(drop)
        };
        let (_, mine) = tokio::join!(other, mine);
        assert_eq!(mine, Ok(()), "fetches: {}", keys.fetches());
    }

    /// A request whose clock read a second before the fetch it waited for
    /// takes that set all the same, without fetching again.
    #[tokio::test(start_paused = true)]
    async fn a_waiter_a_second_behind_takes_the_set_it_waited_for() {
        let (issuer, keys) = (issuer(), KeyServer::serving(vec![jwk()]));
        let slow = Hanging(&keys, 100);
        let uri = "https://op.example/jwks";
        let (a, b) = tokio::join!(
            issuer.keys(&slow, uri, false, NOW + 1),
            issuer.keys(&slow, uri, false, NOW),
        );
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(keys.fetches(), 1);
    }
}
