//! Alerts: tell a person when to act and what to do, once per change of state.
//!
//! The events: a scheduled run failed after its retries (`run_failed`); ML refused the
//! refresh token (`reauth_required`); no successful run for longer than the threshold
//! (`stale`, a dead man's switch that also catches a scheduler that never ran); the refresh
//! token nearing the end of its six-month life (`refresh_token_expiring`); more unmatched
//! listings than last reported (`unmatched_increased`); and the recovery from each of the
//! first four (a `resolved` message).
//!
//! # Layout
//! - `rules`: when a message is due, free of I/O.
//! - `message`: the words of each message.
//! - `delivery`: read, decide, save with compare-and-set, send.
//! - `webhook`, `email`: the two channels.
//!
//! State lives in the store ([`AlertRow`]), so a restart neither repeats a message nor
//! forgets a firing alert, and `meli-stock check` run from cron shares it with `serve`. Each
//! decision is saved before its message goes out, with a compare-and-set, so of two processes
//! only one sends. When every channel fails, the saved "sent" mark is taken back and the
//! message is tried again at the next check; when at least one channel succeeds, the others'
//! failures are logged and not retried. Every message is also logged, so with no channel
//! configured the log still shows it.
//!
//! Known limitation: delivery is at least once. A receiver that took a message but answered
//! after the timeout counts as failed, and gets the message again at the next check.

mod delivery;
mod email;
pub mod message;
pub mod rules;
mod webhook;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use email::Email;
pub use message::{Notice, Text, render};
pub use rules::{AlertKind, Condition, Decision, NoticeState};
pub use webhook::{Webhook, json_body, slack_body};

use delivery::{Context, log_store_errors};

use crate::accounts::TokenFacts;
use crate::config::AlertSettings;
use crate::serve::scheduler::Outcome;
use crate::store::{AlertRow, RunRecord, Store, StoreError};

/// A place alerts are sent to.
#[async_trait]
pub trait Channel: Send + Sync {
    /// A short name for logs.
    fn name(&self) -> &'static str;

    /// Delivers one message.
    async fn send(&self, notice: &Notice, text: &Text) -> anyhow::Result<()>;
}

/// How often and how early alerts fire.
#[derive(Clone, Debug)]
pub struct Policy {
    pub reminder_every: Option<Duration>,
    pub authorization_warning: Duration,
}

/// Decides, records and sends alerts.
pub struct Alerter {
    store: Store,
    channels: Vec<Box<dyn Channel>>,
    policy: Policy,
}

impl Alerter {
    /// An alerter with the channels the settings configure (possibly none).
    ///
    /// # Errors
    /// When a channel cannot be set up.
    pub fn from_settings(store: Store, settings: &AlertSettings) -> anyhow::Result<Alerter> {
        let mut channels: Vec<Box<dyn Channel>> = Vec::new();
        if let Some(webhook) = &settings.webhook {
            channels.push(Box::new(Webhook::new(webhook.clone())?));
        }
        if let Some(email) = &settings.email {
            channels.push(Box::new(Email::new(email.clone())?));
        }
        let policy = Policy {
            reminder_every: settings.reminder_every,
            authorization_warning: settings.authorization_warning,
        };
        Ok(Alerter::new(store, channels, policy))
    }

    /// An alerter with the given channels.
    pub fn new(store: Store, channels: Vec<Box<dyn Channel>>, policy: Policy) -> Alerter {
        Alerter {
            store,
            channels,
            policy,
        }
    }

    /// The stored alert states of one seller or all.
    pub async fn states(&self, seller_id: Option<u64>) -> Result<Vec<AlertRow>, StoreError> {
        self.store.alert_states(seller_id).await
    }

    /// The last attempt of a scheduled slot ended with `outcome` at `at`; `record` is the
    /// run record of a successful run.
    pub async fn observe_run(
        &self,
        seller_id: u64,
        outcome: &Outcome,
        record: Option<&RunRecord>,
        started_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) {
        let last_success = match record {
            Some(run) => run.finished_at,
            // A failure's message says how old the stock is; a store that cannot tell says
            // nothing rather than holding the alert back.
            None => self
                .store
                .last_success(seller_id)
                .await
                .ok()
                .flatten()
                .and_then(|run| run.finished_at),
        };
        let context = Context {
            last_success,
            ..Context::default()
        };
        let failing = |row: &AlertRow, error: &str| Condition::Firing {
            since: started_at,
            count: if row.active { row.count + 1 } else { 1 },
            detail: Some(error.to_owned()),
        };
        let results = match outcome {
            Outcome::Success => {
                let mut results = Vec::new();
                for kind in [
                    AlertKind::RunFailed,
                    AlertKind::ReauthRequired,
                    AlertKind::Stale,
                ] {
                    results.push(
                        self.apply(seller_id, kind, &Condition::Clear, at, &context)
                            .await,
                    );
                }
                if let Some(run) = record.filter(|r| !r.dry_run) {
                    let unmatched = i64::try_from(run.unmatched).unwrap_or(i64::MAX);
                    results.push(self.unmatched(seller_id, unmatched, at).await);
                }
                results
            }
            Outcome::Failed(error) | Outcome::Invalid(error) => {
                let kind = AlertKind::RunFailed;
                vec![
                    self.evaluate(seller_id, kind, at, &context, |row| failing(row, error))
                        .await,
                ]
            }
            Outcome::Reauth(error) => {
                let kind = AlertKind::ReauthRequired;
                vec![
                    self.evaluate(seller_id, kind, at, &context, |row| failing(row, error))
                        .await,
                ]
            }
            Outcome::Locked | Outcome::Cancelled => Vec::new(),
        };
        log_store_errors(seller_id, results);
    }

    /// ML refused the grant outside a run (the token check between runs).
    pub async fn observe_reauth(&self, seller_id: u64, error: &str, at: DateTime<Utc>) {
        let condition = |row: &AlertRow| Condition::Firing {
            since: at,
            count: row.count.max(1),
            detail: Some(error.to_owned()),
        };
        let kind = AlertKind::ReauthRequired;
        let result = self
            .evaluate(seller_id, kind, at, &Context::default(), condition)
            .await;
        log_store_errors(seller_id, vec![result]);
    }

    /// The dead man's switch: stale when nothing succeeded for longer than `threshold`
    /// since `reference` (the last success, or when watching began; `None` means stale at
    /// once). Returns whether the seller is stale.
    ///
    /// # Errors
    /// When the alert state cannot be read or saved.
    pub async fn check_staleness(
        &self,
        seller_id: u64,
        last_success: Option<DateTime<Utc>>,
        reference: Option<DateTime<Utc>>,
        threshold: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let limit = crate::serve::schedule::to_chrono(threshold);
        let stale = reference.is_none_or(|r| now - r > limit);
        let condition = if stale {
            Condition::Firing {
                since: reference.unwrap_or(now),
                count: 0,
                detail: None,
            }
        } else {
            Condition::Clear
        };
        let context = Context {
            last_success,
            threshold: Some(threshold),
            ..Context::default()
        };
        self.apply(seller_id, AlertKind::Stale, &condition, now, &context)
            .await?;
        Ok(stale)
    }

    /// The token facts of a seller: a refresh token near the end of its life, or a grant
    /// ML refused.
    pub async fn check_tokens(&self, facts: &TokenFacts, now: DateTime<Utc>) {
        let seller_id = facts.seller_id;
        let mut results = Vec::new();
        if let (Some(issued), Some(expires)) = (
            facts.refresh_token_issued_at,
            facts.refresh_token_expires_at(),
        ) {
            let warning = crate::serve::schedule::to_chrono(self.policy.authorization_warning);
            let condition = if now >= expires - warning {
                Condition::Firing {
                    since: issued,
                    count: 0,
                    detail: None,
                }
            } else {
                Condition::Clear
            };
            let context = Context {
                expires_at: Some(expires),
                ..Context::default()
            };
            let kind = AlertKind::RefreshTokenExpiring;
            results.push(self.apply(seller_id, kind, &condition, now, &context).await);
        }
        log_store_errors(seller_id, results);
        if facts.needs_reauth {
            let error = "the token store marks this seller as needing a new authorization";
            self.observe_reauth(seller_id, error, now).await;
        }
    }

    /// Reminders (and messages owed after a failed send) at `now` of every firing alert of
    /// a seller that no check re-evaluates by itself.
    pub async fn remind_at(
        &self,
        seller_id: u64,
        last_success: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) {
        let context = Context {
            last_success,
            ..Context::default()
        };
        let every = self.policy.reminder_every;
        let mut results = Vec::new();
        for kind in [AlertKind::RunFailed, AlertKind::ReauthRequired] {
            let decide = |row: &AlertRow| rules::remind(row, now, every);
            results.push(self.decide(seller_id, kind, &context, decide).await);
        }
        log_store_errors(seller_id, results);
    }
}
