//! ML error bodies: the `{message, error, status, cause}` shape every resource uses (doc §0),
//! the OAuth variant (doc §1.3) and the gateway's 429 body (doc §7).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An ML error answer: status plus the documented JSON body.
#[derive(Debug, Clone)]
pub(crate) struct MlError {
    pub(crate) status: StatusCode,
    pub(crate) error: String,
    pub(crate) message: String,
}

impl MlError {
    pub(crate) fn new(status: StatusCode, error: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            error: error.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// Replaces the `error` code (item validation errors carry dotted codes).
    pub(crate) fn with_error(mut self, error: &str) -> Self {
        self.error = error.to_owned();
        self
    }

    /// The documented 401 for an expired or unknown token (doc §1.4).
    pub(crate) fn invalid_token() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "not_found", "invalid_token")
    }

    pub(crate) fn body(&self) -> Value {
        error_body(self.status, &self.error, &self.message)
    }
}

impl IntoResponse for MlError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// `{"message":…,"error":…,"status":…,"cause":[]}`.
pub(crate) fn error_body(status: StatusCode, error: &str, message: &str) -> Value {
    json!({"message": message, "error": error, "status": status.as_u16(), "cause": []})
}

/// Token endpoint errors use `error` + `error_description` (doc §1.3).
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) description: String,
}

/// The exact `invalid_grant` description ML sends (doc §1.3).
pub(crate) const INVALID_GRANT_DESCRIPTION: &str = "Error validating grant. Your authorization \
code or refresh token may be expired or it was already used";

impl OAuthError {
    pub(crate) fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }

    pub(crate) fn invalid_grant() -> Self {
        Self::new("invalid_grant", INVALID_GRANT_DESCRIPTION)
    }

    /// Wrong or unknown client credentials. ML does not say which status it uses; 400 like
    /// the other token errors is assumed \[A\] (doc §1.4).
    pub(crate) fn invalid_client() -> Self {
        Self::new("invalid_client", "invalid client_id or client_secret")
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": self.error,
            "error_description": self.description,
            "status": self.status.as_u16(),
            "cause": [],
        });
        (self.status, Json(body)).into_response()
    }
}

/// The gateway's 429 body (doc §7, [R:mp429]).
pub(crate) fn rate_limited_body() -> Value {
    json!({"message": "local_rate_limited", "status": 429})
}

/// Bodies of injected 5xx answers (doc §7).
pub(crate) fn server_error_body(status: StatusCode) -> Value {
    let code = match status.as_u16() {
        502 => "bad_gateway",
        503 => "service_not_available",
        504 => "gateway_timeout",
        _ => "internal_server_error",
    };
    error_body(status, code, code)
}
