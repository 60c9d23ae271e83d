//! Shared server state: the catalogue, tokens, limits, faults, counters and scrolls, each
//! behind its own lock so short handlers rarely wait on each other.
//!
//! Locks are never held across an `.await`, and no code path holds two of them at once
//! except `world` followed by nothing else, so there is no lock ordering to get wrong.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::TimeDelta;
use http::HeaderMap;

use crate::auth::{AppRegistration, AuthState, Caller, TokenPolicy};
use crate::catalogue::World;
use crate::clock::{SimClock, delta};
use crate::config::SimConfig;
use crate::errors::MlError;
use crate::faults::FaultState;
use crate::limits::Limits;
use crate::scroll::Scrolls;

/// Locks a mutex, recovering the data if a panicking thread poisoned it (the state stays
/// usable for the remaining requests of a test).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug)]
pub(crate) struct Sim {
    pub(crate) config: SimConfig,
    pub(crate) clock: SimClock,
    pub(crate) main_app: AppRegistration,
    world: Mutex<World>,
    pub(crate) auth: Mutex<AuthState>,
    pub(crate) limits: Mutex<Limits>,
    pub(crate) faults: Arc<Mutex<FaultState>>,
    pub(crate) counters: Mutex<BTreeMap<(String, u16), u64>>,
    pub(crate) scrolls: Mutex<Scrolls>,
}

impl Sim {
    pub(crate) fn new(config: SimConfig, world: World, main_app: AppRegistration) -> Self {
        let faults = FaultState::new(config.latency, config.latency_jitter);
        let mut auth = AuthState::default();
        auth.register(main_app.clone());
        Self {
            config,
            clock: SimClock::default(),
            main_app,
            world: Mutex::new(world),
            auth: Mutex::new(auth),
            limits: Mutex::new(Limits::default()),
            faults: Arc::new(Mutex::new(faults)),
            counters: Mutex::new(BTreeMap::new()),
            scrolls: Mutex::new(Scrolls::default()),
        }
    }

    /// The catalogue, with every propagation that is due by now applied first.
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        let mut world = lock(&self.world);
        world.apply_due(self.clock.now());
        world
    }

    pub(crate) fn policy(&self) -> TokenPolicy {
        TokenPolicy {
            access_ttl: self.config.access_token_ttl,
            refresh_kills_previous_access: self.config.refresh_kills_previous_access,
        }
    }

    /// The owner of the request's bearer token (400 malformed, 401 unknown or expired).
    pub(crate) fn caller(&self, headers: &HeaderMap) -> Result<Caller, MlError> {
        let header = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        lock(&self.auth).check(header, self.clock.now())
    }

    pub(crate) fn propagation_delay(&self) -> TimeDelta {
        delta(self.config.sibling_propagation_delay)
    }

    pub(crate) fn count(&self, endpoint: &str, status: u16) {
        *lock(&self.counters)
            .entry((endpoint.to_owned(), status))
            .or_insert(0) += 1;
    }
}
