//! The harness: seeded mutations, a property per call, panics caught.

use super::*;

/// The stream every test draws from unless `HOSTILE_SEED` says otherwise.
const DEFAULT_SEED: u64 = 0x5349_5756_686f_7374;

fn base_seed() -> u64 {
    std::env::var("HOSTILE_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

/// `default` mutations, times `HOSTILE_ITERATIONS` when it is set.
pub(super) fn scaled(default: usize) -> usize {
    let factor = std::env::var("HOSTILE_ITERATIONS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(1);
    default.saturating_mul(factor.max(1))
}

/// What a target made of one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Refused: an error, `None`, nothing found.
    Refused,
    /// Accepted, and what it yields passed the test's checks.
    Accepted,
    /// Not an input the target can receive (a header value `http` refuses).
    Unsendable,
}

/// A verdict, or the property the input broke.
pub(super) type Outcome = Result<Verdict, String>;

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
pub(super) struct Fuzz {
    target: &'static str,
    seed: u64,
    rng: StdRng,
    runs: usize,
    accepted: usize,
    refused: usize,
    unsendable: usize,
}

impl Fuzz {
    pub(super) fn new(target: &'static str) -> Self {
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
    pub(super) fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { self.rng.gen_range(0..n) }
    }

    /// True once in `n` times.
    pub(super) fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub(super) fn byte(&mut self) -> u8 {
        if self.one_in(3) {
            self.rng.r#gen()
        } else {
            INTERESTING[self.below(INTERESTING.len())]
        }
    }

    /// `seed` with one to four byte-level mutations; `other`, another
    /// seed, is what splices take their bytes from.
    pub(super) fn mutate_bytes(&mut self, seed: &[u8], other: &[u8]) -> Vec<u8> {
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
    pub(super) fn mutate_json(&mut self, seed: &Value) -> Vec<u8> {
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
    pub(super) fn check(&mut self, input: &[u8], property: impl Fn(&[u8]) -> Outcome) {
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
    pub(super) fn fail(
        &self,
        input: &[u8],
        what: &str,
        why: &dyn Fn(&[u8]) -> Option<String>,
    ) -> ! {
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
    pub(super) fn finish(self) {
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
pub(super) fn shown(bytes: &[u8]) -> String {
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

pub(super) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A provider response with `status`, `body` and `headers`.
pub(super) fn answer(
    status: u16,
    body: &[u8],
    headers: &[(&'static str, &[u8])],
) -> Option<HttpResponse> {
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, HeaderValue::from_bytes(value).ok()?);
    }
    builder.body(body.to_vec()).ok()
}

pub(super) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
