//! Token introspection (RFC 7662).

use serde_json::{Map, Value};

use crate::client_auth::authenticated_form;
use crate::config::{ClientAuthMethod, Config};
use crate::error::{Endpoint, Error};
use crate::secret::AccessToken;
use crate::transport::{HttpRequest, HttpResponse, Unbuildable};

/// The introspection request for an access token (RFC 7662 §2.1), with the
/// client's authentication at the token endpoint, `method` (RFC 7662 §2.1
/// requires some).
pub fn request(
    endpoint: &str,
    config: &Config,
    method: ClientAuthMethod,
    token: &AccessToken,
) -> Result<HttpRequest, Unbuildable> {
    let params = vec![
        ("token", token.secret()),
        ("token_type_hint", "access_token"),
    ];
    authenticated_form(endpoint, config, method, params)
}

/// What introspection says about a token.
#[derive(Debug, PartialEq)]
pub enum Introspection {
    /// `active: true`, with the whole response as metadata (RFC 7662 §2.2).
    Active(Map<String, Value>),
    /// `active: false`: unknown, expired or revoked.
    Inactive,
}

/// Parses an introspection response (RFC 7662 §2.2): a JSON object whose
/// `active` member is a boolean. A token issued to another client (a
/// `client_id` that is not ours, or not a string) is treated as inactive,
/// so one app's tokens cannot be replayed at another; so is one whose
/// `exp` had passed at `now` (seconds since the epoch), beyond the
/// [`LEEWAY_SECS`](crate::id_token::LEEWAY_SECS) allowed for clocks.
pub fn parse_response(
    response: &HttpResponse,
    client_id: &str,
    now: i64,
) -> Result<Introspection, Error> {
    // §2.3: a refused client (`invalid_client` on a 401, RFC 6749 §5.2) is
    // this app's configuration, not the provider's availability.
    let status = response.status();
    if status.is_client_error()
        && status != http::StatusCode::TOO_MANY_REQUESTS
        && let Some(code) = crate::error::oauth_error_code(response.body())
    {
        return Err(Error::ClientRefused(code));
    }
    let map = Endpoint::Introspection.json_object(response)?;
    match map.get("active") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => return Ok(Introspection::Inactive),
        _ => return Err(Endpoint::Introspection.malformed("no boolean active member")),
    }
    let another_client = map
        .get("client_id")
        .is_some_and(|id| id.as_str() != Some(client_id));
    // A NumericDate, read as the ID token's are (RFC 7662 §2.2 says
    // integer; a fractional one is not taken for absent).
    let expired = crate::id_token::numeric_date(map.get("exp"))
        .is_some_and(|exp| now >= exp.saturating_add(crate::id_token::LEEWAY_SECS));
    if another_client || expired {
        return Ok(Introspection::Inactive);
    }
    Ok(Introspection::Active(map))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::tests::response;

    /// RFC 7662 §2.1: a form `POST` of the token and its hint, with the
    /// client's authentication (here HTTP Basic, RFC 6749 §2.3.1).
    #[test]
    fn the_request_posts_the_token_and_its_hint_with_the_clients_authentication() {
        let config = Config::from_lookup(|name| match name {
            "VERCEL_APP_CLIENT_ID" => Some("cl".into()),
            "VERCEL_APP_CLIENT_SECRET" => Some("s3cret".into()),
            "AUTH_SECRET" => Some("0123456789abcdef0123456789abcdef".into()),
            _ => None,
        })
        .unwrap();
        let endpoint = "https://api.vercel.com/login/oauth/token/introspect";
        let r = request(
            endpoint,
            &config,
            ClientAuthMethod::ClientSecretBasic,
            &AccessToken::new("vca_x"),
        )
        .unwrap();
        assert_eq!(r.method(), http::Method::POST);
        assert_eq!(r.uri().to_string(), endpoint);
        let authorization = r.headers()[http::header::AUTHORIZATION].to_str().unwrap();
        assert!(authorization.starts_with("Basic "));
        assert!(
            r.body() == b"token=vca_x&token_type_hint=access_token",
            "the token and its hint"
        );
    }

    #[test]
    fn active_and_inactive_are_understood() {
        let active = parse_response(
            &response(200, r#"{"active":true,"client_id":"me","sub":"u"}"#),
            "me",
            NOW,
        )
        .unwrap();
        assert!(matches!(active, Introspection::Active(m) if m["sub"] == "u"));
        assert_eq!(
            parse_response(&response(200, r#"{"active":false}"#), "me", NOW).unwrap(),
            Introspection::Inactive
        );
    }

    const NOW: i64 = 1_757_363_851;

    /// A `client_id` that is not ours, or not a string, is another
    /// client's token: inactive for this app.
    #[test]
    fn a_token_of_another_client_is_inactive() {
        for client_id in [r#""other""#, "123", "null", r#"["me"]"#] {
            let body = format!(r#"{{"active":true,"client_id":{client_id}}}"#);
            let other = parse_response(&response(200, &body), "me", NOW).unwrap();
            assert_eq!(other, Introspection::Inactive, "{client_id}");
        }
    }

    /// RFC 7662 §2.2's `exp`: a token said active but expired (beyond the
    /// clocks' leeway) is not; within it, or without `exp`, it is.
    #[test]
    fn an_active_token_past_its_exp_is_inactive() {
        let at = |exp: i64| {
            let body = format!(r#"{{"active":true,"client_id":"me","exp":{exp}}}"#);
            parse_response(&response(200, &body), "me", NOW).unwrap()
        };
        assert_eq!(at(NOW - 60), Introspection::Inactive);
        assert_eq!(at(NOW - 3600), Introspection::Inactive);
        assert!(matches!(at(NOW - 59), Introspection::Active(_)));
        assert!(matches!(at(NOW + 3600), Introspection::Active(_)));
        let no_exp = parse_response(&response(200, r#"{"active":true}"#), "me", NOW);
        assert!(matches!(no_exp, Ok(Introspection::Active(_))));
        // A NumericDate with a fraction is a date all the same.
        let fraction = format!(r#"{{"active":true,"exp":{}.5}}"#, NOW - 3600);
        let fraction = parse_response(&response(200, &fraction), "me", NOW).unwrap();
        assert_eq!(fraction, Introspection::Inactive);
    }

    #[test]
    fn a_refused_client_is_a_configuration_error_not_an_outage() {
        let err = parse_response(
            &response(
                401,
                r#"{"error":"invalid_client","error_description":"bad secret"}"#,
            ),
            "me",
            NOW,
        )
        .unwrap_err();
        assert_eq!(err, Error::ClientRefused("invalid_client".into()));
        assert_eq!(err.code(), "configuration");
        // Whatever the code: no introspection answer ends the session.
        let err =
            parse_response(&response(400, r#"{"error":"invalid_grant"}"#), "me", NOW).unwrap_err();
        assert!(!err.facts().ends_session, "{err}");
        // Throttling and bodies that are not OAuth errors stay the provider's.
        for (status, body) in [(429, r#"{"error":"slow_down"}"#), (401, "denied")] {
            let err = parse_response(&response(status, body), "me", NOW).unwrap_err();
            assert_eq!(err.code(), "provider_unavailable", "{status} {body}");
        }
    }

    #[test]
    fn active_must_be_a_boolean() {
        assert!(parse_response(&response(200, r#"{"active":"true"}"#), "me", NOW).is_err());
        assert!(parse_response(&response(200, r#"[]"#), "me", NOW).is_err());
        assert!(parse_response(&response(500, r#"{}"#), "me", NOW).is_err());
    }
}
