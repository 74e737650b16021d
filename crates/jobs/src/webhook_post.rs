//! The HTTP side every webhook delivery shares (notifications, signed events): one client with
//! a timeout and a user agent, and one rule for which answers are retried.

use serde_json::{Value, json};

use crate::JobError;

/// The client webhook deliveries POST with: 10 s timeout, `adpool/<version>` user agent.
pub(crate) fn client() -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .user_agent(concat!("adpool/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client with default TLS settings")
}

/// Makes rustls's ring provider the process default (once; later calls do nothing). Every
/// HTTPS client in adpool (webhooks, object storage, shop APIs) runs on it, so there is one TLS
/// implementation in the binary and no C crypto library to build.
pub fn install_tls_provider() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // Err means another provider was installed first, which serves just as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Sends `request` (a POST to `url`) and turns the answer into the job's outcome: success
/// records where it went; network errors, 5xx, 408 and 429 retry; any other 4xx fails at once.
pub(crate) async fn send(
    url: &str,
    request: reqwest::RequestBuilder,
) -> Result<Option<Value>, JobError> {
    let response = request
        .send()
        .await
        .map_err(|e| JobError::retryable(format!("POST {url}: {e}")))?;
    let status = response.status();
    if status.is_success() {
        Ok(Some(
            json!({ "delivered_to": url, "status": status.as_u16() }),
        ))
    } else if status.is_client_error() && status.as_u16() != 429 && status.as_u16() != 408 {
        Err(JobError::permanent(format!("POST {url} answered {status}")))
    } else {
        Err(JobError::retryable(format!("POST {url} answered {status}")))
    }
}
