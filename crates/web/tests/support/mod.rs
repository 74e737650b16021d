//! The HTTP test client shared by the web crate's test files: an app over a fresh database
//! (SQLite, or PostgreSQL when ADPOOL_TEST_DATABASE_URL is set), callers by token or by a
//! browser session with its CSRF token, and the replies.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // each test file uses a part

use std::sync::Arc;

use adpool_accounts::{NewUser, OrgId, Role, User};
use adpool_core::SystemClock;
use adpool_store::testing::fresh_database;
use adpool_web::{AppState, WebConfig, app};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub app: Router,
    pub state: AppState,
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                v.strip_prefix(&format!("{name}="))
                    .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
            })
    }

    /// The `?error=` message a redirect carries, decoded.
    pub fn error_flash(&self) -> Option<String> {
        let query = self.location().split_once('?')?.1;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "error")
            .map(|(_, v)| v.into_owned())
    }

    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// How a request proves who it is.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Token(String),
    Session { cookie: String, csrf: String },
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(WebConfig::default()).await
    }

    pub async fn with_config(config: WebConfig) -> Self {
        let state = AppState::new(fresh_database().await, Arc::new(SystemClock), config);
        TestApp {
            app: app(state.clone()),
            state,
        }
    }

    /// An app whose default state `edit` changes first (e.g. the deployment's log roots).
    pub async fn with_state(edit: impl FnOnce(AppState) -> AppState) -> Self {
        let state = edit(AppState::new(
            fresh_database().await,
            Arc::new(SystemClock),
            WebConfig::default(),
        ));
        TestApp {
            app: app(state.clone()),
            state,
        }
    }

    pub async fn org(&self, name: &str) -> OrgId {
        self.state
            .accounts
            .create_organization(name)
            .await
            .unwrap()
            .id
    }

    pub async fn user(&self, org: OrgId, email: &str, role: Role) -> User {
        let new = NewUser {
            org_id: org,
            email: email.into(),
            display_name: email.into(),
            role,
            password: PASSWORD.into(),
        };
        self.state.accounts.create_user(new).await.unwrap()
    }

    pub async fn token(&self, user: &User) -> Auth {
        Auth::Token(
            self.state
                .accounts
                .create_api_token(user.org_id, user.id, "test")
                .await
                .unwrap()
                .secret,
        )
    }

    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        auth: &Auth,
        body: Option<Body>,
        content_type: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        match auth {
            Auth::None => {}
            Auth::Token(secret) => {
                request = request.header(header::AUTHORIZATION, format!("Bearer {secret}"))
            }
            Auth::Session { cookie, .. } => {
                request = request.header(header::COOKIE, format!("adpool_session={cookie}"))
            }
        }
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let response = self
            .app
            .clone()
            .oneshot(request.body(body.unwrap_or_else(Body::empty)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), 10 * 1024 * 1024)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, uri: &str, auth: &Auth) -> Reply {
        self.send(Method::GET, uri, auth, None, None, &[]).await
    }

    pub async fn json(&self, method: Method, uri: &str, auth: &Auth, body: Value) -> Reply {
        let extra: Vec<(&str, &str)> = match auth {
            Auth::Session { csrf, .. } => vec![("x-csrf-token", csrf.as_str())],
            _ => vec![],
        };
        self.send(
            method,
            uri,
            auth,
            Some(Body::from(body.to_string())),
            Some("application/json"),
            &extra,
        )
        .await
    }

    /// Posts an HTML form the way a browser does: with the session cookie and the CSRF field.
    pub async fn form(&self, uri: &str, auth: &Auth, fields: &[(&str, &str)]) -> Reply {
        let mut encoder = url::form_urlencoded::Serializer::new(String::new());
        if let Auth::Session { csrf, .. } = auth {
            encoder.append_pair("csrf_token", csrf);
        }
        for (key, value) in fields {
            encoder.append_pair(key, value);
        }
        self.send(
            Method::POST,
            uri,
            auth,
            Some(Body::from(encoder.finish())),
            Some("application/x-www-form-urlencoded"),
            &[],
        )
        .await
    }

    /// Signs in through the login form, as a browser would.
    pub async fn login(&self, email: &str, password: &str) -> Result<Auth, Reply> {
        let form = self.get("/login", &Auth::None).await;
        assert_eq!(form.status, StatusCode::OK);
        let login_csrf = form
            .cookie("adpool_login_csrf")
            .expect("login form sets its CSRF cookie");
        assert!(
            form.body.contains(&login_csrf),
            "the form carries the same CSRF value"
        );
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("email", email)
            .append_pair("password", password)
            .append_pair("csrf_token", &login_csrf)
            .append_pair("next", "/")
            .finish();
        let cookie = format!("adpool_login_csrf={login_csrf}");
        let reply = self
            .send(
                Method::POST,
                "/login",
                &Auth::None,
                Some(Body::from(body)),
                Some("application/x-www-form-urlencoded"),
                &[("cookie", &cookie)],
            )
            .await;
        if reply.status != StatusCode::SEE_OTHER {
            return Err(reply);
        }
        let session = reply.cookie("adpool_session").expect("a session cookie");
        let set_cookie = reply
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
            "{set_cookie}"
        );
        let mut auth = Auth::Session {
            cookie: session,
            csrf: String::new(),
        };
        let page = self.get("/notifications", &auth).await;
        let csrf = page
            .body
            .split("name=\"csrf_token\" value=\"")
            .nth(1)
            .expect("pages embed the CSRF token")
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        if let Auth::Session { csrf: slot, .. } = &mut auth {
            *slot = csrf;
        }
        Ok(auth)
    }
}
