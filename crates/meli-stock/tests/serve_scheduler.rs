//! The scheduler of `serve` on paused tokio time with a scripted job: runs on schedule (an
//! interval and a cron expression), never overlapping, catching up after downtime, retrying
//! failures, and stopping within the shutdown deadline. Then one test with the real sync
//! against the simulator, on both stores.

#![allow(clippy::unwrap_used)]

mod common;
mod support;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::TestDb;
use meli_stock::serve::schedule::fixed_jitter;
use meli_stock::serve::scheduler::JobResult;
use meli_stock::serve::{
    Attempt, Clock, Outcome, Plan, RunObserver, Schedule, Scheduler, Stop, SyncJob, SyncRunner,
    TokioClock,
};
use meli_stock::store::RunOutcome;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const SELLER: u64 = 2_506_482_242;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// A job that takes `takes` of (paused) time, answers from a script (then success), and
/// counts how many of its runs are in flight at once.
struct ScriptedJob {
    clock: Arc<dyn Clock>,
    takes: Duration,
    script: Mutex<VecDeque<Outcome>>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    started: Notify,
}

impl ScriptedJob {
    fn new(clock: Arc<dyn Clock>, takes: Duration, script: Vec<Outcome>) -> Arc<ScriptedJob> {
        Arc::new(ScriptedJob {
            clock,
            takes,
            script: Mutex::new(script.into()),
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
            started: Notify::new(),
        })
    }
}

#[async_trait]
impl SyncJob for ScriptedJob {
    async fn run(&self, _seller_id: u64, abort: CancellationToken) -> JobResult {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        self.started.notify_one();
        let _ = self.clock.now();

        let outcome = tokio::select! {
            () = tokio::time::sleep(self.takes) => {
                self.script.lock().unwrap().pop_front().unwrap_or(Outcome::Success)
            }
            () = abort.cancelled() => Outcome::Cancelled,
        };
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        JobResult {
            outcome,
            record: None,
        }
    }
}

/// Records attempts and cancels `stop` after `stop_after` of them.
struct Recorder {
    attempts: Mutex<Vec<Attempt>>,
    stop_after: usize,
    stop: CancellationToken,
}

#[async_trait]
impl RunObserver for Recorder {
    async fn attempt_finished(&self, attempt: &Attempt) {
        let mut attempts = self.attempts.lock().unwrap();
        attempts.push(attempt.clone());
        if attempts.len() >= self.stop_after {
            self.stop.cancel();
        }
    }
}

struct Harness {
    clock: Arc<TokioClock>,
    job: Arc<ScriptedJob>,
    recorder: Arc<Recorder>,
    stop: Stop,
}

impl Harness {
    fn new(start: &str, takes: Duration, script: Vec<Outcome>, stop_after: usize) -> Harness {
        let clock = Arc::new(TokioClock::starting_at(at(start)));
        let stop = Stop::default();
        Harness {
            job: ScriptedJob::new(clock.clone(), takes, script),
            recorder: Arc::new(Recorder {
                attempts: Mutex::new(Vec::new()),
                stop_after,
                stop: stop.stop.clone(),
            }),
            clock,
            stop,
        }
    }

    fn scheduler(&self, schedule: &str, retries: u32, jitter: Duration) -> Scheduler {
        Scheduler {
            plan: Plan {
                seller_id: SELLER,
                schedule: Schedule::parse(schedule).unwrap(),
                retries,
                retry_delay: Duration::from_secs(300),
            },
            clock: self.clock.clone(),
            jitter: fixed_jitter(jitter),
            job: self.job.clone(),
            observer: self.recorder.clone(),
        }
    }

    async fn run(&self, schedule: &str, last_success: Option<&str>) {
        self.scheduler(schedule, 0, Duration::ZERO)
            .run(last_success.map(at), self.stop.clone())
            .await;
    }

    fn starts(&self) -> Vec<String> {
        self.recorder
            .attempts
            .lock()
            .unwrap()
            .iter()
            .map(|a| a.started_at.format("%H:%M:%S").to_string())
            .collect()
    }

    fn attempts(&self) -> Vec<Attempt> {
        self.recorder.attempts.lock().unwrap().clone()
    }
}

#[tokio::test(start_paused = true)]
async fn an_interval_schedule_keeps_the_phase_of_the_last_success() {
    // Arrange: the last success was 10 minutes ago, so nothing is due for 50 minutes
    let h = Harness::new("2026-03-01T10:00:00Z", Duration::from_secs(90), vec![], 3);

    // Act
    h.run("1h", Some("2026-03-01T09:50:00Z")).await;

    // Assert
    assert_eq!(h.starts(), vec!["10:50:00", "11:50:00", "12:50:00"]);
}

#[tokio::test(start_paused = true)]
async fn a_cron_schedule_runs_at_every_match() {
    // Arrange: the last success fell in the current hour
    let h = Harness::new("2026-03-01T10:20:00Z", Duration::from_secs(90), vec![], 3);

    // Act
    h.run("0 * * * *", Some("2026-03-01T10:00:40Z")).await;

    // Assert
    assert_eq!(h.starts(), vec!["11:00:00", "12:00:00", "13:00:00"]);
}

#[tokio::test(start_paused = true)]
async fn a_missed_slot_runs_at_once_after_downtime_then_the_schedule_resumes() {
    // Arrange: down for five hours (each harness's clock starts when it is made)
    let start = "2026-03-01T10:20:00Z";
    let minute = Duration::from_secs(60);

    // Act
    let interval = Harness::new(start, minute, vec![], 2);
    interval.run("1h", Some("2026-03-01T05:20:00Z")).await;
    let cron = Harness::new(start, minute, vec![], 2);
    cron.run("@hourly", Some("2026-03-01T05:20:00Z")).await;
    let never = Harness::new(start, minute, vec![], 1);
    never.run("@hourly", None).await;

    // Assert
    assert_eq!(interval.starts(), vec!["10:20:00", "11:20:00"]);
    assert_eq!(cron.starts(), vec!["10:20:00", "11:00:00"]);
    assert_eq!(
        never.starts(),
        vec!["10:20:00"],
        "never succeeded: run at once"
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_longer_than_the_interval_never_overlaps_and_skips_the_slots_it_covered() {
    // Arrange: every run takes 90 minutes on an hourly schedule
    let h = Harness::new("2026-03-01T10:00:00Z", Duration::from_secs(5400), vec![], 3);

    // Act
    h.run("1h", None).await;

    // Assert: 10:00 runs to 11:30, so 11:00 is skipped; 12:00 runs to 13:30
    assert_eq!(h.starts(), vec!["10:00:00", "12:00:00", "14:00:00"]);
    assert_eq!(h.job.most_in_flight.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn jitter_delays_each_slot_without_drifting() {
    // Arrange
    let h = Harness::new("2026-03-01T10:00:00Z", Duration::from_secs(60), vec![], 3);

    // Act
    h.scheduler("1h", 0, Duration::from_secs(120))
        .run(Some(at("2026-03-01T09:30:00Z")), h.stop.clone())
        .await;

    // Assert
    assert_eq!(h.starts(), vec!["10:32:00", "11:32:00", "12:32:00"]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_run_is_retried_and_only_the_last_attempt_is_final() {
    // Arrange: two failures, then success; a reauth is never retried
    let failed = || Outcome::Failed("ML answered 503".into());
    let h = Harness::new(
        "2026-03-01T10:00:00Z",
        Duration::from_secs(60),
        vec![failed(), failed(), Outcome::Reauth("invalid_grant".into())],
        4,
    );

    // Act
    h.scheduler("1h", 2, Duration::ZERO)
        .run(None, h.stop.clone())
        .await;

    // Assert: 10:00 fails, 10:06 fails, 10:12 is refused (not retried); 11:00 succeeds
    let attempts = h.attempts();
    let summary: Vec<(String, u32, bool, &str)> = attempts
        .iter()
        .map(|a| {
            let start = a.started_at.format("%H:%M").to_string();
            (start, a.number, a.last, a.outcome.label())
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("10:00".to_owned(), 1, false, "failed"),
            ("10:06".to_owned(), 2, false, "failed"),
            ("10:12".to_owned(), 3, true, "reauth"),
            ("11:00".to_owned(), 1, true, "success"),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_stop_lets_the_running_sync_finish_within_the_deadline_and_starts_no_other() {
    // Arrange
    let h = Harness::new("2026-03-01T10:00:00Z", Duration::from_secs(600), vec![], 99);
    let task = tokio::spawn(
        h.scheduler("1h", 0, Duration::ZERO)
            .run(None, h.stop.clone()),
    );
    h.job.started.notified().await;

    // Act: stop 1 minute into the 10-minute run, with a 30-minute deadline
    tokio::time::sleep(Duration::from_secs(60)).await;
    h.stop.stop.cancel();
    let abort = h.stop.abort.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1800)).await;
        abort.cancel();
    });
    task.await.unwrap();

    // Assert
    let attempts = h.attempts();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, Outcome::Success);
    assert_eq!(attempts[0].finished_at, at("2026-03-01T10:10:00Z"));
}

#[tokio::test(start_paused = true)]
async fn a_sync_still_running_at_the_deadline_is_aborted() {
    // Arrange
    let h = Harness::new(
        "2026-03-01T10:00:00Z",
        Duration::from_secs(3600),
        vec![],
        99,
    );
    let task = tokio::spawn(
        h.scheduler("1h", 3, Duration::ZERO)
            .run(None, h.stop.clone()),
    );
    h.job.started.notified().await;

    // Act: stop at once with a 45-second deadline
    h.stop.stop.cancel();
    let abort = h.stop.abort.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(45)).await;
        abort.cancel();
    });
    task.await.unwrap();

    // Assert: cancelled at the deadline, and not retried
    let attempts = h.attempts();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, Outcome::Cancelled);
    assert!(attempts[0].last);
    assert_eq!(attempts[0].finished_at, at("2026-03-01T10:00:45Z"));
}

/// Forwards attempts to a channel, then holds the scheduler until the test lets it go on.
struct Channel {
    tx: tokio::sync::mpsc::UnboundedSender<Attempt>,
    go_on: Arc<tokio::sync::Semaphore>,
}

#[async_trait]
impl RunObserver for Channel {
    async fn attempt_finished(&self, attempt: &Attempt) {
        let _ = self.tx.send(attempt.clone());
        self.go_on.acquire().await.unwrap().forget();
    }
}

async fn the_real_sync_runs_on_schedule_without_overlapping(db: TestDb) {
    // Arrange: a 1-second schedule against the simulator
    let sim = support::simulator(300).await;
    support::prepare_inventory(&db.store, &sim).await;
    let config = support::config_for(&db, &sim, &[("MELI_STOCK_SCHEDULE", "1s")]);
    let accounts = meli_stock::accounts::StoredAccounts::open(&db.store, &config)
        .await
        .unwrap();
    let client = {
        use meli_stock::accounts::AccountSource;
        accounts.accounts()[0].client.clone()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let go_on = Arc::new(tokio::sync::Semaphore::new(0));
    let stop = Stop::default();
    let scheduler = Scheduler {
        plan: Plan {
            seller_id: sim.config().seller_id,
            schedule: config.serve.schedule.clone(),
            retries: 0,
            retry_delay: Duration::from_secs(1),
        },
        clock: Arc::new(meli_stock::serve::SystemClock),
        jitter: fixed_jitter(Duration::ZERO),
        job: Arc::new(SyncRunner {
            store: db.store.clone(),
            client,
            config: config.clone(),
        }),
        observer: Arc::new(Channel {
            tx,
            go_on: go_on.clone(),
        }),
    };

    // Act: two runs, then stop
    let task = tokio::spawn(scheduler.run(None, stop.clone()));
    let first = rx.recv().await.unwrap();
    sim.sell(&sellable(&sim), 1).unwrap();
    go_on.add_permits(1);
    let second = rx.recv().await.unwrap();
    stop.stop.cancel();
    go_on.add_permits(1);
    task.await.unwrap();

    // Assert: both succeeded, one after the other, and both are in the ledger
    assert_eq!(first.outcome, Outcome::Success, "{first:?}");
    assert_eq!(second.outcome, Outcome::Success, "{second:?}");
    assert!(second.started_at >= first.finished_at);
    let runs = db.store.recent_runs(Some(SELLER), 10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.outcome == RunOutcome::Success));
    assert!(runs[0].started_at >= runs[1].finished_at.unwrap());
    assert_eq!(runs[0].rows_changed, 1, "the sale between the runs");
}

/// An active plain listing with stock to sell.
fn sellable(sim: &meli_sim::SimHandle) -> String {
    let listings = sim.catalogue().listings;
    let products = listings
        .iter()
        .filter(|l| l.kind != meli_sim::ListingKind::Foreign)
        .enumerate()
        .filter(|(i, _)| (i + 1) % 10 != 0)
        .map(|(_, l)| l);
    products
        .filter(|l| l.kind == meli_sim::ListingKind::Plain)
        .find(|l| l.status == "active" && l.available_quantity > 2)
        .unwrap()
        .id
        .clone()
}

both_stores!(the_real_sync_runs_on_schedule_without_overlapping);
