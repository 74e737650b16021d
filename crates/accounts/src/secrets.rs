//! Random secrets and their stored digests.

use sha2::{Digest, Sha256};

/// `bytes` random bytes as lowercase hex.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).expect("the operating system's random source");
    hex::encode(buffer)
}

/// The digest stored instead of a session or API token. Tokens carry 256 random bits, so a fast
/// hash is enough (no dictionary to guard against) and keeps every request cheap.
pub(crate) fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
