//! Sign-in, sign-out, language toggle, the dashboard and the section pages.

use adpool_accounts::AccountsError;
use adpool_jobs::JobFilter;
use axum::extract::{Form, FromRequest, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, extract::FromRequestParts};
use minijinja::context;
use serde::Deserialize;

use super::{PageError, see_other};
use crate::auth::{LOGIN_CSRF_COOKIE, PageCaller, SESSION_COOKIE, cookie, same_secret, set_cookie};
use crate::i18n::LANG_COOKIE;
use crate::render::{bare, may_see, page};
use crate::{AppState, Caller, Lang, translate};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/lang", post(switch_language))
}

/// (path, nav key, title key, description key) of the capabilities the dashboard links to.
const SECTIONS: &[(&str, &str, &str, &str)] = &[
    (
        "/inventory",
        "inventory",
        "nav.inventory",
        "section.inventory.desc",
    ),
    (
        "/campaigns",
        "campaigns",
        "nav.campaigns",
        "section.campaigns.desc",
    ),
    ("/cpc", "cpc", "nav.cpc", "section.cpc.desc"),
    ("/reports", "reports", "nav.reports", "section.reports.desc"),
    (
        "/insights",
        "insights",
        "nav.insights",
        "section.insights.desc",
    ),
];

async fn dashboard(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    lang: Lang,
) -> Result<Response, PageError> {
    // The organization's jobs are for its staff.
    let (counts, recent) = if may_see(caller.role(), "jobs") {
        let counts = state.jobs.counts(caller.org()).await?;
        let recent = state
            .jobs
            .list(
                caller.org(),
                &JobFilter {
                    limit: Some(5),
                    ..JobFilter::default()
                },
            )
            .await?;
        (counts, recent)
    } else {
        (Vec::new(), Vec::new())
    };
    let sections: Vec<_> = SECTIONS
        .iter()
        .filter(|(_, area, _, _)| may_see(caller.role(), area))
        .map(|(path, _, title, desc)| context! { path => path, label => translate(lang, title), desc => translate(lang, desc) })
        .collect();
    let extra = context! {
        job_counts => counts.iter().map(|(s, n)| context! { state => s.as_str(), count => n }).collect::<Vec<_>>(),
        recent_jobs => recent.iter().map(super::activity::job_row).collect::<Vec<_>>(),
        sections => sections,
    };
    Ok(
        page(&state, &caller, lang, "dashboard.html", "dashboard", extra)
            .await?
            .into_response(),
    )
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

/// Only same-site paths are followed after login or a language switch (no open redirect): one
/// leading `/`, never `//`, and no backslash or control character anywhere, because browsers
/// drop TAB, CR and LF from URLs (`/%09/evil.example` becomes `//evil.example`) and read `\`
/// as `/`.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.chars().any(|c| c == '\\' || c.is_control()) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

async fn login_form(
    State(state): State<AppState>,
    lang: Lang,
    caller: PageCallerOpt,
    Query(query): Query<LoginQuery>,
) -> Result<Response, PageError> {
    if caller.0.is_some() {
        return Ok(see_other(&safe_next(query.next.as_deref())));
    }
    render_login(
        &state,
        lang,
        StatusCode::OK,
        None,
        "",
        &safe_next(query.next.as_deref()),
    )
}

fn render_login(
    state: &AppState,
    lang: Lang,
    status: StatusCode,
    error: Option<String>,
    email: &str,
    next: &str,
) -> Result<Response, PageError> {
    let login_csrf = crate::auth::new_login_csrf();
    let html = bare(
        state,
        lang,
        "login.html",
        context! { error => error, email => email, next => next, login_csrf => login_csrf.clone() },
    )?;
    let cookie = set_cookie(state, LOGIN_CSRF_COOKIE, &login_csrf, 3600);
    Ok((status, [(header::SET_COOKIE, cookie)], html).into_response())
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    csrf_token: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, PageError> {
    let ip = crate::security::request_client(&request, state.config.trust_forwarded_for);
    let Form(form): Form<LoginForm> = Form::from_request(request, &state)
        .await
        .map_err(|e| crate::AppError::unreadable_body(e.status(), e.body_text()))?;
    let next = safe_next(form.next.as_deref());
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if !same_secret(&form.csrf_token, &expected) {
        return render_login(
            &state,
            lang,
            StatusCode::FORBIDDEN,
            Some(translate(lang, "login.expired")),
            &form.email,
            &next,
        );
    }
    if state
        .limits
        .login
        .take(&ip, state.clock.now_millis())
        .is_err()
    {
        state.metrics.record_rate_limited("login");
        return render_login(
            &state,
            lang,
            StatusCode::TOO_MANY_REQUESTS,
            Some(translate(lang, "login.rate_limited")),
            &form.email,
            &next,
        );
    }
    match state
        .accounts
        .authenticate(&form.email, &form.password, &ip)
        .await
    {
        Ok(user) => {
            state.metrics.record_login("success");
            let session = state
                .accounts
                .create_session(user.id)
                .await
                .map_err(crate::AppError::from)?;
            tracing::info!(user = %user.id, org = %user.org_id, "signed in");
            let max_age = adpool_accounts::SESSION_TTL_MILLIS / 1000;
            let mut response = see_other(&next);
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                set_cookie(&state, SESSION_COOKIE, &session.token, max_age)
                    .parse()
                    .map_err(|_| crate::AppError::Internal("cookie".into()))?,
            );
            headers.append(
                header::SET_COOKIE,
                set_cookie(&state, LOGIN_CSRF_COOKIE, "", 0)
                    .parse()
                    .map_err(|_| crate::AppError::Internal("cookie".into()))?,
            );
            Ok(response)
        }
        Err(AccountsError::Throttled { .. }) => {
            state.metrics.record_login("throttled");
            render_login(
                &state,
                lang,
                StatusCode::TOO_MANY_REQUESTS,
                Some(translate(lang, "login.throttled")),
                &form.email,
                &next,
            )
        }
        Err(AccountsError::InvalidCredentials) => {
            state.metrics.record_login("failure");
            render_login(
                &state,
                lang,
                StatusCode::UNAUTHORIZED,
                Some(translate(lang, "login.failed")),
                &form.email,
                &next,
            )
        }
        Err(other) => Err(PageError::from(other)),
    }
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    _caller: Caller,
) -> Result<Response, PageError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state.accounts.end_session(&token).await?;
    }
    let mut response = see_other("/login");
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, "", 0)
            .parse()
            .map_err(|_| crate::AppError::Internal("cookie".into()))?,
    );
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct LangForm {
    lang: String,
    next: Option<String>,
}

async fn switch_language(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LangForm>,
) -> Response {
    let lang = Lang::parse(&form.lang).unwrap_or(Lang::Ko);
    let back = form.next.or_else(|| {
        headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| url::Url::parse(r).ok())
            .map(|u| u.path().to_owned())
    });
    let mut response = see_other(&safe_next(back.as_deref()));
    if let Ok(value) = set_cookie(&state, LANG_COOKIE, lang.code(), 365 * 24 * 3600).parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// A page caller that may be anonymous (the login page).
struct PageCallerOpt(Option<Caller>);

impl FromRequestParts<AppState> for PageCallerOpt {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(PageCallerOpt(
            Caller::from_request_parts(parts, state).await.ok(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn login_never_redirects_off_site() {
        assert_eq!(safe_next(Some("/jobs?state=failed")), "/jobs?state=failed");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
        // M3 (docs/hardening.md): the browser strips TAB, CR and LF, leaving `//evil.example`.
        for sneaky in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "\t//evil.example",
            "/\u{0}/evil.example",
            "/\u{7f}/evil.example",
            "/jobs\\..\\\\evil.example",
        ] {
            assert_eq!(safe_next(Some(sneaky)), "/", "{sneaky:?}");
        }
    }
}
