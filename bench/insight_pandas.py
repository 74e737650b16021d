"""The pandas side of bench/insight.sh: read the same CP949 statement, skip title and totals,
parse won amounts and dates, drop repeated lines by content + occurrence, categorize merchants
by the longest dictionary keyword they contain (ignoring spaces and ASCII case), then spend by
category. Prints control totals to compare with adpool's."""
import sys
import time

import pandas as pd

folder = sys.argv[1]
started = time.perf_counter()
frame = pd.read_csv(f"{folder}/statement.csv", encoding="cp949", skiprows=2, dtype=str, keep_default_na=False)
frame = frame[~frame["이용일자"].str.startswith("합계")]
frame["amount"] = frame["이용금액"].str.replace(",", "", regex=False).str.replace("원", "", regex=False).astype("int64")
frame["day"] = pd.to_datetime(frame["이용일자"], format="%Y.%m.%d")
frame["occurrence"] = frame.groupby(list(frame.columns[:6])).cumcount() + 1
dictionary = pd.read_csv(f"{folder}/dictionary.csv", dtype=str)
keywords = sorted(
    ((k.replace(" ", "").upper(), c) for k, c in zip(dictionary["keyword"], dictionary["category"])),
    key=lambda kc: -len(kc[0]),
)


def categorize(merchant: str) -> str:
    name = merchant.replace(" ", "").upper()
    for keyword, category in keywords:
        if keyword in name and (not (keyword.isascii() and len(keyword) <= 3) or name.startswith(keyword)):
            return category
    return "uncategorized"


unique = frame["이용가맹점"].unique()
categories = {m: categorize(m) for m in unique}
frame["category"] = frame["이용가맹점"].map(categories)
spend = frame[frame["취소여부"] != "Y"].groupby("category")["amount"].sum()
elapsed = time.perf_counter() - started
print(f"pandas: {len(frame)} lines in {elapsed:.2f} s = {len(frame) / elapsed:,.0f} lines/s; "
      f"spend {int(spend.sum())}, uncategorized {int(spend.get('uncategorized', 0))}, categories {len(spend)}")
