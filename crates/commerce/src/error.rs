//! What can go wrong in the commerce crate.

/// A commerce error; its message is written for the person who caused it.
#[derive(Debug, thiserror::Error)]
pub enum CommerceError {
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
    /// No such store (in this organization).
    #[error("store {0} not found")]
    NotFound(i64),
    /// The same store is already registered.
    #[error("{0}")]
    Conflict(String),
    /// The file cannot be read at all.
    #[error("{0}")]
    File(#[from] adpool_tables::TableError),
    /// Rows of an imported file are invalid; nothing was imported.
    #[error("{file}: {} invalid row(s), nothing was imported; first: {}", .errors.len(), .errors.first().map(String::as_str).unwrap_or_default())]
    Rows {
        /// The file.
        file: String,
        /// Each problem: `row 7, column 수량, value 'x': ...`.
        errors: Vec<String>,
    },
    /// A platform refused or failed (after retries); the run stopped with its cursor unchanged.
    #[error("{platform} {store}: {message}")]
    Platform {
        /// The platform's name.
        platform: &'static str,
        /// The store's mall id.
        store: String,
        /// What happened.
        message: String,
    },
    /// The platform refused a resource because the store's connection lacks a scope (403).
    #[error(
        "Cafe24 {store}: reading {resource} needs the scope {scope}, which this connection was not granted ({message}); connect the store again and allow it"
    )]
    MissingScope {
        /// The store's mall id.
        store: String,
        /// The resource (`coupons`).
        resource: String,
        /// The scope it needs (`mall.read_promotion`).
        scope: String,
        /// The platform's message.
        message: String,
    },
    /// An export names order statuses adpool does not know; nothing was imported, because
    /// guessing what they mean would put wrong figures in the sales. Imported only when the
    /// person confirms, and then kept as unknown, outside the sales.
    #[error("{file}: {} row(s) have an order status adpool does not know ({}); nothing was imported. Check the statuses, then import again and confirm: those lines are kept as 'unknown' and left out of sales", .statuses.iter().map(|(_, n)| n).sum::<u64>(), .statuses.iter().map(|(w, n)| format!("'{w}' {n}")).collect::<Vec<_>>().join(", "))]
    UnknownStatuses {
        /// The file.
        file: String,
        /// Each unknown word with its number of rows.
        statuses: Vec<(String, u64)>,
    },
    /// Naver refused a call from this server's address (`GW.IP_NOT_ALLOWED`).
    #[error("Naver SmartStore {store}: Naver refused this server's address (GW.IP_NOT_ALLOWED); register this server's outbound IP address{} in the Commerce API Center (your application, API 호출 IP)", .address.as_deref().map(|a| format!(" {a}")).unwrap_or_default())]
    IpNotAllowed {
        /// The store's mall id.
        store: String,
        /// The address, when the operator configured it.
        address: Option<String>,
    },
    /// Sealed credentials cannot be opened (another key, or altered).
    #[error("the stored credentials cannot be decrypted with this server's key: {0}")]
    Vault(String),
}

impl From<adpool_store::VaultError> for CommerceError {
    fn from(error: adpool_store::VaultError) -> Self {
        CommerceError::Vault(error.0)
    }
}
