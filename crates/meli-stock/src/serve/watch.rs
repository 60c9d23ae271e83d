//! The checks `serve` makes between runs, on a loop of their own so that a stuck run or a
//! scheduler that never started is still noticed: the dead man's switch (no success for
//! longer than the threshold), the access-token check that refreshes near expiry, the
//! refresh token's age, and reminders of firing alerts.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::schedule::Clock;
use crate::accounts::{Account, AccountSource};
use crate::alerts::Alerter;
use crate::store::Store;

/// What the watch loop of one seller needs.
pub struct Watch {
    pub account: Account,
    pub accounts: Arc<dyn AccountSource>,
    pub store: Store,
    pub alerter: Arc<Alerter>,
    pub clock: Arc<dyn Clock>,
    /// How often the loop wakes.
    pub every: Duration,
    /// How often the access token is checked.
    pub token_every: Duration,
    pub stale_after: Duration,
    /// When watching began: the reference for a seller that never succeeded.
    pub started_at: DateTime<Utc>,
}

impl Watch {
    /// Checks until `stop` is cancelled; the first check happens at once.
    pub async fn run(self, stop: CancellationToken) {
        let mut next_token_check = self.clock.now();
        loop {
            let now = self.clock.now();
            if now >= next_token_check {
                self.check_token(now).await;
                next_token_check = now + super::schedule::to_chrono(self.token_every);
            }
            self.check_freshness(now).await;

            tokio::select! {
                () = tokio::time::sleep(self.every) => {}
                () = stop.cancelled() => return,
            }
        }
    }

    async fn check_freshness(&self, now: DateTime<Utc>) {
        let seller_id = self.account.seller_id;
        let last_success = match self.store.last_success(seller_id).await {
            Ok(run) => run.and_then(|r| r.finished_at),
            Err(e) => {
                warn!(seller_id, error = %e, "cannot read the last successful run");
                return;
            }
        };

        let reference = last_success.unwrap_or(self.started_at);
        let checked = self
            .alerter
            .check_staleness(
                seller_id,
                last_success,
                Some(reference),
                self.stale_after,
                now,
            )
            .await;
        if let Err(e) = checked {
            warn!(seller_id, error = %e, "staleness check failed");
        }
        self.alerter.remind_at(seller_id, last_success, now).await;
    }

    /// Asks the provider for a token, which refreshes it when it is near expiry, so the
    /// next run never starts with a dead one; then checks the refresh token's age.
    async fn check_token(&self, now: DateTime<Utc>) {
        let seller_id = self.account.seller_id;
        match self.account.tokens.access_token().await {
            Ok(_) => debug!(seller_id, "access token checked"),
            Err(e) if e.is_reauth_required() => {
                let error = e.to_string();
                self.alerter.observe_reauth(seller_id, &error, now).await;
            }
            Err(e) => warn!(seller_id, error = %e, "the access token check failed"),
        }

        match self.accounts.token_facts(seller_id).await {
            Ok(facts) => self.alerter.check_tokens(&facts, now).await,
            Err(e) => warn!(seller_id, error = %e, "token facts unavailable"),
        }
    }
}
