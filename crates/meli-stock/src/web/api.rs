//! `/metrics`, `/api/runs` and `/api/accounts`.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::warn;

use super::{AppError, AppState};
use crate::accounts::TokenFacts;
use crate::metrics::Scrape;
use crate::store::{AlertRow, RunRecord};

/// Most runs `/api/runs` returns at once.
const MAX_RUNS: u32 = 500;

/// The Prometheus text exposition of every metric.
pub(super) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let now = state.clock.now();
    let mut scrape = Scrape::default();
    for account in state.accounts.accounts() {
        scrape
            .requests
            .push((account.seller_id, account.client.counters()));
        match state.accounts.token_facts(account.seller_id).await {
            Ok(facts) => {
                if let Some(seconds) = facts.access_token_expires_in(now) {
                    scrape.token_expires_in.push((account.seller_id, seconds));
                }
            }
            Err(e) => warn!(seller_id = account.seller_id, error = %e, "token facts unavailable"),
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(&scrape),
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct RunsQuery {
    limit: Option<u32>,
    seller: Option<u64>,
}

/// The latest runs, newest first (`?limit=20&seller=ID`).
pub(super) async fn runs(
    State(state): State<AppState>,
    Query(query): Query<RunsQuery>,
) -> Result<Json<Vec<RunRecord>>, AppError> {
    let limit = query.limit.unwrap_or(20).min(MAX_RUNS);
    let runs = state.store.recent_runs(query.seller, limit).await?;
    Ok(Json(runs))
}

#[derive(Serialize)]
pub(super) struct AccountView {
    seller_id: u64,
    tokens: Option<TokenFacts>,
    refresh_token_expires_at: Option<DateTime<Utc>>,
    last_success: Option<RunRecord>,
    /// Alerts firing now.
    alerts: Vec<AlertRow>,
}

/// Every account with its token facts, last success and firing alerts.
pub(super) async fn accounts(
    State(state): State<AppState>,
) -> Result<Json<Vec<AccountView>>, AppError> {
    let mut out = Vec::new();
    for account in state.accounts.accounts() {
        let seller_id = account.seller_id;
        let tokens = match state.accounts.token_facts(seller_id).await {
            Ok(facts) => Some(facts),
            Err(e) => {
                warn!(seller_id, error = %e, "token facts unavailable");
                None
            }
        };
        let alerts = state
            .alerter
            .states(Some(seller_id))
            .await?
            .into_iter()
            .filter(|a| a.active)
            .collect();
        out.push(AccountView {
            seller_id,
            refresh_token_expires_at: tokens.as_ref().and_then(|t| t.refresh_token_expires_at()),
            tokens,
            last_success: state.store.last_success(seller_id).await?,
            alerts,
        });
    }
    Ok(Json(out))
}
