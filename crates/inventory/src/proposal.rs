//! The proposal workbook (DOMAIN.md section A): sheet `MediaMix` (16 columns, live formulas
//! with cached results, a TOTAL row, campaign information in merged cells) and sheet
//! `CurationTargeting` (programs by broadcaster, YouTube channels, custom keywords).
//!
//! [`write_proposal`] is pure (a [`Proposal`] in, xlsx bytes out) so it can be tested and
//! benchmarked without a database; [`Inventory::proposal`] gathers a campaign's data.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{
    Color, ConditionalFormatDataBar, ExcelDateTime, Format, FormatAlign, FormatBorder, Formula,
    Workbook, Worksheet, XlsxError,
};
use serde::Serialize;

use crate::{Inventory, InventoryError, OrgId, Platform};

/// One row of the MediaMix sheet: a campaign line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProposalLine {
    /// Media names (vertically merged when consecutive rows share them).
    pub media: String,
    /// Platforms, e.g. `PC, MOBILE`.
    pub platforms: String,
    /// Product name.
    pub product: String,
    /// Targeting groups and weights.
    pub targeting: String,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Ad type.
    pub ad_type: String,
    /// Budget in won.
    pub budget: i64,
    /// Blended eCPM in won (the amount-weighted CPM over the line's platforms).
    pub ecpm: i64,
    /// Expected CTR, basis points.
    pub ctr_bp: i64,
    /// Expected VTR, basis points.
    pub vtr_bp: i64,
}

/// Targeting details for the CurationTargeting sheet.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Curation {
    /// Broadcaster (content owner) name -> program names.
    pub programs: BTreeMap<String, Vec<String>>,
    /// YouTube / channel targeting.
    pub channels: Vec<String>,
    /// Custom keywords.
    pub keywords: Vec<String>,
}

impl Curation {
    /// Lists a targeted meta id once, by its kind: a channel, a keyword, or a program under
    /// its broadcaster's name (`owners`: content owner code -> name).
    fn add(&mut self, meta: &crate::MetaDoc, owners: &BTreeMap<String, String>) {
        let list = match meta.kind.as_deref() {
            Some("channel") => &mut self.channels,
            Some("keyword") => &mut self.keywords,
            _ => {
                let owner = meta
                    .content_owner
                    .as_ref()
                    .and_then(|c| owners.get(c))
                    .cloned()
                    .unwrap_or_else(|| "—".into());
                self.programs.entry(owner).or_default()
            }
        };
        if !list.contains(&meta.name) {
            list.push(meta.name.clone());
        }
    }
}

/// Everything the workbook shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    /// Advertiser.
    pub advertiser: String,
    /// Campaign name.
    pub campaign: String,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Total budget in won.
    pub total_budget: i64,
    /// Who prepared it.
    pub prepared_by: String,
    /// When (KST date).
    pub prepared_on: NaiveDate,
    /// One per line.
    pub lines: Vec<ProposalLine>,
    /// Targeting details.
    pub curation: Curation,
}

/// The 16 MediaMix columns of DOMAIN.md.
pub const MEDIA_MIX_COLUMNS: [&str; 16] = [
    "No",
    "Media",
    "Platform",
    "Product",
    "Targeting",
    "Start",
    "End",
    "Days",
    "Ad type",
    "Budget",
    "eCPM",
    "Est. impressions",
    "CTR",
    "Est. clicks",
    "VTR",
    "Est. views",
];

/// The row (0-based) of the MediaMix header; campaign information sits above it.
pub const HEADER_ROW: u32 = 6;

const FONT: &str = "Malgun Gothic";

fn xlsx(error: XlsxError) -> InventoryError {
    InventoryError::File {
        file: "proposal.xlsx".into(),
        message: error.to_string(),
    }
}

fn excel_date(date: NaiveDate) -> Result<ExcelDateTime, InventoryError> {
    ExcelDateTime::from_ymd(
        u16::try_from(date.year()).unwrap_or(2000),
        date.month() as u8,
        date.day() as u8,
    )
    .map_err(xlsx)
}

/// Column letter of a 0-based index (A..P is all the sheet needs).
fn col(index: u16) -> char {
    char::from(b'A' + u8::try_from(index).unwrap_or(0))
}

/// Writes the proposal workbook.
pub fn write_proposal(proposal: &Proposal) -> Result<Vec<u8>, InventoryError> {
    let mut workbook = Workbook::new();
    media_mix(workbook.add_worksheet(), proposal)?;
    curation(workbook.add_worksheet(), proposal)?;
    workbook.save_to_buffer().map_err(xlsx)
}

fn media_mix(sheet: &mut Worksheet, p: &Proposal) -> Result<(), InventoryError> {
    sheet.set_name("MediaMix").map_err(xlsx)?;
    let base = Format::new().set_font_name(FONT).set_font_size(10);
    let border = base
        .clone()
        .set_border(FormatBorder::Thin)
        .set_border_color(Color::RGB(0xBFC5D2));
    let title = base.clone().set_bold().set_font_size(16);
    let label = base
        .clone()
        .set_bold()
        .set_background_color(Color::RGB(0xEEF3FF))
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::VerticalCenter);
    let value = border.clone().set_align(FormatAlign::VerticalCenter);
    let header = base
        .clone()
        .set_bold()
        .set_font_color(Color::White)
        .set_background_color(Color::RGB(0x1F5EFF))
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_text_wrap();
    let text = border.clone().set_align(FormatAlign::VerticalCenter);
    let merged = text.clone().set_align(FormatAlign::Center);
    let won = border.clone().set_num_format("₩#,##0");
    let count = border.clone().set_num_format("#,##0");
    let percent = border.clone().set_num_format("0.00%");
    let date = border.clone().set_num_format("yyyy-mm-dd");
    let total_label = header.clone();
    let total_won = won
        .clone()
        .set_bold()
        .set_background_color(Color::RGB(0xEEF3FF));
    let total_count = count
        .clone()
        .set_bold()
        .set_background_color(Color::RGB(0xEEF3FF));
    let total_blank = border.clone().set_background_color(Color::RGB(0xEEF3FF));

    sheet
        .merge_range(0, 0, 0, 15, "광고 제안서 · Media Mix", &title)
        .map_err(xlsx)?;
    let info: [(&str, String, &str, String); 3] = [
        (
            "광고주 Advertiser",
            p.advertiser.clone(),
            "캠페인 Campaign",
            p.campaign.clone(),
        ),
        (
            "기간 Period",
            format!("{} ~ {}", p.start, p.end),
            "총 예산 Total budget",
            format!(
                "₩{}",
                adpool_core::group_thousands(p.total_budget.unsigned_abs())
            ),
        ),
        (
            "작성 Prepared by",
            p.prepared_by.clone(),
            "작성일 Date",
            p.prepared_on.to_string(),
        ),
    ];
    for (i, (l1, v1, l2, v2)) in info.iter().enumerate() {
        let row = 2 + i as u32;
        sheet
            .merge_range(row, 0, row, 1, l1, &label)
            .map_err(xlsx)?;
        sheet
            .merge_range(row, 2, row, 7, v1, &value)
            .map_err(xlsx)?;
        sheet
            .merge_range(row, 8, row, 9, l2, &label)
            .map_err(xlsx)?;
        sheet
            .merge_range(row, 10, row, 15, v2, &value)
            .map_err(xlsx)?;
    }
    for (c, name) in MEDIA_MIX_COLUMNS.iter().enumerate() {
        sheet
            .write_string_with_format(HEADER_ROW, c as u16, *name, &header)
            .map_err(xlsx)?;
    }
    sheet.set_row_height(HEADER_ROW, 30).map_err(xlsx)?;

    let first = HEADER_ROW + 1;
    let mut totals = (0f64, 0f64, 0f64, 0i64);
    for (i, line) in p.lines.iter().enumerate() {
        let row = first + i as u32;
        let r = row + 1; // 1-based row in formulas
        let impressions = line.budget as f64 / line.ecpm.max(1) as f64 * 1000.0;
        let clicks = impressions * line.ctr_bp as f64 / 10_000.0;
        let views = impressions * line.vtr_bp as f64 / 10_000.0;
        totals = (
            totals.0 + impressions,
            totals.1 + clicks,
            totals.2 + views,
            totals.3 + line.budget,
        );
        let days = (line.end - line.start).num_days() + 1;
        sheet
            .write_number_with_format(row, 0, (i + 1) as f64, &count)
            .map_err(xlsx)?;
        sheet
            .write_string_with_format(row, 1, &line.media, &merged)
            .map_err(xlsx)?;
        sheet
            .write_string_with_format(row, 2, &line.platforms, &text)
            .map_err(xlsx)?;
        sheet
            .write_string_with_format(row, 3, &line.product, &text)
            .map_err(xlsx)?;
        sheet
            .write_string_with_format(row, 4, &line.targeting, &text)
            .map_err(xlsx)?;
        sheet
            .write_datetime_with_format(row, 5, &excel_date(line.start)?, &date)
            .map_err(xlsx)?;
        sheet
            .write_datetime_with_format(row, 6, &excel_date(line.end)?, &date)
            .map_err(xlsx)?;
        sheet
            .write_formula_with_format(
                row,
                7,
                Formula::new(format!("=G{r}-F{r}+1")).set_result(days.to_string()),
                &count,
            )
            .map_err(xlsx)?;
        sheet
            .write_string_with_format(row, 8, &line.ad_type, &text)
            .map_err(xlsx)?;
        sheet
            .write_number_with_format(row, 9, line.budget as f64, &won)
            .map_err(xlsx)?;
        sheet
            .write_number_with_format(row, 10, line.ecpm as f64, &won)
            .map_err(xlsx)?;
        sheet
            .write_formula_with_format(
                row,
                11,
                Formula::new(format!("=J{r}/K{r}*1000")).set_result(impressions.to_string()),
                &count,
            )
            .map_err(xlsx)?;
        sheet
            .write_number_with_format(row, 12, line.ctr_bp as f64 / 10_000.0, &percent)
            .map_err(xlsx)?;
        sheet
            .write_formula_with_format(
                row,
                13,
                Formula::new(format!("=L{r}*M{r}")).set_result(clicks.to_string()),
                &count,
            )
            .map_err(xlsx)?;
        sheet
            .write_number_with_format(row, 14, line.vtr_bp as f64 / 10_000.0, &percent)
            .map_err(xlsx)?;
        sheet
            .write_formula_with_format(
                row,
                15,
                Formula::new(format!("=L{r}*O{r}")).set_result(views.to_string()),
                &count,
            )
            .map_err(xlsx)?;
    }
    // Media groups merged vertically: consecutive rows naming the same media.
    let mut start = 0usize;
    while start < p.lines.len() {
        let mut end = start;
        while end + 1 < p.lines.len() && p.lines[end + 1].media == p.lines[start].media {
            end += 1;
        }
        if end > start {
            sheet
                .merge_range(
                    first + start as u32,
                    1,
                    first + end as u32,
                    1,
                    &p.lines[start].media,
                    &merged,
                )
                .map_err(xlsx)?;
        }
        start = end + 1;
    }
    let total_row = first + p.lines.len() as u32;
    let (top, bottom) = (first + 1, total_row.max(first + 1));
    sheet
        .merge_range(total_row, 0, total_row, 8, "TOTAL", &total_label)
        .map_err(xlsx)?;
    let sum = |c: u16, cached: String| {
        Formula::new(format!("=SUM({0}{top}:{0}{bottom})", col(c))).set_result(cached)
    };
    sheet
        .write_formula_with_format(total_row, 9, sum(9, totals.3.to_string()), &total_won)
        .map_err(xlsx)?;
    let blended = if totals.0 > 0.0 {
        totals.3 as f64 / totals.0 * 1000.0
    } else {
        0.0
    };
    let t = total_row + 1;
    sheet
        .write_formula_with_format(
            total_row,
            10,
            Formula::new(format!("=IF(L{t}=0,0,J{t}/L{t}*1000)")).set_result(blended.to_string()),
            &total_won,
        )
        .map_err(xlsx)?;
    sheet
        .write_formula_with_format(total_row, 11, sum(11, totals.0.to_string()), &total_count)
        .map_err(xlsx)?;
    sheet
        .write_blank(total_row, 12, &total_blank)
        .map_err(xlsx)?;
    sheet
        .write_formula_with_format(total_row, 13, sum(13, totals.1.to_string()), &total_count)
        .map_err(xlsx)?;
    sheet
        .write_blank(total_row, 14, &total_blank)
        .map_err(xlsx)?;
    sheet
        .write_formula_with_format(total_row, 15, sum(15, totals.2.to_string()), &total_count)
        .map_err(xlsx)?;
    if !p.lines.is_empty() {
        let bars = ConditionalFormatDataBar::new().set_fill_color(Color::RGB(0x8DB3FF));
        sheet
            .add_conditional_format(first, 9, total_row - 1, 9, &bars)
            .map_err(xlsx)?;
    }
    for (c, width) in [
        5.0, 16.0, 14.0, 22.0, 26.0, 11.0, 11.0, 6.0, 10.0, 15.0, 10.0, 15.0, 8.0, 12.0, 8.0, 13.0,
    ]
    .iter()
    .enumerate()
    {
        sheet.set_column_width(c as u16, *width).map_err(xlsx)?;
    }
    sheet.set_freeze_panes(first, 0).map_err(xlsx)?;
    sheet
        .set_landscape()
        .set_paper_size(9)
        .set_print_fit_to_pages(1, 0);
    Ok(())
}

fn curation(sheet: &mut Worksheet, p: &Proposal) -> Result<(), InventoryError> {
    sheet.set_name("CurationTargeting").map_err(xlsx)?;
    let base = Format::new().set_font_name(FONT).set_font_size(10);
    let title = base.clone().set_bold().set_font_size(14);
    let header = base
        .clone()
        .set_bold()
        .set_font_color(Color::White)
        .set_background_color(Color::RGB(0x1F5EFF))
        .set_border(FormatBorder::Thin);
    let cell = base
        .clone()
        .set_border(FormatBorder::Thin)
        .set_text_wrap()
        .set_align(FormatAlign::VerticalCenter);
    let mut row = 0u32;
    sheet
        .write_string_with_format(row, 0, "큐레이션 타겟팅 · Curation targeting", &title)
        .map_err(xlsx)?;
    row += 2;
    sheet
        .write_string_with_format(
            row,
            0,
            "프로그램 타겟팅 (방송사별) · Programs by broadcaster",
            &base.clone().set_bold(),
        )
        .map_err(xlsx)?;
    row += 1;
    sheet
        .write_string_with_format(row, 0, "방송사 Broadcaster", &header)
        .map_err(xlsx)?;
    sheet
        .write_string_with_format(row, 1, "프로그램 Programs", &header)
        .map_err(xlsx)?;
    row += 1;
    for (owner, programs) in &p.curation.programs {
        sheet
            .write_string_with_format(row, 0, owner, &cell)
            .map_err(xlsx)?;
        sheet
            .write_string_with_format(row, 1, programs.join(", "), &cell)
            .map_err(xlsx)?;
        row += 1;
    }
    for (heading, items) in [
        (
            "유튜브 채널 타겟팅 · YouTube channels",
            &p.curation.channels,
        ),
        ("맞춤 키워드 · Custom keywords", &p.curation.keywords),
    ] {
        row += 1;
        sheet
            .write_string_with_format(row, 0, heading, &base.clone().set_bold())
            .map_err(xlsx)?;
        row += 1;
        let listed = if items.is_empty() {
            "—".to_owned()
        } else {
            items.join(", ")
        };
        sheet
            .merge_range(row, 0, row, 1, &listed, &cell)
            .map_err(xlsx)?;
        row += 1;
    }
    sheet.set_column_width(0, 24).map_err(xlsx)?;
    sheet.set_column_width(1, 90).map_err(xlsx)?;
    sheet.set_landscape().set_paper_size(9);
    Ok(())
}

/// A `YYYY-MM-DD` date as stored with a campaign or line.
fn stored_date(text: &str) -> Result<NaiveDate, InventoryError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| InventoryError::Invalid {
        field: "date",
        message: text.to_owned(),
    })
}

/// The blended eCPM of an amount split equally over platforms with these CPMs: the amount
/// divided by the impressions it buys, per 1,000 (a harmonic mean), in whole won.
pub fn blended_ecpm(cpms: &[i64]) -> i64 {
    let inverse: f64 = cpms
        .iter()
        .filter(|c| **c > 0)
        .map(|c| 1.0 / *c as f64)
        .sum();
    if inverse == 0.0 {
        0
    } else {
        (cpms.len() as f64 / inverse).round() as i64
    }
}

impl Inventory {
    /// Gathers a campaign's proposal.
    pub async fn proposal(
        &self,
        org: OrgId,
        campaign_id: i64,
        prepared_by: &str,
    ) -> Result<Proposal, InventoryError> {
        let campaign = self.campaign(org, campaign_id).await?;
        let lines = self.lines(org, campaign_id).await?;
        let catalog = self.catalog(org).await?;
        let media_names: BTreeMap<String, String> = catalog
            .media
            .iter()
            .map(|m| (m.code.clone(), m.name.clone()))
            .collect();
        let metas: BTreeMap<String, &crate::MetaDoc> = catalog
            .meta_ids
            .iter()
            .map(|m| (format!("{}/{}", m.media, m.code), m))
            .collect();
        let owners: BTreeMap<String, String> = catalog
            .content_owners
            .iter()
            .map(|c| (c.code.clone(), c.name.clone()))
            .collect();
        let mut curation = Curation::default();
        let mut rows = Vec::new();
        for line in &lines {
            let product = catalog
                .products
                .iter()
                .find(|p| p.code == line.request.product);
            let cpms: Vec<i64> = line
                .request
                .platforms
                .iter()
                .filter_map(|p| Platform::parse(p))
                .filter_map(|p| product.and_then(|pr| pr.cpm.get(p.as_str()).copied()))
                .collect();
            let mut media: Vec<String> = Vec::new();
            for share in &line.request.targeting_groups {
                let Some(group) = catalog
                    .targeting_groups
                    .iter()
                    .find(|g| g.code == share.code)
                else {
                    continue;
                };
                for member in &group.members {
                    let Some(meta) = metas.get(member) else {
                        continue;
                    };
                    let name = media_names
                        .get(&meta.media)
                        .cloned()
                        .unwrap_or_else(|| meta.media.clone());
                    if !media.contains(&name) {
                        media.push(name);
                    }
                    let wanted = line
                        .request
                        .content_owners
                        .iter()
                        .any(|c| Some(&c.code) == meta.content_owner.as_ref());
                    if !wanted {
                        continue;
                    }
                    curation.add(meta, &owners);
                }
            }
            media.sort();
            let targeting = line
                .request
                .targeting_groups
                .iter()
                .map(|g| format!("{} {}%", g.code, g.weight_bp as f64 / 100.0))
                .collect::<Vec<_>>()
                .join(" / ");
            rows.push(ProposalLine {
                media: media.join(", "),
                platforms: line.request.platforms.join(", "),
                product: product.map_or_else(|| line.request.product.clone(), |p| p.name.clone()),
                targeting,
                start: stored_date(&line.request.start)?,
                end: stored_date(&line.request.end)?,
                ad_type: product.map_or_else(String::new, |p| p.ad_type.clone()),
                budget: line.request.amount,
                ecpm: blended_ecpm(&cpms),
                ctr_bp: product.map_or(0, |p| p.ctr_bp),
                vtr_bp: product.map_or(0, |p| p.vtr_bp),
            });
        }
        rows.sort_by(|a, b| a.media.cmp(&b.media));
        Ok(Proposal {
            advertiser: campaign.advertiser,
            campaign: campaign.name,
            start: stored_date(&campaign.start)?,
            end: stored_date(&campaign.end)?,
            total_budget: campaign.total_budget,
            prepared_by: prepared_by.to_owned(),
            prepared_on: self.clock.today().naive(),
            lines: rows,
            curation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::blended_ecpm;

    #[test]
    fn blended_ecpm_is_the_harmonic_mean() {
        assert_eq!(blended_ecpm(&[9000]), 9000);
        assert_eq!(blended_ecpm(&[9000, 9000]), 9000);
        // ₩1000 over two platforms: 500/9*... impressions; amount*1000/impressions = 8471.
        assert_eq!(blended_ecpm(&[9000, 8000]), 8471);
        assert_eq!(blended_ecpm(&[]), 0);
    }
}
