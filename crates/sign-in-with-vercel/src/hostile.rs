//! Hostile input: every parser and verifier that reads bytes from a
//! browser or a provider, fed thousands of seeded mutations of valid
//! inputs, as ordinary unit tests.
//!
//! Release builds abort on a panic (`panic = "abort"`), so one request
//! whose bytes make the library panic takes its function instance down:
//! every bad input must be an error, never a panic. An authenticated
//! input (a signed ID token, a sealed cookie) must moreover be refused
//! once it is changed, or mean exactly what it meant before.
//!
//! # Method
//!
//! Each test builds a few valid seed inputs (ID tokens signed with the
//! fixed test key A and a fixed Ed25519 key, seals and cookies sealed with
//! fixed nonces, provider documents, query strings, headers), then feeds
//! the target mutations of them: bit flips; bytes replaced by ones parsers
//! treat specially (`\0 \r \n " \ ; , = % + / . { } [ ]`, bytes ≥ 0x80) or
//! by random ones; insertions, deletions, duplicated slices, long runs,
//! truncation (at every length for the short seeds), and splices of two
//! seeds; for JSON, also values replaced by huge, negative, fractional and
//! out-of-range numbers, very long strings, nested arrays, values of the
//! wrong type, and keys removed, added or repeated. Every run is the same:
//! the mutations come from `StdRng::seed_from_u64`, one stream per test,
//! and the seeds are made deterministically (RS256 and Ed25519 signatures
//! are; the library's random seal nonces are replaced by fixed ones, each
//! checked against the library's own `open`).
//!
//! # What is asserted
//!
//! - Nothing panics: each call runs under `catch_unwind`, and a panic
//!   fails the test with the target, the panic message and the input,
//!   minimised (chunks deleted while it still panics).
//! - An authenticated input that is accepted yields exactly what its seed
//!   did: an ID token's claims (direct, and through the marketplace's SSO
//!   exchange), a seal's plaintext, a flow. A request whose session
//!   cookies are mutated yields no session, or one of the sessions its
//!   cookies carried, unchanged (dropping the newer of two generations
//!   leaves the older: the browser holds it). A changed signature,
//!   ciphertext, tag, nonce or context is always refused.
//! - Validly signed or sealed hostile content (claims signed by a
//!   published key; flow, session and revocation plaintexts sealed with
//!   the app's own key, which only its holder can send: defence in depth)
//!   never panics the readers behind the signature or the seal, and what
//!   they accept matches the claims checks (issuer, audience, nonce,
//!   `at_hash`, times, subject) or the session policy.
//! - Where a parser's answer has a documented shape, an accepted input
//!   has it: a return path is a path on this origin (it starts with one
//!   `/`, never `//` or `/\`, however often it is percent-decoded), an
//!   origin is `https` unless loopback, endpoints are `https`, error codes
//!   are sanitised, a userinfo answer is about the signed-in user.
//!
//! Accepted mutations are only counted (the library normalises some
//! away), as are inputs no client could send (a header value `http`
//! refuses); each test prints one line of counts and nothing of what it
//! read: run with `-- --nocapture` to see them. Only a failure prints an
//! input, of test keys and test tokens.
//!
//! # Running more
//!
//! The default counts keep each test within about two seconds in a debug
//! build. `HOSTILE_ITERATIONS=<n>` runs `n` times as many mutations per
//! target (truncations stay one per length), and `HOSTILE_SEED=<u64>`
//! draws another stream:
//!
//! ```text
//! HOSTILE_ITERATIONS=50 HOSTILE_SEED=7 cargo test -p sign-in-with-vercel --lib hostile -- --nocapture
//! ```

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ring::signature::KeyPair as _;
use serde_json::{Value, json};

use crate::authorize::Flow;
use crate::config::Config;
use crate::cookies::{
    ENDED_COOKIE, FLOW_COOKIE, MAX_VALUE, REVOCATION_COOKIE, RequestCookies, SESSION_COOKIE,
    cookie_name,
};
use crate::discovery::{KeyMetadata, ProviderMetadata, discovered};
use crate::flow::Flows;
use crate::id_token::tests::{jwk, key_pair, rs256};
use crate::id_token::{Expected, IdTokenClaims, check_unsigned, verify};
use crate::jwks::JwkSet;
use crate::jws::{Algorithm, Algorithms};
use crate::origin::{Origin, safe_return_path};
use crate::paths::Paths;
use crate::seal::{Keys, Purpose, Source};
use crate::secret::{AccessToken, IdToken, Nonce, State};
use crate::session::cookie::{Profile, SessionData};
use crate::transport::HttpResponse;
use crate::transport::tests::{Fake, response};

// ---------------------------------------------------------------------
// The harness: seeded mutations, a property per call, panics caught.
// ---------------------------------------------------------------------

/// The stream every test draws from unless `HOSTILE_SEED` says otherwise.
const DEFAULT_SEED: u64 = 0x5349_5756_686f_7374;

fn base_seed() -> u64 {
    std::env::var("HOSTILE_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

/// `default` mutations, times `HOSTILE_ITERATIONS` when it is set.
fn scaled(default: usize) -> usize {
    let factor = std::env::var("HOSTILE_ITERATIONS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(1);
    default.saturating_mul(factor.max(1))
}

/// What a target made of one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// Refused: an error, `None`, nothing found.
    Refused,
    /// Accepted, and what it yields passed the test's checks.
    Accepted,
    /// Not an input the target can receive (a header value `http` refuses).
    Unsendable,
}

/// A verdict, or the property the input broke.
type Outcome = Result<Verdict, String>;

/// Bytes parsers treat specially: JSON and cookie syntax, separators,
/// percent signs, controls, and bytes that are not ASCII (lone
/// continuation bytes, lead bytes of 2, 3 and 4, and 0xff).
const INTERESTING: &[u8] =
    b"\0\r\n\t \"\\;,=%+/.{}[]:-_'&?#@~*0\x01\x7f\x80\xbf\xc0\xc3\xe2\xef\xf0\xff";

/// Keys a mutation adds to a JSON object: those some target reads.
const KEYS: &[&str] = &[
    "alg",
    "kid",
    "crit",
    "typ",
    "iss",
    "sub",
    "aud",
    "azp",
    "exp",
    "iat",
    "nbf",
    "nonce",
    "at_hash",
    "name",
    "email",
    "keys",
    "kty",
    "n",
    "e",
    "x",
    "crv",
    "use",
    "key_ops",
    "issuer",
    "jwks_uri",
    "token_endpoint",
    "access_token",
    "token_type",
    "expires_in",
    "id_token",
    "error",
    "active",
    "client_id",
    "type",
    "token",
    "tokens",
    "pagination",
    "s",
    "t",
    "r",
    "",
    "\u{0}",
];

/// JSON text no `Value` holds: numbers beyond `f64`, `i64` and `u64`, a
/// negative zero, and nesting deeper than `serde_json`'s limit.
fn raw_json(index: usize) -> String {
    match index {
        0 => "1e400".into(),
        1 => "-1e400".into(),
        2 => "123456789012345678901234567890".into(),
        3 => "-9223372036854775809".into(),
        4 => "18446744073709551616".into(),
        5 => "-0".into(),
        6 => "1E+2".into(),
        7 => "0.000000000000000000001".into(),
        _ => format!("{}{}", "[".repeat(200), "]".repeat(200)),
    }
}

/// One test's mutation stream and counts.
struct Fuzz {
    target: &'static str,
    seed: u64,
    rng: StdRng,
    runs: usize,
    accepted: usize,
    refused: usize,
    unsendable: usize,
}

impl Fuzz {
    fn new(target: &'static str) -> Self {
        // FNV-1a of the name: each test its own stream, whatever order
        // the tests run in.
        let name = target.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let seed = base_seed() ^ name;
        Self {
            target,
            seed,
            rng: StdRng::seed_from_u64(seed),
            runs: 0,
            accepted: 0,
            refused: 0,
            unsendable: 0,
        }
    }

    /// A number below `n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { self.rng.gen_range(0..n) }
    }

    /// True once in `n` times.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn byte(&mut self) -> u8 {
        if self.one_in(3) {
            self.rng.r#gen()
        } else {
            INTERESTING[self.below(INTERESTING.len())]
        }
    }

    /// `seed` with one to four byte-level mutations; `other`, another
    /// seed, is what splices take their bytes from.
    fn mutate_bytes(&mut self, seed: &[u8], other: &[u8]) -> Vec<u8> {
        let mut out = seed.to_vec();
        let rounds = [1, 1, 1, 2, 2, 3, 4][self.below(7)];
        for _ in 0..rounds {
            self.mutate_once(&mut out, other);
        }
        out
    }

    fn mutate_once(&mut self, out: &mut Vec<u8>, other: &[u8]) {
        let len = out.len();
        match self.below(11) {
            // A bit flip.
            0 if len > 0 => {
                let i = self.below(len);
                out[i] ^= 1 << self.below(8);
            }
            // An interesting (or random) byte in place of one.
            1 if len > 0 => {
                let i = self.below(len);
                out[i] = self.byte();
            }
            // One to four bytes inserted.
            2 => {
                let at = self.below(len + 1);
                let n = 1 + self.below(4);
                let bytes: Vec<u8> = (0..n).map(|_| self.byte()).collect();
                out.splice(at..at, bytes);
            }
            // A slice deleted.
            3 if len > 0 => {
                let i = self.below(len);
                let n = 1 + self.below((len - i).min(16));
                out.drain(i..i + n);
            }
            // A slice duplicated somewhere.
            4 if len > 0 => {
                let i = self.below(len);
                let n = 1 + self.below((len - i).min(64));
                let slice = out[i..i + n].to_vec();
                let at = self.below(len + 1);
                out.splice(at..at, slice);
            }
            // Truncated.
            5 => {
                let at = self.below(len + 1);
                out.truncate(at);
            }
            // Spliced: a head of this seed, a tail of the other.
            6 if !other.is_empty() => {
                let at = self.below(len + 1);
                let from = self.below(other.len());
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            // A chunk of the other seed written over this one.
            7 if !other.is_empty() && len > 0 => {
                let from = self.below(other.len());
                let n = 1 + self.below((other.len() - from).min(32));
                let at = self.below(len);
                let end = (at + n).min(len);
                out.splice(at..end, other[from..from + n].iter().copied());
            }
            // A long run of one byte.
            8 => {
                let at = self.below(len + 1);
                let n = [64, 1000, 5000, 20_000][self.below(4)];
                let b = self.byte();
                out.splice(at..at, std::iter::repeat_n(b, n));
            }
            // Two bytes swapped.
            9 if len > 1 => {
                let (i, j) = (self.below(len), self.below(len));
                out.swap(i, j);
            }
            // A random byte in place of one, or appended.
            _ => {
                let b = self.rng.r#gen();
                match len {
                    0 => out.push(b),
                    _ => {
                        let i = self.below(len);
                        out[i] = b;
                    }
                }
            }
        }
    }

    /// `seed` with one to three structural mutations, as JSON text; a
    /// quarter of the time also with byte-level ones.
    fn mutate_json(&mut self, seed: &Value) -> Vec<u8> {
        let mut value = seed.clone();
        let mut raws = Vec::new();
        for _ in 0..1 + self.below(3) {
            self.mutate_node(&mut value, &mut raws, 0);
        }
        let mut text = serde_json::to_string(&value).unwrap_or_default();
        // A key of the top-level object repeated, with another value.
        if let Value::Object(map) = &value
            && !map.is_empty()
            && self.one_in(8)
        {
            let key = map
                .keys()
                .nth(self.below(map.len()))
                .cloned()
                .unwrap_or_default();
            let other = self.hostile_value(&mut raws);
            let repeated = format!(
                "{}:{},",
                Value::String(key),
                serde_json::to_string(&other).unwrap_or_default()
            );
            text.insert_str(1, &repeated);
        }
        for (index, raw) in raws.iter().enumerate() {
            text = text.replace(&format!("\"\\u0001raw{index}\\u0001\""), raw);
        }
        let bytes = text.into_bytes();
        if self.one_in(4) {
            self.mutate_bytes(&bytes, b"{\"a\":[1,\"b\",null]}")
        } else {
            bytes
        }
    }

    fn mutate_node(&mut self, value: &mut Value, raws: &mut Vec<String>, depth: usize) {
        // Half the time, somewhere below.
        if depth < 8 && self.one_in(2) {
            match value {
                Value::Object(map) if !map.is_empty() => {
                    let key = map.keys().nth(self.below(map.len())).cloned();
                    if let Some(child) = key.and_then(|k| map.get_mut(&k)) {
                        return self.mutate_node(child, raws, depth + 1);
                    }
                }
                Value::Array(items) if !items.is_empty() => {
                    let i = self.below(items.len());
                    return self.mutate_node(&mut items[i], raws, depth + 1);
                }
                _ => {}
            }
        }
        // A string: most often changed inside, as bytes.
        if let Value::String(text) = value
            && self.one_in(2)
        {
            let other = KEYS[self.below(KEYS.len())];
            *text = lossy(&self.mutate_bytes(text.as_bytes(), other.as_bytes()));
            return;
        }
        // A number: most often another number, at or near an extreme.
        if let Value::Number(n) = value
            && self.one_in(2)
        {
            let near = n.as_i64().unwrap_or_default();
            *value = match self.below(8) {
                0 => json!(i64::MIN),
                1 => json!(i64::MAX),
                2 => json!(u64::MAX),
                3 => json!(near.wrapping_neg()),
                4 => json!(near.saturating_add(1 << self.below(63))),
                5 => json!(near as f64 + 0.5),
                6 => json!(-1),
                _ => json!(0),
            };
            return;
        }
        match self.below(6) {
            // A key removed.
            0 => {
                if let Value::Object(map) = value
                    && let Some(key) = map.keys().nth(self.below(map.len())).cloned()
                {
                    map.remove(&key);
                    return;
                }
            }
            // A key added (or replaced).
            1 => {
                if let Value::Object(map) = value {
                    let key = KEYS[self.below(KEYS.len())].to_owned();
                    map.insert(key, self.hostile_value(raws));
                    return;
                }
            }
            // An item added, duplicated or removed.
            2 => {
                if let Value::Array(items) = value {
                    match (self.below(3), items.len()) {
                        (0, n) if n > 0 => {
                            let i = self.below(n);
                            items.insert(i, items[i].clone());
                        }
                        (1, n) if n > 0 => {
                            items.remove(self.below(n));
                        }
                        _ => items.push(self.hostile_value(raws)),
                    }
                    return;
                }
            }
            // The value wrapped in an array: the right value, the wrong type.
            3 => {
                *value = Value::Array(vec![value.take()]);
                return;
            }
            _ => {}
        }
        *value = self.hostile_value(raws);
    }

    /// A value of the kind that breaks readers: extremes, wrong types.
    fn hostile_value(&mut self, raws: &mut Vec<String>) -> Value {
        match self.below(24) {
            0 => Value::Null,
            1 => json!(true),
            2 => json!(false),
            3 => json!(0),
            4 => json!(-1),
            5 => json!(i64::MAX),
            6 => json!(i64::MIN),
            7 => json!(u64::MAX),
            8 => json!(1.5),
            9 => json!(-0.5),
            10 => json!(1e300),
            11 => json!(-1e300),
            12 => json!(""),
            13 => json!("x".repeat([300, 5000, 70_000][self.below(3)])),
            14 => json!("é\u{0}\u{2028}\u{fffd}\u{1F600}\"\\%2F"),
            15 => {
                let depth = 1 + self.below(40);
                (0..depth).fold(json!(1), |inner, _| Value::Array(vec![inner]))
            }
            16 => json!({}),
            17 => json!([]),
            18 => json!(["3600", "-5", " 7 ", "1e3"][self.below(4)]),
            19 => json!({"a": [1, {"b": null}], "kid": "test-a"}),
            20 => json!(["cl", "other"]),
            _ => {
                let index = raws.len();
                raws.push(raw_json(self.below(9)));
                Value::String(format!("\u{1}raw{index}\u{1}"))
            }
        }
    }

    /// Runs `property` on `input`; a panic or a broken property fails
    /// the test, with the input minimised.
    fn check(&mut self, input: &[u8], property: impl Fn(&[u8]) -> Outcome) {
        self.runs += 1;
        match run_caught(&property, input) {
            Ok(Ok(Verdict::Accepted)) => self.accepted += 1,
            Ok(Ok(Verdict::Refused)) => self.refused += 1,
            Ok(Ok(Verdict::Unsendable)) => self.unsendable += 1,
            Ok(Err(_)) => self.fail(
                input,
                "a property does not hold",
                &|bytes| match run_caught(&property, bytes) {
                    Ok(Err(why)) => Some(why),
                    _ => None,
                },
            ),
            Err(_) => self.fail(input, "it panicked", &|bytes| {
                run_caught(&property, bytes).err()
            }),
        }
    }

    /// Fails the test with `input` and the smallest input found that
    /// still fails as it did (`why` says how, or `None` when it does not).
    fn fail(&self, input: &[u8], what: &str, why: &dyn Fn(&[u8]) -> Option<String>) -> ! {
        let (minimal, why_minimal, why_input) = quietly(|| {
            let minimal = minimise(input.to_vec(), &|bytes| why(bytes).is_some());
            (minimal.clone(), why(&minimal), why(input))
        });
        panic!(
            "hostile {target}: {what}\n  minimal input ({} bytes): {}\n    {}\n  input ({} bytes): {}\n    {}\n  (input {} of this test's stream, HOSTILE_SEED={})",
            minimal.len(),
            shown(&minimal),
            why_minimal.unwrap_or_default(),
            input.len(),
            shown(input),
            why_input.unwrap_or_default(),
            self.runs,
            base_seed(),
            target = self.target,
        );
    }

    /// Prints the counts: the only output of a passing test.
    fn finish(self) {
        eprintln!(
            "hostile {}: {} inputs, {} refused, {} accepted (unchanged or as documented), {} unsendable (stream {:#x})",
            self.target, self.runs, self.refused, self.accepted, self.unsendable, self.seed
        );
        assert!(
            self.refused + self.accepted > 0,
            "{}: no input reached the code under test ({} runs, all unsendable)",
            self.target,
            self.runs
        );
    }
}

fn run_caught(property: &dyn Fn(&[u8]) -> Outcome, input: &[u8]) -> Result<Outcome, String> {
    catch_unwind(AssertUnwindSafe(|| property(input))).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned())
    })
}

std::thread_local! {
    /// Whether this thread's panics go unreported (see [`quietly`]).
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `f` with this thread's panics unreported: minimising panics many
/// times over. The panic hook is wrapped once, for every thread, and
/// silences only a thread inside `quietly`: the other tests, running in
/// parallel, still report theirs.
fn quietly<T>(f: impl FnOnce() -> T) -> T {
    static WRAPPED: std::sync::Once = std::sync::Once::new();
    WRAPPED.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                report(info);
            }
        }));
    });
    QUIET.with(|quiet| quiet.set(true));
    let out = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|quiet| quiet.set(false));
    out.unwrap_or_else(|payload| resume_unwind(payload))
}

/// `input` with chunks deleted, halving their size, while it still fails.
fn minimise(mut input: Vec<u8>, still_fails: &dyn Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut chunk = input.len().div_ceil(2);
    let mut budget = 4000;
    while chunk > 0 && budget > 0 {
        let mut at = 0;
        let mut shrunk = false;
        while at < input.len() && budget > 0 {
            budget -= 1;
            let end = (at + chunk).min(input.len());
            let candidate = [&input[..at], &input[end..]].concat();
            if still_fails(&candidate) {
                input = candidate;
                shrunk = true;
            } else {
                at += chunk;
            }
        }
        if !shrunk {
            chunk /= 2;
        }
    }
    input
}

/// An input as printable ASCII, cut to a readable length.
fn shown(bytes: &[u8]) -> String {
    let text = bytes.escape_ascii().to_string();
    match text.char_indices().nth(1500) {
        Some((cut, _)) => format!(
            "{}… ({} escaped characters in all)",
            &text[..cut],
            text.len()
        ),
        None => text,
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A provider response with `status`, `body` and `headers`.
fn answer(status: u16, body: &[u8], headers: &[(&'static str, &[u8])]) -> Option<HttpResponse> {
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, HeaderValue::from_bytes(value).ok()?);
    }
    builder.body(body.to_vec()).ok()
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

// ---------------------------------------------------------------------
// ID tokens: signed seeds, the keys that verify them.
// ---------------------------------------------------------------------

const ISSUER: &str = "https://op.example";
const CLIENT: &str = "cl";
const NOW: i64 = crate::id_token::tests::NOW;
const ACCESS: &str = "vca_example";
const KID_A: &str = "test-a";
const KID_ED: &str = "hostile-ed25519";

/// Test key A (RS256), as the ID-token tests sign with it.
fn key_a() -> &'static ring::signature::RsaKeyPair {
    static PAIR: OnceLock<ring::signature::RsaKeyPair> = OnceLock::new();
    PAIR.get_or_init(|| key_pair(include_str!("id_token/testdata/key_a.pem")))
}

/// An Ed25519 key from a fixed seed: its signatures are the same on
/// every run, as RS256's are.
fn key_ed() -> &'static ring::signature::Ed25519KeyPair {
    static PAIR: OnceLock<ring::signature::Ed25519KeyPair> = OnceLock::new();
    PAIR.get_or_init(|| {
        ring::signature::Ed25519KeyPair::from_seed_unchecked(&[0x2a; 32]).expect("Ed25519")
    })
}

fn ed_jwk() -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": KID_ED,
           "x": b64(key_ed().public_key())})
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Signer {
    /// RS256 by key A.
    KeyA,
    /// Ed25519 by the fixed key.
    Ed,
}

impl Signer {
    fn header(self, kid: bool) -> Value {
        let (alg, id) = match self {
            Self::KeyA => ("RS256", KID_A),
            Self::Ed => ("EdDSA", KID_ED),
        };
        let mut header = json!({"alg": alg, "typ": "JWT"});
        if kid {
            header["kid"] = json!(id);
        }
        header
    }

    /// The compact JWS of `header` and `payload`, as they are.
    fn sign(self, header: &[u8], payload: &[u8]) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let signature = match self {
            Self::KeyA => rs256(key_a(), input.as_bytes()),
            Self::Ed => key_ed().sign(input.as_bytes()).as_ref().to_vec(),
        };
        format!("{input}.{}", b64(signature))
    }
}

/// `at_hash` of `access` for a token whose header names `alg`.
fn at_hash(alg: &str, access: &str) -> Option<String> {
    let alg = Algorithm::from_name(alg)?;
    let hash = ring::digest::digest(alg.hash(), access.as_bytes());
    Some(b64(&hash.as_ref()[..hash.as_ref().len() / 2]))
}

fn token_claims(sub: &str, signer: Signer) -> Value {
    let alg = if signer == Signer::KeyA {
        "RS256"
    } else {
        "EdDSA"
    };
    json!({"iss": ISSUER, "sub": sub, "aud": CLIENT, "azp": CLIENT, "exp": NOW + 600,
           "iat": NOW - 5, "nbf": NOW - 5, "nonce": "n1", "at_hash": at_hash(alg, ACCESS),
           "name": "Ada Lovelace", "preferred_username": "ada", "email": "ada@example.com",
           "picture": "https://example.com/a.png", "groups": ["eng", "ops"], "ver": 2})
}

/// What an ID token of [`ISSUER`] for [`CLIENT`] must match at [`NOW`].
struct Expectation {
    nonce: Nonce,
    access: AccessToken,
}

impl Expectation {
    fn new() -> Self {
        Self {
            nonce: Nonce::new("n1"),
            access: AccessToken::new(ACCESS),
        }
    }

    /// A sign-in's: nonce `n1`, the access token [`ACCESS`].
    fn sign_in(&self) -> Expected<'_> {
        Expected {
            issuer: ISSUER,
            client_id: CLIENT,
            trusted_audiences: &[],
            nonce: Some(&self.nonce),
            subject: None,
            access_token: Some(&self.access),
            now: NOW,
            algorithms: Algorithms::of(&[Algorithm::Rs256, Algorithm::Ed25519]),
        }
    }

    /// A refresh's, of user `subject`.
    fn refresh<'a>(&'a self, subject: &'a str) -> Expected<'a> {
        Expected {
            nonce: None,
            subject: Some(subject),
            ..self.sign_in()
        }
    }
}

/// A signed seed token and what it verifies to.
struct TokenSeed {
    signer: Signer,
    token: String,
    header: Value,
    claims_json: Value,
    claims: IdTokenClaims,
}

impl TokenSeed {
    fn signature(&self) -> &str {
        self.token.rsplit('.').next().unwrap_or_default()
    }
}

/// Key A's JWK and the Ed25519 one, as a key set.
fn token_keys() -> JwkSet {
    let document = json!({"keys": [jwk(), ed_jwk()]}).to_string();
    JwkSet::from_response(&response(200, &document)).expect("the seed key set")
}

/// RS256 with a `kid`, Ed25519 with one and without: three users.
fn token_seeds(keys: &JwkSet, expect: &Expectation) -> Vec<TokenSeed> {
    [
        (Signer::KeyA, true, "u1"),
        (Signer::Ed, true, "u2"),
        (Signer::Ed, false, "u3"),
    ]
    .into_iter()
    .map(|(signer, kid, sub)| {
        let header = signer.header(kid);
        let claims_json = token_claims(sub, signer);
        let token = signer.sign(
            &serde_json::to_vec(&header).unwrap(),
            &serde_json::to_vec(&claims_json).unwrap(),
        );
        let claims = verify(&IdToken::new(token.clone()), keys, &expect.sign_in())
            .expect("a seed token verifies");
        TokenSeed {
            signer,
            token,
            header,
            claims_json,
            claims,
        }
    })
    .collect()
}

/// Accepted by [`verify`] only as one of the seeds: the signature of the
/// seed it carries, and that seed's claims exactly.
fn token_refused_or_unchanged(
    bytes: &[u8],
    keys: &JwkSet,
    expect: &Expectation,
    seeds: &[TokenSeed],
) -> Outcome {
    let token = IdToken::new(lossy(bytes));
    // Claims without the signature, as a refresh whose keys did not load:
    // it must not panic either.
    let _ = check_unsigned(&token, &expect.sign_in());
    let claims = match verify(&token, keys, &expect.sign_in()) {
        Err(_) => return Ok(Verdict::Refused),
        Ok(claims) => claims,
    };
    let signature = token.secret().rsplit('.').next().unwrap_or_default();
    match seeds.iter().find(|seed| seed.signature() == signature) {
        Some(seed) if seed.claims == claims => Ok(Verdict::Accepted),
        Some(seed) => Err(format!(
            "accepted with claims {claims:?}, not the {:?} its signature was made for",
            seed.claims
        )),
        None => Err(format!(
            "accepted under a signature no seed has, claims {claims:?}"
        )),
    }
}

/// Whole tokens mutated (with every truncation of each), and their
/// header or payload changed as JSON under the original signature:
/// refused, or verified to exactly the claims they were signed with.
#[test]
fn a_mutated_id_token_is_refused_or_unchanged() {
    let (keys, expect) = (token_keys(), Expectation::new());
    let seeds = token_seeds(&keys, &expect);
    let mut fuzz = Fuzz::new("id_token::verify");
    let property = |bytes: &[u8]| token_refused_or_unchanged(bytes, &keys, &expect, &seeds);
    for seed in &seeds {
        for len in 0..=seed.token.len() {
            fuzz.check(&seed.token.as_bytes()[..len], property);
        }
    }
    for _ in 0..scaled(1500) {
        let (i, j) = (fuzz.below(seeds.len()), fuzz.below(seeds.len()));
        let input = fuzz.mutate_bytes(seeds[i].token.as_bytes(), seeds[j].token.as_bytes());
        fuzz.check(&input, property);
    }
    for _ in 0..scaled(500) {
        let seed = &seeds[fuzz.below(seeds.len())];
        let (header, payload) = if fuzz.one_in(3) {
            let payload = serde_json::to_vec(&seed.claims_json).unwrap();
            (fuzz.mutate_json(&seed.header), payload)
        } else {
            let header = serde_json::to_vec(&seed.header).unwrap();
            (header, fuzz.mutate_json(&seed.claims_json))
        };
        let input = format!("{}.{}.{}", b64(header), b64(payload), seed.signature());
        fuzz.check(input.as_bytes(), property);
    }
    fuzz.finish();
}

/// A signature changed in any way (its bytes, or its base64url text), or
/// another token's signature, is refused, whatever it signs.
#[test]
fn a_mutated_id_token_signature_is_always_refused() {
    let (keys, expect) = (token_keys(), Expectation::new());
    let seeds = token_seeds(&keys, &expect);
    let mut fuzz = Fuzz::new("id_token::verify signature");
    let refused = |bytes: &[u8]| match verify(&IdToken::new(lossy(bytes)), &keys, &expect.sign_in())
    {
        Ok(claims) => Err(format!(
            "a changed signature was accepted, claims {claims:?}"
        )),
        Err(_) => Ok(Verdict::Refused),
    };
    for (i, seed) in seeds.iter().enumerate() {
        let (signing_input, _) = seed.token.rsplit_once('.').unwrap();
        for (j, other) in seeds.iter().enumerate() {
            if i != j {
                let swapped = format!("{signing_input}.{}", other.signature());
                fuzz.check(swapped.as_bytes(), refused);
            }
        }
    }
    for _ in 0..scaled(1200) {
        let (i, j) = (fuzz.below(seeds.len()), fuzz.below(seeds.len()));
        let (signing_input, signature) = seeds[i].token.rsplit_once('.').unwrap();
        let other = seeds[j].signature();
        let mutated = if fuzz.one_in(2) {
            let raw = URL_SAFE_NO_PAD.decode(signature).unwrap();
            let other = URL_SAFE_NO_PAD.decode(other).unwrap();
            b64(fuzz.mutate_bytes(&raw, &other))
        } else {
            lossy(&fuzz.mutate_bytes(signature.as_bytes(), other.as_bytes()))
        };
        if mutated != signature {
            fuzz.check(format!("{signing_input}.{mutated}").as_bytes(), refused);
        }
    }
    fuzz.finish();
}

/// Tokens whose header or claims are hostile but correctly signed by a
/// published key, so that every claim check runs: nothing panics, and a
/// token is accepted only with this issuer, audience, nonce, `at_hash`,
/// times and subject, and with claims that say what its payload says.
#[test]
fn a_validly_signed_hostile_id_token_is_accepted_only_when_its_claims_match() {
    let (keys, expect) = (token_keys(), Expectation::new());
    let seeds = token_seeds(&keys, &expect);
    let mut fuzz = Fuzz::new("id_token::verify signed claims");
    let property = |bytes: &[u8]| signed_token_property(bytes, &keys, &expect);
    // Unoptimised, ring's Ed25519 is slower than its RSA (assembly).
    let (rsa, ed) = (scaled(650), scaled(300));
    for n in 0..rsa + ed {
        let signer = if n < rsa { Signer::KeyA } else { Signer::Ed };
        let candidates: Vec<&TokenSeed> = seeds.iter().filter(|s| s.signer == signer).collect();
        let seed = candidates[fuzz.below(candidates.len())];
        let header = if fuzz.one_in(4) {
            fuzz.mutate_json(&seed.header)
        } else {
            serde_json::to_vec(&seed.header).unwrap()
        };
        let payload = if fuzz.one_in(8) {
            serde_json::to_vec(&seed.claims_json).unwrap()
        } else {
            fuzz.mutate_json(&seed.claims_json)
        };
        fuzz.check(signer.sign(&header, &payload).as_bytes(), property);
    }
    fuzz.finish();
}

fn signed_token_property(bytes: &[u8], keys: &JwkSet, expect: &Expectation) -> Outcome {
    let token = IdToken::new(lossy(bytes));
    let unsigned = check_unsigned(&token, &expect.sign_in());
    if let Ok(claims) = verify(&token, keys, &expect.refresh("u1")) {
        if claims.sub != "u1" {
            return Err(format!("a refresh of u1 accepted {claims:?}"));
        }
        claims_match(&token, &claims, false)?;
    }
    match verify(&token, keys, &expect.sign_in()) {
        Err(_) => Ok(Verdict::Refused),
        Ok(claims) => {
            if let Err(e) = unsigned {
                return Err(format!("verified, but the unsigned check says {e:?}"));
            }
            claims_match(&token, &claims, true)?;
            Ok(Verdict::Accepted)
        }
    }
}

/// What an accepted token's JOSE header and payload, read again as
/// plain JSON, must say; `sign_in`: also the nonce and `at_hash`.
fn claims_match(token: &IdToken, claims: &IdTokenClaims, sign_in: bool) -> Result<(), String> {
    /// The header members checked; the others are skipped, as the
    /// verifier skips them (whatever they hold, `1e400` included).
    #[derive(serde::Deserialize)]
    struct Header {
        alg: Value,
        /// Present at all (`null` too).
        #[serde(default, deserialize_with = "some")]
        crit: Option<Value>,
    }
    fn some<'de, D: serde::Deserializer<'de>>(member: D) -> Result<Option<Value>, D::Error> {
        serde::Deserialize::deserialize(member).map(Some)
    }
    fn part<T: serde::de::DeserializeOwned>(token: &IdToken, n: usize) -> Result<T, String> {
        let text = token.secret().split('.').nth(n).unwrap_or_default();
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes).map_err(|e| format!("accepted, but not JSON: {e}"))
    }
    let (header, payload): (Header, Value) = (part(token, 0)?, part(token, 1)?);
    let number = |key: &str| payload.get(key).and_then(Value::as_f64);
    let absent = |key: &str| payload.get(key).is_none_or(Value::is_null);
    let alg = header.alg.as_str().unwrap_or_default();
    let problems = [
        (
            !matches!(alg, "RS256" | "EdDSA" | "Ed25519"),
            "an algorithm not accepted",
        ),
        (header.crit.is_some(), "a crit header"),
        (
            claims.iss != ISSUER || payload["iss"] != ISSUER,
            "another issuer",
        ),
        (
            match &payload["aud"] {
                Value::String(aud) => aud != CLIENT,
                Value::Array(auds) => auds.is_empty() || auds.iter().any(|a| a != CLIENT),
                _ => true,
            },
            "another audience",
        ),
        (!absent("azp") && payload["azp"] != CLIENT, "another azp"),
        (
            number("exp").is_none() || claims.exp.saturating_add(60) <= NOW,
            "an expired token",
        ),
        (
            number("iat").is_none() || claims.iat > NOW + 60,
            "an iat in the future",
        ),
        (
            !absent("nbf") && number("nbf").is_none_or(|nbf| nbf.floor() > (NOW + 60) as f64),
            "a token not yet valid",
        ),
        (
            claims.sub.is_empty()
                || claims.sub.len() > 255
                || !claims.sub.bytes().all(|b| (b' '..=b'~').contains(&b)),
            "a subject that is not 1-255 printable ASCII characters",
        ),
        (
            payload["sub"] != claims.sub.as_str(),
            "a subject that is not the payload's",
        ),
        (sign_in && payload["nonce"] != "n1", "another nonce"),
        (
            sign_in
                && payload["at_hash"]
                    .as_str()
                    .is_some_and(|h| Some(h.to_owned()) != at_hash(alg, ACCESS)),
            "another at_hash",
        ),
        (
            claims.name.as_deref() != payload["name"].as_str()
                || claims.email.as_deref() != payload["email"].as_str(),
            "a name or email that is not the payload's",
        ),
    ];
    match problems.iter().find(|(broken, _)| *broken) {
        Some((_, what)) => Err(format!("accepted {what}: {claims:?}")),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------
// Key sets.
// ---------------------------------------------------------------------

/// The generator of P-256 and of P-384: valid points, the same every run.
const P256_X: &str = "6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296";
const P256_Y: &str = "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5";
const P384_X: &str = "AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7";
const P384_Y: &str = "3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn key_set_document() -> Value {
    let mut ps256 = jwk();
    ps256["alg"] = json!("PS256");
    ps256["kid"] = json!("test-a-pss");
    let mut enc = jwk();
    enc["use"] = json!("enc");
    let mut ops = jwk();
    ops["key_ops"] = json!(["verify"]);
    ops["kid"] = json!("ops");
    json!({"keys": [
        jwk(),
        ed_jwk(),
        {"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": "p256",
         "x": b64(hex(P256_X)), "y": b64(hex(P256_Y))},
        {"kty": "EC", "crv": "P-384", "kid": "p384", "x": b64(hex(P384_X)), "y": b64(hex(P384_Y))},
        ps256, enc, ops, "junk", {"kty": "oct", "k": "c2VjcmV0"},
    ]})
}

/// Tokens no published key signed: by key B under key A's `kid` and
/// under a `kid` of its own, HS256 keyed with key A's public key, `none`,
/// key A's signature corrupted, and Ed25519 by another key under the
/// published Ed25519 key's `kid`.
fn forged_tokens() -> Vec<IdToken> {
    use crate::id_token::tests::{Signing, claims, sign};
    let mut forged: Vec<IdToken> = [
        Signing::ForeignKey,
        Signing::UnpublishedKid,
        Signing::Hs256WithPublicKey,
        Signing::None,
        Signing::CorruptSignature,
    ]
    .map(|signing| IdToken::new(sign(&claims(), signing)))
    .into();
    let other = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[0x17; 32]).unwrap();
    let header = serde_json::to_vec(&Signer::Ed.header(true)).unwrap();
    let payload = serde_json::to_vec(&claims()).unwrap();
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = b64(other.sign(input.as_bytes()));
    forged.push(IdToken::new(format!("{input}.{signature}")));
    forged
}

/// Key set documents mutated (every truncation, bytes, JSON): parsing
/// never panics, and whatever set comes of it, a seed token verifies to
/// its own claims or is refused, and no forged token verifies.
#[test]
fn a_mutated_key_set_never_panics_or_verifies_a_forged_token() {
    let (keys, expect) = (token_keys(), Expectation::new());
    let seeds = token_seeds(&keys, &expect);
    let forged = forged_tokens();
    for token in &forged {
        assert!(verify(token, &keys, &expect.sign_in()).is_err(), "forged");
    }
    let document = key_set_document();
    let text = document.to_string();
    assert!(
        JwkSet::from_response(&response(200, &text)).is_ok(),
        "the seed key set parses"
    );
    let mut fuzz = Fuzz::new("jwks::JwkSet::from_response");
    let check = |status: u16| {
        let (seeds, expect, forged) = (&seeds, &expect, &forged);
        move |bytes: &[u8]| -> Outcome {
            let Some(response) = answer(status, bytes, &[]) else {
                return Ok(Verdict::Unsendable);
            };
            let Ok(set) = JwkSet::from_response(&response) else {
                return Ok(Verdict::Refused);
            };
            for seed in seeds {
                match verify(&IdToken::new(seed.token.clone()), &set, &expect.sign_in()) {
                    Ok(claims) if claims != seed.claims => {
                        return Err(format!("a seed token now verifies to {claims:?}"));
                    }
                    _ => {}
                }
            }
            if let Some(n) = forged
                .iter()
                .position(|token| verify(token, &set, &expect.sign_in()).is_ok())
            {
                return Err(format!("forged token {n} verifies"));
            }
            Ok(Verdict::Accepted)
        }
    };
    for len in 0..=text.len() {
        fuzz.check(&text.as_bytes()[..len], check(200));
    }
    for _ in 0..scaled(1500) {
        let status = [200, 200, 200, 200, 203, 404, 500][fuzz.below(7)];
        let input = if fuzz.one_in(2) {
            fuzz.mutate_json(&document)
        } else {
            fuzz.mutate_bytes(
                text.as_bytes(),
                br#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#,
            )
        };
        fuzz.check(&input, check(status));
    }
    fuzz.finish();
}

// ---------------------------------------------------------------------
// Seals.
// ---------------------------------------------------------------------

const SECRET_A: &str = "an-auth-secret-of-at-least-32-bytes-aaaa";
const SECRET_B: &str = "another-auth-secret-of-32-bytes-or-more-b";

/// The library's seal of `plaintext` for `purpose` by `secret`, with
/// every nonce byte `nonce`: the same on every run.
fn fixed_seal(
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

// ---------------------------------------------------------------------
// Cookie headers, flow cookies, session cookies.
// ---------------------------------------------------------------------

/// One `Cookie` header per line of `input`; `None` when `http` would not
/// carry one of them (a browser cannot send it).
fn cookie_headers(input: &[u8]) -> Option<HeaderMap> {
    let mut headers = HeaderMap::new();
    for line in input.split(|&b| b == b'\n') {
        headers.append(COOKIE, HeaderValue::from_bytes(line).ok()?);
    }
    Some(headers)
}

/// The local http stack's origin: cookie names without a prefix.
fn local() -> Origin {
    Origin::parse_configured("http://localhost:3000").unwrap()
}

/// An https origin: `__Host-` names.
fn public() -> Origin {
    Origin::parse_configured("https://app.example.com").unwrap()
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `Cookie` headers mutated, read on an http and an https origin: no
/// panic, and every cookie found is one of ours (a token name under our
/// prefix and family, its suffix what follows them), its value trimmed,
/// without `;`, at most `MAX_VALUE` bytes, at most 64 of them.
#[test]
fn no_cookie_header_panics_the_parser_or_yields_a_cookie_not_ours() {
    let many: Vec<String> = (0..70).map(|n| format!("session.a{n}.0=v")).collect();
    let seeds: Vec<Vec<u8>> = vec![
        b"theme=dark; session.ab.0=v1; sessionx.ab=v; oauth_flow.x=v2; access_token=t".to_vec(),
        b"__Host-session.cd.0=AAAA; __Host-oauth_flow.abcdefghijklmnop=BBBB; __Host-revoke.r1=CC; __Host-ended.m1=1800000000".to_vec(),
        b" theme=dark ;session.ab.0= v1 \nother=1\noauth_flow.x=v2;".to_vec(),
        b"x=\xff\xfe; \xe9t\xe9=1; session.ab.0=ok; =; ;;; noequals; ended.zz=1".to_vec(),
        many.join("; ").into_bytes(),
    ];
    let origins = [local(), public()];
    let property = |bytes: &[u8]| -> Outcome {
        let Some(headers) = cookie_headers(bytes) else {
            return Ok(Verdict::Unsendable);
        };
        let mut found = 0;
        for origin in &origins {
            let prefix = if origin.is_secure() { "__Host-" } else { "" };
            let cookies = RequestCookies::parse(&headers, origin);
            let mut ours = 0;
            for base in [SESSION_COOKIE, FLOW_COOKIE, REVOCATION_COOKIE, ENDED_COOKIE] {
                let start = format!("{prefix}{base}.");
                for (name, suffix, value) in cookies.family(origin, base) {
                    ours += 1;
                    if name.get(start.len()..) != Some(suffix) || !name.starts_with(&start) {
                        return Err(format!("{name:?} read as {base} with suffix {suffix:?}"));
                    }
                    if !name.bytes().all(is_tchar) {
                        return Err(format!("{name:?} is not a token"));
                    }
                    let trimmed = |b: Option<&u8>| b.is_none_or(|b| !b.is_ascii_whitespace());
                    if value.len() > MAX_VALUE
                        || value.contains(&b';')
                        || !trimmed(value.first())
                        || !trimmed(value.last())
                    {
                        return Err(format!("{name:?} has the value {:?}", shown(value)));
                    }
                }
            }
            let ended = cookies.family(origin, ENDED_COOKIE).count();
            if ours > 64 || cookies.has_ended_mark() != (ended > 0) {
                return Err(format!("{ours} cookies of ours, {ended} marks"));
            }
            let spent = crate::session::cookie::spent_marks(&cookies, origin, NOW);
            if spent.len() > ended {
                return Err("more marks spent than there are".into());
            }
            found += ours;
        }
        Ok(if found > 0 {
            Verdict::Accepted
        } else {
            Verdict::Refused
        })
    };
    let mut fuzz = Fuzz::new("cookies::RequestCookies::parse");
    for seed in &seeds[..2] {
        for len in 0..=seed.len() {
            fuzz.check(&seed[..len], property);
        }
    }
    for _ in 0..scaled(3000) {
        let (i, j) = (fuzz.below(seeds.len()), fuzz.below(seeds.len()));
        let input = fuzz.mutate_bytes(&seeds[i], &seeds[j]);
        fuzz.check(&input, property);
    }
    fuzz.finish();
}

const FLOW_SECRET: &str = "0123456789abcdef0123456789abcdef-flow";
const SESSION_SECRET: &str = "0123456789abcdef0123456789abcdef-session";

/// The app of client `cl` under `secret`, at Vercel (the default issuer).
fn config_with(secret: &str) -> Config {
    Config::from_lookup(|k| match k {
        "VERCEL_APP_CLIENT_ID" => Some(CLIENT.into()),
        "AUTH_SECRET" => Some(secret.into()),
        _ => None,
    })
    .unwrap()
}

/// A token as `random_token` makes them, of 32 bytes `byte`.
fn token_of(byte: u8) -> String {
    b64([byte; 32])
}

/// A sign-in attempt as sealed in its flow cookie.
struct FlowSeed {
    state: String,
    nonce: String,
    verifier: String,
    return_to: String,
    created_at: i64,
}

impl FlowSeed {
    fn new(byte: u8, return_to: &str, created_at: i64) -> Self {
        Self {
            state: token_of(byte),
            nonce: token_of(byte + 1),
            verifier: token_of(byte + 2),
            return_to: return_to.into(),
            created_at,
        }
    }

    /// The sealed form: the three tokens, the start in 16 hex digits,
    /// the return path (see `flow::StoredFlow`).
    fn plaintext(&self) -> Vec<u8> {
        let start = self.created_at as u64;
        let (s, n, v, r) = (&self.state, &self.nonce, &self.verifier, &self.return_to);
        format!("{s}{n}{v}{start:016x}{r}").into_bytes()
    }

    /// The JSON of flows sealed before that form.
    fn legacy(&self) -> Value {
        json!({"s": self.state, "n": self.nonce, "v": self.verifier, "r": self.return_to,
               "t": self.created_at})
    }

    fn name(&self, origin: &Origin) -> String {
        cookie_name(origin, FLOW_COOKIE, &self.state[..16])
    }

    /// `name=seal` of `plaintext` in this attempt's cookie.
    fn cookie(&self, config: &Config, origin: &Origin, plaintext: &[u8], nonce: u8) -> String {
        let name = self.name(origin);
        let context = flow_context(config, &name);
        let seal = fixed_seal(FLOW_SECRET, Purpose::Flow, &context, plaintext, nonce);
        format!("{name}={seal}")
    }

    fn is(&self, flow: &Flow, origin: &Origin, config: &Config) -> bool {
        flow.state.ct_eq(&self.state)
            && flow.nonce.ct_eq(&self.nonce)
            && flow.verifier.ct_eq(&self.verifier)
            && flow.return_to == self.return_to
            && flow.created_at == self.created_at
            && flow.redirect_uri == origin.url(&config.paths.callback)
    }
}

/// What a flow seal authenticates besides its plaintext (`flow::context`).
fn flow_context(config: &Config, name: &str) -> Vec<u8> {
    [
        config.issuer.as_bytes(),
        config.client_id.as_bytes(),
        name.as_bytes(),
    ]
    .join(&0u8)
}

/// `Cookie` headers carrying flow cookies mutated, on an http and an
/// https origin: each attempt's `state` finds nothing, or its own flow
/// exactly; no `state` finds nothing; making room never panics.
#[test]
fn a_mutated_flow_cookie_is_refused_or_yields_the_same_flow() {
    let config = config_with(FLOW_SECRET);
    let flows = [
        FlowSeed::new(1, "/dash?x=1", NOW - 30),
        FlowSeed::new(11, "/", NOW - 500),
        FlowSeed::new(21, "/a/b?c=%20d#e", NOW),
    ];
    let mut fuzz = Fuzz::new("flow::Flows::take");
    for origin in &[local(), public()] {
        let cookie = |f: &FlowSeed, n: u8| f.cookie(&config, origin, &f.plaintext(), n);
        let seeds: Vec<Vec<u8>> = vec![
            format!("theme=dark; {}", cookie(&flows[0], 1)).into_bytes(),
            format!("{}; {}; x=1", cookie(&flows[1], 2), cookie(&flows[2], 3)).into_bytes(),
            format!("{}\n{}", cookie(&flows[0], 4), cookie(&flows[2], 5)).into_bytes(),
        ];
        let property = |bytes: &[u8]| -> Outcome {
            let Some(headers) = cookie_headers(bytes) else {
                return Ok(Verdict::Unsendable);
            };
            let cookies = RequestCookies::parse(&headers, origin);
            let read = Flows::read(&cookies, origin, &config);
            let _ = read.make_room(NOW);
            if read.take(None, NOW).is_ok() {
                return Err("a flow taken without a state".into());
            }
            let mut verdict = Verdict::Refused;
            for f in &flows {
                if let Ok((flow, name)) = read.take(Some(&State::new(f.state.clone())), NOW) {
                    if !f.is(&flow, origin, &config) || name != f.name(origin) {
                        return Err(format!(
                            "the state of one attempt took another flow: {flow:?}"
                        ));
                    }
                    verdict = Verdict::Accepted;
                }
            }
            Ok(verdict)
        };
        for seed in &seeds {
            assert_eq!(property(seed), Ok(Verdict::Accepted), "a seed flow opens");
        }
        for len in 0..=seeds[0].len() {
            fuzz.check(&seeds[0][..len], property);
        }
        for _ in 0..scaled(1200) {
            let (i, j) = (fuzz.below(seeds.len()), fuzz.below(seeds.len()));
            let input = fuzz.mutate_bytes(&seeds[i], &seeds[j]);
            fuzz.check(&input, property);
        }
    }
    fuzz.finish();
}

/// Plaintexts a flow seal might hold, mutated and sealed with the app's
/// own key (what only the key's holder can send: defence in depth):
/// reading them never panics, and a flow taken is well formed (tokens of
/// our form, the attempt's own id, a safe return path), its whole
/// `state` still compared by the callback.
#[test]
fn no_sealed_flow_plaintext_panics_the_reader_or_yields_a_malformed_flow() {
    let config = config_with(FLOW_SECRET);
    let origin = local();
    let flow = FlowSeed::new(1, "/dash?x=1", NOW - 30);
    let name = flow.name(&origin);
    let context = flow_context(&config, &name);
    let metadata = ProviderMetadata::vercel();
    let state = State::new(flow.state.clone());
    let property = |plaintext: &[u8]| -> Outcome {
        let seal = fixed_seal(FLOW_SECRET, Purpose::Flow, &context, plaintext, 9);
        let mut headers = HeaderMap::new();
        let Ok(value) = HeaderValue::from_str(&format!("{name}={seal}")) else {
            return Err("a seal that is not a header value".into());
        };
        headers.insert(COOKIE, value);
        let cookies = RequestCookies::parse(&headers, &origin);
        let read = Flows::read(&cookies, &origin, &config);
        let _ = read.make_room(NOW);
        let Ok((taken, _)) = read.take(Some(&state), NOW) else {
            return Ok(Verdict::Refused);
        };
        let well_formed = crate::secret::is_random_token(taken.state.secret())
            && crate::secret::is_random_token(taken.nonce.secret())
            && crate::pkce::is_valid_verifier(taken.verifier.secret())
            && taken.state.secret().starts_with(&flow.state[..16])
            && safe_return_path(&taken.return_to).is_some();
        if !well_formed {
            return Err("a malformed flow was taken".into());
        }
        let query = format!("code=c&state={}", flow.state);
        let params = crate::callback::CallbackParams::parse(Some(&query)).unwrap();
        let whole_state = taken.state.ct_eq(&flow.state);
        if crate::callback::check(params, Ok(taken), &metadata).is_ok() != whole_state {
            return Err("the callback took a flow of another state".into());
        }
        Ok(Verdict::Accepted)
    };
    let fixed = flow.plaintext();
    let legacy = flow.legacy();
    assert_eq!(
        property(&fixed),
        Ok(Verdict::Accepted),
        "the seed flow opens"
    );
    let legacy_text = serde_json::to_vec(&legacy).unwrap();
    assert_eq!(property(&legacy_text), Ok(Verdict::Accepted));
    let mut fuzz = Fuzz::new("flow::Flows::take sealed plaintext");
    for len in 0..=fixed.len() {
        fuzz.check(&fixed[..len], property);
    }
    for _ in 0..scaled(1500) {
        let input = if fuzz.one_in(2) {
            fuzz.mutate_bytes(&fixed, &legacy_text)
        } else {
            fuzz.mutate_json(&legacy)
        };
        fuzz.check(&input, property);
    }
    fuzz.finish();
}

/// A sign-out's tokens as sealed in a revocation cookie
/// (`session::revocation`), mutated and sealed with the app's own key:
/// reading them never panics.
#[test]
fn no_sealed_revocation_plaintext_panics_the_reader() {
    let config = config_with(FLOW_SECRET);
    let origin = public();
    let name = cookie_name(&origin, REVOCATION_COOKIE, "r1");
    let context = [
        b"revocation".as_slice(),
        config.issuer.as_bytes(),
        config.client_id.as_bytes(),
        name.as_bytes(),
    ]
    .join(&0u8);
    let property = |plaintext: &[u8]| -> Outcome {
        let seal = fixed_seal(FLOW_SECRET, Purpose::Revocation, &context, plaintext, 3);
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(&format!("{name}={seal}")).unwrap();
        headers.insert(COOKIE, value);
        let cookies = RequestCookies::parse(&headers, &origin);
        let (pending, clear) = crate::session::revocation::read(&cookies, &origin, &config, NOW);
        // A seal too long to be ours is not even read.
        let read = usize::from(seal.len() <= MAX_VALUE);
        if clear.len() != read || pending.len() > read {
            return Err("not the one cookie read and cleared".into());
        }
        Ok(match pending.is_empty() {
            true => Verdict::Refused,
            false => Verdict::Accepted,
        })
    };
    let seed = json!({"a": "vca_x", "r": "vcr_y", "t": NOW - 5});
    let text = serde_json::to_vec(&seed).unwrap();
    assert_eq!(property(&text), Ok(Verdict::Accepted), "the seed opens");
    let mut fuzz = Fuzz::new("session::revocation::read sealed plaintext");
    for _ in 0..scaled(1500) {
        let input = if fuzz.one_in(3) {
            fuzz.mutate_bytes(&text, b"{\"a\":\"\",\"t\":0}")
        } else {
            fuzz.mutate_json(&seed)
        };
        fuzz.check(&input, property);
    }
    fuzz.finish();
}

/// The session's layout inside its seal, binary form 3, as the library
/// writes it (`session::format`), for its bytes to be mutated.
fn encode_session(d: &SessionData) -> Vec<u8> {
    crate::session::format::encode(d).expect("a session that fits")
}

/// What a session seal authenticates besides its plaintext.
fn session_context(config: &Config) -> Vec<u8> {
    [
        b"session".as_slice(),
        config.issuer.as_bytes(),
        config.client_id.as_bytes(),
    ]
    .join(&0u8)
}

fn same_session(a: &SessionData, b: &SessionData) -> bool {
    a.started_ms == b.started_ms && serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
}

/// A session of `sub`, begun `ago` seconds before [`NOW`] (at least 100:
/// its access token was issued then), after `rotation` refreshes.
fn session_data(sid: &str, sub: &str, ago: i64, rotation: u32, profile: Profile) -> SessionData {
    SessionData::issued(
        sid.into(),
        sub.into(),
        &AccessToken::new(format!("vca_{sid}_{rotation}")),
        3600,
        Some(format!("vcr_{sid}_{rotation}")),
        profile,
        ((NOW - ago) * 1000 + 123, rotation),
        NOW - 100 + i64::from(rotation),
    )
}

/// The `Cookie` pairs of generation `id` holding `data` on `origin`,
/// sealed with the nonce `[nonce; 12]` and cut in chunks as
/// `session::cookie::generation` cuts them.
fn session_cookies(
    config: &Config,
    origin: &Origin,
    id: &str,
    data: &SessionData,
    nonce: u8,
) -> String {
    let plaintext = encode_session(data);
    let seal = fixed_seal(
        SESSION_SECRET,
        Purpose::Session,
        &session_context(config),
        &plaintext,
        nonce,
    );
    let opened = crate::session::cookie::open(config, &seal, NOW).expect("a seed session opens");
    assert!(
        same_session(&opened, data),
        "the seed session is the library's layout"
    );
    seal.as_bytes()
        .chunks(MAX_VALUE)
        .enumerate()
        .map(|(n, chunk)| {
            let name = cookie_name(origin, SESSION_COOKIE, &format!("{id}.{n}"));
            format!("{name}={}", std::str::from_utf8(chunk).unwrap())
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The app of client `cl` at [`NOW`], whose every provider call gets a 503.
fn session_auth() -> crate::Auth {
    crate::Auth::from_lookup(|k| match k {
        "VERCEL_APP_CLIENT_ID" => Some(CLIENT.into()),
        "AUTH_SECRET" => Some(SESSION_SECRET.into()),
        _ => None,
    })
    .with_http_client(Fake::new(|_| Ok(response(503, ""))))
    .with_clock(Arc::new(|| NOW))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// The session `Auth::session` (what every protected function and the
/// session route read) finds in a request whose first line of `input` is
/// its `Host` and each other line a `Cookie` header: `Err` for a request
/// no browser could send.
fn session_of_request(
    auth: &crate::Auth,
    rt: &tokio::runtime::Runtime,
    input: &[u8],
) -> Result<Option<SessionData>, ()> {
    let mut lines = input.split(|&b| b == b'\n');
    let host = HeaderValue::from_bytes(lines.next().unwrap_or_default()).map_err(drop)?;
    let mut request = http::Request::get("/api/protected").body(()).unwrap();
    request.headers_mut().insert(http::header::HOST, host);
    for line in lines {
        let cookie = HeaderValue::from_bytes(line).map_err(drop)?;
        request.headers_mut().append(COOKIE, cookie);
    }
    Ok(rt.block_on(auth.session(&request)).ok().map(|session| {
        let data = session.lock().0.clone();
        assert_eq!(session.sub(), data.sub, "the user is the session's");
        data
    }))
}

/// The property of [`a_mutated_session_cookie_is_refused_or_yields_a_session_it_carried`]:
/// no session, or one of those `carried`.
fn carried_only<'a>(
    auth: &'a crate::Auth,
    rt: &'a tokio::runtime::Runtime,
    carried: Vec<&'a SessionData>,
) -> impl Fn(&[u8]) -> Outcome + 'a {
    move |bytes| match session_of_request(auth, rt, bytes) {
        Err(()) => Ok(Verdict::Unsendable),
        Ok(None) => Ok(Verdict::Refused),
        Ok(Some(data)) if carried.iter().any(|c| same_session(c, &data)) => Ok(Verdict::Accepted),
        Ok(Some(data)) => Err(format!("a session no cookie carried: {data:?}")),
    }
}

/// Requests whose `Host` and `Cookie` headers are mutated, read as every
/// protected function reads them (`Auth::session`): no session, or one
/// that the request's seed carried, unchanged (a mutation may drop the
/// newer of two generations, or its sign-out mark: the older is then
/// what the browser holds).
#[test]
fn a_mutated_session_cookie_is_refused_or_yields_a_session_it_carried() {
    let config = config_with(SESSION_SECRET);
    let (auth, rt) = (session_auth(), runtime());
    let profile = Profile {
        name: Some("Ada Lovelace".into()),
        email: Some("ada@example.com".into()),
        preferred_username: Some("ada".into()),
        picture: Some("https://example.com/a.png".into()),
    };
    let big = Profile {
        picture: Some(format!("https://example.com/{}", "p".repeat(3000))),
        name: Some("n".repeat(300)),
        ..profile.clone()
    };
    let d1 = session_data("sid-one", "u1", 1000, 0, profile.clone());
    let d1r = session_data("sid-one", "u1", 1000, 1, profile.clone());
    let d2 = session_data("sid-two", "u2", 400, 0, big);
    let d4 = session_data("sid-four", "u4", 300, 0, Profile::default());
    let mark = {
        let digest = ring::digest::digest(&ring::digest::SHA256, d1.sid.as_bytes());
        b64(&digest.as_ref()[..16])
    };
    let mut seeds: Vec<(Vec<u8>, Vec<&SessionData>)> = Vec::new();
    for (host, origin) in [("app.example.com", public()), ("localhost:3000", local())] {
        let cookies =
            |id: &str, d: &SessionData, n: u8| session_cookies(&config, &origin, id, d, n);
        let ended = cookie_name(&origin, ENDED_COOKIE, &mark);
        for (cookie, carried) in [
            (
                format!("theme=dark; {}; x=y", cookies("g1", &d1, 1)),
                vec![&d1],
            ),
            (cookies("g2", &d2, 2), vec![&d2]),
            (
                format!("{}; {}", cookies("g1", &d1, 3), cookies("g3", &d1r, 4)),
                vec![&d1, &d1r],
            ),
            (
                format!(
                    "{}\n{}; {ended}={}",
                    cookies("g1", &d1, 5),
                    cookies("g4", &d4, 6),
                    NOW - 10
                ),
                vec![&d1, &d4],
            ),
        ] {
            seeds.push((format!("{host}\n{cookie}").into_bytes(), carried));
        }
    }
    for (seed, carried) in &seeds {
        let expected = carried.last().copied();
        let read = session_of_request(&auth, &rt, seed).unwrap();
        assert!(
            read.as_ref()
                .zip(expected)
                .is_some_and(|(r, e)| same_session(r, e)),
            "a seed request reads its newest session"
        );
    }
    let mut fuzz = Fuzz::new("session (Auth::session)");
    let (first, carried) = &seeds[0];
    for len in 0..=first.len() {
        fuzz.check(&first[..len], carried_only(&auth, &rt, carried.clone()));
    }
    for _ in 0..scaled(1500) {
        let (i, j) = (fuzz.below(seeds.len()), fuzz.below(seeds.len()));
        let input = fuzz.mutate_bytes(&seeds[i].0, &seeds[j].0);
        let either: Vec<&SessionData> = seeds[i].1.iter().chain(&seeds[j].1).copied().collect();
        fuzz.check(&input, carried_only(&auth, &rt, either));
    }
    fuzz.finish();
}

/// Plaintexts a session seal might hold (the binary forms and the JSON of
/// older sessions), mutated and sealed with the app's own key (defence in
/// depth: only the key's holder can send them): neither the seal reader
/// nor `Auth::session`, refresh and all, panics, and a session read is
/// within the session policy.
#[test]
fn no_sealed_session_plaintext_panics_the_reader() {
    let config = config_with(SESSION_SECRET);
    let (auth, rt) = (session_auth(), runtime());
    let origin = public();
    let context = session_context(&config);
    let profile = Profile {
        name: Some("Ada".into()),
        email: Some("ada@example.com".into()),
        ..Profile::default()
    };
    let fresh = session_data("sid-one", "u1", 1000, 0, profile);
    // Due for a refresh (which the 503s fail): the grace and the refresh
    // paths read the times too.
    let mut due = fresh.clone();
    due.access_expires_at = NOW + 10;
    let binary = encode_session(&fresh);
    let mut seconds = encode_session(&due);
    seconds[0] = 2;
    seconds[17..25].copy_from_slice(&due.started_at().to_le_bytes());
    let legacy = serde_json::to_value(&fresh).unwrap();
    let property = |plaintext: &[u8]| -> Outcome {
        let seal = fixed_seal(SESSION_SECRET, Purpose::Session, &context, plaintext, 7);
        let opened = crate::session::cookie::open(&config, &seal, NOW);
        if let Some(d) = &opened
            && !(d.within_policy(NOW) && d.expires_at > NOW)
        {
            return Err(format!("a session beyond the policy was read: {d:?}"));
        }
        let cookies: Vec<String> = seal
            .as_bytes()
            .chunks(MAX_VALUE)
            .enumerate()
            .map(|(n, chunk)| {
                let name = cookie_name(&origin, SESSION_COOKIE, &format!("p1.{n}"));
                format!("{name}={}", std::str::from_utf8(chunk).unwrap())
            })
            .collect();
        let request = format!("app.example.com\n{}", cookies.join("; "));
        match session_of_request(&auth, &rt, request.as_bytes()) {
            Err(()) => Err("a seal that is not a header value".into()),
            Ok(Some(_)) if opened.is_none() => Err("a session the seal reader refuses".into()),
            Ok(Some(_)) => Ok(Verdict::Accepted),
            Ok(None) => Ok(Verdict::Refused),
        }
    };
    for seed in [&binary, &seconds] {
        assert_eq!(
            property(seed),
            Ok(Verdict::Accepted),
            "a seed session reads"
        );
    }
    let mut fuzz = Fuzz::new("session::cookie::open sealed plaintext");
    for len in 0..=binary.len() {
        fuzz.check(&binary[..len], property);
    }
    for _ in 0..scaled(1500) {
        let input = match fuzz.below(3) {
            0 => fuzz.mutate_bytes(&binary, &seconds),
            1 => fuzz.mutate_bytes(&seconds, &binary),
            _ => fuzz.mutate_json(&legacy),
        };
        fuzz.check(&input, property);
    }
    fuzz.finish();
}

// ---------------------------------------------------------------------
// Provider responses.
// ---------------------------------------------------------------------

/// Statuses a mutated response is sometimes given instead of its seed's.
const STATUSES: [u16; 13] = [
    200, 201, 204, 301, 400, 401, 403, 404, 409, 429, 500, 503, 599,
];

/// Responses to a provider call: `seeds` (status, body), each body
/// truncated at every length and mutated (as bytes and as JSON), with
/// its own status or another; with `header`, a header whose value is one
/// of its seeds, sometimes mutated. `property` judges each response.
fn fuzz_responses(
    target: &'static str,
    seeds: &[(u16, String)],
    header: Option<(&'static str, &[&str])>,
    iterations: usize,
    property: impl Fn(&HttpResponse) -> Outcome,
) {
    let mut fuzz = Fuzz::new(target);
    let json: Vec<Option<Value>> = seeds
        .iter()
        .map(|(_, body)| serde_json::from_str(body).ok())
        .collect();
    let respond = |status: u16, header_value: Option<Vec<u8>>| {
        let property = &property;
        move |body: &[u8]| {
            let headers: Vec<(&'static str, &[u8])> = match (&header, &header_value) {
                (Some((name, _)), Some(value)) => vec![(*name, value.as_slice())],
                _ => Vec::new(),
            };
            match answer(status, body, &headers) {
                None => Ok(Verdict::Unsendable),
                Some(response) => property(&response),
            }
        }
    };
    for (status, body) in seeds {
        for len in (0..=body.len()).filter(|len| body.is_char_boundary(*len)) {
            fuzz.check(&body.as_bytes()[..len], respond(*status, None));
        }
    }
    for _ in 0..scaled(iterations) {
        let (i, j) = (fuzz.below(seeds.len()), fuzz.below(seeds.len()));
        let status = if fuzz.one_in(4) {
            STATUSES[fuzz.below(STATUSES.len())]
        } else {
            seeds[i].0
        };
        let body = match &json[i] {
            Some(value) if fuzz.one_in(2) => fuzz.mutate_json(value),
            _ => fuzz.mutate_bytes(seeds[i].1.as_bytes(), seeds[j].1.as_bytes()),
        };
        let header_value = header.map(|(_, values)| {
            let value = values[fuzz.below(values.len())].as_bytes();
            if fuzz.one_in(3) {
                fuzz.mutate_bytes(value, b"Bearer error=\"invalid_token\", 60")
            } else {
                value.to_vec()
            }
        });
        fuzz.check(&body, respond(status, header_value));
    }
    fuzz.finish();
}

fn seeds_of(seeds: &[(u16, Value)]) -> Vec<(u16, String)> {
    seeds
        .iter()
        .map(|(status, body)| match body {
            Value::String(text) => (*status, text.clone()),
            json => (*status, json.to_string()),
        })
        .collect()
}

/// An OAuth error code as `error::sanitize_error_code` leaves it.
fn is_sanitised(code: &str) -> bool {
    code == "unknown"
        || (!code.is_empty()
            && code.len() <= 64
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
}

/// An endpoint kept from metadata: the serialisation of a URL, `https`
/// (`http` on loopback for an `http` issuer on loopback), no fragment.
fn checked_endpoint(name: &str, endpoint: &str, issuer: &str) -> Result<(), String> {
    let url = url::Url::parse(endpoint).map_err(|_| format!("{name} kept, not a URL"))?;
    let plain_http = issuer.starts_with("http://");
    let scheme_ok = match url.scheme() {
        "https" => true,
        "http" => plain_http && crate::origin::is_loopback(&url),
        _ => false,
    };
    if url.as_str() != endpoint || !scheme_ok || url.fragment().is_some() {
        return Err(format!("{name} kept as {endpoint:?} for issuer {issuer}"));
    }
    Ok(())
}

/// Discovery documents mutated, read for an https issuer and for an
/// http one on loopback, as the sign-in's metadata and as an issuer's key
/// metadata: no panic, and metadata is accepted only for the issuer it
/// names, with every endpoint a URL of the allowed scheme, no fragment.
#[test]
fn no_discovery_document_panics_the_parser_or_yields_an_insecure_endpoint() {
    const ISSUERS: [&str; 2] = ["https://op.example.com", "http://localhost:4000"];
    let full = |issuer: &str| {
        json!({"issuer": issuer, "authorization_endpoint": format!("{issuer}/authorize"),
               "token_endpoint": format!("{issuer}/token"), "jwks_uri": format!("{issuer}/jwks"),
               "userinfo_endpoint": format!("{issuer}/userinfo"),
               "revocation_endpoint": format!("{issuer}/revoke"),
               "introspection_endpoint": format!("{issuer}/introspect"),
               "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
               "revocation_endpoint_auth_methods_supported": ["client_secret_basic"],
               "authorization_response_iss_parameter_supported": true,
               "id_token_signing_alg_values_supported": ["RS256", "ES256"]})
    };
    let seeds = seeds_of(&[
        (200, full(ISSUERS[0])),
        (200, full(ISSUERS[1])),
        (
            200,
            json!({"issuer": ISSUERS[0], "authorization_endpoint": "https://op.example.com/a?x=1",
                   "token_endpoint": "https://op.example.com:8443/t", "jwks_uri": "https://op.example.com/k",
                   "token_endpoint_auth_methods_supported": "client_secret_post"}),
        ),
    ]);
    fuzz_responses("discovery", &seeds, None, 2000, |response| {
        let mut verdict = Verdict::Refused;
        for issuer in ISSUERS {
            if let Ok(m) = ProviderMetadata::from_response(issuer, response) {
                if m.issuer != issuer || !response.status().is_success() {
                    return Err(format!("metadata of {:?} accepted for {issuer}", m.issuer));
                }
                let optional = [
                    ("userinfo_endpoint", &m.userinfo_endpoint),
                    ("revocation_endpoint", &m.revocation_endpoint),
                    ("introspection_endpoint", &m.introspection_endpoint),
                ];
                for (name, endpoint) in [
                    ("authorization_endpoint", Some(&m.authorization_endpoint)),
                    ("token_endpoint", Some(&m.token_endpoint)),
                    ("jwks_uri", Some(&m.jwks_uri)),
                ]
                .into_iter()
                .chain(optional.map(|(name, e)| (name, e.as_ref())))
                {
                    if let Some(endpoint) = endpoint {
                        checked_endpoint(name, endpoint, issuer)?;
                    }
                }
                verdict = Verdict::Accepted;
            }
            if let Ok(m) = discovered::<KeyMetadata>(issuer, response) {
                if m.issuer != issuer {
                    return Err(format!(
                        "key metadata of {:?} accepted for {issuer}",
                        m.issuer
                    ));
                }
                checked_endpoint("jwks_uri", &m.jwks_uri, issuer)?;
            }
        }
        Ok(verdict)
    });
}

/// Token endpoint responses mutated: no panic; tokens only from a
/// success, never an empty access token, a lifetime of at most a year;
/// a refusal's code sanitised.
#[test]
fn no_token_response_panics_the_parser() {
    let seeds = seeds_of(&[
        (
            200,
            json!({"access_token": "vca_x", "token_type": "Bearer", "id_token": "a.b.c",
                   "expires_in": 3600, "scope": "openid email profile offline_access",
                   "refresh_token": "vcr_y"}),
        ),
        (
            200,
            json!({"access_token": "vca_x", "token_type": "bearer", "expires_in": "3600.5"}),
        ),
        (
            400,
            json!({"error": "invalid_grant", "error_description": "The code was used"}),
        ),
        (401, json!({"error": "invalid_client"})),
        (200, json!({"error": "invalid_grant"})),
        (429, json!("")),
        (503, json!("<html>unavailable</html>")),
    ]);
    fuzz_responses("token::parse_response", &seeds, None, 2500, |response| {
        match crate::token::parse_response(response) {
            Ok(tokens) => {
                let ok = response.status().is_success()
                    && !tokens.access_token.secret().is_empty()
                    && tokens.expires_in <= 365 * 24 * 3600
                    && tokens
                        .refresh_token
                        .as_ref()
                        .is_none_or(|t| !t.secret().is_empty())
                    && tokens
                        .id_token
                        .as_ref()
                        .is_none_or(|t| !t.secret().is_empty());
                match ok {
                    true => Ok(Verdict::Accepted),
                    false => Err(format!("tokens from a {} answer", response.status())),
                }
            }
            Err(crate::Error::TokenRejected(code)) if !is_sanitised(&code) => {
                Err(format!("a refusal's code kept as {code:?}"))
            }
            Err(_) => Ok(Verdict::Refused),
        }
    });
}

/// Userinfo responses mutated, with and without a `WWW-Authenticate`
/// challenge: no panic; claims only from a success and only about the
/// signed-in user; a token called rejected only on a 401 or 403.
#[test]
fn no_userinfo_response_panics_the_parser_or_names_another_user() {
    use crate::userinfo::{UserInfoResponse, parse_response};
    let seeds = seeds_of(&[
        (
            200,
            json!({"sub": "u1", "name": "Ada", "email": "ada@example.com", "email_verified": true}),
        ),
        (401, json!("")),
        (403, json!({"error": "insufficient_scope"})),
        (200, json!({"sub": "u2"})),
    ]);
    let challenges: &[&str] = &[
        "Bearer error=\"invalid_token\"",
        "Bearer error=\"insufficient_scope\"",
        "",
    ];
    let header = Some(("www-authenticate", challenges));
    fuzz_responses(
        "userinfo::parse_response",
        &seeds,
        header,
        2500,
        |response| match parse_response(response, "u1") {
            Ok(UserInfoResponse::Claims(claims)) => {
                match response.status().is_success() && claims.get("sub") == Some(&json!("u1")) {
                    true => Ok(Verdict::Accepted),
                    false => Err("claims about someone else, or not from a success".into()),
                }
            }
            Ok(UserInfoResponse::TokenRejected) => match response.status().as_u16() {
                401 | 403 => Ok(Verdict::Accepted),
                status => Err(format!("a token called rejected on a {status}")),
            },
            Err(_) => Ok(Verdict::Refused),
        },
    );
}

/// Introspection responses mutated: no panic; a token is active only on a
/// success whose `active` is `true` and whose `client_id`, when it names
/// one, is ours; a refused client's code sanitised.
#[test]
fn no_introspection_response_panics_the_parser_or_activates_another_clients_token() {
    use crate::introspect::{Introspection, parse_response};
    let seeds = seeds_of(&[
        (
            200,
            json!({"active": true, "client_id": "cl", "sub": "u1", "exp": NOW + 600,
                   "scope": "openid email", "token_type": "access_token"}),
        ),
        (200, json!({"active": false})),
        (200, json!({"active": true, "client_id": "other"})),
        (401, json!({"error": "invalid_client"})),
    ]);
    fuzz_responses(
        "introspect::parse_response",
        &seeds,
        None,
        2500,
        |response| match parse_response(response, CLIENT, NOW) {
            Ok(Introspection::Active(map)) => {
                let ours =
                    map.get("client_id")
                        .is_none_or(|id| id.as_str() == Some(CLIENT))
                        && map.get("exp").and_then(Value::as_i64).is_none_or(|exp| {
                            NOW < exp.saturating_add(crate::id_token::LEEWAY_SECS)
                        });
                match response.status().is_success()
                    && map.get("active") == Some(&json!(true))
                    && ours
                {
                    true => Ok(Verdict::Accepted),
                    false => {
                        Err("a token called active that is not ours, expired or not active".into())
                    }
                }
            }
            Ok(Introspection::Inactive) => Ok(Verdict::Accepted),
            Err(crate::Error::ClientRefused(code)) if !is_sanitised(&code) => {
                Err(format!("a refused client's code kept as {code:?}"))
            }
            Err(_) => Ok(Verdict::Refused),
        },
    );
}

/// Revocation responses mutated: no panic; revoked only on a success, not
/// revocable only on a 400 saying `unsupported_token_type`.
#[test]
fn no_revocation_response_panics_the_parser() {
    use crate::revoke::{TokenRevoked, parse_response};
    let seeds = seeds_of(&[
        (200, json!("")),
        (400, json!({"error": "unsupported_token_type"})),
        (
            400,
            json!({"error": "invalid_request", "error_description": "x"}),
        ),
        (401, json!({"error": "invalid_client"})),
        (503, json!("")),
    ]);
    fuzz_responses("revoke::parse_response", &seeds, None, 2000, |response| {
        let status = response.status();
        match parse_response(response) {
            Ok(TokenRevoked::Yes) if status.is_success() => Ok(Verdict::Accepted),
            Ok(TokenRevoked::NotRevocable) if status == 400 => Ok(Verdict::Accepted),
            Ok(outcome) => Err(format!("{outcome:?} on a {status}")),
            Err(_) => Ok(Verdict::Refused),
        }
    });
}

/// OAuth error bodies mutated: no panic, and a code is always sanitised
/// (`unknown`, or 1 to 64 of `[a-z0-9_]`).
#[test]
fn no_error_body_panics_the_parser_or_escapes_sanitising() {
    let seeds = seeds_of(&[
        (
            400,
            json!({"error": "invalid_grant", "error_description": "x", "error_uri": "https://e"}),
        ),
        (400, json!({"error": "vca_leaked token\u{0}<b>"})),
        (400, json!({"error": ["invalid_grant"]})),
    ]);
    fuzz_responses("error::oauth_error_code", &seeds, None, 2500, |response| {
        match crate::error::oauth_error_code(response.body()) {
            Some(code) if is_sanitised(&code) => Ok(Verdict::Accepted),
            Some(code) => Err(format!("an error code kept as {code:?}")),
            None => Ok(Verdict::Refused),
        }
    });
}

// ---------------------------------------------------------------------
// Browser input: the callback's query, the request's origin, return paths.
// ---------------------------------------------------------------------

/// Callback query strings mutated, against a browser holding two
/// sign-in attempts, checked as the callback route checks them, with and
/// without metadata that promises `iss` (RFC 9207): no panic; the strict
/// parameter reader keeps nothing oversized or mangled; a code is
/// yielded only with the whole `state` of the attempt whose flow comes
/// with it, exactly, and the issuer when it is named or promised.
#[test]
fn a_mutated_callback_query_never_panics_and_yields_a_code_only_for_its_own_state() {
    let config = config_with(FLOW_SECRET);
    let origin = local();
    let flows = [
        FlowSeed::new(1, "/dash?x=1", NOW - 30),
        FlowSeed::new(11, "/", NOW - 500),
    ];
    let header = format!(
        "{}; {}",
        flows[0].cookie(&config, &origin, &flows[0].plaintext(), 1),
        flows[1].cookie(&config, &origin, &flows[1].plaintext(), 2)
    );
    let cookies = RequestCookies::parse(&cookie_headers(header.as_bytes()).unwrap(), &origin);
    let lenient = ProviderMetadata::vercel();
    let mut strict = ProviderMetadata::vercel();
    strict.authorization_response_iss_parameter_supported = true;
    let (s1, s2) = (&flows[0].state, &flows[1].state);
    let seeds: Vec<Vec<u8>> = [
        format!("code=abc&state={s1}&iss=https%3A%2F%2Fvercel.com"),
        format!("error=access_denied&error_description=The+user+canceled&state={s1}&iss=https://vercel.com"),
        format!("code=abc&state={s2}"),
        format!("state={s2}&code=a%20b%2B%25&iss=https://vercel.com&other=x&other=y"),
        "code=&state=&iss=&error=".to_owned(),
    ]
    .map(String::into_bytes)
    .to_vec();
    let property = |bytes: &[u8]| -> Outcome {
        let query = lossy(bytes);
        let wanted = ["code", "state", "iss", "error"];
        if let Ok(found) = crate::request::query_params(Some(&query), &wanted)
            // A value is bounded by the query's 8 KiB (a provider's code
            // may be longer than 2 KiB).
            && (query.len() > 8 * 1024 || found.values().any(|v| v.contains('\u{FFFD}')))
        {
            return Err("the parameter reader kept an oversized or mangled value".into());
        }
        let _ = crate::sso::SsoCallback::from_query(&query);
        let Ok(params) = crate::callback::CallbackParams::parse(Some(&query)) else {
            return Ok(Verdict::Refused);
        };
        let sent_state = params.state.as_ref().map(|s| s.secret().to_owned());
        let sent_iss = params.iss.clone();
        let mut verdict = Verdict::Refused;
        for metadata in [&lenient, &strict] {
            let params = crate::callback::CallbackParams::parse(Some(&query)).unwrap();
            let found = Flows::read(&cookies, &origin, &config).take(params.state.as_ref(), NOW);
            let Ok((flow, code)) = crate::callback::check(params, found.map(|(f, _)| f), metadata)
            else {
                continue;
            };
            let Some(seed) = flows.iter().find(|f| f.is(&flow, &origin, &config)) else {
                return Err("a code with a flow no cookie held".into());
            };
            if sent_state.as_deref() != Some(seed.state.as_str()) || code.secret().is_empty() {
                return Err("a code for another state, or an empty code".into());
            }
            let iss_ok = match &sent_iss {
                Some(iss) => iss == "https://vercel.com",
                None => !metadata.authorization_response_iss_parameter_supported,
            };
            if !iss_ok {
                return Err(format!("a code with iss {sent_iss:?}"));
            }
            verdict = Verdict::Accepted;
        }
        Ok(verdict)
    };
    let mut fuzz = Fuzz::new("callback::CallbackParams::parse and check");
    for len in 0..=seeds[0].len() {
        fuzz.check(&seeds[0][..len], property);
    }
    for _ in 0..scaled(3000) {
        let (i, j) = (fuzz.below(seeds.len()), fuzz.below(seeds.len()));
        let input = fuzz.mutate_bytes(&seeds[i], &seeds[j]);
        fuzz.check(&input, property);
    }
    fuzz.finish();
}

/// `Host`, `X-Forwarded-Host` and `X-Forwarded-Proto` mutated (one line
/// of the input each, an empty line for none, further lines repeating
/// them): no panic, and an origin is always a bare origin that
/// serialises to itself, `https` unless its host is loopback, with
/// `__Host-` cookie names exactly when it is `https`.
#[test]
fn no_forwarded_headers_panic_the_origin_or_yield_a_cleartext_remote_origin() {
    const NAMES: [&str; 3] = ["host", "x-forwarded-host", "x-forwarded-proto"];
    let seeds: Vec<Vec<u8>> = [
        "app.example.com\n\n",
        "127.0.0.1:3000\napp.example.com\nhttps",
        "localhost:3000\n\nhttp",
        "[::1]:3000\n\n",
        "x\na.example.com, b.example.com\nhttps, http",
        "xn--bcher-kva.example\n\n",
        "EXAMPLE.com.:443\n\nHTTPS",
        "127.0.0.1:8080\nlocalhost:3000\nhttp",
    ]
    .map(|s| s.as_bytes().to_vec())
    .to_vec();
    let property = |bytes: &[u8]| -> Outcome {
        let mut headers = HeaderMap::new();
        for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if !line.is_empty() {
                let Ok(value) = HeaderValue::from_bytes(line) else {
                    return Ok(Verdict::Unsendable);
                };
                headers.append(NAMES[n % 3], value);
            }
        }
        let Some(origin) = Origin::from_request(&headers, None) else {
            return Ok(Verdict::Refused);
        };
        let url = url::Url::parse(origin.as_str()).map_err(|_| "an origin that is not a URL")?;
        let bare = url.origin().ascii_serialization() == origin.as_str()
            && url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none();
        let loopback = crate::origin::is_loopback(&url);
        let scheme_ok = match url.scheme() {
            "https" => origin.is_secure(),
            "http" => !origin.is_secure() && loopback,
            _ => false,
        };
        let prefixed = cookie_name(&origin, SESSION_COOKIE, "x").starts_with("__Host-");
        let callback = url::Url::parse(&origin.url("/api/auth/callback"))
            .is_ok_and(|u| u.origin() == url.origin() && u.path() == "/api/auth/callback");
        match bare
            && scheme_ok
            && origin.is_loopback() == loopback
            && prefixed == origin.is_secure()
            && callback
        {
            true => Ok(Verdict::Accepted),
            false => Err(format!("the origin {:?}", origin.as_str())),
        }
    };
    let mut fuzz = Fuzz::new("origin::Origin::from_request");
    for seed in &seeds[..2] {
        for len in 0..=seed.len() {
            fuzz.check(&seed[..len], property);
        }
    }
    for _ in 0..scaled(4000) {
        let (i, j) = (fuzz.below(seeds.len()), fuzz.below(seeds.len()));
        let input = fuzz.mutate_bytes(&seeds[i], &seeds[j]);
        fuzz.check(&input, property);
    }
    fuzz.finish();
}

/// Return paths (`next`) and configured paths mutated: no panic, and an
/// accepted path is the very string given, starts with a single `/`
/// (never `//` or `/\`), is at most 1024 ASCII characters with no
/// whitespace or control, and, as it is and after each percent-decoding,
/// still starts so and resolves against a page of this origin to a URL of
/// this origin whose path does not start with `//`. `Paths::check`
/// accepts only such paths, without query or fragment.
#[test]
fn an_accepted_return_path_is_always_a_path_on_this_origin() {
    let seeds: Vec<Vec<u8>> = [
        "/profile",
        "/a/b?c=d&e=f#g",
        "/search?q=a%20b",
        "/x+y",
        "/a.b/c..d",
        "/?next=../x",
        "/.well-known",
        "/%2541",
        "/a%2Fb",
        "/%25252e%25252e/x",
        "/api/auth/callback",
    ]
    .map(|s| s.as_bytes().to_vec())
    .to_vec();
    let page = url::Url::parse("https://app.example.com/dir/page?x=1").unwrap();
    let property = |bytes: &[u8]| -> Outcome {
        let candidate = lossy(bytes);
        // (A refused path is quoted in the error: only short ones, for time.)
        if candidate.len() <= 1100 {
            let checked = Paths {
                error_page: candidate.clone(),
                ..Paths::default()
            }
            .check();
            let a_route = Paths::default().all()[..6]
                .iter()
                .any(|(_, route)| *route == candidate);
            let plain = safe_return_path(&candidate).is_some()
                && !candidate.contains(['?', '#'])
                && !a_route;
            if checked.is_ok() != plain {
                return Err(format!("Paths::check says {checked:?}"));
            }
            let _ = Paths::with_base(&candidate).check();
        }
        let Some(path) = safe_return_path(&candidate) else {
            return Ok(Verdict::Refused);
        };
        if path != candidate || path.len() > 1024 || !path.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("a return path that is not the string given, or too long".into());
        }
        let mut current = path.to_owned();
        for _ in 0..5 {
            let single_slash = current.starts_with('/')
                && !current.starts_with("//")
                && !current.starts_with("/\\");
            let resolved = page
                .join(&current)
                .map_err(|e| format!("{current:?} does not resolve on this origin: {e}"))?;
            if !single_slash
                || resolved.origin() != page.origin()
                || resolved.path().starts_with("//")
            {
                return Err(format!("{current:?} leaves the origin: {resolved}"));
            }
            let decoded = percent_encoding::percent_decode_str(&current)
                .decode_utf8_lossy()
                .into_owned();
            if decoded == current {
                break;
            }
            current = decoded;
        }
        Ok(Verdict::Accepted)
    };
    let mut fuzz = Fuzz::new("origin::safe_return_path");
    for seed in &seeds[..3] {
        for len in 0..=seed.len() {
            fuzz.check(&seed[..len], property);
        }
    }
    for _ in 0..scaled(5000) {
        let (i, j) = (fuzz.below(seeds.len()), fuzz.below(seeds.len()));
        let input = fuzz.mutate_bytes(&seeds[i], &seeds[j]);
        fuzz.check(&input, property);
    }
    fuzz.finish();
}

// ---------------------------------------------------------------------
// Vercel's REST API, the marketplace's SSO exchange.
// ---------------------------------------------------------------------

/// Vercel REST API responses mutated, with and without `Retry-After`:
/// no panic in the error reader or any user-token parser; a problem's
/// code is a short identifier, its message at most 200 characters (and
/// the `…` of a cut) with no control character; a parsed answer comes
/// only from a success.
#[test]
fn no_vercel_api_response_panics_the_parsers() {
    use crate::vercel_api::VercelApiError;
    use crate::vercel_api::user_tokens::{parse_create, parse_delete, parse_get, parse_list};
    let metadata = json!({"id": "tok_1", "name": "ci", "type": "oauth2-token", "origin": "manual",
        "scopes": [{"type": "user", "origin": "manual"}], "expiresAt": 1_800_000_600_000_i64,
        "activeAt": 1_800_000_000_000_i64, "createdAt": 1_799_999_000_000_i64});
    let seeds = seeds_of(&[
        (
            403,
            json!({"error": {"code": "forbidden", "invalidToken": true,
                "message": "You don't have permission: vca_abcdefghijklmnopqrstuvwxyz0123 was refused"}}),
        ),
        (
            429,
            json!({"error": {"code": "rate_limited", "message": "Too many requests"}}),
        ),
        (200, json!({"token": metadata, "bearerToken": "vcp_secret"})),
        (
            200,
            json!({"tokens": [metadata], "testingToken": null,
                   "pagination": {"count": 1, "next": 1_799_999_000_000_i64, "prev": null}}),
        ),
        (200, json!({"tokenId": "tok_1"})),
    ]);
    let retry_after: &[&str] = &[
        "120",
        " 7 ",
        "Wed, 21 Oct 2015 07:28:00 GMT",
        "99999999999999999999",
    ];
    let header = Some(("retry-after", retry_after));
    fuzz_responses("vercel_api parsers", &seeds, header, 2500, |response| {
        let problem = VercelApiError::from_response(response)
            .problem()
            .cloned()
            .unwrap_or_default();
        let code_ok = problem.code.as_deref().is_none_or(|code| {
            !code.is_empty()
                && code.len() <= 64
                && code
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        });
        let message_ok = problem
            .message
            .as_deref()
            .is_none_or(|m| m.chars().count() <= 201 && !m.chars().any(char::is_control));
        if !code_ok || !message_ok {
            return Err(format!("a problem read as {problem:?}"));
        }
        let success = response.status().is_success();
        let parsed = [
            parse_create(response).map(drop),
            parse_list(response).map(drop),
            parse_get(response).map(drop),
            parse_delete(response).map(drop),
        ];
        match (parsed.iter().any(Result::is_ok), success) {
            (true, false) => Err("an answer parsed from a failure".into()),
            (true, true) => Ok(Verdict::Accepted),
            (false, _) => Ok(Verdict::Refused),
        }
    });
}

/// Vercel error messages mutated (inside the string too): the message
/// kept is "safe to log" as its reader documents: no run of 20 or more
/// token characters (letters, digits, `_`, `-`, `.`) survives, whatever
/// separates it in the body.
#[test]
fn a_summarised_vercel_error_message_keeps_no_token_like_word() {
    use crate::vercel_api::VercelApiError;
    let seed = json!({"error": {"code": "forbidden", "invalidToken": true,
        "message": "You don't have permission: vca_abcdefghijklmnopqrstuvwxyz0123 was refused"}});
    let text = serde_json::to_vec(&seed).unwrap();
    let property = |body: &[u8]| -> Outcome {
        let Some(response) = answer(403, body, &[]) else {
            return Ok(Verdict::Unsendable);
        };
        let error = VercelApiError::from_response(&response);
        let Some(message) = error.problem().and_then(|p| p.message.clone()) else {
            return Ok(Verdict::Refused);
        };
        let longest = message
            .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .map(str::len)
            .max()
            .unwrap_or(0);
        match longest {
            0..20 => Ok(Verdict::Accepted),
            _ => Err(format!(
                "a token-like run of {longest} characters kept: {message:?}"
            )),
        }
    };
    let mut fuzz = Fuzz::new("vercel_api::VercelApiError message");
    for _ in 0..scaled(2000) {
        let input = if fuzz.one_in(4) {
            fuzz.mutate_bytes(&text, br"\u0000\u0007")
        } else {
            fuzz.mutate_json(&seed)
        };
        fuzz.check(&input, property);
    }
    fuzz.finish();
}

/// SSO exchange answers and redirect queries mutated: no panic; tokens
/// only from a success, with an ID token, a Bearer (or absent) token
/// type, a lifetime of at most a year.
#[test]
fn no_sso_answer_or_query_panics_the_parser() {
    let seeds = seeds_of(&[
        (
            200,
            json!({"id_token": "a.b.c", "access_token": "vca_x", "token_type": "Bearer",
                   "expires_in": 3600}),
        ),
        (
            200,
            json!({"id_token": "a.b.c", "access_token": null, "token_type": null}),
        ),
        (
            400,
            json!({"error": {"code": "bad_request", "message": "code c0de is invalid"}}),
        ),
        (404, json!("")),
    ]);
    fuzz_responses("sso::parse_response", &seeds, None, 2000, |response| {
        match crate::sso::parse_response(response) {
            Ok(tokens) => {
                let ok = response.status().is_success()
                    && !tokens.id_token.secret().is_empty()
                    && tokens
                        .access_token
                        .as_ref()
                        .is_none_or(|t| !t.secret().is_empty())
                    && tokens
                        .token_type
                        .as_deref()
                        .is_none_or(|t| t.eq_ignore_ascii_case("bearer"))
                    && tokens.expires_in.is_none_or(|s| s <= 365 * 24 * 3600);
                match ok {
                    true => Ok(Verdict::Accepted),
                    false => Err("tokens that are not as documented".into()),
                }
            }
            Err(_) => Ok(Verdict::Refused),
        }
    });
    let mut fuzz = Fuzz::new("sso::SsoCallback::from_query");
    let queries = [
        &b"code=c0de&state=st&mode=sso"[..],
        b"code=a%20b&state=",
        b"state=s",
    ];
    for _ in 0..scaled(2000) {
        let (i, j) = (fuzz.below(queries.len()), fuzz.below(queries.len()));
        let input = fuzz.mutate_bytes(queries[i], queries[j]);
        fuzz.check(&input, |bytes| {
            match crate::sso::SsoCallback::from_query(&lossy(bytes)) {
                Ok(callback) if callback.code.secret().is_empty() => Err("an empty code".into()),
                Ok(callback) if callback.state.as_deref() == Some("") => {
                    Err("an empty state".into())
                }
                Ok(_) => Ok(Verdict::Accepted),
                Err(_) => Ok(Verdict::Refused),
            }
        });
    }
    fuzz.finish();
}

const INTEGRATION: &str = "oac_int";
const SSO_ACCESS: &str = "vca_sso";

/// A marketplace exchange whose provider answers the code exchange with
/// what `answer` holds and serves key A and the Ed25519 key.
fn marketplace(answer: &Arc<Mutex<Vec<u8>>>) -> crate::sso::Marketplace {
    let served = answer.clone();
    let keys = json!({"keys": [jwk(), ed_jwk()]}).to_string();
    let fake = Fake::new(move |path| match path {
        "/.well-known/jwks" => Ok(response(200, &keys)),
        crate::sso::SSO_TOKEN_PATH => {
            let body = served.lock().unwrap_or_else(|p| p.into_inner()).clone();
            Ok(http::Response::builder().status(200).body(body).unwrap())
        }
        _ => Ok(response(404, "")),
    });
    let integration = crate::sso::Integration {
        client_id: INTEGRATION.into(),
        client_secret: crate::secret::ClientSecret::new("s3cret"),
        redirect_uri: None,
    };
    crate::sso::Marketplace::vercel(integration)
        .with_http_client(fake)
        .with_clock(Arc::new(|| NOW))
}

fn marketplace_claims(user: &str, admin: bool) -> Value {
    let mut claims = json!({"iss": crate::sso::MARKETPLACE_ISSUER,
        "sub": format!("account:a1:user:{user}"), "aud": INTEGRATION, "exp": NOW + 600,
        "iat": NOW - 5, "nonce": "n1", "type": "id_token", "account_id": "a1",
        "installation_id": "icfg_1", "user_id": user,
        "user_role": if admin { "ADMIN" } else { "USER" }});
    if admin {
        claims["at_hash"] = json!(at_hash("RS256", SSO_ACCESS));
        claims["user_name"] = json!("Ada Lovelace");
        claims["user_email"] = json!("ada@example.com");
        claims["user_avatar_url"] = json!("https://vercel.com/api/www/avatar/x");
        claims["future_claim"] = json!(7);
    }
    claims
}

/// Runs the exchange of `sso` with the provider answering `body`.
fn exchange(
    sso: &crate::sso::Marketplace,
    answer: &Mutex<Vec<u8>>,
    rt: &tokio::runtime::Runtime,
    body: &[u8],
) -> Option<crate::sso::SsoIdentity> {
    *answer.lock().unwrap_or_else(|p| p.into_inner()) = body.to_vec();
    let callback = crate::sso::SsoCallback::from_query("code=c0de&state=st").unwrap();
    let nonce = Nonce::new("n1");
    rt.block_on(sso.exchange(&callback, Some(&nonce))).ok()
}

/// The marketplace's answer to the code exchange mutated (as bytes, as
/// JSON, and its ID token alone), verified end to end as
/// `Marketplace::exchange` does: refused, or the very identity its
/// unchanged ID token carries.
#[test]
fn a_mutated_marketplace_answer_is_refused_or_yields_the_same_claims() {
    let answer = Arc::new(Mutex::new(Vec::new()));
    let (sso, rt) = (marketplace(&answer), runtime());
    let header = serde_json::to_vec(&Signer::KeyA.header(true)).unwrap();
    let tokens: Vec<String> = [("u1", true), ("u2", false)]
        .map(|(user, admin)| {
            let claims = serde_json::to_vec(&marketplace_claims(user, admin)).unwrap();
            Signer::KeyA.sign(&header, &claims)
        })
        .to_vec();
    let answers: Vec<Value> = vec![
        json!({"id_token": tokens[0], "access_token": SSO_ACCESS, "token_type": "Bearer",
               "expires_in": 3600}),
        json!({"id_token": tokens[1], "access_token": null, "token_type": null}),
    ];
    let texts: Vec<Vec<u8>> = answers
        .iter()
        .map(|a| serde_json::to_vec(a).unwrap())
        .collect();
    let claims: Vec<crate::sso::MarketplaceClaims> = texts
        .iter()
        .map(|text| {
            exchange(&sso, &answer, &rt, text)
                .expect("a seed answer verifies")
                .claims
        })
        .collect();
    let property = |bytes: &[u8]| -> Outcome {
        let Some(identity) = exchange(&sso, &answer, &rt, bytes) else {
            return Ok(Verdict::Refused);
        };
        // The seed token the answer still carries, whole (the answer need
        // not be JSON a `Value` holds: the exchange skips members it does
        // not read, `1e400` among them).
        let carried = |t: &String| bytes.windows(t.len()).any(|w| w == t.as_bytes());
        match (0..tokens.len()).any(|i| carried(&tokens[i]) && identity.claims == claims[i]) {
            true => Ok(Verdict::Accepted),
            false => Err(format!(
                "the identity {:?} from a changed token",
                identity.claims
            )),
        }
    };
    let mut fuzz = Fuzz::new("sso::Marketplace::exchange");
    for _ in 0..scaled(1200) {
        let (i, j) = (fuzz.below(texts.len()), fuzz.below(texts.len()));
        let input = match fuzz.below(3) {
            0 => fuzz.mutate_bytes(&texts[i], &texts[j]),
            1 => fuzz.mutate_json(&answers[i]),
            _ => {
                let token = fuzz.mutate_bytes(tokens[i].as_bytes(), tokens[j].as_bytes());
                let mut mutated = answers[i].clone();
                mutated["id_token"] = json!(lossy(&token));
                serde_json::to_vec(&mutated).unwrap()
            }
        };
        fuzz.check(&input, property);
    }
    fuzz.finish();
}

/// Marketplace ID tokens whose claims are hostile but correctly signed
/// by the published key: the exchange never panics, and an identity has
/// the marketplace's issuer, a `type` of `id_token`, and every documented
/// claim as the payload says it (a role not documented cut to 64
/// characters).
#[test]
fn a_validly_signed_hostile_marketplace_token_yields_only_its_documented_claims() {
    use crate::sso::Role;
    let answer = Arc::new(Mutex::new(Vec::new()));
    let (sso, rt) = (marketplace(&answer), runtime());
    let header = Signer::KeyA.header(true);
    let seeds = [
        marketplace_claims("u1", true),
        marketplace_claims("u2", false),
    ];
    let property = |bytes: &[u8]| -> Outcome {
        let Some(identity) = exchange(&sso, &answer, &rt, bytes) else {
            return Ok(Verdict::Refused);
        };
        let sent: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let token = sent["id_token"].as_str().unwrap_or_default();
        let payload = token.split('.').nth(1).unwrap_or_default();
        let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap())
            .map_err(|e| format!("accepted, but not JSON: {e}"))?;
        let c = &identity.claims;
        let role_ok = match (&c.user_role, payload["user_role"].as_str()) {
            (Role::Admin, Some("ADMIN")) | (Role::User, Some("USER")) => true,
            (Role::Other(role), Some(sent)) => {
                role.chars().count() <= 64 && sent.starts_with(role.as_str())
            }
            _ => false,
        };
        let ok = c.iss == crate::sso::MARKETPLACE_ISSUER
            && payload["type"] == "id_token"
            && match &payload["aud"] {
                Value::String(aud) => aud == INTEGRATION,
                Value::Array(auds) => !auds.is_empty() && auds.iter().all(|a| a == INTEGRATION),
                _ => false,
            }
            && payload["account_id"] == c.account_id.as_str()
            && payload["installation_id"] == c.installation_id.as_str()
            && payload["user_id"] == c.user_id.as_str()
            && !c.account_id.is_empty()
            && !c.installation_id.is_empty()
            && !c.user_id.is_empty()
            && role_ok;
        match ok {
            true => Ok(Verdict::Accepted),
            false => Err(format!("accepted as {c:?}")),
        }
    };
    let mut fuzz = Fuzz::new("sso::Marketplace::exchange signed claims");
    for _ in 0..scaled(250) {
        let seed = &seeds[fuzz.below(seeds.len())];
        let payload = fuzz.mutate_json(seed);
        let token = Signer::KeyA.sign(&serde_json::to_vec(&header).unwrap(), &payload);
        let body = json!({"id_token": token, "access_token": null, "token_type": "Bearer"});
        fuzz.check(&serde_json::to_vec(&body).unwrap(), property);
    }
    fuzz.finish();
}
