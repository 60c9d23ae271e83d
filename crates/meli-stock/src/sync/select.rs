//! Which user products a run reads the per-location breakdown of, within its budget.
//!
//! The breakdown (`/user-products/{id}/stock`) is the one call ML limits to about 100 a
//! minute, so a run spends it where it tells something: user products never read, those whose
//! listing quantity moved since the last run, those whose sibling listings disagree, and
//! breakdowns older than the configured age, in that order of urgency.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::plan::Line;

/// What the previous runs left about a user product.
#[derive(Clone, Debug, PartialEq)]
pub struct PriorUserProduct {
    /// The location sum at the last read.
    pub total: i64,
    pub read_at: DateTime<Utc>,
}

/// Why a user product was chosen for a breakdown read, in priority order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadReason {
    /// A line's quantity moved since the last run, or sibling lines disagree.
    Changed,
    /// Never read before.
    New,
    /// Read longer ago than the configured age.
    Stale,
}

impl ReadReason {
    /// The label used in logs and run figures.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadReason::Changed => "changed",
            ReadReason::New => "new",
            ReadReason::Stale => "stale",
        }
    }
}

/// Key of a line in the previous run's item map: (item id, variation id or 0).
pub type PriorKey = (String, u64);

/// Chooses the user products whose breakdown a run reads, at most `budget` of them.
///
/// Reads start while the listing is still going, so the choice is made line by line:
/// [`ReadSelector::consider`] picks a user product as soon as one of its lines shows it is
/// new or changed. [`ReadSelector::finish`] then adds, within what is left of the budget,
/// the user products whose sibling lines disagree (only visible once every line is in) and
/// the stale ones, oldest first. Changed and new user products therefore share the budget
/// in the order ML lists them; stale ones only get what they leave.
#[derive(Debug)]
pub struct ReadSelector<'a> {
    prior_lines: &'a HashMap<PriorKey, i64>,
    prior_ups: &'a HashMap<String, PriorUserProduct>,
    max_age: Duration,
    now: DateTime<Utc>,
    budget: usize,
    chosen: HashSet<String>,
    deferred: HashSet<String>,
}

impl<'a> ReadSelector<'a> {
    /// A selector over what the previous runs left.
    pub fn new(
        prior_lines: &'a HashMap<PriorKey, i64>,
        prior_ups: &'a HashMap<String, PriorUserProduct>,
        max_age: Duration,
        now: DateTime<Utc>,
        budget: usize,
    ) -> Self {
        Self {
            prior_lines,
            prior_ups,
            max_age,
            now,
            budget,
            chosen: HashSet::new(),
            deferred: HashSet::new(),
        }
    }

    /// The read `line` calls for right away, if any and if the budget allows.
    pub fn consider(&mut self, line: &Line) -> Option<(String, ReadReason)> {
        let up = line.user_product_id()?;
        if self.chosen.contains(up) {
            return None;
        }

        let prior_line = self.prior_lines.get(&line.prior_key());
        let prior_up = self.prior_ups.get(up);
        let moved = prior_line.is_some_and(|before| *before != line.reported);
        let differs_from_read = prior_up.is_some_and(|p| p.total != line.reported);
        let reason = if moved || differs_from_read {
            ReadReason::Changed
        } else if prior_up.is_none() {
            ReadReason::New
        } else {
            return None;
        };
        self.take(up, reason)
    }

    /// The reads that needed every line: disagreeing siblings, then stale breakdowns.
    pub fn finish(&mut self, lines: &[Line]) -> Vec<(String, ReadReason)> {
        let mut reported: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
        for line in lines {
            if let Some(up) = line.user_product_id() {
                reported.entry(up).or_default().insert(line.reported);
            }
        }

        let mut out = Vec::new();
        let disagreeing: Vec<&str> = reported
            .iter()
            .filter(|(up, values)| values.len() > 1 && !self.chosen.contains(**up))
            .map(|(up, _)| *up)
            .collect();
        for up in disagreeing {
            out.extend(self.take(up, ReadReason::Changed));
        }

        let mut stale: Vec<(DateTime<Utc>, &str)> = reported
            .keys()
            .filter(|up| !self.chosen.contains(**up))
            .filter_map(|up| {
                let prior = self.prior_ups.get(*up)?;
                (self.now - prior.read_at >= self.max_age).then_some((prior.read_at, *up))
            })
            .collect();
        stale.sort();
        for (_, up) in stale {
            out.extend(self.take(up, ReadReason::Stale));
        }
        out
    }

    /// User products that called for a read the budget did not allow.
    pub fn deferred(&self) -> usize {
        self.deferred.len()
    }

    fn take(&mut self, up: &str, reason: ReadReason) -> Option<(String, ReadReason)> {
        if self.chosen.len() >= self.budget {
            self.deferred.insert(up.to_owned());
            return None;
        }
        self.deferred.remove(up);
        self.chosen.insert(up.to_owned());
        Some((up.to_owned(), reason))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::sync::plan::Unit;

    fn line(item: &str, up: &str, reported: i64) -> Line {
        Line {
            item_id: item.to_owned(),
            variation_id: None,
            status: "active".to_owned(),
            sub_status: Vec::new(),
            reported,
            unit: Unit::UserProduct(up.to_owned()),
            seller_sku: None,
            inventory_id: None,
        }
    }

    fn select(
        lines: &[Line],
        prior_lines: &HashMap<PriorKey, i64>,
        prior_ups: &HashMap<String, PriorUserProduct>,
        now: DateTime<Utc>,
        budget: usize,
    ) -> (Vec<(String, ReadReason)>, usize) {
        let mut selector =
            ReadSelector::new(prior_lines, prior_ups, Duration::hours(24), now, budget);
        let mut reads: Vec<_> = lines.iter().filter_map(|l| selector.consider(l)).collect();
        reads.extend(selector.finish(lines));
        (reads, selector.deferred())
    }

    #[test]
    fn selection_reads_changed_and_new_at_once_then_stale_within_budget() {
        let now = Utc::now();
        let lines = [
            line("MLC1", "MLCU1", 5),
            line("MLC2", "MLCU2", 5),
            line("MLC3", "MLCU3", 5),
            line("MLC4", "MLCU4", 5),
        ];
        let prior_lines = [(("MLC1".to_owned(), 0), 6), (("MLC3".to_owned(), 0), 5)]
            .into_iter()
            .collect();
        let old = PriorUserProduct {
            total: 5,
            read_at: now - Duration::days(3),
        };
        let fresh = PriorUserProduct {
            total: 5,
            read_at: now - Duration::minutes(5),
        };
        let prior_ups = [
            ("MLCU1".to_owned(), fresh.clone()),
            ("MLCU3".to_owned(), old),
            ("MLCU4".to_owned(), fresh),
        ]
        .into_iter()
        .collect();

        let (all, none_deferred) = select(&lines, &prior_lines, &prior_ups, now, 10);
        let (two, deferred) = select(&lines, &prior_lines, &prior_ups, now, 2);

        assert_eq!(
            all,
            vec![
                ("MLCU1".to_owned(), ReadReason::Changed),
                ("MLCU2".to_owned(), ReadReason::New),
                ("MLCU3".to_owned(), ReadReason::Stale),
            ]
        );
        assert_eq!(none_deferred, 0);
        assert_eq!(two.len(), 2);
        assert_eq!(deferred, 1, "the stale read did not fit the budget");
    }

    #[test]
    fn siblings_that_disagree_are_read_once_every_line_is_in() {
        let now = Utc::now();
        let lines = [line("MLC1", "MLCU1", 5), line("MLC2", "MLCU1", 4)];
        let prior_ups = [(
            "MLCU1".to_owned(),
            PriorUserProduct {
                total: 5,
                read_at: now - Duration::minutes(1),
            },
        )]
        .into_iter()
        .collect();
        let prior_lines = [(("MLC1".to_owned(), 0), 5), (("MLC2".to_owned(), 0), 4)]
            .into_iter()
            .collect();

        let mut selector = ReadSelector::new(&prior_lines, &prior_ups, Duration::hours(24), now, 5);
        let at_once: Vec<_> = lines.iter().filter_map(|l| selector.consider(l)).collect();

        assert_eq!(at_once, vec![("MLCU1".to_owned(), ReadReason::Changed)]);
        assert!(
            selector.finish(&lines).is_empty(),
            "an up already chosen is not read twice"
        );
    }
}
