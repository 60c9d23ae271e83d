//! The per-seller loop of `serve`: wait for the next slot, run one sync, retry a failed run a
//! few times, report every attempt, and repeat until told to stop.
//!
//! Runs of one seller never overlap: the loop awaits each run before it computes the next
//! slot, and slots that passed while a run was going are skipped, not queued. At start the
//! loop runs at once when a slot was missed since the last success (or there never was one),
//! so a restart or a long downtime catches up with one run rather than waiting a whole
//! interval.
//!
//! What one run does is behind [`SyncJob`], and what happens with its outcome (metrics,
//! alerts) behind [`RunObserver`], so the timing can be tested apart from any sync.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::schedule::{Clock, Jitter, Schedule, sleep_until, to_chrono};
use crate::store::RunRecord;

/// How one attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The run failed; worth another attempt.
    Failed(String),
    /// ML refused the grant; only a person can fix it.
    Reauth(String),
    /// Settings or the inventory schema are wrong; only a person can fix it.
    Invalid(String),
    /// Another process holds the seller's lock (a one-shot `sync`, say).
    Locked,
    /// Stopped by a shutdown before it finished.
    Cancelled,
}

impl Outcome {
    /// The metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failed(_) => "failed",
            Outcome::Reauth(_) => "reauth",
            Outcome::Invalid(_) => "invalid",
            Outcome::Locked => "locked",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// The error text of a failed attempt.
    pub fn error(&self) -> Option<&str> {
        match self {
            Outcome::Failed(e) | Outcome::Reauth(e) | Outcome::Invalid(e) => Some(e),
            _ => None,
        }
    }

    fn retriable(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }
}

/// What a job reports back.
#[derive(Clone, Debug)]
pub struct JobResult {
    pub outcome: Outcome,
    /// The run record of a successful run.
    pub record: Option<RunRecord>,
}

/// Runs one sync of one seller.
#[async_trait]
pub trait SyncJob: Send + Sync {
    /// Runs until done, or until `abort` is cancelled, in which case it stops, rolls back
    /// and reports [`Outcome::Cancelled`].
    async fn run(&self, seller_id: u64, abort: CancellationToken) -> JobResult;
}

/// One attempt as observers see it.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub seller_id: u64,
    /// 1 for the scheduled run, 2 and up for its retries.
    pub number: u32,
    /// No further attempt follows for this slot.
    pub last: bool,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub elapsed: Duration,
    pub outcome: Outcome,
    pub record: Option<RunRecord>,
}

/// Told about every attempt (metrics, alerts, tests).
#[async_trait]
pub trait RunObserver: Send + Sync {
    async fn attempt_finished(&self, attempt: &Attempt);
}

/// When and how often one seller runs.
#[derive(Clone, Debug)]
pub struct Plan {
    pub seller_id: u64,
    pub schedule: Schedule,
    /// Extra attempts after a failed run.
    pub retries: u32,
    pub retry_delay: Duration,
}

/// The two stages of a shutdown: `stop` ends the loop once no run is going (no new run
/// starts); `abort` makes a running sync roll back.
#[derive(Clone, Debug, Default)]
pub struct Stop {
    pub stop: CancellationToken,
    pub abort: CancellationToken,
}

/// Everything the loop of one seller needs.
pub struct Scheduler {
    pub plan: Plan,
    pub clock: Arc<dyn Clock>,
    pub jitter: Jitter,
    pub job: Arc<dyn SyncJob>,
    pub observer: Arc<dyn RunObserver>,
}

impl Scheduler {
    /// The first slot: now when a slot was missed since `last_success` (or nothing ever
    /// succeeded), otherwise the slot after it.
    pub fn first_slot(
        &self,
        last_success: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> (DateTime<Utc>, bool) {
        match last_success.map(|t| self.plan.schedule.next_after(t)) {
            Some(next) if next > now => (next, false),
            _ => (now, true),
        }
    }

    /// Runs the seller's loop until `stop.stop` is cancelled and no run is going.
    pub async fn run(self, last_success: Option<DateTime<Utc>>, stop: Stop) {
        let seller_id = self.plan.seller_id;
        let (mut slot, mut immediate) = self.first_slot(last_success, self.clock.now());
        if immediate {
            info!(
                seller_id,
                last_success = ?last_success,
                "a scheduled run was missed (or none ever succeeded); running now"
            );
        }

        loop {
            let due = if immediate {
                slot
            } else {
                slot + to_chrono((self.jitter)())
            };
            let next_run = due.format("%Y-%m-%d %H:%M:%S UTC");
            info!(seller_id, %next_run, schedule = %self.plan.schedule, "next sync");
            tokio::select! {
                () = sleep_until(self.clock.as_ref(), due) => {}
                () = stop.stop.cancelled() => break,
            }

            self.run_slot(&stop).await;
            if stop.stop.is_cancelled() {
                break;
            }

            let finished = self.clock.now();
            let mut next = self.plan.schedule.next_after(slot);
            let mut skipped = 0u32;
            while next <= finished {
                next = self.plan.schedule.next_after(next);
                skipped += 1;
            }
            if skipped > 0 {
                warn!(
                    seller_id,
                    skipped, "the run outlasted its slot; the slots it covered are skipped"
                );
            }
            slot = next;
            immediate = false;
        }
        info!(seller_id, "scheduler stopped");
    }

    /// The attempts of one slot: the run, then retries of a failed one.
    async fn run_slot(&self, stop: &Stop) {
        let seller_id = self.plan.seller_id;
        let mut number = 1;
        loop {
            let started_at = self.clock.now();
            let clock = tokio::time::Instant::now();
            let result = self.job.run(seller_id, stop.abort.clone()).await;
            let last = !result.outcome.retriable()
                || number > self.plan.retries
                || stop.stop.is_cancelled();
            let attempt = Attempt {
                seller_id,
                number,
                last,
                started_at,
                finished_at: self.clock.now(),
                elapsed: clock.elapsed(),
                outcome: result.outcome,
                record: result.record,
            };
            self.observer.attempt_finished(&attempt).await;
            if last {
                return;
            }

            info!(
                seller_id,
                attempt = number,
                retry_in = %humantime::format_duration(self.plan.retry_delay),
                "the run failed; trying again"
            );
            tokio::select! {
                () = tokio::time::sleep(self.plan.retry_delay) => {}
                () = stop.stop.cancelled() => return,
            }
            number += 1;
        }
    }
}
