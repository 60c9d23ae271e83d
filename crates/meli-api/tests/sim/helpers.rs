//! Spawning a simulator with ML's limits scaled up, and a client wired to its credentials.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use meli_api::{
    ClientConfig, InMemoryTokenProvider, MeliClient, OAuthClient, SecretString, TokenSet,
};
use meli_sim::{SimConfig, SimHandle};

/// ML's limits times this factor on both sides: the simulator allows 1000 requests/s.
pub const SCALE: f64 = 200.0;

pub struct TestSim {
    pub sim: SimHandle,
    pub client: MeliClient,
    pub provider: Arc<InMemoryTokenProvider>,
    pub oauth: OAuthClient,
}

/// The simulator's settings for a catalogue of `items` listings.
pub fn sim_config(items: usize) -> SimConfig {
    SimConfig {
        items,
        sibling_propagation_delay: Duration::ZERO,
        ..SimConfig::default()
    }
    .scaled_limits(SCALE)
}

/// Client settings that stay just under the simulator's scaled limits, so no 429 comes from
/// the token bucket (scripted ones still do).
pub fn client_config(sim: &SimHandle) -> ClientConfig {
    ClientConfig {
        base_url: sim.base_url(),
        max_attempts: 5,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_secs(3),
        request_timeout: Duration::from_secs(5),
        ..ClientConfig::default().scaled_limits(SCALE * 0.9)
    }
}

pub async fn spawn(items: usize) -> TestSim {
    spawn_with(sim_config(items)).await
}

pub async fn spawn_with(config: SimConfig) -> TestSim {
    let sim = meli_sim::spawn(config).await.unwrap();
    let client_config = client_config(&sim);
    let credentials = sim.credentials();

    let oauth = OAuthClient::new(
        &client_config,
        credentials.app_id.clone(),
        SecretString::from(credentials.secret.clone()),
    )
    .unwrap();
    let tokens = TokenSet {
        access_token: SecretString::from(credentials.access_token.clone()),
        refresh_token: Some(SecretString::from(credentials.refresh_token.clone())),
        expires_at: Utc::now() + chrono::Duration::hours(6),
        user_id: credentials.seller_id,
        scope: Some("offline_access read write".into()),
    };
    let provider = Arc::new(InMemoryTokenProvider::new(oauth.clone(), tokens));
    let client = MeliClient::new(client_config, provider.clone()).unwrap();

    TestSim {
        sim,
        client,
        provider,
        oauth,
    }
}

impl TestSim {
    pub fn seller_id(&self) -> u64 {
        self.sim.credentials().seller_id
    }

    /// Every id of one unfiltered scan, in the order pages came.
    pub async fn scan_all(&self) -> Vec<String> {
        use futures::TryStreamExt;

        let pages: Vec<_> = self
            .client
            .scan_item_ids(self.seller_id(), &[])
            .try_collect()
            .await
            .unwrap();
        pages.into_iter().flat_map(|page| page.ids).collect()
    }
}
