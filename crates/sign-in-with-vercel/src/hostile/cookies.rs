//! Cookie headers, flow cookies, session cookies.

use super::*;

/// One `Cookie` header per line of `input`; `None` when `http` would not
/// carry one of them (a browser cannot send it).
pub(super) fn cookie_headers(input: &[u8]) -> Option<HeaderMap> {
    let mut headers = HeaderMap::new();
    for line in input.split(|&b| b == b'\n') {
        headers.append(COOKIE, HeaderValue::from_bytes(line).ok()?);
    }
    Some(headers)
}

/// The local http stack's origin: cookie names without a prefix.
pub(super) fn local() -> Origin {
    Origin::parse_configured("http://localhost:3000").unwrap()
}

/// An https origin: `__Host-` names.
pub(super) fn public() -> Origin {
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

pub(super) const FLOW_SECRET: &str = "0123456789abcdef0123456789abcdef-flow";
const SESSION_SECRET: &str = "0123456789abcdef0123456789abcdef-session";

/// The app of client `cl` under `secret`, at Vercel (the default issuer).
pub(super) fn config_with(secret: &str) -> Config {
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
pub(super) struct FlowSeed {
    pub(super) state: String,
    pub(super) nonce: String,
    verifier: String,
    return_to: String,
    created_at: i64,
}

impl FlowSeed {
    pub(super) fn new(byte: u8, return_to: &str, created_at: i64) -> Self {
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
    pub(super) fn plaintext(&self) -> Vec<u8> {
        let start = self.created_at as u64;
        let (s, n, v, r) = (&self.state, &self.nonce, &self.verifier, &self.return_to);
        format!("{s}{n}{v}{start:016x}{r}").into_bytes()
    }

    /// The JSON of flows sealed before that form.
    fn legacy(&self) -> Value {
        json!({"s": self.state, "n": self.nonce, "v": self.verifier, "r": self.return_to,
               "t": self.created_at})
    }

    pub(super) fn name(&self, origin: &Origin) -> String {
        cookie_name(origin, FLOW_COOKIE, &self.state[..16])
    }

    /// `name=seal` of `plaintext` in this attempt's cookie.
    pub(super) fn cookie(
        &self,
        config: &Config,
        origin: &Origin,
        plaintext: &[u8],
        nonce: u8,
    ) -> String {
        let name = self.name(origin);
        let context = flow_context(config, &name);
        let seal = fixed_seal(FLOW_SECRET, Purpose::Flow, &context, plaintext, nonce);
        format!("{name}={seal}")
    }

    pub(super) fn is(&self, flow: &Flow, origin: &Origin, config: &Config) -> bool {
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

pub(super) fn runtime() -> tokio::runtime::Runtime {
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
