use thiserror::Error;

/// What can go wrong in log analytics.
#[derive(Debug, Error)]
pub enum LogsError {
    /// A metadata file cannot be used; nothing was imported.
    #[error("{file}: {message}")]
    File {
        /// The file.
        file: String,
        /// What is wrong, with row and column.
        message: String,
    },
    /// The source URL cannot be used.
    #[error("source {source_url}: {message}")]
    Source {
        /// The URL as given.
        source_url: String,
        /// What is wrong.
        message: String,
    },
    /// Another analyzer holds the source's lease.
    #[error("another analyzer is working on {0}; try again when it finishes")]
    Locked(String),
    /// A value failed validation.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}
