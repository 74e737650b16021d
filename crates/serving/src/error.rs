use thiserror::Error;

/// What can go wrong in CPC serving.
#[derive(Debug, Error)]
pub enum ServingError {
    /// A value failed validation; nothing was changed.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The object does not exist in the caller's organization (or is not the caller's).
    #[error("not found")]
    NotFound,
    /// The action does not fit the current state (an advertiser not approved, a campaign
    /// already ended, a balance that would go below zero).
    #[error("{0}")]
    Conflict(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    /// A shared engine (Redis, NATS) failed or cannot be reached; nothing was charged.
    #[error("shared engine: {0}")]
    Unavailable(String),
    /// The event log could not be written.
    #[error("event log: {0}")]
    EventLog(#[from] std::io::Error),
}

impl ServingError {
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ServingError::Invalid {
            field,
            message: message.into(),
        }
    }
}

/// The longest memo or reason kept with a ledger entry or a review.
pub const MAX_NOTE_CHARS: usize = 500;

/// A memo or reason, trimmed, refused when longer than [`MAX_NOTE_CHARS`].
pub(crate) fn note<'t>(field: &'static str, text: &'t str) -> Result<&'t str, ServingError> {
    let text = text.trim();
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(ServingError::invalid(
            field,
            format!("is longer than {MAX_NOTE_CHARS} characters"),
        ));
    }
    Ok(text)
}
