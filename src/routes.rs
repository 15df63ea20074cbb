//! The five routes, each a function from a request to a response that a
//! test can call without a socket. The `api/*.rs` binaries are shims over
//! these; the local dev server calls the very same functions.

use http::Method;
use http::header::ORIGIN;
use serde_json::json;

use crate::auth::Auth;
use crate::authorize::{Flow, authorization_url};
use crate::callback::{CallbackParams, check};
use crate::cookies::{self, RequestCookies, SessionCookies, read_flow};
use crate::error::{Endpoint, Error};
use crate::origin::{DEFAULT_RETURN_PATH, Origin, safe_return_path};
use crate::request::{RequestParts, query_params};
use crate::response::{
    self, Response, error_json, json, no_referrer, redirect, redirect_to_error, with_cookies,
};
use crate::revoke::{self, TokenKind};
use crate::session::TokenCheck;
use crate::token;
use crate::transport::BoxFuture;

fn require(parts: &RequestParts, method: Method, allowed: &'static str) -> Result<(), Error> {
    if parts.method == method {
        Ok(())
    } else {
        Err(Error::MethodNotAllowed(allowed))
    }
}

impl Auth {
    /// `GET /api/auth/authorize[?next=/path]`: starts a sign-in (RFC 6749
    /// §4.1.1). Makes a fresh `state`, `nonce` and PKCE verifier, keeps them
    /// and the return path in the 10-minute flow cookie, and redirects to
    /// the authorization endpoint. `next` must be a same-origin path, else
    /// the return path is `/profile`.
    pub fn authorize<B>(
        &self,
        request: &http::Request<B>,
    ) -> impl Future<Output = Response> + Send + '_ {
        // What the route needs from the request is read now, so the future
        // holds no copy of it (this is the hot path of a sign-in).
        let start = self.sign_in_request(request);
        async move {
            let result = match start {
                Ok((origin, return_to)) => self.start_sign_in(&origin, return_to).await,
                Err(e) => Err(e),
            };
            result.unwrap_or_else(|e| {
                e.log("authorize");
                match e {
                    Error::MethodNotAllowed(_) => error_json(&e),
                    _ => redirect_to_error(e.code()),
                }
            })
        }
    }

    /// The origin and the return path of a sign-in request.
    fn sign_in_request<B>(&self, request: &http::Request<B>) -> Result<(Origin, String), Error> {
        if request.method() != Method::GET {
            return Err(Error::MethodNotAllowed("GET"));
        }
        let origin = self.origin(request.headers())?;
        let params = query_params(request.uri().query(), &["next"])?;
        let return_to = params
            .get("next")
            .and_then(|next| safe_return_path(next))
            .unwrap_or(DEFAULT_RETURN_PATH);
        Ok((origin, return_to.to_owned()))
    }

    async fn start_sign_in(&self, origin: &Origin, return_to: String) -> Result<Response, Error> {
        let config = self.config()?;
        let metadata = self.metadata().await?;
        let flow = Flow::new(origin.redirect_uri(), return_to, self.now());
        let url = authorization_url(metadata, &config.client_id, &flow)
            .ok_or_else(|| Error::Discovery("authorization_endpoint is not a URL".into()))?;
        Ok(with_cookies(
            redirect(&url),
            [cookies::flow_cookie(origin, &flow)?],
        ))
    }

    /// `GET /api/auth/callback`: completes a sign-in (RFC 6749 §4.1.2–4.1.4,
    /// OpenID Connect Core §3.1.3). Checks `state` (and `iss`) against the
    /// flow cookie, exchanges the code with the PKCE verifier, verifies the
    /// ID token, stores the session cookies and redirects to the return
    /// path. Any failure clears the flow cookie, sets no session, and
    /// redirects to `/auth/error?error=<code>`.
    pub fn callback<B>(
        &self,
        request: &http::Request<B>,
    ) -> impl Future<Output = Response> + Send + '_ {
        let parts = RequestParts::from(request);
        async move {
            let origin = self.origin(&parts.headers);
            let response = match &origin {
                Ok(origin) => self.finish_sign_in(&parts, origin).await,
                Err(e) => Err(e.clone()),
            };
            let response = match response {
                Ok(response) => response,
                Err(e) => {
                    e.log("callback");
                    let page = match e {
                        Error::MethodNotAllowed(_) => error_json(&e),
                        _ => redirect_to_error(e.code()),
                    };
                    match &origin {
                        Ok(origin) => with_cookies(page, [cookies::clear_flow_cookie(origin)]),
                        Err(_) => page,
                    }
                }
            };
            no_referrer(response)
        }
    }

    async fn finish_sign_in(
        &self,
        parts: &RequestParts,
        origin: &Origin,
    ) -> Result<Response, Error> {
        require(parts, Method::GET, "GET")?;
        let config = self.config()?;
        let params = CallbackParams::parse(parts.uri.query())?;
        let cookies = RequestCookies::from_headers(&parts.headers)?;
        let flow = read_flow(&cookies, origin, self.now());
        let metadata = self.metadata().await?;
        let (flow, code) = check(params, flow, metadata)?;

        let response = self
            .send(
                Endpoint::Token,
                token::code_request(
                    &metadata.token_endpoint,
                    config,
                    &code,
                    &flow.verifier,
                    &flow.redirect_uri,
                ),
            )
            .await?;
        let tokens = token::parse_response(&response)?;
        let id_token = tokens
            .id_token
            .as_ref()
            .ok_or(Error::IdToken(crate::id_token::IdTokenError::Malformed))?;
        let claims = self
            .verify_id_token(id_token, &tokens.access_token, Some(&flow.nonce), None)
            .await?;

        let mut set_cookies = cookies::session_cookies(
            origin,
            &tokens.access_token,
            tokens.expires_in,
            tokens.refresh_token.as_ref(),
            tokens.refresh_token.is_some(),
            &claims.sub,
        )?;
        set_cookies.push(cookies::clear_flow_cookie(origin));
        Ok(with_cookies(redirect(&flow.return_to), set_cookies))
    }

    /// `POST /api/auth/signout`: revokes the tokens (RFC 7009) and clears
    /// the session cookies, even when the provider cannot be reached.
    /// Answers `{"signedOut": true, "revoked": bool}`; 401 when not signed
    /// in; 403 for a cross-origin request; 405 for other methods.
    pub fn signout<B>(
        &self,
        request: &http::Request<B>,
    ) -> impl Future<Output = Response> + Send + '_ {
        let parts = RequestParts::from(request);
        async move {
            match self.sign_out(&parts).await {
                Ok(response) => response,
                Err((e, origin)) => {
                    e.log("signout");
                    let answer = error_json(&e);
                    match origin {
                        Some(origin)
                            if !matches!(e, Error::CrossOrigin | Error::MethodNotAllowed(_)) =>
                        {
                            with_cookies(answer, cookies::clear_session_cookies(&origin))
                        }
                        _ => answer,
                    }
                }
            }
        }
    }

    async fn sign_out(&self, parts: &RequestParts) -> Result<Response, (Error, Option<Origin>)> {
        require(parts, Method::POST, "POST").map_err(|e| (e, None))?;
        let origin = self.origin(&parts.headers).map_err(|e| (e, None))?;
        // A browser names the page that sent a POST; a page of another
        // origin may not sign the user out (SameSite=Lax already keeps the
        // cookies off such a request; this makes the refusal explicit).
        if let Some(sender) = parts.headers.get(ORIGIN)
            && sender.as_bytes() != origin.as_str().as_bytes()
        {
            return Err((Error::CrossOrigin, Some(origin)));
        }
        let fail = |e| (e, Some(origin.clone()));
        let config = self.config().map_err(fail)?;
        let session = RequestCookies::from_headers(&parts.headers)
            .and_then(|c| SessionCookies::read(&c))
            .map_err(fail)?;
        if !session.is_signed_in() {
            return Err(fail(Error::NotSignedIn));
        }

        let revoked = match self.metadata().await {
            Ok(metadata) => match metadata.revocation_endpoint.as_deref() {
                Some(endpoint) => {
                    let revoke_one = async |token: Option<&str>, kind| match token {
                        None => true,
                        Some(token) => {
                            let result = self
                                .send(
                                    Endpoint::Revocation,
                                    revoke::request(
                                        endpoint,
                                        config,
                                        metadata
                                            .revocation_endpoint_auth_methods_supported
                                            .as_deref(),
                                        token,
                                        kind,
                                    ),
                                )
                                .await
                                .and_then(|r| revoke::parse_response(&r));
                            result.inspect_err(|e| e.log("signout")).is_ok()
                        }
                    };
                    // Revoking the access token revokes the refresh token at
                    // Vercel; revoking the refresh token as well makes sure of
                    // it at providers that do not (RFC 7009 §2.1 leaves it open).
                    let (access, refresh) = tokio::join!(
                        revoke_one(
                            session.access_token.as_ref().map(|t| t.secret()),
                            TokenKind::AccessToken
                        ),
                        revoke_one(
                            session.refresh_token.as_ref().map(|t| t.secret()),
                            TokenKind::RefreshToken
                        ),
                    );
                    access && refresh
                }
                None => false,
            },
            Err(e) => {
                e.log("signout");
                false
            }
        };
        Ok(with_cookies(
            json(
                http::StatusCode::OK,
                &json!({ "signedOut": true, "revoked": revoked }),
            ),
            cookies::clear_session_cookies(&origin),
        ))
    }

    /// `GET /api/validate-token`: introspects the access token (RFC 7662),
    /// refreshing it first when it has expired. 200 `{"message": "Token is
    /// valid", "tokenInfo": {...}}` when active; 401 when missing or not.
    pub fn validate_token<B>(
        &self,
        request: &http::Request<B>,
    ) -> impl Future<Output = Response> + Send + '_ {
        let parts = RequestParts::from(request);
        async move {
            let result = async {
                require(&parts, Method::GET, "GET").map_err(|e| self.reject(e))?;
                let origin = self.origin(&parts.headers).map_err(|e| self.reject(e))?;
                self.authorized(&parts, &origin, TokenCheck::Introspection)
                    .await
            }
            .await;
            match result {
                Ok(authorized) => with_cookies(
                    json(
                        http::StatusCode::OK,
                        &json!({ "message": "Token is valid", "tokenInfo": authorized.claims }),
                    ),
                    authorized.set_cookies,
                ),
                Err(rejection) => {
                    rejection.error().log("validate-token");
                    rejection.into_response()
                }
            }
        }
    }

    /// `GET /api/user-info`: the signed-in user from the userinfo endpoint
    /// (OpenID Connect Core §5.3), refreshing when needed. 200
    /// `{"userInfo": {...}}`; 401 when signed out.
    pub fn user_info<B>(
        &self,
        request: &http::Request<B>,
    ) -> impl Future<Output = Response> + Send + '_ {
        let method_ok = request.method() == Method::GET;
        let session = self.session(request);
        async move {
            if !method_ok {
                let e = Error::MethodNotAllowed("GET");
                e.log("user-info");
                return error_json(&e);
            }
            match session.await {
                Ok(session) => session.finish(json(
                    http::StatusCode::OK,
                    &json!({ "userInfo": session.user }),
                )),
                Err(rejection) => {
                    rejection.error().log("user-info");
                    rejection.into_response()
                }
            }
        }
    }

    fn reject(&self, error: Error) -> crate::session::Rejection {
        crate::session::Rejection::without_cookies(error)
    }
}

/// Routes a request to one of the five routes by path, as Vercel does with
/// one function per file; any other `/api/...` path is a 404 JSON answer.
/// `None` for paths outside `/api`. Used by the local dev server.
pub fn dispatch<'a, B>(
    auth: &'a Auth,
    request: &http::Request<B>,
) -> Option<BoxFuture<'a, Response>> {
    Some(match request.uri().path() {
        "/api/auth/authorize" => Box::pin(auth.authorize(request)),
        "/api/auth/callback" => Box::pin(auth.callback(request)),
        "/api/auth/signout" => Box::pin(auth.signout(request)),
        "/api/validate-token" => Box::pin(auth.validate_token(request)),
        "/api/user-info" => Box::pin(auth.user_info(request)),
        path if path == "/api" || path.starts_with("/api/") => {
            Box::pin(std::future::ready(response::json(
                http::StatusCode::NOT_FOUND,
                &json!({ "error": "not_found", "error_description": "No such API route." }),
            )))
        }
        _ => return None,
    })
}
