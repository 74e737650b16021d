//! An OpenAI-compatible chat-completions client for writing messages, and the fake server the
//! tests (and anyone without an AI endpoint) run it against. Only the configured base URL is
//! ever called.

use std::time::Duration;

use serde_json::{Value, json};

use crate::messages::{Facts, MessageRequest};

/// Where the AI is.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct LlmSettings {
    /// Base URL up to `/v1` (`https://api.openai.com/v1`); `{base}/chat/completions` is called.
    pub base_url: Option<String>,
    /// The model name.
    pub model: String,
    /// The API key (sent as a bearer token; never logged).
    pub api_key: Option<String>,
    /// How long an answer may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for LlmSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmSettings")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl LlmSettings {
    /// Settings for `base_url` with the default model and a 20-second timeout.
    pub fn new(base_url: impl Into<String>) -> Self {
        LlmSettings {
            base_url: Some(base_url.into()),
            model: "gpt-4o-mini".into(),
            api_key: None,
            timeout: Duration::from_secs(20),
        }
    }
}

/// The prompt for `request` from `facts`.
pub fn prompt(facts: &Facts, request: &MessageRequest) -> (String, String) {
    let system = "You write short marketing messages for Korean commerce brands. Answer with JSON only: {\"messages\": [\"...\", ...]}.".to_owned();
    let limit = match request.channel.limit() {
        crate::messages::Limit::EucKrBytes(n) => {
            format!("at most {n} bytes in EUC-KR (a Hangul syllable is 2 bytes), no emoji")
        }
        crate::messages::Limit::Chars(n) => format!("at most {n} characters"),
    };
    let user = format!(
        "Write {count} different {channel} messages in {lang}, tone: {tone}, each {limit}.\n\
         Audience: {audience} ({size} customers). Their top categories: {cats}. Rising category: {rising}. \
         Top merchants: {merchants}. Average spend: {avg} won. Period: {period}.{ad}",
        count = request.count,
        channel = request.channel.as_str().to_uppercase(),
        lang = if request.lang == "ko" {
            "Korean"
        } else {
            "English"
        },
        tone = request.tone.as_str(),
        audience = facts.audience,
        size = facts.audience_size,
        cats = facts.top_categories.join(", "),
        rising = facts
            .rising
            .as_ref()
            .map_or("none".to_owned(), |(c, p)| format!("{c} (+{p:.0}%)")),
        merchants = facts.top_merchants.join(", "),
        avg = facts.average_spend,
        period = facts.period,
        ad = if request.lang == "ko"
            && matches!(
                request.channel,
                crate::messages::Channel::Sms | crate::messages::Channel::Lms
            ) {
            " Start each message with (광고)."
        } else {
            ""
        },
    );
    (system, user)
}

/// The messages in a chat answer's text: a JSON object `{"messages": [...]}` (also inside a
/// Markdown code fence), a JSON array, or else one message per non-empty line (numbering
/// removed).
pub fn parse_answer(content: &str) -> Vec<String> {
    let trimmed = content.trim();
    let unfenced = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|t| t.strip_suffix("```"))
        .unwrap_or(trimmed)
        .trim();
    let from_json = |value: &Value| -> Option<Vec<String>> {
        let list = value.get("messages").unwrap_or(value).as_array()?;
        Some(
            list.iter()
                .filter_map(|m| {
                    m.as_str()
                        .map(str::trim)
                        .filter(|m| !m.is_empty())
                        .map(str::to_owned)
                })
                .collect(),
        )
    };
    if let Some(list) = serde_json::from_str::<Value>(unfenced)
        .ok()
        .as_ref()
        .and_then(from_json)
    {
        return list;
    }
    unfenced
        .lines()
        .map(|line| {
            line.trim()
                .trim_start_matches(|c: char| {
                    c.is_ascii_digit() || matches!(c, '.' | ')' | '-' | '*')
                })
                .trim()
                .trim_matches('"')
                .to_owned()
        })
        .filter(|line| !line.is_empty())
        .collect()
}

/// Asks the configured endpoint; the error says what went wrong in words for the page.
pub async fn generate(
    settings: &LlmSettings,
    facts: &Facts,
    request: &MessageRequest,
) -> Result<Vec<String>, String> {
    let base = settings
        .base_url
        .as_deref()
        .ok_or_else(|| "no AI endpoint is configured".to_owned())?;
    let url = format!("{}/chat/completions", base.trim_end_matches('/'));
    let (system, user) = prompt(facts, request);
    adpool_jobs::install_tls_provider();
    let client = reqwest::Client::builder()
        .timeout(settings.timeout)
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let mut call = client.post(&url).json(&json!({
        "model": settings.model,
        "messages": [{ "role": "system", "content": system }, { "role": "user", "content": user }],
        "temperature": 0.8,
    }));
    if let Some(key) = &settings.api_key {
        call = call.bearer_auth(key);
    }
    let response = call.send().await.map_err(|e| {
        if e.is_timeout() {
            format!(
                "the AI endpoint {url} did not answer within {} s",
                settings.timeout.as_secs()
            )
        } else {
            format!("the AI endpoint {url} is unreachable: {e}")
        }
    })?;
    let status = response.status();
    let body = response.text().await.map_err(|e| {
        if e.is_timeout() {
            format!(
                "the AI endpoint {url} did not finish its answer within {} s",
                settings.timeout.as_secs()
            )
        } else {
            format!("the AI endpoint {url} broke off its answer: {e}")
        }
    })?;
    if !status.is_success() {
        let detail = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| body.chars().take(200).collect());
        return Err(format!("the AI endpoint {url} answered {status}: {detail}"));
    }
    let content = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| {
            v["choices"][0]["message"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .ok_or_else(|| {
            format!("the AI endpoint {url} answered something that is not a chat completion")
        })?;
    let messages = parse_answer(&content);
    if messages.is_empty() {
        return Err(format!("the AI endpoint {url} answered with no messages"));
    }
    Ok(messages)
}

/// A fake chat-completions server on 127.0.0.1 for tests and local trials.
pub mod fake {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use axum::Json;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use serde_json::{Value, json};

    /// How the fake answers.
    #[derive(Debug, Clone)]
    pub enum Behaviour {
        /// A chat completion whose content is this text.
        Reply(String),
        /// This status with an OpenAI-style error body.
        Fail(u16, String),
        /// Wait this long, then reply with the text.
        Slow(Duration, String),
        /// 200 with a body that is not a chat completion.
        Garbage,
    }

    #[derive(Debug)]
    struct Inner {
        behaviour: Behaviour,
        key: Option<String>,
        requests: Vec<Value>,
    }

    /// A running fake server.
    #[derive(Debug, Clone)]
    pub struct FakeLlm {
        inner: Arc<Mutex<Inner>>,
        base_url: String,
    }

    impl FakeLlm {
        /// Starts one that requires `key` as bearer token when given.
        pub async fn start(behaviour: Behaviour, key: Option<&str>) -> std::io::Result<FakeLlm> {
            let inner = Arc::new(Mutex::new(Inner {
                behaviour,
                key: key.map(str::to_owned),
                requests: Vec::new(),
            }));
            let app = axum::Router::new()
                .route("/v1/chat/completions", axum::routing::post(answer))
                .with_state(inner.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let base_url = format!("http://{}/v1", listener.local_addr()?);
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            Ok(FakeLlm { inner, base_url })
        }

        /// `http://127.0.0.1:PORT/v1`.
        pub fn base_url(&self) -> String {
            self.base_url.clone()
        }

        /// Changes how it answers.
        pub fn set(&self, behaviour: Behaviour) {
            if let Ok(mut inner) = self.inner.lock() {
                inner.behaviour = behaviour;
            }
        }

        /// The request bodies received.
        pub fn requests(&self) -> Vec<Value> {
            self.inner
                .lock()
                .map(|i| i.requests.clone())
                .unwrap_or_default()
        }
    }

    async fn answer(
        State(inner): State<Arc<Mutex<Inner>>>,
        headers: HeaderMap,
        Json(body): Json<Value>,
    ) -> Response {
        let (behaviour, key) = {
            let Ok(mut inner) = inner.lock() else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            inner.requests.push(body.clone());
            (inner.behaviour.clone(), inner.key.clone())
        };
        if let Some(key) = key {
            let sent = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            if sent != Some(key.as_str()) {
                return (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({ "error": { "message": "Incorrect API key provided", "type": "invalid_request_error" } })),
                )
                    .into_response();
            }
        }
        if body["messages"].as_array().is_none_or(Vec::is_empty) {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": { "message": "messages is required" } })),
            )
                .into_response();
        }
        let completion = |content: String| {
            Json(json!({
                "id": "chatcmpl-fake", "object": "chat.completion", "model": body["model"],
                "choices": [{ "index": 0, "finish_reason": "stop", "message": { "role": "assistant", "content": content } }],
            }))
            .into_response()
        };
        match behaviour {
            Behaviour::Reply(text) => completion(text),
            Behaviour::Fail(status, message) => (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                Json(json!({ "error": { "message": message } })),
            )
                .into_response(),
            Behaviour::Slow(wait, text) => {
                tokio::time::sleep(wait).await;
                completion(text)
            }
            Behaviour::Garbage => {
                (StatusCode::OK, "<html>upstream proxy error</html>").into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_as_json_fenced_json_or_lines() {
        assert_eq!(parse_answer(r#"{"messages": ["a", " b "]}"#), ["a", "b"]);
        assert_eq!(parse_answer("```json\n[\"a\",\"b\"]\n```"), ["a", "b"]);
        assert_eq!(
            parse_answer("1. 첫째\n2) \"둘째\"\n\n- 셋째"),
            ["첫째", "둘째", "셋째"]
        );
        assert!(parse_answer("  ").is_empty());
    }
}
