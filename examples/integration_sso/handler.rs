//! The redirect login handler: a function from a request to a response,
//! so that a test can call it without a socket.

use bytes::Bytes;
use http::StatusCode;
use sign_in_with_vercel::sso::{Marketplace, SsoCallback};
use sign_in_with_vercel::{ConfigError, Error};

/// `GET /api/sso?mode=sso&code=...&state=...[&resource_id=...]`: exchanges
/// the code, verifies the marketplace's ID token (audience: this
/// integration), and greets the user with what their role allows. A real
/// integration starts its own session here, keyed by the claims
/// (`account_id`, `user_id`), checks the role before anything an
/// administrator alone may do, and redirects to the deep link; it stores
/// neither the ID token nor the access token, which expire.
pub async fn redirect_login<B>(
    sso: &Result<Marketplace, ConfigError>,
    request: &http::Request<B>,
) -> http::Response<Bytes> {
    if request.method() != http::Method::GET {
        return page(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "Use GET.",
        );
    }
    let outcome = match sso {
        Ok(sso) => sign_in(sso, request.uri().query().unwrap_or("")).await,
        Err(e) => Err(Error::Config(e.clone())),
    };
    match outcome {
        Ok(user) => {
            let mut text = format!("Signed in with Vercel as {}.", user.name);
            text.push_str(if user.admin {
                " You can manage this installation."
            } else {
                " You can view this installation; its settings are for the account's administrators."
            });
            if let Some(resource) = user.resource {
                text.push_str(&format!(" Opening resource {resource}."));
            }
            page(StatusCode::OK, "Signed in", &text)
        }
        Err(error) => {
            // The error's Display names the reason only: no token or code.
            eprintln!("integration-sso: {} ({error})", error.code());
            page(error.status(), "Sign-in failed", error.description())
        }
    }
}

/// Who signed in, as the integration needs it.
struct SignedIn {
    name: String,
    /// An administrator of the Vercel account that installed the integration.
    admin: bool,
    /// The resource the deep link names.
    resource: Option<String>,
}

async fn sign_in(sso: &Marketplace, query: &str) -> Result<SignedIn, Error> {
    let callback = SsoCallback::from_query(query)?;
    // No nonce: Vercel's marketplace ID tokens carry none, whoever started
    // the login. A login the integration starts is bound by its `state`,
    // compared with its own cookie before this exchange.
    let identity = sso.exchange(&callback, None).await?;
    let claims = identity.claims;
    let admin = claims.is_admin();
    let name = claims
        .user_name
        .or(claims.user_email)
        .unwrap_or(claims.user_id);
    let resource = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "resource_id")
        .map(|(_, v)| v.into_owned());
    Ok(SignedIn {
        name,
        admin,
        resource,
    })
}

fn page(status: StatusCode, title: &str, text: &str) -> http::Response<Bytes> {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head><body><main><h1>{}</h1><p>{}</p></main></body></html>",
        escape(title),
        escape(title),
        escape(text)
    );
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(http::header::CACHE_CONTROL, "no-store")
        .header(http::header::REFERRER_POLICY, "no-referrer")
        .header(
            http::header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        )
        .body(Bytes::from(body))
        .unwrap_or_default()
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}
