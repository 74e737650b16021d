//! One log line (DOMAIN.md section B): strict parsing, device and app classes, exact milli-won.
//!
//! A line is refused (and with it the whole file) when it is not a JSON object, when `ts` is not
//! a whole number of seconds, when `ev` is not one of `req res psb imp clk`, when `mid` is not a
//! string, when an id in `ads[0]` is not a whole number, or when `rev` is negative, not a number,
//! or has more than 3 decimals. A missing `ads`, an empty or null list, or a missing id counts as
//! 0; a missing `rev` is 0.

use serde::Deserialize;

/// The kind of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Ad request.
    Request,
    /// Ad response.
    Response,
    /// Passback.
    Passback,
    /// Impression.
    Impression,
    /// Click.
    Click,
}

/// Device class of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Device {
    /// Desktop.
    Pc,
    /// Phone or tablet.
    Mobile,
    /// Unknown.
    All,
}

impl Device {
    /// `PC`, `MOBILE` or `ALL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Pc => "PC",
            Device::Mobile => "MOBILE",
            Device::All => "ALL",
        }
    }

    /// A raw `dev` value: `pc` -> PC; `mobile`, `tablet` -> MOBILE (any case); else none.
    pub fn from_raw(raw: &str) -> Option<Device> {
        if raw.eq_ignore_ascii_case("pc") {
            Some(Device::Pc)
        } else if raw.eq_ignore_ascii_case("mobile") || raw.eq_ignore_ascii_case("tablet") {
            Some(Device::Mobile)
        } else {
            None
        }
    }

    /// `PC`, `MOBILE`, `ALL` as stored in metadata (any case).
    pub fn parse(text: &str) -> Option<Device> {
        match text.trim().to_ascii_uppercase().as_str() {
            "PC" => Some(Device::Pc),
            "MOBILE" => Some(Device::Mobile),
            "ALL" => Some(Device::All),
            _ => None,
        }
    }
}

/// App class of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum App {
    /// Mobile or desktop web.
    Web,
    /// iOS app.
    Ios,
    /// Android app.
    Aos,
    /// Unknown.
    All,
}

impl App {
    /// `WEB`, `IOS`, `AOS` or `ALL`.
    pub fn as_str(self) -> &'static str {
        match self {
            App::Web => "WEB",
            App::Ios => "IOS",
            App::Aos => "AOS",
            App::All => "ALL",
        }
    }

    /// A raw `app` value: `web`, `ios`, `aos`/`android` (any case); else ALL.
    pub fn from_raw(raw: Option<&str>) -> App {
        match raw {
            Some(r) if r.eq_ignore_ascii_case("web") => App::Web,
            Some(r) if r.eq_ignore_ascii_case("ios") => App::Ios,
            Some(r) if r.eq_ignore_ascii_case("aos") || r.eq_ignore_ascii_case("android") => {
                App::Aos
            }
            _ => App::All,
        }
    }
}

/// A parsed line, ready to aggregate. It borrows its media key from the line's text when it
/// can (no allocation per line).
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine<'a> {
    /// Unix seconds (UTC).
    pub ts: i64,
    /// Kind.
    pub kind: EventKind,
    /// Media key.
    pub media_key: std::borrow::Cow<'a, str>,
    /// Inventory (ad-unit) id.
    pub inventory_id: i64,
    /// Ad id.
    pub ad_id: i64,
    /// Demand partner id.
    pub demand_id: i64,
    /// Device from `dev`, when recognised.
    pub device: Option<Device>,
    /// App class.
    pub app: App,
    /// Revenue in milli-won.
    pub revenue_milli: i64,
}

impl LogLine<'_> {
    /// The same line, owning its media key.
    pub fn into_owned(self) -> LogLine<'static> {
        LogLine {
            media_key: std::borrow::Cow::Owned(self.media_key.into_owned()),
            ..self
        }
    }
}

#[derive(Deserialize)]
struct RawLine<'a> {
    ts: Option<serde_json::Number>,
    #[serde(borrow)]
    ev: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    mid: Option<std::borrow::Cow<'a, str>>,
    ads: Option<FirstAd>,
    #[serde(borrow)]
    dev: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    app: Option<std::borrow::Cow<'a, str>>,
    rev: Option<serde_json::Number>,
}

#[derive(Deserialize, Default)]
struct RawAd {
    aid: Option<serde_json::Number>,
    #[serde(rename = "_god")]
    god: Option<serde_json::Number>,
    did: Option<serde_json::Number>,
}

/// The first element of `ads` (the rest are read and dropped, without a list in memory).
#[derive(Default)]
struct FirstAd(RawAd);

impl<'de> Deserialize<'de> for FirstAd {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = FirstAd;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of ads")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<FirstAd, A::Error> {
                let first = seq.next_element::<RawAd>()?.unwrap_or_default();
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(FirstAd(first))
            }
        }
        deserializer.deserialize_seq(Visitor)
    }
}

fn whole(field: &str, number: Option<&serde_json::Number>) -> Result<i64, String> {
    match number {
        None => Ok(0),
        Some(n) => n
            .as_i64()
            .ok_or_else(|| format!("{field} {n} is not a whole number")),
    }
}

/// The most one event may earn, in won (a billion: no impression or click comes near it). The
/// bound keeps a report row's sum of millions of events far inside `i64` milli-won.
pub const MAX_EVENT_REVENUE_WON: i64 = 1_000_000_000;

/// Revenue in won (at most 3 decimals, at most [`MAX_EVENT_REVENUE_WON`]) as exact milli-won.
pub fn revenue_milli(rev: &serde_json::Number) -> Result<i64, String> {
    let too_large = || format!("rev {rev} is negative or above {MAX_EVENT_REVENUE_WON} won");
    if let Some(whole) = rev.as_i64() {
        return (0..=MAX_EVENT_REVENUE_WON)
            .contains(&whole)
            .then(|| whole * 1000)
            .ok_or_else(too_large);
    }
    let value = rev
        .as_f64()
        .ok_or_else(|| format!("rev {rev} is not a number"))?;
    if !value.is_finite() || !(0.0..=MAX_EVENT_REVENUE_WON as f64).contains(&value) {
        return Err(too_large());
    }
    let scaled = value * 1000.0;
    let milli = scaled.round();
    if (scaled - milli).abs() > 1e-6 * scaled.abs().max(1.0) {
        return Err(format!("rev {rev} has more than 3 decimals"));
    }
    Ok(milli as i64)
}

/// Parses one line.
pub fn parse_line(text: &str) -> Result<LogLine<'_>, String> {
    let raw: RawLine<'_> = serde_json::from_str(text).map_err(|e| diagnose(text, &e))?;
    let ts = raw
        .ts
        .as_ref()
        .ok_or("ts is missing")?
        .as_i64()
        .ok_or_else(|| "ts is not whole unix seconds".to_owned())?;
    let kind = match raw.ev.as_deref() {
        Some("req") => EventKind::Request,
        Some("res") => EventKind::Response,
        Some("psb") => EventKind::Passback,
        Some("imp") => EventKind::Impression,
        Some("clk") => EventKind::Click,
        Some(other) => return Err(format!("ev '{other}' is not req, res, psb, imp or clk")),
        None => return Err("ev is missing".into()),
    };
    let media_key = raw.mid.ok_or("mid is missing")?;
    if media_key.contains('\0') {
        // Report rows store it as text, which cannot hold a NUL character.
        return Err("mid holds a NUL character".into());
    }
    let first = raw.ads.unwrap_or_default().0;
    Ok(LogLine {
        ts,
        kind,
        media_key,
        inventory_id: whole("ads[0].aid", first.aid.as_ref())?,
        ad_id: whole("ads[0]._god", first.god.as_ref())?,
        demand_id: whole("ads[0].did", first.did.as_ref())?,
        device: raw.dev.as_deref().and_then(Device::from_raw),
        app: App::from_raw(raw.app.as_deref()),
        revenue_milli: raw
            .rev
            .as_ref()
            .map(revenue_milli)
            .transpose()?
            .unwrap_or(0),
    })
}

/// The slow path of a refused line: name the field that is wrong, with what was found.
fn diagnose(text: &str, error: &serde_json::Error) -> String {
    use serde_json::Value;
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return format!("not a JSON event: {error}");
    };
    let Some(object) = value.as_object() else {
        return format!("not a JSON object: {}", short(&value));
    };
    let expect = |field: &str, ok: fn(&Value) -> bool, what: &str| -> Option<String> {
        object
            .get(field)
            .filter(|v| !v.is_null() && !ok(v))
            .map(|v| format!("{field} must be {what}, found {}", short(v)))
    };
    expect("ts", |v| v.is_i64() || v.is_u64(), "whole unix seconds")
        .or_else(|| expect("ev", Value::is_string, "a string"))
        .or_else(|| expect("mid", Value::is_string, "a string"))
        .or_else(|| expect("ads", Value::is_array, "a list"))
        .or_else(|| expect("dev", Value::is_string, "a string"))
        .or_else(|| expect("app", Value::is_string, "a string"))
        .or_else(|| expect("rev", Value::is_number, "a number"))
        .unwrap_or_else(|| format!("not a valid event: {error}"))
}

fn short(value: &serde_json::Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_domain_example_parses() {
        let line = parse_line(r#"{"ts": 1763650800, "ev": "imp", "mid": "m-1001", "ads": [{"aid": 501, "_god": 9001, "did": 31}], "dev": "mobile", "app": "ios", "rev": 12.5}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            line,
            LogLine {
                ts: 1_763_650_800,
                kind: EventKind::Impression,
                media_key: "m-1001".into(),
                inventory_id: 501,
                ad_id: 9001,
                demand_id: 31,
                device: Some(Device::Mobile),
                app: App::Ios,
                revenue_milli: 12_500,
            }
        );
    }

    #[test]
    fn missing_and_empty_parts_count_as_zero_or_unknown() {
        for ads in ["", r#","ads":null"#, r#","ads":[]"#, r#","ads":[{}]"#] {
            let text = format!(r#"{{"ts":1,"ev":"req","mid":"m"{ads}}}"#);
            let line = parse_line(&text).unwrap_or_else(|e| panic!("{ads}: {e}"));
            assert_eq!(
                (
                    line.inventory_id,
                    line.ad_id,
                    line.demand_id,
                    line.revenue_milli
                ),
                (0, 0, 0, 0)
            );
            assert_eq!((line.device, line.app), (None, App::All));
        }
        let line = parse_line(
            r#"{"ts":1,"ev":"clk","mid":"m","dev":"TABLET","app":"Android","rev":0.001}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (line.device, line.app, line.revenue_milli),
            (Some(Device::Mobile), App::Aos, 1)
        );
        assert_eq!(Device::from_raw("PC"), Some(Device::Pc));
        assert_eq!(Device::from_raw("tv"), None);
        assert_eq!(App::from_raw(Some("WEB")), App::Web);
    }

    #[test]
    fn malformed_lines_say_what_is_wrong() {
        for (text, expected) in [
            ("not json", "not a JSON event"),
            (r#"{"ev":"imp","mid":"m"}"#, "ts is missing"),
            (r#"{"ts":1.5,"ev":"imp","mid":"m"}"#, "whole unix seconds"),
            (r#"{"ts":1,"ev":"view","mid":"m"}"#, "'view'"),
            (r#"{"ts":1,"mid":"m"}"#, "ev is missing"),
            (r#"{"ts":1,"ev":"imp"}"#, "mid is missing"),
            (
                r#"{"ts":1,"ev":"imp","mid":"m","rev":1.2345}"#,
                "more than 3 decimals",
            ),
            (r#"{"ts":1,"ev":"imp","mid":"m","rev":-1}"#, "negative"),
            (
                r#"{"ts":1,"ev":"imp","mid":"m","rev":"1"}"#,
                "rev must be a number, found \"1\"",
            ),
            (
                r#"{"ts":"yesterday","ev":"imp","mid":"m"}"#,
                "ts must be whole unix seconds, found \"yesterday\"",
            ),
            (r#"[1,2]"#, "not a JSON object"),
            (
                r#"{"ts":1,"ev":"imp","mid":"m","ads":[{"aid":1.5}]}"#,
                "ads[0].aid",
            ),
        ] {
            let error = parse_line(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    proptest! {
        #[test]
        fn revenue_with_up_to_three_decimals_is_exact(milli in 0i64..1_000_000_000_000) {
            let text = format!("{}.{:03}", milli / 1000, milli % 1000);
            let number: serde_json::Number = serde_json::from_str(&text).unwrap_or_else(|_| unreachable!());
            prop_assert_eq!(revenue_milli(&number), Ok(milli));
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,200}") {
            let _ = parse_line(&text);
        }
    }
}
