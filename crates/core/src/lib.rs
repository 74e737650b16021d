//! `adpool-core`: the vocabulary every adpool crate shares and nothing else.
//!
//! It owns:
//! - [`Won`]: money as whole Korean won in an `i64` (never a float);
//! - [`apportion`]: the ONE largest-remainder split of a whole number into parts, used for every
//!   split of won or impressions in adpool (DOMAIN.md, "The one apportionment rule");
//! - [`BusinessDate`] and the KST helpers: business dates are Korea Standard Time (UTC+9);
//! - [`Clock`]: the injectable source of "now", so tests can move time;
//! - [`csv_text`]: text cells in CSV files, formula-looking values neutralized.
//!
//! It must never depend on a database, HTTP or any other adpool crate.
//!
//! ```
//! use adpool_core::{apportion, Won};
//! // 10,000 won over three equal platforms: the leftover won goes to the earliest part.
//! assert_eq!(apportion(10_000, &[1, 1, 1]).unwrap(), vec![3334, 3333, 3333]);
//! assert_eq!(Won::new(1_234_567).to_string(), "₩1,234,567");
//! ```

mod apportion;
mod clock;
mod csv_cell;
mod ids;
mod kst;
mod money;

pub use apportion::{ApportionError, apportion, apportion_or_even};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use csv_cell::{csv_neutral, csv_text};
pub use ids::{JobId, OrgId, UserId};
pub use kst::{BusinessDate, DateParseError, KST_OFFSET_SECONDS, format_kst_datetime, kst};
pub use money::{MoneyError, Won, group_thousands};
