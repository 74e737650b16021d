//! What can go wrong in the insight crate.

/// An insight error; its message is written for the person who caused it.
#[derive(Debug, thiserror::Error)]
pub enum InsightError {
    /// The database failed.
    #[error("database error: {0}")]
    Store(#[from] sqlx::Error),
    /// A value is not acceptable.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No such thing in this organization.
    #[error("{0} {1} not found")]
    NotFound(&'static str, String),
    /// The file cannot be read at all.
    #[error("{0}")]
    File(#[from] adpool_tables::TableError),
    /// The file's columns are not a known layout and no mapping was given.
    #[error("{file}: the columns are not a known card statement layout; map them (row {row}: {})", .candidates.join(", "))]
    UnknownLayout {
        /// The file.
        file: String,
        /// The likely header row.
        row: u64,
        /// Its cells.
        candidates: Vec<String>,
    },
    /// Lines of the file are invalid; nothing was imported.
    #[error("{file}: {} line(s) cannot be read, nothing was imported; first: {}", .errors.len(), .errors.first().map(String::as_str).unwrap_or_default())]
    Rows {
        /// The file.
        file: String,
        /// Each problem: `row 7, column 이용금액, value 'x': ...`.
        errors: Vec<String>,
    },
}
