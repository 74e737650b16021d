//! Vocabulary: months and platforms.

use std::fmt;
use std::str::FromStr;

use adpool_core::BusinessDate;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::InventoryError;

/// A calendar month, `YYYY-MM`: the unit of standard inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// The month containing `date`.
    pub fn of(date: BusinessDate) -> Month {
        Month {
            year: date.naive().year(),
            month: date.naive().month(),
        }
    }

    /// The month before.
    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The month after.
    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The first day.
    pub fn first_day(self) -> BusinessDate {
        BusinessDate::from_ymd(self.year, self.month, 1).expect("the first of a valid month exists")
    }

    /// Every day of the month, in order.
    pub fn days(self) -> Vec<BusinessDate> {
        let last = self.next().first_day().add_days(-1);
        self.first_day().days_through(last).collect()
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = InventoryError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InventoryError::Invalid {
            field: "month",
            message: format!("'{text}' is not a month in the form YYYY-MM"),
        };
        let trimmed = text.trim();
        if trimmed.len() != 7 {
            return Err(invalid());
        }
        let date = NaiveDate::parse_from_str(&format!("{trimmed}-01"), "%Y-%m-%d")
            .map_err(|_| invalid())?;
        Ok(Month {
            year: date.year(),
            month: date.month(),
        })
    }
}

impl TryFrom<String> for Month {
    type Error = InventoryError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Month> for String {
    fn from(month: Month) -> String {
        month.to_string()
    }
}

/// A sellable platform type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Platform {
    /// Desktop web.
    Pc,
    /// Mobile web.
    Mobile,
    /// Mobile apps.
    App,
    /// Connected TV.
    Ctv,
}

impl Platform {
    /// Every platform, in display order.
    pub const ALL: [Platform; 4] = [Platform::Pc, Platform::Mobile, Platform::App, Platform::Ctv];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Pc => "PC",
            Platform::Mobile => "MOBILE",
            Platform::App => "APP",
            Platform::Ctv => "CTV",
        }
    }

    /// Parses a stored or submitted name (case-insensitive).
    pub fn parse(text: &str) -> Option<Platform> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_walk() {
        let month: Month = "2026-12".parse().unwrap();
        assert_eq!(month.next().to_string(), "2027-01");
        assert_eq!(month.previous().to_string(), "2026-11");
        assert_eq!("2028-02".parse::<Month>().unwrap().days().len(), 29);
        assert_eq!("2026-02".parse::<Month>().unwrap().days().len(), 28);
        for bad in ["2026-13", "2026-1", "202612", "", "2026-12-01"] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
        assert_eq!(Platform::parse("mobile"), Some(Platform::Mobile));
        assert_eq!(Platform::parse("TV"), None);
    }
}
