//! The "Open in Provider" redirect: what Vercel's redirect to the
//! integration's `redirectLoginUrl` carries, the authorization `code` and,
//! in a flow the integration started, its `state`, read from the query
//! before the code is exchanged (the first step of the SSO exchange).

use crate::error::Error;
use crate::secret::AuthorizationCode;

/// What the redirect login URL received from Vercel.
pub struct SsoCallback {
    /// The authorization code (`code`).
    pub code: AuthorizationCode,
    /// The `state` of the initialization request, as received.
    pub state: Option<String>,
}

impl SsoCallback {
    /// Reads `code` and `state` from the redirect login URL's query; a
    /// missing or empty `code`, or a repeated `code` or `state`, is an
    /// error.
    pub fn from_query(query: &str) -> Result<Self, Error> {
        let mut code = None;
        let mut state = None;
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match k.as_ref() {
                "code" => &mut code,
                "state" => &mut state,
                _ => continue,
            };
            if slot.replace(v.into_owned()).is_some() {
                return Err(Error::BadRequest("a parameter is repeated"));
            }
        }
        Ok(Self {
            code: AuthorizationCode::new(code.filter(|c| !c.is_empty()).ok_or(Error::MissingCode)?),
            state: state.filter(|s| !s.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_needs_one_code() {
        assert_eq!(
            SsoCallback::from_query("state=s").err(),
            Some(Error::MissingCode)
        );
        assert!(SsoCallback::from_query("code=a&code=b").is_err());
    }
}
