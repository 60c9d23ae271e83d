//! Tokens that never need a human: seller accounts whose OAuth tokens live encrypted in the
//! store, refreshed single-flight across tasks and processes, and never lost on rotation.
//!
//! # Lifecycle
//! 1. A seller is authorized once (`meli-stock auth url`, then `auth exchange`), or an
//!    existing token is imported from `ML_REFRESH_TOKEN` on first use. The pair is stored
//!    sealed, with an `authorized` or `imported` event.
//! 2. Every process takes its tokens from the store ([`StoredTokenProvider`]). Before the
//!    access token expires (`MELI_STOCK_REFRESH_MARGIN`), or when ML answers 401, one of
//!    them refreshes under the account's row lock and stores the new pair before using it;
//!    the others wait and read the new pair.
//! 3. When ML refuses the refresh token (`invalid_grant`), the account becomes
//!    `reauth_required` and commands for it exit with code 4 and the commands that
//!    authorize it again.
//!
//! Known limitation: when a grant dies in the middle of a run (ML answers 401, then
//! `invalid_grant`), that run is recorded as failed in the run ledger; only when the token
//! is already due at the start does the command stop before any run is recorded.
//!
//! Known limitation: `account_events` grows by a few rows a day per seller and is never
//! pruned.
//!
//! # Layout
//! - `cipher`: [`TokenKey`], [`TokenCipher`]: XChaCha20-Poly1305 sealing of each value.
//! - `key`: where the key comes from (`MELI_STOCK_KEY`, the local key file for SQLite).
//! - `vault`: [`Vault`]: the store plus the cipher; sealed rows in, clear pairs out; key
//!   checks and rotation.
//! - `provider`, `save`: [`StoredTokenProvider`] and how a rotated pair is stored.
//! - `client`: [`seller_client`], the import of the settings' tokens, seller selection.
//! - `error`: [`TokenError`] and the re-authorization message.

mod cipher;
mod client;
mod error;
mod key;
mod provider;
mod save;
mod vault;

pub use cipher::{CipherError, KEY_LEN, TokenCipher, TokenKey, token_context, verifier_context};
pub use client::{
    SellerClient, choose_sellers, oauth_client, provider_options, reauth_error, seller_client,
    sellers_to_sync,
};
pub use error::{TokenError, reauth_steps};
pub use key::{KeySource, key_file_path, load_key, local_key, write_key_file};
pub use provider::{CommitAttempt, CommitHook, ProviderOptions, StoredTokenProvider};
pub use vault::{NewAccount, Rotation, StoredPair, Vault};
