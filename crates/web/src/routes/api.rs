//! The JSON API under `/api/v1`. Every error has the shape of [`crate::ErrorBody`].

use adpool_accounts::{ApiToken, NewUser, OrganizationUpdate, Role, User, UserId, UserUpdate};
use adpool_core::JobId;
use adpool_jobs::{Job, JobFilter, JobState, Notification, Schedule};
use axum::extract::{FromRequest, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Admin, Operator, Staff};
use crate::{AppError, AppState, Caller};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route(
            "/organization",
            get(organization).patch(update_organization),
        )
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", get(get_user).patch(update_user))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/jobs", get(list_jobs))
        .route("/jobs/{id}", get(get_job))
        .route("/jobs/{id}/retry", post(retry_job))
        .route("/jobs/{id}/cancel", post(cancel_job))
        .route("/notifications", get(list_notifications))
        .route("/notifications/{id}/read", post(read_notification))
        .route("/notifications/read-all", post(read_all_notifications))
        .route("/schedules", get(list_schedules))
}

/// A JSON body whose rejection is answered in the API's error shape.
pub(crate) struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        // Read whole (within the route's body limit) to refuse an escaped NUL first: no text
        // column can store one, and PostgreSQL would refuse the statement.
        let (parts, body) = request.into_parts();
        let bytes = axum::body::Bytes::from_request(
            axum::extract::Request::from_parts(parts.clone(), body),
            state,
        )
        .await
        .map_err(|e| AppError::unreadable_body(e.status(), e.body_text()))?;
        if escapes_nul(&bytes) {
            return Err(AppError::Validation {
                field: "body".into(),
                message: "text cannot hold a NUL character (\\u0000)".into(),
            });
        }
        // Every body the API takes is one JSON object; serde would also fill a struct from an
        // array (`[null, null]`), which no client means.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') && !bytes.is_empty() {
            return Err(AppError::Validation {
                field: "body".into(),
                message: "the body must be one JSON object".into(),
            });
        }
        let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
        let mut value = match Json::<serde_json::Value>::from_request(request, state).await {
            Ok(Json(value)) => value,
            Err(e) => return Err(AppError::unreadable_body(e.status(), e.body_text())),
        };
        integral_numbers_as_integers(&mut value);
        serde_path_to_error::deserialize(value)
            .map(ApiJson)
            .map_err(|e| {
                let path = e.path().to_string();
                AppError::Validation {
                    field: if path == "." { "body".into() } else { path },
                    message: e.into_inner().to_string(),
                }
            })
    }
}

/// JSON has one number type: `1.0` is the integer 1 to JSON Schema and to clients that write
/// every number as a float (Python's `json.dumps(1.0)`), so such numbers are taken as integers
/// before the body is read into integer fields. Numbers with a fraction stay as they are.
fn integral_numbers_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(number) => {
            if let Some(float) = number.as_f64().filter(|_| number.is_f64())
                && float.fract() == 0.0
                && float.abs() < 9.007_199_254_740_992e15
            {
                *number = serde_json::Number::from(float as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        serde_json::Value::Object(fields) => {
            fields.values_mut().for_each(integral_numbers_as_integers)
        }
        _ => {}
    }
}

/// Whether JSON text holds `\u0000` in a string. A backslash only starts an escape in JSON,
/// so each escape is stepped over whole and `\\u0000` (a backslash, then text) is not one.
fn escapes_nul(json: &[u8]) -> bool {
    let mut at = 0;
    while at < json.len() {
        if json[at] == b'\\' {
            if json[at + 1..].starts_with(b"u0000") {
                return true;
            }
            at += 2;
        } else {
            at += 1;
        }
    }
    false
}

/// A user as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserView {
    id: i64,
    org_id: i64,
    email: String,
    display_name: String,
    /// admin, operator, advertiser or analyst
    role: String,
    created_at: i64,
    last_login_at: Option<i64>,
    disabled_at: Option<i64>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id.get(),
            org_id: u.org_id.get(),
            email: u.email,
            display_name: u.display_name,
            role: u.role.as_str().to_owned(),
            created_at: u.created_at,
            last_login_at: u.last_login_at,
            disabled_at: u.disabled_at,
        }
    }
}

/// The caller and their organization.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MeView {
    user: UserView,
    organization: OrganizationView,
    /// `session` or `token`
    authenticated_by: &'static str,
}

/// An organization.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrganizationView {
    id: i64,
    name: String,
    /// Shown to admins only (absent for other roles).
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_url: Option<String>,
    created_at: i64,
}

impl OrganizationView {
    /// The organization as `caller` may see it: the webhook URL is for admins only.
    fn for_caller(o: adpool_accounts::Organization, caller: &Caller) -> Self {
        OrganizationView {
            id: o.id.get(),
            name: o.name,
            webhook_url: o.webhook_url.filter(|_| caller.role().is_admin()),
            created_at: o.created_at,
        }
    }
}

/// An API token (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenView {
    id: i64,
    user_id: i64,
    name: String,
    token_prefix: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> Self {
        TokenView {
            id: t.id,
            user_id: t.user_id.get(),
            name: t.name,
            token_prefix: t.token_prefix,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A token just created: `secret` is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedTokenView {
    token: TokenView,
    /// Send as `Authorization: Bearer <secret>`.
    secret: String,
}

/// A background job.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct JobView {
    id: i64,
    kind: String,
    /// queued, running, succeeded, failed or cancelled
    state: String,
    attempts: i64,
    max_attempts: i64,
    run_at: i64,
    last_error: Option<String>,
    progress_done: i64,
    progress_total: Option<i64>,
    progress_percent: Option<i64>,
    progress_note: Option<String>,
    #[schema(value_type = Object)]
    payload: serde_json::Value,
    #[schema(value_type = Option<Object>)]
    result: Option<serde_json::Value>,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
}

impl From<Job> for JobView {
    fn from(j: Job) -> Self {
        JobView {
            id: j.id.get(),
            kind: j.kind,
            state: j.state.as_str().to_owned(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: j.run_at,
            last_error: j.last_error,
            progress_percent: j.progress.percent(),
            progress_done: j.progress.done,
            progress_total: j.progress.total,
            progress_note: j.progress.note,
            payload: j.payload,
            result: j.result,
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
        }
    }
}

/// A notification.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NotificationView {
    id: i64,
    /// info, success, warning or error
    level: String,
    title: String,
    body: String,
    link: Option<String>,
    created_at: i64,
    read_at: Option<i64>,
}

impl From<Notification> for NotificationView {
    fn from(n: Notification) -> Self {
        NotificationView {
            id: n.id,
            level: n.level.as_str().to_owned(),
            title: n.title,
            body: n.body,
            link: n.link,
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

/// A cron schedule (KST).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScheduleView {
    name: String,
    cron: String,
    job_kind: String,
    next_run_at: i64,
    last_run_at: Option<i64>,
    paused_at: Option<i64>,
}

impl From<Schedule> for ScheduleView {
    fn from(s: Schedule) -> Self {
        ScheduleView {
            name: s.name,
            cron: s.cron,
            job_kind: s.job_kind,
            next_run_at: s.next_run_at,
            last_run_at: s.last_run_at,
            paused_at: s.paused_at,
        }
    }
}

/// Create a user in the caller's organization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUserRequest {
    #[schema(format = Email, max_length = 254)]
    email: String,
    #[schema(pattern = "[^\\s\\u0085]", max_length = 100)]
    display_name: String,
    #[schema(value_type = super::api_words::RoleWord)]
    role: String,
    /// At least 10 characters, not one character repeated, not the email, not a common password.
    #[schema(min_length = 10, max_length = 256)]
    password: String,
}

/// Change a user; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateUserRequest {
    #[schema(pattern = "[^\\s\\u0085]", max_length = 100)]
    display_name: Option<String>,
    #[schema(value_type = Option<super::api_words::RoleWord>)]
    role: Option<String>,
    disabled: Option<bool>,
    #[schema(min_length = 10, max_length = 256)]
    password: Option<String>,
}

/// Change the organization; absent fields stay as they are; an empty webhook_url clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateOrganizationRequest {
    #[schema(pattern = "[^\\s\\u0085]", max_length = 100)]
    name: Option<String>,
    /// An `https://` or `http://` URL on a public host; empty clears it.
    #[schema(pattern = "^[\\s\\u0085]*(https?://[\\s\\S]+)?$", max_length = 2000)]
    webhook_url: Option<String>,
}

/// Create an API token acting as the caller.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTokenRequest {
    #[schema(pattern = "[^\\s\\u0085]", max_length = 100)]
    name: String,
}

/// Filters for the job list.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct JobsQuery {
    #[param(schema_with = super::api_words::or_empty::<super::api_words::JobStateWord>)]
    state: Option<String>,
    kind: Option<String>,
    /// Default 100; taken as 1 to 500.
    limit: Option<i64>,
}

/// Filters for notifications.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct NotificationsQuery {
    /// Only unread ones.
    unread: Option<bool>,
    /// Default 100; taken as 1 to 500.
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, body = MeView), (status = 401, body = crate::ErrorBody)))]
pub(crate) async fn me(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<MeView>, AppError> {
    let organization = state.accounts.organization(caller.org()).await?;
    let authenticated_by = match caller.via {
        crate::auth::AuthVia::Session { .. } => "session",
        crate::auth::AuthVia::Token => "token",
    };
    Ok(Json(MeView {
        organization: OrganizationView::for_caller(organization, &caller),
        user: caller.user.into(),
        authenticated_by,
    }))
}

#[utoipa::path(get, path = "/api/v1/organization", tag = "accounts", responses((status = 200, body = OrganizationView)))]
pub(crate) async fn organization(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<OrganizationView>, AppError> {
    let organization = state.accounts.organization(caller.org()).await?;
    Ok(Json(OrganizationView::for_caller(organization, &caller)))
}

#[utoipa::path(patch, path = "/api/v1/organization", tag = "accounts", request_body = UpdateOrganizationRequest,
    responses((status = 200, body = OrganizationView), (status = 403, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn update_organization(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(body): ApiJson<UpdateOrganizationRequest>,
) -> Result<Json<OrganizationView>, AppError> {
    let update = OrganizationUpdate {
        name: body.name,
        webhook_url: body.webhook_url,
    };
    let organization = state
        .accounts
        .update_organization(caller.org(), update)
        .await?;
    Ok(Json(OrganizationView::for_caller(organization, &caller)))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "accounts", responses((status = 200, body = [UserView]), (status = 403, body = crate::ErrorBody)))]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    Admin(caller): Admin,
) -> Result<Json<Vec<UserView>>, AppError> {
    Ok(Json(
        state
            .accounts
            .users(caller.org())
            .await?
            .into_iter()
            .map(UserView::from)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = CreateUserRequest,
    responses((status = 201, body = UserView), (status = 403, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(body): ApiJson<CreateUserRequest>,
) -> Result<Response, AppError> {
    let role = Role::parse(&body.role)?;
    let user = state
        .accounts
        .create_user(NewUser {
            org_id: caller.org(),
            email: body.email,
            display_name: body.display_name,
            role,
            password: body.password,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(UserView::from(user))).into_response())
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "accounts", params(("id" = i64, Path)),
    responses((status = 200, body = UserView), (status = 404, body = crate::ErrorBody)))]
pub(crate) async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<UserView>, AppError> {
    if caller.user.id.get() != id {
        caller.require_admin()?;
    }
    Ok(Json(
        state.accounts.user(caller.org(), UserId(id)).await?.into(),
    ))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "accounts", params(("id" = i64, Path)), request_body = UpdateUserRequest,
    responses((status = 200, body = UserView), (status = 403, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody)))]
pub(crate) async fn update_user(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<UpdateUserRequest>,
) -> Result<Json<UserView>, AppError> {
    let update = UserUpdate {
        display_name: body.display_name,
        role: body.role.as_deref().map(Role::parse).transpose()?,
        disabled: body.disabled,
        password: body.password,
    };
    Ok(Json(
        state
            .accounts
            .update_user(caller.org(), UserId(id), update)
            .await?
            .into(),
    ))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "accounts", responses((status = 200, body = [TokenView])))]
pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<TokenView>>, AppError> {
    let tokens = state.accounts.api_tokens(caller.org()).await?;
    let is_admin = caller.role().is_admin();
    Ok(Json(
        tokens
            .into_iter()
            .filter(|t| is_admin || t.user_id == caller.user.id)
            .map(TokenView::from)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts", request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedTokenView), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateTokenRequest>,
) -> Result<Response, AppError> {
    let created = state
        .accounts
        .create_api_token(caller.org(), caller.user.id, &body.name)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedTokenView {
            token: created.token.into(),
            secret: created.secret,
        }),
    )
        .into_response())
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts", params(("id" = i64, Path)),
    responses((status = 200, body = TokenView), (status = 404, body = crate::ErrorBody)))]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<TokenView>, AppError> {
    if !caller.role().is_admin() {
        // Non-admins may revoke only their own tokens; others' are reported as absent.
        let own = state
            .accounts
            .api_tokens(caller.org())
            .await?
            .into_iter()
            .any(|t| t.id == id && t.user_id == caller.user.id);
        if !own {
            return Err(AppError::NotFound);
        }
    }
    Ok(Json(
        state
            .accounts
            .revoke_api_token(caller.org(), id)
            .await?
            .into(),
    ))
}

#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", params(JobsQuery), responses((status = 200, body = [JobView]), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn list_jobs(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Query(query): Query<JobsQuery>,
) -> Result<Json<Vec<JobView>>, AppError> {
    let job_state = match query.state.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(JobState::parse(s).ok_or_else(|| AppError::Validation {
            field: "state".into(),
            message: format!("'{s}' is not a job state"),
        })?),
        None => None,
    };
    let filter = JobFilter {
        state: job_state,
        kind: query.kind,
        include_system: caller.sees_system_jobs(&state.config),
        limit: query.limit,
    };
    Ok(Json(
        state
            .jobs
            .list(caller.org(), &filter)
            .await?
            .into_iter()
            .map(JobView::from)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", params(("id" = i64, Path)), responses((status = 200, body = JobView), (status = 404, body = crate::ErrorBody)))]
pub(crate) async fn get_job(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path(id): Path<i64>,
) -> Result<Json<JobView>, AppError> {
    Ok(Json(
        state
            .jobs
            .job(
                caller.org(),
                JobId(id),
                caller.sees_system_jobs(&state.config),
            )
            .await?
            .into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "jobs", params(("id" = i64, Path)),
    responses((status = 200, body = JobView), (status = 403, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody)))]
pub(crate) async fn retry_job(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Path(id): Path<i64>,
) -> Result<Json<JobView>, AppError> {
    let job = state.jobs.retry(caller.org(), JobId(id)).await?;
    state.worker_wake.notify_one();
    Ok(Json(job.into()))
}

#[utoipa::path(post, path = "/api/v1/jobs/{id}/cancel", tag = "jobs", params(("id" = i64, Path)),
    responses((status = 200, body = JobView), (status = 403, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody)))]
pub(crate) async fn cancel_job(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Path(id): Path<i64>,
) -> Result<Json<JobView>, AppError> {
    Ok(Json(
        state.jobs.cancel(caller.org(), JobId(id)).await?.into(),
    ))
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(NotificationsQuery), responses((status = 200, body = [NotificationView])))]
pub(crate) async fn list_notifications(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<NotificationsQuery>,
) -> Result<Json<Vec<NotificationView>>, AppError> {
    let list = state
        .notifications
        .list(
            caller.org(),
            caller.user.id,
            query.unread.unwrap_or(false),
            query.limit.unwrap_or(100),
        )
        .await?;
    Ok(Json(list.into_iter().map(NotificationView::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::ErrorBody)))]
pub(crate) async fn read_notification(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    state
        .notifications
        .mark_read(caller.org(), caller.user.id, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many notifications changed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MarkedView {
    marked: u64,
}

#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "notifications", responses((status = 200, body = MarkedView)))]
pub(crate) async fn read_all_notifications(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<MarkedView>, AppError> {
    Ok(Json(MarkedView {
        marked: state
            .notifications
            .mark_all_read(caller.org(), caller.user.id)
            .await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/schedules", tag = "jobs", responses((status = 200, body = [ScheduleView]), (status = 403, body = crate::ErrorBody)))]
pub(crate) async fn list_schedules(
    State(state): State<AppState>,
    Admin(caller): Admin,
) -> Result<Json<Vec<ScheduleView>>, AppError> {
    Ok(Json(
        state
            .scheduler
            .list(caller.org(), caller.sees_system_jobs(&state.config))
            .await?
            .into_iter()
            .map(ScheduleView::from)
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_escaped_nul_is_found_and_an_escaped_backslash_is_not_one() {
        assert!(super::escapes_nul(br#"{"name":"a\u0000b"}"#));
        assert!(!super::escapes_nul(br#"{"name":"a\\u0000b"}"#));
        assert!(super::escapes_nul(br#"{"name":"a\\\u0000b"}"#));
        assert!(!super::escapes_nul(br#"{"name":"\u00e9"}"#));
        assert!(!super::escapes_nul(br"{}\"));
    }
}
