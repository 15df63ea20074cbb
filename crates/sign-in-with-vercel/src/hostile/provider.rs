//! Provider responses.

use super::*;

/// Statuses a mutated response is sometimes given instead of its seed's.
const STATUSES: [u16; 13] = [
    200, 201, 204, 301, 400, 401, 403, 404, 409, 429, 500, 503, 599,
];

/// Responses to a provider call: `seeds` (status, body), each body
/// truncated at every length and mutated (as bytes and as JSON), with
/// its own status or another; with `header`, a header whose value is one
/// of its seeds, sometimes mutated. `property` judges each response.
pub(super) fn fuzz_responses(
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

pub(super) fn seeds_of(seeds: &[(u16, Value)]) -> Vec<(u16, String)> {
    seeds
        .iter()
        .map(|(status, body)| match body {
            Value::String(text) => (*status, text.clone()),
            json => (*status, json.to_string()),
        })
        .collect()
}

/// An OAuth error code as `error::sanitize_error_code` leaves it: the
/// form of the registered codes (a lowercase letter, then lowercase
/// letters and underscores, at most 64), or `unknown`. No digit: a value
/// of ours echoed back (a hex secret, a code) is never kept.
fn is_sanitised(code: &str) -> bool {
    code == "unknown"
        || (code.len() <= 64
            && code.starts_with(|c: char| c.is_ascii_lowercase())
            && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
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
