//! The words the API's text fields take, as OpenAPI enums, so a client (and schemathesis in
//! CI) knows the valid values without reading the handlers. The handlers still parse with the
//! domain's own `parse`; the test below holds each list to it. Besides these, the request
//! types say `pattern = "[^\\s\\u0085]"` for a text that must not be blank (Rust's `trim` also
//! takes U+0085 for a space, JSON Schema's `\s` does not), `pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$"`
//! for a month and `format = Date` for a KST day (the attributes take literals only).

use utoipa::ToSchema;

/// A user's role.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum RoleWord {
    Admin,
    Operator,
    Advertiser,
    Analyst,
}

/// Where a background job stands.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum JobStateWord {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// A forecast-pool campaign's or ad's status (any letter case).
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(dead_code)]
pub(crate) enum CampaignStatusWord {
    Draft,
    PendingReview,
    Rejected,
    Scheduled,
    Paused,
    Live,
    Error,
    Completed,
}

/// A CPC campaign state an advertiser or operator may set.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum CpcStateWord {
    Active,
    Paused,
    Ended,
}

/// A CPC ad's serving state.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum AdStateWord {
    Active,
    Paused,
}

/// A shop order event's status.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum OrderEventWord {
    Completed,
    Cancelled,
}

/// Which inventory a build makes.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum BuildLevelWord {
    Standard,
    Unit,
}

/// A shop platform.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum PlatformWord {
    Cafe24,
    Naver,
    Ably,
}

/// The period of the sales dashboard.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum PeriodWord {
    Day,
    Week,
    Month,
    Year,
}

/// A marketing message's channel.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum ChannelWord {
    Sms,
    Lms,
    Kakao,
    Push,
}

/// A marketing message's tone.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum ToneWord {
    Friendly,
    Formal,
    Playful,
    Urgent,
}

/// The language messages are written in.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum LangWord {
    Ko,
    En,
}

/// What a spending analysis reads.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum AnalysisSourceWord {
    Statement,
    Shop,
}

type SchemaRef = utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>;

/// `value`, or an empty text (and, in a JSON body, null): empty means "not given", as a form
/// sends a field left blank.
fn or_blank(value: impl Into<SchemaRef>) -> SchemaRef {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(value)
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(0)),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

fn formatted(
    kind: utoipa::openapi::schema::Type,
    format: utoipa::openapi::KnownFormat,
) -> SchemaRef {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(kind)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(format)))
        .into()
}

/// A KST day (`YYYY-MM-DD`) that may be left empty.
pub(crate) fn optional_day() -> SchemaRef {
    or_blank(formatted(
        utoipa::openapi::schema::Type::String,
        utoipa::openapi::KnownFormat::Date,
    ))
}

/// An object id that may be left empty.
pub(crate) fn optional_id() -> SchemaRef {
    or_blank(formatted(
        utoipa::openapi::schema::Type::Integer,
        utoipa::openapi::KnownFormat::Int64,
    ))
}

/// One of the words of `W`, or empty: empty means "any", as a form's first option sends it.
pub(crate) fn or_empty<W: ToSchema>() -> SchemaRef {
    or_blank(utoipa::openapi::Ref::from_schema_name(W::name()))
}

/// A spending category id (`cafe`, `dining`, `online_shopping`, ...).
pub(crate) struct CategoryWord;

impl utoipa::PartialSchema for CategoryWord {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(
                adpool_insight::categories::CATEGORIES
                    .iter()
                    .map(|(id, _, _)| *id)
                    .chain([adpool_insight::categories::UNCATEGORIZED]),
            ))
            .into()
    }
}

impl ToSchema for CategoryWord {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The enum's words as the OpenAPI document lists them.
    fn words<T: ToSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).expect("schema");
        schema["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{} has no enum: {schema}", T::name()))
            .iter()
            .map(|w| w.as_str().expect("a word").to_owned())
            .collect()
    }

    #[test]
    fn every_documented_word_is_one_the_domain_takes() {
        type Check = (Vec<String>, fn(&str) -> bool, usize);
        let checks: Vec<Check> = vec![
            (
                words::<RoleWord>(),
                |w| adpool_accounts::Role::parse(w).is_ok(),
                4,
            ),
            (
                words::<JobStateWord>(),
                |w| adpool_jobs::JobState::parse(w).is_some(),
                5,
            ),
            (
                words::<CampaignStatusWord>(),
                |w| adpool_inventory::Status::parse(w).is_some(),
                8,
            ),
            (
                words::<CpcStateWord>(),
                |w| adpool_serving::CampaignState::parse(w).is_some(),
                3,
            ),
            (
                words::<AdStateWord>(),
                |w| adpool_serving::AdState::parse(w).is_some(),
                2,
            ),
            (
                words::<OrderEventWord>(),
                |w| ["completed", "cancelled"].contains(&w),
                2,
            ),
            (
                words::<BuildLevelWord>(),
                |w| adpool_inventory::ExportLevel::parse(w).is_ok(),
                2,
            ),
            (
                words::<PlatformWord>(),
                |w| w.parse::<adpool_commerce::Platform>().is_ok(),
                3,
            ),
            (
                words::<PeriodWord>(),
                |w| adpool_commerce::sales::Period::parse(w).is_some(),
                4,
            ),
            (
                words::<ChannelWord>(),
                |w| adpool_insight::messages::Channel::parse(w).is_some(),
                4,
            ),
            (
                words::<ToneWord>(),
                |w| adpool_insight::messages::Tone::parse(w).is_some(),
                4,
            ),
            (words::<LangWord>(), |w| ["ko", "en"].contains(&w), 2),
            (
                words::<CategoryWord>(),
                adpool_insight::categories::is_category,
                adpool_insight::categories::CATEGORIES.len() + 1,
            ),
            (
                words::<AnalysisSourceWord>(),
                |w| adpool_insight::Source::parse(w).is_some(),
                2,
            ),
        ];
        for (words, takes, all) in checks {
            assert_eq!(words.len(), all, "{words:?} should list every word");
            for word in words {
                assert!(
                    takes(&word),
                    "the domain refuses the documented word {word:?}"
                );
            }
        }
    }
}
