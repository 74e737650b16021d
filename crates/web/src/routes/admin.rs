//! Organization administration pages: users, settings, API tokens, schedules.

use adpool_accounts::{NewUser, OrganizationUpdate, Role, UserId, UserUpdate};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;
use serde::Deserialize;

use super::{Flash, PageError, back_to, see_other};
use crate::auth::PageAdmin;
use crate::render::page;
use crate::{AppState, Lang, translate};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(|| async { see_other("/admin/users") }))
        .route("/admin/users", get(users_page).post(create_user))
        .route("/admin/users/{id}", post(update_user))
        .route(
            "/admin/organization",
            get(organization_page).post(update_organization),
        )
        .route("/admin/organization/rotate-secret", post(rotate_secret))
        .route("/admin/tokens", get(tokens_page).post(create_token))
        .route("/admin/tokens/{id}/revoke", post(revoke_token))
        .route("/admin/schedules", get(schedules_page))
        .route("/admin/deployment", get(deployment_page))
}

fn role_names() -> Vec<&'static str> {
    Role::ALL.iter().map(|r| r.as_str()).collect()
}

async fn users_page(
    State(state): State<AppState>,
    PageAdmin(caller): PageAdmin,
    lang: Lang,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    let users = state.accounts.users(caller.org()).await?;
    let extra =
        context! { ..flash.context(), ..context! { users => users, roles => role_names() } };
    Ok(
        page(&state, &caller, lang, "admin_users.html", "admin", extra)
            .await?
            .into_response(),
    )
}

#[derive(Debug, Deserialize)]
struct CreateUserForm {
    display_name: String,
    email: String,
    role: String,
    password: String,
}

async fn create_user(
    State(state): State<AppState>,
    PageAdmin(caller): PageAdmin,
    lang: Lang,
    Form(form): Form<CreateUserForm>,
) -> Result<Response, PageError> {
    let result = async {
        let role = Role::parse(&form.role)?;
        state
            .accounts
            .create_user(NewUser {
                org_id: caller.org(),
                email: form.email,
                display_name: form.display_name,
                role,
                password: form.password,
            })
            .await
    }
    .await;
    back_to("/admin/users", result, |user| {
        format!("{} {}", translate(lang, "admin.saved"), user.email)
    })
}

#[derive(Debug, Deserialize)]
struct UpdateUserForm {
    role: Option<String>,
    disabled: Option<String>,
}

async fn update_user(
    State(state): State<AppState>,
    PageAdmin(caller): PageAdmin,
    lang: Lang,
    Path(id): Path<i64>,
    Form(form): Form<UpdateUserForm>,
) -> Result<Response, PageError> {
    let role = form.role.as_deref().map(Role::parse).transpose();
    let result = match role {
        Ok(role) => {
            let update = UserUpdate {
                role,
                disabled: form.disabled.as_deref().map(|d| d == "true"),
                ..UserUpdate::default()
            };
            state
                .accounts
                .update_user(caller.org(), UserId(id), update)
                .await
        }
        Err(error) => Err(error),
    };
    back_to("/admin/users", result, |_| translate(lang, "admin.saved"))
}

async fn organization_page(
    State(state): State<AppState>,
    PageAdmin(caller): PageAdmin,
    lang: Lang,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    let org = state.accounts.organization(caller.org()).await?;
    let secret = adpool_jobs::signing_secret(&state.jobs, caller.org()).await?;
    let extra = context! { ..flash.context(), ..context! { org => org, signing_secret => secret } };
    Ok(page(
        &state,
        &caller,
        lang,
        "admin_organization.html",
        "admin",
        extra,
    )
    .await?
    .into_response())
}

#[derive(Debug, Deserialize)]
struct OrganizationForm {
    name: String,
    webhook_url: String,
}

async fn update_organization(
    State(state): State<AppState>,
    PageAdmin(caller): PageAdmin,
    lang: Lang,
    Form(form): Form<OrganizationForm>,
) -> Result<Response, PageError> {
    let update = OrganizationUpdate {
        name: Some(form.name),
        webhook_url: Some(form.webhook_url),
    };
    let result = state
        .accounts
        .update_organization(caller.org(), update)
        .await
        .map_err(|error| match error {
            adpool_accounts::AccountsError::Outbound { field, error } => {
                crate::i18n::outbound_refusal(lang, field, &error)
            }
            other => other.into(),
        });
    back_to("/admin/organization", result, |_| {
        translate(lang, "admin.saved")
    })
}

async fn tokens_page(
    State(state): State<AppState>,
    PageAdmin(caller): PageAdmin,
    lang: Lang,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    render_tokens(&state, &caller, lang, flash, None).await
}

async fn render_tokens(
    state: &AppState,
    caller: &crate::Caller,
    lang: Lang,
    flash: Flash,
    new_secret: Option<String>,
) -> Result<Response, PageError> {
    let users = state.accounts.users(caller.org()).await?;
    let tokens: Vec<_> = state
        .accounts
        .api_tokens(caller.org())
        .await?
        .into_iter()
        .map(|t| {
            let owner = users.iter().find(|u| u.id == t.user_id).map(|u| u.email.clone()).unwrap_or_default();
            context! { id => t.id, name => t.name, token_prefix => t.token_prefix, owner => owner, created_at => t.created_at, last_used_at => t.last_used_at, revoked_at => t.revoked_at }
        })
        .collect();
    let extra =
        context! { ..flash.context(), ..context! { tokens => tokens, new_secret => new_secret } };
    Ok(
        page(state, caller, lang, "admin_tokens.html", "admin", extra)
            .await?
            .into_response(),
    )
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    name: String,
}

async fn create_token(
    State(state): State<AppState>,
    PageAdmin(caller): PageAdmin,
    lang: Lang,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    match state
        .accounts
        .create_api_token(caller.org(), caller.user.id, &form.name)
        .await
    {
        // Rendered directly (not redirected) so the secret never appears in a URL or history.
        Ok(created) => {
            render_tokens(
                &state,
                &caller,
                lang,
                Flash::default(),
                Some(created.secret),
            )
            .await
        }
        Err(error) => back_to("/admin/tokens", Err::<(), _>(error), |()| String::new()),
    }
}

async fn revoke_token(
    State(state): State<AppState>,
    PageAdmin(caller): PageAdmin,
    lang: Lang,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let result = state.accounts.revoke_api_token(caller.org(), id).await;
    back_to("/admin/tokens", result, |_| translate(lang, "admin.saved"))
}

async fn schedules_page(
    State(state): State<AppState>,
    PageAdmin(caller): PageAdmin,
    lang: Lang,
) -> Result<Response, PageError> {
    let schedules = state
        .scheduler
        .list(caller.org(), caller.sees_system_jobs(&state.config))
        .await?;
    Ok(page(
        &state,
        &caller,
        lang,
        "admin_schedules.html",
        "admin",
        context! { schedules => schedules },
    )
    .await?
    .into_response())
}

/// This process's role, its database, and the scale-out engines with their health and backlogs.
async fn deployment_page(
    State(state): State<AppState>,
    PageAdmin(caller): PageAdmin,
    lang: Lang,
) -> Result<Response, PageError> {
    let mut rows = vec![match state.db.ping().await {
        Ok(()) => crate::DeploymentRow {
            label: "deployment.database",
            value: state.db.display_url().to_owned(),
            healthy: true,
        },
        Err(error) => crate::DeploymentRow {
            label: "deployment.database",
            value: format!("{}: {error}", state.db.display_url()),
            healthy: false,
        },
    }];
    if let Some(deployment) = &state.deployment {
        rows.extend(deployment.rows().await);
    }
    Ok(page(
        &state,
        &caller,
        lang,
        "admin_deployment.html",
        "admin",
        context! { rows => rows },
    )
    .await?
    .into_response())
}

async fn rotate_secret(
    State(state): State<AppState>,
    PageAdmin(caller): PageAdmin,
    lang: Lang,
) -> Result<Response, PageError> {
    let result = adpool_jobs::rotate_signing_secret(&state.jobs, caller.org()).await;
    back_to("/admin/organization", result, |_| {
        translate(lang, "admin.saved")
    })
}
