//! `meli-stock serve`: the long-running process. It syncs every seller on a schedule, keeps
//! access tokens fresh between runs, raises alerts, and answers health, metrics and JSON
//! requests over HTTP, until SIGTERM or SIGINT.
//!
//! # Layout
//! - `cron`, `schedule`: when runs are due, and the clock read to decide.
//! - `scheduler`: the per-seller loop (no overlap, catch-up at start, retries).
//! - `job`: the real sync behind the scheduler's [`scheduler::SyncJob`].
//! - `watch`: the checks between runs (staleness, token refresh and age, reminders).
//! - `signals`: SIGTERM and SIGINT.
//!
//! # Shutdown
//! On the first signal no new run starts and the checks stop. A running sync gets
//! `MELI_STOCK_SHUTDOWN_DEADLINE` to finish; after that it is dropped where it stands, which
//! rolls back its write transaction, records the run as cancelled and releases the seller's
//! lock. A second signal skips the rest of the deadline. The HTTP listener keeps answering
//! until the runs are done, then stops too.

pub mod cron;
mod job;
pub mod schedule;
pub mod scheduler;
mod signals;
mod watch;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use job::SyncRunner;
pub use schedule::{Clock, Jitter, Schedule, SystemClock, TokioClock};
pub use scheduler::{Attempt, Outcome, Plan, RunObserver, Scheduler, Stop, SyncJob};

use crate::accounts::{AccountSource, StoredAccounts};
use crate::alerts::Alerter;
use crate::config::Config;
use crate::error::Failure;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::web::{self, AppState};

/// How often the checks between runs wake.
pub const WATCH_EVERY: Duration = Duration::from_secs(60);

/// Time allowed, after the abort, for runs to record themselves before they are abandoned.
const ABANDON_AFTER: Duration = Duration::from_secs(30);

/// Everything a serving process is made of; the binary builds it from the settings, tests
/// from parts of their own.
pub struct Parts {
    pub config: Config,
    pub store: Store,
    pub accounts: Arc<dyn AccountSource>,
    pub alerter: Arc<Alerter>,
    pub clock: Arc<dyn Clock>,
    pub jitter: Jitter,
    /// How often the checks between runs wake ([`WATCH_EVERY`] in the binary).
    pub watch_every: Duration,
}

/// A serving process: its HTTP address, its tasks and the means to stop them.
pub struct Running {
    address: SocketAddr,
    stop: Stop,
    web_stop: CancellationToken,
    schedulers: Vec<JoinHandle<()>>,
    watchers: Vec<JoinHandle<()>>,
    web: JoinHandle<()>,
    metrics: Arc<Metrics>,
}

/// Tells metrics and alerts about every attempt.
struct Report {
    metrics: Arc<Metrics>,
    alerter: Arc<Alerter>,
}

#[async_trait]
impl RunObserver for Report {
    async fn attempt_finished(&self, attempt: &Attempt) {
        self.metrics.record_attempt(attempt);
        if attempt.last {
            self.alerter
                .observe_run(
                    attempt.seller_id,
                    &attempt.outcome,
                    attempt.record.as_ref(),
                    attempt.started_at,
                    attempt.finished_at,
                )
                .await;
        }
    }
}

/// Starts the schedulers, the checks and the HTTP listener.
///
/// # Errors
/// [`Failure::Run`] when the store cannot say when each seller last succeeded.
pub async fn start(parts: Parts, listener: TcpListener) -> Result<Running, Failure> {
    let address = listener
        .local_addr()
        .map_err(|e| Failure::Run(anyhow!("cannot read the listening address: {e}")))?;
    let started_at = parts.clock.now();
    let metrics = Arc::new(Metrics::default());
    let stop = Stop::default();
    let serve = &parts.config.serve;

    let mut schedulers = Vec::new();
    let mut watchers = Vec::new();
    for account in parts.accounts.accounts() {
        let seller_id = account.seller_id;
        let last = parts
            .store
            .last_success(seller_id)
            .await
            .map_err(|e| Failure::Run(e.into()))?;
        metrics.add_seller(seller_id, last.as_ref());

        let scheduler = Scheduler {
            plan: Plan {
                seller_id,
                schedule: serve.schedule.clone(),
                retries: serve.run_retries,
                retry_delay: serve.retry_delay,
            },
            clock: parts.clock.clone(),
            jitter: parts.jitter.clone(),
            job: Arc::new(SyncRunner {
                store: parts.store.clone(),
                client: account.client.clone(),
                config: parts.config.clone(),
            }),
            observer: Arc::new(Report {
                metrics: metrics.clone(),
                alerter: parts.alerter.clone(),
            }),
        };
        let last_success = last.and_then(|r| r.finished_at);
        schedulers.push(tokio::spawn(scheduler.run(last_success, stop.clone())));

        let watch = watch::Watch {
            account: account.clone(),
            accounts: parts.accounts.clone(),
            store: parts.store.clone(),
            alerter: parts.alerter.clone(),
            clock: parts.clock.clone(),
            every: parts.watch_every,
            token_every: serve.token_check_every,
            stale_after: parts.config.alerts.stale_after,
            started_at,
        };
        watchers.push(tokio::spawn(watch.run(stop.stop.clone())));
    }

    let state = AppState {
        store: parts.store.clone(),
        accounts: parts.accounts.clone(),
        metrics: metrics.clone(),
        alerter: parts.alerter.clone(),
        clock: parts.clock.clone(),
        stale_after: parts.config.alerts.stale_after,
        bearer: serve.bearer_token.clone(),
    };
    let web_stop = CancellationToken::new();
    let stopped = web_stop.clone();
    let web = tokio::spawn(async move {
        if let Err(e) = web::serve(listener, state, stopped.cancelled_owned()).await {
            warn!(error = %e, "the HTTP listener failed");
        }
    });

    Ok(Running {
        address,
        stop,
        web_stop,
        schedulers,
        watchers,
        web,
        metrics,
    })
}

impl Running {
    /// Where the HTTP endpoints answer.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The metrics this process keeps.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The shutdown's two tokens, to abort early (a second signal).
    pub fn stop_handle(&self) -> Stop {
        self.stop.clone()
    }

    /// Stops: no new run, `deadline` for a running one, then abort; returns when every task
    /// has ended.
    pub async fn shutdown(self, deadline: Duration) {
        self.stop.stop.cancel();
        let abort = self.stop.abort.clone();
        let timer = tokio::spawn(async move {
            tokio::time::sleep(deadline).await;
            if !abort.is_cancelled() {
                warn!(
                    deadline_s = deadline.as_secs(),
                    "shutdown deadline passed; rolling back the running syncs"
                );
                abort.cancel();
            }
        });

        for watcher in self.watchers {
            let _ = watcher.await;
        }
        let abort = self.stop.abort.clone();
        for mut scheduler in self.schedulers {
            let finished = tokio::select! {
                result = &mut scheduler => Some(result),
                () = async {
                    abort.cancelled().await;
                    tokio::time::sleep(ABANDON_AFTER).await;
                } => None,
            };
            if finished.is_none() {
                warn!("a run did not end after its abort; abandoning it");
                scheduler.abort();
            }
        }
        timer.abort();

        self.web_stop.cancel();
        let _ = self.web.await;
        info!("serve stopped");
    }
}

/// `meli-stock serve`: builds everything from `config`, serves until a signal, then stops.
///
/// # Errors
/// [`Failure::Input`] for bad settings or an address that cannot be bound; any failure of
/// reaching the store or ML at start.
pub async fn run(config: &Config) -> Result<(), Failure> {
    // A new embedded store holds no account: without a seller and a token to import there
    // is nothing to serve, which is said before the file or a key is created.
    let importable = config.ml.seller_id.is_some() && config.ml.refresh_token.is_some();
    if crate::cli::fresh_embedded_store(config) && !importable {
        return Err(crate::accounts::no_seller_to_serve());
    }
    let store = crate::cli::open_store(config).await?;
    let accounts: Arc<dyn AccountSource> = Arc::new(StoredAccounts::open(&store, config).await?);
    let alerter = Alerter::from_settings(store.clone(), &config.alerts).map_err(Failure::Input)?;
    let listen = config.serve.listen;
    let listener = TcpListener::bind(listen).await.map_err(|e| {
        Failure::Input(anyhow!(
            "cannot listen on {listen}: {e}; choose another address with --listen or \
             MELI_STOCK_LISTEN"
        ))
    })?;

    let parts = Parts {
        config: config.clone(),
        store: store.clone(),
        accounts: accounts.clone(),
        alerter: Arc::new(alerter),
        clock: Arc::new(SystemClock),
        jitter: schedule::random_jitter(config.serve.jitter),
        watch_every: WATCH_EVERY,
    };
    let running = start(parts, listener).await?;
    let sellers: Vec<u64> = accounts.accounts().iter().map(|a| a.seller_id).collect();
    info!(
        address = %running.address(),
        sellers = ?sellers,
        schedule = %config.serve.schedule,
        store = %store.describe(),
        "serving"
    );

    signals::terminated().await;
    let early = running.stop_handle();
    let second = tokio::spawn(async move {
        signals::terminated().await;
        info!("second stop request; not waiting for the deadline");
        early.abort.cancel();
    });
    running.shutdown(config.serve.shutdown_deadline).await;
    second.abort();
    store.close().await;
    Ok(())
}

/// When the newest successful run of a seller ended, if any.
pub async fn last_success_at(
    store: &Store,
    seller_id: u64,
) -> Result<Option<DateTime<Utc>>, Failure> {
    let run = store
        .last_success(seller_id)
        .await
        .map_err(|e| Failure::Run(e.into()))?;
    Ok(run.and_then(|r| r.finished_at))
}
