//! Cron expressions: the five classic fields (minute, hour, day of month, month, day of
//! week), always read in UTC, and the next time one fires.
//!
//! Each field takes `*`, a value, a range `a-b`, a step `*/n`, `a-b/n` or `a/n`, and lists of
//! those separated by commas; months and weekdays also take their English three-letter names
//! (`JAN`, `MON`). Day of week runs 0-7, both 0 and 7 meaning Sunday. When both day fields
//! are restricted, a day matches if either does, as in the classic cron. The shortcuts
//! `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly` and `@yearly` (`@annually`) are
//! accepted.
//!
//! Known limitation: there is no time-zone field; `0 9 * * *` means 09:00 UTC.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};

/// How far ahead [`Cron::next_after`] looks before deciding an expression never fires.
const HORIZON_YEARS: i32 = 10;

/// A parsed cron expression.
#[derive(Clone, PartialEq, Eq)]
pub struct Cron {
    text: String,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    days_restricted: bool,
    weekdays_restricted: bool,
}

impl fmt::Debug for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cron({:?})", self.text)
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// One field's bounds and names.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The value the first name stands for.
    names_from: u32,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
        names_from: 1,
    },
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: &WEEKDAYS,
        names_from: 0,
    },
];

impl Cron {
    /// Parses an expression or shortcut.
    ///
    /// # Errors
    /// A message naming the field and the part that is wrong, or saying that the expression
    /// never fires (such as the 31st of February).
    pub fn parse(text: &str) -> Result<Cron, String> {
        let text = text.trim();
        let expanded = match text.to_ascii_lowercase().as_str() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            shortcut if shortcut.starts_with('@') => {
                return Err(format!(
                    "unknown shortcut `{text}` (expected @hourly, @daily, @weekly, @monthly or \
                     @yearly)"
                ));
            }
            _ => text,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "`{text}` has {} fields; a cron expression has five: minute hour day-of-month \
                 month day-of-week",
                parts.len()
            ));
        }

        let mut sets = [0u64; 5];
        for (i, (part, field)) in parts.iter().zip(FIELDS.iter()).enumerate() {
            sets[i] = parse_field(part, field)?;
        }
        // Sunday is both 0 and 7.
        if sets[4] & (1 << 7) != 0 {
            sets[4] = (sets[4] | 1) & !(1 << 7);
        }

        let cron = Cron {
            text: text.to_owned(),
            minutes: sets[0],
            hours: sets[1],
            days: sets[2],
            months: sets[3],
            weekdays: sets[4],
            days_restricted: !parts[2].starts_with('*'),
            weekdays_restricted: !parts[4].starts_with('*'),
        };
        let probe = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single();
        if probe.and_then(|t| cron.next_after(t)).is_none() {
            return Err(format!("`{text}` never fires (no such date)"));
        }
        Ok(cron)
    }

    /// The first time after `after` (strictly later, whole minutes) at which the expression
    /// fires; `None` when it does not fire within ten years.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = after.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let horizon = start.year() + HORIZON_YEARS;
        let mut t = start;
        while t.year() <= horizon {
            if !has(self.months, t.month()) {
                t = first_of_next_month(t)?;
                continue;
            }
            if !self.day_matches(t) {
                t = midnight(t)? + Duration::days(1);
                continue;
            }
            if !has(self.hours, t.hour()) {
                t = t.with_minute(0)? + Duration::hours(1);
                continue;
            }
            if !has(self.minutes, t.minute()) {
                t += Duration::minutes(1);
                continue;
            }
            return Some(t);
        }
        None
    }

    fn day_matches(&self, t: DateTime<Utc>) -> bool {
        let day = has(self.days, t.day());
        let weekday = has(self.weekdays, t.weekday().num_days_from_sunday());
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => day || weekday,
            _ => day && weekday,
        }
    }
}

fn has(set: u64, value: u32) -> bool {
    set & (1u64 << value) != 0
}

fn midnight(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Utc.with_ymd_and_hms(t.year(), t.month(), t.day(), 0, 0, 0)
        .single()
}

fn first_of_next_month(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let (year, month) = if t.month() == 12 {
        (t.year() + 1, 1)
    } else {
        (t.year(), t.month() + 1)
    };
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single()
}

/// The set of values one field allows, as bits.
fn parse_field(text: &str, field: &Field) -> Result<u64, String> {
    let mut set = 0u64;
    for part in text.split(',') {
        let wrong = |why: &str| format!("{} `{part}` {why}", field.name);
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| wrong("has a step that is not a positive number"))?;
                (range, step)
            }
            None => (part, 1),
        };

        let (low, high) = if range == "*" {
            (field.min, field.max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, field, part)?, value(b, field, part)?)
        } else {
            let start = value(range, field, part)?;
            // `a/n` runs from a to the end of the field.
            (start, if part.contains('/') { field.max } else { start })
        };
        if low > high {
            return Err(wrong("is a range that runs backwards"));
        }

        let mut v = low;
        while v <= high {
            set |= 1u64 << v;
            v += step;
        }
    }
    Ok(set)
}

fn value(text: &str, field: &Field, part: &str) -> Result<u32, String> {
    let upper = text.to_ascii_uppercase();
    let named = field
        .names
        .iter()
        .position(|n| *n == upper)
        .map(|i| i as u32 + field.names_from);
    let number = named.or_else(|| text.parse::<u32>().ok()).ok_or_else(|| {
        format!(
            "{} `{part}`: `{text}` is not a number{}",
            field.name,
            if field.names.is_empty() {
                ""
            } else {
                " or name"
            }
        )
    })?;
    if !(field.min..=field.max).contains(&number) {
        return Err(format!(
            "{} `{part}`: {number} is outside {}-{}",
            field.name, field.min, field.max
        ));
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("bad time {text}: {e}"))
    }

    fn next(expr: &str, after: &str) -> String {
        let cron = Cron::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        cron.next_after(at(after))
            .map(|t| t.to_rfc3339())
            .unwrap_or_default()
    }

    #[test]
    fn hourly_fires_at_the_next_full_hour() {
        assert_eq!(
            next("0 * * * *", "2026-03-01T10:20:00Z"),
            "2026-03-01T11:00:00+00:00"
        );
        assert_eq!(
            next("@hourly", "2026-03-01T11:00:00Z"),
            "2026-03-01T12:00:00+00:00"
        );
    }

    #[test]
    fn steps_ranges_and_lists_combine() {
        assert_eq!(
            next("*/15 8-10 * * *", "2026-03-01T10:50:00Z"),
            "2026-03-02T08:00:00+00:00"
        );
        assert_eq!(
            next("5,35 * * * *", "2026-03-01T10:05:00Z"),
            "2026-03-01T10:35:00+00:00"
        );
        assert_eq!(
            next("10/20 * * * *", "2026-03-01T10:31:00Z"),
            "2026-03-01T10:50:00+00:00"
        );
    }

    #[test]
    fn weekday_names_and_sunday_as_seven_work() {
        // 2026-03-01 is a Sunday.
        assert_eq!(
            next("0 9 * * MON-FRI", "2026-03-01T00:00:00Z"),
            "2026-03-02T09:00:00+00:00"
        );
        assert_eq!(
            next("0 9 * * 7", "2026-03-02T00:00:00Z"),
            "2026-03-08T09:00:00+00:00"
        );
    }

    #[test]
    fn both_day_fields_restricted_match_either() {
        // The 15th (a Sunday in March 2026) or any Friday.
        assert_eq!(
            next("0 0 15 * FRI", "2026-03-01T00:00:00Z"),
            "2026-03-06T00:00:00+00:00"
        );
        assert_eq!(
            next("0 0 15 * FRI", "2026-03-14T00:00:00Z"),
            "2026-03-15T00:00:00+00:00"
        );
    }

    #[test]
    fn month_ends_and_leap_days_are_found() {
        assert_eq!(
            next("0 0 31 * *", "2026-04-01T00:00:00Z"),
            "2026-05-31T00:00:00+00:00"
        );
        assert_eq!(
            next("0 12 29 FEB *", "2026-01-01T00:00:00Z"),
            "2028-02-29T12:00:00+00:00"
        );
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        let err = |e: &str| Cron::parse(e).expect_err(e);

        assert!(err("0 * * *").contains("five"));
        assert!(err("61 * * * *").contains("minute `61`: 61 is outside 0-59"));
        assert!(err("0 * * FOO *").contains("not a number or name"));
        assert!(err("0 10-2 * * *").contains("runs backwards"));
        assert!(err("*/0 * * * *").contains("step"));
        assert!(err("0 0 31 2 *").contains("never fires"));
        assert!(err("@often").contains("unknown shortcut"));
    }
}
