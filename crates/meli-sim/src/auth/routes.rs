//! `POST /oauth/token` (doc §1.2) and the browser step `GET /authorization` (doc §1.1),
//! which the simulator answers at once with a redirect carrying a fresh code, as if the
//! seller had logged in and accepted.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};

use super::CodeExchange;
use crate::errors::OAuthError;
use crate::state::{Sim, lock};

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> Result<&'a str, OAuthError> {
    form.get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::new("invalid_request", format!("missing parameter {name}")))
}

pub(crate) async fn token(
    State(sim): State<Arc<Sim>>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return OAuthError::new(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        )
        .into_response();
    };

    match exchange(&sim, &form) {
        Ok(tokens) => Json(tokens).into_response(),
        Err(error) => error.into_response(),
    }
}

fn exchange(sim: &Sim, form: &HashMap<String, String>) -> Result<super::TokenResponse, OAuthError> {
    let grant_type = field(form, "grant_type")?;
    let client_id = field(form, "client_id")?;
    let secret = field(form, "client_secret")?;
    let now = sim.clock.now();
    let policy = sim.policy();

    match grant_type {
        "authorization_code" => {
            let request = CodeExchange {
                client_id,
                secret,
                code: field(form, "code")?,
                redirect_uri: field(form, "redirect_uri")?,
                verifier: form.get("code_verifier").map(String::as_str),
            };
            lock(&sim.auth).exchange_code(&request, policy, now)
        }
        "refresh_token" => {
            let refresh_token = field(form, "refresh_token")?;
            lock(&sim.auth).refresh(client_id, secret, refresh_token, policy, now)
        }
        other => Err(OAuthError::new(
            "unsupported_grant_type",
            format!("grant_type {other} is not supported"),
        )),
    }
}

pub(crate) async fn authorization(
    State(sim): State<Arc<Sim>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    match authorize(&sim, &params) {
        Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Err(error) => error.into_response(),
    }
}

fn authorize(sim: &Sim, params: &HashMap<String, String>) -> Result<String, OAuthError> {
    if params.get("response_type").map(String::as_str) != Some("code") {
        return Err(OAuthError::new(
            "invalid_request",
            "response_type must be code",
        ));
    }
    let client_id = field(params, "client_id")?;
    let redirect_uri = field(params, "redirect_uri")?;
    let challenge = params.get("code_challenge").map(|c| {
        let method = params
            .get("code_challenge_method")
            .map_or("plain", String::as_str);
        (c.as_str(), method)
    });

    let code = lock(&sim.auth).authorize(
        client_id,
        redirect_uri,
        challenge,
        sim.config.seller_id,
        sim.clock.now(),
    )?;

    let mut location = url::Url::parse(redirect_uri)
        .map_err(|_| OAuthError::new("invalid_request", "redirect_uri is not a valid URL"))?;
    location.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = params.get("state") {
        location.query_pairs_mut().append_pair("state", state);
    }
    Ok(location.to_string())
}
