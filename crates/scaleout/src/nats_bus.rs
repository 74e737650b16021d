//! Events on NATS JetStream.
//!
//! Three streams (NATS names cannot hold a dot, so `order.completed` is the subject of the
//! stream `order-completed`): `campaign-events` (`campaign-events.changed`), `ad-events`
//! (`ad-events.click`) and `order-completed` (`order.completed`). Publishing waits for the
//! stream's acknowledgement and sets `Nats-Msg-Id`, so a repeated publish within the
//! duplicate window is stored once.
//!
//! Worker processes share one durable pull consumer per stream: a message goes to one worker,
//! is acknowledged only after its effect committed, and is delivered again after
//! [`ConsumerSettings::ack_wait`] when the worker died first. The effects are idempotent by
//! event id (`consumed_events`, or the order's natural key), so a redelivery never charges or
//! counts twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use adpool_serving::scale_out::BoxFuture;
use adpool_serving::{ClickEvent, EventBus, OrderEvent, Serving, ServingError, Topic};
use async_nats::jetstream::{self, AckKind, consumer::pull, stream};
use futures_util::StreamExt;
use tokio::sync::watch;

use crate::ScaleOutError;
use crate::error::masked;

/// How the durable consumers run.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerSettings {
    /// How long a delivered message waits for its acknowledgement before it goes to another
    /// worker.
    pub ack_wait: Duration,
    /// The delay before a message whose effect failed (database down) is delivered again.
    pub retry_delay: Duration,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        ConsumerSettings {
            ack_wait: Duration::from_secs(30),
            retry_delay: Duration::from_secs(2),
        }
    }
}

/// The event bus on NATS JetStream.
#[derive(Debug)]
pub struct NatsBus {
    context: jetstream::Context,
    address: String,
    prefix: String,
    /// Events published, for `/metrics` and the benchmark.
    pub published: AtomicU64,
    /// Events processed by this process's consumers.
    pub consumed: AtomicU64,
}

const TOPICS: [Topic; 3] = [
    Topic::CampaignEvents,
    Topic::AdEvents,
    Topic::OrderCompleted,
];

impl NatsBus {
    /// Connects and makes sure the streams exist.
    pub async fn connect(url: &str, namespace: &str) -> Result<NatsBus, ScaleOutError> {
        let address = masked(url);
        let fail = |message: String| ScaleOutError::Nats {
            address: address.clone(),
            message,
        };
        let client = tokio::time::timeout(
            Duration::from_secs(10),
            async_nats::ConnectOptions::new()
                .connection_timeout(Duration::from_secs(5))
                .connect(url),
        )
        .await
        .map_err(|_| fail("no answer within 10 s".into()))?
        .map_err(|e| fail(e.to_string()))?;
        let bus = NatsBus {
            context: jetstream::new(client),
            address: address.clone(),
            prefix: if namespace.is_empty() {
                String::new()
            } else {
                format!("{namespace}-")
            },
            published: AtomicU64::new(0),
            consumed: AtomicU64::new(0),
        };
        for topic in TOPICS {
            bus.context
                .get_or_create_stream(stream::Config {
                    name: bus.stream(topic),
                    subjects: vec![bus.subject(topic)],
                    max_age: Duration::from_secs(7 * 24 * 3600),
                    duplicate_window: Duration::from_secs(120),
                    ..Default::default()
                })
                .await
                .map_err(|e| {
                    fail(format!(
                        "stream {}: {e} (is JetStream enabled: nats-server -js?)",
                        bus.stream(topic)
                    ))
                })?;
        }
        Ok(bus)
    }

    /// Where NATS is (password masked).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The stream of a topic.
    pub fn stream(&self, topic: Topic) -> String {
        let name = match topic {
            Topic::CampaignEvents => "campaign-events",
            Topic::AdEvents => "ad-events",
            Topic::OrderCompleted => "order-completed",
        };
        format!("{}{name}", self.prefix)
    }

    /// The subject of a topic.
    pub fn subject(&self, topic: Topic) -> String {
        let name = match topic {
            Topic::CampaignEvents => "campaign-events.changed",
            Topic::AdEvents => "ad-events.click",
            Topic::OrderCompleted => "order.completed",
        };
        format!("{}{name}", self.prefix)
    }

    fn durable(topic: Topic) -> &'static str {
        match topic {
            Topic::CampaignEvents => "rankings",
            Topic::AdEvents => "click-settler",
            Topic::OrderCompleted => "attribution",
        }
    }

    async fn consumer(
        &self,
        topic: Topic,
        settings: ConsumerSettings,
    ) -> Result<jetstream::consumer::Consumer<pull::Config>, ScaleOutError> {
        let fail = |message: String| ScaleOutError::Nats {
            address: self.address.clone(),
            message,
        };
        let stream = self
            .context
            .get_stream(self.stream(topic))
            .await
            .map_err(|e| fail(e.to_string()))?;
        stream
            .get_or_create_consumer(
                Self::durable(topic),
                pull::Config {
                    durable_name: Some(Self::durable(topic).to_owned()),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: settings.ack_wait,
                    max_ack_pending: 1_000,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| fail(e.to_string()))
    }

    /// Deletes this namespace's streams (tests clean up after themselves with it).
    pub async fn delete_streams(&self) -> Result<(), ScaleOutError> {
        for topic in TOPICS {
            self.context
                .delete_stream(self.stream(topic))
                .await
                .map_err(|e| ScaleOutError::Nats {
                    address: self.address.clone(),
                    message: e.to_string(),
                })?;
        }
        Ok(())
    }

    /// Messages of a topic not yet acknowledged (waiting or in flight).
    pub async fn backlog(&self, topic: Topic) -> Result<u64, ScaleOutError> {
        let mut consumer = self.consumer(topic, ConsumerSettings::default()).await?;
        let info = consumer.info().await.map_err(|e| ScaleOutError::Nats {
            address: self.address.clone(),
            message: e.to_string(),
        })?;
        Ok(info.num_pending + info.num_ack_pending as u64)
    }

    /// Runs the three durable consumers (settle clicks, attribute orders, rebuild rankings)
    /// until `stop` turns true.
    pub async fn run_consumers(
        self: Arc<Self>,
        serving: Serving,
        settings: ConsumerSettings,
        stop: watch::Receiver<bool>,
    ) -> Result<Vec<tokio::task::JoinHandle<()>>, ScaleOutError> {
        let last_rebuild = Arc::new(AtomicI64::new(0));
        let mut tasks = Vec::new();
        for topic in TOPICS {
            let consumer = self.consumer(topic, settings).await?;
            let bus = self.clone();
            let serving = serving.clone();
            let stop = stop.clone();
            let last_rebuild = last_rebuild.clone();
            tasks.push(tokio::spawn(async move {
                bus.consume(topic, consumer, serving, settings, stop, last_rebuild)
                    .await;
            }));
        }
        Ok(tasks)
    }

    async fn consume(
        &self,
        topic: Topic,
        consumer: jetstream::consumer::Consumer<pull::Config>,
        serving: Serving,
        settings: ConsumerSettings,
        mut stop: watch::Receiver<bool>,
        last_rebuild: Arc<AtomicI64>,
    ) {
        loop {
            let mut messages = match consumer.messages().await {
                Ok(messages) => messages,
                Err(error) => {
                    tracing::warn!(%error, stream = %self.stream(topic), "consumer: no messages; trying again");
                    tokio::select! {
                        () = crate::stopped(&mut stop) => return,
                        () = tokio::time::sleep(settings.retry_delay) => continue,
                    }
                }
            };
            loop {
                let next = tokio::select! {
                    () = crate::stopped(&mut stop) => return,
                    next = messages.next() => next,
                };
                let message = match next {
                    Some(Ok(message)) => message,
                    Some(Err(error)) => {
                        tracing::warn!(%error, stream = %self.stream(topic), "consumer: a delivery failed");
                        continue;
                    }
                    None => break,
                };
                let outcome = handle(topic, &message.payload, &serving, &last_rebuild).await;
                let ack = match outcome {
                    Ok(()) => {
                        self.consumed.fetch_add(1, Ordering::Relaxed);
                        message.ack().await
                    }
                    Err(Failure::Retry(error)) => {
                        tracing::warn!(%error, stream = %self.stream(topic), "event not processed; delivered again later");
                        message
                            .ack_with(AckKind::Nak(Some(settings.retry_delay)))
                            .await
                    }
                    Err(Failure::Bad(error)) => {
                        tracing::error!(%error, stream = %self.stream(topic), "event refused for good");
                        message.ack_with(AckKind::Term).await
                    }
                };
                if let Err(error) = ack {
                    tracing::warn!(%error, "acknowledgement not sent; the event comes again and changes nothing");
                }
            }
        }
    }
}

enum Failure {
    /// Try again later (the database failed).
    Retry(String),
    /// Never good (a malformed event).
    Bad(String),
}

fn failure(error: ServingError) -> Failure {
    match error {
        ServingError::Store(_) | ServingError::Unavailable(_) | ServingError::EventLog(_) => {
            Failure::Retry(error.to_string())
        }
        other => Failure::Bad(other.to_string()),
    }
}

async fn handle(
    topic: Topic,
    payload: &[u8],
    serving: &Serving,
    last_rebuild: &AtomicI64,
) -> Result<(), Failure> {
    match topic {
        Topic::AdEvents => {
            let event: ClickEvent = serde_json::from_slice(payload)
                .map_err(|e| Failure::Bad(format!("click event: {e}")))?;
            serving.settle_click(&event).await.map_err(failure)?;
        }
        Topic::OrderCompleted => {
            #[derive(serde::Deserialize)]
            struct Order {
                org: i64,
                event: OrderEvent,
            }
            let order: Order = serde_json::from_slice(payload)
                .map_err(|e| Failure::Bad(format!("order event: {e}")))?;
            serving
                .record_order(adpool_core::OrgId(order.org), &order.event)
                .await
                .map_err(failure)?;
        }
        Topic::CampaignEvents => {
            #[derive(serde::Deserialize)]
            struct Change {
                changed_at: i64,
            }
            let change: Change = serde_json::from_slice(payload)
                .map_err(|e| Failure::Bad(format!("campaign event: {e}")))?;
            // A rebuild that started after the change already saw it.
            if change.changed_at < last_rebuild.load(Ordering::Relaxed) {
                return Ok(());
            }
            last_rebuild.store(
                adpool_core::Clock::now_millis(&adpool_core::SystemClock),
                Ordering::Relaxed,
            );
            serving.refresh().await.map_err(failure)?;
        }
    }
    Ok(())
}

impl EventBus for NatsBus {
    fn publish<'a>(
        &'a self,
        topic: Topic,
        event_id: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), ServingError>> {
        Box::pin(async move {
            let fail =
                |e: String| ServingError::Unavailable(format!("nats at {}: {e}", self.address));
            let ack = self
                .context
                .send_publish(
                    self.subject(topic),
                    jetstream::message::PublishMessage::build()
                        .payload(payload.into())
                        .message_id(event_id),
                )
                .await
                .map_err(|e| fail(e.to_string()))?;
            ack.await.map_err(|e| fail(e.to_string()))?;
            self.published.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
    }
}
