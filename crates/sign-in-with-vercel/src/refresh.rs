//! The refresh token grant (RFC 6749 §6), and the check of the ID token
//! that comes with its answer (OpenID Connect Core §12.2).
//!
//! Once the token endpoint has answered with tokens, the old refresh token
//! is spent (Vercel rotates it), so the new tokens are returned even when
//! the ID token's signature cannot be checked for a transport reason (the
//! key set did not load). Its claims are checked all the same, unsigned,
//! as OpenID Connect Core §3.1.3.7 step 6 allows for an ID token received
//! directly from the token endpoint; claims are returned only from an ID
//! token that verified.

use crate::client_auth::{authenticated_form, token_endpoint_method};
use crate::config::{ClientAuthMethod, Config};
use crate::error::{Endpoint, Error};
use crate::id_token::{IdTokenClaims, IdTokenError};
use crate::provider::Provider;
use crate::revoke;
use crate::secret::{IdToken, RefreshToken};
use crate::token;
use crate::transport::{HttpRequest, TransportError, Unbuildable};

/// The least time left of a request's deadline a refresh's token call is
/// made in: a token endpoint answers in well under a second.
pub(crate) const MIN_TIME_TO_REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// The refresh token grant request (RFC 6749 §6), with the client's
/// authentication `method` (§2.3).
pub fn request(
    token_endpoint: &str,
    config: &Config,
    method: ClientAuthMethod,
    refresh_token: &RefreshToken,
) -> Result<HttpRequest, Unbuildable> {
    let params = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.secret()),
    ];
    authenticated_form(token_endpoint, config, method, params)
}

/// What a refresh brought: the provider's new tokens, and the claims of
/// the ID token that came with them when it verified.
pub(crate) struct Renewed {
    /// The token endpoint's answer (its ID token already checked).
    pub tokens: token::TokenResponse,
    /// The verified claims; `None` when there was no ID token, or when its
    /// signature could not be checked for a transport reason (the key set
    /// did not load) and its claims, checked unsigned, passed: then the
    /// caller keeps the claims it had.
    pub claims: Option<IdTokenClaims>,
}

/// Exchanges `refresh_token` of user `sub` (RFC 6749 §6). A refreshed ID
/// token must be about the same user (OpenID Connect Core §12.2); one that
/// is definitely wrong (another user, a bad signature, or, when the keys
/// did not load, a claim that fails its check) fails the refresh, and the
/// tokens it came with are revoked, since nobody will hold them.
pub(crate) async fn grant(
    provider: &Provider,
    refresh_token: &RefreshToken,
    sub: &str,
) -> Result<Renewed, Error> {
    let config = provider.config()?;
    let metadata = provider.metadata().await?;
    // A call that may not finish in what is left of the request's
    // deadline could spend the refresh token at the provider and lose the
    // new one on the way back: the rest of the burst would then spend the
    // old one again and be refused. Not made; the session is kept, and
    // the next request refreshes with time to finish.
    if crate::clock::time_left().is_some_and(|left| left < MIN_TIME_TO_REFRESH) {
        return Err(Endpoint::Token.unreachable(TransportError::Timeout));
    }
    let call = provider.send(
        Endpoint::Token,
        request(
            &metadata.token_endpoint,
            config,
            token_endpoint_method(config, metadata),
            refresh_token,
        ),
    );
    // Meanwhile the provider's keys, when this instance has none fresh,
    // for the refreshed ID token (a cold instance's refresh waits for one
    // round trip less, as a cold callback does). Only an answer with an ID
    // token waits for them: a refusal, a failure or an answer without one
    // is answered at once, the fetch dropped.
    let prefetch = provider.prefetch_keys();
    tokio::pin!(call, prefetch);
    let mut prefetched = false;
    let response = loop {
        tokio::select! {
            biased;
            response = &mut call => break response?,
            () = &mut prefetch, if !prefetched => prefetched = true,
        }
    };
    let tokens = revoke::parsed_or_unheld(provider, &response, "refresh").await?;
    if tokens.id_token.is_some() && !prefetched {
        prefetch.await;
    }
    let claims = match &tokens.id_token {
        None => None,
        Some(id_token) => match checked(provider, id_token, &tokens, sub).await {
            Ok(claims) => claims,
            Err(e) => {
                revoke::unheld(provider, &tokens, "refresh").await;
                return Err(e);
            }
        },
    };
    Ok(Renewed { tokens, claims })
}

/// The refreshed ID token's claims when it verified; `None` when its key
/// set could not be fetched, or does not list its key even fetched again
/// (a rotation the set does not show yet, behind a cache), and its claims,
/// checked unsigned, pass.
async fn checked(
    provider: &Provider,
    id_token: &IdToken,
    tokens: &token::TokenResponse,
    sub: &str,
) -> Result<Option<IdTokenClaims>, Error> {
    match provider
        .verify_id_token(id_token, &tokens.access_token, None, Some(sub))
        .await
    {
        Ok(claims) => Ok(Some(claims)),
        // The key set could not be fetched: the provider has rotated the
        // tokens all the same, so they must be kept, if the ID token that
        // came with them, straight from the token endpoint (§3.1.3.7 step
        // 6), is about this user, for this client, and current. A key the
        // set does not list is the same: a provider signing with a new key
        // before every copy of its set shows it. A signature the listed
        // key refuses is not.
        Err(e @ (Error::Upstream(..) | Error::IdToken(IdTokenError::UnknownKey))) => {
            provider
                .check_refreshed_id_token_unsigned(id_token, &tokens.access_token, sub)
                .await?;
            e.log("refresh");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::id_token::IdTokenError;
    use crate::id_token::tests::{NOW, Signing, claims, jwk, sign};
    use crate::transport::tests::{Fake, response};

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    /// The key set as [`answering`] serves it.
    #[derive(Clone, Copy)]
    enum Keys {
        /// The test key.
        Listed,
        /// Not reachable.
        Down,
        /// Reachable, listing no key (a rotation a cached copy does not
        /// show yet).
        Empty,
    }

    /// Vercel's token, key set and revocation endpoints as a refresh meets
    /// them: the token endpoint rotates the tokens and sends `id_token`
    /// when there is one; the key set as `keys` says.
    fn answering(id_token: Option<String>, keys: Keys) -> Arc<Fake> {
        Fake::new(move |path| match (path, keys) {
            ("/login/oauth/token", _) => {
                let mut tokens = json!({"access_token": "vca_new", "token_type": "Bearer",
                                        "expires_in": 3600, "refresh_token": "vcr_new"});
                if let Some(id_token) = &id_token {
                    tokens["id_token"] = json!(id_token);
                }
                Ok(response(200, &tokens.to_string()))
            }
            ("/.well-known/jwks", Keys::Down) => Err(TransportError::Connect),
            ("/.well-known/jwks", Keys::Empty) => Ok(response(200, r#"{"keys": []}"#)),
            ("/.well-known/jwks", Keys::Listed) => {
                Ok(response(200, &json!({ "keys": [jwk()] }).to_string()))
            }
            _ => Ok(response(200, "")),
        })
    }

    /// A confidential client `cl` of Vercel at [`NOW`], its provider calls
    /// answered by `vercel`.
    fn provider(vercel: &Arc<Fake>) -> Provider {
        let config = Config::from_lookup(|name| match name {
            "VERCEL_APP_CLIENT_ID" => Some("cl".into()),
            "VERCEL_APP_CLIENT_SECRET" => Some("s3cret".into()),
            "AUTH_SECRET" => Some(SECRET.into()),
            _ => None,
        });
        Provider::loaded(config)
            .with_http_client(vercel.clone())
            .with_clock(Arc::new(|| NOW))
    }

    /// An RS256 ID token of Vercel for client `cl` about user `sub`.
    fn id_token_of(sub: &str) -> String {
        signed_id_token_of(sub, Signing::Rs256)
    }

    /// A refreshed ID token about `sub`, signed as `signing` says.
    fn signed_id_token_of(sub: &str, signing: Signing) -> String {
        let mut claims = claims();
        claims["iss"] = json!(crate::config::VERCEL_ISSUER);
        claims["sub"] = json!(sub);
        claims.as_object_mut().unwrap().remove("nonce");
        sign(&claims, signing)
    }

    /// With less than [`MIN_TIME_TO_REFRESH`] left of the request's
    /// deadline, no token call is made (it could spend the refresh token
    /// and lose the new one): the provider counts as unreachable, which
    /// keeps the session. With time left, the call is made.
    #[tokio::test]
    async fn a_refresh_with_no_time_to_finish_spends_nothing() {
        let vercel = answering(None, Keys::Listed);
        let provider = provider(&vercel);
        let token = RefreshToken::new("vcr_old");
        let late = crate::clock::with_deadline_in(
            MIN_TIME_TO_REFRESH - std::time::Duration::from_millis(100),
            grant(&provider, &token, "usr_1"),
        );
        let error = late.await.err().unwrap();
        assert_eq!(error.code(), "provider_unavailable");
        assert!(!error.is_grant_refusal() && !error.ends_session());
        assert_eq!(vercel.calls("/login/oauth/token"), 0);
        let in_time = crate::clock::with_deadline_in(
            MIN_TIME_TO_REFRESH + std::time::Duration::from_millis(500),
            grant(&provider, &token, "usr_1"),
        );
        assert!(in_time.await.is_ok());
        assert_eq!(vercel.calls("/login/oauth/token"), 1);
    }

    /// RFC 6749 §6: `grant_type=refresh_token` and the refresh token, with
    /// the client's authentication (§2.3.1) as `method` says.
    #[test]
    fn the_refresh_request_carries_the_grant_and_the_clients_authentication() {
        let vercel = answering(None, Keys::Listed);
        let provider = provider(&vercel);
        let config = provider.config().unwrap();
        let token = RefreshToken::new("vcr_old");
        let endpoint = "https://api.vercel.com/login/oauth/token";
        let post = request(endpoint, config, ClientAuthMethod::ClientSecretPost, &token).unwrap();
        assert_eq!(post.method(), http::Method::POST);
        assert_eq!(post.uri().to_string(), endpoint);
        // Compared, not printed: the body carries the tokens and the secret.
        assert!(
            post.body()
                == b"grant_type=refresh_token&refresh_token=vcr_old&client_id=cl&client_secret=s3cret",
            "client_secret_post"
        );
        let basic = request(
            endpoint,
            config,
            ClientAuthMethod::ClientSecretBasic,
            &token,
        )
        .unwrap();
        assert!(basic.headers().contains_key(http::header::AUTHORIZATION));
        assert!(
            basic.body() == b"grant_type=refresh_token&refresh_token=vcr_old",
            "client_secret_basic"
        );
    }

    /// OpenID Connect Core §12.2: the claims of a refreshed ID token that
    /// verifies, about the same user, are returned with the new tokens.
    #[tokio::test]
    async fn a_refreshed_id_token_that_verifies_gives_its_claims() {
        let vercel = answering(Some(id_token_of("u1")), Keys::Listed);
        let renewed = grant(&provider(&vercel), &RefreshToken::new("vcr_old"), "u1")
            .await
            .unwrap();
        assert_eq!(renewed.claims.map(|c| c.sub).as_deref(), Some("u1"));
        let rotated = renewed.tokens.refresh_token.as_ref();
        assert!(
            rotated.map(RefreshToken::secret) == Some("vcr_new"),
            "the rotated refresh token"
        );
        assert_eq!(vercel.calls("/login/oauth/token/revoke"), 0);
    }

    /// OpenID Connect Core §12.2: a refreshed ID token about another user
    /// fails the refresh, and the tokens it came with, which nobody will
    /// hold, are revoked (RFC 7009): the access and the refresh token.
    /// Whether its key set verifies it, does not load, or does not list
    /// its key (its claims then checked unsigned).
    #[tokio::test]
    async fn a_refreshed_id_token_of_another_user_fails_and_revokes_its_tokens() {
        for keys in [Keys::Listed, Keys::Down, Keys::Empty] {
            let vercel = answering(Some(id_token_of("u2")), keys);
            let result = grant(&provider(&vercel), &RefreshToken::new("vcr_old"), "u1").await;
            assert_eq!(
                result.err(),
                Some(Error::IdToken(IdTokenError::SubjectChanged))
            );
            assert_eq!(vercel.calls("/login/oauth/token/revoke"), 2);
        }
    }

    /// OpenID Connect Core §3.1.3.7 step 6 stands in for a key set that
    /// cannot be had, not for a signature the listed key refuses: a
    /// refreshed ID token about the same user whose signature fails
    /// (corrupted, or made by another key under the listed `kid`) is
    /// refused, however good its claims, and the tokens it came with are
    /// revoked.
    #[tokio::test]
    async fn a_refreshed_id_token_whose_signature_fails_is_refused_and_revokes_its_tokens() {
        for signing in [Signing::CorruptSignature, Signing::ForeignKey] {
            let vercel = answering(Some(signed_id_token_of("u1", signing)), Keys::Listed);
            let result = grant(&provider(&vercel), &RefreshToken::new("vcr_old"), "u1").await;
            assert_eq!(
                result.err(),
                Some(Error::IdToken(IdTokenError::BadSignature))
            );
            assert_eq!(vercel.calls("/login/oauth/token/revoke"), 2);
        }
    }

    /// OpenID Connect Core §3.1.3.7 step 6: when the key set does not load,
    /// the rotated tokens are kept if the ID token's claims, checked
    /// unsigned, pass; no claims are returned from a token that did not
    /// verify (claims that fail: see the test above).
    #[tokio::test]
    async fn without_the_key_set_the_claims_are_checked_unsigned_and_not_returned() {
        let vercel = answering(Some(id_token_of("u1")), Keys::Down);
        let renewed = grant(&provider(&vercel), &RefreshToken::new("vcr_old"), "u1")
            .await
            .unwrap();
        assert!(renewed.claims.is_none());
        assert!(
            renewed.tokens.access_token.secret() == "vca_new",
            "the new access token"
        );
        // Beside the token call, then for the token.
        assert_eq!(vercel.calls("/.well-known/jwks"), 2);
    }

    /// A provider that signs with a new key before its key set shows it
    /// (a cached copy on the way): the set, fetched again asking caches
    /// for a fresh copy, still lacks it. The rotated tokens are kept, as
    /// when the set does not load, if the claims, checked unsigned, pass;
    /// nothing is revoked (claims that fail: see the test of another user).
    #[tokio::test]
    async fn a_key_the_set_does_not_list_yet_keeps_the_rotated_tokens() {
        let vercel = answering(Some(id_token_of("u1")), Keys::Empty);
        let warm = provider(&vercel);
        let renewed = grant(&warm, &RefreshToken::new("vcr_old"), "u1")
            .await
            .unwrap();
        assert!(renewed.claims.is_none());
        assert!(renewed.tokens.access_token.secret() == "vca_new");
        assert_eq!(vercel.calls("/login/oauth/token/revoke"), 0);
        // Fetched beside the token call, then once more for the unknown
        // key, asking for it fresh; warm, only that second fetch.
        assert_eq!(vercel.calls("/.well-known/jwks"), 2);
        assert_eq!(vercel.fresh_calls("/.well-known/jwks"), 1);
        grant(&warm, &RefreshToken::new("vcr_new"), "u1")
            .await
            .unwrap();
        assert_eq!(vercel.calls("/.well-known/jwks"), 3);
        assert_eq!(vercel.fresh_calls("/.well-known/jwks"), 2);
    }

    /// A successful answer this client cannot use (a token type other
    /// than Bearer, a token with a line feed) fails the refresh, and the
    /// tokens it holds, issued all the same and held by no one, are
    /// revoked (RFC 7009).
    #[tokio::test]
    async fn tokens_of_an_answer_that_cannot_be_used_are_revoked() {
        for answer in [
            json!({"access_token": "vca_new", "token_type": "mac", "refresh_token": "vcr_new"}),
            json!({"access_token": "vca\nnew", "token_type": "Bearer", "refresh_token": "vcr_new"}),
        ] {
            let body = answer.to_string();
            let vercel = Fake::new(move |path| match path {
                "/login/oauth/token" => Ok(response(200, &body)),
                _ => Ok(response(200, "")),
            });
            let result = grant(&provider(&vercel), &RefreshToken::new("vcr_old"), "u1").await;
            assert!(result.is_err(), "{answer}");
            assert_eq!(vercel.calls("/login/oauth/token/revoke"), 2, "{answer}");
        }
    }

    /// RFC 6749 §6: an answer without an ID token renews the tokens and
    /// leaves the claims to the caller.
    #[tokio::test]
    async fn a_refresh_without_an_id_token_keeps_the_callers_claims() {
        let vercel = answering(None, Keys::Listed);
        let renewed = grant(&provider(&vercel), &RefreshToken::new("vcr_old"), "u1")
            .await
            .unwrap();
        assert!(renewed.claims.is_none());
        // The token answer came first: the keys were not waited for.
        assert_eq!(vercel.calls("/.well-known/jwks"), 0);
    }

    /// A cold instance's refresh fetches the keys beside the token call,
    /// not after it: the token endpoint here answers only once the key
    /// set has been asked for.
    #[tokio::test(start_paused = true)]
    async fn a_cold_refresh_fetches_the_keys_beside_the_token_call() {
        use crate::transport::{BoxFuture, HttpClient, HttpRequest, HttpResponse};
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::time::Duration;
        struct Overlap(Arc<Fake>, AtomicBool);
        impl HttpClient for Overlap {
            fn execute(
                &self,
                request: HttpRequest,
            ) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
                let path = request.uri().path().to_owned();
                if path == "/.well-known/jwks" {
                    self.1.store(true, Ordering::SeqCst);
                }
                let answer = self.0.execute(request);
                Box::pin(async move {
                    if path == "/login/oauth/token" {
                        for _ in 0..200 {
                            if self.1.load(Ordering::SeqCst) {
                                return answer.await;
                            }
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                        return Err(TransportError::Timeout);
                    }
                    answer.await
                })
            }
        }
        let vercel = answering(Some(id_token_of("u1")), Keys::Listed);
        let overlap = Arc::new(Overlap(vercel.clone(), AtomicBool::new(false)));
        let provider = provider(&vercel).with_http_client(overlap);
        let renewed = grant(&provider, &RefreshToken::new("vcr_old"), "u1").await;
        assert_eq!(
            renewed.unwrap().claims.map(|c| c.sub).as_deref(),
            Some("u1")
        );
        assert_eq!(vercel.calls("/.well-known/jwks"), 1);
    }

    /// A refused refresh is answered when the token endpoint answers, not
    /// when a key set that does not answer gives up: only an answer with
    /// an ID token waits for the keys.
    #[tokio::test(start_paused = true)]
    async fn a_refused_refresh_does_not_wait_for_the_keys() {
        let vercel = Fake::new(|path| match path {
            "/login/oauth/token" => Ok(response(400, r#"{"error":"invalid_grant"}"#)),
            _ => Ok(response(200, "")),
        });
        let slow = std::time::Duration::from_millis(100);
        let hanging = crate::transport::tests::HangingKeys(vercel.clone(), slow);
        let provider = provider(&vercel).with_http_client(Arc::new(hanging));
        let started = tokio::time::Instant::now();
        let result =
            crate::clock::with_deadline(grant(&provider, &RefreshToken::new("vcr_old"), "u1"))
                .await;
        assert!(matches!(result, Err(Error::TokenRejected(_))));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    /// The key set takes the connection and never answers; the refreshed
    /// ID token, checked unsigned, is another user's: the refresh fails,
    /// and the rotated tokens are still revoked within the deadline, not
    /// left live at the provider, held by no one.
    #[tokio::test(start_paused = true)]
    async fn a_key_set_that_does_not_answer_leaves_time_to_revoke_the_refreshed_tokens() {
        let vercel = answering(Some(id_token_of("u2")), Keys::Listed);
        // The token endpoint takes a second and a half.
        let slow = std::time::Duration::from_millis(1500);
        let hanging = crate::transport::tests::HangingKeys(vercel.clone(), slow);
        let provider = provider(&vercel).with_http_client(Arc::new(hanging));
        let result =
            crate::clock::with_deadline(grant(&provider, &RefreshToken::new("vcr_old"), "u1"))
                .await;
        assert_eq!(
            result.err(),
            Some(Error::IdToken(IdTokenError::SubjectChanged))
        );
        assert_eq!(vercel.calls("/login/oauth/token/revoke"), 2);
    }
}
