use thiserror::Error;

/// Errors of the queue, scheduler and notifications.
#[derive(Debug, Error)]
pub enum JobsError {
    /// The job, schedule or notification does not exist in the caller's organization.
    #[error("not found")]
    NotFound,
    /// The object is not in a state that allows the action.
    #[error("{0}")]
    Conflict(String),
    /// A field failed validation.
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

/// How a job handler failed.
#[derive(Debug, Error)]
pub enum JobError {
    /// Worth trying again later (network, lock, a service that is down).
    #[error("{0}")]
    Retryable(String),
    /// Trying again cannot help (bad payload, missing object): the job fails at once.
    #[error("{0}")]
    Permanent(String),
}

impl JobError {
    /// A retryable failure from anything printable.
    pub fn retryable(error: impl std::fmt::Display) -> Self {
        JobError::Retryable(error.to_string())
    }

    /// A permanent failure from anything printable.
    pub fn permanent(error: impl std::fmt::Display) -> Self {
        JobError::Permanent(error.to_string())
    }
}

impl From<sqlx::Error> for JobError {
    fn from(error: sqlx::Error) -> Self {
        JobError::Retryable(format!("database: {error}"))
    }
}

impl From<JobsError> for JobError {
    fn from(error: JobsError) -> Self {
        JobError::Retryable(error.to_string())
    }
}
