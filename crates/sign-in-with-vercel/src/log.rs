//! Log lines on standard error, which Vercel collects per invocation.
//!
//! Callers pass reasons and codes, never a token, code, verifier or secret:
//! the secret newtypes have no `Display`, so they cannot be formatted here
//! by accident.

/// Something went wrong that an operator should look at.
pub fn error(message: &str) {
    eprintln!("sign-in-with-vercel error: {message}");
}

/// A request was refused or a provider call failed in an expected way.
pub fn warn(message: &str) {
    eprintln!("sign-in-with-vercel warn: {message}");
}
