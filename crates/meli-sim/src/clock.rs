//! The simulator's clock: wall time plus an offset that tests move forward.
//!
//! Everything with a lifetime (tokens, codes, scrolls, rate buckets, the item write window,
//! sibling propagation) reads this clock, so `SimClock::advance` expires tokens or scrolls
//! without sleeping. Latency injection sleeps real time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// Shared, cloneable view of the simulated time.
#[derive(Debug, Clone, Default)]
pub struct SimClock {
    offset_ms: Arc<AtomicI64>,
}

impl SimClock {
    /// Current simulated time: the wall clock plus every `advance` so far.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }

    /// Moves simulated time forward by `by` (tokens, scrolls and buckets age with it).
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 2);
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Total time added by `advance` so far.
    pub fn offset(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.offset_ms.load(Ordering::SeqCst)).unwrap_or(0))
    }
}

/// Converts a std duration to a chrono delta, saturating instead of failing.
pub(crate) fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_now_forward() {
        let clock = SimClock::default();
        let before = clock.now();

        clock.advance(Duration::from_secs(3600));

        assert!(clock.now() - before >= TimeDelta::seconds(3600));
        assert_eq!(clock.offset(), Duration::from_secs(3600));
    }
}
