//! The HTTP side every webhook delivery shares (notifications, signed events): one client with
//! a timeout and a user agent that never follows a redirect and reaches only hosts the
//! [`OutboundRules`] allow (checked again at every delivery: a name can resolve elsewhere after
//! it was saved), and one rule for which answers are retried.

use adpool_outbound::OutboundRules;

use serde_json::{Value, json};

use crate::JobError;

/// The client webhook deliveries POST with: 10 s timeout, `adpool/<version>` user agent, no
/// redirects, names resolved through `rules`.
pub(crate) fn client(rules: &OutboundRules) -> reqwest::Client {
    rules
        .client_builder()
        .timeout(std::time::Duration::from_secs(10))
        .user_agent(concat!("adpool/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client with default TLS settings")
}

pub use adpool_outbound::install_tls_provider;

/// Sends `request` (a POST to `url`) and turns the answer into the job's outcome: a URL the
/// `rules` refuse fails at once without a connection (a name that does not resolve retries); success records where it went; network
/// errors, 5xx, 408 and 429 retry; a redirect and any other 4xx fail at once.
pub(crate) async fn send(
    rules: &OutboundRules,
    url: &str,
    request: reqwest::RequestBuilder,
) -> Result<Option<Value>, JobError> {
    rules.check(url).await.map_err(|e| match e {
        // A name that does not resolve now may resolve in a minute.
        adpool_outbound::OutboundError::Unresolvable { .. } => {
            JobError::retryable(format!("not delivered: {e}"))
        }
        _ => JobError::permanent(format!("not delivered: {e}")),
    })?;
    let response = request
        .send()
        .await
        .map_err(|e| JobError::retryable(format!("POST {url}: {e}")))?;
    let status = response.status();
    if status.is_success() {
        Ok(Some(
            json!({ "delivered_to": url, "status": status.as_u16() }),
        ))
    } else if status.is_redirection() {
        Err(JobError::permanent(format!(
            "POST {url} answered {status}; webhooks do not follow redirects"
        )))
    } else if status.is_client_error() && status.as_u16() != 429 && status.as_u16() != 408 {
        Err(JobError::permanent(format!("POST {url} answered {status}")))
    } else {
        Err(JobError::retryable(format!("POST {url} answered {status}")))
    }
}
