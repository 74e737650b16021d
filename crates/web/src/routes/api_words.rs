//! The words the API's text fields take, as OpenAPI enums, so a client (and schemathesis in
//! CI) knows the valid values without reading the handlers. The lists come from the domain's
//! own `ALL` where it has one; the handlers still parse with the domain's `parse`, and the test
//! below holds every list to it. Besides these, the request
//! types say `pattern = "[^\\s\\u0085]"` for a text that must not be blank (Rust's `trim` also
//! takes U+0085 for a space, JSON Schema's `\s` does not), `pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$"`
//! for a month and `format = Date` for a KST day (the attributes take literals only).

use utoipa::ToSchema;

type SchemaRef = utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>;

/// A text schema taking exactly `words`.
fn word_schema<'w>(words: impl IntoIterator<Item = &'w str>) -> SchemaRef {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(words))
        .into()
}

/// A named schema (a component) for the words a field takes, listed from the domain's own
/// `ALL` where it has one.
macro_rules! words {
    ($(#[doc = $doc:literal])* $name:ident = $words:expr;) => {
        $(#[doc = $doc])*
        pub(crate) struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> SchemaRef {
                word_schema($words)
            }
        }

        impl ToSchema for $name {}
    };
}

words! {
    /// A user's role.
    RoleWord = adpool_accounts::Role::ALL.map(adpool_accounts::Role::as_str);
}
words! {
    /// Where a background job stands.
    JobStateWord = adpool_jobs::JobState::ALL.map(adpool_jobs::JobState::as_str);
}
words! {
    /// A forecast-pool campaign's or ad's status (any letter case).
    CampaignStatusWord = adpool_inventory::Status::ALL.map(adpool_inventory::Status::as_str);
}
words! {
    /// A CPC campaign state an advertiser or operator may set (review states are the
    /// reviewer's).
    CpcStateWord = ["active", "paused", "ended"];
}
words! {
    /// A CPC ad's serving state.
    AdStateWord = ["active", "paused"];
}
words! {
    /// Which inventory a build makes.
    BuildLevelWord = ["standard", "unit"];
}
words! {
    /// A shop platform.
    PlatformWord = adpool_commerce::Platform::ALL.map(adpool_commerce::Platform::as_str);
}
words! {
    /// The period of the sales dashboard.
    PeriodWord = ["day", "week", "month", "year"];
}
words! {
    /// A marketing message's channel.
    ChannelWord = adpool_insight::messages::Channel::ALL.map(adpool_insight::messages::Channel::as_str);
}
words! {
    /// A marketing message's tone.
    ToneWord = adpool_insight::messages::Tone::ALL.map(adpool_insight::messages::Tone::as_str);
}
words! {
    /// The language messages are written in.
    LangWord = ["ko", "en"];
}
words! {
    /// A spending category id (`cafe`, `dining`, `online_shopping`, ...).
    CategoryWord = adpool_insight::categories::CATEGORIES
        .iter()
        .map(|(id, _, _)| *id)
        .chain([adpool_insight::categories::UNCATEGORIZED]);
}

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
