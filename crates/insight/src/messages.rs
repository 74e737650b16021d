//! Marketing messages: channels and their limits, the facts a message is written from, the
//! built-in offline writer, and the limits enforced after any writer (the AI included).

use serde::{Deserialize, Serialize};

use crate::analysis::{Report, segment_label};
use crate::categories::label;

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// SMS: 90 bytes in EUC-KR.
    Sms,
    /// LMS: 2,000 bytes in EUC-KR.
    Lms,
    /// KakaoTalk message: 1,000 characters.
    Kakao,
    /// App push: 120 characters.
    Push,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 4] = [Channel::Sms, Channel::Lms, Channel::Kakao, Channel::Push];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Lms => "lms",
            Channel::Kakao => "kakao",
            Channel::Push => "push",
        }
    }

    /// Reads a stored word.
    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == text.trim().to_ascii_lowercase())
    }

    /// The limit, as the carrier counts it.
    pub fn limit(self) -> Limit {
        match self {
            Channel::Sms => Limit::EucKrBytes(90),
            Channel::Lms => Limit::EucKrBytes(2000),
            Channel::Kakao => Limit::Chars(1000),
            Channel::Push => Limit::Chars(120),
        }
    }
}

/// A length limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Limit {
    /// Bytes once encoded in EUC-KR (Korean SMS gateways); characters EUC-KR cannot write
    /// (emoji) are not allowed.
    EucKrBytes(usize),
    /// Characters.
    Chars(usize),
}

impl Limit {
    /// The size of `text` in this limit's unit.
    pub fn measure(self, text: &str) -> usize {
        match self {
            Limit::EucKrBytes(_) => euc_kr_bytes(text),
            Limit::Chars(_) => text.chars().count(),
        }
    }

    /// The maximum.
    pub fn max(self) -> usize {
        match self {
            Limit::EucKrBytes(n) | Limit::Chars(n) => n,
        }
    }
}

/// Bytes of `text` in EUC-KR (2 per Hangul syllable, 1 per ASCII character).
pub fn euc_kr_bytes(text: &str) -> usize {
    let (bytes, _, _) = encoding_rs::EUC_KR.encode(text);
    bytes.len()
}

fn euc_kr_writable(c: char) -> bool {
    let mut buffer = [0u8; 4];
    let (_, _, unmappable) = encoding_rs::EUC_KR.encode(c.encode_utf8(&mut buffer));
    !unmappable
}

/// `text` made to fit `channel`: characters EUC-KR cannot write dropped (SMS/LMS), then cut
/// at a character boundary with `…` when too long. Returns the text and whether it was cut.
pub fn enforce(channel: Channel, text: &str) -> (String, bool) {
    let limit = channel.limit();
    let mut text: String = text.trim().to_owned();
    if matches!(limit, Limit::EucKrBytes(_)) {
        text = text.chars().filter(|c| euc_kr_writable(*c)).collect();
        text = text.trim().to_owned();
    }
    if limit.measure(&text) <= limit.max() {
        return (text, false);
    }
    let ellipsis = "…";
    let budget = limit.max() - limit.measure(ellipsis);
    let mut out = String::new();
    for c in text.chars() {
        let mut next = out.clone();
        next.push(c);
        if limit.measure(&next) > budget {
            break;
        }
        out = next;
    }
    let mut out = out.trim_end().to_owned();
    out.push_str(ellipsis);
    (out, true)
}

/// The voice of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    /// Warm and casual.
    Friendly,
    /// Polite and plain.
    Formal,
    /// Light and witty.
    Playful,
    /// Time-limited, to act now.
    Urgent,
}

impl Tone {
    /// Every tone.
    pub const ALL: [Tone; 4] = [Tone::Friendly, Tone::Formal, Tone::Playful, Tone::Urgent];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Tone::Friendly => "friendly",
            Tone::Formal => "formal",
            Tone::Playful => "playful",
            Tone::Urgent => "urgent",
        }
    }

    /// Reads a stored word.
    pub fn parse(text: &str) -> Option<Tone> {
        Tone::ALL
            .into_iter()
            .find(|t| t.as_str() == text.trim().to_ascii_lowercase())
    }
}

/// What to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRequest {
    /// An RFM segment key, or none for everyone in the analysis.
    pub segment: Option<String>,
    /// The channel.
    pub channel: Channel,
    /// The tone.
    pub tone: Tone,
    /// `ko` or `en`.
    pub lang: String,
    /// How many messages (1..=10).
    pub count: usize,
}

/// The facts a message is written from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Facts {
    /// The segment's key, when the messages are for one.
    pub segment: Option<String>,
    /// Who: the segment's name or "customers".
    pub audience: String,
    /// How many of them (0 when unknown).
    pub audience_size: i64,
    /// Their biggest categories, as labels.
    pub top_categories: Vec<String>,
    /// The category growing the most last month, as a label, with its change in percent.
    pub rising: Option<(String, f64)>,
    /// The biggest merchants.
    pub top_merchants: Vec<String>,
    /// Average spend per purchase (or per customer in a segment), won.
    pub average_spend: i64,
    /// The period.
    pub period: String,
}

/// The facts of `report` for `request`.
pub fn facts(report: &Report, request: &MessageRequest) -> Facts {
    let korean = request.lang == "ko";
    let segment = request
        .segment
        .as_deref()
        .and_then(|s| report.segments.iter().find(|g| g.key == s));
    let top_categories: Vec<String> = match segment {
        Some(s) => s.top_categories.clone(),
        None => report
            .by_category
            .iter()
            .take(3)
            .map(|c| c.key.clone())
            .collect(),
    }
    .iter()
    .filter(|c| c.as_str() != crate::categories::UNCATEGORIZED)
    .map(|c| label(c, korean).to_owned())
    .collect();
    Facts {
        segment: segment.map(|s| s.key.clone()),
        audience: segment.map_or_else(
            || {
                if korean {
                    "고객".to_owned()
                } else {
                    "customers".to_owned()
                }
            },
            |s| segment_label(&s.key, korean).to_owned(),
        ),
        audience_size: segment.map_or(report.customers, |s| s.customers),
        top_categories,
        rising: report
            .month_over_month
            .iter()
            .find(|c| {
                c.change_pct.is_some_and(|p| p > 0.0)
                    && c.category != crate::categories::UNCATEGORIZED
            })
            .map(|c| {
                (
                    label(&c.category, korean).to_owned(),
                    c.change_pct.unwrap_or(0.0),
                )
            }),
        top_merchants: report
            .top_merchants
            .iter()
            .take(3)
            .map(|m| m.key.clone())
            .collect(),
        average_spend: segment.map_or(report.average_purchase, |s| s.average_spend),
        period: format!("{} ~ {}", report.from, report.to),
    }
}

/// The built-in writer: messages from the facts, different for each index, in the tone and
/// language asked; short forms for SMS and push.
pub fn offline_messages(facts: &Facts, request: &MessageRequest) -> Vec<String> {
    let korean = request.lang == "ko";
    let category = facts.top_categories.first().cloned().unwrap_or_else(|| {
        if korean {
            "생활".into()
        } else {
            "everyday".into()
        }
    });
    let second = facts.top_categories.get(1).cloned();
    let rising = facts
        .rising
        .as_ref()
        .map(|(c, _)| c.clone())
        .filter(|c| *c != category)
        .or_else(|| second.clone())
        .unwrap_or_else(|| category.clone());
    // "카페와 배달앱" when there are two categories, else just the one.
    let both_ko = second
        .as_ref()
        .map_or_else(|| category.clone(), |s| format!("{category}와 {s}"));
    let both_en = second
        .as_ref()
        .map_or_else(|| category.clone(), |s| format!("{category} and {s}"));
    // Customers never read which segment they are in: the segment sets the greeting.
    let greeting_ko = match facts.segment.as_deref() {
        Some("champions" | "loyal") => "늘 찾아주셔서 감사해요!",
        Some("at_risk" | "hibernating") => "오랜만이에요, 다시 만나고 싶어요!",
        Some("new" | "potential") => "반가워요!",
        _ => "안녕하세요!",
    };
    let greeting_en = match facts.segment.as_deref() {
        Some("champions" | "loyal") => "Thank you for being with us!",
        Some("at_risk" | "hibernating") => "We miss you!",
        Some("new" | "potential") => "Welcome!",
        _ => "Hi there!",
    };
    let short = matches!(request.channel, Channel::Sms | Channel::Push);
    let ad = |body: String| match (korean, request.channel) {
        // Korean law: advertising texts start with (광고).
        (true, Channel::Sms | Channel::Lms) => format!("(광고) {body}"),
        _ => body,
    };
    (0..request.count)
        .map(|i| {
            let body = match (korean, request.tone, short) {
                (true, Tone::Friendly, true) => [
                    format!("{category} 좋아하시죠? 이번 주 {category} 10% 할인 쿠폰 드려요!"),
                    format!("{rising} 관심 늘었죠? 지금 {rising} 특가 확인하세요~"),
                    format!("자주 찾는 {category}, 오늘은 적립 2배예요!"),
                ][i % 3].clone(),
                (true, Tone::Formal, true) => [
                    format!("고객님께 {category} 10% 할인 쿠폰을 드립니다."),
                    format!("{rising} 신상품 안내: 회원 전용 혜택을 확인하세요."),
                    format!("{category} 이용 고객 감사 적립 혜택을 안내드립니다."),
                ][i % 3].clone(),
                (true, Tone::Playful, true) => [
                    format!("{category} 없인 못 살죠? 쿠폰 받고 하나 더!"),
                    format!("요즘 {rising}에 푹 빠지셨네요! 특가 놓치지 마세요"),
                    format!("{category} 타임! 오늘만 적립 2배 찬스"),
                ][i % 3].clone(),
                (true, Tone::Urgent, true) => [
                    format!("오늘 자정 마감! {category} 15% 할인 쿠폰"),
                    format!("단 48시간, {rising} 특가 마감 임박!"),
                    format!("마지막 기회: {category} 적립 2배 오늘까지"),
                ][i % 3].clone(),
                (true, tone, false) => {
                    let opener = match tone {
                        Tone::Friendly => format!("고객님, {greeting_ko}"),
                        Tone::Formal => format!("고객님, {greeting_ko} 특별한 혜택을 안내드립니다."),
                        Tone::Playful => format!("{greeting_ko} 요즘 {category}에 진심이시죠?"),
                        Tone::Urgent => format!("{greeting_ko} 이번 주말까지만 드리는 혜택이에요."),
                    };
                    let offer = [
                        format!("자주 이용하시는 {both_ko}에서 쓸 수 있는 10% 할인 쿠폰을 준비했어요."),
                        format!("최근 관심이 늘어난 {rising} 신상품을 먼저 만나보시고, 첫 구매 시 적립금 2배를 받아가세요."),
                        format!("평균 {}원 정도 쓰시는 고객님을 위해 {}원 이상 구매 시 무료배송을 드려요.", adpool_core::group_thousands(facts.average_spend.max(0).unsigned_abs()), adpool_core::group_thousands((facts.average_spend.max(10_000) as u64).div_ceil(10_000) * 10_000)),
                    ][i % 3].clone();
                    format!("{opener} {offer} 지금 앱에서 확인하세요.")
                }
                (false, Tone::Friendly, true) => [
                    format!("Love {category}? Here's 10% off this week!"),
                    format!("Into {rising} lately? See today's picks."),
                    format!("Double points on {category} today!"),
                ][i % 3].clone(),
                (false, Tone::Formal, true) => [
                    format!("A 10% {category} coupon is waiting for you."),
                    format!("New in {rising}: member-only offers inside."),
                    format!("Thank you: double points on {category}."),
                ][i % 3].clone(),
                (false, Tone::Playful, true) => [
                    format!("{category} again? We saw that. 10% off!"),
                    format!("{rising} fan spotted! Grab a deal."),
                    format!("It's {category} o'clock: double points!"),
                ][i % 3].clone(),
                (false, Tone::Urgent, true) => [
                    format!("Ends tonight: 15% off {category}!"),
                    format!("48 hours left on {rising} deals!"),
                    format!("Last chance: double points on {category}"),
                ][i % 3].clone(),
                (false, tone, false) => {
                    let opener = match tone {
                        Tone::Friendly => greeting_en.to_owned(),
                        Tone::Formal => format!("Dear customer, {}", greeting_en.to_lowercase()),
                        Tone::Playful => format!("{greeting_en} Still all about {}?", category.to_lowercase()),
                        Tone::Urgent => format!("{greeting_en} Only until Sunday:"),
                    };
                    let offer = [
                        format!("Enjoy 10% off {both_en}, the places you shop most."),
                        format!("Be first to see what's new in {rising}, and earn double points on your first order."),
                        format!("Free delivery on orders over {} won, made for how you shop.", adpool_core::group_thousands((facts.average_spend.max(10_000) as u64).div_ceil(10_000) * 10_000)),
                    ][i % 3].clone();
                    format!("{opener} {offer} Open the app to see it.")
                }
            };
            // More messages than templates: number the variants so each is distinct.
            let body = if i >= 3 {
                if korean {
                    format!("{body} ({}차)", i / 3 + 1)
                } else {
                    format!("{body} (#{})", i / 3 + 1)
                }
            } else {
                body
            };
            ad(body)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sms_counts_euc_kr_bytes_and_drops_what_it_cannot_write() {
        assert_eq!(euc_kr_bytes("가나다abc"), 9);
        let (text, cut) = enforce(Channel::Sms, "할인 🎉 쿠폰");
        assert_eq!((text.as_str(), cut), ("할인  쿠폰", false));
        let long = "가".repeat(60);
        let (text, cut) = enforce(Channel::Sms, &long);
        assert!(cut);
        assert!(euc_kr_bytes(&text) <= 90);
        assert!(text.ends_with('…'));
    }

    fn facts() -> Facts {
        Facts {
            segment: Some("loyal".into()),
            audience: "충성 고객".into(),
            audience_size: 120,
            top_categories: vec!["카페·베이커리".into(), "배달앱".into()],
            rising: Some(("온라인쇼핑".into(), 35.0)),
            top_merchants: vec!["스타벅스".into()],
            average_spend: 23_400,
            period: "2026-09-01 ~ 2026-11-30".into(),
        }
    }

    #[test]
    fn offline_messages_fit_every_channel_and_are_distinct() {
        for channel in Channel::ALL {
            for tone in Tone::ALL {
                for lang in ["ko", "en"] {
                    let request = MessageRequest {
                        segment: None,
                        channel,
                        tone,
                        lang: lang.into(),
                        count: 7,
                    };
                    let messages = offline_messages(&facts(), &request);
                    assert_eq!(messages.len(), 7);
                    let mut unique = messages.clone();
                    unique.sort();
                    unique.dedup();
                    assert_eq!(unique.len(), 7, "{channel:?} {tone:?} {lang}");
                    for m in &messages {
                        let (_, cut) = enforce(channel, m);
                        assert!(
                            !cut,
                            "{channel:?} {tone:?} {lang}: {m} ({} bytes)",
                            euc_kr_bytes(m)
                        );
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn enforced_text_always_fits(text in "\\PC{0,400}", channel in 0usize..4) {
            let channel = Channel::ALL[channel];
            let (out, _) = enforce(channel, &text);
            prop_assert!(channel.limit().measure(&out) <= channel.limit().max());
        }
    }
}
