//! The parts of an incoming request the routes read, and strict query parsing.

use std::collections::HashMap;

use url::form_urlencoded;

use crate::error::Error;

/// Longest query string a route accepts; it bounds each value too. An
/// authorization code has no maximum length (RFC 6749 §4.1.2), and some
/// providers' pass 2 KiB (Azure AD B2C's, about 2,400 characters); each
/// value of ours is bounded where it is read (`next` to 1,024 characters,
/// `state` to its own form).
const MAX_QUERY: usize = 8 * 1024;

/// Reads the parameters `wanted` from a query string. A parameter that
/// appears twice is refused (RFC 6749 §3.1: "MUST NOT be included more than
/// once"), as are queries over 8 KiB and values that are not valid UTF-8
/// after percent-decoding. Other parameters are ignored.
pub fn query_params<'a>(
    query: Option<&str>,
    wanted: &[&'a str],
) -> Result<HashMap<&'a str, String>, Error> {
    let query = query.unwrap_or("");
    if query.len() > MAX_QUERY {
        return Err(Error::BadRequest("query string too long"));
    }
    let mut found = HashMap::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let Some(name) = wanted.iter().find(|w| **w == key) else {
            continue;
        };
        if value.contains('\u{FFFD}') {
            return Err(Error::BadRequest("parameter is not valid UTF-8"));
        }
        if found.insert(*name, value.into_owned()).is_some() {
            return Err(Error::BadRequest("repeated parameter"));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wanted_parameters_are_decoded() {
        let p = query_params(Some("code=a%20b&state=s&other=x"), &["code", "state"]).unwrap();
        assert_eq!(p["code"], "a b");
        assert_eq!(p["state"], "s");
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(query_params(Some("state=a&state=b"), &["state"]).is_err());
        assert!(query_params(Some("other=a&other=b"), &["state"]).is_ok());
    }

    #[test]
    fn huge_and_invalid_values_are_refused() {
        assert!(query_params(Some(&"a".repeat(MAX_QUERY + 1)), &["code"]).is_err());
        assert!(query_params(Some("code=%FF%FE"), &["code"]).is_err());
    }

    /// The cap is 8 KiB of query: accepted in full, one byte more refused.
    /// A value may take nearly all of it: an Azure AD B2C authorization
    /// code is about 2,400 characters, and RFC 6749 sets no maximum.
    #[test]
    fn a_query_of_8_kib_is_accepted_and_a_code_may_take_most_of_it() {
        let value = "a".repeat(2 * 1024);
        let mut query = format!("code={value}&pad=");
        query.push_str(&"p".repeat(8 * 1024 - query.len()));
        let p = query_params(Some(&query), &["code"]).unwrap();
        assert_eq!(p["code"], value);
        assert!(query_params(Some(&format!("{query}p")), &["code"]).is_err());
        let long = "c".repeat(8 * 1024 - "code=".len());
        let p = query_params(Some(&format!("code={long}")), &["code"]).unwrap();
        assert_eq!(p["code"], long);
    }

    #[test]
    fn no_query_has_no_parameters() {
        assert!(query_params(None, &["code"]).unwrap().is_empty());
    }
}
