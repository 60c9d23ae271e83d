//! `POST /oauth/token`: exchanging an authorization code and refreshing a token pair.
//!
//! The call is form-urlencoded with `Accept: application/json` (doc §1.2). It is retried for
//! 429 and 5xx answers, and after a transport failure only when no connection was made.
//! Once the request may have reached ML it is never re-sent: if the answer was lost, ML may
//! already have rotated the refresh token, and re-sending the old one would burn the grant
//! (`invalid_grant`, doc §1.3). The caller then sees [`Error::Transport`] and decides.

use std::fmt;
use std::sync::Arc;

use chrono::Utc;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};

use crate::auth::token::{TokenErrorBody, TokenSet, parse_token_response};
use crate::config::ClientConfig;
use crate::counters::CountersSnapshot;
use crate::endpoint::Endpoint;
use crate::error::{Error, redacted_snippet};
use crate::transport::{RawResponse, RequestSpec, Transport, TransportRetry};

/// Client of ML's token endpoint for one app. Clones share one connection pool, limiter and
/// counters.
#[derive(Clone)]
pub struct OAuthClient {
    transport: Arc<Transport>,
    app_id: String,
    secret: SecretString,
}

impl OAuthClient {
    /// A token client for the app `app_id` with its client secret.
    ///
    /// # Errors
    /// [`Error::Config`] for invalid settings or an empty app id or secret.
    pub fn new(config: &ClientConfig, app_id: String, secret: SecretString) -> Result<Self, Error> {
        if app_id.trim().is_empty() {
            return Err(Error::Config("oauth app id is empty".into()));
        }
        if secret.expose_secret().trim().is_empty() {
            return Err(Error::Config(format!(
                "oauth client secret of app {app_id} is empty"
            )));
        }

        let transport = Arc::new(Transport::new(config.clone())?);
        Ok(Self {
            transport,
            app_id,
            secret,
        })
    }

    /// The app this client speaks for.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// Token calls made so far, by status.
    pub fn counters(&self) -> CountersSnapshot {
        self.transport.counters()
    }

    /// Trades an authorization code (single use) for a token pair. `redirect_uri` must be
    /// the one used in the authorization URL; `verifier` is the PKCE verifier when PKCE is on.
    ///
    /// # Errors
    /// [`Error::InvalidGrant`] for a used, expired or unknown code; [`Error::InvalidClient`];
    /// [`Error::OAuth`] for other token errors; `RateLimited`, `Server`, `Transport`, `Decode`.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: Option<&str>,
    ) -> Result<TokenSet, Error> {
        if code.trim().is_empty() {
            return Err(Error::Config("authorization code is empty".into()));
        }

        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("client_id", self.app_id.as_str()),
            ("client_secret", self.secret.expose_secret()),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        self.token_call(&form).await
    }

    /// Trades the latest refresh token for a new pair. The old refresh token is dead after
    /// this succeeds; store the new pair before using it.
    ///
    /// # Errors
    /// As [`OAuthClient::exchange_code`]; [`Error::InvalidGrant`] means the seller must
    /// authorize again. [`Error::Transport`] after the request may have reached ML is not
    /// retried (see the module doc).
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenSet, Error> {
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", self.app_id.as_str()),
            ("client_secret", self.secret.expose_secret()),
            ("refresh_token", refresh_token.expose_secret()),
        ];
        self.token_call(&form).await
    }

    async fn token_call(&self, form: &[(&str, &str)]) -> Result<TokenSet, Error> {
        let spec = RequestSpec {
            method: Method::POST,
            endpoint: Endpoint::OAuthToken,
            url: self.transport.url(&["oauth", "token"])?,
            form: Some(form),
            transport_retry: TransportRetry::ConnectOnly,
        };

        let resp = self.transport.send(&spec, None).await?;
        if resp.status.is_success() {
            return parse_token_response(&resp.body, Utc::now());
        }
        Err(token_error(&resp))
    }
}

/// Maps a non-success answer of the token endpoint to the error it names (doc §1.4). The
/// code in the body decides, not the status: ML gives statuses for only some codes, so 400
/// or 401 for `invalid_client` is assumed (\[A\]).
fn token_error(resp: &RawResponse) -> Error {
    let status = resp.status.as_u16();
    let body: TokenErrorBody = serde_json::from_slice(&resp.body).unwrap_or_default();
    let description = body
        .error_description
        .or(body.message.clone())
        .unwrap_or_else(|| redacted_snippet(&resp.body));

    match body.error.as_deref() {
        Some("invalid_grant") => Error::InvalidGrant { description },
        Some("invalid_client") => Error::InvalidClient { description },
        Some(error) => Error::OAuth {
            error: error.to_string(),
            description,
            status,
        },
        None => Error::Status {
            endpoint: Endpoint::OAuthToken,
            status,
            message: body.message.unwrap_or_else(|| redacted_snippet(&resp.body)),
        },
    }
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("app_id", &self.app_id)
            .field("secret", &"[redacted]")
            .field("base_url", &self.transport.config().base_url.as_str())
            .finish()
    }
}
