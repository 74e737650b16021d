//! In-app notifications, optionally also POSTed to the organization's webhook.

use adpool_core::{OrgId, UserId};
use adpool_store::DbTx;
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::worker::{BoxFuture, JobContext, JobHandler};
use crate::{JobError, Jobs, JobsError, NewJob};

/// The job kind that delivers a notification to a webhook.
pub const WEBHOOK_JOB_KIND: &str = "notification.webhook";

/// How important a notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// For information.
    Info,
    /// Something finished well.
    Success,
    /// Something needs a look.
    Warning,
    /// Something failed.
    Error,
}

impl Level {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Success => "success",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }

    fn parse(text: &str) -> Level {
        match text {
            "success" => Level::Success,
            "warning" => Level::Warning,
            "error" => Level::Error,
            _ => Level::Info,
        }
    }
}

/// A notification as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    /// Its id.
    pub id: i64,
    /// Its organization.
    pub org_id: OrgId,
    /// The one user it is for; `None`: everyone in the organization.
    pub user_id: Option<UserId>,
    /// Importance.
    pub level: Level,
    /// Headline.
    pub title: String,
    /// Details.
    pub body: String,
    /// Where to look, e.g. `/jobs/12`.
    pub link: Option<String>,
    /// When (UTC ms).
    pub created_at: i64,
    /// When it was read (UTC ms).
    pub read_at: Option<i64>,
}

const COLUMNS: &str = "id, org_id, user_id, level, title, body, link, created_at, read_at";

impl Notification {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let level: String = row.try_get("level")?;
        Ok(Notification {
            id: row.try_get("id")?,
            org_id: OrgId(row.try_get("org_id")?),
            user_id: row.try_get::<Option<i64>, _>("user_id")?.map(UserId),
            level: Level::parse(&level),
            title: row.try_get("title")?,
            body: row.try_get("body")?,
            link: row.try_get("link")?,
            created_at: row.try_get("created_at")?,
            read_at: row.try_get("read_at")?,
        })
    }
}

/// A notification to send.
#[derive(Debug, Clone)]
pub struct NewNotification {
    /// Organization.
    pub org_id: OrgId,
    /// One user, or everyone in the organization.
    pub user_id: Option<UserId>,
    /// Importance.
    pub level: Level,
    /// Headline.
    pub title: String,
    /// Details.
    pub body: String,
    /// Where to look.
    pub link: Option<String>,
}

impl NewNotification {
    /// A notification for everyone in `org`.
    pub fn new(
        org: OrgId,
        level: Level,
        title: impl Into<String>,
        body: impl Into<String>,
    ) -> Self {
        NewNotification {
            org_id: org,
            user_id: None,
            level,
            title: title.into(),
            body: body.into(),
            link: None,
        }
    }

    /// Only for `user`.
    pub fn for_user(mut self, user: UserId) -> Self {
        self.user_id = Some(user);
        self
    }

    /// With a link.
    pub fn link(mut self, link: impl Into<String>) -> Self {
        self.link = Some(link.into());
        self
    }
}

/// Sending and reading notifications.
#[derive(Clone, Debug)]
pub struct Notifications {
    jobs: Jobs,
}

impl Notifications {
    /// Notifications stored beside `jobs`' queue (webhook deliveries are jobs).
    pub fn new(jobs: Jobs) -> Self {
        Notifications { jobs }
    }

    /// Sends a notification in its own transaction.
    pub async fn notify(&self, notice: NewNotification) -> Result<i64, JobsError> {
        let mut tx = self.jobs.db.begin_write().await?;
        let id = self.notify_in(&mut tx, notice).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Sends a notification inside the caller's transaction; when the organization has a
    /// webhook URL, a delivery job is enqueued in the same transaction.
    pub async fn notify_in(
        &self,
        tx: &mut DbTx,
        notice: NewNotification,
    ) -> Result<i64, JobsError> {
        let now = self.jobs.clock.now_millis();
        let id: i64 = sqlx::query(
            "INSERT INTO notifications (org_id, user_id, level, title, body, link, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(notice.org_id.get())
        .bind(notice.user_id.map(UserId::get))
        .bind(notice.level.as_str())
        .bind(&notice.title)
        .bind(&notice.body)
        .bind(&notice.link)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?
        .try_get("id")?;
        let webhook: Option<String> =
            sqlx::query("SELECT webhook_url FROM organizations WHERE id = $1")
                .bind(notice.org_id.get())
                .fetch_optional(&mut **tx)
                .await?
                .map(|row| row.try_get("webhook_url"))
                .transpose()?
                .flatten();
        if webhook.is_some() {
            let job = NewJob::new(WEBHOOK_JOB_KIND, json!({ "notification_id": id }))
                .for_org(notice.org_id)
                .max_attempts(6)
                .dedupe_key(format!("webhook:{id}"));
            self.jobs.enqueue_in(tx, job).await?;
        }
        Ok(id)
    }

    /// Notifications `user` of `org` can see (their own and organization-wide), newest first.
    pub async fn list(
        &self,
        org: OrgId,
        user: UserId,
        unread_only: bool,
        limit: i64,
    ) -> Result<Vec<Notification>, JobsError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM notifications
             WHERE org_id = $1 AND (user_id IS NULL OR user_id = $2) AND ($3 = 0 OR read_at IS NULL)
             ORDER BY id DESC LIMIT $4"
        )))
        .bind(org.get())
        .bind(user.get())
        .bind(i64::from(unread_only))
        .bind(limit.clamp(1, 500))
        .fetch_all(self.jobs.db.pool())
        .await?;
        Ok(rows
            .iter()
            .map(Notification::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// How many unread notifications `user` has.
    pub async fn unread_count(&self, org: OrgId, user: UserId) -> Result<i64, JobsError> {
        Ok(sqlx::query(
            "SELECT COUNT(*) FROM notifications WHERE org_id = $1 AND (user_id IS NULL OR user_id = $2) AND read_at IS NULL",
        )
        .bind(org.get())
        .bind(user.get())
        .fetch_one(self.jobs.db.pool())
        .await?
        .try_get(0)?)
    }

    /// Marks one notification read; another organization's or user's is not found.
    pub async fn mark_read(&self, org: OrgId, user: UserId, id: i64) -> Result<(), JobsError> {
        let now = self.jobs.clock.now_millis();
        let updated = sqlx::query(
            "UPDATE notifications SET read_at = COALESCE(read_at, $1)
             WHERE id = $2 AND org_id = $3 AND (user_id IS NULL OR user_id = $4)",
        )
        .bind(now)
        .bind(id)
        .bind(org.get())
        .bind(user.get())
        .execute(self.jobs.db.pool())
        .await?
        .rows_affected();
        if updated == 0 {
            Err(JobsError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Marks every notification of `user` read; returns how many changed.
    pub async fn mark_all_read(&self, org: OrgId, user: UserId) -> Result<u64, JobsError> {
        let now = self.jobs.clock.now_millis();
        Ok(sqlx::query(
            "UPDATE notifications SET read_at = $1 WHERE org_id = $2 AND (user_id IS NULL OR user_id = $3) AND read_at IS NULL",
        )
        .bind(now)
        .bind(org.get())
        .bind(user.get())
        .execute(self.jobs.db.pool())
        .await?
        .rows_affected())
    }
}

/// Delivers a notification to its organization's webhook URL as a JSON POST.
#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    client: reqwest::Client,
    rules: adpool_outbound::OutboundRules,
}

impl Default for WebhookDelivery {
    /// Delivers to public hosts only.
    fn default() -> Self {
        WebhookDelivery::new(adpool_outbound::OutboundRules::default())
    }
}

impl WebhookDelivery {
    /// Delivers to the hosts `rules` allow.
    pub fn new(rules: adpool_outbound::OutboundRules) -> Self {
        WebhookDelivery {
            client: crate::webhook_post::client(&rules),
            rules,
        }
    }
}

impl JobHandler for WebhookDelivery {
    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
    ) -> BoxFuture<'a, Result<Option<serde_json::Value>, JobError>> {
        Box::pin(async move {
            let id = ctx.job.payload["notification_id"]
                .as_i64()
                .ok_or_else(|| JobError::permanent("payload has no notification_id"))?;
            let db = ctx.jobs().db();
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT n.{}, o.webhook_url FROM notifications n JOIN organizations o ON o.id = n.org_id WHERE n.id = $1",
                COLUMNS.replace(", ", ", n.")
            )))
            .bind(id)
            .fetch_optional(db.pool())
            .await?
            .ok_or_else(|| JobError::permanent(format!("notification {id} no longer exists")))?;
            let notification = Notification::from_row(&row)?;
            let Some(url) = row.try_get::<Option<String>, _>("webhook_url")? else {
                return Ok(Some(
                    json!({ "skipped": "the organization no longer has a webhook URL" }),
                ));
            };
            let request = self
                .client
                .post(&url)
                .json(&json!({ "type": "notification", "notification": notification }));
            crate::webhook_post::send(&self.rules, &url, request).await
        })
    }
}
