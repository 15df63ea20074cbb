//! The user-token endpoints of Vercel's REST API (its reference's
//! "Authentication" section): create `POST /v3/user/tokens`, list
//! `GET /v6/user/tokens`, metadata `GET /v5/user/tokens/{tokenId}` and delete
//! `DELETE /v3/user/tokens/{tokenId}`.
//!
//! Each is a pure request builder and a pure response parser; the client in
//! the parent module runs them.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::error::VercelApiError;
use super::{json_request, path_segment};
use crate::secret::{AccessToken, BearerToken};
use crate::transport::{HttpRequest, HttpResponse};

/// The special token ID naming the token the request is authenticated with.
pub const CURRENT: &str = "current";

/// The team a call acts on behalf of (`teamId` or `slug` query parameter).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Team {
    /// `?teamId=`: the team's identifier.
    Id(String),
    /// `?slug=`: the team's slug.
    Slug(String),
}

/// What `POST /v3/user/tokens` creates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewToken {
    /// The token's name (body `name`, required).
    pub name: String,
    /// When it expires, milliseconds since the epoch (body `expiresAt`).
    pub expires_at: Option<i64>,
    /// The team to create it for.
    pub team: Option<Team>,
}

/// One page request of `GET /v6/user/tokens`, in Vercel's pagination
/// scheme: `limit` items, created before `until` (the previous page's
/// `pagination.next`) or after `since` (its `pagination.prev`), both in
/// milliseconds since the epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListTokens {
    /// At most this many tokens.
    pub limit: Option<u32>,
    /// Tokens created after this time.
    pub since: Option<i64>,
    /// Tokens created before this time.
    pub until: Option<i64>,
}

/// A token's metadata, as Vercel describes it. Unknown members are kept
/// in `other`, so that it serialises back to what Vercel sent.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TokenMetadata {
    /// The token's identifier (what delete and metadata take).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its kind, such as `oauth2-token`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where it was created, such as `manual` or `github`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Its scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<Value>>,
    /// Expiry, milliseconds since the epoch; none for a token that does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Last use, milliseconds since the epoch.
    pub active_at: i64,
    /// Creation, milliseconds since the epoch.
    pub created_at: i64,
    /// Any other member.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// The answer to a create: the metadata and the token itself, once.
#[non_exhaustive]
pub struct CreatedToken {
    /// The token's metadata.
    pub token: TokenMetadata,
    /// The token's value; store it now, it cannot be read again.
    pub bearer_token: BearerToken,
}

impl fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedToken")
            .field("token", &self.token)
            .field("bearer_token", &self.bearer_token)
            .finish()
    }
}

/// Vercel's pagination object: `count` items in this page; `next` to pass
/// as `until` for the following (older) page, `prev` as `since` for the
/// preceding one; `None` at either end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Pagination {
    /// Items in this page.
    pub count: u64,
    /// The `until` of the next page.
    pub next: Option<i64>,
    /// The `since` of the previous page.
    pub prev: Option<i64>,
}

/// One page of the user's tokens.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TokenPage {
    /// The tokens, newest first.
    pub tokens: Vec<TokenMetadata>,
    /// A testing token, when the account has one.
    pub testing_token: Option<TokenMetadata>,
    /// Where the neighbouring pages are.
    pub pagination: Pagination,
}

impl TokenPage {
    /// The request for the next (older) page, if there is one. Each next
    /// page is asked strictly before the last (a page that does not move
    /// back in time has none), so a loop over it ends; an API answering one
    /// made-up token a page could still make it long, so a loop that
    /// serves a request should also stop after the pages it can afford.
    pub fn next_page(&self, limit: Option<u32>) -> Option<ListTokens> {
        self.pagination.next.map(|until| ListTokens {
            limit,
            since: None,
            until: Some(until),
        })
    }
}

/// `page`, answered to `asked`, with its `next` only if it moves on: the
/// page has tokens, and `next` is older than the `until` it was asked
/// with. So a loop over [`TokenPage::next_page`] ends, whatever the API
/// answers (if after as many pages as the API makes up: the caller caps
/// them).
pub(crate) fn moving_on(mut page: TokenPage, asked: &ListTokens) -> TokenPage {
    let stays = page.tokens.is_empty()
        || page
            .pagination
            .next
            .zip(asked.until)
            .is_some_and(|(next, until)| next >= until);
    if stays {
        page.pagination.next = None;
    }
    page
}

fn with_query(url: String, pairs: &[(&str, String)]) -> String {
    if pairs.is_empty() {
        return url;
    }
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        query.append_pair(k, v);
    }
    format!("{url}?{}", query.finish())
}

/// `POST /v3/user/tokens[?teamId=|?slug=]` with `{"name", "expiresAt"}`.
pub fn create_request(base: &str, token: &AccessToken, new: &NewToken) -> Option<HttpRequest> {
    let query: Vec<(&str, String)> = match &new.team {
        Some(Team::Id(id)) => vec![("teamId", id.clone())],
        Some(Team::Slug(slug)) => vec![("slug", slug.clone())],
        None => Vec::new(),
    };
    let mut body = json!({ "name": new.name });
    if let Some(at) = new.expires_at {
        body["expiresAt"] = json!(at);
    }
    let url = with_query(format!("{base}/v3/user/tokens"), &query);
    json_request(http::Method::POST, &url, token, Some(&body))
}

/// `GET /v6/user/tokens[?limit=&since=&until=]` (the current reference's
/// version of the list; `/v5` is an older page's, with the same answer).
pub fn list_request(base: &str, token: &AccessToken, page: &ListTokens) -> Option<HttpRequest> {
    let mut query = Vec::new();
    if let Some(limit) = page.limit {
        query.push(("limit", limit.to_string()));
    }
    if let Some(since) = page.since {
        query.push(("since", since.to_string()));
    }
    if let Some(until) = page.until {
        query.push(("until", until.to_string()));
    }
    let url = with_query(format!("{base}/v6/user/tokens"), &query);
    json_request(http::Method::GET, &url, token, None)
}

/// `GET /v5/user/tokens/{tokenId}`; [`CURRENT`] names the calling token.
pub fn get_request(base: &str, token: &AccessToken, id: &str) -> Option<HttpRequest> {
    let url = format!("{base}/v5/user/tokens/{}", path_segment(id)?);
    json_request(http::Method::GET, &url, token, None)
}

/// `DELETE /v3/user/tokens/{tokenId}`; [`CURRENT`] deletes the calling token.
pub fn delete_request(base: &str, token: &AccessToken, id: &str) -> Option<HttpRequest> {
    let url = format!("{base}/v3/user/tokens/{}", path_segment(id)?);
    json_request(http::Method::DELETE, &url, token, None)
}

fn success_object(response: &HttpResponse) -> Result<Map<String, Value>, VercelApiError> {
    if !response.status().is_success() {
        return Err(VercelApiError::from_response(response));
    }
    match serde_json::from_slice(response.body()) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(VercelApiError::Malformed("not a JSON object")),
    }
}

fn metadata(value: Option<Value>) -> Result<TokenMetadata, VercelApiError> {
    serde_json::from_value(value.ok_or(VercelApiError::Malformed("no token"))?)
        .map_err(|_| VercelApiError::Malformed("token is not token metadata"))
}

/// `200 {"token": {...}, "bearerToken": "..."}`.
pub fn parse_create(response: &HttpResponse) -> Result<CreatedToken, VercelApiError> {
    let mut map = success_object(response)?;
    let bearer = match map.remove("bearerToken") {
        Some(Value::String(s)) if !s.is_empty() => BearerToken::new(s),
        _ => return Err(VercelApiError::Malformed("no bearerToken")),
    };
    Ok(CreatedToken {
        token: metadata(map.remove("token"))?,
        bearer_token: bearer,
    })
}

/// `200 {"tokens": [...], "testingToken"?: {...}, "pagination": {...}}`.
pub fn parse_list(response: &HttpResponse) -> Result<TokenPage, VercelApiError> {
    let mut map = success_object(response)?;
    let tokens = match map.remove("tokens") {
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|t| metadata(Some(t)))
            .collect::<Result<_, _>>()?,
        _ => return Err(VercelApiError::Malformed("no tokens array")),
    };
    let testing_token = match map.remove("testingToken") {
        None | Some(Value::Null) => None,
        Some(t) => Some(metadata(Some(t))?),
    };
    let pagination = serde_json::from_value(
        map.remove("pagination")
            .ok_or(VercelApiError::Malformed("no pagination"))?,
    )
    .map_err(|_| VercelApiError::Malformed("pagination is not {count, next, prev}"))?;
    Ok(TokenPage {
        tokens,
        testing_token,
        pagination,
    })
}

/// `200 {"token": {...}}`.
pub fn parse_get(response: &HttpResponse) -> Result<TokenMetadata, VercelApiError> {
    metadata(success_object(response)?.remove("token"))
}

/// `200 {"tokenId": "..."}`: the ID of the deleted token.
pub fn parse_delete(response: &HttpResponse) -> Result<String, VercelApiError> {
    match success_object(response)?.remove("tokenId") {
        Some(Value::String(id)) => Ok(id),
        _ => Err(VercelApiError::Malformed("no tokenId")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::tests::response;

    const BASE: &str = "https://api.vercel.com";
    const META: &str = r#"{"id":"5d9f","name":"ci","type":"oauth2-token","origin":"manual",
        "scopes":[{"type":"user","origin":"manual","createdAt":1}],"expiresAt":3,"activeAt":2,"createdAt":1,"teamId":"t"}"#;

    fn token() -> AccessToken {
        AccessToken::new("vca_test")
    }

    fn body(req: &HttpRequest) -> Value {
        serde_json::from_slice(req.body()).unwrap()
    }

    #[test]
    fn create_posts_name_and_expiry_as_json_with_the_team_query() {
        let new = NewToken {
            name: "ci token".into(),
            expires_at: Some(1_900_000_000_000),
            team: Some(Team::Id("team_1".into())),
        };
        let req = create_request(BASE, &token(), &new).unwrap();
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(
            req.uri().to_string(),
            "https://api.vercel.com/v3/user/tokens?teamId=team_1"
        );
        assert_eq!(
            body(&req),
            json!({"name": "ci token", "expiresAt": 1_900_000_000_000i64})
        );
        assert_eq!(req.headers()["content-type"], "application/json");
        assert_eq!(req.headers()["authorization"], "Bearer vca_test");
    }

    #[test]
    fn create_by_slug_without_expiry() {
        let new = NewToken {
            name: "x".into(),
            expires_at: None,
            team: Some(Team::Slug("my team".into())),
        };
        let req = create_request(BASE, &token(), &new).unwrap();
        assert_eq!(req.uri().query(), Some("slug=my+team"));
        assert_eq!(body(&req), json!({"name": "x"}));
    }

    #[test]
    fn list_sends_the_pagination_query() {
        let page = ListTokens {
            limit: Some(2),
            since: None,
            until: Some(1_700_000_000_000),
        };
        let req = list_request(BASE, &token(), &page).unwrap();
        assert_eq!(req.method(), http::Method::GET);
        assert_eq!(
            req.uri().to_string(),
            "https://api.vercel.com/v6/user/tokens?limit=2&until=1700000000000"
        );
        assert!(req.body().is_empty());
        let plain = list_request(BASE, &token(), &ListTokens::default()).unwrap();
        assert_eq!(plain.uri().query(), None);
    }

    #[test]
    fn metadata_and_delete_put_the_id_in_the_path() {
        let get = get_request(BASE, &token(), CURRENT).unwrap();
        assert_eq!(get.method(), http::Method::GET);
        assert_eq!(get.uri().path(), "/v5/user/tokens/current");
        let delete = delete_request(BASE, &token(), "5d9f").unwrap();
        assert_eq!(delete.method(), http::Method::DELETE);
        assert_eq!(delete.uri().path(), "/v3/user/tokens/5d9f");
        assert!(delete.body().is_empty());
    }

    #[test]
    fn ids_cannot_leave_their_path_segment() {
        let req = get_request(BASE, &token(), "../../v2/user?x=1#y").unwrap();
        assert_eq!(
            req.uri().path(),
            "/v5/user/tokens/..%2F..%2Fv2%2Fuser%3Fx%3D1%23y"
        );
        assert!(get_request(BASE, &token(), "").is_none());
        assert!(delete_request(BASE, &token(), "..").is_none());
    }

    #[test]
    fn create_response_gives_the_bearer_token_redacted() {
        let created = parse_create(&response(
            200,
            &format!(r#"{{"token":{META},"bearerToken":"uRKJSTt0L4RaSkiMj41QTkxM"}}"#),
        ))
        .unwrap();
        assert_eq!(created.bearer_token.secret(), "uRKJSTt0L4RaSkiMj41QTkxM");
        assert_eq!(created.token.name, "ci");
        let printed = format!("{created:?}");
        assert!(!printed.contains("uRKJ"), "{printed}");
        assert!(printed.contains("BearerToken([redacted])"));
    }

    #[test]
    fn metadata_keeps_unknown_members_and_serialises_back() {
        let meta = parse_get(&response(200, &format!(r#"{{"token":{META}}}"#))).unwrap();
        assert_eq!(meta.kind, "oauth2-token");
        assert_eq!(meta.expires_at, Some(3));
        assert_eq!(
            serde_json::to_value(&meta).unwrap(),
            serde_json::from_str::<Value>(META).unwrap()
        );
    }

    #[test]
    fn list_response_is_parsed_with_its_pagination() {
        let page = parse_list(&response(
            200,
            &format!(r#"{{"tokens":[{META}],"pagination":{{"count":1,"next":1,"prev":null}}}}"#),
        ))
        .unwrap();
        assert_eq!(page.tokens.len(), 1);
        assert_eq!(page.testing_token, None);
        assert_eq!(
            page.pagination,
            Pagination {
                count: 1,
                next: Some(1),
                prev: None
            }
        );
        assert_eq!(page.next_page(Some(5)).unwrap().until, Some(1));
    }

    /// A `next` that would not move on is dropped: from an empty page, or
    /// not older than the page asked for.
    #[test]
    fn a_next_page_that_does_not_move_on_is_none() {
        let page = |tokens: &str, next: i64| {
            parse_list(&response(
                200,
                &format!(r#"{{"tokens":[{tokens}],"pagination":{{"count":1,"next":{next},"prev":null}}}}"#),
            ))
            .unwrap()
        };
        let until = |until| ListTokens {
            until,
            ..ListTokens::default()
        };
        let next = |p: TokenPage, asked| moving_on(p, &until(asked)).pagination.next;
        assert_eq!(next(page(META, 5), None), Some(5));
        assert_eq!(next(page(META, 5), Some(6)), Some(5));
        assert_eq!(next(page(META, 6), Some(6)), None);
        assert_eq!(next(page(META, 7), Some(6)), None);
        assert_eq!(next(page("", 5), None), None);
        assert_eq!(next(page("", 5), Some(6)), None);
    }

    #[test]
    fn delete_response_names_the_deleted_token() {
        assert_eq!(
            parse_delete(&response(200, r#"{"tokenId":"5d9f"}"#)).unwrap(),
            "5d9f"
        );
    }

    #[test]
    fn malformed_successes_are_errors() {
        assert_eq!(
            parse_get(&response(200, "[]")).unwrap_err(),
            VercelApiError::Malformed("not a JSON object")
        );
        assert!(parse_create(&response(200, &format!(r#"{{"token":{META}}}"#))).is_err());
        assert!(parse_list(&response(200, r#"{"tokens":[]}"#)).is_err());
    }

    #[test]
    fn failures_are_typed_by_status() {
        let e = parse_get(&response(
            404,
            r#"{"error":{"code":"not_found","message":"Token not found"}}"#,
        ))
        .unwrap_err();
        assert!(matches!(e, VercelApiError::NotFound(_)));
    }

    /// A create answered without a usable token created nothing the caller
    /// can use: an empty `bearerToken` is no token.
    #[test]
    fn an_empty_bearer_token_is_malformed() {
        let created = parse_create(&response(
            200,
            &format!(r#"{{"token":{META},"bearerToken":""}}"#),
        ));
        assert_eq!(
            created.map(|c| c.token).unwrap_err(),
            VercelApiError::Malformed("no bearerToken")
        );
    }
}
