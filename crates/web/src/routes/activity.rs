//! Pages for background work and its results: jobs and notifications.

use adpool_core::JobId;
use adpool_jobs::{Job, JobFilter, JobState};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use serde::Deserialize;

use super::{Flash, PageError, back_to, see_other};
use crate::auth::PageCaller;
use crate::auth::{PageOperator, PageStaff};
use crate::render::page;
use crate::{AppError, AppState, Lang};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(jobs_page))
        .route("/jobs/{id}", get(job_page))
        .route("/jobs/{id}/retry", post(retry_job))
        .route("/jobs/{id}/cancel", post(cancel_job))
        .route("/notifications", get(notifications_page))
        .route("/notifications/{id}/read", post(mark_read))
        .route("/notifications/read-all", post(mark_all_read))
}

/// One row of a jobs table.
pub(crate) fn job_row(job: &Job) -> Value {
    context! {
        id => job.id.get(), kind => job.kind.clone(), state => job.state.as_str(), attempts => job.attempts,
        max_attempts => job.max_attempts, run_at => job.run_at, created_at => job.created_at,
        last_error => job.last_error.clone(), percent => job.progress.percent(), done => job.progress.done,
        note => job.progress.note.clone(),
        can_retry => job.org_id.is_some() && matches!(job.state, JobState::Failed | JobState::Cancelled),
        can_cancel => job.org_id.is_some() && job.state == JobState::Queued,
    }
}

#[derive(Debug, Deserialize)]
struct JobsQuery {
    state: Option<String>,
    #[serde(flatten)]
    flash: Flash,
}

async fn jobs_page(
    State(state): State<AppState>,
    PageStaff(caller): PageStaff,
    lang: Lang,
    Query(query): Query<JobsQuery>,
) -> Result<Response, PageError> {
    let state_filter = query.state.as_deref().filter(|s| !s.is_empty()).map(|s| {
        JobState::parse(s).ok_or_else(|| AppError::Validation {
            field: "state".into(),
            message: format!("'{s}' is not a job state"),
        })
    });
    let state_filter = state_filter.transpose()?;
    let filter = JobFilter {
        state: state_filter,
        include_system: caller.sees_system_jobs(&state.config),
        limit: Some(200),
        ..JobFilter::default()
    };
    let jobs = state.jobs.list(caller.org(), &filter).await?;
    let any_active = jobs.iter().any(|j| !j.state.is_final());
    let extra = context! {
        ..query.flash.context(),
        ..context! {
            jobs => jobs.iter().map(job_row).collect::<Vec<_>>(),
            states => JobState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            state_filter => state_filter.map(JobState::as_str),
            any_active => any_active,
        }
    };
    Ok(page(&state, &caller, lang, "jobs.html", "jobs", extra)
        .await?
        .into_response())
}

async fn job_page(
    State(state): State<AppState>,
    PageStaff(caller): PageStaff,
    lang: Lang,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let job = state
        .jobs
        .job(
            caller.org(),
            JobId(id),
            caller.sees_system_jobs(&state.config),
        )
        .await?;
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let extra = context! {
        percent => job.progress.percent(),
        active => !job.state.is_final(),
        payload => pretty(&job.payload),
        result => job.result.as_ref().map_or_else(|| "—".to_owned(), pretty),
        can_retry => job.org_id.is_some() && matches!(job.state, JobState::Failed | JobState::Cancelled),
        can_cancel => job.org_id.is_some() && job.state == JobState::Queued,
        job => job,
    };
    Ok(page(&state, &caller, lang, "job.html", "jobs", extra)
        .await?
        .into_response())
}

async fn retry_job(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let result = state.jobs.retry(caller.org(), JobId(id)).await;
    if result.is_ok() {
        state.worker_wake.notify_one();
    }
    back_to("/jobs", result, |job| {
        format!("#{} {}", job.id, job.state.as_str())
    })
}

async fn cancel_job(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let result = state.jobs.cancel(caller.org(), JobId(id)).await;
    back_to("/jobs", result, |job| {
        format!("#{} {}", job.id, job.state.as_str())
    })
}

async fn notifications_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    lang: Lang,
) -> Result<Response, PageError> {
    let notifications = state
        .notifications
        .list(caller.org(), caller.user.id, false, 200)
        .await?;
    Ok(page(
        &state,
        &caller,
        lang,
        "notifications.html",
        "",
        context! { notifications => notifications },
    )
    .await?
    .into_response())
}

async fn mark_read(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    state
        .notifications
        .mark_read(caller.org(), caller.user.id, id)
        .await?;
    Ok(see_other("/notifications"))
}

async fn mark_all_read(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
) -> Result<Response, PageError> {
    state
        .notifications
        .mark_all_read(caller.org(), caller.user.id)
        .await?;
    Ok(see_other("/notifications"))
}
