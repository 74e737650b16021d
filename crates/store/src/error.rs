use thiserror::Error;

/// What can go wrong between adpool and its database.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The URL names no database adpool can use.
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The database could not be reached or opened. The URL's password is masked.
    #[error("cannot connect to database {url}: {source}")]
    Connect {
        /// The URL with its password masked.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A file-system error preparing a SQLite file.
    #[error("cannot prepare database file {path}: {source}")]
    File {
        /// The file or folder.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A migration failed to apply.
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        /// Its version number.
        version: i64,
        /// Its name.
        name: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A migration already applied differs from the one in this binary.
    #[error(
        "migration {version} ({name}) was changed after it was applied (checksum {applied} in the database, {embedded} in this binary)"
    )]
    ChecksumMismatch {
        /// Its version number.
        version: i64,
        /// Its name.
        name: String,
        /// Checksum recorded when it was applied.
        applied: String,
        /// Checksum of this binary's copy.
        embedded: String,
    },
    /// The database holds migrations newer than this binary knows.
    #[error(
        "the database is at schema version {database}, newer than this adpool ({binary}); upgrade adpool"
    )]
    SchemaTooNew {
        /// Highest version in the database.
        database: i64,
        /// Highest version in this binary.
        binary: i64,
    },
    /// A backup could not be written, read or restored.
    #[error("backup {path}: {reason}")]
    Backup {
        /// The backup file (or the database URL, masked).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Any other database error.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

/// True when `error` is a unique-constraint violation (duplicate key) on either database.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// True when `error` is a foreign-key violation on either database.
pub fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_foreign_key_violation())
}
