//! Seals.

use super::*;

const SECRET_A: &str = "an-auth-secret-of-at-least-32-bytes-aaaa";
const SECRET_B: &str = "another-auth-secret-of-32-bytes-or-more-b";

/// The library's seal of `plaintext` for `purpose` by `secret`, with
/// every nonce byte `nonce`: the same on every run.
pub(super) fn fixed_seal(
    secret: &str,
    purpose: Purpose,
    context: &[u8],
    plaintext: &[u8],
    nonce: u8,
) -> String {
    keys_of(&[secret]).seal_fixed(purpose, context, plaintext, nonce)
}

fn keys_of(secrets: &[&str]) -> Keys {
    Keys::derive(Source::AuthSecret, secrets.iter().map(|s| s.as_bytes())).unwrap()
}

struct SealSeed {
    purpose: Purpose,
    context: Vec<u8>,
    plaintext: Vec<u8>,
    secret: &'static str,
    seal: String,
}

/// A seed seal: its purpose, the context, the plaintext, the secret
/// sealing it.
type SealCase = (Purpose, &'static [u8], &'static [u8], &'static str);

fn seal_seeds() -> Vec<SealSeed> {
    let json =
        br#"{"s":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE","t":1800000000,"r":"/dash?x=1"}"#;
    let cases: [SealCase; 5] = [
        (Purpose::Session, b"ctx-1", b"", SECRET_A),
        (Purpose::Session, b"ctx-1", b"hello", SECRET_A),
        (
            Purpose::Flow,
            b"issuer\0client\0oauth_flow.x",
            json,
            SECRET_A,
        ),
        (Purpose::Session, b"ctx-1", &[7; 40], SECRET_B),
        (
            Purpose::Revocation,
            b"",
            b"{\"a\":\"vca_x\",\"t\":5}",
            SECRET_A,
        ),
    ];
    let ring = keys_of(&[SECRET_B, SECRET_A]);
    cases
        .into_iter()
        .enumerate()
        .map(|(n, (purpose, context, plaintext, secret))| {
            let seal = fixed_seal(secret, purpose, context, plaintext, n as u8);
            let opened = ring
                .open(purpose, context, &seal)
                .expect("a seed seal opens");
            assert_eq!(
                opened.plaintext, plaintext,
                "the fixed seal is the library's"
            );
            SealSeed {
                purpose,
                context: context.to_vec(),
                plaintext: plaintext.to_vec(),
                secret,
                seal,
            }
        })
        .collect()
}

/// Seals mutated (every truncation, bytes, splices of two seals), opened
/// for every purpose and context of the seeds, with key A alone and with
/// the ring `[B, A]`: each opens to nothing, or is a seed seal unchanged
/// and opens to its plaintext, flagged old exactly when key A opened it
/// in the ring.
#[test]
fn a_mutated_seal_is_refused_or_opens_to_the_same_plaintext() {
    let seeds = seal_seeds();
    let (only_a, ring) = (keys_of(&[SECRET_A]), keys_of(&[SECRET_B, SECRET_A]));
    let mut fuzz = Fuzz::new("seal::Keys::open");
    let property = |bytes: &[u8]| -> Outcome {
        let mut verdict = Verdict::Refused;
        for (keys, in_ring) in [(&only_a, false), (&ring, true)] {
            for target in &seeds {
                let Some(opened) = keys.open(target.purpose, &target.context, bytes) else {
                    continue;
                };
                let same = seeds.iter().find(|s| {
                    s.seal.as_bytes() == bytes
                        && s.purpose == target.purpose
                        && s.context == target.context
                });
                match same {
                    Some(seed) if seed.plaintext == opened.plaintext => {
                        if opened.old_key != (in_ring && seed.secret == SECRET_A) {
                            return Err("a seal opened with the wrong key-age flag".into());
                        }
                        verdict = Verdict::Accepted;
                    }
                    _ => return Err("a changed seal opened".into()),
                }
            }
        }
        Ok(verdict)
    };
    for seed in &seeds {
        for len in 0..=seed.seal.len() {
            fuzz.check(&seed.seal.as_bytes()[..len], property);
        }
    }
    for _ in 0..scaled(2500) {
        let (i, j) = (fuzz.below(seeds.len()), fuzz.below(seeds.len()));
        let input = fuzz.mutate_bytes(seeds[i].seal.as_bytes(), seeds[j].seal.as_bytes());
        fuzz.check(&input, property);
    }
    fuzz.finish();
}

/// The sealed bytes changed (version, nonce, ciphertext or tag: whatever
/// changes, re-encoded as valid base64url), or the context or purpose
/// it is opened for: never opens.
#[test]
fn a_seal_with_a_changed_nonce_ciphertext_tag_or_context_never_opens() {
    let seeds = seal_seeds();
    let ring = keys_of(&[SECRET_B, SECRET_A]);
    let mut fuzz = Fuzz::new("seal::Keys::open sealed bytes");
    for _ in 0..scaled(2500) {
        let (i, j) = (fuzz.below(seeds.len()), fuzz.below(seeds.len()));
        let seed = &seeds[i];
        let raw = URL_SAFE_NO_PAD.decode(&seed.seal).unwrap();
        let other = URL_SAFE_NO_PAD.decode(&seeds[j].seal).unwrap();
        match fuzz.below(3) {
            0 => {
                let context = fuzz.mutate_bytes(&seed.context, &seeds[j].context);
                if context != seed.context {
                    fuzz.check(&context, |context| {
                        match ring.open(seed.purpose, context, &seed.seal) {
                            Some(_) => Err("a seal opened under another context".into()),
                            None => Ok(Verdict::Refused),
                        }
                    });
                }
            }
            _ => {
                let mutated = fuzz.mutate_bytes(&raw, &other);
                let a_seed = seeds.iter().any(|s| s.seal == b64(&mutated));
                if !a_seed {
                    fuzz.check(&mutated, |sealed| {
                        let text = b64(sealed);
                        let opened = [Purpose::Session, Purpose::Flow, Purpose::Revocation]
                            .into_iter()
                            .any(|p| ring.open(p, &seed.context, &text).is_some());
                        match opened {
                            true => Err("changed sealed bytes opened".into()),
                            false => Ok(Verdict::Refused),
                        }
                    });
                }
            }
        }
    }
    for seed in &seeds {
        for purpose in [
            Purpose::Session,
            Purpose::Flow,
            Purpose::Revocation,
            Purpose::RefreshOutcome,
        ] {
            if purpose != seed.purpose {
                assert!(ring.open(purpose, &seed.context, &seed.seal).is_none());
            }
        }
    }
    fuzz.finish();
}
