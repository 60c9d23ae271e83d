//! Fault switches: scripted errors, dropped connections, truncated bodies, 429 bursts and
//! latency, each optionally scoped to one endpoint label.
//!
//! Scripted faults run in the order they were added: a request takes the first rule whose
//! scope matches and that has answers left. Injected 5xx bodies follow doc §7; scripted
//! 429s use the gateway body `{"message":"local_rate_limited","status":429}`, with or without
//! `Retry-After`. Injected answers happen before the request reaches its handler (nothing
//! changes), except malformed bodies, which truncate the real answer.
//!
//! [`Faults::expire_access_tokens_after`] is not an answer but an event: after the given
//! number of matching requests, every access token issued so far expires, as if the next
//! request arrived just after their `expires_in` (a token expiring in the middle of a run).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::state::lock;

/// What a scripted fault does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this status (500, 502, 503, 504 get the doc §7 bodies).
    Fail { status: u16 },
    /// Close the connection without any response.
    Drop,
    /// Run the request but send 200 with a truncated JSON body.
    Malformed,
    /// Answer 429 `local_rate_limited`, with `Retry-After: n` when given.
    RateLimit { retry_after: Option<u64> },
}

#[derive(Debug, Clone)]
struct Rule {
    kind: FaultKind,
    /// Matching requests let through untouched before the rule starts firing.
    skip: u32,
    remaining: u32,
    scope: Option<String>,
}

/// Fault settings shared by the server and every [`Faults`] handle.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    rules: Vec<Rule>,
    latency: (Duration, Duration),
    scoped_latency: HashMap<String, (Duration, Duration)>,
    retry_after: Option<u64>,
    /// Matching requests still to pass before access tokens expire, and their scope.
    expire_tokens: Option<(u32, Option<String>)>,
}

impl FaultState {
    pub(crate) fn new(latency: Duration, jitter: Duration) -> Self {
        Self {
            latency: (latency, jitter),
            ..Self::default()
        }
    }

    /// Consumes and returns the next scripted fault for `endpoint`, if any.
    pub(crate) fn take(&mut self, endpoint: &str) -> Option<FaultKind> {
        let position = self.rules.iter().position(|r| {
            r.remaining > 0 && r.scope.as_deref().is_none_or(|scope| scope == endpoint)
        })?;
        let rule = &mut self.rules[position];
        if rule.skip > 0 {
            rule.skip -= 1;
            return None;
        }
        rule.remaining -= 1;
        let kind = rule.kind;
        if rule.remaining == 0 {
            self.rules.remove(position);
        }
        Some(kind)
    }

    /// Whether access tokens must expire before this request to `endpoint` is handled.
    pub(crate) fn expire_tokens_now(&mut self, endpoint: &str) -> bool {
        let Some((remaining, scope)) = &mut self.expire_tokens else {
            return false;
        };
        if scope.as_deref().is_some_and(|scope| scope != endpoint) {
            return false;
        }
        if *remaining > 0 {
            *remaining -= 1;
            return false;
        }
        self.expire_tokens = None;
        true
    }

    /// `(base, jitter)` latency for `endpoint`.
    pub(crate) fn latency(&self, endpoint: &str) -> (Duration, Duration) {
        self.scoped_latency
            .get(endpoint)
            .copied()
            .unwrap_or(self.latency)
    }

    /// `Retry-After` seconds sent with token-bucket 429s (`None`: no header).
    pub(crate) fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }
}

/// Handle to the fault switches of a running simulator (see [`crate::SimHandle::faults`]).
#[derive(Debug, Clone)]
pub struct Faults {
    state: Arc<Mutex<FaultState>>,
    scope: Option<String>,
    skip: u32,
}

impl Faults {
    pub(crate) fn new(state: Arc<Mutex<FaultState>>) -> Self {
        Self {
            state,
            scope: None,
            skip: 0,
        }
    }

    /// The same switches, limited to one endpoint label (e.g. `"items"`).
    pub fn for_endpoint(&self, endpoint: &str) -> Faults {
        Self {
            state: Arc::clone(&self.state),
            scope: Some(endpoint.to_owned()),
            skip: self.skip,
        }
    }

    /// The same switches, with faults added through the result letting the first `requests`
    /// matching requests through before they fire (a scan that breaks off after some pages).
    pub fn after(&self, requests: u32) -> Faults {
        Self {
            state: Arc::clone(&self.state),
            scope: self.scope.clone(),
            skip: requests,
        }
    }

    /// Adds a scripted fault for the next `count` matching requests.
    pub fn inject(&self, kind: FaultKind, count: u32) -> &Self {
        if count > 0 {
            let rule = Rule {
                kind,
                skip: self.skip,
                remaining: count,
                scope: self.scope.clone(),
            };
            lock(&self.state).rules.push(rule);
        }
        self
    }

    /// The next `count` requests answer `status` (e.g. 500, 502, 503, 504).
    pub fn fail_next(&self, count: u32, status: u16) -> &Self {
        self.inject(FaultKind::Fail { status }, count)
    }

    /// The next `count` requests get their connection closed without a response.
    pub fn drop_next(&self, count: u32) -> &Self {
        self.inject(FaultKind::Drop, count)
    }

    /// The next `count` requests get 200 with a truncated JSON body.
    pub fn malformed_next(&self, count: u32) -> &Self {
        self.inject(FaultKind::Malformed, count)
    }

    /// The next `count` requests get 429, with `Retry-After` when `retry_after` is given.
    pub fn rate_limit_next(&self, count: u32, retry_after: Option<u64>) -> &Self {
        self.inject(FaultKind::RateLimit { retry_after }, count)
    }

    /// After `count` more matching requests, every access token issued so far expires
    /// (refresh tokens keep working), so the next matching request gets 401.
    pub fn expire_access_tokens_after(&self, count: u32) -> &Self {
        lock(&self.state).expire_tokens = Some((count, self.scope.clone()));
        self
    }

    /// Latency added before each answer: `base` +/- uniform `jitter`.
    pub fn set_latency(&self, base: Duration, jitter: Duration) -> &Self {
        let mut state = lock(&self.state);
        match &self.scope {
            Some(scope) => {
                state.scoped_latency.insert(scope.clone(), (base, jitter));
            }
            None => state.latency = (base, jitter),
        }
        self
    }

    /// Whether token-bucket 429s carry `Retry-After`: `Some(n)` sends at least `n` seconds
    /// (more when the bucket needs longer to refill); `None`, the default, sends no header,
    /// since ML does not document one (doc §7). Scripted 429s set their own header.
    pub fn set_retry_after(&self, seconds: Option<u64>) -> &Self {
        lock(&self.state).retry_after = seconds;
        self
    }

    /// Scripted faults not yet used (in this handle's scope, or all when unscoped).
    pub fn pending(&self) -> u32 {
        lock(&self.state)
            .rules
            .iter()
            .filter(|r| self.scope.is_none() || r.scope == self.scope)
            .map(|r| r.remaining)
            .sum()
    }

    /// Removes scripted faults (of this scope, or all) and scoped latency.
    pub fn clear(&self) {
        let mut state = lock(&self.state);
        match &self.scope {
            Some(scope) => {
                state
                    .rules
                    .retain(|r| r.scope.as_deref() != Some(scope.as_str()));
                state.scoped_latency.remove(scope);
            }
            None => {
                state.rules.clear();
                state.scoped_latency.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_rules_only_hit_their_endpoint_and_run_out() {
        let faults = Faults::new(Arc::new(Mutex::new(FaultState::default())));
        faults.for_endpoint("items").fail_next(2, 503);

        let state = &faults.state;
        assert_eq!(lock(state).take("users_me"), None);
        assert_eq!(
            lock(state).take("items"),
            Some(FaultKind::Fail { status: 503 })
        );
        assert_eq!(
            lock(state).take("items"),
            Some(FaultKind::Fail { status: 503 })
        );
        assert_eq!(lock(state).take("items"), None);
    }

    #[test]
    fn a_rule_added_after_n_requests_lets_them_through_first() {
        let faults = Faults::new(Arc::new(Mutex::new(FaultState::default())));
        faults.for_endpoint("items").after(2).drop_next(1);

        let state = &faults.state;
        assert_eq!(lock(state).take("items"), None);
        assert_eq!(lock(state).take("users_me"), None);
        assert_eq!(lock(state).take("items"), None);
        assert_eq!(lock(state).take("items"), Some(FaultKind::Drop));
        assert_eq!(lock(state).take("items"), None);
    }

    #[test]
    fn token_expiry_fires_once_after_the_given_matching_requests() {
        let faults = Faults::new(Arc::new(Mutex::new(FaultState::default())));
        faults.for_endpoint("items").expire_access_tokens_after(1);

        let state = &faults.state;
        assert!(!lock(state).expire_tokens_now("users_me"));
        assert!(!lock(state).expire_tokens_now("items"));
        assert!(lock(state).expire_tokens_now("items"));
        assert!(!lock(state).expire_tokens_now("items"));
    }
}
