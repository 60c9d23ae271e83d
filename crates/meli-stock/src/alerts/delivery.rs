//! How one decision about one alert is carried out: read the stored row, decide, save with
//! compare-and-set (reading again when another process saved first), then log and send the
//! message the decision calls for, owing it again when no channel took it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{error, info, warn};

use super::Alerter;
use super::message::{Notice, render};
use super::rules::{self, AlertKind, Condition, Decision, NoticeState};
use crate::store::{AlertRow, StoreError};

/// Saves lost to another process before giving up on one decision.
const SAVE_ATTEMPTS: usize = 3;

/// Context a message needs that the stored row does not keep.
#[derive(Clone, Debug, Default)]
pub(super) struct Context {
    pub(super) previous: Option<i64>,
    pub(super) last_success: Option<DateTime<Utc>>,
    pub(super) threshold: Option<Duration>,
    pub(super) expires_at: Option<DateTime<Utc>>,
}

impl Alerter {
    /// The unmatched-listings alert after a successful run counted `unmatched`.
    pub(super) async fn unmatched(
        &self,
        seller_id: u64,
        unmatched: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let kind = AlertKind::UnmatchedIncreased;
        let row = self.store.alert_state(seller_id, kind.as_str()).await?;
        let context = Context {
            previous: Some(row.count),
            ..Context::default()
        };
        self.decide(seller_id, kind, &context, |row| {
            rules::decide_unmatched(row, unmatched, at)
        })
        .await
    }

    /// One observed condition of one alert.
    pub(super) async fn apply(
        &self,
        seller_id: u64,
        kind: AlertKind,
        condition: &Condition,
        now: DateTime<Utc>,
        context: &Context,
    ) -> Result<(), StoreError> {
        self.evaluate(seller_id, kind, now, context, |_| condition.clone())
            .await
    }

    /// A condition that depends on the stored row (a failure count, say).
    pub(super) async fn evaluate(
        &self,
        seller_id: u64,
        kind: AlertKind,
        now: DateTime<Utc>,
        context: &Context,
        condition: impl Fn(&AlertRow) -> Condition,
    ) -> Result<(), StoreError> {
        let every = self.policy.reminder_every;
        self.decide(seller_id, kind, context, |row| {
            rules::decide(row, &condition(row), now, every)
        })
        .await
    }

    /// Reads the row, decides, saves with compare-and-set (reading again when another
    /// process saved first), then sends the message the decision calls for.
    pub(super) async fn decide(
        &self,
        seller_id: u64,
        kind: AlertKind,
        context: &Context,
        decide: impl Fn(&AlertRow) -> Decision,
    ) -> Result<(), StoreError> {
        for _ in 0..SAVE_ATTEMPTS {
            let row = self.store.alert_state(seller_id, kind.as_str()).await?;
            let decision = decide(&row);
            if decision.row == row && decision.notice.is_none() {
                return Ok(());
            }
            if !self.store.save_alert_state(&decision.row).await? {
                continue;
            }
            let Some(state) = decision.notice else {
                return Ok(());
            };

            let notice = notice_of(&row, &decision.row, kind, state, context);
            let delivered = self.send(&notice).await;
            if !delivered && state != NoticeState::Resolved {
                // Owe the message again: the next check sends it.
                let mut owed = decision.row.clone();
                owed.notified_at = row.notified_at;
                owed.version = decision.row.version + 1;
                self.store.save_alert_state(&owed).await?;
            }
            return Ok(());
        }
        warn!(
            seller_id,
            alert = kind.as_str(),
            "alert state kept changing under other processes; deciding again at the next check"
        );
        Ok(())
    }

    /// Logs the message and sends it to every channel; true when at least one took it (or
    /// none is configured, the log being the only place).
    pub(super) async fn send(&self, notice: &Notice) -> bool {
        let text = render(notice);
        let seller_id = notice.seller_id;
        let alert = notice.kind.as_str();
        let state = notice.state.as_str();
        match (notice.state, notice.kind) {
            (NoticeState::Resolved, _) => info!(seller_id, alert, state, "{}", text.title),
            (_, AlertKind::UnmatchedIncreased | AlertKind::RefreshTokenExpiring) => {
                warn!(seller_id, alert, state, action = %text.action, "{}", text.title)
            }
            _ => error!(seller_id, alert, state, action = %text.action, "{}", text.title),
        }

        if self.channels.is_empty() {
            return true;
        }
        let mut delivered = false;
        for channel in &self.channels {
            match channel.send(notice, &text).await {
                Ok(()) => delivered = true,
                Err(e) => error!(
                    seller_id,
                    alert,
                    channel = channel.name(),
                    error = %e,
                    "alert could not be delivered"
                ),
            }
        }
        delivered
    }
}

fn notice_of(
    before: &AlertRow,
    after: &AlertRow,
    kind: AlertKind,
    state: NoticeState,
    context: &Context,
) -> Notice {
    // A resolved message speaks of the condition that just ended.
    let source = if state == NoticeState::Resolved {
        before
    } else {
        after
    };
    Notice {
        seller_id: after.seller_id,
        kind,
        state,
        since: source.since,
        at: after.notified_at.unwrap_or_else(Utc::now),
        count: source.count,
        previous: context.previous,
        detail: source.detail.clone(),
        last_success: context.last_success,
        threshold: context.threshold,
        expires_at: context.expires_at,
    }
}

pub(super) fn log_store_errors(seller_id: u64, results: Vec<Result<(), StoreError>>) {
    for result in results {
        if let Err(e) = result {
            warn!(seller_id, error = %e, "alert state could not be read or saved");
        }
    }
}
