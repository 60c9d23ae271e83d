//! When runs are due: a fixed interval or a cron expression, the random jitter added to each
//! slot, and the clock the scheduler reads.
//!
//! Slots are computed from the previous slot, never from the jittered start, so jitter does
//! not accumulate: with `1h` and a jitter of 2 minutes every run starts within 2 minutes after
//! its hour.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

use super::cron::Cron;

/// How often a seller is synced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// A run every this long, counted from the start of the previous one.
    Every(Duration),
    /// A run at every time the expression fires (UTC).
    Cron(Cron),
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Every(d) => write!(f, "every {}", humantime::format_duration(*d)),
            Schedule::Cron(cron) => write!(f, "cron `{cron}` (UTC)"),
        }
    }
}

impl Schedule {
    /// Reads `1h`, `30m`, `3600` (seconds) as an interval, anything else as a cron
    /// expression.
    ///
    /// # Errors
    /// A message saying what is wrong with the interval or the expression.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let text = text.trim();
        if text.starts_with(|c: char| c.is_ascii_digit()) && !text.contains(char::is_whitespace) {
            let every = crate::config::parse_duration(text)?;
            if every.is_zero() {
                return Err("the interval must be longer than zero".to_owned());
            }
            return Ok(Schedule::Every(every));
        }
        Cron::parse(text)
            .map(Schedule::Cron)
            .map_err(|e| format!("{e}; or give an interval such as 30m or 1h"))
    }

    /// The first slot strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Schedule::Every(every) => after + to_chrono(*every),
            // A parsed expression fires within its horizon; a year later is the fallback
            // that keeps the scheduler alive should it not.
            Schedule::Cron(cron) => cron
                .next_after(after)
                .unwrap_or_else(|| after + chrono::Duration::days(365)),
        }
    }
}

/// A `std` duration as a chrono one, saturating.
pub fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The time as the scheduler sees it.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Wall time that moves with tokio's clock: a start instant plus tokio's elapsed time. Under
/// `tokio::time::pause` it jumps exactly as far as tokio's timers do, which makes schedules
/// testable to the second.
#[derive(Debug, Clone)]
pub struct TokioClock {
    start: DateTime<Utc>,
    started: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `start` now.
    pub fn starting_at(start: DateTime<Utc>) -> TokioClock {
        TokioClock {
            start,
            started: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + to_chrono(self.started.elapsed())
    }
}

/// Sleeps until `clock` reads `at` or later. Sleeps in steps of at most a minute and reads
/// the clock again after each, so a wall clock that is set forward or back is followed.
pub async fn sleep_until(clock: &dyn Clock, at: DateTime<Utc>) {
    const STEP: Duration = Duration::from_secs(60);
    loop {
        let left = at - clock.now();
        let Ok(left) = left.to_std() else {
            return;
        };
        if left.is_zero() {
            return;
        }
        tokio::time::sleep(left.min(STEP)).await;
    }
}

/// Picks the random delay added to a slot.
pub type Jitter = Arc<dyn Fn() -> Duration + Send + Sync>;

/// A uniformly random delay from zero to `max`.
pub fn random_jitter(max: Duration) -> Jitter {
    Arc::new(move || {
        if max.is_zero() {
            return Duration::ZERO;
        }
        let millis = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    })
}

/// Always the same delay (zero in most tests).
pub fn fixed_jitter(delay: Duration) -> Jitter {
    Arc::new(move || delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_cron_expressions_are_told_apart() {
        assert_eq!(
            Schedule::parse("90m"),
            Ok(Schedule::Every(Duration::from_secs(5400)))
        );
        assert_eq!(
            Schedule::parse("600"),
            Ok(Schedule::Every(Duration::from_secs(600)))
        );
        assert!(matches!(
            Schedule::parse("0 * * * *"),
            Ok(Schedule::Cron(_))
        ));
        assert!(matches!(Schedule::parse("@daily"), Ok(Schedule::Cron(_))));
    }

    #[test]
    fn a_bad_schedule_is_explained() {
        let zero = Schedule::parse("0s").expect_err("zero");
        let nonsense = Schedule::parse("hourly please").expect_err("nonsense");

        assert!(zero.contains("longer than zero"), "{zero}");
        assert!(nonsense.contains("five"), "{nonsense}");
        assert!(nonsense.contains("interval such as 30m"), "{nonsense}");
    }

    #[test]
    fn random_jitter_stays_within_its_bound() {
        let jitter = random_jitter(Duration::from_secs(120));

        for _ in 0..200 {
            assert!(jitter() <= Duration::from_secs(120));
        }
        assert_eq!(random_jitter(Duration::ZERO)(), Duration::ZERO);
    }
}
