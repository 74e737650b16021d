//! The HTTP contract of the foundation, driven through `app(state)` without a socket.
//! Runs on SQLite, and on PostgreSQL when ADPOOL_TEST_DATABASE_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

mod support;

use adpool_accounts::Role;
use adpool_jobs::{Level, NewJob, NewNotification};
use adpool_web::WebConfig;
use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};
use support::{Auth, PASSWORD, Reply, TestApp};

#[tokio::test]
async fn a_person_signs_in_sees_the_dashboard_and_signs_out() {
    let t = TestApp::new().await;
    let org = t.org("데모 미디어").await;
    t.user(org, "ops@media.kr", Role::Operator).await;
    let anonymous = t.get("/", &Auth::None).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.location(), "/login?next=%2F");

    let session = t.login("ops@media.kr", PASSWORD).await.unwrap();
    let dashboard = t
        .send(
            Method::GET,
            "/",
            &session,
            None,
            None,
            &[("accept-language", "ko-KR,ko;q=0.9")],
        )
        .await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.body.contains("data-testid=\"dashboard-title\""));
    assert!(dashboard.body.contains("인벤토리") && dashboard.body.contains("데모 미디어"));
    for section in [
        "/inventory",
        "/campaigns",
        "/cpc",
        "/reports",
        "/shops",
        "/insights",
        "/jobs",
        "/notifications",
    ] {
        assert_eq!(
            t.get(section, &session).await.status,
            StatusCode::OK,
            "{section}"
        );
    }

    let logout = t.form("/logout", &session, &[]).await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER);
    assert_eq!(logout.location(), "/login");
    assert_eq!(
        t.get("/", &session).await.status,
        StatusCode::SEE_OTHER,
        "the session is gone"
    );
    assert_eq!(
        t.get("/api/v1/me", &session).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_admin_sees_the_deployment_of_this_process() {
    let t = TestApp::new().await;
    let org = t.org("Ops").await;
    t.user(org, "admin@ops.kr", Role::Admin).await;
    let session = t.login("admin@ops.kr", PASSWORD).await.unwrap();
    let page = t
        .send(
            Method::GET,
            "/admin/deployment",
            &session,
            None,
            None,
            &[("accept-language", "en")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // Without a deployment source (tests, embedding): the database row, checked now.
    assert!(page.body.contains("Database"), "{}", page.body);
    // The page escapes the URL as HTML ('/' becomes "&#x2f;").
    let shown = t
        .state
        .db
        .display_url()
        .replace('&', "&amp;")
        .replace('/', "&#x2f;");
    assert!(page.body.contains(&shown), "{shown} in {}", page.body);
    assert!(page.body.contains("st-LIVE"), "the database answers");
}

#[tokio::test]
async fn a_wrong_password_gets_a_generic_401_and_counts_toward_throttling() {
    let t = TestApp::new().await;
    let org = t.org("A").await;
    t.user(org, "a@a.kr", Role::Admin).await;
    let unknown = t.login("nobody@a.kr", PASSWORD).await.err().unwrap();
    let wrong = t.login("a@a.kr", "not the password").await.err().unwrap();
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let generic = |body: &str| {
        body.split("role=\"alert\">")
            .nth(1)
            .map(|s| s.split('<').next().unwrap_or_default().to_owned())
    };
    assert_eq!(
        generic(&unknown.body),
        generic(&wrong.body),
        "the reply does not tell which part was wrong"
    );
    // Five failures for one email within the window (the default limit) ...
    for _ in 0..4 {
        assert_eq!(
            t.login("a@a.kr", "not the password")
                .await
                .err()
                .unwrap()
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    // ... and even the right password is refused for a while.
    let throttled = t.login("a@a.kr", PASSWORD).await.err().unwrap();
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_login_form_rejects_a_missing_csrf_cookie() {
    let t = TestApp::new().await;
    let org = t.org("A").await;
    t.user(org, "a@a.kr", Role::Admin).await;
    let body = format!(
        "email=a%40a.kr&password={}&csrf_token=guess",
        PASSWORD.replace(' ', "+")
    );
    let reply = t
        .send(
            Method::POST,
            "/login",
            &Auth::None,
            Some(Body::from(body)),
            Some("application/x-www-form-urlencoded"),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.cookie("adpool_session").is_none());
}

#[tokio::test]
async fn state_changing_session_requests_need_the_csrf_token() {
    let t = TestApp::new().await;
    let org = t.org("A").await;
    t.user(org, "admin@a.kr", Role::Admin).await;
    let session = t.login("admin@a.kr", PASSWORD).await.unwrap();
    let Auth::Session { cookie, .. } = &session else {
        unreachable!()
    };
    let forged = Auth::Session {
        cookie: cookie.clone(),
        csrf: "forged".into(),
    };

    let reply = t
        .form(
            "/admin/organization",
            &forged,
            &[("name", "Hijacked"), ("webhook_url", "")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.json()["error"]["code"], "csrf_failed");
    let reply = t
        .json(
            Method::PATCH,
            "/api/v1/organization",
            &forged,
            json!({ "name": "Hijacked" }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let no_token = Auth::Session {
        cookie: cookie.clone(),
        csrf: String::new(),
    };
    assert_eq!(
        t.form("/logout", &no_token, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.state.accounts.organization(org).await.unwrap().name,
        "A",
        "nothing changed"
    );

    let reply = t
        .form(
            "/admin/organization",
            &session,
            &[("name", "A 미디어"), ("webhook_url", "")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        t.state.accounts.organization(org).await.unwrap().name,
        "A 미디어"
    );
}

#[tokio::test]
async fn every_api_route_needs_a_valid_session_or_token() {
    let t = TestApp::new().await;
    let routes = [
        (Method::GET, "/api/v1/me"),
        (Method::GET, "/api/v1/organization"),
        (Method::PATCH, "/api/v1/organization"),
        (Method::GET, "/api/v1/users"),
        (Method::POST, "/api/v1/users"),
        (Method::GET, "/api/v1/users/1"),
        (Method::PATCH, "/api/v1/users/1"),
        (Method::GET, "/api/v1/tokens"),
        (Method::POST, "/api/v1/tokens"),
        (Method::DELETE, "/api/v1/tokens/1"),
        (Method::GET, "/api/v1/jobs"),
        (Method::GET, "/api/v1/jobs/1"),
        (Method::POST, "/api/v1/jobs/1/retry"),
        (Method::POST, "/api/v1/jobs/1/cancel"),
        (Method::GET, "/api/v1/notifications"),
        (Method::POST, "/api/v1/notifications/1/read"),
        (Method::POST, "/api/v1/notifications/read-all"),
        (Method::GET, "/api/v1/schedules"),
    ];
    for auth in [Auth::None, Auth::Token("adp_not_a_real_token".into())] {
        for (method, uri) in &routes {
            let reply = t.json(method.clone(), uri, &auth, json!({})).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {uri}");
            assert_eq!(
                reply.json()["error"]["code"],
                "unauthorized",
                "{method} {uri}"
            );
        }
    }
}

#[tokio::test]
async fn the_wrong_role_gets_403() {
    let t = TestApp::new().await;
    let org = t.org("A").await;
    t.user(org, "admin@a.kr", Role::Admin).await;
    let analyst = t.user(org, "analyst@a.kr", Role::Analyst).await;
    let token = t.token(&analyst).await;
    let job = t
        .state
        .jobs
        .enqueue(NewJob::new("x", json!({})).for_org(org))
        .await
        .unwrap();
    let forbidden = [
        (Method::GET, "/api/v1/users".to_owned(), json!({})),
        (
            Method::POST,
            "/api/v1/users".to_owned(),
            json!({ "email": "x@a.kr", "display_name": "x", "role": "admin", "password": PASSWORD }),
        ),
        (
            Method::PATCH,
            "/api/v1/organization".to_owned(),
            json!({ "name": "mine now" }),
        ),
        (
            Method::POST,
            format!("/api/v1/jobs/{job}/cancel"),
            json!({}),
        ),
        (Method::GET, "/api/v1/schedules".to_owned(), json!({})),
    ];
    for (method, uri, body) in forbidden {
        let reply = t.json(method.clone(), &uri, &token, body).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{method} {uri}: {}",
            reply.body
        );
        assert_eq!(reply.json()["error"]["code"], "forbidden");
    }
    let session = t.login("analyst@a.kr", PASSWORD).await.unwrap();
    for page in [
        "/admin/users",
        "/admin/organization",
        "/admin/tokens",
        "/admin/schedules",
        "/admin/deployment",
    ] {
        assert_eq!(
            t.get(page, &session).await.status,
            StatusCode::FORBIDDEN,
            "{page}"
        );
    }
    assert_eq!(
        t.state.accounts.users(org).await.unwrap().len(),
        2,
        "nothing was created"
    );
    // What an analyst may do: read their own account and the organization's jobs.
    assert_eq!(
        t.get("/api/v1/me", &token).await.json()["user"]["role"],
        "analyst"
    );
    assert_eq!(
        t.get("/api/v1/jobs", &token)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn one_organization_can_neither_read_nor_change_another_through_any_route() {
    let t = TestApp::new().await;
    let a = t.org("Media A").await;
    let b = t.org("Media B").await;
    let admin_a = t.user(a, "admin@a.kr", Role::Admin).await;
    let admin_b = t.user(b, "admin@b.kr", Role::Admin).await;
    let user_b = t.user(b, "ops@b.kr", Role::Operator).await;
    let token_a = t.token(&admin_a).await;
    let b_token = t
        .state
        .accounts
        .create_api_token(b, admin_b.id, "b-bot")
        .await
        .unwrap();
    let b_job = t
        .state
        .jobs
        .enqueue(NewJob::new("x", json!({ "secret": "B's payload" })).for_org(b))
        .await
        .unwrap();
    let b_failed = t
        .state
        .jobs
        .enqueue(NewJob::new("x", json!({})).for_org(b))
        .await
        .unwrap();
    t.state.jobs.cancel(b, b_failed).await.unwrap();
    let b_notice = t
        .state
        .notifications
        .notify(NewNotification::new(b, Level::Info, "B only", "secret"))
        .await
        .unwrap();

    let api = [
        (
            Method::GET,
            format!("/api/v1/users/{}", user_b.id),
            json!({}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{}", user_b.id),
            json!({ "role": "analyst" }),
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{}", user_b.id),
            json!({ "disabled": true }),
        ),
        (
            Method::DELETE,
            format!("/api/v1/tokens/{}", b_token.token.id),
            json!({}),
        ),
        (Method::GET, format!("/api/v1/jobs/{b_job}"), json!({})),
        (
            Method::POST,
            format!("/api/v1/jobs/{b_job}/cancel"),
            json!({}),
        ),
        (
            Method::POST,
            format!("/api/v1/jobs/{b_failed}/retry"),
            json!({}),
        ),
        (
            Method::POST,
            format!("/api/v1/notifications/{b_notice}/read"),
            json!({}),
        ),
    ];
    for (method, uri, body) in api {
        let reply = t.json(method.clone(), &uri, &token_a, body).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{method} {uri}: {}",
            reply.body
        );
        assert_eq!(reply.json()["error"]["code"], "not_found");
    }
    let lists = [
        "/api/v1/users",
        "/api/v1/tokens",
        "/api/v1/jobs",
        "/api/v1/notifications",
        "/api/v1/schedules",
    ];
    for uri in lists {
        let reply = t.get(uri, &token_a).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}");
        for needle in ["admin@b.kr", "ops@b.kr", "b-bot", "B's payload", "B only"] {
            assert!(!reply.body.contains(needle), "{uri} leaks {needle}");
        }
    }
    let me = t.get("/api/v1/organization", &token_a).await.json();
    assert_eq!(me["name"], "Media A");

    let session_a = t.login("admin@a.kr", PASSWORD).await.unwrap();
    let pages = [format!("/jobs/{b_job}")];
    for uri in pages {
        assert_eq!(
            t.get(&uri, &session_a).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    let forms = [
        (
            format!("/admin/users/{}", user_b.id),
            vec![("role", "analyst")],
        ),
        (
            format!("/admin/users/{}", user_b.id),
            vec![("disabled", "true")],
        ),
        (format!("/admin/tokens/{}/revoke", b_token.token.id), vec![]),
        (format!("/jobs/{b_job}/cancel"), vec![]),
        (format!("/jobs/{b_failed}/retry"), vec![]),
        (format!("/notifications/{b_notice}/read"), vec![]),
    ];
    for (uri, fields) in forms {
        assert_eq!(
            t.form(&uri, &session_a, &fields).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    for page in [
        "/admin/users",
        "/admin/tokens",
        "/jobs",
        "/notifications",
        "/",
    ] {
        let body = t.get(page, &session_a).await.body;
        for needle in ["admin@b.kr", "ops@b.kr", "b-bot", "B only"] {
            assert!(!body.contains(needle), "{page} leaks {needle}");
        }
    }

    // B is exactly as it was.
    let still = t.state.accounts.user(b, user_b.id).await.unwrap();
    assert_eq!((still.role, still.disabled_at), (Role::Operator, None));
    assert!(
        t.state
            .accounts
            .api_token_user(&b_token.secret)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        t.state.jobs.job(b, b_job, false).await.unwrap().state,
        adpool_jobs::JobState::Queued
    );
    assert_eq!(
        t.state.jobs.job(b, b_failed, false).await.unwrap().state,
        adpool_jobs::JobState::Cancelled
    );
    assert_eq!(
        t.state
            .notifications
            .unread_count(b, admin_b.id)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn admins_manage_users_and_tokens_through_the_api() {
    let t = TestApp::new().await;
    let org = t.org("A").await;
    let admin = t.user(org, "admin@a.kr", Role::Admin).await;
    let token = t.token(&admin).await;
    let created = t.json(Method::POST, "/api/v1/users", &token, json!({ "email": "New@A.kr", "display_name": "신입", "role": "operator", "password": PASSWORD })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["email"], "new@a.kr");
    let id = created.json()["id"].as_i64().unwrap();

    let bad = t
        .json(
            Method::POST,
            "/api/v1/users",
            &token,
            json!({ "email": "x", "display_name": "x", "role": "operator", "password": PASSWORD }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["error"]["details"]["field"], "email");
    let unknown_field = t
        .json(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            &token,
            json!({ "rol": "admin" }),
        )
        .await;
    assert_eq!(
        unknown_field.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown_field.body
    );
    let bad_role = t
        .json(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            &token,
            json!({ "role": "root" }),
        )
        .await;
    assert_eq!(bad_role.json()["error"]["details"]["field"], "role");
    let malformed = t
        .send(
            Method::POST,
            "/api/v1/tokens",
            &token,
            Some(Body::from("{not json")),
            Some("application/json"),
            &[],
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.json()["error"]["code"], "bad_request");

    let last_admin = t
        .json(
            Method::PATCH,
            &format!("/api/v1/users/{}", admin.id),
            &token,
            json!({ "role": "analyst" }),
        )
        .await;
    assert_eq!(last_admin.status, StatusCode::CONFLICT);

    let new_token = t
        .json(
            Method::POST,
            "/api/v1/tokens",
            &token,
            json!({ "name": "etl" }),
        )
        .await;
    assert_eq!(new_token.status, StatusCode::CREATED);
    let secret = new_token.json()["secret"].as_str().unwrap().to_owned();
    let listed = t.get("/api/v1/tokens", &token).await;
    assert!(!listed.body.contains(&secret), "secrets are shown once");
    let token_id = new_token.json()["token"]["id"].as_i64().unwrap();
    assert_eq!(
        t.json(
            Method::DELETE,
            &format!("/api/v1/tokens/{token_id}"),
            &token,
            json!({})
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        t.get("/api/v1/me", &Auth::Token(secret)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn admin_pages_create_users_and_show_a_token_once() {
    let t = TestApp::new().await;
    let org = t.org("A").await;
    t.user(org, "admin@a.kr", Role::Admin).await;
    let session = t.login("admin@a.kr", PASSWORD).await.unwrap();
    let reply = t
        .form(
            "/admin/users",
            &session,
            &[
                ("display_name", "분석가"),
                ("email", "an@a.kr"),
                ("role", "analyst"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(
        t.get("/admin/users", &session)
            .await
            .body
            .contains("an@a.kr")
    );
    let reply = t
        .form(
            "/admin/users",
            &session,
            &[
                ("display_name", "x"),
                ("email", "an@a.kr"),
                ("role", "analyst"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(
        reply.location().contains("error="),
        "duplicate email is reported: {}",
        reply.location()
    );
    let reply = t.form("/admin/tokens", &session, &[("name", "bot")]).await;
    assert_eq!(reply.status, StatusCode::OK);
    let secret = reply
        .body
        .split("data-testid=\"new-token\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("adp_"));
    assert!(
        !t.get("/admin/tokens", &session)
            .await
            .body
            .contains(&secret)
    );
    assert_eq!(
        t.get("/api/v1/me", &Auth::Token(secret)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn jobs_and_notifications_are_visible_and_actionable() {
    let t = TestApp::new().await;
    let org = t.org("A").await;
    let ops = t.user(org, "ops@a.kr", Role::Operator).await;
    let token = t.token(&ops).await;
    let job = t
        .state
        .jobs
        .enqueue(NewJob::new("shops.sync", json!({ "store": 1 })).for_org(org))
        .await
        .unwrap();
    let listed = t.get("/api/v1/jobs?state=queued", &token).await.json();
    assert_eq!(listed[0]["kind"], "shops.sync");
    assert_eq!(
        t.get("/api/v1/jobs?state=bogus", &token).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        t.json(
            Method::POST,
            &format!("/api/v1/jobs/{job}/cancel"),
            &token,
            json!({})
        )
        .await
        .json()["state"],
        "cancelled"
    );
    assert_eq!(
        t.json(
            Method::POST,
            &format!("/api/v1/jobs/{job}/cancel"),
            &token,
            json!({})
        )
        .await
        .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        t.json(
            Method::POST,
            &format!("/api/v1/jobs/{job}/retry"),
            &token,
            json!({})
        )
        .await
        .json()["state"],
        "queued"
    );

    let session = t.login("ops@a.kr", PASSWORD).await.unwrap();
    let page = t.get(&format!("/jobs/{job}"), &session).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("shops.sync"));

    let id = t
        .state
        .notifications
        .notify(NewNotification::new(
            org,
            Level::Warning,
            "재고 부족",
            "KBS 2026-12",
        ))
        .await
        .unwrap();
    assert_eq!(
        t.get("/api/v1/notifications?unread=true", &token)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        t.get("/", &session)
            .await
            .body
            .contains("data-testid=\"unread\">1<")
    );
    assert_eq!(
        t.json(
            Method::POST,
            &format!("/api/v1/notifications/{id}/read"),
            &token,
            json!({})
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get("/api/v1/notifications?unread=true", &token)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn language_follows_the_browser_and_the_toggle() {
    let t = TestApp::new().await;
    let org = t.org("A").await;
    t.user(org, "a@a.kr", Role::Admin).await;
    let english = t
        .send(
            Method::GET,
            "/login",
            &Auth::None,
            None,
            None,
            &[("accept-language", "en-US,en;q=0.9")],
        )
        .await;
    assert!(english.body.contains("Sign in") && english.body.contains("lang=\"en\""));
    let korean = t
        .send(
            Method::GET,
            "/login",
            &Auth::None,
            None,
            None,
            &[("accept-language", "ko")],
        )
        .await;
    assert!(korean.body.contains("로그인"));
    let toggled = t
        .form("/lang", &Auth::None, &[("lang", "en"), ("next", "/login")])
        .await;
    assert_eq!(toggled.cookie("adpool_lang").as_deref(), Some("en"));
    let chosen = t
        .send(
            Method::GET,
            "/login",
            &Auth::None,
            None,
            None,
            &[("accept-language", "ko"), ("cookie", "adpool_lang=en")],
        )
        .await;
    assert!(chosen.body.contains("Sign in"));
}

#[tokio::test]
async fn operations_endpoints_answer() {
    let t = TestApp::new().await;
    assert_eq!(t.get("/healthz", &Auth::None).await.body, "ok");
    let ready = t.get("/readyz", &Auth::None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json()["status"], "ready");
    let _ = t.get("/api/v1/me", &Auth::None).await;
    let metrics = t.get("/metrics", &Auth::None).await;
    assert!(
        metrics.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        metrics.body.contains(
            "adpool_http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"401\"} 1"
        ),
        "{}",
        metrics.body
    );
    let openapi = t.get("/api/openapi.json", &Auth::None).await.json();
    assert!(openapi["paths"]["/api/v1/me"]["get"].is_object());
    assert!(openapi["paths"]["/api/v1/jobs/{id}/retry"]["post"].is_object());
    assert!(openapi["components"]["securitySchemes"]["bearer"].is_object());
    let css = t.get("/assets/app.css", &Auth::None).await;
    assert!(
        css.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let missing = t.get("/api/v1/nothing-here", &Auth::None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"]["code"], "not_found");
    assert_eq!(
        t.get("/no-such-page", &Auth::None).await.status,
        StatusCode::NOT_FOUND
    );
}

/// A multipart body with one file field named `file`.
fn multipart(file_name: &str, content: &str) -> (String, Body) {
    let boundary = "adpool-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n{content}\r\n--{boundary}--\r\n"
    );
    (
        format!("multipart/form-data; boundary={boundary}"),
        Body::from(body),
    )
}

fn december_forecast() -> String {
    let mut csv = String::from("media,meta_id,part,date,hour,impressions\n");
    for day in 1..=31 {
        csv.push_str(&format!(
            "WAVVE,SBS-RUNNINGMAN,MOBILE_VOD,2026-12-{day:02},21,{}\n",
            10_000 + day * 100
        ));
        csv.push_str(&format!(
            "WAVVE,SBS-RUNNINGMAN,CTV,2026-12-{day:02},21,{}\n",
            3_000 + day
        ));
    }
    csv
}

impl TestApp {
    async fn upload(&self, uri: &str, auth: &Auth, file_name: &str, content: &str) -> Reply {
        let (content_type, body) = multipart(file_name, content);
        let uri = match auth {
            Auth::Session { csrf, .. } => format!("{uri}?csrf_token={csrf}"),
            _ => uri.to_owned(),
        };
        self.send(
            Method::POST,
            &uri,
            auth,
            Some(body),
            Some(&content_type),
            &[],
        )
        .await
    }
}

#[tokio::test]
async fn an_operator_uploads_corrects_confirms_and_builds_inventory_in_the_browser() {
    let t = TestApp::new().await;
    let org = t.org("Media Rep").await;
    t.user(org, "ops@rep.kr", Role::Operator).await;
    let session = t.login("ops@rep.kr", PASSWORD).await.unwrap();

    let bad = t.upload("/inventory/forecast", &session, "bad.csv", "media,meta_id,part,date,hour,impressions\nWAVVE,X,RADIO,2026-12-01,0,5\nWAVVE,X,CTV,2026-12-01,24,5\n").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("data-testid=\"import-errors\""));
    assert!(
        bad.body.contains("RADIO") && bad.body.contains("hour outside 0-23"),
        "every error is listed"
    );
    assert!(
        t.state.inventory.media(org).await.unwrap().is_empty(),
        "nothing changed"
    );

    let good = t
        .upload(
            "/inventory/forecast",
            &session,
            "wavve-2026-12.csv",
            &december_forecast(),
        )
        .await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.body);
    assert!(good.body.contains("data-testid=\"import-summary\"") && good.body.contains("62"));

    let build = t
        .form("/inventory/2026-12/build-standard", &session, &[])
        .await;
    assert_eq!(build.status, StatusCode::SEE_OTHER);
    assert!(
        build.location().starts_with("/jobs/"),
        "the build runs as a job: {}",
        build.location()
    );
    // Run the queued job the way the worker does.
    t.state
        .inventory
        .build_standard(org, "2026-12".parse().unwrap(), "test", &mut |_| {})
        .await
        .unwrap();

    let page = t
        .get("/inventory/2026-12/standard?platform=CTV", &session)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-testid=\"standard-table\""));
    assert!(
        !page.body.contains("<td>MOBILE</td>") && page.body.contains("<td>CTV</td>"),
        "the platform filter applies"
    );
    let not_ready = t.form("/inventory/2026-12/build-unit", &session, &[]).await;
    assert!(
        not_ready.location().contains("error="),
        "{}",
        not_ready.location()
    );

    let ctv = t
        .state
        .inventory
        .standard_rows(org, "2026-12".parse().unwrap())
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.platform.as_str() == "CTV")
        .unwrap();
    let back = "/inventory/2026-12/standard?platform=CTV";
    let edit = t
        .form(
            &format!("/inventory/standard/{}", ctv.id),
            &session,
            &[("qty", "90,000"), ("back", back)],
        )
        .await;
    assert_eq!(edit.status, StatusCode::SEE_OTHER);
    assert!(
        edit.location()
            .starts_with("/inventory/2026-12/standard?flash=")
            && edit.location().ends_with("&platform=CTV"),
        "{}",
        edit.location()
    );
    let bad_qty = t
        .form(
            &format!("/inventory/standard/{}", ctv.id),
            &session,
            &[("qty", "lots"), ("back", back)],
        )
        .await;
    assert!(bad_qty.location().contains("error="));
    let bulk = t
        .form(
            "/inventory/2026-12/percent",
            &session,
            &[("percent", "80"), ("platform", "MOBILE")],
        )
        .await;
    assert_eq!(bulk.status, StatusCode::SEE_OTHER);
    let rows = t
        .state
        .inventory
        .standard_rows(org, "2026-12".parse().unwrap())
        .await
        .unwrap();
    let mobile = rows
        .iter()
        .find(|r| r.platform.as_str() == "MOBILE")
        .unwrap();
    assert_eq!(mobile.qty, (mobile.forecast_qty * 8000 + 5000) / 10_000);
    assert_eq!(rows.iter().find(|r| r.id == ctv.id).unwrap().qty, 90_000);
    let audited = t.get("/inventory/2026-12/standard", &session).await;
    assert!(
        audited.body.contains("set to 80.00% of forecast")
            && audited.body.contains("edited in the standard table")
    );

    assert_eq!(
        t.form("/inventory/2026-12/confirm", &session, &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let unit = t.form("/inventory/2026-12/build-unit", &session, &[]).await;
    assert!(unit.location().starts_with("/jobs/"), "{}", unit.location());
    t.state
        .inventory
        .build_unit(org, "2026-12".parse().unwrap(), "test", &mut |_| {})
        .await
        .unwrap();
    let calendar = t.get("/inventory/2026-12/unit?media=WAVVE", &session).await;
    assert_eq!(calendar.status, StatusCode::OK, "{}", calendar.body);
    assert_eq!(
        calendar.body.matches("data-testid=\"calendar\"").count(),
        2,
        "one calendar per media x platform"
    );
    let overview = t.get("/inventory", &session).await;
    assert!(overview.body.contains("2026-12"));
}

#[tokio::test]
async fn the_inventory_api_serves_the_same_data_and_refuses_what_it_must() {
    let t = TestApp::new().await;
    let org = t.org("Media Rep").await;
    let other = t.org("Other Rep").await;
    let ops = t.user(org, "ops@rep.kr", Role::Operator).await;
    let analyst = t.user(org, "an@rep.kr", Role::Analyst).await;
    let stranger = t.user(other, "ops@other.kr", Role::Operator).await;
    let (ops, analyst, stranger) = (
        t.token(&ops).await,
        t.token(&analyst).await,
        t.token(&stranger).await,
    );

    let refused = t
        .upload(
            "/api/v1/inventory/forecast",
            &ops,
            "f.csv",
            "media,meta_id,part,date,hour,impressions\nWAVVE,X,PC_VOD,2026-12-01,0,-1\n",
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = refused.json();
    assert_eq!(error["error"]["code"], "invalid_file");
    assert_eq!(error["error"]["details"]["errors"][0]["row"], 2);
    assert_eq!(
        error["error"]["details"]["errors"][0]["column"],
        "impressions"
    );
    assert_eq!(
        error["error"]["details"]["errors"][0]["reason"],
        "negative number"
    );
    assert_eq!(
        t.upload(
            "/api/v1/inventory/forecast",
            &analyst,
            "f.csv",
            &december_forecast()
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let imported = t
        .upload(
            "/api/v1/inventory/forecast",
            &ops,
            "f.csv",
            &december_forecast(),
        )
        .await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.body);
    assert_eq!(imported.json()["rows"], 62);

    let started = t
        .json(
            Method::POST,
            "/api/v1/inventory/months/2026-12/builds",
            &ops,
            json!({ "level": "standard" }),
        )
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED);
    assert!(
        started.json()["job_url"]
            .as_str()
            .unwrap()
            .starts_with("/api/v1/jobs/")
    );
    assert_eq!(
        t.json(
            Method::POST,
            "/api/v1/inventory/months/2026-12/builds",
            &ops,
            json!({ "level": "unit" })
        )
        .await
        .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        t.json(
            Method::POST,
            "/api/v1/inventory/months/2026-13/builds",
            &ops,
            json!({ "level": "standard" })
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    t.state
        .inventory
        .build_standard(org, "2026-12".parse().unwrap(), "test", &mut |_| {})
        .await
        .unwrap();

    let standard = t
        .get("/api/v1/inventory/standard?month=2026-12", &analyst)
        .await
        .json();
    assert_eq!(standard.as_array().unwrap().len(), 2);
    let id = standard[0]["id"].as_i64().unwrap();
    assert_eq!(
        t.json(
            Method::PATCH,
            &format!("/api/v1/inventory/standard/{id}"),
            &analyst,
            json!({ "qty": 1 })
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.json(
            Method::PATCH,
            &format!("/api/v1/inventory/standard/{id}"),
            &stranger,
            json!({ "qty": 1 })
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.json(
            Method::PATCH,
            &format!("/api/v1/inventory/standard/{id}"),
            &ops,
            json!({ "qty": -5 })
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let corrected = t
        .json(
            Method::PATCH,
            &format!("/api/v1/inventory/standard/{id}"),
            &ops,
            json!({ "qty": 12345, "note": "house ads" }),
        )
        .await;
    assert_eq!(corrected.json()["qty"], 12345);
    assert_eq!(
        t.json(
            Method::POST,
            "/api/v1/inventory/months/2026-12/confirm",
            &ops,
            json!({})
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    t.state
        .inventory
        .build_unit(org, "2026-12".parse().unwrap(), "test", &mut |_| {})
        .await
        .unwrap();
    let unit = t
        .get("/api/v1/inventory/unit?month=2026-12", &analyst)
        .await
        .json();
    assert_eq!(unit.as_array().unwrap().len(), 62);
    assert_eq!(unit[0]["available"], unit[0]["total"]);

    // Another organization sees nothing and changes nothing.
    assert_eq!(
        t.get("/api/v1/inventory/standard?month=2026-12", &stranger)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        t.get("/api/v1/inventory/months", &stranger)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let session = t.login("ops@other.kr", PASSWORD).await.unwrap();
    assert_eq!(
        t.form(
            &format!("/inventory/standard/{id}"),
            &session,
            &[("qty", "1"), ("back", "/inventory/2026-12/standard")]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert!(
        !t.get("/inventory/2026-12/standard", &session)
            .await
            .body
            .contains("SBS-RUNNINGMAN")
    );
    assert_eq!(
        t.state
            .inventory
            .standard_rows(org, "2026-12".parse().unwrap())
            .await
            .unwrap()
            .iter()
            .find(|r| r.id == id)
            .unwrap()
            .qty,
        12345
    );
    let openapi = t.get("/api/openapi.json", &Auth::None).await.json();
    assert!(openapi["paths"]["/api/v1/inventory/forecast"]["post"].is_object());
}

#[tokio::test]
async fn the_catalog_is_edited_through_the_page_and_the_api() {
    let t = TestApp::new().await;
    let org = t.org("Media Rep").await;
    let other = t.org("Other Rep").await;
    let ops = t.user(org, "ops@rep.kr", Role::Operator).await;
    let analyst = t.user(org, "an@rep.kr", Role::Analyst).await;
    let stranger = t.user(other, "ops@other.kr", Role::Operator).await;
    let (ops_token, analyst_token, stranger_token) = (
        t.token(&ops).await,
        t.token(&analyst).await,
        t.token(&stranger).await,
    );

    let document = json!({
        "content_owners": [{ "code": "SBS", "name": "SBS" }],
        "meta_ids": [{ "media": "WAVVE", "code": "SBS-RUNNINGMAN", "name": "런닝맨", "content_owner": "SBS", "kind": "program" }],
        "targeting_groups": [{ "code": "G1", "name": "예능", "weight_bp": 4000, "members": ["WAVVE/SBS-RUNNINGMAN"] }]
    });
    assert_eq!(
        t.json(
            Method::POST,
            "/api/v1/catalog",
            &analyst_token,
            document.clone()
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let applied = t
        .json(Method::POST, "/api/v1/catalog", &ops_token, document)
        .await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.body);
    assert_eq!(applied.json()["targeting_groups"], 1);
    let refused = t.json(Method::POST, "/api/v1/catalog", &ops_token, json!({ "products": [{ "code": "P", "name": "p", "type": "tv", "ad_type": "x", "cpm": {}, "ctr_bp": 0, "vtr_bp": 0 }] })).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problems = refused.json()["error"]["details"]["problems"].clone();
    assert!(
        problems
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "products[0].cpm: needs a CPM for at least one platform"),
        "{problems}"
    );

    let session = t.login("ops@rep.kr", PASSWORD).await.unwrap();
    let product = [
        ("section", "product"),
        ("code", "PRG-PRE"),
        ("name", "프로그램 프리롤"),
        ("product_type", "program"),
        ("ad_type", "pre-roll"),
        ("cpm_pc", "9,000"),
        ("cpm_mobile", "8000원"),
        ("cpm_app", ""),
        ("cpm_ctv", ""),
        ("ctr_percent", "0.8"),
        ("vtr_percent", "75"),
    ];
    let saved = t.form("/inventory/catalog", &session, &product).await;
    assert!(
        saved.location().starts_with("/inventory/catalog?flash="),
        "{}",
        saved.location()
    );
    let bad_cpm = t
        .form(
            "/inventory/catalog",
            &session,
            &[
                ("section", "product"),
                ("code", "X"),
                ("name", "x"),
                ("product_type", "program"),
                ("ad_type", "a"),
                ("cpm_pc", "lots"),
                ("ctr_percent", "1"),
                ("vtr_percent", "1"),
            ],
        )
        .await;
    assert!(
        bad_cpm.location().contains("error="),
        "{}",
        bad_cpm.location()
    );
    let rename = t
        .form(
            "/inventory/catalog",
            &session,
            &[
                ("section", "meta"),
                ("media", "WAVVE"),
                ("code", "SBS-RUNNINGMAN"),
                ("name", "런닝맨 (Running Man)"),
                ("content_owner", "SBS"),
                ("kind", "program"),
            ],
        )
        .await;
    assert!(
        rename.location().contains("flash="),
        "{}",
        rename.location()
    );

    let catalog = t.get("/api/v1/catalog", &analyst_token).await.json();
    assert_eq!(
        catalog["products"][0]["cpm"],
        json!({ "MOBILE": 8000, "PC": 9000 })
    );
    assert_eq!(catalog["products"][0]["ctr_bp"], 80);
    assert_eq!(catalog["products"][0]["vtr_bp"], 7500);
    assert_eq!(catalog["meta_ids"][0]["name"], "런닝맨 (Running Man)");
    let page = t
        .get("/inventory/catalog?edit_product=PRG-PRE", &session)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("런닝맨 (Running Man)") && page.body.contains("₩9,000"));

    let theirs = t.get("/api/v1/catalog", &stranger_token).await.json();
    assert!(
        theirs["products"].is_null() && theirs["meta_ids"].is_null(),
        "another organization sees an empty catalog: {theirs}"
    );
}

#[tokio::test]
async fn purchases_are_booked_shown_and_cancelled_through_the_api_and_pages() {
    let t = TestApp::new().await;
    let org = t.org("Media Rep").await;
    let other = t.org("Other Rep").await;
    let ops = t.user(org, "ops@rep.kr", Role::Operator).await;
    let analyst = t.user(org, "an@rep.kr", Role::Analyst).await;
    let stranger = t.user(other, "ops@other.kr", Role::Operator).await;
    let (ops_token, analyst_token, stranger_token) = (
        t.token(&ops).await,
        t.token(&analyst).await,
        t.token(&stranger).await,
    );
    assert_eq!(
        t.upload(
            "/api/v1/inventory/forecast",
            &ops_token,
            "f.csv",
            &december_forecast()
        )
        .await
        .status,
        StatusCode::OK
    );
    let catalog = json!({
        "content_owners": [{ "code": "SBS", "name": "SBS" }],
        "meta_ids": [{ "media": "WAVVE", "code": "SBS-RUNNINGMAN", "name": "런닝맨", "content_owner": "SBS" }],
        "products": [{ "code": "PRE", "name": "pre-roll", "type": "program", "ad_type": "pre-roll", "cpm": { "MOBILE": 8000, "CTV": 12000 }, "ctr_bp": 80, "vtr_bp": 7500 }],
        "targeting_groups": [{ "code": "G1", "name": "예능", "weight_bp": 10000, "members": ["WAVVE/SBS-RUNNINGMAN"] }]
    });
    assert_eq!(
        t.json(Method::POST, "/api/v1/catalog", &ops_token, catalog)
            .await
            .status,
        StatusCode::OK
    );
    let december = "2026-12".parse().unwrap();
    t.state
        .inventory
        .build_standard(org, december, "test", &mut |_| {})
        .await
        .unwrap();
    t.state
        .inventory
        .confirm_month(org, december, None)
        .await
        .unwrap();
    t.state
        .inventory
        .build_unit(org, december, "test", &mut |_| {})
        .await
        .unwrap();
    let buy = |amount: i64| {
        json!({
            "product": "PRE", "amount": amount, "start": "2026-12-01", "end": "2026-12-10", "platforms": ["MOBILE", "CTV"],
            "targeting_groups": [{ "code": "G1", "weight_bp": 10000 }], "content_owners": [{ "code": "SBS", "ratio_bp": 10000 }]
        })
    };

    assert_eq!(
        t.json(
            Method::POST,
            "/api/v1/purchases",
            &analyst_token,
            buy(100_000)
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let dry = t
        .json(
            Method::POST,
            "/api/v1/purchases?dry_run=true",
            &ops_token,
            buy(100_000),
        )
        .await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    assert_eq!(dry.json()["committed"], false);
    let booked = t
        .json(Method::POST, "/api/v1/purchases", &ops_token, buy(100_000))
        .await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.body);
    let id = booked.json()["booking_id"].as_i64().unwrap();
    assert_eq!(
        booked.json()["platforms"][0]["groups"][0]["content_owners"][0]["fits"],
        true
    );
    let too_big = t
        .json(
            Method::POST,
            "/api/v1/purchases",
            &ops_token,
            buy(4_000_000_000),
        )
        .await;
    assert_eq!(too_big.status, StatusCode::CONFLICT, "{}", too_big.body);
    assert!(
        too_big.json()["error"]["details"]["shortage"]
            .as_i64()
            .unwrap()
            > 0,
        "the tree comes with the refusal"
    );
    let bad = t.json(Method::POST, "/api/v1/purchases", &ops_token, json!({ "product": "X", "amount": 0, "start": "2026-12-01", "end": "2026-12-02", "platforms": [], "targeting_groups": [], "content_owners": [] })).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.json()["error"]["details"]["problems"]
            .as_array()
            .unwrap()
            .len()
            >= 4
    );

    assert_eq!(
        t.get(&format!("/api/v1/purchases/{id}"), &analyst_token)
            .await
            .json()["state"],
        "booked"
    );
    assert_eq!(
        t.get(&format!("/api/v1/purchases/{id}"), &stranger_token)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.json(
            Method::DELETE,
            &format!("/api/v1/purchases/{id}"),
            &stranger_token,
            json!({})
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    let session = t.login("ops@rep.kr", PASSWORD).await.unwrap();
    let list = t.get("/inventory/bookings", &session).await;
    assert!(list.body.contains(&format!("/inventory/bookings/{id}")));
    let tree = t.get(&format!("/inventory/bookings/{id}"), &session).await;
    assert_eq!(tree.status, StatusCode::OK, "{}", tree.body);
    assert!(tree.body.contains("data-testid=\"booking-tree\"") && tree.body.contains("2026-12-01"));
    let cancelled = t
        .form(&format!("/inventory/bookings/{id}/cancel"), &session, &[])
        .await;
    assert!(
        cancelled.location().contains("flash="),
        "{}",
        cancelled.location()
    );
    assert_eq!(
        t.json(
            Method::DELETE,
            &format!("/api/v1/purchases/{id}"),
            &ops_token,
            json!({})
        )
        .await
        .status,
        StatusCode::CONFLICT
    );
    let units = t
        .get("/api/v1/inventory/unit?month=2026-12", &ops_token)
        .await
        .json();
    assert!(
        units.as_array().unwrap().iter().all(|u| u["reserved"] == 0),
        "the cancellation released everything"
    );
}

#[tokio::test]
async fn campaigns_are_planned_booked_and_followed_through_the_api_and_pages() {
    let t = TestApp::new().await;
    let org = t.org("Media Rep").await;
    let other = t.org("Other Rep").await;
    let ops = t.user(org, "ops@rep.kr", Role::Operator).await;
    let stranger = t.user(other, "ops@other.kr", Role::Operator).await;
    let (ops_token, stranger_token) = (t.token(&ops).await, t.token(&stranger).await);
    assert_eq!(
        t.upload(
            "/api/v1/inventory/forecast",
            &ops_token,
            "f.csv",
            &december_forecast()
        )
        .await
        .status,
        StatusCode::OK
    );
    let catalog = json!({
        "content_owners": [{ "code": "SBS", "name": "SBS" }],
        "meta_ids": [{ "media": "WAVVE", "code": "SBS-RUNNINGMAN", "name": "런닝맨", "content_owner": "SBS" }],
        "products": [{ "code": "PRE", "name": "pre-roll", "type": "program", "ad_type": "pre-roll", "cpm": { "MOBILE": 8000 }, "ctr_bp": 80, "vtr_bp": 7500 }],
        "targeting_groups": [{ "code": "G1", "name": "예능", "weight_bp": 10000, "members": ["WAVVE/SBS-RUNNINGMAN"] }]
    });
    assert_eq!(
        t.json(Method::POST, "/api/v1/catalog", &ops_token, catalog)
            .await
            .status,
        StatusCode::OK
    );
    let december = "2026-12".parse().unwrap();
    t.state
        .inventory
        .build_standard(org, december, "test", &mut |_| {})
        .await
        .unwrap();
    t.state
        .inventory
        .confirm_month(org, december, None)
        .await
        .unwrap();
    t.state
        .inventory
        .build_unit(org, december, "test", &mut |_| {})
        .await
        .unwrap();

    let created = t.json(Method::POST, "/api/v1/campaigns", &ops_token, json!({ "advertiser": "한빛식품", "name": "겨울", "start": "2026-12-01", "end": "2026-12-31", "total_budget": 1_000_000 })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.json()["id"].as_i64().unwrap();
    assert_eq!(created.json()["status"], "DRAFT");
    let bad = t.json(Method::POST, "/api/v1/campaigns", &ops_token, json!({ "advertiser": "", "name": "x", "start": "2026-12-31", "end": "2026-12-01", "total_budget": 1 })).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let request = json!({ "product": "PRE", "amount": 100_000, "start": "2026-12-01", "end": "2026-12-07", "platforms": ["MOBILE"],
        "targeting_groups": [{ "code": "G1", "weight_bp": 10000 }], "content_owners": [{ "code": "SBS", "ratio_bp": 10000 }] });
    let line = t
        .json(
            Method::POST,
            &format!("/api/v1/campaigns/{id}/lines"),
            &ops_token,
            json!({ "name": "L1", "request": request }),
        )
        .await;
    assert_eq!(line.status, StatusCode::CREATED, "{}", line.body);
    let line_id = line.json()["id"].as_i64().unwrap();
    assert_eq!(
        t.json(
            Method::POST,
            &format!("/api/v1/lines/{line_id}/book"),
            &stranger_token,
            json!({})
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let booked = t
        .json(
            Method::POST,
            &format!("/api/v1/lines/{line_id}/book"),
            &ops_token,
            json!({}),
        )
        .await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.body);
    assert_eq!(
        t.json(
            Method::POST,
            &format!("/api/v1/lines/{line_id}/book"),
            &ops_token,
            json!({})
        )
        .await
        .status,
        StatusCode::CONFLICT
    );
    let ad = t
        .json(
            Method::POST,
            &format!("/api/v1/lines/{line_id}/ads"),
            &ops_token,
            json!({ "name": "15초" }),
        )
        .await;
    let ad_id = ad.json()["id"].as_i64().unwrap();
    let live = t
        .json(
            Method::PATCH,
            &format!("/api/v1/ads/{ad_id}"),
            &ops_token,
            json!({ "status": "live" }),
        )
        .await;
    assert_eq!(live.json()["campaign_status"], "LIVE", "{}", live.body);
    assert_eq!(
        t.json(
            Method::PATCH,
            &format!("/api/v1/ads/{ad_id}"),
            &ops_token,
            json!({ "status": "running" })
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        t.json(
            Method::PATCH,
            &format!("/api/v1/ads/{ad_id}"),
            &stranger_token,
            json!({ "status": "ERROR" })
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let detail = t
        .get(&format!("/api/v1/campaigns/{id}"), &ops_token)
        .await
        .json();
    assert_eq!(
        (
            detail["lines"].as_array().unwrap().len(),
            detail["ads"].as_array().unwrap().len()
        ),
        (1, 1)
    );
    assert!(detail["lines"][0]["booking_id"].is_number());
    assert_eq!(
        t.get("/api/v1/campaigns?status=LIVE", &ops_token)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        t.get("/api/v1/campaigns", &stranger_token)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // The proposal workbook downloads for the owner and not for another organization.
    let proposal = t
        .get(&format!("/api/v1/campaigns/{id}/proposal.xlsx"), &ops_token)
        .await;
    assert_proposal_download(&proposal);
    assert_eq!(
        t.get(
            &format!("/api/v1/campaigns/{id}/proposal.xlsx"),
            &stranger_token
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    // An ad server posts delivery; posting it again changes nothing; pacing follows.
    let reports = json!({ "reports": [{ "line_id": line_id, "date": "2026-12-01", "impressions": 1000, "clicks": 7, "views": 800 }] });
    assert_eq!(
        t.json(
            Method::POST,
            "/api/v1/delivery-reports",
            &ops_token,
            reports.clone()
        )
        .await
        .json()["recorded"],
        1
    );
    assert_eq!(
        t.json(
            Method::POST,
            "/api/v1/delivery-reports",
            &ops_token,
            reports
        )
        .await
        .status,
        StatusCode::OK
    );
    let refused = t.json(Method::POST, "/api/v1/delivery-reports", &stranger_token, json!({ "reports": [{ "line_id": line_id, "date": "2026-12-01", "impressions": 1, "clicks": 0, "views": 0 }] })).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "another organization's line is unknown"
    );
    let pacing = t
        .get(&format!("/api/v1/lines/{line_id}/pacing"), &ops_token)
        .await
        .json();
    assert_eq!(pacing["days"][0]["delivered"], 1000);
    assert_eq!(
        t.get(&format!("/api/v1/lines/{line_id}/pacing"), &stranger_token)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // The same through the pages: create, add a line from the form, book it, change an ad.
    let session = t.login("ops@rep.kr", PASSWORD).await.unwrap();
    assert_proposal_download(
        &t.get(&format!("/campaigns/{id}/proposal.xlsx"), &session)
            .await,
    );
    let made = t
        .form(
            "/campaigns",
            &session,
            &[
                ("advertiser", "새봄"),
                ("name", "봄"),
                ("start", "2026-12-08"),
                ("end", "2026-12-20"),
                ("total_budget", "500,000원"),
            ],
        )
        .await;
    assert!(
        made.location().starts_with("/campaigns/"),
        "{}",
        made.location()
    );
    let page_id = made.location().trim_start_matches("/campaigns/").to_owned();
    let added = t
        .form(
            &format!("/campaigns/{page_id}/lines"),
            &session,
            &[
                ("name", "모바일"),
                ("product", "PRE"),
                ("amount", "80,000"),
                ("start", "2026-12-08"),
                ("end", "2026-12-10"),
                ("policy", "all-or-nothing"),
                ("platform_MOBILE", "on"),
                ("group_G1", "100"),
                ("co_SBS", "100"),
            ],
        )
        .await;
    assert!(added.location().contains("flash="), "{}", added.location());
    assert!(
        t.get(&format!("/campaigns/{id}"), &session)
            .await
            .body
            .contains("data-testid=\"pacing\""),
        "booked lines show their pacing"
    );
    let campaign_page = t.get(&format!("/campaigns/{page_id}"), &session).await;
    assert!(campaign_page.body.contains("data-testid=\"book-line\""));
    let lines = t
        .state
        .inventory
        .lines(org, page_id.parse().unwrap())
        .await
        .unwrap();
    let book = t
        .form(
            &format!("/campaigns/lines/{}/book", lines[0].id),
            &session,
            &[("campaign", page_id.as_str())],
        )
        .await;
    assert!(
        book.location().starts_with("/inventory/bookings/"),
        "{}",
        book.location()
    );
    let list = t.get("/campaigns?status=LIVE", &session).await;
    assert!(
        list.body.contains("겨울") && !list.body.contains(">봄<"),
        "the status filter applies"
    );
}

fn assert_proposal_download(proposal: &Reply) {
    assert_eq!(proposal.status, StatusCode::OK, "{}", proposal.body);
    assert_eq!(
        proposal.headers[header::CONTENT_TYPE],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        proposal.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains(".xlsx")
    );
    assert!(
        proposal.body.starts_with("PK"),
        "an xlsx is a zip container"
    );
}

#[tokio::test]
async fn cpc_ads_are_onboarded_served_clicked_and_attributed_through_the_api_and_pages() {
    let t = TestApp::new().await;
    let org = t.org("Shop Platform").await;
    let admin_user = t.user(org, "admin@shop.kr", Role::Admin).await;
    let admin = t.token(&admin_user).await;
    let analyst = t
        .token(&t.user(org, "analyst@shop.kr", Role::Analyst).await)
        .await;
    let seller_user = t.user(org, "seller@camping.kr", Role::Advertiser).await;
    let seller = t.token(&seller_user).await;
    let stranger = t
        .token(&t.user(org, "other@seller.kr", Role::Advertiser).await)
        .await;

    // Placements and a site with its key (shown once).
    for code in ["home_top", "search_result"] {
        let r = t
            .json(
                Method::POST,
                "/api/v1/ads/placements",
                &admin,
                json!({ "code": code }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let site = t
        .json(
            Method::POST,
            "/api/v1/ads/sites",
            &admin,
            json!({ "name": "web", "media_key": "shop-web", "allowed_origins": ["https://shop.example.com"] }),
        )
        .await;
    assert_eq!(site.status, StatusCode::CREATED, "{}", site.body);
    let key = site.json()["key"].as_str().unwrap().to_owned();

    // The seller signs up; the analyst may not approve; the admin approves and tops up once.
    let signed = t
        .json(
            Method::POST,
            "/api/v1/ads/advertisers",
            &seller,
            json!({ "business_name": "캠핑월드", "registration_number": "2208162517", "contact_name": "김", "contact_email": "a@b.kr", "contact_phone": "010-1111-2222" }),
        )
        .await;
    assert_eq!(signed.status, StatusCode::CREATED, "{}", signed.body);
    let advertiser = signed.json()["id"].as_i64().unwrap();
    let bad = t
        .json(
            Method::POST,
            "/api/v1/ads/advertisers",
            &stranger,
            json!({ "business_name": "x", "registration_number": "123", "contact_name": "k", "contact_email": "a@b.kr", "contact_phone": "1" }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("registration_number"), "{}", bad.body);
    let approve = format!("/api/v1/ads/advertisers/{advertiser}/approve");
    assert_eq!(
        t.json(Method::POST, &approve, &analyst, json!({}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.json(Method::POST, &approve, &admin, json!({}))
            .await
            .status,
        StatusCode::OK
    );
    let top_up = format!("/api/v1/ads/advertisers/{advertiser}/top-ups");
    let no_key = t
        .json(Method::POST, &top_up, &admin, json!({ "amount": 50000 }))
        .await;
    assert_eq!(
        no_key.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        no_key.body
    );
    for expected in [StatusCode::CREATED, StatusCode::OK] {
        let r = t
            .send(
                Method::POST,
                &top_up,
                &admin,
                Some(Body::from(
                    json!({ "amount": 50000, "memo": "입금" }).to_string(),
                )),
                Some("application/json"),
                &[("idempotency-key", "pay-1")],
            )
            .await;
        assert_eq!(r.status, expected, "{}", r.body);
    }
    assert_eq!(
        t.json(
            Method::POST,
            &top_up,
            &seller,
            json!({ "amount": 1, "idempotency_key": "x" })
        )
        .await
        .status,
        StatusCode::FORBIDDEN,
        "an advertiser cannot top itself up"
    );
    // Another advertiser user sees nothing of it.
    assert_eq!(
        t.get(
            &format!("/api/v1/ads/advertisers/{advertiser}/ledger"),
            &stranger
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let ledger = t
        .get(
            &format!("/api/v1/ads/advertisers/{advertiser}/ledger"),
            &seller,
        )
        .await;
    assert_eq!(ledger.json()["balance"], 50000);
    assert_eq!(ledger.json()["entries"].as_array().unwrap().len(), 1);

    // The seller registers a campaign and an ad; an operator-level review activates it.
    let campaign = t
        .json(
            Method::POST,
            "/api/v1/ads/campaigns",
            &seller,
            json!({ "advertiser_id": advertiser, "name": "겨울", "daily_budget": 30000, "placements": ["home_top"] }),
        )
        .await;
    assert_eq!(campaign.status, StatusCode::CREATED, "{}", campaign.body);
    let campaign = campaign.json()["id"].as_i64().unwrap();
    let ad = t
        .json(
            Method::POST,
            &format!("/api/v1/ads/campaigns/{campaign}/ads"),
            &seller,
            json!({ "product_id": "tent", "title": "텐트", "image_url": "https://img.example.com/t.jpg", "landing_url": "https://shop.example.com/p/tent", "category": "camping", "bid": 300 }),
        )
        .await;
    assert_eq!(ad.status, StatusCode::CREATED, "{}", ad.body);
    assert_eq!(
        t.json(
            Method::POST,
            &format!("/api/v1/ads/campaigns/{campaign}/review"),
            &seller,
            json!({ "approve": true })
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let reviewed = t
        .json(
            Method::POST,
            &format!("/api/v1/ads/campaigns/{campaign}/review"),
            &admin,
            json!({ "approve": true }),
        )
        .await;
    assert_eq!(reviewed.json()["state"], "active", "{}", reviewed.body);

    // The shop front end asks for ads: key required, CORS for its origin, JSON answer.
    let no_site = t.get("/serve/ads?placement=home_top", &Auth::None).await;
    assert_eq!(no_site.status, StatusCode::UNAUTHORIZED);
    let served = t
        .send(
            Method::GET,
            "/serve/ads?placement=home_top&category=camping&n=2&user=buyer",
            &Auth::None,
            None,
            None,
            &[
                ("x-adpool-key", &key),
                ("origin", "https://shop.example.com"),
                ("host", "ads.example.com"),
            ],
        )
        .await;
    assert_eq!(served.status, StatusCode::OK, "{}", served.body);
    assert_eq!(
        served.headers.get("access-control-allow-origin").unwrap(),
        "https://shop.example.com"
    );
    let ads = served.json()["ads"].as_array().unwrap().clone();
    assert_eq!(ads.len(), 1);
    assert_eq!(ads[0]["price"], 70);
    for field in [
        "ad_id",
        "product_id",
        "title",
        "image_url",
        "landing_url",
        "price",
        "impression_id",
        "click_url",
    ] {
        assert!(
            ads[0].get(field).is_some(),
            "{field} missing: {}",
            served.body
        );
    }
    let click_url = ads[0]["click_url"].as_str().unwrap();
    assert!(
        click_url.starts_with("http://ads.example.com/serve/click?t="),
        "{click_url}"
    );
    let evil = t
        .send(
            Method::GET,
            &format!("/serve/ads?placement=home_top&key={key}"),
            &Auth::None,
            None,
            None,
            &[("origin", "https://evil.example.com")],
        )
        .await;
    assert_eq!(evil.status, StatusCode::FORBIDDEN);
    // A preflight answers an origin a site allows, and refuses others without CORS headers.
    let preflight = |origin: &'static str| {
        let t = &t;
        async move {
            t.send(
                Method::OPTIONS,
                "/serve/ads",
                &Auth::None,
                None,
                None,
                &[("origin", origin)],
            )
            .await
        }
    };
    let allowed = preflight("https://shop.example.com").await;
    assert_eq!(allowed.status, StatusCode::NO_CONTENT);
    assert!(
        allowed
            .headers
            .get("access-control-allow-headers")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("x-adpool-key")
    );
    let foreign = preflight("https://evil.example.com").await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert!(foreign.headers.get("access-control-allow-origin").is_none());

    // The click redirects to the landing page and charges; a replay redirects and charges nothing.
    let path = click_url.trim_start_matches("http://ads.example.com");
    let click = t.get(path, &Auth::None).await;
    assert_eq!(click.status, StatusCode::FOUND);
    assert_eq!(click.location(), "https://shop.example.com/p/tent");
    assert_eq!(t.get(path, &Auth::None).await.status, StatusCode::FOUND);
    assert_eq!(
        t.get("/serve/click?t=forged", &Auth::None).await.status,
        StatusCode::BAD_REQUEST
    );
    let ledger = t
        .get(
            &format!("/api/v1/ads/advertisers/{advertiser}/ledger"),
            &seller,
        )
        .await;
    assert_eq!(ledger.json()["balance"], 50000 - 70);

    // The shop reports the order; the conversion shows in the metrics with ROAS.
    let order = json!({ "order_id": "o-1", "user": "buyer", "status": "completed", "ts": chrono_now_secs(), "items": [{ "product_id": "tent", "qty": 1, "amount": 7000 }] });
    assert_eq!(
        t.json(
            Method::POST,
            "/api/v1/events/orders",
            &seller,
            order.clone()
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let recorded = t
        .json(Method::POST, "/api/v1/events/orders", &admin, order.clone())
        .await;
    assert_eq!(recorded.status, StatusCode::OK, "{}", recorded.body);
    assert_eq!(recorded.json()["conversions"].as_array().unwrap().len(), 1);
    assert_eq!(
        t.json(Method::POST, "/api/v1/events/orders", &admin, order)
            .await
            .json()["repeated"],
        true
    );
    let metrics = t
        .get(
            &format!("/api/v1/ads/metrics?campaign_id={campaign}"),
            &seller,
        )
        .await;
    let totals = &metrics.json()["totals"];
    assert_eq!(
        (
            totals["clicks"].as_i64(),
            totals["invalid_clicks"].as_i64(),
            totals["spend"].as_i64(),
            totals["revenue"].as_i64()
        ),
        (Some(1), Some(1), Some(70), Some(7000))
    );
    assert_eq!(totals["roas"], 100.0);
    let prometheus = t.get("/metrics", &Auth::None).await;
    assert!(
        prometheus
            .body
            .contains("adpool_cpc_clicks_charged_total 1"),
        "{}",
        prometheus.body
    );
    assert!(
        prometheus
            .body
            .contains("adpool_cpc_clicks_invalid_total 2"),
        "{}",
        prometheus.body
    );
    let csv = t
        .get(
            &format!("/api/v1/ads/advertisers/{advertiser}/settlement.csv"),
            &seller,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.contains(",charge,-70,49930,"), "{}", csv.body);

    // The pages: the admin overview, the advertiser's own page, the campaign, the settlement.
    let session = t.login("admin@shop.kr", PASSWORD).await.unwrap();
    let overview = t.get("/cpc", &session).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(
        overview.body.contains("캠핑월드") && overview.body.contains("shop-web"),
        "{}",
        overview.body
    );
    let page = t.get(&format!("/cpc/campaigns/{campaign}"), &session).await;
    assert!(page.body.contains("data-testid=\"cpc-metrics\"") && page.body.contains("텐트"));
    let topped = t
        .form(
            &format!("/cpc/advertisers/{advertiser}/top-up"),
            &session,
            &[("amount", "10,000"), ("idempotency_key", "form-1")],
        )
        .await;
    assert_eq!(topped.status, StatusCode::SEE_OTHER);
    let again = t
        .form(
            &format!("/cpc/advertisers/{advertiser}/top-up"),
            &session,
            &[("amount", "10,000"), ("idempotency_key", "form-1")],
        )
        .await;
    assert!(again.location().contains("already"), "{}", again.location());
    let settlement = t.get("/cpc/settlement", &session).await;
    assert!(settlement.body.contains("59,930"), "{}", settlement.body);
    let seller_session = t.login("seller@camping.kr", PASSWORD).await.unwrap();
    let own = t.get("/cpc", &seller_session).await;
    assert_eq!(own.status, StatusCode::SEE_OTHER);
    assert_eq!(own.location(), format!("/cpc/advertisers/{advertiser}"));

    // Public sign-up: an account and a pending advertiser, or nothing at all on bad input.
    let form = t
        .get(&format!("/cpc/join/{}", org.get()), &Auth::None)
        .await;
    let csrf = form.cookie("adpool_login_csrf").unwrap();
    let join = |fields: Vec<(&'static str, String)>| {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        body.append_pair("csrf_token", &csrf);
        for (k, v) in &fields {
            body.append_pair(k, v);
        }
        body.finish()
    };
    let fields = |number: &str| {
        vec![
            ("email", "new@seller.kr".to_owned()),
            ("password", "long enough password".to_owned()),
            ("business_name", "새상점".to_owned()),
            ("registration_number", number.to_owned()),
            ("contact_name", "박".to_owned()),
            ("contact_email", "new@seller.kr".to_owned()),
            ("contact_phone", "010-2222-3333".to_owned()),
        ]
    };
    let cookie = format!("adpool_login_csrf={csrf}");
    let refused = t
        .send(
            Method::POST,
            &format!("/cpc/join/{}", org.get()),
            &Auth::None,
            Some(Body::from(join(fields("220-81-62517")))),
            Some("application/x-www-form-urlencoded"),
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("already signed up"),
        "{}",
        refused.body
    );
    assert!(
        t.login("new@seller.kr", "long enough password")
            .await
            .is_err(),
        "a refused sign-up leaves no account"
    );
    let joined = t
        .send(
            Method::POST,
            &format!("/cpc/join/{}", org.get()),
            &Auth::None,
            Some(Body::from(join(fields("105-87-01270")))),
            Some("application/x-www-form-urlencoded"),
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(joined.status, StatusCode::CREATED, "{}", joined.body);
    let notes = t.get("/api/v1/notifications", &admin).await;
    assert!(
        notes.body.contains("새상점"),
        "admins are told of the sign-up: {}",
        notes.body
    );
    let seller_notes = t.get("/api/v1/notifications", &seller).await;
    assert!(
        seller_notes.body.contains("approved"),
        "the seller is told of the approval: {}",
        seller_notes.body
    );
    assert!(
        !seller_notes.body.contains("새상점"),
        "other advertisers' sign-ups stay with the admins"
    );
    let pending = t.get("/api/v1/ads/advertisers", &admin).await.json();
    assert!(
        pending["advertisers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["business_name"] == "새상점" && a["state"] == "pending")
    );
}

fn chrono_now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn log_reports_are_read_filtered_sorted_and_downloaded_in_the_browser() {
    // The deployment lets organizations analyze folders under this root.
    let root = tempfile::tempdir().unwrap();
    let root_path = root.path().to_str().unwrap().to_owned();
    let t = TestApp::with_state(|state| {
        let rules = adpool_logs::SourceRules {
            folder_roots: vec![root_path.clone()],
            ..Default::default()
        };
        let sources = adpool_logs::LogSources::new(
            state.db.clone(),
            adpool_store::Vault::new([2; 32]),
            rules,
        );
        state.with_log_sources(sources)
    })
    .await;
    let org = t.org("Agency").await;
    t.user(org, "ops@agency.kr", Role::Operator).await;
    t.user(org, "analyst@agency.kr", Role::Analyst).await;
    let ops = t.login("ops@agency.kr", PASSWORD).await.unwrap();
    // Metadata pasted on the page: a bad row changes nothing and says where it is.
    let bad = t
        .form(
            "/reports/metadata",
            &ops,
            &[(
                "media_csv",
                "media_key,org_id,media_share_bp\nm1,11,70000\n",
            )],
        )
        .await;
    assert!(bad.location().contains("error="), "{}", bad.location());
    assert!(
        url::form_urlencoded::parse(bad.location().as_bytes())
            .any(|(_, v)| v.contains("row 2, column media_share_bp"))
    );
    let ok = t
        .form(
            "/reports/metadata",
            &ops,
            &[
                ("media_csv", "media_key,org_id,media_share_bp\nm1,11,7000\n"),
                (
                    "inventory_csv",
                    "inventory_id,ad_type,device\n5,display,PC\n",
                ),
            ],
        )
        .await;
    assert!(ok.location().contains("flash="), "{}", ok.location());
    // A folder of logs, analyzed.
    let dir = tempfile::tempdir_in(root.path()).unwrap();
    let mut text = String::new();
    for (i, ev) in ["imp", "imp", "clk", "req"].iter().enumerate() {
        text.push_str(&format!(
            "{{\"ts\":{},\"ev\":\"{ev}\",\"mid\":\"m1\",\"ads\":[{{\"aid\":5,\"_god\":{i},\"did\":3}}],\"rev\":1.5}}\n",
            1_795_100_400 + i as i64
        ));
    }
    std::fs::write(dir.path().join("a.jsonl"), text).unwrap();
    std::fs::write(dir.path().join("b.jsonl"), "{\"ts\": \"soon\"}\n").unwrap();
    let folder = dir.path().to_str().unwrap().to_owned();
    let run_jobs = || async {
        let mut registry = adpool_jobs::Registry::new();
        registry.register(
            adpool_logs::ANALYZE_JOB,
            1,
            adpool_logs::AnalyzeHandler::new(
                t.state.db.clone(),
                t.state.clock.clone(),
                t.state.log_sources.clone(),
            ),
        );
        adpool_jobs::Worker::new(t.state.jobs.clone(), registry, Default::default())
            .drain()
            .await
            .unwrap()
    };
    // A new source needs an admin: the server will read that folder.
    let refused = t
        .form(
            "/reports/sources/analyze",
            &ops,
            &[("source", folder.as_str()), ("hourly", "1")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    t.user(org, "admin@agency.kr", Role::Admin).await;
    let admin = t.login("admin@agency.kr", PASSWORD).await.unwrap();
    // A folder that does not exist (yet) inside the deployment's root is named missing.
    let missing_path = format!("{root_path}/not-yet");
    let missing = t
        .form(
            "/reports/sources/analyze",
            &admin,
            &[("source", missing_path.as_str())],
        )
        .await;
    assert!(
        missing.location().contains("error=") && missing.location().contains("cannot"),
        "{}",
        missing.location()
    );
    // H1: a folder outside the deployment's roots is refused, whatever the spelling; nothing
    // is queued or scheduled.
    for outside in [
        "/etc".to_owned(),
        "/no/such/folder".to_owned(),
        "file:///etc".to_owned(),
        format!("{root_path}/../"),
        std::env::temp_dir().display().to_string(),
    ] {
        let refused = t
            .form(
                "/reports/sources/analyze",
                &admin,
                &[("source", outside.as_str()), ("hourly", "1")],
            )
            .await;
        let error = refused.error_flash().unwrap_or_default();
        assert!(
            error.contains("분석할 수 있는 폴더 밖"),
            "{outside}: {}",
            refused.location()
        );
    }
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'logs.analyze'")
        .fetch_one(t.state.db.pool())
        .await
        .unwrap();
    assert_eq!(queued, 0);
    // An s3:// source needs the organization's own credentials.
    let no_keys = t
        .form(
            "/reports/sources/analyze",
            &admin,
            &[("source", "s3://somebody-elses-bucket/logs")],
        )
        .await;
    assert!(
        no_keys
            .error_flash()
            .is_some_and(|e| e.contains("S3 접근 정보가 없습니다")),
        "{}",
        no_keys.location()
    );
    let started = t
        .form(
            "/reports/sources/analyze",
            &admin,
            &[("source", folder.as_str()), ("hourly", "1")],
        )
        .await;
    assert!(
        started.location().starts_with("/jobs/"),
        "{}",
        started.location()
    );
    assert_eq!(run_jobs().await.len(), 1);
    let schedules: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM schedules WHERE job_kind = 'logs.analyze' AND org_id = $1",
    )
    .bind(org.get())
    .fetch_one(t.state.db.pool())
    .await
    .unwrap();
    assert_eq!(schedules, 1, "analyzed every hour from now on");
    // The quarantined file, fixed and retried by an operator from the page.
    let page = t.get("/reports", &ops).await;
    assert!(page.body.contains("data-testid=\"retry-source\""));
    assert!(
        page.body.contains("ts must be whole unix seconds"),
        "{}",
        page.body
    );
    std::fs::write(dir.path().join("b.jsonl"), "").unwrap();
    let source_url = format!(
        "file://{}",
        std::fs::canonicalize(dir.path()).unwrap().display()
    );
    let retried = t
        .form(
            "/reports/sources/retry",
            &ops,
            &[("source", source_url.as_str())],
        )
        .await;
    assert!(
        retried.location().starts_with("/jobs/"),
        "{}",
        retried.location()
    );
    run_jobs().await;
    let page = t.get("/reports", &ops).await;
    assert!(
        !page.body.contains("data-testid=\"retry-source\""),
        "nothing left to retry"
    );
    let nothing = t
        .form(
            "/reports/sources/retry",
            &ops,
            &[("source", source_url.as_str())],
        )
        .await;
    assert!(
        nothing.location().contains("error="),
        "{}",
        nothing.location()
    );

    t.user(org, "seller@agency.kr", Role::Advertiser).await;
    let seller = t.login("seller@agency.kr", PASSWORD).await.unwrap();
    assert_eq!(
        t.get("/reports", &seller).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.get("/reports/media.csv", &seller).await.status,
        StatusCode::FORBIDDEN,
        "CPC advertisers do not read the organization's partner reports"
    );
    let analyst = t.login("analyst@agency.kr", PASSWORD).await.unwrap();
    assert_eq!(
        t.form(
            "/reports/sources/analyze",
            &analyst,
            &[("source", folder.as_str())]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let overview = t.get("/reports", &analyst).await;
    assert_eq!(overview.status, StatusCode::OK);
    let folder_name = dir.path().file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        overview.body.contains("data-testid=\"log-sources\"")
            && overview.body.contains(&folder_name)
    );
    assert!(
        !overview.body.contains("/reports/metadata"),
        "analysts do not edit metadata"
    );
    let media = t
        .get("/reports/media?from=2026-11-20&to=2026-11-20", &analyst)
        .await;
    assert_eq!(media.status, StatusCode::OK);
    // 3 events with revenue 1.5 won each, 70% to the media: 4.500 = 3.150 + 1.350.
    assert!(
        media.body.contains("4.500")
            && media.body.contains("3.150")
            && media.body.contains("1.350"),
        "{}",
        media.body
    );
    let filtered = t
        .get(
            "/reports/ad-performance?from=2026-11-20&to=2026-11-20&ad_id=2",
            &analyst,
        )
        .await;
    assert!(
        filtered.body.contains("1 rows") || filtered.body.contains("1 행"),
        "{}",
        filtered.body
    );
    let csv = t
        .get(
            "/reports/demand.csv?from=2026-11-20&to=2026-11-20",
            &analyst,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(
        csv.body,
        "date,demand_id,impressions,clicks,revenue,ctr,cpc,ecpm\n2026-11-20,3,2,1,4.500,0.500000,4.500000,2250.000000\n"
    );
    let xlsx = t
        .get(
            "/reports/media.xlsx?from=2026-11-20&to=2026-11-20",
            &analyst,
        )
        .await;
    assert!(
        xlsx.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let sorted = t
        .get(
            "/reports/ad-performance?from=2026-11-20&to=2026-11-20&sort=ad_id&desc=1",
            &analyst,
        )
        .await;
    let first_two = sorted
        .body
        .find("<td>2026-11-20</td><td>11</td><td>m1</td><td>5</td><td>2</td>")
        .unwrap();
    let first_one = sorted
        .body
        .find("<td>2026-11-20</td><td>11</td><td>m1</td><td>5</td><td>1</td>")
        .unwrap();
    assert!(first_two < first_one, "sorted by ad_id descending");
    assert_eq!(
        t.get("/reports/nope", &analyst).await.status,
        StatusCode::NOT_FOUND
    );
    let bad_date = t.get("/reports/media?from=yesterday", &analyst).await;
    assert_ne!(bad_date.status, StatusCode::OK);
}

#[tokio::test]
async fn a_shop_owner_registers_stores_uploads_an_ably_export_and_reads_the_dashboard() {
    let t = TestApp::new().await;
    let org = t.org("Camp House").await;
    t.user(org, "ops@camp.kr", Role::Operator).await;
    t.user(org, "analyst@camp.kr", Role::Analyst).await;
    t.user(org, "seller@camp.kr", Role::Advertiser).await;
    let ops = t.login("ops@camp.kr", PASSWORD).await.unwrap();
    let analyst = t.login("analyst@camp.kr", PASSWORD).await.unwrap();
    let seller = t.login("seller@camp.kr", PASSWORD).await.unwrap();

    // A Cafe24 store without its secret is refused and nothing is created.
    let refused = t
        .form(
            "/shops/stores",
            &ops,
            &[
                ("platform", "cafe24"),
                ("name", "Camp House Cafe24"),
                ("mall_id", "camphouse"),
                ("client_id", "abc"),
                ("client_secret", ""),
            ],
        )
        .await;
    assert!(
        refused.location().contains("error="),
        "{}",
        refused.location()
    );
    let cafe24 = t
        .form(
            "/shops/stores",
            &ops,
            &[
                ("platform", "cafe24"),
                ("name", "Camp House Cafe24"),
                ("mall_id", "camphouse"),
                ("client_id", "abc"),
                ("client_secret", "shh-very-secret"),
            ],
        )
        .await;
    assert!(
        cafe24.location().starts_with("/shops/stores/"),
        "{}",
        cafe24.location()
    );
    let store_page = t.get(cafe24.location(), &ops).await;
    assert!(
        !store_page.body.contains("shh-very-secret"),
        "never shown back"
    );
    // Not connected yet: the page offers Cafe24's consent, which comes back with a sealed state.
    assert!(store_page.body.contains("data-testid=\"cafe24-connect\""));
    let cafe24_store = cafe24.location().split('?').next().unwrap().to_owned();
    let consent = t.get(&format!("{cafe24_store}/cafe24/connect"), &ops).await;
    assert!(
        consent.location().starts_with(
            "https://camphouse.cafe24api.com/api/v2/oauth/authorize?response_type=code&client_id=abc&state="
        ),
        "{}",
        consent.location()
    );
    assert!(
        consent.location().contains("%2Fshops%2Foauth%2Fcafe24"),
        "{}",
        consent.location()
    );
    let forged = t.get("/shops/oauth/cafe24?code=c&state=forged", &ops).await;
    assert!(
        forged.location().contains("error="),
        "{}",
        forged.location()
    );
    let declined = t.get("/shops/oauth/cafe24?error=access_denied", &ops).await;
    assert!(
        declined.location().contains("access_denied"),
        "{}",
        declined.location()
    );
    assert!(!store_page.body.contains("data-testid=\"ably-upload\""));
    let ably = t
        .form(
            "/shops/stores",
            &ops,
            &[
                ("platform", "ably"),
                ("name", "Camp House Ably"),
                ("mall_id", "camphouse-ably"),
            ],
        )
        .await;
    let ably_page = ably.location().split('?').next().unwrap().to_owned();
    let ably_id = ably_page.rsplit('/').next().unwrap().to_owned();
    assert_eq!(
        t.form(
            "/shops/stores",
            &analyst,
            &[("platform", "ably"), ("name", "x"), ("mall_id", "x")]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    // A bad export: every bad row on the page, nothing imported, the run history says why.
    let bad = t
        .upload(
            &format!("{ably_page}/import"),
            &ops,
            "orders.csv",
            "주문번호,주문일시,상품코드,상품명,수량,결제금액,주문상태\nA-1,2026-11-20 10:00,P-1,텐트,0,\"129,000원\",구매확정\nA-2,2026-11-20 11:00,P-1,텐트,1,\"129,000원\",보류\n",
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("row 2, column 수량"), "{}", bad.body);
    assert!(
        !bad.body.contains("/tmp/"),
        "the file is named as uploaded, never by its server path"
    );
    assert!(
        bad.body.contains("실패"),
        "the run history shows the failure, in Korean"
    );
    // Status words adpool does not know: nothing imported until the person confirms.
    let held = "주문번호,주문일시,상품코드,상품명,수량,결제금액,주문상태\nH-1,2026-09-01 10:00,P-9,모자,1,10000,보류\nH-2,2026-09-01 11:00,P-9,모자,1,10000,구매확정\n";
    let unknown = t
        .upload(&format!("{ably_page}/import"), &ops, "held.csv", held)
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown.body.contains("data-testid=\"unknown-statuses\""),
        "{}",
        unknown.body
    );
    assert!(unknown.body.contains("<code>보류</code>"));
    assert!(unknown.body.contains("data-testid=\"accept-unknown\""));
    let Auth::Session { csrf, .. } = &ops else {
        panic!("a session")
    };
    let boundary = "adpool-test-boundary";
    let confirmed = t
        .send(
            Method::POST,
            &format!("{ably_page}/import?csrf_token={csrf}"),
            &ops,
            Some(Body::from(format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"accept_unknown_statuses\"\r\n\r\n1\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"held.csv\"\r\nContent-Type: text/csv\r\n\r\n{held}\r\n--{boundary}--\r\n"
            ))),
            Some(&format!("multipart/form-data; boundary={boundary}")),
            &[],
        )
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    let good = t
        .upload(
            &format!("{ably_page}/import"),
            &ops,
            "orders.csv",
            "주문번호,주문일시,상품코드,상품명,수량,결제금액,주문상태,카테고리\nA-1,2026-11-20 10:00,P-1,원터치 텐트,1,\"129,000원\",구매확정,텐트\nA-2,2026-11-21 11:00,P-2,캠핑 의자,2,\"118,000원\",결제완료,의자\nA-3,2026-10-05 09:00,P-2,캠핑 의자,1,\"59,000원\",구매확정,의자\n",
        )
        .await;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.body);
    assert!(good.location().contains("flash="), "{}", good.location());
    // The store page: its health and its order lines per status, in Korean.
    let imported = t.get(&ably_page, &ops).await;
    assert!(imported.body.contains("data-testid=\"store-health\""));
    assert!(
        imported.body.contains("마지막으로 성공한 동기화"),
        "{}",
        imported.body
    );
    assert!(imported.body.contains("data-testid=\"line-statuses\""));
    assert!(imported.body.contains("구매 확정"), "{}", imported.body);
    assert!(imported.body.contains("결제 완료"));

    // The dashboard: November to date (247,000 from 2 orders) against October 1-21 (59,000).
    let board = t.get("/shops?period=month&day=2026-11-21", &analyst).await;
    assert_eq!(board.status, StatusCode::OK);
    assert!(board.body.contains("₩247,000"), "{}", board.body);
    assert!(board.body.contains("₩59,000"));
    assert!(board.body.contains("▲ 318.6%"), "{}", board.body);
    assert!(board.body.contains("data-testid=\"sales-chart\""));
    assert!(board.body.contains("원터치 텐트"));
    assert!(
        board.body.contains("실결제 금액"),
        "the dashboard says what sales are"
    );
    let csv = t
        .get(
            &format!("/shops/sales.csv?period=month&day=2026-11-21&store={ably_id}"),
            &analyst,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.body
            .contains("\n2026-11,2026-11-01,2,247000,123500,0,0,247000\n"),
        "{}",
        csv.body
    );
    assert_ne!(
        t.get("/shops?period=fortnight", &analyst).await.status,
        StatusCode::OK
    );
    // The insights page can analyse the shop's own orders; an Ably export carries no customer,
    // so there is nothing to segment yet and the page says so.
    let shop_analysis = t
        .form("/insights/analyses", &analyst, &[("source", "shop")])
        .await;
    assert!(
        shop_analysis.location().contains("error="),
        "{}",
        shop_analysis.location()
    );
    let insights = t.get("/insights", &analyst).await;
    assert!(
        insights.body.contains("내 쇼핑몰 주문"),
        "the source is offered"
    );
    // "Sync now" queues a sync job for a Cafe24 store (operators only); Ably stores upload.
    let cafe24_page = cafe24.location().split('?').next().unwrap().to_owned();
    let queued = t.form(&format!("{cafe24_page}/sync"), &ops, &[]).await;
    assert!(
        queued.location().starts_with("/jobs/"),
        "{}",
        queued.location()
    );
    assert_eq!(
        t.form(&format!("{cafe24_page}/sync"), &analyst, &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let ably_sync = t.form(&format!("{ably_page}/sync"), &ops, &[]).await;
    assert!(
        ably_sync.location().contains("error="),
        "{}",
        ably_sync.location()
    );
    // The same through the API with a token.
    let token = t
        .token(&t.user(org, "robot@camp.kr", Role::Operator).await)
        .await;
    let sales = t
        .get("/api/v1/shops/sales?period=month&day=2026-11-21", &token)
        .await;
    assert_eq!(sales.status, StatusCode::OK, "{}", sales.body);
    let sales: serde_json::Value = serde_json::from_str(&sales.body).unwrap();
    assert_eq!(sales["current"]["revenue"], 247_000);
    assert_eq!(sales["previous"]["revenue"], 59_000);
    let stores: serde_json::Value =
        serde_json::from_str(&t.get("/api/v1/shops/stores", &token).await.body).unwrap();
    assert_eq!(stores["stores"].as_array().unwrap().len(), 2);
    assert!(!stores.to_string().contains("shh-very-secret"));
    let refused = t
        .json(
            Method::POST,
            &format!("/api/v1/shops/stores/{ably_id}/sync"),
            &token,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    // CPC advertisers of the organization do not see its sales.
    assert_eq!(t.get("/shops", &seller).await.status, StatusCode::FORBIDDEN);
    // Another organization's store is not found.
    let other = t.org("Other").await;
    t.user(other, "ops@other.kr", Role::Operator).await;
    let stranger = t.login("ops@other.kr", PASSWORD).await.unwrap();
    assert_eq!(
        t.get(&ably_page, &stranger).await.status,
        StatusCode::NOT_FOUND
    );
}

const STATEMENT: &str = "롯데카드 이용대금 명세서\n이용일자,이용가맹점,업종,이용금액,할부개월,취소여부\n\
2026.10.02,스타벅스 강남R점,커피전문점,\"5,600원\",일시불,N\n\
2026.10.02,스타벅스 강남R점,커피전문점,\"5,600원\",일시불,N\n\
2026.10.03,쿠팡,통신판매,\"129,000\",3개월,N\n\
2026.11.04,배달의민족,음식배달,\"23,500\",,N\n\
합계,,,\"163,700\",,\n";

#[tokio::test]
async fn spending_insight_is_imported_analysed_and_written_through_the_pages_and_the_api() {
    let t = TestApp::new().await;
    let org = t.org("Bomnal").await;
    let other = t.org("Other").await;
    let ops_user = t.user(org, "ops@bomnal.kr", Role::Operator).await;
    let analyst_user = t.user(org, "analyst@bomnal.kr", Role::Analyst).await;
    t.user(org, "seller@bomnal.kr", Role::Advertiser).await;
    let stranger = t.user(other, "admin@other.kr", Role::Admin).await;
    let ops = t.login("ops@bomnal.kr", PASSWORD).await.unwrap();
    let seller = t.login("seller@bomnal.kr", PASSWORD).await.unwrap();
    let ops_token = t.token(&ops_user).await;
    let analyst_token = t.token(&analyst_user).await;
    let stranger_token = t.token(&stranger).await;

    // The page: preview first (nothing written), then import with the kept file.
    let preview = t
        .upload("/insights/preview", &ops, "lotte.csv", STATEMENT)
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(
        preview.body.contains("data-testid=\"layout\">롯데카드"),
        "{}",
        preview.body
    );
    let token = preview
        .body
        .split("name=\"token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert!(t.state.insight.uploads(org).await.unwrap().is_empty());
    let imported = t
        .form(
            "/insights/import",
            &ops,
            &[("token", &token), ("mapping", "")],
        )
        .await;
    let flash: String = url::form_urlencoded::parse(imported.location().as_bytes())
        .map(|(_, value)| value.into_owned())
        .collect();
    assert!(flash.contains("새 거래 4건"), "{}", imported.location());
    let again = t.form("/insights/import", &ops, &[("token", &token)]).await;
    assert!(
        again.location().contains("error=") || again.status == StatusCode::UNPROCESSABLE_ENTITY,
        "a preview imports once: {}",
        again.location()
    );
    // A broken file is refused whole, every line named, nothing written.
    let broken = t
        .upload(
            "/insights/preview",
            &ops,
            "broken.csv",
            &STATEMENT.replace("\"129,000\"", "많이"),
        )
        .await;
    assert!(
        broken
            .body
            .contains("row 5, column 이용금액, value &#x27;많이&#x27;")
            || broken.body.contains("row 5, column 이용금액, value '많이'"),
        "{}",
        broken.body
    );
    assert!(!broken.body.contains("data-testid=\"confirm-import\""));
    assert_eq!(t.state.insight.uploads(org).await.unwrap().len(), 1);

    // The API: analysts read but do not import; a dry run changes nothing; a re-import is all duplicates.
    let uri = "/api/v1/insight/imports?file_name=lotte.csv";
    let refused = t
        .send(
            Method::POST,
            uri,
            &analyst_token,
            Some(Body::from(STATEMENT)),
            Some("application/octet-stream"),
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let dry = t
        .send(
            Method::POST,
            &format!("{uri}&dry_run=true"),
            &ops_token,
            Some(Body::from(STATEMENT)),
            Some("application/octet-stream"),
            &[],
        )
        .await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    let dry: Value = serde_json::from_str(&dry.body).unwrap();
    assert_eq!(
        (dry["new_lines"].as_i64(), dry["duplicates"].as_i64()),
        (Some(0), Some(4))
    );
    let unknown = t
        .send(
            Method::POST,
            "/api/v1/insight/imports?file_name=pos.csv",
            &ops_token,
            Some(Body::from("일자,상호,금액\n2026-10-01,빵집,4000\n")),
            Some("application/octet-stream"),
            &[],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown: Value = serde_json::from_str(&unknown.body).unwrap();
    assert_eq!(
        unknown["error"]["details"]["columns"],
        json!(["일자", "상호", "금액"])
    );
    let mapping = t
        .json(Method::POST, "/api/v1/insight/mappings", &ops_token, json!({ "name": "빵집", "mapping": { "date": "일자", "merchant": "상호", "amount": "금액" } }))
        .await;
    assert_eq!(mapping.status, StatusCode::NO_CONTENT, "{}", mapping.body);
    let mapped = t
        .send(
            Method::POST,
            "/api/v1/insight/imports?file_name=pos.csv",
            &ops_token,
            Some(Body::from("일자,상호,금액\n2026-10-01,빵집,4000\n")),
            Some("application/octet-stream"),
            &[],
        )
        .await;
    assert_eq!(mapped.status, StatusCode::CREATED, "{}", mapped.body);
    let rule = t
        .json(
            Method::POST,
            "/api/v1/insight/rules",
            &ops_token,
            json!({ "keyword": "빵집", "category": "cafe" }),
        )
        .await;
    assert_eq!(
        serde_json::from_str::<Value>(&rule.body).unwrap()["recategorized"],
        1
    );

    // An analysis as a job, read back; messages written, fitted, edited within the limit only.
    let started = t
        .json(
            Method::POST,
            "/api/v1/insight/analyses",
            &analyst_token,
            json!({}),
        )
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    let id = serde_json::from_str::<Value>(&started.body).unwrap()["analysis_id"]
        .as_i64()
        .unwrap();
    t.state
        .insight
        .run_analysis(id, &mut |_, _, _| {})
        .await
        .unwrap();
    let analysis = t
        .get(&format!("/api/v1/insight/analyses/{id}"), &analyst_token)
        .await;
    let analysis: Value = serde_json::from_str(&analysis.body).unwrap();
    assert_eq!(analysis["state"], "done");
    assert_eq!(
        analysis["report"]["spend"],
        5600 * 2 + 129_000 + 23_500 + 4_000
    );
    let written = t
        .json(
            Method::POST,
            &format!("/api/v1/insight/analyses/{id}/messages"),
            &analyst_token,
            json!({ "channel": "sms", "tone": "urgent", "lang": "ko", "count": 4 }),
        )
        .await;
    assert_eq!(written.status, StatusCode::CREATED, "{}", written.body);
    let written: Vec<Value> = serde_json::from_str(&written.body).unwrap();
    assert_eq!(written.len(), 4);
    assert!(
        written
            .iter()
            .all(|m| m["size"].as_i64().unwrap() <= 90 && m["source"] == "offline")
    );
    let message = written[0]["id"].as_i64().unwrap();
    let too_long = t
        .json(
            Method::PATCH,
            &format!("/api/v1/insight/messages/{message}"),
            &analyst_token,
            json!({ "body": "가".repeat(50) }),
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_long
            .body
            .contains("100 bytes (EUC-KR) is over the SMS limit of 90"),
        "{}",
        too_long.body
    );
    let bad = t
        .json(
            Method::POST,
            &format!("/api/v1/insight/analyses/{id}/messages"),
            &analyst_token,
            json!({ "channel": "fax", "tone": "urgent", "lang": "ko", "count": 1 }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = t.get(&format!("/insights/analyses/{id}"), &ops).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("data-testid=\"category-chart\"")
            && page.body.contains("data-copy=\"message-")
    );
    let form = t
        .form(
            &format!("/insights/analyses/{id}/messages"),
            &ops,
            &[
                ("segment", ""),
                ("channel", "kakao"),
                ("tone", "friendly"),
                ("lang", "en"),
                ("count", "2"),
            ],
        )
        .await;
    assert!(
        form.location().contains("2+messages+written"),
        "{}",
        form.location()
    );

    // Advertisers see none of it; another organization finds nothing.
    assert_eq!(
        t.get("/insights", &seller).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.get("/api/v1/insight/uploads", &stranger_token).await.body,
        "[]"
    );
    assert_eq!(
        t.get(&format!("/api/v1/insight/analyses/{id}"), &stranger_token)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get(
            &format!("/api/v1/insight/analyses/{id}/messages"),
            &stranger_token
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.json(
            Method::PATCH,
            &format!("/api/v1/insight/messages/{message}"),
            &stranger_token,
            json!({ "body": "x" })
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let spec = t.get("/api/openapi.json", &Auth::None).await;
    assert!(spec.body.contains("/api/v1/insight/analyses/{id}/messages"));
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_https_adds_hsts() {
    let t = TestApp::new().await;
    for uri in [
        "/login",
        "/api/v1/me",
        "/healthz",
        "/serve/ads?placement=x",
        "/no-such-page",
    ] {
        let reply = t.get(uri, &Auth::None).await;
        let h = &reply.headers;
        assert_eq!(
            h.get(header::CONTENT_SECURITY_POLICY).unwrap(),
            adpool_web::CONTENT_SECURITY_POLICY,
            "{uri}"
        );
        assert!(
            adpool_web::CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'")
                && !adpool_web::CONTENT_SECURITY_POLICY.contains("unsafe-inline")
        );
        assert_eq!(
            h.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(),
            "nosniff",
            "{uri}"
        );
        assert_eq!(h.get(header::X_FRAME_OPTIONS).unwrap(), "DENY", "{uri}");
        assert_eq!(
            h.get(header::REFERRER_POLICY).unwrap(),
            "same-origin",
            "{uri}"
        );
        assert!(
            h.get(header::STRICT_TRANSPORT_SECURITY).is_none(),
            "plain HTTP: {uri}"
        );
    }
    // The pages themselves carry no inline script or style the policy would block.
    let login = t.get("/login", &Auth::None).await;
    assert!(!login.body.contains("<script>") && !login.body.contains("style=\""));

    let https = TestApp::with_config(WebConfig {
        secure_cookies: true,
        ..WebConfig::default()
    })
    .await;
    let reply = https.get("/login", &Auth::None).await;
    assert!(
        reply
            .headers
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_some(),
        "behind HTTPS"
    );
    assert!(
        reply
            .headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.contains("; Secure") && c.contains("HttpOnly")),
        "{:?}",
        reply.headers
    );
}

#[tokio::test]
async fn the_ad_edge_and_the_login_form_are_rate_limited_per_client_address() {
    let t = TestApp::with_config(WebConfig {
        serve_requests_per_second_per_client: 5,
        login_attempts_per_minute_per_client: 3,
        ..WebConfig::default()
    })
    .await;
    // Bursts of twice the rate, then 429 with Retry-After and the one error shape.
    for i in 0..10 {
        let reply = get_from(&t, "/serve/ads?placement=x", "203.0.113.7").await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "request {i}: no site key, not limited"
        );
    }
    let limited = get_from(&t, "/serve/ads?placement=x", "203.0.113.7").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers.get(header::RETRY_AFTER).unwrap(), "1");
    assert_eq!(limited.json()["error"]["code"], "rate_limited");
    let click = get_from(&t, "/serve/click?t=x", "203.0.113.7").await;
    assert_eq!(
        click.status,
        StatusCode::TOO_MANY_REQUESTS,
        "clicks share the budget"
    );
    // Another address is not affected.
    let other = get_from(&t, "/serve/ads?placement=x", "198.51.100.1").await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);

    // Sign-in attempts: three a minute from one address, right or wrong, then 429.
    let org = t.org("A").await;
    t.user(org, "a@a.kr", Role::Admin).await;
    for _ in 0..3 {
        let reply = login_from(&t, "a@a.kr", "wrong password", "203.0.113.9").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let refused = login_from(&t, "a@a.kr", PASSWORD, "203.0.113.9").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        refused.cookie("adpool_session").is_none(),
        "no session when limited"
    );
    let elsewhere = login_from(&t, "a@a.kr", PASSWORD, "203.0.113.10").await;
    assert_eq!(
        elsewhere.status,
        StatusCode::SEE_OTHER,
        "another address signs in"
    );
    let metrics = t.get("/metrics", &Auth::None).await.body;
    assert!(
        metrics.contains("adpool_rate_limited_total{endpoint=\"serve\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("adpool_rate_limited_total{endpoint=\"login\"} 1"),
        "{metrics}"
    );
}

/// A GET from `ip` (the X-Forwarded-For of a proxy on the same host).
async fn get_from(t: &TestApp, uri: &str, ip: &str) -> Reply {
    t.send(
        Method::GET,
        uri,
        &Auth::None,
        None,
        None,
        &[("x-forwarded-for", ip)],
    )
    .await
}

/// Posts the login form from `ip` (the X-Forwarded-For of a proxy on the same host).
async fn login_from(t: &TestApp, email: &str, password: &str, ip: &str) -> Reply {
    let form = t.get("/login", &Auth::None).await;
    let csrf = form.cookie("adpool_login_csrf").unwrap();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf_token", &csrf)
        .append_pair("email", email)
        .append_pair("password", password)
        .finish();
    let cookie = format!("adpool_login_csrf={csrf}");
    t.send(
        Method::POST,
        "/login",
        &Auth::None,
        Some(Body::from(body)),
        Some("application/x-www-form-urlencoded"),
        &[("x-forwarded-for", ip), ("cookie", cookie.as_str())],
    )
    .await
}

#[tokio::test]
async fn a_body_over_the_route_limit_is_refused_with_413_and_changes_nothing() {
    let t = TestApp::new().await;
    let org = t.org("Media").await;
    let admin = t.user(org, "admin@media.kr", Role::Admin).await;
    let token = t.token(&admin).await;
    // A catalog document of 3 MB: JSON bodies stop at axum's 2 MB default.
    let huge = json!({ "media": [{ "code": "W", "name": "x".repeat(3 * 1024 * 1024) }] });
    let reply = t.json(Method::POST, "/api/v1/catalog", &token, huge).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.body
    );
    assert_eq!(reply.json()["error"]["code"], "payload_too_large");
    let catalog = t.get("/api/v1/catalog", &token).await.json();
    assert_eq!(
        catalog["media"].as_array().map_or(0, Vec::len),
        0,
        "nothing was applied: {catalog}"
    );
}

#[tokio::test]
async fn a_nul_character_in_an_api_body_is_refused_and_changes_nothing() {
    let t = TestApp::new().await;
    let org = t.org("Media").await;
    let admin = t.user(org, "admin@media.kr", Role::Admin).await;
    let token = t.token(&admin).await;
    let reply = t
        .json(
            Method::PATCH,
            "/api/v1/organization",
            &token,
            json!({ "name": "Media\u{0}X" }),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert!(reply.body.contains("NUL"), "{}", reply.body);
    let organization = t.get("/api/v1/organization", &token).await.json();
    assert_eq!(organization["name"], "Media");
}
