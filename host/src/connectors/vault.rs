//! Keys stored through the API, encrypted at rest with AES-256-GCM. The master key comes
//! from `TRADEHOST_MASTER_KEY` (64 hex digits or base64 of 32 bytes); without it the host
//! refuses to store keys rather than keep them in clear. Each sealed value is
//! `nonce (12 random bytes) || ciphertext+tag`, with the connection id as associated
//! data so a sealed value copied to another row does not open.

use super::Credentials;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use std::fmt;

/// The environment variable holding the master key.
pub const MASTER_KEY_VAR: &str = "TRADEHOST_MASTER_KEY";

/// Why keys could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// The master key is not 32 bytes in hex or base64.
    #[error("{MASTER_KEY_VAR} must be 32 bytes as 64 hex digits or base64 (e.g. `openssl rand -hex 32`)")]
    BadMasterKey,
    /// Wrong master key, wrong connection, or tampered data.
    #[error("stored keys cannot be decrypted (wrong {MASTER_KEY_VAR}, or the data was altered)")]
    Undecryptable,
    /// No randomness for a nonce.
    #[error("no randomness available for a nonce")]
    NoRandomness,
}

/// Seals and opens credentials.
pub struct Vault {
    cipher: Aes256Gcm,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Vault(***)")
    }
}

impl Vault {
    /// A vault from the master key's text (hex or base64 of 32 bytes).
    pub fn from_master_key(text: &str) -> Result<Vault, VaultError> {
        let text = text.trim();
        let bytes = match hex::decode(text) {
            Ok(b) => b,
            Err(_) => base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| VaultError::BadMasterKey)?,
        };
        if bytes.len() != 32 {
            return Err(VaultError::BadMasterKey);
        }
        Ok(Vault { cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)) })
    }

    /// The vault of `TRADEHOST_MASTER_KEY`, None when it is not set.
    pub fn from_env() -> Result<Option<Vault>, VaultError> {
        match std::env::var(MASTER_KEY_VAR) {
            Ok(v) if !v.trim().is_empty() => Vault::from_master_key(&v).map(Some),
            _ => Ok(None),
        }
    }

    /// Encrypt `creds`, bound to `id`.
    pub fn seal(&self, id: &str, creds: &Credentials) -> Result<Vec<u8>, VaultError> {
        let plain = serde_json::json!({
            "k": creds.api_key.expose(),
            "s": creds.secret.expose(),
            "p": creds.passphrase.as_ref().map(|p| p.expose()),
        })
        .to_string();
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|_| VaultError::NoRandomness)?;
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain.as_bytes(), aad: id.as_bytes() })
            .map_err(|_| VaultError::Undecryptable)?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(out)
    }

    /// Decrypt what `seal(id, ..)` made.
    pub fn open(&self, id: &str, sealed: &[u8]) -> Result<Credentials, VaultError> {
        if sealed.len() < 12 + 16 {
            return Err(VaultError::Undecryptable);
        }
        let (nonce, body) = sealed.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: id.as_bytes() })
            .map_err(|_| VaultError::Undecryptable)?;
        let v: serde_json::Value = serde_json::from_slice(&plain).map_err(|_| VaultError::Undecryptable)?;
        let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        Ok(Credentials::new(
            field("k").ok_or(VaultError::Undecryptable)?,
            field("s").ok_or(VaultError::Undecryptable)?,
            field("p"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn seals_opens_and_refuses_tampering_and_other_rows() {
        let v = Vault::from_master_key(KEY).unwrap();
        let creds = Credentials::new("my-key", "my-very-secret", Some("pass".into()));
        let sealed = v.seal("conn-1", &creds).unwrap();
        let text = String::from_utf8_lossy(&sealed);
        assert!(!text.contains("my-very-secret") && !text.contains("my-key"), "ciphertext shows the plaintext");
        assert_eq!(v.open("conn-1", &sealed).unwrap(), creds);
        assert_ne!(v.seal("conn-1", &creds).unwrap(), sealed, "a fresh nonce every time");
        assert_eq!(v.open("conn-2", &sealed), Err(VaultError::Undecryptable), "bound to its row");
        let mut bad = sealed.clone();
        bad[20] ^= 1;
        assert_eq!(v.open("conn-1", &bad), Err(VaultError::Undecryptable));
        let other = Vault::from_master_key(&KEY.replace("1f", "20")).unwrap();
        assert_eq!(other.open("conn-1", &sealed), Err(VaultError::Undecryptable));
    }

    #[test]
    fn master_key_must_be_32_bytes() {
        assert!(Vault::from_master_key("abcd").is_err());
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(Vault::from_master_key(&b64).is_ok());
        assert_eq!(format!("{:?}", Vault::from_master_key(KEY).unwrap()), "Vault(***)");
    }
}
