//! Vercel's REST API, the marketplace's SSO exchange.

use super::*;

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
pub(super) fn marketplace(answer: &Arc<Mutex<Vec<u8>>>) -> crate::sso::Marketplace {
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
pub(super) fn exchange(
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
