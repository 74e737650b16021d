//! argon2id password hashing, run off the async runtime (it is deliberately slow).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::AccountsError;

/// Shortest password accepted.
pub(crate) const MIN_PASSWORD_CHARS: usize = 10;
/// The longest password taken (at most 1,024 bytes for the hash to read, in any script).
pub(crate) const MAX_PASSWORD_CHARS: usize = 256;

/// Checks a new password for `email`: long enough, not absurdly long, and not trivially
/// guessable (a well-known leaked password, one character repeated, or the email or its name
/// part).
pub(crate) fn validate(password: &str, email: &str) -> Result<(), AccountsError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountsError::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(AccountsError::invalid(
            "password",
            format!("must be at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    let lower = password.trim().to_lowercase();
    let email = email.trim().to_lowercase();
    let name = email.split('@').next().unwrap_or_default();
    let mut chars = lower.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err(AccountsError::invalid(
            "password",
            "is one character repeated; choose one that is hard to guess",
        ));
    }
    if lower == email
        || (!name.is_empty() && (lower == name || lower.starts_with(&format!("{name}@"))))
    {
        return Err(AccountsError::invalid(
            "password",
            "must not be the email address; choose one that is hard to guess",
        ));
    }
    if is_common(&lower) {
        return Err(AccountsError::invalid(
            "password",
            "is one of the most common passwords; choose one that is hard to guess",
        ));
    }
    Ok(())
}

/// Whether `lowercase` is on the embedded list of leaked passwords.
fn is_common(lowercase: &str) -> bool {
    static LIST: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("common_passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
    .contains(lowercase)
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

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn trivial_and_common_passwords_are_refused() {
        for (password, email) in [
            ("aaaaaaaaaaaa", "kim@shop.kr"),
            ("1234567890", "kim@shop.kr"),
            ("Password123", "kim@shop.kr"),
            ("QWERTYUIOP", "kim@shop.kr"),
            ("kim.minsu@shop.kr", "Kim.Minsu@shop.kr"),
            ("kim.minsu.", "kim.minsu.@shop.kr"),
            ("short", "kim@shop.kr"),
        ] {
            assert!(validate(password, email).is_err(), "{password}");
        }
        // At most 256 characters, in any script (1,024 bytes at most for the hash).
        for (password, email) in [
            (&*"가나다라마바사아자".repeat(29), "kim@shop.kr"),
            (&*"correct horse battery ".repeat(12), "kim@shop.kr"),
        ] {
            assert!(validate(password, email).is_err(), "{password}");
        }
        for (password, email) in [
            ("correct horse battery", "kim@shop.kr"),
            ("adpool-demo-2026", "admin@demo.adpool.kr"),
            ("봄날옷가게-매출-2026", "kim@shop.kr"),
        ] {
            assert!(validate(password, email).is_ok(), "{password}");
        }
    }
}
