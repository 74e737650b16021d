use thiserror::Error;

/// What can go wrong with the shared engines.
#[derive(Debug, Error)]
pub enum ScaleOutError {
    /// A setting is wrong.
    #[error("{0}")]
    Config(String),
    /// Redis failed or is unreachable.
    #[error("redis at {address}: {message}")]
    Redis {
        /// Where (password masked).
        address: String,
        /// What happened.
        message: String,
    },
    /// NATS failed or is unreachable.
    #[error("nats at {address}: {message}")]
    Nats {
        /// Where.
        address: String,
        /// What happened.
        message: String,
    },
    /// Serving failed.
    #[error(transparent)]
    Serving(#[from] adpool_serving::ServingError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// The URL with any password replaced by `***`.
pub(crate) fn masked(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            super::masked("redis://user:secret@host:6379/0"),
            "redis://user:***@host:6379/0"
        );
        assert_eq!(super::masked("redis://:secret@host"), "redis://:***@host");
        assert_eq!(super::masked("nats://host:4222"), "nats://host:4222");
    }
}
