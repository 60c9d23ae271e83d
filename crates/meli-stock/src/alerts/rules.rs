//! When an alert is sent: the state machine of one alert, free of I/O.
//!
//! An alert is sent once when its condition starts (firing), again every reminder interval
//! while it holds (reminder), and once when it ends (resolved), and never otherwise. The
//! unmatched-listings alert has no lasting condition: it is sent when a run counts more
//! unmatched listings than were last reported, and a lower count silently becomes the new
//! baseline.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::serve::schedule::to_chrono;
use crate::store::AlertRow;

/// The alerts meli-stock sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A scheduled run failed after its retries.
    RunFailed,
    /// ML refused the refresh token; the seller must authorize again.
    ReauthRequired,
    /// No successful run for longer than the threshold.
    Stale,
    /// The refresh token is near the end of its six-month life.
    RefreshTokenExpiring,
    /// A run counted more unmatched listings than last reported.
    UnmatchedIncreased,
}

impl AlertKind {
    /// Every kind.
    pub const ALL: [AlertKind; 5] = [
        AlertKind::RunFailed,
        AlertKind::ReauthRequired,
        AlertKind::Stale,
        AlertKind::RefreshTokenExpiring,
        AlertKind::UnmatchedIncreased,
    ];

    /// The stored and published name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::RunFailed => "run_failed",
            AlertKind::ReauthRequired => "reauth_required",
            AlertKind::Stale => "stale",
            AlertKind::RefreshTokenExpiring => "refresh_token_expiring",
            AlertKind::UnmatchedIncreased => "unmatched_increased",
        }
    }

    /// The kind stored under `name`.
    pub fn from_name(name: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which message a change of state calls for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeState {
    Firing,
    Reminder,
    Resolved,
}

impl NoticeState {
    /// The published name.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeState::Firing => "firing",
            NoticeState::Reminder => "reminder",
            NoticeState::Resolved => "resolved",
        }
    }
}

/// What was observed about one alert's condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The condition holds; `since` is used when it starts now.
    Firing {
        since: DateTime<Utc>,
        count: i64,
        detail: Option<String>,
    },
    Clear,
}

/// The row to store and the message to send, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub row: AlertRow,
    pub notice: Option<NoticeState>,
}

/// Applies `condition` to the stored `row` at `now`.
pub fn decide(
    row: &AlertRow,
    condition: &Condition,
    now: DateTime<Utc>,
    reminder_every: Option<Duration>,
) -> Decision {
    let mut next = row.clone();
    let notice = match (condition, row.active) {
        (Condition::Clear, false) => None,
        (Condition::Clear, true) => {
            next.active = false;
            next.since = None;
            next.count = 0;
            // Nobody heard of a condition whose first message never went out.
            let told = row.notified_at.is_some();
            next.notified_at = told.then_some(now);
            told.then_some(NoticeState::Resolved)
        }
        (
            Condition::Firing {
                since,
                count,
                detail,
            },
            false,
        ) => {
            next.active = true;
            next.since = Some(*since);
            next.count = *count;
            next.detail.clone_from(detail);
            next.notified_at = Some(now);
            Some(NoticeState::Firing)
        }
        (Condition::Firing { count, detail, .. }, true) => {
            next.count = *count;
            next.detail.clone_from(detail);
            let owed = match row.notified_at {
                None => Some(NoticeState::Firing),
                Some(at) => reminder_every
                    .filter(|every| now - at >= to_chrono(*every))
                    .map(|_| NoticeState::Reminder),
            };
            if owed.is_some() {
                next.notified_at = Some(now);
            }
            owed
        }
    };
    Decision { row: next, notice }
}

/// Reminders and owed messages of an alert that is firing, with nothing new observed.
pub fn remind(row: &AlertRow, now: DateTime<Utc>, reminder_every: Option<Duration>) -> Decision {
    if !row.active {
        return Decision {
            row: row.clone(),
            notice: None,
        };
    }
    let same = Condition::Firing {
        since: row.since.unwrap_or(now),
        count: row.count,
        detail: row.detail.clone(),
    };
    decide(row, &same, now, reminder_every)
}

/// The unmatched-listings alert: fires when `unmatched` exceeds the count last reported.
pub fn decide_unmatched(row: &AlertRow, unmatched: i64, now: DateTime<Utc>) -> Decision {
    let mut next = row.clone();
    let notice = if unmatched > row.count {
        next.since = Some(now);
        next.notified_at = Some(now);
        Some(NoticeState::Firing)
    } else {
        None
    };
    next.count = unmatched;
    Decision { row: next, notice }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + minutes * 60, 0).expect("valid time")
    }

    fn firing(since: i64, count: i64) -> Condition {
        Condition::Firing {
            since: at(since),
            count,
            detail: Some("boom".to_owned()),
        }
    }

    const DAY: Option<Duration> = Some(Duration::from_secs(86_400));

    #[test]
    fn a_condition_fires_once_then_reminds_after_the_interval_then_resolves_once() {
        let fresh = AlertRow::new(1, "run_failed");

        let first = decide(&fresh, &firing(0, 1), at(0), DAY);
        let again = decide(&first.row, &firing(60, 2), at(60), DAY);
        let reminder = decide(&again.row, &firing(1440, 3), at(1440), DAY);
        let resolved = decide(&reminder.row, &Condition::Clear, at(1500), DAY);
        let quiet = decide(&resolved.row, &Condition::Clear, at(1560), DAY);

        assert_eq!(first.notice, Some(NoticeState::Firing));
        assert_eq!(first.row.since, Some(at(0)));
        assert_eq!(again.notice, None);
        assert_eq!(again.row.since, Some(at(0)), "since stays at the start");
        assert_eq!(again.row.count, 2);
        assert_eq!(reminder.notice, Some(NoticeState::Reminder));
        assert_eq!(resolved.notice, Some(NoticeState::Resolved));
        assert!(!resolved.row.active);
        assert_eq!(quiet.notice, None);
        assert_eq!(quiet.row, resolved.row);
    }

    #[test]
    fn no_reminder_when_reminders_are_off() {
        let first = decide(&AlertRow::new(1, "stale"), &firing(0, 0), at(0), None);

        let later = remind(&first.row, at(100_000), None);

        assert_eq!(later.notice, None);
    }

    #[test]
    fn a_first_message_that_was_not_sent_is_owed_until_it_is() {
        let mut row = decide(&AlertRow::new(1, "stale"), &firing(0, 0), at(0), DAY).row;
        row.notified_at = None;

        let retried = remind(&row, at(1), DAY);

        assert_eq!(retried.notice, Some(NoticeState::Firing));
        assert_eq!(retried.row.notified_at, Some(at(1)));
    }

    #[test]
    fn a_condition_never_told_resolves_silently() {
        let mut row = decide(&AlertRow::new(1, "stale"), &firing(0, 0), at(0), DAY).row;
        row.notified_at = None;

        let resolved = decide(&row, &Condition::Clear, at(5), DAY);

        assert_eq!(resolved.notice, None);
        assert!(!resolved.row.active);
    }

    #[test]
    fn unmatched_alerts_on_increases_only() {
        let row = AlertRow::new(1, "unmatched_increased");

        let first = decide_unmatched(&row, 5, at(0));
        let same = decide_unmatched(&first.row, 5, at(60));
        let fewer = decide_unmatched(&same.row, 3, at(120));
        let more = decide_unmatched(&fewer.row, 4, at(180));

        assert_eq!(first.notice, Some(NoticeState::Firing));
        assert_eq!(same.notice, None);
        assert_eq!(fewer.notice, None);
        assert_eq!(fewer.row.count, 3);
        assert_eq!(more.notice, Some(NoticeState::Firing));
    }
}
