//! Request counters per (endpoint label, HTTP status), including 429s and injected faults;
//! a dropped connection counts under status 0.

use std::collections::BTreeMap;

/// A copy of the simulator's request counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimCounters {
    /// `(endpoint label, status)` -> requests. Status 0 means the connection was dropped.
    pub requests: BTreeMap<(String, u16), u64>,
}

impl SimCounters {
    /// Requests to `endpoint` answered with `status`.
    pub fn get(&self, endpoint: &str, status: u16) -> u64 {
        self.requests
            .get(&(endpoint.to_owned(), status))
            .copied()
            .unwrap_or(0)
    }

    /// All requests to `endpoint`, whatever the outcome.
    pub fn calls(&self, endpoint: &str) -> u64 {
        self.requests
            .iter()
            .filter(|((e, _), _)| e == endpoint)
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests of any endpoint answered with `status`.
    pub fn with_status(&self, status: u16) -> u64 {
        self.requests
            .iter()
            .filter(|((_, s), _)| *s == status)
            .map(|(_, n)| n)
            .sum()
    }

    /// Every request counted.
    pub fn total(&self) -> u64 {
        self.requests.values().sum()
    }
}
