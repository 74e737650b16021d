//! Spending-insight pages: `/insights` (upload a statement, uploads, analyses, uncategorized
//! merchants with overrides, rules, saved mappings), the preview before an import (with the
//! column-mapping step for unknown layouts), `/insights/analyses/{id}` (the report, segments,
//! and messages written, edited and copied), and `/api/v1/insight/...`.

use adpool_core::OrgId;
use adpool_insight::analysis::{Report, segment_label};
use adpool_insight::categories::{CATEGORIES, label};
use adpool_insight::messages::{Channel, MessageRequest, Tone};
use adpool_insight::statement::ColumnMapping;
use adpool_insight::{ImportSummary, InsightError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use minijinja::context;
use serde::Deserialize;

use super::inventory::MAX_UPLOAD_BYTES;
use super::{Flash, PageError, back_to, see_other, with_flash};
use crate::auth::PageCaller;
use crate::auth::{Operator, PageOperator, PageStaff, Staff};
use crate::render::page;
use crate::{AppError, AppState, Caller, Lang};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/insights", get(overview))
        .route(
            "/insights/preview",
            post(preview_upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/insights/map", post(map_columns))
        .route("/insights/import", post(import_pending))
        .route("/insights/rules", post(add_rule))
        .route("/insights/rules/{id}/delete", post(delete_rule))
        .route("/insights/analyses", post(start_analysis))
        .route("/insights/analyses/{id}", get(analysis_page))
        .route("/insights/analyses/{id}/messages", post(write_messages))
        .route("/insights/messages/{id}", post(edit_message))
}

fn korean(lang: Lang) -> bool {
    lang == Lang::Ko
}

fn category_options(lang: Lang) -> Vec<minijinja::Value> {
    CATEGORIES
        .iter()
        .map(|(id, ko, en)| context! { key => id, label => if korean(lang) { ko } else { en } })
        .collect()
}

// ---- pending uploads: the file waits on disk between the preview and the import ------------

use crate::uploads::pending_folder;

/// Keeps an uploaded file for an hour under a random token bound to the organization.
fn keep_pending(org: OrgId, name: &str, bytes: &[u8]) -> Result<String, AppError> {
    let folder = pending_folder();
    std::fs::create_dir_all(&folder).map_err(|e| AppError::Internal(e.to_string()))?;
    // Old previews nobody confirmed (and uploads a dead process left).
    crate::uploads::remove_orphaned_uploads(
        std::time::SystemTime::now() - crate::uploads::ORPHAN_AGE,
    );
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).map_err(|e| AppError::Internal(e.to_string()))?;
    let token = hex::encode(random);
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    std::fs::write(folder.join(format!("{}-{token}-{safe}", org.get())), bytes)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(token)
}

/// The file kept under `token` for `org`: (name, bytes).
fn take_pending(org: OrgId, token: &str) -> Result<(String, Vec<u8>), AppError> {
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::Validation {
            field: "token".into(),
            message: "this preview is not known: upload the file again".into(),
        });
    }
    let prefix = format!("{}-{token}-", org.get());
    let entry = std::fs::read_dir(pending_folder())
        .ok()
        .and_then(|entries| {
            entries
                .flatten()
                .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        })
        .ok_or_else(|| AppError::Validation {
            field: "token".into(),
            message: "this preview has expired (an hour) or was imported: upload the file again"
                .into(),
        })?;
    let name = entry.file_name().to_string_lossy()[prefix.len()..].to_owned();
    let bytes = std::fs::read(entry.path()).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((name, bytes))
}

fn drop_pending(org: OrgId, token: &str) {
    let prefix = format!("{}-{token}-", org.get());
    if let Ok(entries) = std::fs::read_dir(pending_folder()) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// The `file` field (and the optional `mapping` field) of a multipart form.
async fn read_upload(
    mut multipart: Multipart,
) -> Result<(String, Vec<u8>, Option<String>), AppError> {
    let mut file = None;
    let mut mapping = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::unreadable_body(e.status(), e.body_text()))?
    {
        match field.name() {
            Some("file") => {
                let name = super::inventory::upload_file_name(&field);
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| AppError::unreadable_body(e.status(), e.body_text()))?;
                file = Some((name, bytes.to_vec()));
            }
            Some("mapping") => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| AppError::unreadable_body(e.status(), e.body_text()))?;
                mapping = Some(text).filter(|t| !t.trim().is_empty());
            }
            _ => {}
        }
    }
    match file {
        Some((name, bytes)) if !name.is_empty() && !bytes.is_empty() => Ok((name, bytes, mapping)),
        _ => Err(AppError::Validation {
            field: "file".into(),
            message: "choose a statement file (.csv, .xlsx, .xls or .txt)".into(),
        }),
    }
}

// ---- pages -------------------------------------------------------------------------------

async fn overview(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    lang: Lang,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    render_overview(&state, &caller, lang, flash.context(), StatusCode::OK).await
}

async fn render_overview(
    state: &AppState,
    caller: &Caller,
    lang: Lang,
    extra: minijinja::Value,
    status: StatusCode,
) -> Result<Response, PageError> {
    caller.require_staff()?;
    let org = caller.org();
    let insight = &state.insight;
    let span = insight.span(org).await.map_err(AppError::from)?;
    let recent = insight
        .transactions(org, None, None, None, 15)
        .await
        .map_err(AppError::from)?;
    let uncategorized = insight
        .uncategorized_merchants(org, 15)
        .await
        .map_err(AppError::from)?;
    let k = korean(lang);
    let extra = context! { ..extra, ..context! {
        span => span.map(|(a, b)| format!("{a} ~ {b}")),
        uploads => insight.uploads(org).await.map_err(AppError::from)?,
        analyses => insight.analyses(org).await.map_err(AppError::from)?,
        rules => insight.rules(org).await.map_err(AppError::from)?.into_iter().map(|r| context! { id => r.id, keyword => r.keyword, category => label(&r.category, k) }).collect::<Vec<_>>(),
        mappings => insight.mappings(org).await.map_err(AppError::from)?,
        uncategorized => uncategorized.into_iter().map(|(m, spend, n)| context! { merchant => m, spend => spend, lines => n }).collect::<Vec<_>>(),
        recent => recent.into_iter().map(|t| context! { day => t.day, merchant => t.merchant, amount => t.amount, kind => t.kind, installment => t.installment_months, category => label(&t.category, k), source => t.category_source }).collect::<Vec<_>>(),
        categories => category_options(lang),
        llm => insight.llm_configured(),
    } };
    let mut response = page(state, caller, lang, "insights.html", "insights", extra)
        .await?
        .into_response();
    *response.status_mut() = status;
    Ok(response)
}

fn preview_context(lang: Lang, summary: &ImportSummary) -> minijinja::Value {
    let k = korean(lang);
    context! {
        summary => summary,
        sample => summary.sample.iter().map(|l| context! { row => l.row, day => l.day, merchant => l.merchant, amount => l.amount, kind => l.kind, installment => l.installment_months, category => label(&l.category, k), duplicate => l.duplicate }).collect::<Vec<_>>(),
        mapped => summary.mapping.fields().into_iter().map(|(f, h)| context! { field => f, header => h }).collect::<Vec<_>>(),
    }
}

/// Shows the preview of `bytes` (kept under `token`), or the mapping step, or the error.
async fn render_preview(
    state: &AppState,
    caller: &Caller,
    lang: Lang,
    token: &str,
    name: &str,
    bytes: &[u8],
    mapping: Option<&str>,
) -> Result<Response, PageError> {
    let org = caller.org();
    let base = context! { token => token, file_name => name, mapping_name => mapping };
    let (extra, status) = match state.insight.preview(org, name, bytes, mapping).await {
        Ok(summary) => (
            context! { ..base, ..preview_context(lang, &summary) },
            StatusCode::OK,
        ),
        Err(InsightError::UnknownLayout {
            row, candidates, ..
        }) => (
            context! { ..base, ..context! {
                unknown => true, header_row => row, candidates => candidates,
                fields => ["date", "merchant", "amount", "industry", "cancel", "installment", "customer", "card", "approval"],
                required => ["date", "merchant", "amount"],
            } },
            StatusCode::OK,
        ),
        Err(error) => {
            drop_pending(org, token);
            let error = AppError::from(error);
            let (message, details) = match error {
                AppError::InvalidFile { message, details } => (message, Some(details)),
                AppError::Validation { message, .. } => (message, None),
                AppError::NotFound => ("that mapping does not exist".to_owned(), None),
                other => return Err(PageError(other)),
            };
            return render_overview(
                state,
                caller,
                lang,
                context! { upload_error => message, upload_details => details },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let mut response = page(
        state,
        caller,
        lang,
        "insight_preview.html",
        "insights",
        extra,
    )
    .await?
    .into_response();
    *response.status_mut() = status;
    Ok(response)
}

async fn preview_upload(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let (name, bytes, mapping) = match read_upload(multipart).await {
        Ok(upload) => upload,
        Err(AppError::Validation { message, .. }) => {
            return render_overview(
                &state,
                &caller,
                lang,
                context! { upload_error => message },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(error) => return Err(PageError(error)),
    };
    let token = keep_pending(caller.org(), &name, &bytes)?;
    render_preview(
        &state,
        &caller,
        lang,
        &token,
        &name,
        &bytes,
        mapping.as_deref(),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct MapForm {
    token: String,
    name: String,
    date: String,
    merchant: String,
    amount: String,
    #[serde(default)]
    industry: String,
    #[serde(default)]
    cancel: String,
    #[serde(default)]
    installment: String,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    card: String,
    #[serde(default)]
    approval: String,
}

/// The mapping step: saves the columns under a name and previews the file with them.
async fn map_columns(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
    Form(form): Form<MapForm>,
) -> Result<Response, PageError> {
    let (name, bytes) = take_pending(caller.org(), &form.token)?;
    let optional = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let mapping = ColumnMapping {
        date: form.date.trim().into(),
        merchant: form.merchant.trim().into(),
        amount: form.amount.trim().into(),
        industry: optional(&form.industry),
        cancel: optional(&form.cancel),
        installment: optional(&form.installment),
        customer: optional(&form.customer),
        card: optional(&form.card),
        approval: optional(&form.approval),
    };
    state
        .insight
        .save_mapping(caller.org(), &form.name, &mapping, Some(caller.user.id))
        .await
        .map_err(AppError::from)?;
    render_preview(
        &state,
        &caller,
        lang,
        &form.token,
        &name,
        &bytes,
        Some(form.name.trim()),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct ImportForm {
    token: String,
    #[serde(default)]
    mapping: String,
}

async fn import_pending(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
    Form(form): Form<ImportForm>,
) -> Result<Response, PageError> {
    let (name, bytes) = take_pending(caller.org(), &form.token)?;
    let mapping = Some(form.mapping.as_str()).filter(|m| !m.trim().is_empty());
    match state
        .insight
        .import(caller.org(), &name, &bytes, mapping, Some(caller.user.id))
        .await
    {
        Ok(summary) => {
            drop_pending(caller.org(), &form.token);
            Ok(see_other(&with_flash(
                "/insights",
                "flash",
                &crate::i18n::translate(lang, "insight.imported")
                    .replace("{name}", &name)
                    .replace("{new}", &summary.new_lines.to_string())
                    .replace("{duplicates}", &summary.duplicates.to_string())
                    .replace("{skipped}", &summary.totals_skipped.to_string()),
            )))
        }
        Err(error) => {
            let error = AppError::from(error);
            match error {
                AppError::InvalidFile { message, details } => {
                    render_overview(
                        &state,
                        &caller,
                        lang,
                        context! { upload_error => message, upload_details => details },
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await
                }
                other => Err(PageError(other)),
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct RuleForm {
    keyword: String,
    category: String,
}

async fn add_rule(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    Form(form): Form<RuleForm>,
) -> Result<Response, PageError> {
    let result = state
        .insight
        .set_rule(
            caller.org(),
            &form.keyword,
            &form.category,
            Some(caller.user.id),
        )
        .await;
    back_to("/insights", result, |changed| {
        format!(
            "'{}' → {}: {changed} transactions recategorized",
            form.keyword.trim(),
            form.category
        )
    })
}

async fn delete_rule(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let result = state.insight.delete_rule(caller.org(), id).await;
    back_to("/insights", result, |changed| {
        format!("rule removed: {changed} transactions recategorized")
    })
}

#[derive(Debug, Deserialize)]
struct AnalysisForm {
    /// `statement` (uploaded card statements, the default) or `shop` (the organization's
    /// own shop orders).
    #[serde(default)]
    source: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

async fn start_analysis(
    State(state): State<AppState>,
    PageStaff(caller): PageStaff,
    Form(form): Form<AnalysisForm>,
) -> Result<Response, PageError> {
    let result = async {
        let source = match form.source.as_str() {
            "" => adpool_insight::Source::Statements,
            word => adpool_insight::Source::parse(word).ok_or_else(|| AppError::Validation {
                field: "source".into(),
                message: format!("'{word}' is not statement or shop"),
            })?,
        };
        if source == adpool_insight::Source::ShopOrders {
            take_shop_orders(&state, &caller).await?;
        }
        Ok::<_, AppError>(
            state
                .insight
                .request_analysis_of(
                    caller.org(),
                    source,
                    Some(&form.from),
                    Some(&form.to),
                    Some(caller.user.id),
                )
                .await?,
        )
    }
    .await;
    match result {
        Ok((id, _)) => {
            state.worker_wake.notify_one();
            Ok(see_other(&format!("/insights/analyses/{id}")))
        }
        Err(error) => back_to("/insights", Err::<(), _>(error), |()| String::new()),
    }
}

/// Takes the organization's shop orders (lines that are sales, with a customer) into spending
/// insight as of now, replacing those taken before: orders settle, so every analysis of shop
/// orders starts from their current state.
async fn take_shop_orders(state: &AppState, caller: &Caller) -> Result<u64, AppError> {
    let label = format!(
        "shop orders {}",
        adpool_core::format_kst_datetime(state.clock.now_millis())
    );
    take_shop_purchases(
        &state.shops,
        &state.insight,
        caller.org(),
        &label,
        Some(caller.user.id),
    )
    .await
}

/// The one bridge from shop data to spending insight: the organization's sale lines with a
/// customer ([`adpool_commerce::Shops::customer_purchases`]) taken in as insight's shop
/// purchases under `label`. Used by the insights page and the demo.
pub async fn take_shop_purchases(
    shops: &adpool_commerce::Shops,
    insight: &adpool_insight::Insight,
    org: adpool_core::OrgId,
    label: &str,
    user: Option<adpool_core::UserId>,
) -> Result<u64, AppError> {
    let purchases: Vec<adpool_insight::ShopPurchase> = shops
        .customer_purchases(org)
        .await?
        .into_iter()
        .map(|p| adpool_insight::ShopPurchase {
            key: p.key,
            customer: p.customer,
            day: p.day,
            product: p.product,
            category: p.category,
            amount: p.amount,
        })
        .collect();
    Ok(insight
        .take_shop_purchases(org, label, &purchases, user)
        .await?)
}

/// Horizontal bars: (label, value, width in percent of the largest).
fn bars(items: impl Iterator<Item = (String, i64)>) -> Vec<minijinja::Value> {
    let items: Vec<(String, i64)> = items.collect();
    let top = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    items
        .into_iter()
        .map(|(l, v)| context! { label => l, value => v, width => format!("{:.1}", (v.max(0) as f64) / top as f64 * 100.0) })
        .collect()
}

fn report_context(lang: Lang, report: &Report) -> minijinja::Value {
    let k = korean(lang);
    let pct = |share: f64| format!("{:.1}%", share * 100.0);
    context! {
        report => report,
        installment_share => pct(report.installment_share),
        uncategorized_share => pct(report.uncategorized_share),
        by_category => report.by_category.iter().map(|c| context! { label => label(&c.key, k), spend => c.spend, count => c.count, share => pct(c.share) }).collect::<Vec<_>>(),
        category_bars => bars(report.by_category.iter().map(|c| (label(&c.key, k).to_owned(), c.spend))),
        month_bars => bars(report.by_month.iter().map(|m| (m.key.clone(), m.spend))),
        months => report.by_month.iter().map(|m| context! { month => m.key, spend => m.spend, count => m.count, change => m.change_pct.map(|p| format!("{p:+.1}%")), covered_days => m.covered_days }).collect::<Vec<_>>(),
        last_months_partial => report.last_months_partial,
        merchants => report.top_merchants.iter().map(|m| context! { merchant => m.key, spend => m.spend, count => m.count, category => m.category.as_deref().map(|c| label(c, k)) }).collect::<Vec<_>>(),
        mom => report.month_over_month.iter().take(8).map(|c| context! { label => label(&c.category, k), previous => c.previous, last => c.last, change => c.change_pct.map(|p| format!("{p:+.1}%")), up => c.last >= c.previous }).collect::<Vec<_>>(),
        segments => report.segments.iter().map(|s| context! {
            key => s.key, label => segment_label(&s.key, k), customers => s.customers, spend => s.spend,
            average_spend => s.average_spend, frequency => format!("{:.1}", s.average_frequency),
            recency => format!("{:.0}", s.average_recency_days),
            categories => s.top_categories.iter().map(|c| label(c, k)).collect::<Vec<_>>().join(", "),
        }).collect::<Vec<_>>(),
    }
}

async fn analysis_page(
    State(state): State<AppState>,
    PageStaff(caller): PageStaff,
    lang: Lang,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    let analysis = state
        .insight
        .analysis(caller.org(), id)
        .await
        .map_err(AppError::from)?;
    let messages = state
        .insight
        .messages(caller.org(), id)
        .await
        .map_err(AppError::from)?;
    let k = korean(lang);
    let report = analysis.report.as_ref().map(|r| report_context(lang, r));
    let segment_options: Vec<minijinja::Value> = analysis
        .report
        .iter()
        .flat_map(|r| r.segments.iter())
        .map(|s| context! { key => s.key, label => segment_label(&s.key, k) })
        .collect();
    let extra = context! { ..flash.context(), ..context! {
        analysis => analysis, data => report, in_progress => !matches!(analysis.state.as_str(), "done" | "failed"),
        messages => messages.iter().map(|m| context! {
            id => m.id, body => m.body, channel => m.channel, tone => m.tone, lang => m.lang, size => m.size, limit => m.limit,
            unit => if matches!(m.channel.as_str(), "sms" | "lms") { "bytes" } else { "chars" },
            source => m.source, note => m.note, created_at => m.created_at, edited_at => m.edited_at,
            segment => m.segment.as_deref().map(|s| segment_label(s, k)),
        }).collect::<Vec<_>>(),
        segment_options => segment_options,
        channels => Channel::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        tones => Tone::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        llm => state.insight.llm_configured(),
    } };
    Ok(page(
        &state,
        &caller,
        lang,
        "insight_analysis.html",
        "insights",
        extra,
    )
    .await?
    .into_response())
}

#[derive(Debug, Deserialize)]
struct MessagesForm {
    #[serde(default)]
    segment: String,
    channel: String,
    tone: String,
    lang: String,
    count: String,
}

fn message_request(
    segment: Option<String>,
    channel: &str,
    tone: &str,
    lang: &str,
    count: usize,
) -> Result<MessageRequest, AppError> {
    Ok(MessageRequest {
        segment: segment.filter(|s| !s.trim().is_empty()),
        channel: Channel::parse(channel).ok_or_else(|| AppError::Validation {
            field: "channel".into(),
            message: format!("'{channel}' is not sms, lms, kakao or push"),
        })?,
        tone: Tone::parse(tone).ok_or_else(|| AppError::Validation {
            field: "tone".into(),
            message: format!("'{tone}' is not friendly, formal, playful or urgent"),
        })?,
        lang: lang.trim().to_owned(),
        count,
    })
}

async fn write_messages(
    State(state): State<AppState>,
    PageStaff(caller): PageStaff,
    Path(id): Path<i64>,
    Form(form): Form<MessagesForm>,
) -> Result<Response, PageError> {
    let path = format!("/insights/analyses/{id}");
    let result = async {
        let count = form
            .count
            .trim()
            .parse::<usize>()
            .map_err(|_| AppError::Validation {
                field: "count".into(),
                message: format!("'{}' is not a number of messages", form.count),
            })?;
        let request = message_request(
            Some(form.segment.clone()),
            &form.channel,
            &form.tone,
            &form.lang,
            count,
        )?;
        state
            .insight
            .write_messages(caller.org(), id, &request, Some(caller.user.id))
            .await
            .map_err(AppError::from)
    }
    .await;
    back_to(&path, result, |written| {
        let note = written
            .iter()
            .find_map(|m| m.note.clone())
            .unwrap_or_default();
        format!(
            "{} messages written ({}). {note}",
            written.len(),
            written.first().map_or("", |m| m.source.as_str())
        )
    })
}

#[derive(Debug, Deserialize)]
struct EditForm {
    body: String,
    analysis_id: i64,
}

async fn edit_message(
    State(state): State<AppState>,
    PageStaff(caller): PageStaff,
    Path(id): Path<i64>,
    Form(form): Form<EditForm>,
) -> Result<Response, PageError> {
    let result = state
        .insight
        .edit_message(caller.org(), id, &form.body)
        .await;
    back_to(
        &format!("/insights/analyses/{}", form.analysis_id),
        result,
        |m| format!("message {} saved ({} / {})", m.id, m.size, m.limit),
    )
}

// ---- API -----------------------------------------------------------------------------------

/// `/api/v1/insight/...`.
pub(super) fn api_router() -> Router<AppState> {
    Router::new()
        .route(
            "/insight/imports",
            post(api_import).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/insight/uploads", get(api_uploads))
        .route("/insight/transactions", get(api_transactions))
        .route("/insight/rules", get(api_rules).post(api_add_rule))
        .route(
            "/insight/mappings",
            get(api_mappings).post(api_save_mapping),
        )
        .route(
            "/insight/analyses",
            get(api_analyses).post(api_start_analysis),
        )
        .route("/insight/analyses/{id}", get(api_analysis))
        .route(
            "/insight/analyses/{id}/messages",
            get(api_messages).post(api_write_messages),
        )
        .route("/insight/messages/{id}", patch(api_edit_message))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct ImportQuery {
    /// The file's name (its extension picks CSV/TXT or XLSX/XLS).
    #[param(pattern = "[^\\s\\u0085]")]
    file_name: String,
    /// A saved mapping to read it with.
    mapping: Option<String>,
    /// Only preview: change nothing.
    #[serde(default)]
    dry_run: bool,
}

#[utoipa::path(post, path = "/api/v1/insight/imports", tag = "insight", params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the statement file, any encoding"),
    responses((status = 201, description = "imported: counts of new and duplicate lines", body = Object), (status = 200, description = "dry run: what an import would do", body = Object),
        (status = 422, description = "unreadable lines (each named), an unknown layout (with the likely header), or an unreadable file; nothing imported", body = crate::ErrorBody)))]
pub(crate) async fn api_import(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Query(query): Query<ImportQuery>,
    body: Bytes,
) -> Result<Response, AppError> {
    if query.dry_run {
        let summary = state
            .insight
            .preview(
                caller.org(),
                &query.file_name,
                &body,
                query.mapping.as_deref(),
            )
            .await?;
        return Ok(axum::Json(summary).into_response());
    }
    let summary = state
        .insight
        .import(
            caller.org(),
            &query.file_name,
            &body,
            query.mapping.as_deref(),
            Some(caller.user.id),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(summary)).into_response())
}

#[utoipa::path(get, path = "/api/v1/insight/uploads", tag = "insight",
    responses((status = 200, description = "imported files, newest first", body = [Object])))]
pub(crate) async fn api_uploads(
    State(state): State<AppState>,
    Staff(caller): Staff,
) -> Result<Response, AppError> {
    Ok(axum::Json(state.insight.uploads(caller.org()).await?).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct TransactionsQuery {
    /// First day (YYYY-MM-DD).
    #[param(schema_with = super::api_words::optional_day)]
    from: Option<String>,
    /// Last day.
    #[param(schema_with = super::api_words::optional_day)]
    to: Option<String>,
    /// Only this category id.
    #[param(schema_with = super::api_words::or_empty::<super::api_words::CategoryWord>)]
    category: Option<String>,
    /// At most this many: 500 by default, taken as 1 to 10,000.
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/insight/transactions", tag = "insight", params(TransactionsQuery),
    responses((status = 200, description = "transactions, newest first", body = [Object]), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn api_transactions(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Query(query): Query<TransactionsQuery>,
) -> Result<Response, AppError> {
    // The project's day parser; an absent day leaves that end of the range open.
    let day = |text: Option<&str>| {
        text.filter(|t| !t.trim().is_empty())
            .map(|t| super::cpc_api::day_or_today(&state, Some(t)))
            .transpose()
    };
    let category = query.category.as_deref().filter(|c| !c.is_empty());
    if let Some(category) = category.filter(|c| !adpool_insight::categories::is_category(c)) {
        return Err(AppError::Validation {
            field: "category".into(),
            message: format!("'{category}' is not a category"),
        });
    }
    let rows = state
        .insight
        .transactions(
            caller.org(),
            day(query.from.as_deref())?,
            day(query.to.as_deref())?,
            category,
            query.limit.unwrap_or(500),
        )
        .await?;
    Ok(axum::Json(rows).into_response())
}

#[utoipa::path(get, path = "/api/v1/insight/rules", tag = "insight",
    responses((status = 200, description = "the organization's categorization rules", body = [Object])))]
pub(crate) async fn api_rules(
    State(state): State<AppState>,
    Staff(caller): Staff,
) -> Result<Response, AppError> {
    Ok(axum::Json(state.insight.rules(caller.org()).await?).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleBody {
    /// A merchant keyword (a whole merchant name overrides that merchant).
    #[schema(pattern = "[^\\s\\u0085]", max_length = 100)]
    keyword: String,
    #[schema(value_type = super::api_words::CategoryWord)]
    category: String,
}

#[utoipa::path(post, path = "/api/v1/insight/rules", tag = "insight", request_body = RuleBody,
    responses((status = 200, description = "saved; how many transactions changed category", body = Object), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn api_add_rule(
    State(state): State<AppState>,
    Operator(caller): Operator,
    super::api::ApiJson(body): super::api::ApiJson<RuleBody>,
) -> Result<Response, AppError> {
    let changed = state
        .insight
        .set_rule(
            caller.org(),
            &body.keyword,
            &body.category,
            Some(caller.user.id),
        )
        .await?;
    Ok(axum::Json(serde_json::json!({ "recategorized": changed })).into_response())
}

#[utoipa::path(get, path = "/api/v1/insight/mappings", tag = "insight",
    responses((status = 200, description = "saved column mappings", body = [Object])))]
pub(crate) async fn api_mappings(
    State(state): State<AppState>,
    Staff(caller): Staff,
) -> Result<Response, AppError> {
    Ok(axum::Json(state.insight.mappings(caller.org()).await?).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MappingBody {
    /// The mapping's name.
    #[schema(pattern = "[^\\s\\u0085]", max_length = 80)]
    name: String,
    /// Header names: date, merchant, amount (required); industry, cancel, installment, customer, card, approval.
    mapping: ColumnMapping,
}

#[utoipa::path(post, path = "/api/v1/insight/mappings", tag = "insight", request_body = MappingBody,
    responses((status = 204, description = "saved"), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn api_save_mapping(
    State(state): State<AppState>,
    Operator(caller): Operator,
    super::api::ApiJson(body): super::api::ApiJson<MappingBody>,
) -> Result<Response, AppError> {
    state
        .insight
        .save_mapping(
            caller.org(),
            &body.name,
            &body.mapping,
            Some(caller.user.id),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, path = "/api/v1/insight/analyses", tag = "insight",
    responses((status = 200, description = "analyses, newest first (without reports)", body = [Object])))]
pub(crate) async fn api_analyses(
    State(state): State<AppState>,
    Staff(caller): Staff,
) -> Result<Response, AppError> {
    Ok(axum::Json(state.insight.analyses(caller.org()).await?).into_response())
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnalysisBody {
    /// First day (default: the first transaction's).
    #[schema(schema_with = super::api_words::optional_day)]
    from: Option<String>,
    /// Last day (default: the last transaction's).
    #[schema(schema_with = super::api_words::optional_day)]
    to: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/insight/analyses", tag = "insight", request_body = AnalysisBody,
    responses((status = 202, description = "queued: analysis_id and job_id; the requester is notified when it ends", body = Object), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn api_start_analysis(
    State(state): State<AppState>,
    Staff(caller): Staff,
    super::api::ApiJson(body): super::api::ApiJson<AnalysisBody>,
) -> Result<Response, AppError> {
    let (id, job) = state
        .insight
        .request_analysis(
            caller.org(),
            body.from.as_deref(),
            body.to.as_deref(),
            Some(caller.user.id),
        )
        .await?;
    state.worker_wake.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({ "analysis_id": id, "job_id": job.get() })),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/insight/analyses/{id}", tag = "insight", params(("id" = i64, Path)),
    responses((status = 200, description = "the analysis with its report once done", body = Object), (status = 404, body = crate::ErrorBody)))]
pub(crate) async fn api_analysis(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    Ok(axum::Json(state.insight.analysis(caller.org(), id).await?).into_response())
}

#[utoipa::path(get, path = "/api/v1/insight/analyses/{id}/messages", tag = "insight", params(("id" = i64, Path)),
    responses((status = 200, description = "messages written for the analysis, newest first", body = [Object])))]
pub(crate) async fn api_messages(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    state.insight.analysis(caller.org(), id).await?;
    Ok(axum::Json(state.insight.messages(caller.org(), id).await?).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MessagesBody {
    /// An RFM segment key of the analysis (champions, loyal, ...), or none for everyone.
    segment: Option<String>,
    /// sms (90 bytes EUC-KR), lms (2,000 bytes), kakao (1,000 characters), push (120 characters).
    #[schema(value_type = super::api_words::ChannelWord)]
    channel: String,
    #[schema(value_type = super::api_words::ToneWord)]
    tone: String,
    #[schema(value_type = super::api_words::LangWord)]
    lang: String,
    #[schema(minimum = 1, maximum = 10)]
    count: usize,
}

#[utoipa::path(post, path = "/api/v1/insight/analyses/{id}/messages", tag = "insight", params(("id" = i64, Path)), request_body = MessagesBody,
    responses((status = 201, description = "messages written (by the AI when configured, else the built-in writer), fitted to the channel", body = [Object]), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn api_write_messages(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path(id): Path<i64>,
    super::api::ApiJson(body): super::api::ApiJson<MessagesBody>,
) -> Result<Response, AppError> {
    let request = message_request(
        body.segment,
        &body.channel,
        &body.tone,
        &body.lang,
        body.count,
    )?;
    let written = state
        .insight
        .write_messages(caller.org(), id, &request, Some(caller.user.id))
        .await?;
    Ok((StatusCode::CREATED, axum::Json(written)).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EditBody {
    /// The new text (checked against the channel's limit).
    #[schema(pattern = "[^\\s\\u0085]")]
    body: String,
}

#[utoipa::path(patch, path = "/api/v1/insight/messages/{id}", tag = "insight", params(("id" = i64, Path)), request_body = EditBody,
    responses((status = 200, description = "saved", body = Object), (status = 422, description = "over the channel's limit", body = crate::ErrorBody)))]
pub(crate) async fn api_edit_message(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path(id): Path<i64>,
    super::api::ApiJson(body): super::api::ApiJson<EditBody>,
) -> Result<Response, AppError> {
    Ok(axum::Json(
        state
            .insight
            .edit_message(caller.org(), id, &body.body)
            .await?,
    )
    .into_response())
}
