#!/usr/bin/env python3
"""The proposal workbook written with openpyxl (the seed's library), for comparison with
adpool's rust_xlsxwriter writer (crates/inventory/src/proposal.rs): same sheets, cells,
formulas, merges, formats, data bar, freeze panes and print setup. openpyxl cannot store a
formula's cached result, so readers that do not recalculate see blanks in its version.

    python3 bench/proposal_openpyxl.py PROPOSAL_JSON RUNS OUT_XLSX

Prints `openpyxl lines=.. runs=.. median_ms=.. min_ms=.. bytes=.. peak_rss_kb=..`.
"""
import io
import json
import resource
import sys
import time
from datetime import date

from openpyxl import Workbook
from openpyxl.formatting.rule import DataBarRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

COLUMNS = ["No", "Media", "Platform", "Product", "Targeting", "Start", "End", "Days",
           "Ad type", "Budget", "eCPM", "Est. impressions", "CTR", "Est. clicks", "VTR",
           "Est. views"]
WIDTHS = [5, 16, 14, 22, 26, 11, 11, 6, 10, 15, 10, 15, 8, 12, 8, 13]
HEADER_ROW = 7  # 1-based
FONT = "Malgun Gothic"


def letter(i):
    return chr(ord("A") + i)


def write(p):
    wb = Workbook()
    ws = wb.active
    ws.title = "MediaMix"
    thin = Side(style="thin", color="BFC5D2")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    base = Font(name=FONT, size=10)
    bold = Font(name=FONT, size=10, bold=True)
    white = Font(name=FONT, size=10, bold=True, color="FFFFFF")
    label_fill = PatternFill("solid", fgColor="EEF3FF")
    header_fill = PatternFill("solid", fgColor="1F5EFF")
    middle = Alignment(vertical="center")
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)

    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=16)
    ws.cell(1, 1, "광고 제안서 · Media Mix").font = Font(name=FONT, size=16, bold=True)
    info = [
        ("광고주 Advertiser", p["advertiser"], "캠페인 Campaign", p["campaign"]),
        ("기간 Period", f'{p["start"]} ~ {p["end"]}', "총 예산 Total budget",
         f'₩{p["total_budget"]:,}'),
        ("작성 Prepared by", p["prepared_by"], "작성일 Date", p["prepared_on"]),
    ]
    for i, (l1, v1, l2, v2) in enumerate(info):
        row = 3 + i
        for (c1, c2, text, is_label) in [(1, 2, l1, True), (3, 8, v1, False),
                                         (9, 10, l2, True), (11, 16, v2, False)]:
            ws.merge_cells(start_row=row, start_column=c1, end_row=row, end_column=c2)
            cell = ws.cell(row, c1, text)
            cell.font = bold if is_label else base
            cell.border = border
            cell.alignment = middle
            if is_label:
                cell.fill = label_fill
    for c, name in enumerate(COLUMNS, start=1):
        cell = ws.cell(HEADER_ROW, c, name)
        cell.font = white
        cell.fill = header_fill
        cell.border = border
        cell.alignment = centre
    ws.row_dimensions[HEADER_ROW].height = 30

    first = HEADER_ROW + 1
    lines = p["lines"]
    formats = ["#,##0", None, None, None, None, "yyyy-mm-dd", "yyyy-mm-dd", "#,##0", None,
               "₩#,##0", "₩#,##0", "#,##0", "0.00%", "#,##0", "0.00%", "#,##0"]
    for i, line in enumerate(lines):
        r = first + i
        values = [
            i + 1, line["media"], line["platforms"], line["product"], line["targeting"],
            date.fromisoformat(line["start"]), date.fromisoformat(line["end"]),
            f"=G{r}-F{r}+1", line["ad_type"], line["budget"], line["ecpm"],
            f"=J{r}/K{r}*1000", line["ctr_bp"] / 10000, f"=L{r}*M{r}",
            line["vtr_bp"] / 10000, f"=L{r}*O{r}",
        ]
        for c, value in enumerate(values):
            cell = ws.cell(r, c + 1, value)
            cell.font = base
            cell.border = border
            cell.alignment = centre if c == 1 else middle
            if formats[c]:
                cell.number_format = formats[c]
    start = 0
    while start < len(lines):
        end = start
        while end + 1 < len(lines) and lines[end + 1]["media"] == lines[start]["media"]:
            end += 1
        if end > start:
            ws.merge_cells(start_row=first + start, start_column=2,
                           end_row=first + end, end_column=2)
        start = end + 1
    total = first + len(lines)
    ws.merge_cells(start_row=total, start_column=1, end_row=total, end_column=9)
    cell = ws.cell(total, 1, "TOTAL")
    cell.font, cell.fill, cell.border, cell.alignment = white, header_fill, border, centre
    bottom = max(total - 1, first)
    for c, value, fmt in [
        (10, f"=SUM(J{first}:J{bottom})", "₩#,##0"),
        (11, f"=IF(L{total}=0,0,J{total}/L{total}*1000)", "₩#,##0"),
        (12, f"=SUM(L{first}:L{bottom})", "#,##0"),
        (13, None, None),
        (14, f"=SUM(N{first}:N{bottom})", "#,##0"),
        (15, None, None),
        (16, f"=SUM(P{first}:P{bottom})", "#,##0"),
    ]:
        cell = ws.cell(total, c, value)
        cell.font, cell.fill, cell.border = bold, label_fill, border
        if fmt:
            cell.number_format = fmt
    if lines:
        ws.conditional_formatting.add(
            f"J{first}:J{total - 1}",
            DataBarRule(start_type="min", end_type="max", color="8DB3FF"))
    for c, width in enumerate(WIDTHS):
        ws.column_dimensions[letter(c)].width = width
    ws.freeze_panes = f"A{first}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True

    cur = wb.create_sheet("CurationTargeting")
    cur.cell(1, 1, "큐레이션 타겟팅 · Curation targeting").font = Font(name=FONT, size=14,
                                                                     bold=True)
    cur.cell(3, 1, "프로그램 타겟팅 (방송사별) · Programs by broadcaster").font = bold
    for c, text in [(1, "방송사 Broadcaster"), (2, "프로그램 Programs")]:
        cell = cur.cell(4, c, text)
        cell.font, cell.fill, cell.border = white, header_fill, border
    row = 5
    wrap = Alignment(vertical="center", wrap_text=True)
    for owner, programs in sorted(p["curation"]["programs"].items()):
        for c, text in [(1, owner), (2, ", ".join(programs))]:
            cell = cur.cell(row, c, text)
            cell.font, cell.border, cell.alignment = base, border, wrap
        row += 1
    for heading, items in [("유튜브 채널 타겟팅 · YouTube channels", p["curation"]["channels"]),
                           ("맞춤 키워드 · Custom keywords", p["curation"]["keywords"])]:
        row += 1
        cur.cell(row, 1, heading).font = bold
        row += 1
        cur.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
        cell = cur.cell(row, 1, ", ".join(items) if items else "—")
        cell.font, cell.border, cell.alignment = base, border, wrap
        row += 1
    cur.column_dimensions["A"].width = 24
    cur.column_dimensions["B"].width = 90
    cur.page_setup.orientation = "landscape"
    cur.page_setup.paperSize = cur.PAPERSIZE_A4

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def main():
    source, runs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(source, encoding="utf-8") as f:
        proposal = json.load(f)
    times = []
    data = b""
    for _ in range(runs):
        started = time.perf_counter()
        data = write(proposal)
        times.append((time.perf_counter() - started) * 1000)
    with open(out, "wb") as f:
        f.write(data)
    times.sort()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"openpyxl lines={len(proposal['lines'])} runs={runs} "
          f"median_ms={times[len(times) // 2]:.1f} min_ms={times[0]:.1f} bytes={len(data)} "
          f"peak_rss_kb={peak}")


if __name__ == "__main__":
    main()
