use std::fmt;

use thiserror::Error;

/// One problem in one row of an imported file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Row number as a spreadsheet shows it (the header is row 1).
    pub row: u64,
    /// Column name.
    pub column: String,
    /// The value found.
    pub value: String,
    /// Why it is refused.
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "row {}, column {}, value '{}': {}",
            self.row, self.column, self.value, self.reason
        )
    }
}

/// What can go wrong with inventory.
#[derive(Debug, Error)]
pub enum InventoryError {
    /// The file cannot be read at all (missing, wrong format, wrong header).
    #[error("{file}: {message}")]
    File {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Rows of the file are invalid; nothing was imported.
    #[error("{file}: {total} invalid row value(s), nothing was imported; first: {}", .errors.first().map(ToString::to_string).unwrap_or_default())]
    Rows {
        /// The file.
        file: String,
        /// The errors listed (at most [`crate::MAX_LISTED_ERRORS`]).
        errors: Vec<RowError>,
        /// How many errors there were in all.
        total: u64,
    },
    /// A value failed validation.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A catalog document was refused whole; every problem is named by its path.
    #[error("the catalog was not changed: {}", .problems.join("; "))]
    Catalog {
        /// `path: problem` lines.
        problems: Vec<String>,
    },
    /// A purchase was refused before anything was reserved; every problem names its field.
    #[error("the purchase was refused, nothing was reserved: {}", .problems.join("; "))]
    PurchaseRefused {
        /// `field: problem` lines.
        problems: Vec<String>,
    },
    /// A campaign, line or delivery batch was refused whole; every problem names its field.
    #[error("nothing was saved: {}", .problems.join("; "))]
    Refused {
        /// `field: problem` lines.
        problems: Vec<String>,
    },
    /// The object does not exist in the caller's organization.
    #[error("not found")]
    NotFound,
    /// The action does not fit the current state (unconfirmed month, a build running).
    #[error("{0}")]
    Conflict(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

impl From<adpool_tables::TableError> for InventoryError {
    fn from(error: adpool_tables::TableError) -> Self {
        InventoryError::File {
            file: error.file,
            message: error.message,
        }
    }
}
