//! The real [`SyncJob`]: one `sync::run_until` for a seller, stopped by the scheduler's
//! abort token.

use async_trait::async_trait;
use meli_api::MeliClient;
use tokio_util::sync::CancellationToken;

use super::scheduler::{JobResult, Outcome, SyncJob};
use crate::config::Config;
use crate::error::Failure;
use crate::progress::Progress;
use crate::store::Store;
use crate::sync::{self, SyncOptions};

/// Runs syncs of one seller with that seller's client.
pub struct SyncRunner {
    pub store: Store,
    pub client: MeliClient,
    pub config: Config,
}

#[async_trait]
impl SyncJob for SyncRunner {
    async fn run(&self, seller_id: u64, abort: CancellationToken) -> JobResult {
        let options = SyncOptions {
            seller_id: Some(seller_id),
            ..SyncOptions::default()
        };
        // The run gets a task of its own: a panic in it ends that run, not the scheduler.
        let (store, client, config) =
            (self.store.clone(), self.client.clone(), self.config.clone());
        let stop = abort.clone();
        let task = tokio::spawn(async move {
            sync::run_until(
                &store,
                &client,
                &config,
                &options,
                &Progress::hidden(),
                stop.cancelled_owned(),
            )
            .await
        });
        let result = match task.await {
            Ok(result) => result,
            Err(e) => Err(Failure::Run(anyhow::anyhow!(
                "the sync task ended abnormally: {e}"
            ))),
        };

        match result {
            Ok(report) => JobResult {
                outcome: Outcome::Success,
                record: Some(report.record),
            },
            Err(_) if abort.is_cancelled() => JobResult {
                outcome: Outcome::Cancelled,
                record: None,
            },
            Err(failure) => JobResult {
                outcome: outcome_of(&failure),
                record: None,
            },
        }
    }
}

fn outcome_of(failure: &Failure) -> Outcome {
    match failure {
        Failure::Run(_) => Outcome::Failed(failure.to_string()),
        Failure::Input(_) => Outcome::Invalid(failure.to_string()),
        Failure::Reauth(_) => Outcome::Reauth(failure.to_string()),
        Failure::Locked { .. } => Outcome::Locked,
    }
}
