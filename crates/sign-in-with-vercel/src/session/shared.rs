//! One refresh per session generation across every instance, through the
//! shared store: the instance that claims the generation makes the token
//! call and publishes its outcome; the others wait for it, within their
//! request's deadline, and answer with the very same new generation (or
//! the same refusal). Nothing here is needed without a store.
//!
//! The published outcome is the new generation's id and its sealed cookie
//! value, or the refusal's OAuth error code, sealed again for the store
//! (purpose [`Purpose::RefreshOutcome`], the flight key as context): the
//! flight key is a hash of the session's id and the old generation's
//! refresh token ([`super::flights::key`]), which only the browser's cookie
//! holds. So a reader of the store finds no value it
//! could replay as a session cookie, and a writer can neither forge an
//! outcome nor move one to another generation; an adopted generation must
//! also be the next one of the very session that asked. A store that does
//! not answer leaves the refresh to this instance alone, as without a
//! store; its outcome is published once the store answers again.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::cookie::{self, SessionData};
use super::flights::Refreshed;
use super::store::{Claim, Store};
use super::{Lifetime, refresh_here};
use crate::clock::time_left;
use crate::error::{Endpoint, Error, sanitize_error_code};
use crate::origin::Origin;
use crate::provider::Provider;
use crate::seal::{Keys, Purpose};
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
    /// The refresh token was spent by an instance that never published
    /// its outcome (cut off, or the store did not take it): the other
    /// requests of the burst have lost a race too, not found a dead grant.
    #[serde(rename = "s")]
    Spent,
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

/// Refreshes `data` (whose flight key is `flight`) once for all instances;
/// its end moved only as `lifetime` allows, and kept when the store does
/// not answer the claim.
pub(super) async fn refresh(
    provider: &Provider,
    store: &Arc<Store>,
    flight: &[u8; 32],
    origin: &Origin,
    data: &SessionData,
    lifetime: Lifetime,
) -> Result<Refreshed, Error> {
    let mut pause = FIRST_PAUSE;
    let mut waited = false;
    loop {
        match store.claim(flight).await {
            // The store does not answer: as without one; but the new
            // generation is published once the store answers again, so
            // that a copy of the replaced one sent later (within what
            // `OUTCOME_TTL` allows) gets it instead of spending the old
            // refresh token, whose refusal would end the session in every
            // instance, the new generation too.
            None => {
                let outcome = refresh_here(provider, origin, data, Lifetime::Kept).await;
                if let (Ok(refreshed), Ok(config)) = (&outcome, provider.config())
                    && let Some(sealed) = encode(&config.keys, flight, &Published::of(refreshed))
                {
                    publish_late(store, data.id().into_owned(), *flight, sealed);
                }
                return outcome;
            }
            Some(Claim::Won(token)) => {
                let outcome = refresh_here(provider, origin, data, lifetime).await;
                // Won after waiting: the claim this request waited on
                // lapsed without an outcome (its instance was cut off, or
                // the store did not take it), perhaps after spending the
                // refresh token. A refusal now is a race lost to it, not
                // the provider's last word: nothing is ended (its answer
                // may carry the new session), as without a store, and the
                // rest of the burst is told so rather than spending the
                // token again.
                // Published only where no outcome is yet: the instance
                // whose claim lapsed may have published the new
                // generation meanwhile, which copies are to get.
                let lost_race = waited && outcome_is_final(&outcome);
                let published = match &outcome {
                    _ if lost_race => Some(Published::Spent),
                    Ok(refreshed) => Some(Published::of(refreshed)),
                    Err(Error::TokenRejected(code)) if outcome_is_final(&outcome) => {
                        Some(Published::Refused(code.clone()))
                    }
                    Err(_) => None,
                };
                let sealed = published
                    .zip(provider.config().ok())
                    .and_then(|(published, config)| encode(&config.keys, flight, &published));
                match sealed {
                    // Not answered (the store paused or gone, or no time
                    // left of the deadline the token call used up): the
                    // claim lapses, and a copy of the replaced generation
                    // sent later would spend the old refresh token again.
                    // Published later instead, as an unclaimed refresh is.
                    Some(sealed) => {
                        if !store.publish(flight, &sealed, lost_race).await {
                            publish_late(store, data.id().into_owned(), *flight, sealed);
                        }
                    }
                    None => store.release(flight, &token).await,
                }
                return if lost_race {
                    Err(Error::RefreshConflict)
                } else {
                    outcome
                };
            }
            Some(Claim::Outcome(published)) => {
                return adopt(provider, origin, flight, data, &published);
            }
            Some(Claim::Wait) => {
                let left = time_left().unwrap_or(Duration::ZERO);
                if left < pause + MARGIN {
                    // Out of time waiting for the other instance: as if the
                    // provider had not answered (the session is kept).
                    return Err(Endpoint::Token.unreachable(TransportError::Timeout));
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
                waited = true;
            }
        }
    }
}

/// How often a refresh made while the store did not answer tries to
/// publish its outcome.
const PUBLISH_LATE_EVERY: Duration = Duration::from_secs(1);

/// Publishes `sealed`, the outcome of a refresh of session `sid` made
/// while the store did not answer, once it answers again: a task of the
/// instance (so, on Vercel, while the instance runs), trying every
/// [`PUBLISH_LATE_EVERY`], the store's rest notwithstanding, until the
/// store answers (taking it, or refusing it) or the outcome would no longer
/// have been kept; then kept only for what is left of that. Never over an
/// outcome already there; cancelled if the session ends in this instance.
fn publish_late(store: &Arc<Store>, sid: String, flight: [u8; 32], sealed: String) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    // Not given to the platform's hook (`crate::background`): it may try
    // for fifteen minutes while the store is down, and an invocation kept
    // open that long would run into its time limit; the instance's next
    // requests let it go on.

    let made = tokio::time::Instant::now();
    let publisher = store.clone();
    let task = runtime.spawn(async move {
        loop {
            tokio::time::sleep(PUBLISH_LATE_EVERY).await;
            let Some(left) = super::store::OUTCOME_TTL.checked_sub(made.elapsed()) else {
                return;
            };
            if publisher.publish_late(&flight, &sealed, left).await {
                return;
            }
        }
    });
    store.track_late(sid, task.abort_handle());
}

/// Whether an outcome is the provider's last word on this generation.
fn outcome_is_final(outcome: &Result<Refreshed, Error>) -> bool {
    matches!(outcome, Err(e) if e.is_grant_refusal())
}

/// `published` as the store keeps it: sealed for the generation whose
/// flight key is `flight`. `None` only if sealing fails ([`Keys::seal`]).
fn encode(keys: &Keys, flight: &[u8; 32], published: &Published) -> Option<String> {
    let json = serde_json::to_vec(published).ok()?;
    keys.seal(Purpose::RefreshOutcome, flight, &json)
}

/// What the store keeps for `flight`, opened; `None` for anything not
/// sealed by this app for this very generation.
fn decode(keys: &Keys, flight: &[u8; 32], stored: &str) -> Option<Published> {
    let opened = keys.open(Purpose::RefreshOutcome, flight, stored)?;
    serde_json::from_slice(&opened.plaintext).ok()
}

/// Another instance's outcome for `old` (whose flight key is `flight`), as
/// this request's own: the same generation (opened to know who it is, and
/// only if it is `old`'s next one), or the same refusal.
fn adopt(
    provider: &Provider,
    origin: &Origin,
    flight: &[u8; 32],
    old: &SessionData,
    stored: &str,
) -> Result<Refreshed, Error> {
    let config = provider.config()?;
    let now = provider.now();
    let unusable = || Endpoint::Token.malformed("the shared store's refresh outcome is unusable");
    match decode(&config.keys, flight, stored).ok_or_else(unusable)? {
        Published::Refused(code) => Err(Error::TokenRejected(sanitize_error_code(&code))),
        Published::Spent => Err(Error::RefreshConflict),
        Published::Generation { id, seal } => {
            let data = cookie::open(config, &seal, now)
                .filter(|new| {
                    new.id() == old.id()
                        && new.sub == old.sub
                        && new.started_ms == old.started_ms
                        && new.rotation == old.rotation.saturating_add(1)
                        // Made within the time an outcome is kept (and
                        // the clocks' skew): a store that kept one past its
                        // expiry (keys copied without their TTLs, a clock
                        // set back) does not hand out a generation long
                        // since replaced.
                        && new.access_issued_at
                            >= now.saturating_sub(cookie::LATE_LANDING_SECS + cookie::CLOCK_SKEW_SECS)
                })
                .ok_or_else(unusable)?;
            let sealed =
                cookie::generation(origin, &id, seal, data.expires_at.saturating_sub(now))?;
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
    const FLIGHT: [u8; 32] = [7; 32];

    fn config() -> Config {
        Config::from_lookup(|k| match k {
            "VERCEL_APP_CLIENT_ID" => Some("cl".into()),
            "AUTH_SECRET" => Some("0123456789abcdef0123456789abcdef-shared".into()),
            _ => None,
        })
        .unwrap()
    }

    fn origin() -> Origin {
        Origin::parse_configured("https://app.example.com").unwrap()
    }

    /// Session `sid` of `sub` at refresh `rotation`, its name `name`.
    fn session(sid: &str, sub: &str, rotation: u32, name: &str) -> SessionData {
        SessionData::issued(
            sid.into(),
            sub.into(),
            &AccessToken::new("vca_x"),
            3600,
            Some("vcr_x".into()),
            Profile {
                name: Some(name.into()),
                ..Profile::default()
            },
            (NOW * 1000, rotation),
            NOW,
        )
    }

    /// `new`, refreshed by one instance and stored for `FLIGHT`.
    fn store_outcome(new: SessionData) -> (Refreshed, String) {
        let config = config();
        let sealed = cookie::write(&origin(), &config, &new, NOW).unwrap();
        let refreshed = Refreshed { data: new, sealed };
        let stored = encode(&config.keys, &FLIGHT, &Published::of(&refreshed)).unwrap();
        (refreshed, stored)
    }

    fn provider() -> Provider {
        Provider::new(Ok(config())).with_clock(std::sync::Arc::new(|| NOW))
    }

    /// A session too large for one cookie, refreshed by one instance and
    /// adopted by another: both answer with the same cookies, byte for
    /// byte, so no order of their `Set-Cookie`s mixes chunks of two seals.
    #[test]
    fn an_adopted_refresh_sets_the_very_cookies_of_the_refreshing_instance() {
        let long = "n".repeat(4000);
        let (refreshed, stored) = store_outcome(session("sid", "usr_1", 1, &long));
        assert_eq!(refreshed.sealed.names.len(), 2, "two chunks");
        let old = session("sid", "usr_1", 0, "n");
        let adopted = adopt(&provider(), &origin(), &FLIGHT, &old, &stored).unwrap();
        assert_eq!(adopted.sealed.names, refreshed.sealed.names);
        assert_eq!(adopted.sealed.set_cookies, refreshed.sealed.set_cookies);
    }

    /// An outcome the store kept past its expiry (keys copied without
    /// their TTLs, a clock set back) is not adopted: only one made within
    /// the time an outcome is kept, and the clocks' skew.
    #[test]
    fn an_outcome_kept_past_its_time_is_not_adopted() {
        let (_, stored) = store_outcome(session("sid", "usr_1", 1, "n"));
        let old = session("sid", "usr_1", 0, "n");
        let at =
            |now: i64| Provider::new(Ok(config())).with_clock(std::sync::Arc::new(move || now));
        let kept = cookie::LATE_LANDING_SECS + cookie::CLOCK_SKEW_SECS;
        assert!(adopt(&at(NOW + kept), &origin(), &FLIGHT, &old, &stored).is_ok());
        let late = adopt(&at(NOW + kept + 1), &origin(), &FLIGHT, &old, &stored);
        assert!(matches!(late, Err(Error::Upstream(..))), "{:?}", late.err());
    }

    /// What a reader of the store finds is no session cookie, and holds
    /// none it could copy out.
    #[test]
    fn the_stored_outcome_cannot_be_replayed_as_a_session() {
        let (refreshed, stored) = store_outcome(session("sid", "usr_1", 1, "n"));
        assert!(!stored.contains(&refreshed.sealed.seal));
        assert!(!stored.contains(&refreshed.sealed.seal[..32]));
    }

    /// An outcome moved to another generation's key, or one about another
    /// session, is not adopted; a refusal is adopted as it was published.
    #[test]
    fn only_the_next_generation_of_the_same_session_is_adopted() {
        let old = session("sid", "usr_1", 0, "n");
        let (_, stored) = store_outcome(session("sid", "usr_1", 1, "n"));
        assert!(adopt(&provider(), &origin(), &[8; 32], &old, &stored).is_err());
        for other in [
            session("other", "usr_1", 1, "n"),
            session("sid", "usr_2", 1, "n"),
            session("sid", "usr_1", 2, "n"),
        ] {
            let (_, stored) = store_outcome(other);
            assert!(adopt(&provider(), &origin(), &FLIGHT, &old, &stored).is_err());
        }
        let refused = encode(
            &config().keys,
            &FLIGHT,
            &Published::Refused("invalid_grant".into()),
        )
        .unwrap();
        assert!(matches!(
            adopt(&provider(), &origin(), &FLIGHT, &old, &refused),
            Err(Error::TokenRejected(code)) if code == "invalid_grant"
        ));
        let forged = r#"{"r":"invalid_grant"}"#;
        assert!(!matches!(
            adopt(&provider(), &origin(), &FLIGHT, &old, forged),
            Err(Error::TokenRejected(_))
        ));
    }
}
