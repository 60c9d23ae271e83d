//! Call counters the caller can read: requests per (endpoint, status), retries and 429s.
//!
//! They prove how many calls a sync took (a run's cost at ML's limits) and feed metrics.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::endpoint::Endpoint;

/// Live counters shared by every clone of a client.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: Mutex<BTreeMap<(Endpoint, u16), u64>>,
    retries: AtomicU64,
    rate_limited: AtomicU64,
}

impl Counters {
    /// One request sent; `status` 0 when no response came back.
    pub(crate) fn record_request(&self, endpoint: Endpoint, status: u16) {
        let mut map = self
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *map.entry((endpoint, status)).or_insert(0) += 1;
    }

    /// One request about to be sent again after a 429, 5xx or transport failure.
    pub(crate) fn record_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// One 429 answer received.
    pub(crate) fn record_rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> CountersSnapshot {
        let map = self
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let requests = map
            .iter()
            .map(|((endpoint, status), n)| ((endpoint.label().to_string(), *status), *n))
            .collect();

        CountersSnapshot {
            requests,
            retries: self.retries.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
        }
    }
}

/// A copy of the counters at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// Requests sent, by (endpoint label, HTTP status); status 0 means no response (timeout,
    /// reset, refused connection).
    pub requests: BTreeMap<(String, u16), u64>,
    /// Re-sends after a 429, a 5xx or a transport failure. The single re-send after a 401 and
    /// a token refresh is not counted here; it shows as a second request.
    pub retries: u64,
    /// 429 answers received.
    pub rate_limited: u64,
}

impl CountersSnapshot {
    /// Requests sent to `endpoint`, whatever their outcome.
    pub fn calls(&self, endpoint: Endpoint) -> u64 {
        self.requests
            .iter()
            .filter(|((label, _), _)| label == endpoint.label())
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests sent to `endpoint` that got `status` (0 = no response).
    pub fn calls_with_status(&self, endpoint: Endpoint, status: u16) -> u64 {
        self.requests
            .get(&(endpoint.label().to_string(), status))
            .copied()
            .unwrap_or(0)
    }

    /// Requests per endpoint label, whatever their outcome.
    pub fn by_endpoint(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for ((label, _), n) in &self.requests {
            *out.entry(label.clone()).or_insert(0) += n;
        }
        out
    }

    /// Requests sent to every endpoint.
    pub fn total(&self) -> u64 {
        self.requests.values().sum()
    }

    /// This snapshot and `other` together (a client's calls and its token provider's).
    pub fn plus(&self, other: &CountersSnapshot) -> CountersSnapshot {
        let mut requests = self.requests.clone();
        for (key, n) in &other.requests {
            *requests.entry(key.clone()).or_insert(0) += n;
        }

        CountersSnapshot {
            requests,
            retries: self.retries + other.retries,
            rate_limited: self.rate_limited + other.rate_limited,
        }
    }

    /// What happened between `earlier` and this snapshot (one sync run's calls on a client
    /// that lives longer). Keys with no new requests are left out.
    pub fn since(&self, earlier: &CountersSnapshot) -> CountersSnapshot {
        let requests = self
            .requests
            .iter()
            .filter_map(|(key, n)| {
                let before = earlier.requests.get(key).copied().unwrap_or(0);
                let delta = n.saturating_sub(before);
                (delta > 0).then(|| (key.clone(), delta))
            })
            .collect();

        CountersSnapshot {
            requests,
            retries: self.retries.saturating_sub(earlier.retries),
            rate_limited: self.rate_limited.saturating_sub(earlier.rate_limited),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_sums_by_endpoint_and_status() {
        let counters = Counters::default();
        counters.record_request(Endpoint::Items, 200);
        counters.record_request(Endpoint::Items, 200);
        counters.record_request(Endpoint::Items, 429);
        counters.record_request(Endpoint::UsersMe, 0);
        counters.record_retry();
        counters.record_rate_limited();

        let snap = counters.snapshot();

        assert_eq!(snap.calls(Endpoint::Items), 3);
        assert_eq!(snap.calls_with_status(Endpoint::Items, 200), 2);
        assert_eq!(snap.calls_with_status(Endpoint::UsersMe, 0), 1);
        assert_eq!(snap.total(), 4);
        assert_eq!(snap.by_endpoint().get("items"), Some(&3));
        assert_eq!((snap.retries, snap.rate_limited), (1, 1));
    }

    #[test]
    fn since_keeps_only_what_happened_after_the_earlier_snapshot() {
        let counters = Counters::default();
        counters.record_request(Endpoint::Items, 200);
        counters.record_retry();
        let before = counters.snapshot();
        counters.record_request(Endpoint::Items, 200);
        counters.record_request(Endpoint::UsersMe, 200);

        let delta = counters.snapshot().since(&before);

        assert_eq!(delta.calls(Endpoint::Items), 1);
        assert_eq!(delta.calls(Endpoint::UsersMe), 1);
        assert_eq!((delta.total(), delta.retries), (2, 0));
    }
}
