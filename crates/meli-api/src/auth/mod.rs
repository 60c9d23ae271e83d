//! OAuth 2.0 with ML: the authorization URL, PKCE, the token endpoint and token providers.
//!
//! - [`authorization_url`] builds the per-site link a seller opens to grant access (doc §1.1);
//! - [`OAuthClient`] calls `POST /oauth/token` to exchange a code or refresh a pair;
//! - [`TokenProvider`] hands tokens to [`crate::MeliClient`]; [`InMemoryTokenProvider`] keeps
//!   one pair in memory and refreshes it single-flight.

mod oauth;
mod pkce;
mod provider;
mod token;

pub use oauth::OAuthClient;
pub use pkce::{Pkce, auth_host, authorization_url, token_fingerprint};
pub use provider::{DEFAULT_REFRESH_MARGIN, InMemoryTokenProvider, TokenProvider};
pub use token::TokenSet;
