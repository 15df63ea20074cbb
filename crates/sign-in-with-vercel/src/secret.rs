//! Secret values as newtypes that never print themselves.
//!
//! Every credential the relying party handles (client secret, `state`,
//! `nonce`, PKCE verifier, authorization code, tokens) is wrapped so that a
//! stray `{:?}` in a log line prints `Name([redacted])` instead of the value.
//! None of them implements `Display`; reading the value takes an explicit
//! [`secret()`](ClientSecret::secret) call that a reviewer can grep for.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use subtle::ConstantTimeEq as _;

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        ///
        /// Compared only in constant time ([`Self::ct_eq`]); no `Display`,
        /// a redacted `Debug`.
        pub struct $name(String);

        impl $name {
            /// Wraps a value received from the outside (a cookie, a response).
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret value itself. Callers must not log it.
            pub fn secret(&self) -> &str {
                &self.0
            }

            /// Compares with `other` in time independent of where they differ.
            pub fn ct_eq(&self, other: &str) -> bool {
                ct_eq(&self.0, other)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_type!(
    /// The client secret issued with the app (RFC 6749 §2.3.1).
    ClientSecret
);

/// The configuration holding it is cloned; no other secret is.
impl Clone for ClientSecret {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

secret_type!(
    /// The opaque `state` value binding the callback to this browser (RFC 6749 §10.12).
    State
);
secret_type!(
    /// The `nonce` binding the ID token to this sign-in (OpenID Connect Core §3.1.2.1).
    Nonce
);
secret_type!(
    /// The PKCE `code_verifier` (RFC 7636 §4.1).
    CodeVerifier
);
secret_type!(
    /// The authorization `code` from the callback (RFC 6749 §4.1.2).
    AuthorizationCode
);
secret_type!(
    /// A bearer access token (RFC 6750).
    AccessToken
);
secret_type!(
    /// A refresh token (RFC 6749 §1.5); single-use at Vercel.
    RefreshToken
);
secret_type!(
    /// A compact-serialised ID token (OpenID Connect Core §2).
    IdToken
);
secret_type!(
    /// A token created with Vercel's `POST /v3/user/tokens` (its
    /// `bearerToken`): given once, in the create response, never again.
    BearerToken
);

/// 32 bytes from the operating system's CSPRNG, base64url without padding:
/// 43 characters from the unreserved set, with no modulo bias because every
/// bit of every byte is used.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Several [`random_token`]s from one read of the OS CSPRNG.
pub fn random_tokens<const N: usize>() -> [String; N] {
    let mut bytes = [[0u8; 32]; N];
    rand::rngs::OsRng.fill_bytes(bytes.as_flattened_mut());
    bytes.map(|b| URL_SAFE_NO_PAD.encode(b))
}

/// Constant-time string equality; the length is not secret.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Whether `s` is a token as [`random_token`] makes them: 43 base64url characters.
pub(crate) fn is_random_token(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_of_every_secret_is_redacted() {
        let printed = format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            ClientSecret::new("s3cr3t-client"),
            State::new("s3cr3t-state"),
            Nonce::new("s3cr3t-nonce"),
            CodeVerifier::new("s3cr3t-verifier"),
            AuthorizationCode::new("s3cr3t-code"),
            AccessToken::new("s3cr3t-access"),
            RefreshToken::new("s3cr3t-refresh"),
            IdToken::new("s3cr3t-id"),
        );
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert!(printed.contains("ClientSecret([redacted])"));
        assert!(printed.contains("IdToken([redacted])"));
    }

    #[test]
    fn random_tokens_are_43_url_safe_characters_and_differ() {
        let a = random_token();
        let b = random_token();
        assert!(is_random_token(&a) && is_random_token(&b));
        assert_ne!(a, b);
    }

    #[test]
    fn tokens_drawn_together_are_distinct() {
        let [a, b, c] = random_tokens();
        assert!(is_random_token(&a) && is_random_token(&b) && is_random_token(&c));
        assert!(a != b && b != c && a != c);
    }

    #[test]
    fn constant_time_equality_is_equality() {
        assert!(ct_eq("abc", "abc"));
        assert!(!ct_eq("abc", "abd"));
        assert!(!ct_eq("abc", "abcd"));
        assert!(State::new("x").ct_eq("x"));
    }

    /// Only 43 base64url characters (RFC 4648 §5, unpadded) pass for a
    /// drawn token: `-` and `_` included, any other length or byte not.
    #[test]
    fn only_43_base64url_characters_are_a_random_token() {
        let token = |s: &str| format!("{s:a<43}");
        assert!(is_random_token(&token("-_-_")));
        assert!(is_random_token(&token("_")));
        assert!(is_random_token(&token("Z9")));
        for not_a_token in [
            "a".repeat(42),
            "a".repeat(44),
            String::new(),
            token("+"),
            token("/"),
            token("="),
            token(" "),
            token("."),
        ] {
            assert!(!is_random_token(&not_a_token), "{not_a_token:?}");
        }
    }
}
