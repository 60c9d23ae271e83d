//! Encryption of tokens at rest: XChaCha20-Poly1305 with a random 24-byte nonce per value
//! and the owner and field of the value as associated data, so a ciphertext copied onto
//! another seller or column fails to open instead of decrypting to the wrong token.
//!
//! A sealed value is `[version = 1][nonce: 24 bytes][ciphertext + 16-byte tag]`. The key
//! is 32 random bytes, written as 64 hex characters (`openssl rand -hex 32`); only its
//! [`TokenKey::fingerprint`] is ever stored, so a wrong key is reported as such before
//! anything is decrypted.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};

use crate::store::Sealed;

/// Format version of sealed values.
const VERSION: u8 = 1;

/// Bytes of an XChaCha20 nonce.
const NONCE_LEN: usize = 24;

/// Bytes of the Poly1305 tag.
const TAG_LEN: usize = 16;

/// Bytes of a key.
pub const KEY_LEN: usize = 32;

/// A 256-bit key. Never printed; `Debug` shows only its fingerprint.
pub struct TokenKey {
    bytes: SecretBox<[u8; KEY_LEN]>,
}

impl TokenKey {
    /// Reads a key written as 64 hex characters (surrounding whitespace ignored).
    ///
    /// # Errors
    /// A message saying what is wrong with the text, never quoting it.
    pub fn from_hex(text: &str) -> Result<TokenKey, String> {
        let text = text.trim();
        if text.len() != KEY_LEN * 2 {
            return Err(format!(
                "expected {} hex characters (32 random bytes, e.g. from `openssl rand -hex \
                 32`), got {}",
                KEY_LEN * 2,
                text.len()
            ));
        }
        let mut bytes = [0u8; KEY_LEN];
        hex::decode_to_slice(text, &mut bytes)
            .map_err(|_| "expected only hex characters (0-9, a-f)".to_owned())?;
        Ok(TokenKey {
            bytes: SecretBox::new(Box::new(bytes)),
        })
    }

    /// A fresh random key.
    pub fn generate() -> TokenKey {
        let mut bytes = [0u8; KEY_LEN];
        rand::rng().fill_bytes(&mut bytes);
        TokenKey {
            bytes: SecretBox::new(Box::new(bytes)),
        }
    }

    /// The key as 64 hex characters, for the local key file.
    pub fn to_hex(&self) -> SecretString {
        SecretString::from(hex::encode(self.bytes.expose_secret()))
    }

    /// 16 hex characters naming the key: a domain-separated SHA-256 of it, which reveals
    /// nothing usable about a random 256-bit key.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"meli-stock key fingerprint v1\0");
        hasher.update(self.bytes.expose_secret());
        hex::encode(&hasher.finalize()[..8])
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenKey({})", self.fingerprint())
    }
}

/// Why a sealed value could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    #[error("the stored {what} is not a value meli-stock sealed (bad length or version)")]
    Malformed { what: String },
    #[error(
        "the stored {what} cannot be decrypted: it was sealed with another key, for another \
         record, or altered"
    )]
    Rejected { what: String },
}

/// Seals and opens tokens with one key.
pub struct TokenCipher {
    aead: XChaCha20Poly1305,
    fingerprint: String,
}

impl fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenCipher({})", self.fingerprint)
    }
}

impl TokenCipher {
    /// A cipher using `key`.
    pub fn new(key: &TokenKey) -> TokenCipher {
        TokenCipher {
            aead: XChaCha20Poly1305::new(key.bytes.expose_secret().into()),
            fingerprint: key.fingerprint(),
        }
    }

    /// The fingerprint of the key in use.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Encrypts `plaintext` bound to `context` (see [`token_context`]).
    pub fn seal(&self, context: &str, plaintext: &SecretString) -> Sealed {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext.expose_secret().as_bytes(),
            aad: context.as_bytes(),
        };
        // Encryption fails only for messages beyond the cipher's 256 GiB limit.
        let ciphertext = self
            .aead
            .encrypt(XNonce::from_slice(&nonce), payload)
            .unwrap_or_default();

        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Sealed(out)
    }

    /// Decrypts a value sealed with `context`. `what` names it in errors ("refresh token
    /// of seller 1").
    ///
    /// # Errors
    /// [`CipherError::Malformed`] for bytes that are no sealed value,
    /// [`CipherError::Rejected`] for a wrong key, context or altered bytes.
    pub fn open(
        &self,
        context: &str,
        sealed: &Sealed,
        what: &str,
    ) -> Result<SecretString, CipherError> {
        let bytes = &sealed.0;
        if bytes.len() < 1 + NONCE_LEN + TAG_LEN || bytes[0] != VERSION {
            return Err(CipherError::Malformed { what: what.into() });
        }
        let (nonce, ciphertext) = bytes[1..].split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: context.as_bytes(),
        };
        let rejected = || CipherError::Rejected { what: what.into() };

        let plain = self
            .aead
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| rejected())?;
        let text = String::from_utf8(plain).map_err(|_| rejected())?;
        Ok(SecretString::from(text))
    }
}

/// The associated data of a seller's token field (`access_token`, `refresh_token`).
pub fn token_context(seller_id: u64, field: &str) -> String {
    format!("meli-stock/v1/seller/{seller_id}/{field}")
}

/// The associated data of a pending authorization's PKCE verifier.
pub fn verifier_context(state: &str) -> String {
    format!("meli-stock/v1/pending/{state}/verifier")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn cipher(key: &str) -> TokenCipher {
        TokenCipher::new(&TokenKey::from_hex(key).unwrap())
    }

    #[test]
    fn a_sealed_token_opens_to_itself_and_hides_the_plaintext() {
        let cipher = cipher(KEY);
        let token = SecretString::from("TG-0123456789abcdef-42");
        let context = token_context(42, "refresh_token");

        let sealed = cipher.seal(&context, &token);
        let opened = cipher.open(&context, &sealed, "refresh token").unwrap();

        assert_eq!(opened.expose_secret(), token.expose_secret());
        assert_eq!(
            sealed.0.len(),
            1 + NONCE_LEN + token.expose_secret().len() + TAG_LEN
        );
        let raw = String::from_utf8_lossy(&sealed.0);
        assert!(!raw.contains("TG-"), "{raw}");
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let cipher = cipher(KEY);
        let token = SecretString::from("APP_USR-1-010203-abcdef-42");

        let first = cipher.seal("ctx", &token);
        let second = cipher.seal("ctx", &token);

        assert_ne!(first, second);
    }

    #[test]
    fn a_wrong_key_is_rejected() {
        let sealed = cipher(KEY).seal("ctx", &SecretString::from("secret"));
        let other = cipher(&KEY.replace("00", "ff"));

        let err = other.open("ctx", &sealed, "access token").unwrap_err();

        assert!(matches!(err, CipherError::Rejected { .. }), "{err}");
        assert!(err.to_string().contains("access token"), "{err}");
    }

    #[test]
    fn tampered_ciphertext_is_rejected() {
        let cipher = cipher(KEY);
        let mut sealed = cipher.seal("ctx", &SecretString::from("secret"));
        let last = sealed.0.len() - 1;
        sealed.0[last] ^= 0x01;

        let err = cipher.open("ctx", &sealed, "token").unwrap_err();

        assert!(matches!(err, CipherError::Rejected { .. }));
    }

    #[test]
    fn another_sellers_or_fields_associated_data_is_rejected() {
        let cipher = cipher(KEY);
        let sealed = cipher.seal(
            &token_context(1, "refresh_token"),
            &SecretString::from("secret"),
        );

        let other_seller = cipher.open(&token_context(2, "refresh_token"), &sealed, "t");
        let other_field = cipher.open(&token_context(1, "access_token"), &sealed, "t");

        assert!(matches!(other_seller, Err(CipherError::Rejected { .. })));
        assert!(matches!(other_field, Err(CipherError::Rejected { .. })));
    }

    #[test]
    fn truncated_or_unversioned_bytes_are_malformed() {
        let cipher = cipher(KEY);
        let mut sealed = cipher.seal("ctx", &SecretString::from("secret"));
        sealed.0[0] = 9;

        let short = cipher.open("ctx", &Sealed(vec![VERSION; 10]), "t");
        let unversioned = cipher.open("ctx", &sealed, "t");

        assert!(matches!(short, Err(CipherError::Malformed { .. })));
        assert!(matches!(unversioned, Err(CipherError::Malformed { .. })));
    }

    #[test]
    fn keys_parse_only_from_64_hex_characters_and_never_print() {
        assert!(TokenKey::from_hex(&KEY[..62]).is_err());
        assert!(TokenKey::from_hex(&KEY.replace('0', "z")).is_err());
        let key = TokenKey::from_hex(&format!("  {KEY}\n")).unwrap();

        assert_eq!(key.to_hex().expose_secret(), KEY);
        assert_eq!(key.fingerprint().len(), 16);
        assert_ne!(key.fingerprint(), TokenKey::generate().fingerprint());
        assert!(!format!("{key:?}").contains(KEY));
        let err = TokenKey::from_hex(&KEY.replace('0', "z")).unwrap_err();
        assert!(!err.contains("zz"), "{err}");
    }
}
