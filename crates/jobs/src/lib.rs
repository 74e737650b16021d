//! `adpool-jobs`: long work that survives restarts.
//!
//! It owns:
//! - [`Jobs`]: a durable queue in the database (kind, JSON payload, state, attempts, run-at,
//!   last error, progress). Enqueue inside a domain transaction with [`Jobs::enqueue_in`] so the
//!   job exists exactly when the domain change does.
//! - [`Worker`]: claims due jobs (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so many processes can
//!   share one queue), runs the registered [`JobHandler`], retries failures with exponential
//!   back-off and honours per-kind concurrency limits. [`Worker::run_once`] and
//!   [`Worker::drain`] run jobs inline so tests are deterministic.
//! - [`Scheduler`]: cron schedules evaluated in KST; each firing enqueues one job, at most once
//!   per fire time even with many schedulers.
//! - [`Notifications`]: in-app notifications, also POSTed to the organization's webhook URL
//!   (delivered by a job, so it retries like any other).
//!
//! It knows nothing of any domain: domain crates register handlers for their own kinds.

mod error;
mod events;
mod notifications;
mod queue;
mod scheduler;
mod webhook_post;
mod worker;

pub use adpool_outbound::OutboundRules;
pub use error::{JobError, JobsError};
pub use events::{
    EVENT_JOB_KIND, EventDelivery, enqueue_event, rotate_signing_secret, sign, signing_secret,
};
pub use notifications::{
    Level, NewNotification, Notification, Notifications, WEBHOOK_JOB_KIND, WebhookDelivery,
};
pub use queue::{Job, JobFilter, JobState, Jobs, NewJob, Progress};
pub use scheduler::{Schedule, Scheduler, next_fire_after};
pub use webhook_post::install_tls_provider;
pub use worker::{
    BoxFuture, JobContext, JobHandler, JobOutcome, Registry, Worker, WorkerConfig, backoff_millis,
};
