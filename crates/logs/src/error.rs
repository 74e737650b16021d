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
    /// The organization may not analyze this source.
    #[error("source {source_url}: {refusal}")]
    Refused {
        /// The URL as given.
        source_url: String,
        /// Why.
        refusal: SourceRefusal,
    },
    /// A URL the organization set points where adpool may not call.
    #[error("{field}: {error}")]
    Outbound {
        /// The field.
        field: &'static str,
        /// Why the URL is refused.
        error: adpool_outbound::OutboundError,
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

/// Why an organization may not analyze a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceRefusal {
    /// The folder lies outside the folders the deployment lets the organization analyze.
    FolderOutsideRoots,
    /// An `s3://` source, and the organization saved no S3 credentials.
    NoS3Credentials,
}

impl SourceRefusal {
    /// The message-catalog key of the refusal.
    pub fn key(self) -> &'static str {
        match self {
            SourceRefusal::FolderOutsideRoots => "logs.refused.folder_outside_roots",
            SourceRefusal::NoS3Credentials => "logs.refused.no_s3_credentials",
        }
    }
}

impl std::fmt::Display for SourceRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SourceRefusal::FolderOutsideRoots => {
                "this folder is outside the folders this deployment lets the organization analyze (log_folder_roots)"
            }
            SourceRefusal::NoS3Credentials => {
                "this organization has no S3 credentials; an admin saves them on the reports page first"
            }
        })
    }
}
