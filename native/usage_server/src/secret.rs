//! Comparing secrets (stream API secrets, the read token) in constant time: both sides are
//! hashed first, so neither their contents nor their lengths show in the timing.

use sha2::{Digest, Sha256};

/// Whether `given` is `expected`.
pub fn same(given: &[u8], expected: &[u8]) -> bool {
    let (given, expected) = (Sha256::digest(given), Sha256::digest(expected));
    given.iter().zip(expected.iter()).fold(0u8, |differ, (a, b)| differ | (a ^ b)) == 0
}

/// The SHA-256 of `text`, in lowercase hex.
pub fn sha256_hex(text: &[u8]) -> String {
    Sha256::digest(text).iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_only_when_identical() {
        assert!(same(b"s3cret", b"s3cret"));
        assert!(!same(b"s3cret", b"s3cre"));
        assert!(!same(b"", b"x"));
        assert_eq!(sha256_hex(b"").len(), 64);
    }
}
