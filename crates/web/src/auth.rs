//! Who is calling: session cookies for people, bearer tokens for machines; and CSRF.
//!
//! The [`authenticate`] middleware resolves the caller once per request and stores it in the
//! request's extensions; the [`Caller`] and [`PageCaller`] extractors read it. Every
//! state-changing request authenticated by a session cookie must carry the session's CSRF token
//! (form field `csrf_token` or header `X-CSRF-Token`); bearer-token requests need none, because
//! a browser never attaches a bearer token by itself.

use adpool_accounts::{OrgId, Role, User};
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::{AppError, AppState, Lang};

/// The session cookie.
pub const SESSION_COOKIE: &str = "adpool_session";
/// The header carrying the CSRF token for scripts.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The double-submit cookie protecting the login form itself.
pub(crate) const LOGIN_CSRF_COOKIE: &str = "adpool_login_csrf";
/// Largest form body read for its CSRF field.
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum AuthVia {
    /// A browser session, with its CSRF token.
    Session {
        /// The token forms of this session must carry.
        csrf_token: String,
    },
    /// An API token.
    Token,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: User,
    /// How they authenticated.
    pub via: AuthVia,
}

impl Caller {
    /// The caller's organization: every query is scoped by it.
    pub fn org(&self) -> OrgId {
        self.user.org_id
    }

    /// The caller's role.
    pub fn role(&self) -> Role {
        self.user.role
    }

    /// Whether the caller may see the system's jobs and schedules: an admin of the
    /// organization that runs the deployment.
    pub fn sees_system_jobs(&self, config: &crate::WebConfig) -> bool {
        self.user.role.is_admin() && config.operator_org == Some(self.org())
    }

    /// 403 unless the caller is an admin.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.user.role.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// 403 for CPC advertisers: the organization's own data (sales, ad-log reports) is for its
    /// staff; advertisers see only their own advertiser account.
    pub fn require_staff(&self) -> Result<(), AppError> {
        if self.user.role == Role::Advertiser {
            Err(AppError::Forbidden)
        } else {
            Ok(())
        }
    }

    /// 403 unless the caller may operate (admin or operator).
    pub fn require_operator(&self) -> Result<(), AppError> {
        if self.user.role.can_operate() {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// 403 unless the caller may manage CPC campaigns and ads: operators and admins, and
    /// advertiser users (for their own advertiser, which the handler checks).
    pub fn require_ads_manager(&self) -> Result<(), AppError> {
        if self.user.role.can_operate() || self.user.role == Role::Advertiser {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// The CSRF token for forms (empty for token callers, who render no forms).
    pub fn csrf_token(&self) -> &str {
        match &self.via {
            AuthVia::Session { csrf_token } => csrf_token,
            AuthVia::Token => "",
        }
    }
}

/// The caller resolved by the middleware (absent when anonymous).
#[derive(Debug, Clone)]
struct Resolved(Option<Caller>);

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Resolved>()
            .and_then(|r| r.0.clone())
            .ok_or(AppError::Unauthorized)
    }
}

/// The caller of an HTML page: an anonymous visitor is sent to the login page instead.
#[derive(Debug, Clone)]
pub struct PageCaller(pub Caller);

impl FromRequestParts<AppState> for PageCaller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Resolved>().and_then(|r| r.0.clone()) {
            Some(caller) => Ok(PageCaller(caller)),
            None => {
                let next = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                let target = format!(
                    "/login?next={}",
                    url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                Err(Redirect::to(&target).into_response())
            }
        }
    }
}

/// Callers who must hold a standing, checked as extractors: axum runs them before the body is
/// read, so a caller without the standing gets 403 and never a validation error that would
/// tell them what the form expects. The API kinds answer JSON; the `Page…` kinds send an
/// anonymous visitor to the login page and show the error page.
macro_rules! standing {
    ($($(#[$doc:meta])* $api:ident, $page:ident, $check:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $api(pub Caller);

        impl FromRequestParts<AppState> for $api {
            type Rejection = AppError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                let caller = Caller::from_request_parts(parts, state).await?;
                caller.$check()?;
                Ok($api(caller))
            }
        }

        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $page(pub Caller);

        impl FromRequestParts<AppState> for $page {
            type Rejection = Response;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                let PageCaller(caller) = PageCaller::from_request_parts(parts, state).await?;
                caller
                    .$check()
                    .map_err(|e| crate::routes::PageError(e).into_response())?;
                Ok($page(caller))
            }
        }
    )*};
}

standing! {
    /// An admin of their organization.
    Admin, PageAdmin, require_admin;
    /// An admin or operator.
    Operator, PageOperator, require_operator;
    /// Anyone of the organization's staff (not a CPC advertiser).
    Staff, PageStaff, require_staff;
    /// Who may manage CPC campaigns and ads (not an analyst).
    AdsManager, PageAdsManager, require_ads_manager;
}

impl FromRequestParts<AppState> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Lang::from_headers(&parts.headers))
    }
}

/// Reads one cookie from the request headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"').to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path /, Secure when configured.
pub(crate) fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> String {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Compares secrets in time independent of where they first differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Resolves the caller and enforces CSRF on state-changing session requests.
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let resolved = if let Some(token) = bearer(headers) {
        match state.accounts.api_token_user(token).await {
            Ok(user) => user.map(|user| Caller {
                user,
                via: AuthVia::Token,
            }),
            Err(error) => return AppError::from(error).into_response(),
        }
    } else if let Some(token) = cookie(headers, SESSION_COOKIE) {
        match state.accounts.session(&token).await {
            Ok(session) => session.map(|s| Caller {
                user: s.user,
                via: AuthVia::Session {
                    csrf_token: s.csrf_token,
                },
            }),
            Err(error) => return AppError::from(error).into_response(),
        }
    } else {
        None
    };
    let mut request = request;
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if let (
        true,
        Some(Caller {
            via: AuthVia::Session { csrf_token },
            ..
        }),
    ) = (unsafe_method, &resolved)
    {
        match check_csrf(request, csrf_token).await {
            Ok(checked) => request = checked,
            Err(response) => return response,
        }
    }
    request.extensions_mut().insert(Resolved(resolved));
    next.run(request).await
}

/// Passes the request on when it carries `expected` in the CSRF header or form field.
async fn check_csrf(request: Request, expected: &str) -> Result<Request, Response> {
    if let Some(sent) = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        return if same_secret(sent, expected) {
            Ok(request)
        } else {
            Err(AppError::Csrf.into_response())
        };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let from_query = request
        .uri()
        .query()
        .and_then(|q| form_field(q.as_bytes(), "csrf_token"));
    if !is_form {
        // Multipart uploads carry the token in the action URL's query.
        return match from_query {
            Some(sent) if same_secret(&sent, expected) => Ok(request),
            _ => Err(AppError::Csrf.into_response()),
        };
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| {
        AppError::TooLarge(format!("form body larger than {MAX_FORM_BYTES} bytes")).into_response()
    })?;
    match form_field(&bytes, "csrf_token") {
        Some(sent) if same_secret(&sent, expected) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(AppError::Csrf.into_response()),
    }
}

pub(crate) fn form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The client address that login throttling and the rate limits count against.
///
/// With `trust_forwarded_for` (adpool behind a load balancer or reverse proxy that appends the
/// address it saw), it is the last `X-Forwarded-For` entry: the one the trusted proxy wrote,
/// which a client cannot forge. Otherwise the TCP peer; X-Forwarded-For's first entry only
/// when there is no peer at all (tests, a proxy on the same host through a socket).
pub(crate) fn client_ip(
    headers: &HeaderMap,
    connect_info: Option<std::net::SocketAddr>,
    trust_forwarded_for: bool,
) -> String {
    if trust_forwarded_for
        && let Some(last) = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| !v.is_empty())
    {
        return last.to_owned();
    }
    match connect_info {
        Some(addr) => addr.ip().to_string(),
        None => headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map_or_else(|| "unknown".to_owned(), |v| v.trim().to_owned()),
    }
}

/// A fresh random value for the login form's double-submit cookie.
pub(crate) fn new_login_csrf() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_client_address_is_the_peer_unless_a_trusted_proxy_wrote_it() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.1.1.1, 203.0.113.5"),
        );
        let peer = Some("10.0.0.2:4000".parse().unwrap());
        assert_eq!(
            client_ip(&headers, peer, false),
            "10.0.0.2",
            "a client may forge XFF"
        );
        assert_eq!(
            client_ip(&headers, peer, true),
            "203.0.113.5",
            "the entry the trusted proxy appended, not the forgeable first one"
        );
        assert_eq!(client_ip(&headers, None, false), "1.1.1.1");
        assert_eq!(client_ip(&HeaderMap::new(), peer, true), "10.0.0.2");
    }

    #[test]
    fn cookies_and_bearer_tokens_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; adpool_session=abc; b=2"),
        );
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer adp_x"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
        assert_eq!(bearer(&headers), Some("adp_x"));
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("", ""));
        assert_eq!(
            form_field(b"x=1&csrf_token=t%2B1", "csrf_token").as_deref(),
            Some("t+1")
        );
    }
}
