//! Credentials at rest: AES-256-GCM with a random 96-bit nonce per sealing, and the store's
//! identity as associated data, so a sealed value moved to another store's row does not open.
//!
//! The key comes from configuration (64 hex characters) or, in embedded mode, from a key file
//! in the data folder created with mode 0600 on first use. Shop credentials (commerce) and the
//! per-organization S3 credentials of log sources (logs) are sealed with it.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Why a key could not be loaded or a sealed value not opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct VaultError(pub String);

/// Seals and opens secrets. `Debug` never shows the key.
#[derive(Clone)]
pub struct Vault {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(AES-256-GCM, key hidden)")
    }
}

impl Vault {
    /// A vault with a 32-byte key.
    pub fn new(key: [u8; 32]) -> Vault {
        Vault {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)),
        }
    }

    /// A vault from 64 hex characters.
    pub fn from_hex(text: &str) -> Result<Vault, VaultError> {
        let invalid = || VaultError("the key must be 64 hex characters (32 bytes)".into());
        let bytes = hex::decode(text.trim()).map_err(|_| invalid())?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| invalid())?;
        Ok(Vault::new(key))
    }

    /// The key in `path`, created (random, mode 0600) when the file does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<Vault, VaultError> {
        let io = |e: std::io::Error| VaultError(format!("{}: {e}", path.display()));
        match std::fs::read_to_string(path) {
            Ok(text) => Vault::from_hex(&text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|e| VaultError(e.to_string()))?;
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(io)?;
                }
                write_private(path, &hex::encode(key)).map_err(io)?;
                Ok(Vault::new(key))
            }
            Err(error) => Err(io(error)),
        }
    }

    /// Seals `plaintext` for `context` (the owner's identity): base64 of nonce and ciphertext.
    pub fn seal(&self, context: &str, plaintext: &str) -> String {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the operating system's random source");
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        STANDARD.encode(out)
    }

    /// Opens what [`Vault::seal`] sealed for the same `context`.
    pub fn open(&self, context: &str, sealed: &str) -> Result<String, VaultError> {
        let bytes = STANDARD
            .decode(sealed.trim())
            .map_err(|_| VaultError("not a sealed value".into()))?;
        if bytes.len() < 12 + 16 {
            return Err(VaultError("too short to be a sealed value".into()));
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError("wrong key, or the value was altered".into()))?;
        String::from_utf8(plain).map_err(|_| VaultError("not text".into()))
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test helpers fail loudly

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/commerce.key");
        let first = Vault::load_or_create(&path).unwrap();
        let sealed = first.seal("store:1", "secret");
        let again = Vault::load_or_create(&path).unwrap();
        assert_eq!(again.open("store:1", &sealed).unwrap(), "secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{first:?}").contains(&std::fs::read_to_string(&path).unwrap()));
        assert!(Vault::from_hex("abc").is_err());
    }

    proptest! {
        #[test]
        fn sealed_values_open_only_with_the_same_key_and_context(text in ".{0,64}", flip in 0usize..64) {
            let vault = Vault::new([7; 32]);
            let sealed = vault.seal("store:1", &text);
            prop_assert_eq!(vault.open("store:1", &sealed).unwrap(), text.clone());
            prop_assert!(!sealed.contains(&text) || text.len() < 4);
            prop_assert!(vault.open("store:2", &sealed).is_err());
            prop_assert!(Vault::new([8; 32]).open("store:1", &sealed).is_err());
            let mut bytes = STANDARD.decode(&sealed).unwrap();
            let i = flip % bytes.len();
            bytes[i] ^= 1;
            prop_assert!(vault.open("store:1", &STANDARD.encode(bytes)).is_err());
        }
    }
}
