//! Secrets: encryption at rest (AES-256-GCM), API token hashing, password hashing (argon2id),
//! random tokens and constant-time comparison.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Encrypts and decrypts secrets stored in PostgreSQL (access tokens, app secrets).
///
/// The key is SHA-256 over a domain label and `SECRET_KEY_BASE`. Ciphertexts are
/// `v1:` + base64(12-byte random nonce ‖ AES-256-GCM ciphertext and tag).
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

/// A ciphertext that does not decrypt with this `SECRET_KEY_BASE`.
#[derive(Debug, thiserror::Error)]
#[error("stored secret cannot be decrypted (was SECRET_KEY_BASE changed?)")]
pub struct DecryptError;

impl SecretBox {
    /// Derives the key from `secret_key_base`.
    pub fn new(secret_key_base: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"switchboard/encryption-at-rest/v1\0");
        hasher.update(secret_key_base.as_bytes());
        let key = hasher.finalize();
        SecretBox {
            cipher: Aes256Gcm::new_from_slice(&key).expect("32-byte key"),
        }
    }

    /// Encrypts `plaintext` with a fresh random nonce.
    pub fn encrypt(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("AES-GCM encryption cannot fail for in-memory input");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("v1:{}", B64.encode(out))
    }

    /// Decrypts a value made by [`SecretBox::encrypt`].
    pub fn decrypt(&self, stored: &str) -> Result<String, DecryptError> {
        let raw = stored
            .strip_prefix("v1:")
            .and_then(|b| B64.decode(b).ok())
            .ok_or(DecryptError)?;
        if raw.len() < 12 {
            return Err(DecryptError);
        }
        let (nonce, sealed) = raw.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| DecryptError)?;
        String::from_utf8(plain).map_err(|_| DecryptError)
    }
}

/// `n` random bytes as lowercase hex (2n characters).
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A new webhook verify token: 32 lowercase hex characters.
pub fn new_verify_token() -> String {
    random_hex(16)
}

/// A new `api_access_token`: 48 hex characters (192 bits).
pub fn new_api_token() -> String {
    random_hex(24)
}

/// SHA-256 hex of a token; what the `users` table stores instead of the token.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time equality of two byte strings (length is not secret).
pub fn secure_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> String {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing")
        .to_string()
}

/// Checks a password against an argon2 PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc)
        .map(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Shows only the last 4 characters of a secret: `"••••abcd"`.
pub fn mask(secret: &str) -> String {
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if secret.chars().count() <= 8 {
        "••••".into()
    } else {
        format!("••••{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let b = SecretBox::new("k".repeat(40).as_str());
        let c = b.encrypt("EAAG-secret");
        assert!(!c.contains("EAAG"));
        assert_eq!(b.decrypt(&c).unwrap(), "EAAG-secret");
        assert!(SecretBox::new(&"x".repeat(40)).decrypt(&c).is_err());
        assert!(b.decrypt("v1:AAAA").is_err());
    }

    #[test]
    fn tokens_and_passwords() {
        let t = new_verify_token();
        assert_eq!(t.len(), 32);
        assert!(t
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        let h = hash_password("hunter2!");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("hunter2!", &h));
        assert!(!verify_password("nope", &h));
        assert_eq!(mask("EAAGabcdefgh1234"), "••••1234");
        assert!(secure_eq(b"abc", b"abc") && !secure_eq(b"abc", b"abd"));
    }
}
