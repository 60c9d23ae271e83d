//! The authorization link per site, PKCE pairs and token fingerprints for logs.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use url::Url;

use crate::error::Error;

/// Random bytes in a verifier; base64url makes them 64 characters (RFC 7636 allows 43-128).
const VERIFIER_BYTES: usize = 48;

/// A PKCE pair with the S256 method: send `challenge` in the authorization URL and keep
/// `verifier` for the code exchange.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkce {
    /// The secret half, sent only to the token endpoint.
    pub verifier: String,
    /// `BASE64URL(SHA256(verifier))` without padding.
    pub challenge: String,
}

impl Pkce {
    /// A fresh random verifier and its S256 challenge.
    pub fn generate() -> Self {
        let mut bytes = [0u8; VERIFIER_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self::from_verifier(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The pair for a known verifier (a stored one, or a test vector).
    pub fn from_verifier(verifier: String) -> Self {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

impl fmt::Debug for Pkce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkce")
            .field("verifier", &"[redacted]")
            .field("challenge", &self.challenge)
            .finish()
    }
}

/// The authorization host of a site (doc §8), or `None` for a site without a known host.
pub fn auth_host(site: &str) -> Option<&'static str> {
    let host = match site.to_ascii_uppercase().as_str() {
        "MLA" => "auth.mercadolibre.com.ar",
        "MLB" => "auth.mercadolivre.com.br",
        "MLM" => "auth.mercadolibre.com.mx",
        "MLC" => "auth.mercadolibre.cl",
        "MCO" => "auth.mercadolibre.com.co",
        "MLU" => "auth.mercadolibre.com.uy",
        "MPE" => "auth.mercadolibre.com.pe",
        _ => return None,
    };
    Some(host)
}

/// The URL a seller opens to grant access: `https://<auth-host>/authorization` with
/// `response_type=code`, `client_id`, `redirect_uri` (must equal the registered one),
/// `state`, and the S256 challenge when `pkce` is given.
///
/// # Errors
/// [`Error::Config`] for a site without a known authorization host or empty arguments.
pub fn authorization_url(
    site: &str,
    app_id: &str,
    redirect_uri: &str,
    state: &str,
    pkce: Option<&Pkce>,
) -> Result<Url, Error> {
    let host = auth_host(site).ok_or_else(|| {
        Error::Config(format!("no authorization host is known for site {site:?}"))
    })?;
    if app_id.trim().is_empty() {
        return Err(Error::Config(
            "app id for the authorization url is empty".into(),
        ));
    }
    Url::parse(redirect_uri)
        .map_err(|e| Error::Config(format!("redirect uri {redirect_uri:?} is not a url: {e}")))?;

    let mut url = Url::parse(&format!("https://{host}/authorization"))
        .map_err(|e| Error::Config(format!("authorization url for {site} is invalid: {e}")))?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", app_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state);
        if let Some(pkce) = pkce {
            query
                .append_pair("code_challenge", &pkce.challenge)
                .append_pair("code_challenge_method", "S256");
        }
    }
    Ok(url)
}

/// A short, stable, non-reversible name for a token (first 12 hex digits of its SHA-256),
/// so logs can tell tokens apart without holding them.
pub fn token_fingerprint(token: &SecretString) -> String {
    let digest = Sha256::digest(token.expose_secret().as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn pkce_matches_the_rfc_7636_test_vector() {
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());

        assert_eq!(
            pkce.challenge,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn generated_verifier_is_within_length_and_alphabet() {
        let pkce = Pkce::generate();

        assert!((43..=128).contains(&pkce.verifier.len()));
        assert!(
            pkce.verifier
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
        );
        assert!(!pkce.challenge.contains('='));
        assert_ne!(Pkce::generate().verifier, pkce.verifier);
        assert!(!format!("{pkce:?}").contains(&pkce.verifier));
    }

    #[test]
    fn fingerprint_is_short_and_stable() {
        let token = SecretString::from("APP_USR-1-2-3");

        assert_eq!(token_fingerprint(&token).len(), 12);
        assert_eq!(token_fingerprint(&token), token_fingerprint(&token.clone()));
        assert!(!token_fingerprint(&token).contains("APP_USR"));
    }
}
