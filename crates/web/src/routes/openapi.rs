//! `/api/openapi.json`, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{
    api, api_words, campaigns, catalog, cpc_api, insights, inventory_api, purchases, shops,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "adpool API", description = "Ad operations and commerce marketing. Authenticate with `Authorization: Bearer adp_...` (create a token under Admin → API tokens). Timestamps are UTC milliseconds; money is whole won."),
    paths(
        api::me, api::organization, api::update_organization, api::list_users, api::create_user, api::get_user,
        api::update_user, api::list_tokens, api::create_token, api::revoke_token, api::list_jobs, api::get_job,
        api::retry_job, api::cancel_job, api::list_notifications, api::read_notification, api::read_all_notifications,
        api::list_schedules, inventory_api::months, inventory_api::standard, inventory_api::unit, inventory_api::correct,
        inventory_api::confirm, inventory_api::build, inventory_api::import, catalog::export, catalog::import, purchases::apply, purchases::show, purchases::cancel, campaigns::list, campaigns::create, campaigns::detail, campaigns::add_line, campaigns::book_line, campaigns::add_ad, campaigns::set_ad_status, campaigns::pacing, campaigns::delivery_reports, campaigns::proposal,
        cpc_api::list_advertisers, cpc_api::sign_up, cpc_api::get_advertiser, cpc_api::approve, cpc_api::reject, cpc_api::top_up,
        cpc_api::adjust, cpc_api::ledger, cpc_api::settlement, cpc_api::settlement_csv, cpc_api::list_campaigns, cpc_api::create_campaign,
        cpc_api::get_campaign, cpc_api::review_campaign, cpc_api::campaign_state, cpc_api::campaign_budget, cpc_api::add_ad, cpc_api::update_ad, cpc_api::review_ad,
        cpc_api::refund, cpc_api::metrics, cpc_api::list_placements, cpc_api::add_placement, cpc_api::list_sites, cpc_api::create_site,
        cpc_api::revoke_site, cpc_api::order_event,
        shops::api_stores, shops::api_create_store, shops::api_runs, shops::api_sync, shops::api_sales,
        insights::api_import, insights::api_uploads, insights::api_transactions, insights::api_rules, insights::api_add_rule,
        insights::api_mappings, insights::api_save_mapping, insights::api_analyses, insights::api_start_analysis, insights::api_analysis,
        insights::api_messages, insights::api_write_messages, insights::api_edit_message,
    ),
    components(schemas(
        crate::ErrorBody, crate::error::ErrorDetail, adpool_inventory::Policy,
        api_words::RoleWord, api_words::JobStateWord, api_words::CampaignStatusWord, api_words::CpcStateWord,
        api_words::AdStateWord, api_words::BuildLevelWord, api_words::PlatformWord, api_words::PeriodWord,
        api_words::ChannelWord, api_words::ToneWord, api_words::LangWord, api_words::CategoryWord,
    )),
    modifiers(&BearerAuth, &CommonErrors),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The answers every operation can give besides its own: a request the server cannot read
/// (400), no or a revoked token (401), a role that may not call it (403), an object that is
/// not there or belongs to another organization (404), a value the rules refuse (422); and for
/// a change, an object whose state does not allow it (409). An operation that documents one of
/// these itself keeps its own description.
struct CommonErrors;

const COMMON_ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "the request cannot be read: a path, query or body that is not what the operation takes",
    ),
    ("401", "no API token, or a revoked or unknown one"),
    ("403", "the caller's role may not do this"),
    ("404", "no such object in the caller's organization"),
    ("422", "a value the rules refuse; `details.field` names it"),
];

const CHANGE_ERRORS: &[(&str, &str)] = &[(
    "409",
    "the object's state does not allow this (e.g. an ended campaign, a reviewed advertiser)",
)];

impl utoipa::Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, ResponseBuilder, content::ContentBuilder};
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                (&mut item.get, false),
                (&mut item.post, true),
                (&mut item.put, true),
                (&mut item.patch, true),
                (&mut item.delete, true),
            ];
            for (operation, changes) in operations {
                let Some(operation) = operation else { continue };
                let errors = COMMON_ERRORS
                    .iter()
                    .chain(CHANGE_ERRORS.iter().filter(|_| changes));
                for (status, description) in errors {
                    operation
                        .responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| {
                            RefOr::T(
                                ResponseBuilder::new()
                                    .description(*description)
                                    .content(
                                        "application/json",
                                        ContentBuilder::new()
                                            .schema(Some(RefOr::Ref(
                                                utoipa::openapi::Ref::from_schema_name("ErrorBody"),
                                            )))
                                            .build(),
                                    )
                                    .build(),
                            )
                        });
                }
            }
        }
    }
}

/// The OpenAPI document as JSON.
pub fn openapi_json() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or_default()
}

pub(crate) async fn serve() -> Json<serde_json::Value> {
    Json(openapi_json())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    /// Every `$ref` inside `value`.
    fn refs(value: &Value, found: &mut BTreeSet<String>) {
        match value {
            Value::Object(fields) => {
                if let Some(Value::String(target)) = fields.get("$ref") {
                    found.insert(target.clone());
                }
                fields.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    /// What a client (and schemathesis in CI) relies on: unique operation ids, every error
    /// answer documented, every reference resolved, and every JSON body described field by
    /// field rather than as "some object".
    #[test]
    fn the_document_describes_every_operation_and_body() {
        let doc = super::openapi_json();
        let schemas = &doc["components"]["schemas"];
        let mut ids = BTreeSet::new();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("operations") {
                operations += 1;
                let id = operation["operationId"].as_str().expect("an operation id");
                assert!(ids.insert(id.to_owned()), "{id} is used twice");
                for status in ["400", "401", "403", "404", "422"] {
                    assert!(
                        operation["responses"].get(status).is_some(),
                        "{method} {path} does not document {status}"
                    );
                }
                let body = &operation["requestBody"]["content"]["application/json"]["schema"];
                if !body.is_null() {
                    let name = body["$ref"]
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                        .unwrap_or_else(|| panic!("{method} {path}: body is not a named schema"));
                    assert!(
                        schemas[name]["properties"].is_object()
                            || schemas[name]["allOf"].is_array(),
                        "{method} {path}: {name} has no fields"
                    );
                }
            }
        }
        assert!(operations > 80, "{operations} operations");
        let mut found = BTreeSet::new();
        refs(&doc, &mut found);
        for target in found {
            let name = target
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{target} is not a component"));
            assert!(schemas.get(name).is_some(), "{target} does not resolve");
        }
    }
}
