//! Writes the fuzz target's seeds that carry what only the app can make:
//! a flow cookie with its state and an ID token signed for its nonce (the
//! callback), and the session cookies a sign-in sets (session, user-info,
//! validate-token, sign-out, and a session due for a refresh). The app's
//! clock stands still at [`NOW`], so they stay valid. Run again when the
//! cookies' format changes:
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --example seeds --no-default-features
//! ```
//!
//! Each seed is replayed here as the fuzz target will read it: it must get
//! its status with every answer asked for, or the example fails. With
//! `-- --check` it writes nothing and replays the seeds in `seeds/`
//! (`.ci/run` does, so seeds that no longer reach past the cookie checks
//! fail CI).

#[path = "../harness.rs"]
mod harness;

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use harness::{Answer, NOW, SEPARATOR, Scripted, lookup, request, split};
use serde_json::json;
use sign_in_with_vercel::Auth;

const HOST: &str = "app.example.com";
const KID: &str = "fuzz-key";
const TOKEN: &str = "/login/oauth/token";
const JWKS: &str = "/.well-known/jwks";
const USERINFO: &str = "/login/oauth/userinfo";
const INTROSPECT: &str = "/login/oauth/token/introspect";
const REVOKE: &str = "/login/oauth/token/revoke";

/// A request and the provider's answers, as the fuzz target reads them.
struct Seed {
    head: String,
    answers: Vec<Answer>,
}

impl Seed {
    /// A seed as the fuzz target reads it.
    fn parse(text: &str) -> Self {
        let (head, answers) = split(text);
        Self {
            head: head.to_owned(),
            answers,
        }
    }

    fn text(&self) -> String {
        let mut text = self.head.clone();
        for (status, path, body) in &self.answers {
            let body = String::from_utf8_lossy(body);
            text.push_str(&format!("{SEPARATOR}{status} {path}\n{body}"));
        }
        text
    }
}

fn key() -> ring::signature::RsaKeyPair {
    let pem = include_str!("../../crates/sign-in-with-vercel/src/id_token/testdata/key_a.pem");
    let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    ring::signature::RsaKeyPair::from_pkcs8(&STANDARD.decode(der).unwrap()).unwrap()
}

fn jwks(key: &ring::signature::RsaKeyPair) -> String {
    let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(key.public());
    json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID,
        "n": URL_SAFE_NO_PAD.encode(public.n), "e": URL_SAFE_NO_PAD.encode(public.e),
    }]})
    .to_string()
}

fn id_token(key: &ring::signature::RsaKeyPair, nonce: &str, at: i64) -> String {
    let b64 = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!(
        "{}.{}",
        b64(json!({"alg": "RS256", "typ": "JWT", "kid": KID})),
        b64(json!({
            "iss": "https://vercel.com", "sub": "user_fuzz", "aud": "cl_fuzz",
            "iat": at, "nbf": at, "exp": at + 3600, "nonce": nonce,
            "name": "Fuzz User", "preferred_username": "fuzz",
            "email": "fuzz@example.com", "picture": "https://example.com/a.png",
        }))
    );
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Runs `seed` through a fresh instance of the app, as the fuzz target
/// does: its status, the `name=value` of each cookie it sets, how many
/// answers were left unasked, and where it redirects (or its body).
fn replay(seed: &Seed) -> (u16, Vec<String>, usize, String) {
    replay_at(seed, NOW)
}

/// [`replay`] with the clock at `at`.
fn replay_at(seed: &Seed, at: i64) -> (u16, Vec<String>, usize, String) {
    let provider = Arc::new(Scripted(Mutex::new(seed.answers.clone())));
    let auth = Auth::from_lookup(lookup)
        .with_http_client(provider.clone())
        .with_clock(Arc::new(move || at));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let response = runtime.block_on(auth.dispatch(&request(&seed.head).unwrap()).unwrap());
    let cookies = response
        .headers()
        .get_all(http::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .filter(|c| !c.ends_with('='))
        .collect();
    let said = match response.headers().get(http::header::LOCATION) {
        Some(location) => location.to_str().unwrap().to_owned(),
        None => String::from_utf8_lossy(response.body()).into_owned(),
    };
    let left = provider.0.lock().unwrap().len();
    (response.status().as_u16(), cookies, left, said)
}

fn param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    query
        .split('&')
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .unwrap()
        .to_owned()
}

/// Signs in through authorize and callback at `at`, the access token
/// living an hour: the callback's seed and the session cookies.
fn sign_in(at: i64) -> (Seed, String) {
    let key = key();
    let authorize = Seed {
        head: format!(
            "GET /api/auth/authorize?next=%2Fsettings HTTP/1.1\nhost: {HOST}\nx-forwarded-proto: https"
        ),
        answers: vec![],
    };
    let (status, flow, _, location) = replay_at(&authorize, at);
    assert_eq!(status, 302, "authorize");
    let tokens = json!({
        "access_token": "vca_fuzz_access", "token_type": "Bearer", "expires_in": 3600,
        "refresh_token": "vcr_fuzz_refresh", "scope": "openid email profile offline_access",
        "id_token": id_token(&key, &param(&location, "nonce"), at),
    });
    let callback = Seed {
        head: format!(
            "GET /api/auth/callback?code=code_fuzz&state={} HTTP/1.1\nhost: {HOST}\nx-forwarded-proto: https\ncookie: {}",
            param(&location, "state"),
            flow.join("; ")
        ),
        answers: vec![
            (200, TOKEN.into(), tokens.to_string().into()),
            (200, JWKS.into(), jwks(&key).into()),
        ],
    };
    let (status, session, left, location) = replay_at(&callback, at);
    assert_eq!(
        (status, left, location.as_str()),
        (302, 0, "/settings"),
        "callback"
    );
    (callback, session.join("; "))
}

/// The seeds written here, the status each must get, and what its answer
/// must say (a redirect's location, or a word of the body).
const SIGNED: [(&str, u16, &str); 6] = [
    ("callback-signed", 302, "/settings"),
    ("session-live", 200, "user_fuzz"),
    ("session-refresh", 200, "user_fuzz"),
    ("user-info-signed", 200, "user_fuzz"),
    ("validate-token-signed", 200, "user_fuzz"),
    ("signout-signed", 200, ""),
];

/// Replays `seed`: it must get its status and answer, every provider
/// answer asked for (so its cookies opened: no provider call is made for
/// a request without a session or a flow).
fn check(name: &str, seed: &Seed) {
    let (status, _, left, said) = replay(seed);
    let (_, expected, word) = SIGNED.iter().find(|(n, ..)| *n == name).unwrap();
    assert!(
        (status, left) == (*expected, 0) && said.contains(word),
        "{name}: {status} with {left} answers unasked, not {expected} with none, saying {word:?}: \
         the seeds no longer reach past the cookie checks; run this example again to write them anew"
    );
    println!("ok    {name}: {status}, every answer asked for");
}

fn main() {
    if std::env::args().any(|a| a == "--check") {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/dispatch");
        for (name, ..) in SIGNED {
            let text = std::fs::read_to_string(dir.join(name)).unwrap();
            check(name, &Seed::parse(&text));
        }
        return;
    }
    let key = key();
    let (callback, session) = sign_in(NOW);
    // Its access token expired a minute before NOW: the session refreshes.
    let (_, due) = sign_in(NOW - 3660);
    let https = format!("host: {HOST}\nx-forwarded-proto: https");
    let userinfo = json!({
        "sub": "user_fuzz", "name": "Fuzz User", "preferred_username": "fuzz",
        "email": "fuzz@example.com", "email_verified": true, "picture": "https://example.com/a.png",
    });
    let introspection = json!({
        "active": true, "client_id": "cl_fuzz", "sub": "user_fuzz", "scope": "openid email",
        "exp": NOW + 3600, "iat": NOW, "token_type": "access_token",
    });
    let refreshed = json!({
        "access_token": "vca_fuzz_access_2", "token_type": "Bearer", "expires_in": 3600,
        "refresh_token": "vcr_fuzz_refresh_2", "id_token": id_token(&key, "", NOW),
    });
    let seeds = [
        ("callback-signed", callback),
        (
            "session-live",
            Seed {
                head: format!("GET /api/auth/session HTTP/1.1\n{https}\ncookie: {session}"),
                answers: vec![],
            },
        ),
        (
            "session-refresh",
            Seed {
                head: format!("GET /api/auth/session HTTP/1.1\n{https}\ncookie: {due}"),
                answers: vec![
                    (200, TOKEN.into(), refreshed.to_string().into()),
                    (200, JWKS.into(), jwks(&key).into()),
                ],
            },
        ),
        (
            "user-info-signed",
            Seed {
                head: format!("GET /api/user-info HTTP/1.1\n{https}\ncookie: {session}"),
                answers: vec![(200, USERINFO.into(), userinfo.to_string().into())],
            },
        ),
        (
            "validate-token-signed",
            Seed {
                head: format!("GET /api/validate-token HTTP/1.1\n{https}\ncookie: {session}"),
                answers: vec![(200, INTROSPECT.into(), introspection.to_string().into())],
            },
        ),
        (
            "signout-signed",
            Seed {
                head: format!(
                    "POST /api/auth/signout HTTP/1.1\n{https}\norigin: https://{HOST}\ncookie: {session}"
                ),
                answers: vec![
                    (200, REVOKE.into(), b"{}".to_vec()),
                    (200, REVOKE.into(), b"{}".to_vec()),
                ],
            },
        ),
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/dispatch");
    for (name, seed) in seeds {
        check(name, &seed);
        std::fs::write(dir.join(name), seed.text()).unwrap();
    }
}
