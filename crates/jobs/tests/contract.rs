//! Jobs contract: runs on SQLite, and on PostgreSQL when ADPOOL_TEST_DATABASE_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use adpool_core::{Clock, JobId, ManualClock, OrgId};
use adpool_jobs::{
    BoxFuture, JobContext, JobError, JobFilter, JobHandler, JobOutcome, JobState, Jobs, JobsError,
    Level, NewJob, NewNotification, Notifications, Registry, Scheduler, WEBHOOK_JOB_KIND,
    WebhookDelivery, Worker, WorkerConfig, backoff_millis,
};
use adpool_store::testing::fresh_database;
use serde_json::{Value, json};

struct Setup {
    jobs: Jobs,
    clock: Arc<ManualClock>,
    org: OrgId,
    other_org: OrgId,
}

async fn setup() -> Setup {
    let db = fresh_database().await;
    let clock = Arc::new(ManualClock::at("2026-11-21T09:00:00+09:00"));
    let mut ids = Vec::new();
    for name in ["Media A", "Media B"] {
        let row =
            sqlx::query("INSERT INTO organizations (name, created_at) VALUES ($1, 0) RETURNING id")
                .bind(name)
                .fetch_one(db.pool())
                .await
                .unwrap();
        ids.push(OrgId(sqlx::Row::get(&row, 0)));
    }
    Setup {
        jobs: Jobs::new(db, clock.clone()),
        clock,
        org: ids[0],
        other_org: ids[1],
    }
}

/// Fails `fail_times` times (retryably), then succeeds; counts runs per job.
#[derive(Clone, Default)]
struct Flaky {
    fail_times: usize,
    runs: Arc<Mutex<HashMap<JobId, usize>>>,
}

impl JobHandler for Flaky {
    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<Option<Value>, JobError>> {
        Box::pin(async move {
            let run = {
                let mut runs = self.runs.lock().unwrap();
                let n = runs.entry(ctx.job.id).or_default();
                *n += 1;
                *n
            };
            ctx.progress(1, Some(2), Some("half way")).await?;
            if ctx.job.payload["permanent"].as_bool() == Some(true) {
                return Err(JobError::permanent("bad payload"));
            }
            if run <= self.fail_times {
                return Err(JobError::retryable(format!("transient failure {run}")));
            }
            Ok(Some(json!({ "run": run })))
        })
    }
}

fn worker(setup: &Setup, handler: Flaky, concurrency: usize) -> Worker {
    let mut registry = Registry::new();
    registry.register("test.flaky", concurrency, handler);
    Worker::new(
        setup.jobs.clone(),
        registry,
        WorkerConfig {
            concurrency: 8,
            ..WorkerConfig::default()
        },
    )
}

#[tokio::test]
async fn a_job_runs_and_records_progress_and_result() {
    let setup = setup().await;
    let handler = Flaky::default();
    let id = setup
        .jobs
        .enqueue(NewJob::new("test.flaky", json!({})).for_org(setup.org))
        .await
        .unwrap();
    let outcomes = worker(&setup, handler, 1).drain().await.unwrap();
    assert_eq!(outcomes, vec![JobOutcome::Succeeded(id)]);
    let job = setup.jobs.job(setup.org, id, false).await.unwrap();
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!(job.attempts, 1);
    assert_eq!(
        job.progress.done, 2,
        "a finished job shows its full progress"
    );
    assert_eq!(job.result, Some(json!({ "run": 1 })));
}

#[tokio::test]
async fn retryable_failures_back_off_exponentially_then_give_up() {
    let setup = setup().await;
    let handler = Flaky {
        fail_times: 10,
        ..Flaky::default()
    };
    let worker = worker(&setup, handler.clone(), 1);
    let id = setup
        .jobs
        .enqueue(
            NewJob::new("test.flaky", json!({}))
                .for_org(setup.org)
                .max_attempts(3),
        )
        .await
        .unwrap();

    let first = worker.run_once().await.unwrap().unwrap();
    assert!(
        matches!(&first, JobOutcome::Retrying { next_run_at, .. } if *next_run_at == setup.clock.now_millis() + backoff_millis(1))
    );
    assert!(
        worker.run_once().await.unwrap().is_none(),
        "not due before its back-off"
    );
    setup.clock.advance_millis(backoff_millis(1));
    let second = worker.run_once().await.unwrap().unwrap();
    assert!(
        matches!(&second, JobOutcome::Retrying { next_run_at, .. } if *next_run_at == setup.clock.now_millis() + backoff_millis(2))
    );
    setup.clock.advance_millis(backoff_millis(2));
    let third = worker.run_once().await.unwrap().unwrap();
    assert!(
        matches!(&third, JobOutcome::Failed { error, .. } if error.contains("after 3 attempts")),
        "{third:?}"
    );

    let job = setup.jobs.job(setup.org, id, false).await.unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Failed, 3));
    assert!(job.last_error.unwrap().contains("transient failure 3"));
    // The failure is announced in the organization.
    let notices = Notifications::new(setup.jobs.clone())
        .list(setup.org, adpool_core::UserId(0), false, 10)
        .await
        .unwrap();
    assert_eq!(notices[0].level, Level::Error);

    // An operator retries it: attempts start afresh.
    setup.jobs.retry(setup.org, id).await.unwrap();
    assert!(matches!(
        worker.run_once().await.unwrap(),
        Some(JobOutcome::Retrying { .. })
    ));
}

#[tokio::test]
async fn permanent_failures_do_not_retry() {
    let setup = setup().await;
    let id = setup
        .jobs
        .enqueue(NewJob::new("test.flaky", json!({ "permanent": true })).for_org(setup.org))
        .await
        .unwrap();
    let outcomes = worker(&setup, Flaky::default(), 1).drain().await.unwrap();
    assert_eq!(
        outcomes,
        vec![JobOutcome::Failed {
            id,
            error: "bad payload".into()
        }]
    );
}

#[tokio::test]
async fn unknown_kinds_wait_for_a_worker_that_knows_them() {
    let setup = setup().await;
    let id = setup
        .jobs
        .enqueue(NewJob::new("nobody.knows", json!({})).for_org(setup.org))
        .await
        .unwrap();
    assert!(
        worker(&setup, Flaky::default(), 1)
            .drain()
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        setup.jobs.job(setup.org, id, false).await.unwrap().state,
        JobState::Queued
    );
}

#[tokio::test]
async fn dedupe_keys_enqueue_once() {
    let setup = setup().await;
    let a = setup
        .jobs
        .enqueue(NewJob::new("test.flaky", json!({})).dedupe_key("import:2026-11"))
        .await
        .unwrap();
    let b = setup
        .jobs
        .enqueue(NewJob::new("test.flaky", json!({})).dedupe_key("import:2026-11"))
        .await
        .unwrap();
    assert_eq!(a, b);
}

#[tokio::test]
async fn cancel_and_retry_follow_the_state_rules_and_the_organization() {
    let setup = setup().await;
    let id = setup
        .jobs
        .enqueue(NewJob::new("test.flaky", json!({})).for_org(setup.org))
        .await
        .unwrap();
    assert!(matches!(
        setup.jobs.cancel(setup.other_org, id).await,
        Err(JobsError::NotFound)
    ));
    assert!(matches!(
        setup.jobs.retry(setup.org, id).await,
        Err(JobsError::Conflict(_))
    ));
    assert_eq!(
        setup.jobs.cancel(setup.org, id).await.unwrap().state,
        JobState::Cancelled
    );
    assert!(matches!(
        setup.jobs.cancel(setup.org, id).await,
        Err(JobsError::Conflict(_))
    ));
    assert!(
        setup
            .jobs
            .list(setup.other_org, &JobFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        setup.jobs.job(setup.other_org, id, true).await,
        Err(JobsError::NotFound)
    ));
}

#[tokio::test]
async fn an_abandoned_job_is_reclaimed_after_its_lease() {
    let setup = setup().await;
    let id = setup
        .jobs
        .enqueue(NewJob::new("test.flaky", json!({})).for_org(setup.org))
        .await
        .unwrap();
    // A worker claimed it and died: simulate the claim directly.
    sqlx::query("UPDATE jobs SET state = 'running', attempts = 1, locked_until = $1 WHERE id = $2")
        .bind(setup.clock.now_millis() + 1000)
        .bind(id.get())
        .execute(setup.jobs.db().pool())
        .await
        .unwrap();
    let worker = worker(&setup, Flaky::default(), 1);
    assert!(
        worker.run_once().await.unwrap().is_none(),
        "lease still held"
    );
    setup.clock.advance_millis(1001);
    assert_eq!(
        worker.run_once().await.unwrap(),
        Some(JobOutcome::Succeeded(id))
    );
    assert_eq!(
        setup.jobs.job(setup.org, id, false).await.unwrap().attempts,
        2
    );
}

#[tokio::test]
async fn concurrent_workers_run_every_job_exactly_once() {
    let setup = setup().await;
    let handler = Flaky::default();
    let mut ids = Vec::new();
    for i in 0..24 {
        ids.push(
            setup
                .jobs
                .enqueue(NewJob::new("test.flaky", json!({ "i": i })))
                .await
                .unwrap(),
        );
    }
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let worker = worker(&setup, handler.clone(), 8);
        tasks.push(tokio::spawn(async move { worker.drain().await.unwrap() }));
    }
    let mut outcomes = 0;
    for task in tasks {
        outcomes += task.await.unwrap().len();
    }
    assert_eq!(outcomes, 24);
    let runs = handler.runs.lock().unwrap();
    assert_eq!(runs.len(), 24);
    assert!(runs.values().all(|&n| n == 1), "a job ran twice: {runs:?}");
}

/// Holds every run until released, to observe how many run at once.
#[derive(Clone, Default)]
struct Gate {
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl JobHandler for Gate {
    fn run<'a>(&'a self, _ctx: &'a JobContext) -> BoxFuture<'a, Result<Option<Value>, JobError>> {
        Box::pin(async move {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            self.running.fetch_sub(1, Ordering::SeqCst);
            Ok(None)
        })
    }
}

#[tokio::test]
async fn per_kind_concurrency_limits_hold() {
    let setup = setup().await;
    let gate = Gate::default();
    let mut registry = Registry::new();
    registry.register("test.gate", 2, gate.clone());
    let worker = Worker::new(
        setup.jobs.clone(),
        registry,
        WorkerConfig {
            concurrency: 8,
            poll_interval: std::time::Duration::from_millis(5),
            ..WorkerConfig::default()
        },
    );
    for _ in 0..8 {
        setup
            .jobs
            .enqueue(NewJob::new("test.gate", json!({})))
            .await
            .unwrap();
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(worker.run(stopped));
    for _ in 0..200 {
        let queued = setup
            .jobs
            .list(
                setup.org,
                &JobFilter {
                    include_system: true,
                    ..JobFilter::default()
                },
            )
            .await
            .unwrap();
        if queued.iter().all(|j| j.state == JobState::Succeeded) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    running.await.unwrap();
    assert_eq!(
        gate.peak.load(Ordering::SeqCst),
        2,
        "at most 2 test.gate jobs at once, and the limit was reached"
    );
}

#[tokio::test]
async fn schedules_fire_in_kst_once_per_fire_time() {
    let setup = setup().await;
    let scheduler = Scheduler::new(setup.jobs.clone());
    // 07:00 KST now; the schedule fires daily at 08:00 KST.
    setup.clock.set_millis(
        chrono::DateTime::parse_from_rfc3339("2026-11-21T07:00:00+09:00")
            .unwrap()
            .timestamp_millis(),
    );
    let schedule = scheduler
        .ensure(
            "shops.daily",
            "0 8 * * *",
            "test.flaky",
            json!({}),
            Some(setup.org),
        )
        .await
        .unwrap();
    assert_eq!(
        adpool_core::format_kst_datetime(schedule.next_run_at),
        "2026-11-21 08:00 KST"
    );
    assert!(scheduler.tick().await.unwrap().is_empty());

    setup.clock.advance_millis(3_600_000);
    let second_scheduler = Scheduler::new(setup.jobs.clone());
    let (first, second) = tokio::join!(scheduler.tick(), second_scheduler.tick());
    let fired: Vec<JobId> = first.unwrap().into_iter().chain(second.unwrap()).collect();
    assert_eq!(fired.len(), 1, "two schedulers fire one job");
    let listed = scheduler.list(setup.org, false).await.unwrap();
    assert_eq!(
        adpool_core::format_kst_datetime(listed[0].next_run_at),
        "2026-11-22 08:00 KST"
    );
    assert!(
        scheduler
            .list(setup.other_org, true)
            .await
            .unwrap()
            .is_empty()
    );

    // Down for three days: one catch-up firing, not three.
    setup.clock.advance_millis(3 * 86_400_000);
    assert_eq!(scheduler.tick().await.unwrap().len(), 1);
    assert!(scheduler.tick().await.unwrap().is_empty());
}

#[tokio::test]
async fn notifications_are_scoped_and_marked_read() {
    let setup = setup().await;
    let notifications = Notifications::new(setup.jobs.clone());
    let mut users = Vec::new();
    for email in ["seven@a.kr", "eight@a.kr"] {
        let row = sqlx::query("INSERT INTO users (org_id, email, display_name, role, password_hash, created_at) VALUES ($1, $2, 'u', 'operator', 'h', 0) RETURNING id")
            .bind(setup.org.get())
            .bind(email)
            .fetch_one(setup.jobs.db().pool())
            .await
            .unwrap();
        users.push(adpool_core::UserId(sqlx::Row::get(&row, 0)));
    }
    let user = users[0];
    let everyone = notifications
        .notify(NewNotification::new(setup.org, Level::Info, "hello", "all"))
        .await
        .unwrap();
    notifications
        .notify(NewNotification::new(setup.org, Level::Warning, "mine", "only 7").for_user(user))
        .await
        .unwrap();
    notifications
        .notify(
            NewNotification::new(setup.org, Level::Warning, "not mine", "only 8")
                .for_user(users[1]),
        )
        .await
        .unwrap();
    assert_eq!(
        notifications.unread_count(setup.org, user).await.unwrap(),
        2
    );
    assert!(matches!(
        notifications
            .mark_read(setup.other_org, user, everyone)
            .await,
        Err(JobsError::NotFound)
    ));
    notifications
        .mark_read(setup.org, user, everyone)
        .await
        .unwrap();
    assert_eq!(
        notifications.unread_count(setup.org, user).await.unwrap(),
        1
    );
    assert_eq!(
        notifications.mark_all_read(setup.org, user).await.unwrap(),
        1
    );
    assert_eq!(
        notifications
            .list(setup.other_org, user, false, 10)
            .await
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn notifications_are_delivered_to_the_webhook_with_retries() {
    use axum::{Json, Router, http::StatusCode, routing::post};
    let setup = setup().await;
    // A local fake receiver: fails the first delivery, accepts the second.
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = {
        let received = received.clone();
        let calls = calls.clone();
        Router::new().route(
            "/hook",
            post(move |Json(body): Json<Value>| async move {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                received.lock().unwrap().push(body);
                StatusCode::NO_CONTENT
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    sqlx::query("UPDATE organizations SET webhook_url = $1 WHERE id = $2")
        .bind(format!("http://{address}/hook"))
        .bind(setup.org.get())
        .execute(setup.jobs.db().pool())
        .await
        .unwrap();

    let notifications = Notifications::new(setup.jobs.clone());
    notifications
        .notify(NewNotification::new(
            setup.org,
            Level::Success,
            "Import done",
            "1,234 rows",
        ))
        .await
        .unwrap();
    notifications
        .notify(NewNotification::new(
            setup.other_org,
            Level::Info,
            "B has no webhook",
            "",
        ))
        .await
        .unwrap();

    // Public hosts only by default: the delivery to 127.0.0.1 fails at once, with no request.
    let mut registry = Registry::new();
    registry.register(WEBHOOK_JOB_KIND, 1, WebhookDelivery::default());
    let strict = Worker::new(setup.jobs.clone(), registry, WorkerConfig::default());
    assert!(
        matches!(strict.run_once().await.unwrap(), Some(JobOutcome::Failed { error, .. }) if error.contains("not a public")),
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0, "no request was made");
    notifications
        .notify(NewNotification::new(
            setup.org,
            Level::Success,
            "Import done",
            "1,234 rows",
        ))
        .await
        .unwrap();

    // A deployment that allows its own host delivers there.
    let mut registry = Registry::new();
    registry.register(
        WEBHOOK_JOB_KIND,
        1,
        WebhookDelivery::new(adpool_outbound::OutboundRules::new(["127.0.0.1"])),
    );
    let worker = Worker::new(setup.jobs.clone(), registry, WorkerConfig::default());
    assert!(
        matches!(worker.run_once().await.unwrap(), Some(JobOutcome::Retrying { error, .. }) if error.contains("503"))
    );
    setup.clock.advance_millis(backoff_millis(1));
    assert!(matches!(
        worker.run_once().await.unwrap(),
        Some(JobOutcome::Succeeded(_))
    ));
    assert!(
        worker.run_once().await.unwrap().is_none(),
        "organization B enqueued no delivery"
    );
    let received = received.lock().unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["notification"]["title"], "Import done");
    assert_eq!(received[0]["notification"]["level"], "success");
}

/// Never finishes by itself.
struct Forever;

impl JobHandler for Forever {
    fn run<'a>(&'a self, _ctx: &'a JobContext) -> BoxFuture<'a, Result<Option<Value>, JobError>> {
        Box::pin(async move {
            std::future::pending::<()>().await;
            Ok(None)
        })
    }
}

#[tokio::test]
async fn shutdown_hands_unfinished_jobs_back_to_the_queue() {
    let setup = setup().await;
    let mut registry = Registry::new();
    registry.register("test.forever", 1, Forever);
    let config = WorkerConfig {
        poll_interval: std::time::Duration::from_millis(5),
        shutdown_grace: std::time::Duration::from_millis(50),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(setup.jobs.clone(), registry, config);
    let id = setup
        .jobs
        .enqueue(NewJob::new("test.forever", json!({})).for_org(setup.org))
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(worker.run(stopped));
    for _ in 0..200 {
        if setup.jobs.job(setup.org, id, false).await.unwrap().state == JobState::Running {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    stop.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), running)
        .await
        .expect("the worker stops within its grace")
        .unwrap();
    let job = setup.jobs.job(setup.org, id, false).await.unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Queued, 1));
    assert!(
        job.run_at <= setup.clock.now_millis(),
        "runnable at once on the next start"
    );
}
