//! `/api/openapi.json`, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{api, campaigns, catalog, cpc_api, insights, inventory_api, purchases, shops};

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
    modifiers(&BearerAuth),
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

/// The OpenAPI document as JSON.
pub fn openapi_json() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or_default()
}

pub(crate) async fn serve() -> Json<serde_json::Value> {
    Json(openapi_json())
}
