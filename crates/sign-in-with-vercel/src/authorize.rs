//! The authorization request (RFC 6749 §4.1.1, OpenID Connect Core
//! §3.1.2.1, RFC 7636 §4.3).

use url::form_urlencoded;

use crate::discovery::ProviderMetadata;
use crate::pkce::CHALLENGE_METHOD;
use crate::secret::{CodeVerifier, Nonce, State, random_tokens};

/// The scopes requested: an ID token, the profile and email claims, and a
/// refresh token. The one list of scopes: the emulator offers these. The
/// last, `offline_access` (OpenID Connect Core §11), only of a provider
/// whose metadata does not leave it out of its `scopes_supported`
/// ([`ProviderMetadata::offers_offline_access`]).
pub const SCOPES: &[&str] = &["openid", "email", "profile", "offline_access"];
/// [`SCOPES`] but the last as the `scope` parameter (RFC 6749 §3.3),
/// form-encoded as it goes into the URL (a test checks it against the
/// list); [`OFFLINE_ACCESS_ENCODED`] follows for a provider that does not
/// leave `offline_access` out: Google, GitLab and Amazon Cognito answer a
/// request for it with `invalid_scope`, so no sign-in would complete.
const SCOPE_ENCODED: &str = "openid+email+profile";
/// The last of [`SCOPES`], as it follows [`SCOPE_ENCODED`].
const OFFLINE_ACCESS_ENCODED: &str = "+offline_access";
/// How long a sign-in attempt may take, in seconds (the flow cookie's life).
pub const FLOW_TTL_SECS: i64 = 10 * 60;

/// What the callback must match, created with the authorization URL and
/// kept in the browser's flow cookie until the callback.
#[derive(Debug)]
pub struct Flow {
    /// The `state` sent; the callback's must equal it.
    pub state: State,
    /// The `nonce` sent; the ID token's must equal it.
    pub nonce: Nonce,
    /// The PKCE verifier whose challenge was sent.
    pub verifier: CodeVerifier,
    /// The `redirect_uri` sent; the token request repeats it (RFC 6749 §4.1.3).
    pub redirect_uri: String,
    /// Where to go after signing in: a same-origin path.
    pub return_to: String,
    /// When the flow started, seconds since the epoch.
    pub created_at: i64,
}

impl Flow {
    /// A new flow with fresh `state`, `nonce` and verifier: 32 bytes each
    /// from the OS CSPRNG, drawn in one system call.
    pub fn new(redirect_uri: String, return_to: String, now: i64) -> Self {
        let [state, nonce, verifier] = random_tokens();
        Self {
            state: State::new(state),
            nonce: Nonce::new(nonce),
            verifier: CodeVerifier::new(verifier),
            redirect_uri,
            return_to,
            created_at: now,
        }
    }

    /// Whether the flow is older than [`FLOW_TTL_SECS`] (or from the future).
    pub fn is_expired(&self, now: i64) -> bool {
        // Saturating: the stamp is read from a cookie.
        now.saturating_sub(self.created_at) > FLOW_TTL_SECS
            || self.created_at.saturating_sub(now) > 60
    }
}

/// The URL to send the browser to: the provider's authorization endpoint
/// with `client_id`, `redirect_uri`, `response_type=code`, the scopes,
/// `state`, `nonce` and the S256 challenge, form-encoded. Query parameters
/// already in the endpoint URL are kept (RFC 6749 §3.1). Written directly
/// rather than through a URL parser: this runs on every sign-in.
pub fn authorization_url(
    metadata: &ProviderMetadata,
    client_id: &str,
    flow: &Flow,
) -> Option<String> {
    let endpoint = metadata.authorization_endpoint.as_str();
    if endpoint.contains('#') {
        return None;
    }
    let separator = match endpoint.find('?') {
        None => "?",
        Some(_) if endpoint.ends_with(['?', '&']) => "",
        Some(_) => "&",
    };
    let challenge = flow.verifier.challenge();
    let mut url = String::with_capacity(endpoint.len() + flow.redirect_uri.len() + 320);
    url.push_str(endpoint);
    url.push_str(separator);
    url.push_str("client_id=");
    url.extend(form_urlencoded::byte_serialize(client_id.as_bytes()));
    url.push_str("&redirect_uri=");
    url.extend(form_urlencoded::byte_serialize(
        flow.redirect_uri.as_bytes(),
    ));
    // state, nonce and the challenge are base64url: nothing to encode.
    for (name, value) in [
        ("&response_type=", "code"),
        ("&scope=", SCOPE_ENCODED),
        (
            "",
            if metadata.offers_offline_access() {
                OFFLINE_ACCESS_ENCODED
            } else {
                ""
            },
        ),
        ("&state=", flow.state.secret()),
        ("&nonce=", flow.nonce.secret()),
        ("&code_challenge=", &challenge),
        ("&code_challenge_method=", CHALLENGE_METHOD),
    ] {
        url.push_str(name);
        url.push_str(value);
    }
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    #[test]
    fn authorization_url_carries_every_parameter() {
        let flow = Flow::new(
            "https://app.example/api/auth/callback".into(),
            "/profile".into(),
            0,
        );
        let url = authorization_url(&ProviderMetadata::vercel(), "cl_1", &flow).unwrap();
        let url = Url::parse(&url).unwrap();
        assert_eq!(url.origin().ascii_serialization(), "https://vercel.com");
        assert_eq!(url.path(), "/oauth/authorize");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q.len(), 8);
        assert_eq!(q["client_id"], "cl_1");
        assert_eq!(q["redirect_uri"], "https://app.example/api/auth/callback");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["scope"], "openid email profile offline_access");
        assert_eq!(q["state"], flow.state.secret());
        assert_eq!(q["nonce"], flow.nonce.secret());
        assert_eq!(q["code_challenge"], flow.verifier.challenge());
        assert_eq!(q["code_challenge_method"], "S256");
        assert!(!url.as_str().contains(flow.verifier.secret()));
    }

    #[test]
    fn scope_parameter_is_the_scope_list() {
        let scope = SCOPES.join(" ");
        let encoded: String = form_urlencoded::byte_serialize(scope.as_bytes()).collect();
        assert_eq!(format!("{SCOPE_ENCODED}{OFFLINE_ACCESS_ENCODED}"), encoded);
        assert_eq!(SCOPES.last(), Some(&"offline_access"));
    }

    /// A refresh token is asked for (`offline_access`) unless the
    /// provider's `scopes_supported` leaves it out, as Google's, GitLab's
    /// and Amazon Cognito's do (each refuses the request with
    /// `invalid_scope`). Vercel, and a provider that lists no scopes, are
    /// asked for it.
    #[test]
    fn offline_access_is_asked_only_of_a_provider_that_does_not_leave_it_out() {
        let flow = Flow::new(
            "https://app.example/api/auth/callback".into(),
            "/".into(),
            0,
        );
        let scope = |m: &ProviderMetadata| {
            let url = url::Url::parse(&authorization_url(m, "cl", &flow).unwrap()).unwrap();
            let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
            q["scope"].clone()
        };
        let mut m = ProviderMetadata::vercel();
        assert_eq!(scope(&m), "openid email profile offline_access");
        m.scopes_supported = Some(vec!["openid".into(), "offline_access".into()]);
        assert_eq!(scope(&m), "openid email profile offline_access");
        m.scopes_supported = Some(vec!["openid".into(), "email".into(), "profile".into()]);
        assert_eq!(scope(&m), "openid email profile");
        // Google's discovery document, as it lists them.
        let google = br#"{"issuer":"https://accounts.google.com","authorization_endpoint":"https://accounts.google.com/o/oauth2/v2/auth","token_endpoint":"https://oauth2.googleapis.com/token","jwks_uri":"https://www.googleapis.com/oauth2/v3/certs","scopes_supported":["openid","email","profile"]}"#;
        let m: ProviderMetadata = serde_json::from_slice(google).unwrap();
        assert_eq!(scope(&m), "openid email profile");
        // No list, or not a list of strings: asked for.
        let none = br#"{"issuer":"https://op","authorization_endpoint":"https://op/a","token_endpoint":"https://op/t","jwks_uri":"https://op/k","scopes_supported":"openid"}"#;
        let m: ProviderMetadata = serde_json::from_slice(none).unwrap();
        assert_eq!(scope(&m), "openid email profile offline_access");
    }

    #[test]
    fn existing_endpoint_query_is_kept() {
        let mut m = ProviderMetadata::vercel();
        m.authorization_endpoint = "https://op.example/authorize?tenant=a".into();
        let flow = Flow::new(
            "https://app.example/api/auth/callback".into(),
            "/".into(),
            0,
        );
        let url = authorization_url(&m, "c", &flow).unwrap();
        assert!(url.starts_with("https://op.example/authorize?tenant=a&client_id=c&"));
    }

    #[test]
    fn flows_are_fresh_and_expire_after_ten_minutes() {
        let a = Flow::new(String::new(), "/".into(), 1000);
        let b = Flow::new(String::new(), "/".into(), 1000);
        assert!(!a.state.ct_eq(b.state.secret()));
        assert!(!a.nonce.ct_eq(b.nonce.secret()));
        assert!(!a.verifier.ct_eq(b.verifier.secret()));
        assert!(!a.is_expired(1000 + 600));
        assert!(a.is_expired(1000 + 601));
    }

    /// A flow stamped up to a minute ahead of the clock (skew between
    /// instances) is accepted; one from further in the future is expired.
    #[test]
    fn a_flow_from_more_than_a_minute_ahead_is_expired() {
        let flow = Flow::new(String::new(), "/".into(), 1000);
        assert!(!flow.is_expired(1000 - 60));
        assert!(flow.is_expired(1000 - 61));
    }

    /// A stamp at either end of `i64` (only someone with the key could
    /// seal one) is expired, without an overflow.
    #[test]
    fn a_flow_stamped_at_the_ends_of_time_is_expired() {
        for stamp in [i64::MIN, i64::MAX] {
            let flow = Flow::new(String::new(), "/".into(), stamp);
            assert!(flow.is_expired(1_800_000_000), "{stamp}");
        }
    }

    /// RFC 6749 §3.1: an endpoint whose query already ends in `?` or `&`
    /// gets the parameters without an empty one before them.
    #[test]
    fn an_endpoint_whose_query_ends_open_gets_no_empty_parameter() {
        let flow = Flow::new(
            "https://app.example/api/auth/callback".into(),
            "/".into(),
            0,
        );
        for (endpoint, start) in [
            (
                "https://op.example/authorize?",
                "https://op.example/authorize?client_id=c&",
            ),
            (
                "https://op.example/authorize?tenant=a&",
                "https://op.example/authorize?tenant=a&client_id=c&",
            ),
        ] {
            let mut m = ProviderMetadata::vercel();
            m.authorization_endpoint = endpoint.into();
            let url = authorization_url(&m, "c", &flow).unwrap();
            assert!(url.starts_with(start), "{endpoint}");
        }
    }
}
