//! Browser input: the callback's query, the request's origin, return paths.

use super::*;

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
