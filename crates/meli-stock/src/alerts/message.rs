//! The words of each alert: what happened, since when, and what to do, rendered once for
//! every channel (webhook text, e-mail subject and body, the log line).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::rules::{AlertKind, NoticeState};

/// One message about one alert of one seller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub seller_id: u64,
    pub kind: AlertKind,
    pub state: NoticeState,
    /// When the condition began.
    pub since: Option<DateTime<Utc>>,
    /// When this message was decided.
    pub at: DateTime<Utc>,
    /// Consecutive failed runs, or unmatched listings.
    pub count: i64,
    /// The count last reported (unmatched listings).
    pub previous: Option<i64>,
    /// The latest error text.
    pub detail: Option<String>,
    /// End of the latest successful run, when known.
    pub last_success: Option<DateTime<Utc>>,
    /// The staleness threshold in force.
    #[serde(skip)]
    pub threshold: Option<Duration>,
    /// When the refresh token stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A rendered message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Text {
    /// One line: subject of the e-mail, first line of the webhook.
    pub title: String,
    /// What happened.
    pub what: String,
    /// Since when.
    pub since: String,
    /// What to do.
    pub action: String,
}

impl Text {
    /// The plain-text body: every part on its own paragraph.
    pub fn body(&self) -> String {
        format!(
            "{}\n\n{}\n\n{}\n\nWhat to do: {}\n",
            self.title, self.what, self.since, self.action
        )
    }
}

/// A time as every message shows it.
pub fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn when_or_never(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "never".to_owned(), when)
}

/// A span in days, hours and minutes: `2d 3h`, `4h 12m`, `0m`.
pub fn span(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let minutes = (to - from).num_minutes().max(0);
    let parts = [
        (minutes / 1440, "d"),
        (minutes % 1440 / 60, "h"),
        (minutes % 60, "m"),
    ];
    let text: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if text.is_empty() {
        "0m".to_owned()
    } else {
        text.join(" ")
    }
}

/// Renders `notice`.
pub fn render(n: &Notice) -> Text {
    let seller = n.seller_id;
    let since = n.since.unwrap_or(n.at);
    let runs = format!("`meli-stock runs --seller {seller}`");
    match (n.kind, n.state) {
        (AlertKind::RunFailed, NoticeState::Resolved) => Text {
            title: format!("recovered: the sync of seller {seller} succeeds again"),
            what: format!(
                "The run that ended at {} succeeded; the inventory is up to date again.",
                when(n.at)
            ),
            since: format!(
                "Runs had failed since {} ({}).",
                when(since),
                span(since, n.at)
            ),
            action: "nothing; this closes the failure alert.".to_owned(),
        },
        (AlertKind::RunFailed, state) => Text {
            title: format!("{}the sync of seller {seller} failed", still(state)),
            what: format!(
                "{} scheduled run(s) in a row failed after their retries. Last error: {}",
                n.count.max(1),
                n.detail.as_deref().unwrap_or("(none recorded)")
            ),
            since: format!(
                "Failing since {} ({}); the last successful run ended {}.",
                when(since),
                span(since, n.at),
                when_or_never(n.last_success)
            ),
            action: format!(
                "the inventory keeps the stock of the last successful run. Read the error above \
                 and {runs} (and the logs) for the cause; meli-stock keeps trying on its \
                 schedule and tells you when a run succeeds again."
            ),
        },
        (AlertKind::ReauthRequired, NoticeState::Resolved) => Text {
            title: format!("recovered: seller {seller} is authorized again"),
            what: format!(
                "A run at {} succeeded with the new authorization.",
                when(n.at)
            ),
            since: format!("Authorization had been refused since {}.", when(since)),
            action: "nothing; this closes the re-authorization alert.".to_owned(),
        },
        (AlertKind::ReauthRequired, state) => Text {
            title: format!(
                "{}seller {seller} must authorize meli-stock again",
                still(state)
            ),
            what: format!(
                "MercadoLibre refused the seller's refresh token, so no run can succeed until \
                 the seller authorizes the app again. Error: {}",
                n.detail.as_deref().unwrap_or("invalid_grant")
            ),
            since: format!("Refused since {}.", when(since)),
            action: "the owner of the MercadoLibre account runs `meli-stock auth url`, opens the \
                     link and approves, then runs `meli-stock auth exchange --code <code>`. \
                     Tokens die early when the account password or the app secret changes, \
                     the grant is revoked, or the app goes unused for four months."
                .to_owned(),
        },
        (AlertKind::Stale, NoticeState::Resolved) => Text {
            title: format!("recovered: the stock of seller {seller} is fresh again"),
            what: format!(
                "A successful run ended at {}.",
                when(n.last_success.unwrap_or(n.at))
            ),
            since: format!(
                "The stock had been stale since {} ({}).",
                when(since),
                span(since, n.at)
            ),
            action: "nothing; this closes the staleness alert.".to_owned(),
        },
        (AlertKind::Stale, state) => Text {
            title: format!("{}no fresh stock for seller {seller}", still(state)),
            what: format!(
                "No successful run for {}, more than the {} allowed (MELI_STOCK_STALE_AFTER or \
                 --max-age). The last successful run ended {}.",
                span(since, n.at),
                n.threshold
                    .map(|t| humantime::format_duration(t).to_string())
                    .unwrap_or_else(|| "time".to_owned()),
                when_or_never(n.last_success)
            ),
            since: format!("Without a successful run since {}.", when(since)),
            action: format!(
                "the stock in your inventory is getting old. Check that the scheduler runs \
                 (`systemctl status meli-stock` and `journalctl -u meli-stock`, or the \
                 workflow's recent runs), then {runs} for failed runs; a failure or \
                 re-authorization alert, if one came, names the cause."
            ),
        },
        (AlertKind::RefreshTokenExpiring, NoticeState::Resolved) => Text {
            title: format!("recovered: seller {seller} renewed the authorization"),
            what: format!(
                "The refresh token now runs until {}.",
                when_or_never(n.expires_at)
            ),
            since: format!(
                "The warning had been up since {}.",
                when(n.since.unwrap_or(n.at))
            ),
            action: "nothing; this closes the expiry warning.".to_owned(),
        },
        (AlertKind::RefreshTokenExpiring, state) => Text {
            title: format!(
                "{}the authorization of seller {seller} ends on {}",
                still(state),
                when_or_never(n.expires_at)
            ),
            what: format!(
                "MercadoLibre refresh tokens last six months. This one began {} and stops \
                 working on {}; after that every run fails until the seller authorizes again.",
                when(since),
                when_or_never(n.expires_at)
            ),
            since: format!("Issued {}.", when(since)),
            action: "before that date, the owner of the MercadoLibre account runs `meli-stock \
                     auth url`, opens the link and approves, then runs `meli-stock auth exchange \
                     --code <code>`."
                .to_owned(),
        },
        (AlertKind::UnmatchedIncreased, _) => Text {
            title: format!(
                "{} listings of seller {seller} have no product (was {})",
                n.count,
                n.previous.unwrap_or(0)
            ),
            what: format!(
                "The run that ended at {} found {} listings that no product of yours matches; \
                 their stock is not written to your inventory.",
                when(n.at),
                n.count
            ),
            since: format!("Counted at {}.", when(n.at)),
            action: format!(
                "list them with `meli-stock report unmatched --seller {seller}` and add the \
                 missing products (their match column holds the listing's item id or SKU, as \
                 MELI_STOCK_MATCH says), or leave them if you do not stock them."
            ),
        },
    }
}

fn still(state: NoticeState) -> &'static str {
    match state {
        NoticeState::Reminder => "still: ",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::span;

    #[test]
    fn spans_read_in_days_hours_and_minutes() {
        let t = |m: i64| chrono::DateTime::from_timestamp(m * 60, 0).expect("time");

        assert_eq!(span(t(0), t(0)), "0m");
        assert_eq!(span(t(0), t(240)), "4h");
        assert_eq!(span(t(0), t(3 * 1440 + 61)), "3d 1h 1m");
        assert_eq!(span(t(10), t(0)), "0m");
    }
}
