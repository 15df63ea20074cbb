//! What the fuzz target and the seed writer share: the app's settings and
//! the instant its clock stands still at.

/// The fuzzed app's clock: 2026-12-01T00:00:00Z.
pub const NOW: i64 = 1_796_083_200;

/// The fuzzed app's settings (Vercel as the issuer, a confidential client).
pub fn lookup(name: &str) -> Option<String> {
    match name {
        "VERCEL_APP_CLIENT_ID" => Some("cl_fuzz"),
        "VERCEL_APP_CLIENT_SECRET" => Some("fuzz-client-secret-0123456789abcdef"),
        "AUTH_SECRET" => Some("fuzz-auth-secret-0123456789abcdef0123456789"),
        _ => None,
    }
    .map(str::to_owned)
}
