use thiserror::Error;

/// What can go wrong with accounts. Authentication failures are deliberately vague.
#[derive(Debug, Error)]
pub enum AccountsError {
    /// The object does not exist in the caller's organization (or at all).
    #[error("not found")]
    NotFound,
    /// Wrong email or password, or a disabled account: the caller is not told which.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// Too many failed logins recently.
    #[error("too many failed logins; try again in {retry_after_secs} seconds")]
    Throttled {
        /// Seconds until a new attempt is allowed.
        retry_after_secs: i64,
    },
    /// A field failed validation.
    #[error("{field}: {message}")]
    Invalid {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A URL the organization set points where adpool may not call.
    #[error("{field}: {error}")]
    Outbound {
        /// The field.
        field: &'static str,
        /// Why the URL is refused.
        error: adpool_outbound::OutboundError,
    },
    /// The email is taken.
    #[error("a user with email {0} already exists")]
    DuplicateEmail(String),
    /// The organization name is taken.
    #[error("an organization named {0} already exists")]
    DuplicateOrganization(String),
    /// The change would leave the organization without an active admin.
    #[error("an organization must keep at least one active admin")]
    LastAdmin,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    /// Password hashing failed (not a wrong password: the hasher itself).
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

impl AccountsError {
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        AccountsError::Invalid {
            field,
            message: message.into(),
        }
    }
}
