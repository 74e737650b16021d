//! Transaction statements: a grid of cells (any encoding, CSV or XLSX; `adpool_tables`) ->
//! the header row found below title rows, the columns recognised by a known card layout or a
//! saved mapping, and every line parsed or rejected with its reason. Pure: no database.

use std::collections::HashMap;

use adpool_core::{BusinessDate, Won};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Which header names the columns of a statement have. Required: date, merchant, amount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnMapping {
    /// The day of the transaction.
    #[schema(pattern = "[^\\s\\u0085]")]
    pub date: String,
    /// The merchant (가맹점).
    #[schema(pattern = "[^\\s\\u0085]")]
    pub merchant: String,
    /// The amount in won.
    #[schema(pattern = "[^\\s\\u0085]")]
    pub amount: String,
    /// The merchant's industry (업종).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "[^\\s\\u0085]")]
    pub industry: Option<String>,
    /// A cancellation mark (취소여부: Y/N, 취소/정상).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "[^\\s\\u0085]")]
    pub cancel: Option<String>,
    /// Installment months (할부개월; 일시불 = none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "[^\\s\\u0085]")]
    pub installment: Option<String>,
    /// A customer id (for RFM segments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "[^\\s\\u0085]")]
    pub customer: Option<String>,
    /// The card used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "[^\\s\\u0085]")]
    pub card: Option<String>,
    /// The approval number (승인번호): pairs a cancellation row with its purchase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "[^\\s\\u0085]")]
    pub approval: Option<String>,
}

impl ColumnMapping {
    /// The mapped (field, header) pairs.
    pub fn fields(&self) -> Vec<(&'static str, &str)> {
        let mut out = vec![
            ("date", self.date.as_str()),
            ("merchant", self.merchant.as_str()),
            ("amount", self.amount.as_str()),
        ];
        for (field, header) in [
            ("industry", &self.industry),
            ("cancel", &self.cancel),
            ("installment", &self.installment),
            ("customer", &self.customer),
            ("card", &self.card),
            ("approval", &self.approval),
        ] {
            if let Some(header) = header {
                out.push((field, header.as_str()));
            }
        }
        out
    }
}

/// The card-company layouts recognised by their headers: (name, date, merchant, amount,
/// other headers that must be there too). Checked in this order.
const LAYOUTS: &[(&str, &str, &str, &str, &[&str])] = &[
    ("롯데카드", "이용일자", "이용가맹점", "이용금액", &["업종"]),
    (
        "KB국민카드",
        "이용일",
        "이용하신곳",
        "국내이용금액(원)",
        &["이용카드명"],
    ),
    ("삼성카드", "승인일자", "가맹점명", "승인금액(원)", &[]),
    ("신한카드", "거래일자", "이용가맹점", "거래금액", &[]),
    ("현대카드", "이용일", "이용가맹점", "이용금액", &[]),
    ("adpool", "date", "merchant", "amount", &[]),
];

/// Optional columns found by any of their usual headers.
const OPTIONAL: &[(&str, &[&str])] = &[
    ("industry", &["업종", "업종명", "가맹점업종", "industry"]),
    (
        "cancel",
        &[
            "취소여부",
            "취소구분",
            "승인구분",
            "거래구분",
            "취소상태",
            "상태",
            "cancelled",
        ],
    ),
    (
        "installment",
        &[
            "할부개월",
            "할부",
            "할부기간",
            "결제방법",
            "결제구분",
            "이용구분",
            "installment_months",
        ],
    ),
    (
        "customer",
        &["고객번호", "고객ID", "회원번호", "회원ID", "customer_id"],
    ),
    (
        "card",
        &["이용카드명", "이용카드", "카드명", "카드번호", "card"],
    ),
    ("approval", &["승인번호", "approval_no"]),
];

/// How far down a statement its header may be.
const HEADER_SEARCH_ROWS: usize = 30;

/// What a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Spend.
    Purchase,
    /// A purchase marked cancelled: kept, not spend.
    Cancelled,
    /// A negative amount: spend given back.
    Refund,
}

impl LineKind {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Purchase => "purchase",
            LineKind::Cancelled => "cancelled",
            LineKind::Refund => "refund",
        }
    }
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    /// Its row in the file.
    pub row: u64,
    /// The KST day.
    pub day: BusinessDate,
    /// The merchant as written.
    pub merchant: String,
    /// Whole won (negative for a refund).
    pub amount: i64,
    /// Purchase, cancelled or refund.
    pub kind: LineKind,
    /// 0 for a lump-sum payment (일시불).
    pub installment_months: i64,
    /// The industry column.
    pub industry: Option<String>,
    /// The customer id column.
    pub customer: Option<String>,
    /// The card column.
    pub card: Option<String>,
}

impl StatementLine {
    /// What makes two lines the same purchase (hex SHA-256, 128 bits).
    pub fn content_hash(&self) -> String {
        let mut hash = Sha256::new();
        let (year, month, day) = {
            use chrono::Datelike;
            let d = self.day.naive();
            (d.year(), d.month(), d.day())
        };
        hash.update(year.to_le_bytes());
        hash.update([month as u8, day as u8]);
        hash.update(self.amount.to_le_bytes());
        hash.update(self.installment_months.to_le_bytes());
        for part in [
            self.merchant.as_str(),
            self.kind.as_str(),
            self.customer.as_deref().unwrap_or(""),
            self.card.as_deref().unwrap_or(""),
        ] {
            hash.update(part.as_bytes());
            hash.update([0x1f]);
        }
        hex::encode(&hash.finalize()[..16])
    }
}

/// A line that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The worksheet it is on (empty for a text file).
    pub sheet: String,
    /// Its row in the file.
    pub row: u64,
    /// The column's header.
    pub column: String,
    /// The value.
    pub value: String,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.sheet.is_empty() {
            write!(f, "sheet {}, ", self.sheet)?;
        }
        write!(
            f,
            "row {}, column {}, value '{}': {}",
            self.row, self.column, self.value, self.reason
        )
    }
}

/// A statement read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// The file's name.
    pub file: String,
    /// The text encoding (or XLSX).
    pub encoding: &'static str,
    /// The recognised layout (`롯데카드`, ...) or `mapping: NAME`.
    pub layout: String,
    /// The header's row number.
    pub header_row: u64,
    /// The header cells.
    pub header: Vec<String>,
    /// The columns used.
    pub mapping: ColumnMapping,
    /// Lines read.
    pub lines: Vec<StatementLine>,
    /// Lines that could not be read.
    pub rejected: Vec<Rejected>,
    /// Totals rows (합계) skipped.
    pub totals_skipped: usize,
    /// The worksheets whose lines were read (empty for a text file).
    pub sheets: Vec<String>,
}

impl Statement {
    /// Takes in the lines of another worksheet of the same file.
    pub fn absorb(&mut self, other: Statement) {
        self.lines.extend(other.lines);
        self.rejected.extend(other.rejected);
        self.totals_skipped += other.totals_skipped;
        self.sheets.extend(other.sheets);
    }

    /// Names the worksheet the statement was read from.
    pub fn on_sheet(mut self, sheet: &str) -> Statement {
        if !sheet.is_empty() {
            self.sheets = vec![sheet.to_owned()];
            for rejected in &mut self.rejected {
                rejected.sheet = sheet.to_owned();
            }
        }
        self
    }
}

/// Why a statement cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum LayoutError {
    /// No known layout and no mapping fits; `candidates` is the likely header row.
    Unknown {
        /// The row number of the likely header.
        row: u64,
        /// Its cells, to map by hand.
        candidates: Vec<String>,
    },
    /// The named mapping's headers are not in the file.
    MappingDoesNotFit {
        /// Headers the mapping needs that no row of the first 30 has.
        missing: Vec<String>,
    },
}

fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The header row: the first of the top rows holding every header of `needed`.
fn find_header<'a>(
    rows: &'a [(u64, Vec<String>)],
    needed: &[&str],
) -> Option<(usize, &'a (u64, Vec<String>))> {
    rows.iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .find(|(_, (_, cells))| {
            let cells: Vec<String> = cells.iter().map(|c| squash(c)).collect();
            needed.iter().all(|n| cells.contains(&squash(n)))
        })
}

/// A header split over two rows, as merged cells leave it: a cell spanning both rows has its
/// name in the top row only; a group name (`해외이용`) spans the columns whose own names sit
/// below it (`현지금액`, `원화`). Each pair of rows near the top is tried as one header, read
/// both ways a layout may name such a column: the name below alone, or the group's name and
/// the name below together (`해외이용원화`). Returns the layout, columns, the header (at the top
/// row's number) and where the lines start.
#[allow(clippy::type_complexity)]
fn two_row_header(
    rows: &[(u64, Vec<String>)],
    mapping: Option<(&str, &ColumnMapping)>,
) -> Option<(String, ColumnMapping, (u64, Vec<String>), usize)> {
    let merge = |top: &[String], bottom: &[String], with_group: bool| {
        let width = top.len().max(bottom.len());
        let mut group = "";
        (0..width)
            .map(|c| {
                let t = top.get(c).map_or("", |t| t.trim());
                let b = bottom.get(c).map_or("", |b| b.trim());
                if !t.is_empty() {
                    group = t;
                } else if b.is_empty() {
                    group = "";
                }
                match (t.is_empty(), b.is_empty()) {
                    (_, true) => t.to_owned(),
                    (true, false) if !with_group || group.is_empty() => b.to_owned(),
                    (false, false) if !with_group => b.to_owned(),
                    _ => format!("{group}{b}"),
                }
            })
            .collect::<Vec<String>>()
    };
    let pairs = rows.len().min(HEADER_SEARCH_ROWS).saturating_sub(1);
    for i in 0..pairs {
        let (top, bottom) = (&rows[i], &rows[i + 1]);
        // A line of the statement is no header: the lower row must hold no day.
        if bottom.1.iter().any(|c| parse_day(c).is_some()) {
            continue;
        }
        for with_group in [false, true] {
            let header = (top.0, merge(&top.1, &bottom.1, with_group));
            if let Ok((0, layout, found)) = recognise(std::slice::from_ref(&header), mapping) {
                return Some((layout, found, header, i + 2));
            }
        }
    }
    None
}

/// Finds the header and the columns: with `mapping` when given, else a known layout.
pub fn recognise(
    rows: &[(u64, Vec<String>)],
    mapping: Option<(&str, &ColumnMapping)>,
) -> Result<(usize, String, ColumnMapping), LayoutError> {
    if let Some((name, mapping)) = mapping {
        let needed: Vec<&str> = mapping.fields().into_iter().map(|(_, h)| h).collect();
        return match find_header(rows, &needed) {
            Some((index, _)) => Ok((index, format!("mapping: {name}"), mapping.clone())),
            None => Err(LayoutError::MappingDoesNotFit {
                missing: needed
                    .iter()
                    .filter(|h| {
                        !rows
                            .iter()
                            .take(HEADER_SEARCH_ROWS)
                            .any(|(_, cells)| cells.iter().any(|c| squash(c) == squash(h)))
                    })
                    .map(|h| (*h).to_owned())
                    .collect(),
            }),
        };
    }
    for (name, date, merchant, amount, others) in LAYOUTS {
        let mut needed = vec![*date, *merchant, *amount];
        needed.extend_from_slice(others);
        if let Some((index, (_, cells))) = find_header(rows, &needed) {
            let header: Vec<String> = cells.iter().map(|c| squash(c)).collect();
            let optional = |field: &str| {
                OPTIONAL
                    .iter()
                    .find(|(f, _)| *f == field)
                    .and_then(|(_, names)| names.iter().find(|n| header.contains(&squash(n))))
                    .map(|n| (*n).to_owned())
            };
            return Ok((
                index,
                (*name).to_owned(),
                ColumnMapping {
                    date: (*date).into(),
                    merchant: (*merchant).into(),
                    amount: (*amount).into(),
                    industry: optional("industry"),
                    cancel: optional("cancel"),
                    installment: optional("installment"),
                    customer: optional("customer"),
                    card: optional("card"),
                    approval: optional("approval"),
                },
            ));
        }
    }
    // The likely header: the top row with the most text cells that are not numbers or dates.
    let candidate = rows
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .max_by_key(|(row, cells)| {
            let words = cells
                .iter()
                .filter(|c| !c.is_empty() && parse_day(c).is_none() && parse_amount(c).is_none())
                .count();
            (words, std::cmp::Reverse(*row))
        })
        .cloned()
        .unwrap_or_default();
    Err(LayoutError::Unknown {
        row: candidate.0,
        candidates: candidate.1.into_iter().filter(|c| !c.is_empty()).collect(),
    })
}

/// A day as statements write it: `YYYY.MM.DD`, `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYYMMDD`,
/// `YY.MM.DD` (KB bills), `2025년 08월 14일` (Hyundai bills) (a time after it is ignored), or an
/// Excel serial day number, with or without a time fraction. Years 1990 to 2100.
pub fn parse_day(text: &str) -> Option<BusinessDate> {
    let text = text.trim();
    if let Some(day) = korean_day(text) {
        return Some(day);
    }
    let date_part = text.split_whitespace().next().unwrap_or("");
    let date_part = date_part.trim_end_matches('.');
    let bytes = date_part.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = bytes.get(range)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let (year, month, day) = if bytes.len() == 8 && bytes.iter().all(u8::is_ascii_digit) {
        (number(0..4)?, number(4..6)?, number(6..8)?)
    } else if bytes.len() == 8 && matches!(bytes[2], b'.' | b'-' | b'/') && bytes[5] == bytes[2] {
        // Two-digit years are this century's.
        (2000 + number(0..2)?, number(3..5)?, number(6..8)?)
    } else if bytes.len() >= 8 && matches!(bytes.get(4), Some(b'.' | b'-' | b'/')) {
        let separator = bytes[4];
        let rest = &date_part[5..];
        let (m, d) = rest.split_once(char::from(separator))?;
        let parse = |t: &str| -> Option<u32> {
            (!t.is_empty() && t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        };
        (number(0..4)?, parse(m)?, parse(d)?)
    } else {
        // Excel day numbers: 1990-01-01 is 32874, 2100-01-01 is 73051.
        let serial: f64 = text.parse().ok()?;
        if !(32874.0..73051.0).contains(&serial) {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(1899, 12, 30)? + Duration::days(serial.trunc() as i64);
        return BusinessDate::from_ymd(
            chrono::Datelike::year(&date),
            chrono::Datelike::month(&date),
            chrono::Datelike::day(&date),
        );
    };
    if !(1990..=2100).contains(&year) {
        return None;
    }
    BusinessDate::from_ymd(year as i32, month, day)
}

/// `2025년 08월 14일` (spaces optional; a time after it ignored).
fn korean_day(text: &str) -> Option<BusinessDate> {
    let (year, rest) = text.split_once('년')?;
    let (month, rest) = rest.split_once('월')?;
    let (day, _) = rest.split_once('일')?;
    let number = |t: &str| -> Option<u32> {
        let t = t.trim();
        (!t.is_empty() && t.len() <= 4 && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let year = number(year)?;
    if !(1990..=2100).contains(&year) {
        return None;
    }
    BusinessDate::from_ymd(year as i32, number(month)?, number(day)?)
}

/// An amount in whole won: what [`Won`] reads (`12300`, `12,300`, `12,300원`, `₩12,300`,
/// `-12,300`), and as statements also write it: `(12,300)` and `△12,300` / `▲12,300`
/// (negative) and `12300.00`.
pub fn parse_amount(text: &str) -> Option<i64> {
    let mut body = text.trim();
    let mut negative = false;
    if let Some(inner) = body.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        negative = true;
        body = inner.trim();
    } else if let Some(inner) = body.strip_prefix(['△', '▲']) {
        // Korean statements mark a negative amount (a refund, a cancellation) with a triangle.
        negative = true;
        body = inner.trim();
    }
    // A whole number written with a zero fraction (Excel's text export).
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    let (whole, fraction) = match fraction.strip_suffix('원') {
        Some(f) => (whole, f),
        None => (whole, fraction),
    };
    if body.contains('.') && (fraction.is_empty() || !fraction.bytes().all(|b| b == b'0')) {
        return None;
    }
    let won: Won = whole.parse().ok()?;
    if negative && won.get() < 0 {
        return None;
    }
    Some(if negative { -won.get() } else { won.get() })
}

/// Installment months: empty, `일시불`, `0`, `1` -> 0; `3`, `3개월`, `무이자3개월` -> 3; a
/// payment-method column (결제방법) as issuers write it: `할부 3개월`, `할부(3)`, `무이자할부 3개월`,
/// `일시불`, `신용일시불`, `체크`.
pub fn parse_installment(text: &str) -> Option<i64> {
    let squashed: String = squash(text)
        .chars()
        .filter(|c| !matches!(c, '(' | ')' | '/' | '-'))
        .collect();
    let squashed = squashed
        .trim_start_matches("신용")
        .replacen("할부", "", 1)
        .replacen("무이자", "", 1);
    if squashed.is_empty() || ["일시불", "체크", "체크카드", "일반"].contains(&squashed.as_str())
    {
        return Some(0);
    }
    let digits: String = squashed.chars().filter(char::is_ascii_digit).collect();
    let rest: String = squashed.chars().filter(|c| !c.is_ascii_digit()).collect();
    if digits.is_empty() || !["", "개월", "개월무이자", "M"].contains(&rest.as_str()) {
        return None;
    }
    let months: i64 = digits.parse().ok()?;
    (months <= 60).then_some(if months <= 1 { 0 } else { months })
}

/// A cancellation mark: `Some(true)` cancelled, `Some(false)` not, `None` unreadable.
pub fn parse_cancel(text: &str) -> Option<bool> {
    match squash(text).to_uppercase().as_str() {
        "" | "-" | "N" | "NO" | "정상" | "승인" | "매출" | "아니오" | "FALSE" | "0" => {
            Some(false)
        }
        "Y" | "YES" | "취소" | "승인취소" | "매출취소" | "전체취소" | "부분취소" | "취소완료"
        | "TRUE" | "1" | "CANCELLED" => Some(true),
        _ => None,
    }
}

/// A subtotal or total row, wherever its word sits (`합계`, `해외이용소계`, `할부소계`,
/// `일시불합계`, `합 계 3 건`, `총 합계`, `Total`). Only asked of rows without a readable date,
/// so a merchant whose name holds such a word is still a purchase.
fn is_totals_row(cells: &[String]) -> bool {
    cells.iter().filter(|c| !c.is_empty()).any(|c| {
        // Cells without one of the words' characters cannot hold one: no allocation for them.
        if !c.contains(['계', 'T', 't']) {
            return false;
        }
        let c = squash(c);
        ["합계", "총계", "소계", "총이용금액"]
            .iter()
            .any(|w| c.contains(w))
            || c.eq_ignore_ascii_case("total")
    })
}

/// A note or footer row (`※ 해외이용금액은 ...`, `■ 유의사항`, `* 결제일 ...`): its first
/// non-empty cell starts with a mark statements put before notes. Only asked of rows without a
/// readable date.
fn is_note_row(cells: &[String]) -> bool {
    cells
        .iter()
        .map(|c| c.trim())
        .find(|c| !c.is_empty())
        .is_some_and(|c| {
            c.starts_with(['※', '■', '□', '*', '☞', '▶', '◆', '●'])
                || squash(c).starts_with("유의사항")
        })
}

/// Reads a statement grid; `mapping` forces a saved mapping (name, columns).
pub fn read_statement(
    file: &str,
    encoding: &'static str,
    rows: &[(u64, Vec<String>)],
    mapping: Option<(&str, &ColumnMapping)>,
) -> Result<Statement, LayoutError> {
    let (layout, mapping, (header_row, header), first_line) = match recognise(rows, mapping) {
        Ok((index, layout, found)) => (layout, found, rows[index].clone(), index + 1),
        Err(error) => two_row_header(rows, mapping).ok_or(error)?,
    };
    let position: HashMap<String, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (squash(h), i))
        .collect();
    let column = |name: &Option<String>| {
        name.as_ref()
            .and_then(|n| position.get(&squash(n)).copied())
    };
    let date_col = position[&squash(&mapping.date)];
    let merchant_col = position[&squash(&mapping.merchant)];
    let amount_col = position[&squash(&mapping.amount)];
    let (industry_col, cancel_col, installment_col, customer_col, card_col) = (
        column(&mapping.industry),
        column(&mapping.cancel),
        column(&mapping.installment),
        column(&mapping.customer),
        column(&mapping.card),
    );
    let approval_col = column(&mapping.approval);
    // Rows marked cancelled, by their place in `lines`: a negative one cancels its purchase.
    let mut marked: Vec<bool> = Vec::new();
    let mut approvals: Vec<Option<String>> = Vec::new();
    let mut statement = Statement {
        file: file.to_owned(),
        encoding,
        layout,
        header_row,
        header: header.clone(),
        mapping: mapping.clone(),
        lines: Vec::new(),
        rejected: Vec::new(),
        totals_skipped: 0,
        sheets: Vec::new(),
    };
    let empty = String::new();
    let mut last_day: Option<BusinessDate> = None;
    for (row, cells) in &rows[first_line..] {
        let cell = |i: usize| cells.get(i).unwrap_or(&empty).trim();
        let dated = parse_day(cell(date_col));
        if dated.is_none() && (is_totals_row(cells) || is_note_row(cells)) {
            statement.totals_skipped += 1;
            continue;
        }
        let optional = |i: Option<usize>| i.map(cell).filter(|c| !c.is_empty()).map(str::to_owned);
        let mut reject = |col: usize, reason: &str| {
            statement.rejected.push(Rejected {
                sheet: String::new(),
                row: *row,
                column: header.get(col).cloned().unwrap_or_default(),
                value: cell(col).to_owned(),
                reason: reason.to_owned(),
            });
        };
        // A billing statement's continuation row (another line of the same day) leaves its
        // date empty: it takes the date of the line above.
        let continued = cell(date_col).is_empty()
            && !cell(merchant_col).is_empty()
            && parse_amount(cell(amount_col)).is_some();
        let Some(day) = dated.or(if continued { last_day } else { None }) else {
            reject(
                date_col,
                "is not a date (YYYY.MM.DD, YY.MM.DD, YYYYMMDD, YYYY-MM-DD, 2025년 08월 14일 or an Excel date)",
            );
            continue;
        };
        last_day = Some(day);
        let merchant = cell(merchant_col);
        if merchant.is_empty() {
            reject(merchant_col, "the merchant is empty");
            continue;
        }
        let Some(amount) = parse_amount(cell(amount_col)) else {
            reject(
                amount_col,
                "is not an amount in won (12300, 12,300 or 12,300원)",
            );
            continue;
        };
        let cancelled = match cancel_col.map(|c| parse_cancel(cell(c))) {
            None => false,
            Some(Some(flag)) => flag,
            Some(None) => {
                reject(
                    cancel_col.unwrap_or_default(),
                    "is not a cancellation mark (Y/N, 취소/정상)",
                );
                continue;
            }
        };
        let installment_months = match installment_col.map(|c| parse_installment(cell(c))) {
            None => 0,
            Some(Some(months)) => months,
            Some(None) => {
                reject(
                    installment_col.unwrap_or_default(),
                    "is not installment months (일시불, 3, 3개월)",
                );
                continue;
            }
        };
        let kind = if amount < 0 {
            LineKind::Refund
        } else if cancelled {
            LineKind::Cancelled
        } else {
            LineKind::Purchase
        };
        marked.push(cancelled);
        approvals.push(optional(approval_col));
        statement.lines.push(StatementLine {
            row: *row,
            day,
            merchant: merchant.to_owned(),
            amount: if kind == LineKind::Cancelled {
                amount.abs()
            } else {
                amount
            },
            kind,
            installment_months,
            industry: optional(industry_col),
            customer: optional(customer_col),
            card: optional(card_col),
        });
    }
    pair_cancellations(&mut statement.lines, &marked, &approvals);
    Ok(statement)
}

/// A negative row marked cancelled (`-5,600` with 취소) cancels the purchase it undoes when that
/// purchase is in the same file: the same card, merchant and amount, and the same approval
/// number when both rows have one. Both are then cancelled lines (neither is spend). A marked
/// negative row whose purchase is not in the file (an earlier statement's) stays a refund, so
/// the two statements together net out. Each purchase is cancelled once; a purchase with the
/// same approval number is taken before one without, then the latest before the cancellation.
fn pair_cancellations(lines: &mut [StatementLine], marked: &[bool], approvals: &[Option<String>]) {
    let mut paired = vec![false; lines.len()];
    for cancel in 0..lines.len() {
        if !(marked[cancel] && lines[cancel].amount < 0) {
            continue;
        }
        let undoes = |i: usize| {
            let (line, undo) = (&lines[i], &lines[cancel]);
            i != cancel
                && !paired[i]
                && line.amount == -undo.amount
                && line.merchant == undo.merchant
                && line.card == undo.card
                && match (&approvals[i], &approvals[cancel]) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                }
        };
        let cancel_day = lines[cancel].day.naive();
        let purchase = (0..lines.len()).filter(|&i| undoes(i)).max_by_key(|&i| {
            let day = lines[i].day.naive();
            (
                approvals[i].is_some() && approvals[i] == approvals[cancel],
                day <= cancel_day,
                -(cancel_day - day).num_days().abs(),
                i < cancel,
            )
        });
        if let Some(purchase) = purchase {
            paired[purchase] = true;
            paired[cancel] = true;
            lines[purchase].kind = LineKind::Cancelled;
            lines[cancel].kind = LineKind::Cancelled;
            lines[cancel].amount = lines[cancel].amount.abs();
        }
    }
}

/// (content hash, occurrence) of each line: the n-th identical line of a file is occurrence n.
pub fn line_keys(lines: &[StatementLine]) -> Vec<(String, i64)> {
    let mut seen: HashMap<String, i64, foldhash::fast::RandomState> = HashMap::default();
    lines
        .iter()
        .map(|line| {
            let hash = line.content_hash();
            let n = seen.entry(hash.clone()).or_insert(0);
            *n += 1;
            (hash, *n)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test helpers fail loudly

    use super::*;
    use proptest::prelude::*;

    fn grid(text: &str) -> Vec<(u64, Vec<String>)> {
        adpool_tables::read_grid("t.csv", text.as_bytes())
            .unwrap()
            .rows
    }

    #[test]
    fn a_lotte_statement_with_title_totals_cancellations_and_installments() {
        let rows = grid(
            "롯데카드 이용내역서\n조회기간: 2026.10.01 ~ 2026.10.31\n\
             이용일자,이용가맹점,업종,이용금액,할부개월,취소여부\n\
             2026.10.02,스타벅스 강남점,커피전문점,\"5,600원\",일시불,N\n\
             20261003,쿠팡,통신판매,\"129,000\",3개월,N\n\
             2026-10-04,스타벅스 강남점,커피전문점,\"5,600\",,Y\n\
             2026/10/05,환불 가맹점,기타,-3000,,\n\
             합계,,,\"134,600\",,\n",
        );
        let s = read_statement("lotte.csv", "UTF-8", &rows, None).unwrap();
        assert_eq!(s.layout, "롯데카드");
        assert_eq!(s.header_row, 3);
        assert_eq!(s.totals_skipped, 1);
        assert!(s.rejected.is_empty(), "{:?}", s.rejected);
        let kinds: Vec<(i64, LineKind, i64)> = s
            .lines
            .iter()
            .map(|l| (l.amount, l.kind, l.installment_months))
            .collect();
        assert_eq!(
            kinds,
            [
                (5600, LineKind::Purchase, 0),
                (129_000, LineKind::Purchase, 3),
                (5600, LineKind::Cancelled, 0),
                (-3000, LineKind::Refund, 0)
            ]
        );
        assert_eq!(s.lines[1].day.to_string(), "2026-10-03");
        assert_eq!(s.lines[0].industry.as_deref(), Some("커피전문점"));
    }

    /// A header over two rows, as merged cells leave it: group names above (승인정보, 금액),
    /// the columns' own names below, a name spanning both rows in the top row only.
    #[test]
    fn a_header_split_over_two_rows() {
        let rows = grid(
            "삼성카드 이용내역\n\
             승인정보,,가맹점명,금액,\n\
             승인일자,승인번호,,승인금액(원),할부개월\n\
             2026.10.02,11111111,스타벅스 강남점,\"5,600\",\n\
             2026.10.03,22222222,쿠팡,\"129,000\",3\n",
        );
        let s = read_statement("s.csv", "UTF-8", &rows, None).unwrap();
        assert_eq!((s.layout.as_str(), s.header_row), ("삼성카드", 2));
        assert_eq!(
            s.header,
            [
                "승인일자",
                "승인번호",
                "가맹점명",
                "승인금액(원)",
                "할부개월"
            ]
        );
        assert_eq!(s.mapping.installment.as_deref(), Some("할부개월"));
        assert_eq!(s.mapping.approval.as_deref(), Some("승인번호"));
        let lines: Vec<(&str, i64, i64)> = s
            .lines
            .iter()
            .map(|l| (l.merchant.as_str(), l.amount, l.installment_months))
            .collect();
        assert_eq!(lines, [("스타벅스 강남점", 5600, 0), ("쿠팡", 129_000, 3)]);

        // A mapping may name a grouped column by its group and its own name together.
        let rows = grid(
            "이용일,가맹점,해외이용,\n\
             ,,현지금액,원화\n\
             2026.10.04,AMAZON.COM,12.50,\"17,300\"\n",
        );
        let mapping = ColumnMapping {
            date: "이용일".into(),
            merchant: "가맹점".into(),
            amount: "해외이용원화".into(),
            ..Default::default()
        };
        let s = read_statement("o.csv", "UTF-8", &rows, Some(("o", &mapping))).unwrap();
        assert_eq!(s.lines[0].amount, 17_300);
    }

    /// Installment months from a 할부 column or from a payment-method column (결제방법).
    #[test]
    fn installments_as_issuers_write_them() {
        for (text, months) in [
            ("", 0),
            ("-", 0),
            ("일시불", 0),
            ("신용일시불", 0),
            ("체크", 0),
            ("1", 0),
            ("3", 3),
            ("3개월", 3),
            ("무이자3개월", 3),
            ("3개월 무이자", 3),
            ("할부 3개월", 3),
            ("할부(3개월)", 3),
            ("무이자할부 6개월", 6),
            ("할부/12", 12),
            ("24M", 24),
        ] {
            assert_eq!(parse_installment(text), Some(months), "{text:?}");
        }
        for text in ["카카오페이", "3년", "할부 72개월"] {
            assert_eq!(parse_installment(text), None, "{text:?}");
        }
    }

    /// Cancellations as issuers write them: a later negative row marked 취소 undoes its
    /// purchase (same card, merchant and amount; the approval number decides between equal
    /// purchases); a marked negative row whose purchase is in an earlier statement is a refund;
    /// an unmarked negative row is a (partial) refund; `-` and 정상 mean not cancelled; a row
    /// marked cancelled itself is never spend.
    #[test]
    fn a_cancellation_row_undoes_its_purchase() {
        let rows = grid(
            "이용일자,이용카드,이용가맹점,이용금액,취소상태,승인번호\n\
             2026.10.02,본인 1234,스타벅스 강남점,\"5,600\",-,11111111\n\
             2026.10.02,본인 1234,스타벅스 강남점,\"5,600\",정상,22222222\n\
             2026.10.03,본인 1234,쿠팡,\"129,000\",정상,33333333\n\
             2026.10.04,가족 5678,스타벅스 강남점,\"5,600\",정상,44444444\n\
             2026.10.05,본인 1234,스타벅스 강남점,\"-5,600\",취소,22222222\n\
             2026.10.06,본인 1234,쿠팡,\"-29,000\",정상,33333333\n\
             2026.10.07,본인 1234,무신사,\"-59,000\",취소,55555555\n\
             2026.10.08,본인 1234,올리브영,\"12,000\",Y,66666666\n",
        );
        let mapping = ColumnMapping {
            date: "이용일자".into(),
            merchant: "이용가맹점".into(),
            amount: "이용금액".into(),
            cancel: Some("취소상태".into()),
            card: Some("이용카드".into()),
            approval: Some("승인번호".into()),
            ..Default::default()
        };
        let s = read_statement("c.csv", "UTF-8", &rows, Some(("c", &mapping))).unwrap();
        assert!(s.rejected.is_empty(), "{:?}", s.rejected);
        let kinds: Vec<(i64, LineKind)> = s.lines.iter().map(|l| (l.amount, l.kind)).collect();
        assert_eq!(
            kinds,
            [
                (5600, LineKind::Purchase),    // another coffee, approval 11111111
                (5600, LineKind::Cancelled),   // undone by the row of 10.05 (same approval)
                (129_000, LineKind::Purchase), // partly refunded below
                (5600, LineKind::Purchase),    // another card
                (5600, LineKind::Cancelled),   // the cancellation row itself
                (-29_000, LineKind::Refund),   // unmarked negative: a partial refund
                (-59_000, LineKind::Refund),   // its purchase was in an earlier statement
                (12_000, LineKind::Cancelled), // marked on its own row
            ]
        );
        let spend: i64 = s
            .lines
            .iter()
            .filter(|l| l.kind != LineKind::Cancelled)
            .map(|l| l.amount)
            .sum();
        assert_eq!(spend, 5600 + 129_000 + 5600 - 29_000 - 59_000);

        // Without approval numbers the latest purchase on or before the cancellation is undone.
        let rows = grid(
            "이용일자,이용가맹점,이용금액,취소여부\n\
             2026.10.01,GS25,\"3,000\",N\n\
             2026.10.03,GS25,\"3,000\",N\n\
             2026.10.09,GS25,\"3,000\",N\n\
             2026.10.04,GS25,\"-3,000\",Y\n",
        );
        let mapping = ColumnMapping {
            cancel: Some("취소여부".into()),
            approval: None,
            card: None,
            ..mapping
        };
        let s = read_statement("c.csv", "UTF-8", &rows, Some(("c", &mapping))).unwrap();
        let kinds: Vec<LineKind> = s.lines.iter().map(|l| l.kind).collect();
        assert_eq!(
            kinds,
            [
                LineKind::Purchase,
                LineKind::Cancelled,
                LineKind::Purchase,
                LineKind::Cancelled
            ]
        );
    }

    /// The rows real statements carry between and after their lines: subtotals whose word sits
    /// in any column (`해외이용소계`, `할부소계`, `일시불합계`, `합 계 3 건`, `총 합계`), notes and
    /// footers (`※`, `■ 유의사항`), blank rows; billing statements' continuation rows without a
    /// date; triangle negatives; the day forms of KB and Hyundai bills. A line that cannot be
    /// read is still named.
    #[test]
    fn subtotals_notes_and_continuation_rows_as_issuers_write_them() {
        let rows = grid(
            "현대카드 이용대금 명세서\n\
             이용일,이용가맹점,이용금액\n\
             2025년 08월 14일,스타벅스 역삼점,\"5,600\"\n\
             ,GS25 역삼점,\"3,200\"\n\
             25.08.15,쿠팡,\"129,000\"\n\
             ,,\"138,000\",일시불합계\n\
             2025.08.16,환불 가게,△3000\n\
             ,해외이용소계,\"0\"\n\
             합 계 4 건,,\"135,000\"\n\
             총 합계,,\"135,000\"\n\
             ※ 해외이용금액은 청구 시점의 환율로 계산됩니다.\n\
             ■ 유의사항\n",
        );
        let s = read_statement("hyundai.csv", "UTF-8", &rows, None).unwrap();
        assert!(s.rejected.is_empty(), "{:?}", s.rejected);
        assert_eq!(s.totals_skipped, 6, "four totals rows and two notes");
        let lines: Vec<(String, &str, i64)> = s
            .lines
            .iter()
            .map(|l| (l.day.to_string(), l.merchant.as_str(), l.amount))
            .collect();
        assert_eq!(
            lines,
            [
                ("2025-08-14".to_owned(), "스타벅스 역삼점", 5_600),
                ("2025-08-14".to_owned(), "GS25 역삼점", 3_200),
                ("2025-08-15".to_owned(), "쿠팡", 129_000),
                ("2025-08-16".to_owned(), "환불 가게", -3_000),
            ],
            "the continuation row takes the date above; the triangle is a minus"
        );
        // A row that looks like a line but has no readable date is still refused by name.
        let broken = grid("이용일,이용가맹점,이용금액\n2025.08.14,가게,1000\n어제,가게,1000\n");
        let s = read_statement("broken.csv", "UTF-8", &broken, None).unwrap();
        assert_eq!(s.rejected.len(), 1);
        assert_eq!(
            (s.rejected[0].row, s.rejected[0].value.as_str()),
            (3, "어제")
        );
    }

    #[test]
    fn days_and_amounts_in_every_form_issuers_write() {
        for (text, day) in [
            ("2025.08.14", "2025-08-14"),
            ("2025-08-14", "2025-08-14"),
            ("2025/08/14", "2025-08-14"),
            ("20250814", "2025-08-14"),
            ("25.08.14", "2025-08-14"),
            ("2025년 08월 14일", "2025-08-14"),
            ("2025년8월14일 13:05", "2025-08-14"),
            ("2025-08-14 13:05:00", "2025-08-14"),
            ("45883", "2025-08-14"),
            ("45883.54513888889", "2025-08-14"),
        ] {
            assert_eq!(
                parse_day(text).map(|d| d.to_string()).as_deref(),
                Some(day),
                "{text}"
            );
        }
        for text in [
            "25.13.01",
            "2025년 13월 01일",
            "1985년 01월 01일",
            "8월 14일",
            "",
        ] {
            assert_eq!(parse_day(text), None, "{text}");
        }
        assert_eq!(parse_amount("△12,300"), Some(-12_300));
        assert_eq!(parse_amount("▲ 500원"), Some(-500));
        assert_eq!(parse_amount("△-500"), None);
    }

    #[test]
    fn every_known_layout_is_recognised_by_its_headers() {
        for (header, layout) in [
            (
                "이용일,이용하신곳,이용카드명,국내이용금액(원)",
                "KB국민카드",
            ),
            ("거래일자,이용가맹점,거래금액", "신한카드"),
            ("이용일,이용가맹점,이용금액", "현대카드"),
            ("승인일자,가맹점명,승인금액(원),할부", "삼성카드"),
        ] {
            let fourth = if layout == "삼성카드" {
                "3개월"
            } else {
                "\"1,000\""
            };
            let rows = grid(&format!("{header}\n2026.10.02,가게,\"1,000\",{fourth}\n"));
            let s = read_statement("x.csv", "UTF-8", &rows, None).unwrap();
            assert_eq!(s.layout, layout);
            assert_eq!(s.lines.len(), 1, "{layout}: {:?}", s.rejected);
        }
    }

    #[test]
    fn an_unknown_layout_names_its_likely_header_and_a_mapping_reads_it() {
        let rows = grid("POS 매출\n일자,고객,상호,결제액\n2026-10-02,C1,동네빵집,4500\n");
        let error = read_statement("pos.csv", "UTF-8", &rows, None).unwrap_err();
        assert_eq!(
            error,
            LayoutError::Unknown {
                row: 2,
                candidates: vec!["일자".into(), "고객".into(), "상호".into(), "결제액".into()]
            }
        );
        let mapping = ColumnMapping {
            date: "일자".into(),
            merchant: "상호".into(),
            amount: "결제액".into(),
            customer: Some("고객".into()),
            ..Default::default()
        };
        let s = read_statement("pos.csv", "UTF-8", &rows, Some(("pos", &mapping))).unwrap();
        assert_eq!(s.layout, "mapping: pos");
        assert_eq!(s.lines[0].customer.as_deref(), Some("C1"));
        let other = ColumnMapping {
            amount: "금액".into(),
            ..mapping
        };
        assert_eq!(
            read_statement("pos.csv", "UTF-8", &rows, Some(("pos", &other))).unwrap_err(),
            LayoutError::MappingDoesNotFit {
                missing: vec!["금액".into()]
            }
        );
    }

    #[test]
    fn bad_lines_are_rejected_with_row_column_value_and_reason() {
        let rows = grid(
            "이용일,이용가맹점,이용금액\n2026.13.40,가게,1000\n2026.10.02,,1000\n2026.10.02,가게,천원\n",
        );
        let s = read_statement("h.csv", "UTF-8", &rows, None).unwrap();
        let messages: Vec<String> = s.rejected.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 3);
        assert!(
            messages[0].starts_with("row 2, column 이용일, value '2026.13.40': is not a date"),
            "{}",
            messages[0]
        );
        assert!(messages[1].contains("merchant is empty"));
        assert!(messages[2].starts_with("row 4, column 이용금액, value '천원'"));
    }

    #[test]
    fn excel_serials_and_identical_lines_get_occurrence_numbers() {
        assert_eq!(parse_day("46297").unwrap().to_string(), "2026-10-02");
        assert_eq!(
            parse_day("2026.10.02 13:45").unwrap().to_string(),
            "2026-10-02"
        );
        let rows = grid(
            "이용일,이용가맹점,이용금액\n2026.10.02,가게,1000\n2026.10.02,가게,1000\n2026.10.03,가게,1000\n",
        );
        let s = read_statement("h.csv", "UTF-8", &rows, None).unwrap();
        let keys = line_keys(&s.lines);
        assert_eq!(keys[0].0, keys[1].0);
        assert_eq!((keys[0].1, keys[1].1, keys[2].1), (1, 2, 1));
    }

    proptest! {
        #[test]
        fn amounts_round_trip_in_every_written_form(value in -10_000_000_000i64..10_000_000_000) {
            let grouped = adpool_core::group_thousands(value.unsigned_abs());
            let sign = if value < 0 { "-" } else { "" };
            prop_assert_eq!(parse_amount(&format!("{sign}{grouped}원")), Some(value));
            prop_assert_eq!(parse_amount(&format!("{sign}{}", value.unsigned_abs())), Some(value));
            prop_assert_eq!(parse_amount(&format!("{value}.00")), Some(value));
            if value > 0 {
                prop_assert_eq!(parse_amount(&format!("({grouped})")), Some(-value));
            }
        }

        #[test]
        fn days_round_trip_in_every_written_form(offset in 0i64..30_000) {
            let day = BusinessDate::from_ymd(1990, 1, 1).unwrap().add_days(offset);
            if chrono::Datelike::year(&day.naive()) <= 2099 {
                let text = day.to_string();
                prop_assert_eq!(parse_day(&text), Some(day));
                prop_assert_eq!(parse_day(&text.replace('-', ".")), Some(day));
                prop_assert_eq!(parse_day(&text.replace('-', "")), Some(day));
            }
        }

        #[test]
        fn arbitrary_cells_never_panic(cells in proptest::collection::vec(".{0,12}", 0..6)) {
            let mut rows = vec![(1, vec!["이용일".to_owned(), "이용가맹점".into(), "이용금액".into(), "할부".into(), "취소여부".into()])];
            rows.push((2, cells));
            let _ = read_statement("p.csv", "UTF-8", &rows, None);
        }
    }
}
