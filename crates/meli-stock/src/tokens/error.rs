//! Errors of the token layer, each saying what to do, and how they end a command.

use std::path::PathBuf;

use anyhow::anyhow;

use super::cipher::CipherError;
use crate::error::Failure;
use crate::store::StoreError;

/// How the client words an `invalid_grant` before ML's description.
const GRANT_PREAMBLE: &str = "oauth grant rejected, re-authorization needed: ";

/// A stored refusal (an account's last error) without the client's `invalid_grant`
/// preamble, for a message that is itself an `invalid_grant` and would say it twice.
pub(crate) fn refusal_detail(last_error: &str) -> &str {
    last_error
        .strip_prefix(GRANT_PREAMBLE)
        .unwrap_or(last_error)
}

/// What can go wrong between the settings, the key, the stored accounts and ML's token
/// endpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error(
        "MELI_STOCK_KEY is not set: tokens stored in PostgreSQL are encrypted with a key that \
         only you keep. Create one with `openssl rand -hex 32`, keep it with your other \
         secrets, and set MELI_STOCK_KEY to it for every meli-stock command"
    )]
    KeyMissing,

    #[error("cannot use the local key file {path}: {reason}; or set MELI_STOCK_KEY")]
    KeyFile { path: PathBuf, reason: String },

    #[error(
        "the key from {source_name} (fingerprint {given}) is not the key the stored tokens \
         were encrypted with (fingerprint {stored}); use the key you used before, or change \
         keys with `meli-stock auth rotate-key`"
    )]
    KeyMismatch {
        source_name: String,
        given: String,
        stored: String,
    },

    #[error(transparent)]
    Cipher(#[from] CipherError),

    #[error(transparent)]
    Store(#[from] StoreError),

    #[error(
        "no account is stored for seller {seller_id}: authorize meli-stock with `meli-stock \
         auth url` and `meli-stock auth exchange`, or set ML_REFRESH_TOKEN (and ML_SELLER_ID) \
         to import a token you already have"
    )]
    NoAccount { seller_id: u64 },

    #[error("{0}")]
    Input(String),

    #[error("{message}")]
    Reauth { seller_id: u64, message: String },

    /// Shown with its cause inline (not as a source), so a chain prints it once.
    #[error("MercadoLibre's token endpoint failed: {0}")]
    Api(meli_api::Error),
}

impl From<meli_api::Error> for TokenError {
    fn from(e: meli_api::Error) -> Self {
        TokenError::Api(e)
    }
}

impl From<TokenError> for Failure {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Reauth { .. } => Failure::Reauth(anyhow!(e)),
            TokenError::Api(ref api) if api.is_reauth_required() => Failure::Reauth(anyhow!(e)),
            TokenError::Api(meli_api::Error::InvalidClient { .. }) => {
                Failure::Input(anyhow!(e).context(
                    "MercadoLibre refused the app's credentials: check ML_APP_ID and ML_SECRET \
                     (the application's client id and secret)",
                ))
            }
            TokenError::KeyMissing
            | TokenError::KeyFile { .. }
            | TokenError::KeyMismatch { .. }
            | TokenError::NoAccount { .. }
            | TokenError::Input(_) => Failure::Input(anyhow!(e)),
            TokenError::Cipher(_) | TokenError::Store(_) | TokenError::Api(_) => {
                Failure::Run(anyhow!(e))
            }
        }
    }
}

/// The steps that re-authorize a seller, with the exact commands.
pub fn reauth_steps(seller_id: u64, site: Option<&str>, redirect_uri: Option<&str>) -> String {
    let site = site.unwrap_or("<your site, e.g. MLC>");
    let redirect = redirect_uri.unwrap_or("<the redirect URI registered for your app>");
    format!(
        "seller {seller_id} must authorize meli-stock again:\n  \
         1. meli-stock auth url --site {site} --redirect-uri {redirect}\n  \
         2. open the printed link, log in as the seller and accept\n  \
         3. copy the code from the address you land on (code=TG-...) and run: \
         meli-stock auth exchange --code TG-..."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preamble_is_the_clients_wording_and_is_said_once() {
        let refused = meli_api::Error::InvalidGrant {
            description: "Error validating grant.".into(),
        };
        let stored = refused.to_string();

        assert_eq!(stored, format!("{GRANT_PREAMBLE}Error validating grant."));
        assert_eq!(refusal_detail(&stored), "Error validating grant.");
        assert_eq!(refusal_detail("owner mismatch"), "owner mismatch");
    }
}
