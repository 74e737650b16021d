//! argon2id password hashing, run off the async runtime (it is deliberately slow).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::AccountsError;

/// Shortest password accepted.
pub(crate) const MIN_PASSWORD_CHARS: usize = 10;

pub(crate) fn validate(password: &str) -> Result<(), AccountsError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountsError::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > 1024 {
        return Err(AccountsError::invalid(
            "password",
            "must be at most 1024 bytes",
        ));
    }
    Ok(())
}

/// Hashes with argon2id and a fresh salt (PHC string).
pub(crate) async fn hash(password: String) -> Result<String, AccountsError> {
    tokio::task::spawn_blocking(move || {
        let mut salt_bytes = [0u8; 16];
        getrandom::fill(&mut salt_bytes).map_err(|e| AccountsError::Hashing(e.to_string()))?;
        let salt = SaltString::encode_b64(&salt_bytes)
            .map_err(|e| AccountsError::Hashing(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AccountsError::Hashing(e.to_string()))
    })
    .await
    .map_err(|e| AccountsError::Hashing(e.to_string()))?
}

/// True when `password` matches the PHC string `stored`.
pub(crate) async fn verify(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// A valid hash of a random password, verified against when an email is unknown so that a
/// failed login takes as long whether or not the account exists.
pub(crate) async fn decoy_hash() -> &'static str {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY
        .get_or_init(|| async {
            hash(crate::secrets::random_hex(16))
                .await
                .unwrap_or_default()
        })
        .await
}
