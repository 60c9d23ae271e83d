//! Commands over several sellers (`sync --all`, `auth refresh --all`): every seller is
//! tried even when one fails, and the exit code reports the most urgent failure.
//!
//! Urgency, highest first: 4 (a seller must authorize again: only a person can fix it),
//! 1 (a run failed), 2 (bad input for that seller), 3 (another run holds the seller's lock,
//! which is harmless: that run is doing the work).

use anyhow::anyhow;

use crate::error::Failure;

/// How urgent a failure is; higher wins.
fn urgency(failure: &Failure) -> u8 {
    match failure {
        Failure::Reauth(_) => 4,
        Failure::Run(_) => 3,
        Failure::Input(_) => 2,
        Failure::Locked { .. } => 1,
    }
}

/// The outcome of a command that worked on `total` sellers, `failures` of which failed.
/// With one seller the failure is returned as it is; with several, each is printed and the
/// most urgent kind is returned with a summary.
pub(super) fn combine(total: usize, mut failures: Vec<(u64, Failure)>) -> Result<(), Failure> {
    if failures.is_empty() {
        return Ok(());
    }
    if total == 1 && failures.len() == 1 {
        return Err(failures.remove(0).1);
    }

    for (seller_id, failure) in &failures {
        eprintln!(
            "error: seller {seller_id} (exit code {}): {failure}",
            failure.exit_code()
        );
    }
    failures.sort_by_key(|(_, f)| std::cmp::Reverse(urgency(f)));
    let summary = format!(
        "{} of {total} sellers failed ({}); see the errors above",
        failures.len(),
        failures
            .iter()
            .map(|(seller, f)| format!("{seller}: exit code {}", f.exit_code()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let worst = failures.remove(0).1;
    Err(match worst {
        Failure::Reauth(_) => Failure::Reauth(anyhow!(summary)),
        Failure::Run(_) => Failure::Run(anyhow!(summary)),
        Failure::Input(_) => Failure::Input(anyhow!(summary)),
        locked @ Failure::Locked { .. } => locked,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn reauth_wins_over_a_failed_run_and_a_held_lock() {
        let failures = vec![
            (1, Failure::Locked { seller_id: 1 }),
            (2, Failure::Run(anyhow!("scan broke off"))),
            (3, Failure::Reauth(anyhow!("invalid_grant"))),
        ];

        let failure = combine(4, failures).unwrap_err();

        assert_eq!(failure.exit_code(), 4);
        assert!(
            failure.to_string().contains("3 of 4 sellers failed"),
            "{failure}"
        );
    }

    #[test]
    fn a_single_sellers_failure_keeps_its_message() {
        let failure = combine(1, vec![(7, Failure::Input(anyhow!("no such table")))]).unwrap_err();

        assert_eq!(failure.exit_code(), 2);
        assert_eq!(failure.to_string(), "no such table");
    }

    #[test]
    fn locked_only_exits_three() {
        let failures = vec![(1, Failure::Locked { seller_id: 1 })];

        assert_eq!(combine(2, failures).unwrap_err().exit_code(), 3);
        assert!(combine(2, vec![]).is_ok());
    }
}
