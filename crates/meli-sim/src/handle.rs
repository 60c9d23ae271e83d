//! [`spawn`] and [`SimHandle`]: start a simulator on 127.0.0.1 and drive it from tests,
//! benchmarks and the binary.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use rand::Rng;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::info;

use crate::auth::AppRegistration;
use crate::catalogue::Catalogue;
use crate::clock::SimClock;
use crate::config::SimConfig;
use crate::counters::SimCounters;
use crate::faults::Faults;
use crate::state::{Sim, lock};

/// Redirect URI registered for the simulator's own app.
pub const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1/meli-sim/callback";

/// The simulated app's credentials and the seller's current token pair.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The app's numeric `client_id`.
    pub app_id: String,
    /// The app's `client_secret`.
    pub secret: String,
    /// The simulated seller's user id.
    pub seller_id: u64,
    /// Latest access token of the most recently used grant.
    pub access_token: String,
    /// The one refresh token of that grant that still works.
    pub refresh_token: String,
    /// The redirect URI registered for the app ([`DEFAULT_REDIRECT_URI`]).
    pub redirect_uri: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("app_id", &self.app_id)
            .field("secret", &"[redacted]")
            .field("seller_id", &self.seller_id)
            .field("access_token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

struct Server {
    sim: Arc<Sim>,
    address: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

/// A running simulator. Clones share it; it stops when the last clone is dropped or on
/// [`SimHandle::shutdown`].
#[derive(Clone)]
pub struct SimHandle {
    server: Arc<Server>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("address", &self.server.address)
            .finish()
    }
}

fn validate(config: &SimConfig) -> anyhow::Result<()> {
    let site_ok = config.site.len() == 3 && config.site.bytes().all(|b| b.is_ascii_uppercase());
    anyhow::ensure!(
        site_ok,
        "site {:?} must be three uppercase letters like MLC",
        config.site
    );
    anyhow::ensure!(config.seller_id > 0, "seller_id must be positive");
    anyhow::ensure!(!config.rps.is_nan(), "rps must be a number");
    anyhow::ensure!(
        !config.scroll_ttl.is_zero(),
        "scroll_ttl must be above zero"
    );
    Ok(())
}

/// Generates the catalogue for `config`, binds 127.0.0.1:`config.port` and starts serving.
///
/// # Errors
/// Invalid settings (site, seller id) or a port that cannot be bound.
pub async fn spawn(config: SimConfig) -> anyhow::Result<SimHandle> {
    validate(&config)?;

    let world = crate::generator::generate(&config);
    let secret: String = {
        let mut rng = rand::rng();
        (0..32)
            .map(|_| char::from(rng.sample(rand::distr::Alphanumeric)))
            .collect()
    };
    let main_app = AppRegistration {
        app_id: (4_000_000_000_000_000 + config.seed % 1_000_000_000_000_000).to_string(),
        secret,
        redirect_uri: DEFAULT_REDIRECT_URI.to_owned(),
        use_pkce: false,
    };
    let sim = Arc::new(Sim::new(config.clone(), world, main_app.clone()));
    lock(&sim.auth).open_grant(
        &main_app.app_id,
        config.seller_id,
        sim.policy(),
        sim.clock.now(),
    );

    let listener = TcpListener::bind(("127.0.0.1", config.port))
        .await
        .with_context(|| format!("failed to bind 127.0.0.1:{}", config.port))?;
    let address = listener
        .local_addr()
        .context("failed to read the bound address")?;
    let (shutdown, stopped) = watch::channel(false);
    let router = crate::routes::router(Arc::clone(&sim));
    let task = tokio::spawn(crate::server::serve(listener, router, stopped));

    info!(%address, items = config.items, seed = config.seed, "simulator listening");
    Ok(SimHandle {
        server: Arc::new(Server {
            sim,
            address,
            shutdown,
            task: Mutex::new(Some(task)),
        }),
    })
}

impl SimHandle {
    fn sim(&self) -> &Sim {
        &self.server.sim
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> url::Url {
        let text = format!("http://{}/", self.server.address);
        url::Url::parse(&text).expect("a socket address always forms a valid URL")
    }

    /// The settings this simulator runs with.
    pub fn config(&self) -> &SimConfig {
        &self.sim().config
    }

    /// App credentials plus the seller's currently valid token pair.
    pub fn credentials(&self) -> Credentials {
        let sim = self.sim();
        let (access_token, refresh_token) = lock(&sim.auth).latest_pair().unwrap_or_default();
        Credentials {
            app_id: sim.main_app.app_id.clone(),
            secret: sim.main_app.secret.clone(),
            seller_id: sim.config.seller_id,
            access_token,
            refresh_token,
            redirect_uri: sim.main_app.redirect_uri.clone(),
        }
    }

    /// `ML_API_URL`, `ML_APP_ID`, `ML_SECRET`, `ML_SELLER_ID`, `ML_ACCESS_TOKEN` and
    /// `ML_REFRESH_TOKEN`, one `NAME=value` per line.
    pub fn env_lines(&self) -> String {
        let c = self.credentials();
        format!(
            "ML_API_URL={}\nML_APP_ID={}\nML_SECRET={}\nML_SELLER_ID={}\nML_ACCESS_TOKEN={}\n\
             ML_REFRESH_TOKEN={}\n",
            self.base_url(),
            c.app_id,
            c.secret,
            c.seller_id,
            c.access_token,
            c.refresh_token
        )
    }

    /// Fault switches (errors, drops, truncation, 429 bursts, latency).
    pub fn faults(&self) -> Faults {
        Faults::new(Arc::clone(&self.sim().faults))
    }

    /// Requests seen so far by (endpoint label, status).
    pub fn counters(&self) -> SimCounters {
        SimCounters {
            requests: lock(&self.sim().counters).clone(),
        }
    }

    /// A copy of the catalogue as ML shows it now.
    pub fn catalogue(&self) -> Catalogue {
        self.sim().world().snapshot()
    }

    /// Per item, the stock ML holds now: the sum over the item's distinct UPs (legacy
    /// items: their own quantity); closed items included.
    pub fn expected_totals(&self) -> BTreeMap<String, i64> {
        self.sim().world().expected_totals()
    }

    /// A buyer purchase: stock goes down, the item pauses at 0.
    ///
    /// # Errors
    /// Unknown item, non-positive quantity or more than the item holds.
    pub fn sell(&self, item_id: &str, quantity: i64) -> anyhow::Result<()> {
        let now = self.sim().clock.now();
        Ok(self.sim().world().sell(item_id, quantity, now)?)
    }

    /// The seller adds stock: the item reactivates unless paused by the seller.
    ///
    /// # Errors
    /// Unknown item or non-positive quantity.
    pub fn restock(&self, item_id: &str, quantity: i64) -> anyhow::Result<()> {
        let now = self.sim().clock.now();
        Ok(self.sim().world().restock(item_id, quantity, now)?)
    }

    /// Seller status change: `paused` (by seller), `active` or `closed`.
    ///
    /// # Errors
    /// Unknown item or another status.
    pub fn set_status(&self, item_id: &str, status: &str) -> anyhow::Result<()> {
        let now = self.sim().clock.now();
        Ok(self.sim().world().set_status(item_id, status, now)?)
    }

    /// Removes a listing: it leaves search results and reads answer 404.
    ///
    /// # Errors
    /// Unknown item.
    pub fn delete_item(&self, item_id: &str) -> anyhow::Result<()> {
        let now = self.sim().clock.now();
        Ok(self.sim().world().delete(item_id, now)?)
    }

    /// The simulated clock (advance it to expire tokens, scrolls and write windows).
    pub fn clock(&self) -> SimClock {
        self.sim().clock.clone()
    }

    /// Revokes every grant: all tokens stop working (`invalid_grant` / 401).
    pub fn revoke_grant(&self) {
        lock(&self.sim().auth).revoke_all();
    }

    /// Expires every access token issued so far; refresh tokens keep working.
    pub fn expire_access_tokens(&self) {
        let now = self.sim().clock.now();
        lock(&self.sim().auth).expire_access_tokens(now);
    }

    /// Registers another OAuth app (e.g. one with PKCE on, or a second `client_id`).
    pub fn register_app(&self, app: AppRegistration) {
        lock(&self.sim().auth).register(app);
    }

    /// Mints an authorization code for the simulator's own app, as the browser step would.
    ///
    /// # Errors
    /// Wrong redirect URI, or a missing challenge when the app requires PKCE.
    pub fn authorize(
        &self,
        redirect_uri: &str,
        code_challenge: Option<(&str, &str)>,
    ) -> anyhow::Result<String> {
        let app_id = self.sim().main_app.app_id.clone();
        self.authorize_app(&app_id, redirect_uri, code_challenge)
    }

    /// Mints an authorization code for `app_id`; `code_challenge` is `(challenge, method)`.
    ///
    /// # Errors
    /// Unknown app, wrong redirect URI, or a missing challenge when the app requires PKCE.
    pub fn authorize_app(
        &self,
        app_id: &str,
        redirect_uri: &str,
        code_challenge: Option<(&str, &str)>,
    ) -> anyhow::Result<String> {
        let sim = self.sim();
        let now = sim.clock.now();
        lock(&sim.auth)
            .authorize(
                app_id,
                redirect_uri,
                code_challenge,
                sim.config.seller_id,
                now,
            )
            .map_err(|e| anyhow::anyhow!("authorization failed: {}: {}", e.error, e.description))
    }

    /// Stops the server and waits for the accept loop to end.
    pub async fn shutdown(self) {
        self.server.shutdown.send_replace(true);
        let task = lock(&self.server.task).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}
