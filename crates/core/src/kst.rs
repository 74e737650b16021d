//! Korea Standard Time business dates.
//!
//! KST is a fixed UTC+9 with no daylight saving, so a fixed offset is exact. Stored timestamps
//! are UTC milliseconds (`i64`); business dates are `YYYY-MM-DD` in KST.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Seconds east of UTC for Korea Standard Time.
pub const KST_OFFSET_SECONDS: i32 = 9 * 3600;

/// The KST time zone as a chrono offset.
pub fn kst() -> FixedOffset {
    FixedOffset::east_opt(KST_OFFSET_SECONDS).expect("+09:00 is a valid offset")
}

/// A calendar day in Korea Standard Time: the day an event "belongs to" for reports, budgets
/// and inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BusinessDate(NaiveDate);

/// A text that is not a `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("'{0}' is not a date in the form YYYY-MM-DD")]
pub struct DateParseError(pub String);

impl BusinessDate {
    /// The business date of an instant given as UTC milliseconds since the epoch.
    pub fn from_utc_millis(millis: i64) -> Self {
        let utc = DateTime::<Utc>::from_timestamp_millis(millis).unwrap_or_default();
        BusinessDate(utc.with_timezone(&kst()).date_naive())
    }

    /// The business date of a chrono UTC instant.
    pub fn from_utc(instant: DateTime<Utc>) -> Self {
        BusinessDate(instant.with_timezone(&kst()).date_naive())
    }

    /// From year, month, day; `None` when that day does not exist.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        NaiveDate::from_ymd_opt(year, month, day).map(BusinessDate)
    }

    /// The underlying calendar date.
    pub fn naive(self) -> NaiveDate {
        self.0
    }

    /// KST midnight at the start of this day, as UTC milliseconds.
    pub fn start_utc_millis(self) -> i64 {
        let midnight = self.0.and_hms_opt(0, 0, 0).expect("midnight exists");
        kst()
            .from_local_datetime(&midnight)
            .single()
            .expect("fixed offset is unambiguous")
            .timestamp_millis()
    }

    /// KST midnight at the start of the next day, as UTC milliseconds (exclusive end of this day).
    pub fn end_utc_millis(self) -> i64 {
        self.next().start_utc_millis()
    }

    /// The following day.
    pub fn next(self) -> Self {
        BusinessDate(self.0 + Duration::days(1))
    }

    /// The day `days` after (or before, when negative) this one.
    pub fn add_days(self, days: i64) -> Self {
        BusinessDate(self.0 + Duration::days(days))
    }

    /// `YYYY-MM` of this day's month.
    pub fn month_key(self) -> String {
        format!("{:04}-{:02}", self.0.year(), self.0.month())
    }

    /// Every day from `self` to `last`, both included (empty when `last` is before `self`).
    pub fn days_through(self, last: BusinessDate) -> impl Iterator<Item = BusinessDate> {
        let mut day = self;
        std::iter::from_fn(move || {
            (day <= last).then(|| {
                let current = day;
                day = day.next();
                current
            })
        })
    }
}

impl fmt::Display for BusinessDate {
    // Integers, not chrono's strftime: importers format a day per line (a million in a
    // statement), and strftime parses its pattern every time.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use chrono::Datelike;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            self.0.month(),
            self.0.day()
        )
    }
}

impl FromStr for BusinessDate {
    type Err = DateParseError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if trimmed.len() != 10 {
            return Err(DateParseError(text.to_owned()));
        }
        NaiveDate::parse_from_str(trimmed, "%Y-%m-%d")
            .map(BusinessDate)
            .map_err(|_| DateParseError(text.to_owned()))
    }
}

impl TryFrom<String> for BusinessDate {
    type Error = DateParseError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<BusinessDate> for String {
    fn from(date: BusinessDate) -> String {
        date.to_string()
    }
}

/// Formats UTC milliseconds as a KST wall-clock time the way Korean screens show it:
/// `2026-11-21 00:30 KST`.
pub fn format_kst_datetime(millis: i64) -> String {
    let utc = DateTime::<Utc>::from_timestamp_millis(millis).unwrap_or_default();
    format!("{} KST", utc.with_timezone(&kst()).format("%Y-%m-%d %H:%M"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn utc_afternoon_is_the_next_kst_day() {
        // DOMAIN.md: 2026-11-20T15:30:00Z belongs to business date 2026-11-21.
        let instant = DateTime::parse_from_rfc3339("2026-11-20T15:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(BusinessDate::from_utc(instant).to_string(), "2026-11-21");
        let before = DateTime::parse_from_rfc3339("2026-11-20T14:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(BusinessDate::from_utc(before).to_string(), "2026-11-20");
    }

    #[test]
    fn day_bounds_are_kst_midnights() {
        let day: BusinessDate = "2026-11-21".parse().unwrap();
        let start = DateTime::parse_from_rfc3339("2026-11-20T15:00:00Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(day.start_utc_millis(), start);
        assert_eq!(day.end_utc_millis() - start, 86_400_000);
        assert_eq!(format_kst_datetime(start), "2026-11-21 00:00 KST");
    }

    #[test]
    fn parsing_rejects_non_dates() {
        for bad in [
            "2026-02-30",
            "2026-1-01",
            "20261121",
            "",
            "2026-11-21T00:00",
        ] {
            assert!(bad.parse::<BusinessDate>().is_err(), "{bad}");
        }
        let first: BusinessDate = "2026-02-27".parse().unwrap();
        let last: BusinessDate = "2026-03-01".parse().unwrap();
        assert_eq!(first.days_through(last).count(), 3);
        assert_eq!(first.month_key(), "2026-02");
    }

    proptest! {
        #[test]
        fn every_instant_falls_inside_its_business_day(millis in -2_000_000_000_000i64..5_000_000_000_000) {
            let day = BusinessDate::from_utc_millis(millis);
            prop_assert!(day.start_utc_millis() <= millis && millis < day.end_utc_millis());
        }

        #[test]
        fn date_text_round_trips(days in 0i64..100_000) {
            let day = BusinessDate::from_ymd(1970, 1, 1).unwrap().add_days(days);
            prop_assert_eq!(day.to_string().parse::<BusinessDate>(), Ok(day));
        }
    }
}
