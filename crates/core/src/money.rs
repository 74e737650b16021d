//! Money: whole Korean won in an `i64`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, Neg, Sub};
use std::str::FromStr;
use thiserror::Error;

/// An amount of Korean won. KRW has no minor unit, so a whole number is exact.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Won(i64);

/// Why a text could not be read as an amount of won.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    /// The text is not a whole number of won.
    #[error("'{0}' is not a whole amount of won (expected e.g. 12300, 12,300 or 12,300원)")]
    Invalid(String),
    /// The amount does not fit in 64 bits.
    #[error("'{0}' is too large an amount of won")]
    Overflow(String),
}

impl Won {
    /// Zero won.
    pub const ZERO: Won = Won(0);

    /// Wraps a whole number of won.
    pub const fn new(won: i64) -> Self {
        Won(won)
    }

    /// The whole number of won.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// Adds, or `None` on overflow.
    pub fn checked_add(self, other: Won) -> Option<Won> {
        self.0.checked_add(other.0).map(Won)
    }

    /// Subtracts, or `None` on overflow.
    pub fn checked_sub(self, other: Won) -> Option<Won> {
        self.0.checked_sub(other.0).map(Won)
    }

    /// Splits this amount by `weights` with the one [`crate::apportion`].
    pub fn apportion(self, weights: &[u64]) -> Result<Vec<Won>, crate::ApportionError> {
        Ok(crate::apportion(self.0, weights)?
            .into_iter()
            .map(Won)
            .collect())
    }
}

impl Add for Won {
    type Output = Won;
    fn add(self, other: Won) -> Won {
        Won(self.0 + other.0)
    }
}

impl Sub for Won {
    type Output = Won;
    fn sub(self, other: Won) -> Won {
        Won(self.0 - other.0)
    }
}

impl Neg for Won {
    type Output = Won;
    fn neg(self) -> Won {
        Won(-self.0)
    }
}

impl std::iter::Sum for Won {
    fn sum<I: Iterator<Item = Won>>(iter: I) -> Won {
        Won(iter.map(|w| w.0).sum())
    }
}

/// Formats as Koreans write won: `₩1,234,567`, `-₩500`.
impl fmt::Display for Won {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}₩{}", group_thousands(self.0.unsigned_abs()))
    }
}

/// Reads `12300`, `12,300`, `12,300원`, `₩12,300`, `-500` (surrounding spaces ignored).
impl FromStr for Won {
    type Err = MoneyError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let trimmed = trimmed.strip_suffix('원').unwrap_or(trimmed).trim_end();
        let (negative, rest) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let rest = rest.strip_prefix('₩').unwrap_or(rest);
        let well_grouped = !rest.is_empty()
            && !rest.starts_with(',')
            && !rest.ends_with(',')
            && rest.chars().all(|c| c.is_ascii_digit() || c == ',')
            && (!rest.contains(',') || rest.split(',').skip(1).all(|g| g.len() == 3));
        if !well_grouped {
            return Err(MoneyError::Invalid(text.to_owned()));
        }
        // Accumulated in place: importers parse a won amount per line (a million per file).
        let mut magnitude: i128 = 0;
        for digit in rest.bytes().filter(u8::is_ascii_digit) {
            magnitude = magnitude * 10 + i128::from(digit - b'0');
            if magnitude > i128::from(i64::MAX) + 1 {
                return Err(MoneyError::Overflow(text.to_owned()));
            }
        }
        let value = if negative { -magnitude } else { magnitude };
        i64::try_from(value)
            .map(Won)
            .map_err(|_| MoneyError::Overflow(text.to_owned()))
    }
}

/// `1234567` -> `"1,234,567"`.
pub fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_like_korean_receipts() {
        assert_eq!(Won::new(0).to_string(), "₩0");
        assert_eq!(Won::new(999).to_string(), "₩999");
        assert_eq!(Won::new(1000).to_string(), "₩1,000");
        assert_eq!(Won::new(-1_234_567).to_string(), "-₩1,234,567");
        assert_eq!(
            Won::new(i64::MIN).to_string(),
            "-₩9,223,372,036,854,775,808"
        );
    }

    #[test]
    fn parses_statement_amounts() {
        assert_eq!("12,300원".parse::<Won>(), Ok(Won::new(12_300)));
        assert_eq!(" 12300 ".parse::<Won>(), Ok(Won::new(12_300)));
        assert_eq!("₩1,000".parse::<Won>(), Ok(Won::new(1000)));
        assert_eq!("-500".parse::<Won>(), Ok(Won::new(-500)));
        for bad in ["", "12.5", "1,23", "abc", ",100", "100,", "--5", "1e3"] {
            assert!(bad.parse::<Won>().is_err(), "{bad:?} should be rejected");
        }
        assert!(matches!(
            "99999999999999999999".parse::<Won>(),
            Err(MoneyError::Overflow(_))
        ));
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(value in any::<i64>()) {
            let won = Won::new(value);
            prop_assert_eq!(won.to_string().parse::<Won>(), Ok(won));
        }

        #[test]
        fn parse_never_panics(text in ".{0,24}") {
            let _ = text.parse::<Won>();
        }

        #[test]
        fn won_apportion_sums_to_the_amount(value in any::<i64>(), weights in prop::collection::vec(1u64..10_000, 1..10)) {
            let parts = Won::new(value).apportion(&weights).unwrap();
            prop_assert_eq!(parts.iter().map(|p| i128::from(p.get())).sum::<i128>(), i128::from(value));
        }
    }
}
