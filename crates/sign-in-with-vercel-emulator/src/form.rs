//! Form bodies and queries (`application/x-www-form-urlencoded`) as the
//! endpoints read them: a parameter given twice is refused.

use std::collections::HashMap;

/// Parameters of a form body or query, refusing repeats.
pub(crate) fn form_params(bytes: &[u8]) -> Result<HashMap<String, String>, &'static str> {
    let mut params = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(bytes) {
        if params.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err("a parameter is repeated");
        }
    }
    Ok(params)
}
