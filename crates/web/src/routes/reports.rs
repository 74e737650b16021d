//! Ad-log analytics pages: `/reports` (the four reports, sources and their files, metadata) and
//! `/reports/{report}` (date range, dimension filters, sorting, totals, daily trend, CSV and
//! XLSX downloads).

use std::collections::{BTreeMap, HashMap};

use adpool_core::BusinessDate;
use adpool_logs::{Cell, Report};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;
use serde::Deserialize;

use super::cpc_api::day_or;
use super::{Flash, PageError, back_to, see_other};
use crate::auth::{PageOperator, PageStaff};
use crate::render::page;
use crate::{AppError, AppState, Lang, translate};

/// Rows shown on a page (totals and downloads cover them all).
const PAGE_ROWS: usize = 500;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/reports", get(overview))
        .route("/reports/metadata", post(save_metadata))
        .route("/reports/sources/analyze", post(analyze_source))
        .route("/reports/sources/retry", post(retry_source))
        .route("/reports/sources/s3", post(save_s3_credentials))
        .route("/reports/sources/s3/delete", post(delete_s3_credentials))
        .route("/reports/{report}", get(report_page))
}

async fn overview(
    State(state): State<AppState>,
    PageStaff(caller): PageStaff,
    lang: Lang,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    let org = caller.org();
    let counts = adpool_logs::file_counts(&state.db, org).await?;
    let mut sources: BTreeMap<String, BTreeMap<String, (i64, i64)>> = BTreeMap::new();
    for (source, file_state, n, events) in counts {
        sources
            .entry(source)
            .or_default()
            .insert(file_state, (n, events));
    }
    let sources: Vec<minijinja::Value> = sources
        .into_iter()
        .map(|(source, states)| {
            let get = |s: &str| states.get(s).copied().unwrap_or((0, 0));
            context! {
                source => source, done => get("done").0, events => get("done").1, new => get("new").0,
                quarantined => get("quarantined").0, failed => get("failed").0, skipped => get("skipped").0,
            }
        })
        .collect();
    let problems = adpool_logs::problem_files(&state.db, org, None).await?;
    let s3_saved = if caller.role().is_admin() {
        state.log_sources.saved_s3_credentials(org).await?
    } else {
        None
    };
    let folder_roots: Vec<String> = state
        .log_sources
        .rules()
        .folder_roots_of(org)
        .iter()
        .map(|root| root.display().to_string())
        .collect();
    let metadata = adpool_logs::load_metadata(&state.db, org).await?;
    let mut media: Vec<_> = metadata
        .media
        .iter()
        .map(|(k, v)| context! { key => k, org_id => v.org_id, share_bp => v.share_bp })
        .collect();
    media.sort_by_key(|m| m.get_attr("key").map(|k| k.to_string()).unwrap_or_default());
    let mut inventory: Vec<_> = metadata
        .inventory
        .iter()
        .map(|(id, v)| {
            (
                *id,
                context! { id => id, ad_type => v.ad_type.clone(), device => v.device.as_str() },
            )
        })
        .collect();
    inventory.sort_by_key(|(id, _)| *id);
    let reports: Vec<minijinja::Value> = Report::ALL
        .iter()
        .map(|r| context! { slug => r.slug(), columns => r.columns().join(", ") })
        .collect();
    let extra = context! { ..flash.context(), ..context! {
        reports => reports, sources => sources, problems => problems, media => media,
        s3_saved => s3_saved, folder_roots => folder_roots,
        inventory => inventory.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    } };
    Ok(
        page(&state, &caller, lang, "reports.html", "reports", extra)
            .await?
            .into_response(),
    )
}

#[derive(Debug, Deserialize)]
struct SourceForm {
    source: String,
    /// Present when "analyze every hour" is ticked.
    #[serde(default)]
    hourly: Option<String>,
}

/// Analyzes a source now in a background job (its page shows the progress), and with "every
/// hour" ticked keeps it analyzed by a schedule. A source the organization has not analyzed
/// before (a new folder or bucket the server will read) needs an admin; any operator may run a
/// known one again.
async fn analyze_source(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
    Form(form): Form<SourceForm>,
) -> Result<Response, PageError> {
    let org = caller.org();
    // Opening checks the URL against the organization's rules (a folder under its roots, a
    // bucket with its own credentials) and gives its normalised form; the job checks again.
    let source = match state.log_sources.open(org, &form.source).await {
        Ok(source) => source,
        Err(error) => {
            let error = crate::i18n::log_source_error(lang, error);
            return back_to("/reports", Err::<(), _>(error), |()| String::new());
        }
    };
    let known = adpool_logs::file_counts(&state.db, org)
        .await?
        .iter()
        .any(|(url, ..)| *url == source.url);
    if !known {
        caller.require_admin()?;
    }
    if form.hourly.is_some() {
        state
            .scheduler
            .ensure(
                &adpool_logs::schedule_name(org, &source.url),
                "0 * * * *",
                adpool_logs::ANALYZE_JOB,
                serde_json::json!({ "source": source.url }),
                Some(org),
            )
            .await
            .map_err(AppError::from)?;
    }
    start_analysis(&state, &caller, &source.url).await
}

/// Puts a source's failed and quarantined files back in the queue and analyzes it.
async fn retry_source(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    Form(form): Form<SourceForm>,
) -> Result<Response, PageError> {
    let org = caller.org();
    let requeued = adpool_logs::requeue(&state.db, org, &form.source, &[]).await?;
    if requeued == 0 {
        return back_to(
            "/reports",
            Err::<(), _>(AppError::Conflict(format!(
                "{} has no failed or quarantined files",
                form.source
            ))),
            |()| String::new(),
        );
    }
    start_analysis(&state, &caller, &form.source).await
}

#[derive(Deserialize)]
struct S3CredentialsForm {
    #[serde(default)]
    endpoint: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    secret_access_key: String,
}

/// Saves the organization's own S3 credentials for its `s3://` sources (admins; the secret is
/// sealed and never shown again).
async fn save_s3_credentials(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
    Form(form): Form<S3CredentialsForm>,
) -> Result<Response, PageError> {
    caller.require_admin()?;
    let credentials = adpool_logs::S3Credentials {
        endpoint: Some(form.endpoint),
        region: Some(form.region),
        access_key_id: form.access_key_id,
        secret_access_key: form.secret_access_key,
    };
    let saved = state
        .log_sources
        .save_s3_credentials(caller.org(), credentials, state.clock.now_millis())
        .await
        .map_err(|error| crate::i18n::log_source_error(lang, error));
    back_to("/reports", saved, |()| translate(lang, "logs.s3_saved"))
}

/// Forgets the organization's S3 credentials.
async fn delete_s3_credentials(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
) -> Result<Response, PageError> {
    caller.require_admin()?;
    let deleted = state.log_sources.delete_s3_credentials(caller.org()).await;
    back_to("/reports", deleted, |_| translate(lang, "logs.s3_removed"))
}

/// Enqueues a `logs.analyze` job for `source_url`, wakes the worker and opens the job's page.
async fn start_analysis(
    state: &AppState,
    caller: &crate::Caller,
    source_url: &str,
) -> Result<Response, PageError> {
    let id = state
        .jobs
        .enqueue(adpool_logs::analyze_job(
            source_url,
            caller.org(),
            Some(caller.user.id),
        ))
        .await
        .map_err(AppError::from)?;
    state.worker_wake.notify_one();
    Ok(see_other(&format!("/jobs/{id}")))
}

#[derive(Debug, Deserialize)]
struct MetadataForm {
    #[serde(default)]
    media_csv: String,
    #[serde(default)]
    inventory_csv: String,
}

/// Metadata pasted as CSV (the same format and rules as `adpool logs metadata import`).
async fn save_metadata(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    Form(form): Form<MetadataForm>,
) -> Result<Response, PageError> {
    let result: Result<_, AppError> = async {
        let dir = tempfile::tempdir().map_err(|e| AppError::Internal(e.to_string()))?;
        let write = |name: &str, text: &str| -> Result<Option<std::path::PathBuf>, AppError> {
            if text.trim().is_empty() {
                return Ok(None);
            }
            let path = dir.path().join(name);
            std::fs::write(&path, text.replace("\r\n", "\n"))
                .map_err(|e| AppError::Internal(e.to_string()))?;
            Ok(Some(path))
        };
        let media = write("media.csv", &form.media_csv)?;
        let inventory = write("inventory.csv", &form.inventory_csv)?;
        if media.is_none() && inventory.is_none() {
            return Err(AppError::Validation {
                field: "metadata".into(),
                message: "paste media.csv and/or inventory.csv".into(),
            });
        }
        adpool_logs::import_metadata(
            &state.db,
            caller.org(),
            state.clock.now_millis(),
            media.as_deref(),
            inventory.as_deref(),
        )
        .await
        .map_err(|e| AppError::Validation {
            field: "metadata".into(),
            message: e.to_string(),
        })
    }
    .await;
    back_to("/reports", result, |m| {
        format!(
            "metadata saved: {} media, {} inventory rows",
            m.media, m.inventory
        )
    })
}

#[derive(Debug, Default, Deserialize)]
struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    sort: Option<String>,
    desc: Option<String>,
    format: Option<String>,
    #[serde(flatten)]
    filters: HashMap<String, String>,
}

fn cell_text(cell: &Cell) -> String {
    match cell {
        Cell::Text(t) => t.clone(),
        other => other.csv(),
    }
}

async fn report_page(
    State(state): State<AppState>,
    PageStaff(caller): PageStaff,
    lang: Lang,
    Path(slug): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, PageError> {
    let (slug, extension) = match slug.rsplit_once('.') {
        Some((s, e)) if e == "csv" || e == "xlsx" => (s.to_owned(), Some(e.to_owned())),
        _ => (slug, None),
    };
    let report = Report::parse(&slug).ok_or(AppError::NotFound)?;
    let today = BusinessDate::from_utc_millis(state.clock.now_millis());
    let from = day_or(query.from.as_deref(), today.add_days(-13))?;
    let to = day_or(query.to.as_deref(), today)?;
    let columns = report.columns();
    // Key columns can be filtered (exact match); measures are summed.
    let key_count = match report {
        Report::AdPerformance => 6,
        Report::AdRequest => 6,
        Report::Demand => 2,
        Report::Media => 4,
    };
    let filters: Vec<(usize, String)> = columns[1..key_count]
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            query
                .filters
                .get(*c)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .map(|v| (i + 1, v))
        })
        .collect();
    let mut rows = adpool_logs::rows(
        &state.db,
        caller.org(),
        report,
        &from.to_string(),
        &to.to_string(),
    )
    .await?;
    rows.retain(|row| filters.iter().all(|(i, v)| cell_text(&row[*i]) == *v));
    if let Some(sort) = query
        .sort
        .as_deref()
        .and_then(|s| columns.iter().position(|c| *c == s))
    {
        rows.sort_by(|a, b| {
            let order = match (&a[sort], &b[sort]) {
                (Cell::Int(x), Cell::Int(y)) | (Cell::Milli(x), Cell::Milli(y)) => x.cmp(y),
                (Cell::Ratio(x), Cell::Ratio(y)) => x.total_cmp(y),
                (x, y) => cell_text(x).cmp(&cell_text(y)),
            };
            if query.desc.is_some() {
                order.reverse()
            } else {
                order
            }
        });
    }
    match extension.as_deref().or(query.format.as_deref()) {
        Some("csv") => {
            return Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{}-{from}-{to}.csv\"", report.slug()),
                    ),
                ],
                adpool_logs::to_csv(report, &rows),
            )
                .into_response());
        }
        Some("xlsx") => {
            let bytes = adpool_logs::to_xlsx(report, &rows)
                .map_err(|e| AppError::Internal(e.to_string()))?;
            return Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                            .to_owned(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        format!(
                            "attachment; filename=\"{}-{from}-{to}.xlsx\"",
                            report.slug()
                        ),
                    ),
                ],
                bytes,
            )
                .into_response());
        }
        _ => {}
    }
    // Totals over every row; the daily trend of the report's first measure.
    let measure_cols: Vec<usize> = (key_count..columns.len())
        .filter(|i| !matches!(columns[*i], "ctr" | "cpc" | "ecpm"))
        .collect();
    let mut totals: Vec<i64> = vec![0; columns.len()];
    let mut per_day: BTreeMap<String, i64> = BTreeMap::new();
    for row in &rows {
        for i in &measure_cols {
            if let Cell::Int(v) | Cell::Milli(v) = row[*i] {
                totals[*i] += v;
            }
        }
        if let Cell::Int(v) | Cell::Milli(v) = row[key_count] {
            *per_day.entry(cell_text(&row[0])).or_default() += v;
        }
    }
    let total_cells: Vec<String> = (0..columns.len())
        .map(|i| {
            if !measure_cols.contains(&i) {
                String::new()
            } else if matches!(rows.first().map(|r| &r[i]), Some(Cell::Milli(_)))
                || columns[i].contains("revenue")
            {
                adpool_logs::format_milli(totals[i])
            } else {
                totals[i].to_string()
            }
        })
        .collect();
    let top = per_day.values().copied().max().unwrap_or(0).max(1) as f64;
    let days: Vec<(String, i64)> = from
        .days_through(to)
        .map(|d| {
            let key = d.to_string();
            let v = per_day.get(&key).copied().unwrap_or(0);
            (key, v)
        })
        .collect();
    let step = 600.0 / days.len().max(1) as f64;
    let trend: Vec<minijinja::Value> = days
        .iter()
        .enumerate()
        .map(|(i, (d, v))| {
            let h = *v as f64 / top * 120.0;
            context! { date => d, value => v, x => format!("{:.1}", i as f64 * step), w => format!("{:.1}", (step - 2.0).max(1.0)), y => format!("{:.1}", 120.0 - h), h => format!("{h:.1}") }
        })
        .collect();
    let shown: Vec<Vec<String>> = rows
        .iter()
        .take(PAGE_ROWS)
        .map(|r| r.iter().map(cell_text).collect())
        .collect();
    let query_string = |extra: &str| {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        pairs
            .append_pair("from", &from.to_string())
            .append_pair("to", &to.to_string());
        for (i, v) in &filters {
            pairs.append_pair(columns[*i], v);
        }
        let mut s = pairs.finish();
        if !extra.is_empty() {
            s.push('&');
            s.push_str(extra);
        }
        s
    };
    let filter_fields: Vec<minijinja::Value> = columns[1..key_count]
        .iter()
        .map(
            |c| context! { name => c, value => query.filters.get(*c).cloned().unwrap_or_default() },
        )
        .collect();
    let extra = context! {
        report => report.slug(), columns => columns, rows => shown, total_rows => rows.len(), page_rows => PAGE_ROWS,
        totals => total_cells, from => from.to_string(), to => to.to_string(), filters => filter_fields,
        sort => query.sort.clone().unwrap_or_default(), desc => query.desc.is_some(),
        trend => trend, trend_measure => columns[key_count], trend_max => top as i64,
        base_query => query_string(""), reports => Report::ALL.iter().map(|r| r.slug()).collect::<Vec<_>>(),
        measure_from => key_count,
    };
    Ok(page(&state, &caller, lang, "report.html", "reports", extra)
        .await?
        .into_response())
}
