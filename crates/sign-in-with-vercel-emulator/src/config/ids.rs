//! Hexadecimal identifiers: the check Vercel's account and user IDs pass
//! (its `sub` pattern `account:[0-9a-fA-F]+:user:[0-9a-fA-F]+`), bytes in
//! lowercase hexadecimal, and the stable, opaque identifiers the emulator
//! derives from a SHA-256 of what it must not show.

pub(super) fn is_hex(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first `digits` hexadecimal digits (at most 64) of the SHA-256 of
/// `data`: the stable, opaque identifiers the emulator derives from
/// something it must not show (token IDs, avatar IDs, installation and
/// marketplace user IDs).
pub(crate) fn sha256_hex(data: &[u8], digits: usize) -> String {
    let mut out = hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
    out.truncate(digits);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_hex_is_the_digest_in_lowercase_hex_cut_to_length() {
        // FIPS 180-2, Appendix B.1: SHA-256("abc").
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_hex(b"abc", 64), abc);
        assert_eq!(sha256_hex(b"abc", 24), abc[..24]);
    }
}
