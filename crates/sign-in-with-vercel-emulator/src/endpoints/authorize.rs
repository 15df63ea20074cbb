//! The authorization endpoint: the sign-in and consent page, the user's
//! decision, and the redirect back (RFC 6749 §4.1.1–4.1.2). A consent once
//! given is remembered per user and app: "If they have already authorized
//! the app, they will be redirected immediately" (seed 001, Authorization
//! Endpoint).

use http::StatusCode;
use url::Url;

use super::respond::{found, html};
use super::{Request, Response};
use crate::pkce;
use crate::secret::random_token;
use crate::store::{Code, Grant, Pending, uuid_v4};
use crate::{Client, Emulator, SCOPES, form_params, lock, pages};

const CANCEL_DESCRIPTION: &str = "The user canceled the authorization process";

/// `GET /oauth/authorize` (RFC 6749 §4.1.1). Errors about the client or
/// the redirect URI are shown as a page, never redirected (§4.1.2.1);
/// other errors go back to the (verified) redirect URI.
pub(super) fn authorize(emu: &Emulator, request: &Request) -> Response {
    let query = request.uri().query().unwrap_or("");
    let params = match form_params(query.as_bytes()) {
        Ok(p) => p,
        Err(why) => return html(StatusCode::BAD_REQUEST, pages::error(why)),
    };
    let Some(client) = params.get("client_id").and_then(|id| emu.client(id)) else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error("Unknown or missing client_id."),
        );
    };
    let Some(redirect_uri) = params
        .get("redirect_uri")
        .filter(|r| client.redirect_uris.contains(r))
    else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(
                "The redirect_uri is missing or is not one of the app's Authorization Callback URLs.",
            ),
        );
    };
    let state = params.get("state").cloned();
    let back = |error: &str, description: &str| {
        redirect_back(
            emu,
            redirect_uri,
            &[("error", error), ("error_description", description)],
            state.as_deref(),
        )
    };
    match params.get("response_type").map(String::as_str) {
        Some("code") => {}
        None => return back("invalid_request", "response_type is required"),
        Some(_) => return back("unsupported_response_type", "response_type must be code"),
    }
    let Some(challenge) = params.get("code_challenge") else {
        return back("invalid_request", "code_challenge is required (PKCE)");
    };
    if params.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return back("invalid_request", "code_challenge_method must be S256");
    }
    if !pkce::well_formed(challenge) {
        return back("invalid_request", "code_challenge is malformed");
    }
    if params.values().any(|v| v.len() > 2048) {
        return back("invalid_request", "a parameter is too long");
    }
    let scopes = granted_scopes(params.get("scope").map(String::as_str), &client);
    let pending = Pending {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        scopes: scopes.clone(),
        state: state.clone(),
        nonce: params.get("nonce").cloned(),
        code_challenge: challenge.clone(),
        expires_at: emu.now() + 600,
    };

    // OpenID Connect Core §3.1.2.1 `prompt`: `consent`, `login` or
    // `select_account` show the page even when consent is remembered;
    // `none` never shows it.
    let prompts: Vec<&str> = params
        .get("prompt")
        .map(|p| p.split(' ').collect())
        .unwrap_or_default();
    let must_ask = prompts
        .iter()
        .any(|p| matches!(*p, "consent" | "login" | "select_account"));
    let signed_in = lock(&emu.store).signed_in.clone();
    let remembered = signed_in
        .as_deref()
        .filter(|sub| emu.has_consented(sub, &client.client_id, &scopes));
    match (remembered, must_ask, prompts.contains(&"none")) {
        (Some(sub), false, _) => return grant_code(emu, pending, sub),
        (_, _, true) if signed_in.is_none() => {
            return back("login_required", "no user is signed in to the emulator");
        }
        (_, _, true) => {
            return back(
                "consent_required",
                "the user has not authorized this app for these scopes",
            );
        }
        _ => {}
    }

    let request_id = random_token();
    {
        let mut store = lock(&emu.store);
        store.sweep(emu.now());
        store.pending.insert(request_id.clone(), pending);
    }
    html(
        StatusCode::OK,
        pages::consent(
            &client.name,
            &scopes,
            &emu.users(),
            &request_id,
            signed_in.as_deref(),
        ),
    )
}

/// The scopes a request gets. Vercel: scopes not configured for the app
/// "are filtered out", and with no `scope` "all scopes configured in your
/// app are included by default" (seed 001, `scope`). An empty `scope=`, or
/// one whose every scope is filtered out, is taken as no `scope`, and
/// `openid` is always granted: Vercel's own types treat the ID token as
/// always present (seed 001, `TokenData.id_token: string`), so a 200 without
/// one would be a difference an app could trip on.
fn granted_scopes(requested: Option<&str>, client: &Client) -> Vec<String> {
    let configured = |s: &str| s == "openid" || client.scopes.iter().any(|c| c == s);
    let asked = |s: &str| requested.is_some_and(|r| r.split(' ').any(|r| r == s));
    let nothing_left = !SCOPES.iter().any(|s| asked(s) && configured(s));
    SCOPES
        .iter()
        .filter(|s| **s == "openid" || configured(s) && (nothing_left || asked(s)))
        .map(|s| (*s).to_owned())
        .collect()
}

/// `POST /oauth/authorize/decision`: Allow redirects with `code`, `state`
/// and `iss`, remembering the consent; Cancel with `error=access_denied`.
pub(super) fn decision(emu: &Emulator, request: &Request) -> Response {
    let params = match form_params(request.body()) {
        Ok(p) => p,
        Err(why) => return html(StatusCode::BAD_REQUEST, pages::error(why)),
    };
    let pending = params
        .get("request_id")
        .and_then(|id| lock(&emu.store).pending.remove(id))
        .filter(|p| p.expires_at > emu.now());
    let Some(pending) = pending else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error(
                "This authorization request expired or was already answered. Start again from the app.",
            ),
        );
    };
    match params.get("decision").map(String::as_str) {
        Some("allow") => {}
        Some("cancel") => {
            return redirect_back(
                emu,
                &pending.redirect_uri,
                &[
                    ("error", "access_denied"),
                    ("error_description", CANCEL_DESCRIPTION),
                ],
                pending.state.as_deref(),
            );
        }
        _ => {
            return html(
                StatusCode::BAD_REQUEST,
                pages::error("Choose Allow or Cancel."),
            );
        }
    }
    let users = emu.users();
    let user = match params.get("user") {
        Some(sub) => users.iter().find(|u| &u.sub == sub),
        None => users.first(),
    };
    let Some(user) = user else {
        return html(StatusCode::BAD_REQUEST, pages::error("Unknown user."));
    };
    {
        let mut store = lock(&emu.store);
        store.signed_in = Some(user.sub.clone());
        let granted = store
            .consents
            .entry((user.sub.clone(), pending.client_id.clone()))
            .or_default();
        for scope in &pending.scopes {
            if !granted.contains(scope) {
                granted.push(scope.clone());
            }
        }
    }
    grant_code(emu, pending, &user.sub)
}

/// Issues a code for `sub` on `pending` and redirects back with it.
fn grant_code(emu: &Emulator, pending: Pending, sub: &str) -> Response {
    let code = random_token();
    let grant = Grant {
        id: uuid_v4(),
        client_id: pending.client_id,
        sub: sub.to_owned(),
        scopes: pending.scopes,
        nonce: pending.nonce,
    };
    let expires_at = emu.now() + lock(&emu.config).code_ttl as i64;
    lock(&emu.store).codes.insert(
        code.clone(),
        Code {
            grant,
            redirect_uri: pending.redirect_uri.clone(),
            code_challenge: pending.code_challenge,
            expires_at,
            used: false,
        },
    );
    redirect_back(
        emu,
        &pending.redirect_uri,
        &[("code", &code)],
        pending.state.as_deref(),
    )
}

fn redirect_back(
    emu: &Emulator,
    redirect_uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error("The redirect_uri is not a URL."),
        );
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        // RFC 9207: the issuer identifies who answered.
        query.append_pair("iss", emu.issuer());
    }
    found(url.as_str())
}

impl Emulator {
    /// Whether `sub` has authorized `client_id` for every one of `scopes`.
    pub(super) fn has_consented(&self, sub: &str, client_id: &str, scopes: &[String]) -> bool {
        lock(&self.store)
            .consents
            .get(&(sub.to_owned(), client_id.to_owned()))
            .is_some_and(|granted| scopes.iter().all(|s| granted.contains(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(scopes: &[&str]) -> Client {
        Client {
            client_id: "c".into(),
            name: "App".into(),
            client_secret: None,
            token_endpoint_auth_method: "none".into(),
            redirect_uris: vec![],
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn absent_empty_or_unknown_scope_means_all_configured_scopes() {
        let c = client(&["openid", "email"]);
        for requested in [None, Some(""), Some("repo admin"), Some("offline_access")] {
            assert_eq!(
                granted_scopes(requested, &c),
                ["openid", "email"],
                "{requested:?}"
            );
        }
    }

    #[test]
    fn unconfigured_scopes_are_filtered_out_and_openid_is_always_granted() {
        let c = client(&["openid", "email", "profile"]);
        assert_eq!(
            granted_scopes(Some("email offline_access"), &c),
            ["openid", "email"]
        );
        assert_eq!(granted_scopes(Some("openid"), &c), ["openid"]);
    }
}
