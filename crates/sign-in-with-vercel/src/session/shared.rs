//! One refresh per session generation across every instance, through the
//! shared store: the instance that claims the generation makes the token
//! call and publishes its outcome; the others wait for it, within their
//! request's deadline, and answer with the very same new generation (or
//! the same refusal). Nothing here is needed without a store.
//!
//! The published outcome is the new generation's id and its sealed cookie
//! value (sealed under the session key: no token in plain text), or the
//! refusal's OAuth error code. A store that does not answer leaves the
//! refresh to this instance alone, as without a store.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::cookie::{self, SessionData};
use super::flights::Refreshed;
use super::refresh_here;
use super::store::{Claim, Store};
use crate::clock::time_left;
use crate::error::{Endpoint, Error, sanitize_error_code};
use crate::origin::Origin;
use crate::provider::Provider;
use crate::transport::TransportError;

/// The first pause between two looks at another instance's refresh; it
/// doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(20);
const MAX_PAUSE: Duration = Duration::from_millis(200);
/// What a waiting request keeps of its deadline to answer in.
const MARGIN: Duration = Duration::from_millis(500);

/// A refresh's outcome as the store keeps it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
enum Published {
    /// The new generation: its `<id>` and its sealed value.
    #[serde(rename = "g")]
    Generation { id: String, seal: String },
    /// The token endpoint refused the grant with this code.
    #[serde(rename = "r")]
    Refused(String),
}

impl Published {
    /// The new generation as the other instances adopt it: its very seal,
    /// so that they set the very cookies this instance sets, chunk for
    /// chunk (a browser that gets both keeps whole seals, whatever order it
    /// applies them in).
    fn of(refreshed: &Refreshed) -> Self {
        Self::Generation {
            id: refreshed.sealed.id.clone(),
            seal: refreshed.sealed.seal.clone(),
        }
    }
}

/// Refreshes `data` (whose flight key is `flight`) once for all instances.
pub(super) async fn refresh(
    provider: &Provider,
    store: &Store,
    flight: &[u8; 32],
    origin: &Origin,
    data: &SessionData,
) -> Result<Refreshed, Error> {
    let mut pause = FIRST_PAUSE;
    loop {
        match store.claim(flight).await {
            // The store does not answer: as without one.
            None => return refresh_here(provider, origin, data).await,
            Some(Claim::Won) => {
                let outcome = refresh_here(provider, origin, data).await;
                match &outcome {
                    Ok(refreshed) => {
                        let published = Published::of(refreshed);
                        store.publish(flight, &encode(&published)).await;
                    }
                    Err(Error::TokenRejected(code)) if outcome_is_final(&outcome) => {
                        let published = Published::Refused(code.clone());
                        store.publish(flight, &encode(&published)).await;
                    }
                    Err(_) => store.release(flight).await,
                }
                return outcome;
            }
            Some(Claim::Outcome(published)) => return adopt(provider, origin, &published),
            Some(Claim::Wait) => {
                let left = time_left().unwrap_or(Duration::ZERO);
                if left < pause + MARGIN {
                    // Out of time waiting for the other instance: as if the
                    // provider had not answered (the session is kept).
                    return Err(Endpoint::Token.unreachable(TransportError::Timeout));
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
            }
        }
    }
}

/// Whether an outcome is the provider's last word on this generation.
fn outcome_is_final(outcome: &Result<Refreshed, Error>) -> bool {
    matches!(outcome, Err(e) if e.is_grant_refusal())
}

fn encode(published: &Published) -> String {
    serde_json::to_string(published).unwrap_or_default()
}

/// Another instance's outcome, as this request's own: the same generation
/// (opened to know who it is), or the same refusal.
fn adopt(provider: &Provider, origin: &Origin, published: &str) -> Result<Refreshed, Error> {
    let config = provider.config()?;
    let now = provider.now();
    let unusable = || Endpoint::Token.malformed("the shared store's refresh outcome is unusable");
    match serde_json::from_str::<Published>(published).map_err(|_| unusable())? {
        Published::Refused(code) => Err(Error::TokenRejected(sanitize_error_code(&code))),
        Published::Generation { id, seal } => {
            let data = cookie::open(config, &seal, now).ok_or_else(unusable)?;
            let sealed = cookie::generation(origin, &id, seal, data.expires_at - now)?;
            Ok(Refreshed { data, sealed })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::secret::AccessToken;
    use cookie::Profile;

    const NOW: i64 = 1_800_000_000;

    /// A session too large for one cookie, refreshed by one instance and
    /// adopted by another: both answer with the same cookies, byte for
    /// byte, so no order of their `Set-Cookie`s mixes chunks of two seals.
    #[test]
    fn an_adopted_refresh_sets_the_very_cookies_of_the_refreshing_instance() {
        let config = Config::from_lookup(|k| match k {
            "VERCEL_APP_CLIENT_ID" => Some("cl".into()),
            "AUTH_SECRET" => Some("0123456789abcdef0123456789abcdef-shared".into()),
            _ => None,
        })
        .unwrap();
        let origin = Origin::parse_configured("https://app.example.com").unwrap();
        let data = SessionData::issued(
            "sid".into(),
            "usr_1".into(),
            &AccessToken::new("vca_x"),
            3600,
            Some("vcr_x".into()),
            Profile {
                name: Some("n".repeat(4000)),
                ..Profile::default()
            },
            (NOW, 1),
            NOW,
        );
        let sealed = cookie::write(&origin, &config, &data, NOW).unwrap();
        assert_eq!(sealed.names.len(), 2, "two chunks");
        let refreshed = Refreshed { data, sealed };
        let provider = Provider::new(Ok(config)).with_clock(std::sync::Arc::new(|| NOW));
        let adopted = adopt(&provider, &origin, &encode(&Published::of(&refreshed))).unwrap();
        assert_eq!(adopted.sealed.names, refreshed.sealed.names);
        assert_eq!(adopted.sealed.set_cookies, refreshed.sealed.set_cookies);
    }
}
