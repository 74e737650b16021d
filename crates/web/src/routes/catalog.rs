//! The inventory catalog page and API. Every form on the page submits a one-item
//! [`CatalogDocument`], applied exactly as `adpool catalog import` applies a file.

use std::collections::BTreeMap;

use adpool_inventory::{
    CatalogDocument, ContentOwnerEntry, MediaDoc, MetaDoc, ProductDoc, TargetingGroupDoc,
};
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use minijinja::context;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::api::ApiJson;
use super::{Flash, PageError, back_to};
use crate::auth::{Operator, PageOperator, PageStaff, Staff};
use crate::render::page;
use crate::{AppError, AppState, Lang, translate};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/inventory/catalog", get(catalog_page).post(save))
}

pub(super) fn api_router() -> Router<AppState> {
    Router::new().route("/catalog", get(export).post(import))
}

#[derive(Debug, Default, Deserialize)]
struct CatalogQuery {
    edit_product: Option<String>,
    edit_group: Option<String>,
    #[serde(flatten)]
    flash: Flash,
}

async fn catalog_page(
    State(state): State<AppState>,
    PageStaff(caller): PageStaff,
    lang: Lang,
    Query(query): Query<CatalogQuery>,
) -> Result<Response, PageError> {
    let catalog = state.inventory.catalog(caller.org()).await?;
    let product = query
        .edit_product
        .as_ref()
        .and_then(|code| catalog.products.iter().find(|p| &p.code == code))
        .cloned();
    let group = query
        .edit_group
        .as_ref()
        .and_then(|code| catalog.targeting_groups.iter().find(|g| &g.code == code))
        .cloned();
    let extra = context! {
        ..query.flash.context(),
        ..context! {
            catalog => &catalog,
            product => product, group => group,
            group_members => group.as_ref().map(|g| g.members.join("\n")),
            platforms => adpool_inventory::Platform::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            product_types => ["program", "channel", "keyword", "ron"],
            kinds => ["program", "channel", "keyword"],
        }
    };
    Ok(page(
        &state,
        &caller,
        lang,
        "inventory_catalog.html",
        "inventory",
        extra,
    )
    .await?
    .into_response())
}

/// Every field any catalog form may send; `section` says which entry it describes.
#[derive(Debug, Default, Deserialize)]
struct CatalogForm {
    section: String,
    code: Option<String>,
    name: Option<String>,
    media: Option<String>,
    content_owner: Option<String>,
    kind: Option<String>,
    platform: Option<String>,
    product_type: Option<String>,
    ad_type: Option<String>,
    cpm_pc: Option<String>,
    cpm_mobile: Option<String>,
    cpm_app: Option<String>,
    cpm_ctv: Option<String>,
    ctr_percent: Option<String>,
    vtr_percent: Option<String>,
    weight_percent: Option<String>,
    members: Option<String>,
}

fn text(value: &Option<String>) -> String {
    value.as_deref().unwrap_or_default().trim().to_owned()
}

fn optional(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// `"1.25"` (percent) -> 125 basis points.
fn basis_points(field: &str, value: &Option<String>) -> Result<i64, AppError> {
    let raw = text(value);
    raw.trim_end_matches('%')
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| (v * 100.0).round() as i64)
        .ok_or_else(|| AppError::Validation {
            field: field.into(),
            message: format!("'{raw}' is not a percentage"),
        })
}

impl CatalogForm {
    fn document(&self) -> Result<CatalogDocument, AppError> {
        let mut document = CatalogDocument::default();
        match self.section.as_str() {
            "content_owner" => document.content_owners.push(ContentOwnerEntry {
                code: text(&self.code),
                name: text(&self.name),
            }),
            "media" => document.media.push(MediaDoc {
                code: text(&self.code),
                name: text(&self.name),
            }),
            "meta" => document.meta_ids.push(MetaDoc {
                media: text(&self.media),
                code: text(&self.code),
                name: text(&self.name),
                content_owner: optional(&self.content_owner),
                kind: optional(&self.kind),
            }),
            "part" => {
                document
                    .part_platforms
                    .insert(text(&self.code).to_ascii_uppercase(), text(&self.platform));
            }
            "product" => {
                let mut cpm = BTreeMap::new();
                for (platform, value) in [
                    ("PC", &self.cpm_pc),
                    ("MOBILE", &self.cpm_mobile),
                    ("APP", &self.cpm_app),
                    ("CTV", &self.cpm_ctv),
                ] {
                    if let Some(raw) = optional(value) {
                        let won =
                            raw.parse::<adpool_core::Won>()
                                .map_err(|e| AppError::Validation {
                                    field: format!("cpm.{platform}"),
                                    message: e.to_string(),
                                })?;
                        cpm.insert(platform.to_owned(), won.get());
                    }
                }
                document.products.push(ProductDoc {
                    code: text(&self.code),
                    name: text(&self.name),
                    product_type: text(&self.product_type),
                    ad_type: text(&self.ad_type),
                    cpm,
                    ctr_bp: basis_points("ctr", &self.ctr_percent)?,
                    vtr_bp: basis_points("vtr", &self.vtr_percent)?,
                });
            }
            "group" => document.targeting_groups.push(TargetingGroupDoc {
                code: text(&self.code),
                name: text(&self.name),
                weight_bp: basis_points("weight", &self.weight_percent)?,
                members: text(&self.members)
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect(),
            }),
            other => {
                return Err(AppError::BadRequest(format!(
                    "unknown catalog section '{other}'"
                )));
            }
        }
        Ok(document)
    }
}

async fn save(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
    Form(form): Form<CatalogForm>,
) -> Result<Response, PageError> {
    let result = match form.document() {
        Ok(document) => state
            .inventory
            .apply_catalog(caller.org(), &document)
            .await
            .map_err(AppError::from),
        Err(error) => Err(error),
    };
    back_to("/inventory/catalog", result, |_| {
        format!("{} {}", translate(lang, "admin.saved"), text(&form.code))
    })
}

/// What applying a catalog document did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CatalogApplied {
    content_owners: usize,
    media: usize,
    meta_ids: usize,
    part_platforms: usize,
    products: usize,
    targeting_groups: usize,
}

#[utoipa::path(get, path = "/api/v1/catalog", tag = "inventory",
    responses((status = 200, description = "the whole catalog as a document (docs/catalog.md)", body = CatalogDocument)))]
pub(crate) async fn export(
    State(state): State<AppState>,
    Staff(caller): Staff,
) -> Result<Json<CatalogDocument>, AppError> {
    Ok(Json(state.inventory.catalog(caller.org()).await?))
}

#[utoipa::path(post, path = "/api/v1/catalog", operation_id = "import_catalog", tag = "inventory",
    request_body(content = CatalogDocument, description = "entries to add or change, by code (docs/catalog.md)"),
    responses((status = 200, body = CatalogApplied), (status = 403, body = crate::ErrorBody),
              (status = 422, description = "refused whole; error.details.problems names each problem by its path", body = crate::ErrorBody)))]
pub(crate) async fn import(
    State(state): State<AppState>,
    Operator(caller): Operator,
    ApiJson(document): ApiJson<CatalogDocument>,
) -> Result<Json<CatalogApplied>, AppError> {
    let s = state
        .inventory
        .apply_catalog(caller.org(), &document)
        .await?;
    Ok(Json(CatalogApplied {
        content_owners: s.content_owners,
        media: s.media,
        meta_ids: s.meta_ids,
        part_platforms: s.part_platforms,
        products: s.products,
        targeting_groups: s.targeting_groups,
    }))
}
