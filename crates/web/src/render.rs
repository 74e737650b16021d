//! HTML rendering: minijinja templates embedded in the binary, with Korean formatting filters.

use adpool_core::{Won, format_kst_datetime, group_thousands};
use axum::response::Html;
use minijinja::{Environment, State, Value, context};

use crate::auth::Caller;
use crate::{AppError, AppState, Lang, translate};

/// Every template, by name, compiled into the binary.
pub(crate) const TEMPLATE_SOURCES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../templates/layout.html")),
    ("login.html", include_str!("../templates/login.html")),
    (
        "dashboard.html",
        include_str!("../templates/dashboard.html"),
    ),
    (
        "admin_users.html",
        include_str!("../templates/admin_users.html"),
    ),
    (
        "admin_organization.html",
        include_str!("../templates/admin_organization.html"),
    ),
    (
        "admin_tokens.html",
        include_str!("../templates/admin_tokens.html"),
    ),
    (
        "admin_schedules.html",
        include_str!("../templates/admin_schedules.html"),
    ),
    (
        "admin_deployment.html",
        include_str!("../templates/admin_deployment.html"),
    ),
    ("jobs.html", include_str!("../templates/jobs.html")),
    ("job.html", include_str!("../templates/job.html")),
    (
        "notifications.html",
        include_str!("../templates/notifications.html"),
    ),
    ("error.html", include_str!("../templates/error.html")),
    (
        "inventory.html",
        include_str!("../templates/inventory.html"),
    ),
    (
        "inventory_standard.html",
        include_str!("../templates/inventory_standard.html"),
    ),
    (
        "inventory_unit.html",
        include_str!("../templates/inventory_unit.html"),
    ),
    (
        "inventory_catalog.html",
        include_str!("../templates/inventory_catalog.html"),
    ),
    (
        "inventory_bookings.html",
        include_str!("../templates/inventory_bookings.html"),
    ),
    (
        "inventory_booking.html",
        include_str!("../templates/inventory_booking.html"),
    ),
    (
        "campaigns.html",
        include_str!("../templates/campaigns.html"),
    ),
    ("campaign.html", include_str!("../templates/campaign.html")),
    ("cpc.html", include_str!("../templates/cpc.html")),
    (
        "cpc_signup_fields.html",
        include_str!("../templates/cpc_signup_fields.html"),
    ),
    ("cpc_join.html", include_str!("../templates/cpc_join.html")),
    (
        "cpc_chart.html",
        include_str!("../templates/cpc_chart.html"),
    ),
    (
        "cpc_advertiser.html",
        include_str!("../templates/cpc_advertiser.html"),
    ),
    (
        "cpc_campaign.html",
        include_str!("../templates/cpc_campaign.html"),
    ),
    (
        "cpc_settlement.html",
        include_str!("../templates/cpc_settlement.html"),
    ),
    ("reports.html", include_str!("../templates/reports.html")),
    ("shops.html", include_str!("../templates/shops.html")),
    ("insights.html", include_str!("../templates/insights.html")),
    (
        "insight_preview.html",
        include_str!("../templates/insight_preview.html"),
    ),
    (
        "insight_analysis.html",
        include_str!("../templates/insight_analysis.html"),
    ),
    (
        "shop_store.html",
        include_str!("../templates/shop_store.html"),
    ),
    ("report.html", include_str!("../templates/report.html")),
];

pub(crate) struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub(crate) fn new() -> Self {
        let mut env = Environment::new();
        for (name, source) in TEMPLATE_SOURCES {
            env.add_template(name, source)
                .expect("embedded templates are valid");
        }
        env.add_function("t", |state: &State, key: &str| -> String {
            let lang = state
                .lookup("lang")
                .and_then(|v| v.as_str().and_then(Lang::parse))
                .unwrap_or(Lang::Ko);
            translate(lang, key)
        });
        env.add_filter("won", |value: i64| Won::new(value).to_string());
        env.add_filter("number", |value: i64| {
            let sign = if value < 0 { "-" } else { "" };
            format!("{sign}{}", group_thousands(value.unsigned_abs()))
        });
        env.add_filter("compact", |state: &State, value: i64| {
            let lang = state
                .lookup("lang")
                .and_then(|v| v.as_str().and_then(Lang::parse))
                .unwrap_or(Lang::Ko);
            compact_number(lang, value)
        });
        env.add_filter("kst", |value: Option<i64>| {
            value
                .map(format_kst_datetime)
                .unwrap_or_else(|| "—".to_owned())
        });
        Templates { env }
    }

    pub(crate) fn render(&self, name: &str, ctx: Value) -> Result<String, AppError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| AppError::Internal(format!("rendering {name}: {e:#}")))
    }
}

/// A short number for tight spaces: 만/억 in Korean (1,488,561 -> 149만), K/M/B in English.
pub(crate) fn compact_number(lang: Lang, value: i64) -> String {
    let magnitude = value.unsigned_abs() as f64;
    let sign = if value < 0 { "-" } else { "" };
    let units: &[(f64, &str)] = match lang {
        Lang::Ko => &[(1e8, "억"), (1e4, "만")],
        Lang::En => &[(1e9, "B"), (1e6, "M"), (1e3, "K")],
    };
    for (size, unit) in units {
        if magnitude >= *size {
            let scaled = magnitude / size;
            let text = if scaled >= 100.0 {
                format!("{scaled:.0}")
            } else {
                format!("{scaled:.1}")
            };
            return format!("{sign}{}{unit}", text.trim_end_matches(".0"));
        }
    }
    value.to_string()
}

/// The main navigation: (key, path, label key).
pub(crate) const NAV: &[(&str, &str, &str)] = &[
    ("dashboard", "/", "nav.dashboard"),
    ("inventory", "/inventory", "nav.inventory"),
    ("campaigns", "/campaigns", "nav.campaigns"),
    ("cpc", "/cpc", "nav.cpc"),
    ("reports", "/reports", "nav.reports"),
    ("shops", "/shops", "nav.shops"),
    ("insights", "/insights", "nav.insights"),
    ("jobs", "/jobs", "nav.jobs"),
    ("admin", "/admin/users", "nav.admin"),
];

/// Whether a role sees an area (`NAV`'s keys) in the menu and on the dashboard: admin pages are
/// for admins; CPC advertisers see their own account and nothing of the organization's
/// inventory, campaigns, reports, sales, insights or jobs (those answer them 403).
pub(crate) fn may_see(role: adpool_accounts::Role, area: &str) -> bool {
    match role {
        adpool_accounts::Role::Admin => true,
        adpool_accounts::Role::Advertiser => matches!(area, "dashboard" | "cpc"),
        _ => area != "admin",
    }
}

/// Renders a page inside the layout for a signed-in caller.
pub(crate) async fn page(
    state: &AppState,
    caller: &Caller,
    lang: Lang,
    template: &str,
    active: &str,
    extra: Value,
) -> Result<Html<String>, AppError> {
    let unread = state
        .notifications
        .unread_count(caller.org(), caller.user.id)
        .await?;
    let organization = state.accounts.organization(caller.org()).await?;
    let nav: Vec<Value> = NAV
        .iter()
        .filter(|(key, _, _)| may_see(caller.role(), key))
        .map(|(key, path, label)| context! { key => key, path => path, label => translate(lang, label) })
        .collect();
    let base = context! {
        lang => lang.code(),
        other_lang => lang.other().code(),
        active => active,
        nav => nav,
        unread => unread,
        csrf_token => caller.csrf_token(),
        me => context! {
            id => caller.user.id.get(),
            name => caller.user.display_name.clone(),
            email => caller.user.email.clone(),
            role => caller.role().as_str(),
            is_admin => caller.role().is_admin(),
            can_operate => caller.role().can_operate(),
        },
        organization => organization.name,
    };
    let ctx = context! { ..base, ..extra };
    state.templates.render(template, ctx).map(Html)
}

/// Renders a page that needs no caller (login, errors).
pub(crate) fn bare(
    state: &AppState,
    lang: Lang,
    template: &str,
    extra: Value,
) -> Result<Html<String>, AppError> {
    let ctx =
        context! { ..context! { lang => lang.code(), other_lang => lang.other().code() }, ..extra };
    state.templates.render(template, ctx).map(Html)
}

#[cfg(test)]
mod tests {
    use super::compact_number;
    use crate::Lang;

    #[test]
    fn compact_numbers_read_naturally() {
        assert_eq!(compact_number(Lang::Ko, 1_488_561), "149만");
        assert_eq!(compact_number(Lang::Ko, 148_861), "14.9만");
        assert_eq!(compact_number(Lang::Ko, 250_000_000), "2.5억");
        assert_eq!(compact_number(Lang::Ko, 9_999), "9999");
        assert_eq!(compact_number(Lang::En, 1_488_561), "1.5M");
        assert_eq!(compact_number(Lang::En, 150_000), "150K");
        assert_eq!(compact_number(Lang::En, -2_000), "-2K");
        assert_eq!(compact_number(Lang::Ko, 30_000), "3만");
    }
}
