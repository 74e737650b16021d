"""The pandas side of bench/insight.sh: read the same CP949 statement, skip title and totals,
parse won amounts and dates, drop repeated lines by content + occurrence, categorize each
merchant by the longest dictionary keyword it contains (ignoring spaces and ASCII case), else by
its industry words, as adpool does; then spend by category. Prints control totals to compare with adpool's."""
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


def table(kind: str):
    rows = dictionary[dictionary["kind"] == kind]
    return sorted(
        ((k.replace(" ", "").upper(), c) for k, c in zip(rows["keyword"], rows["category"])),
        key=lambda kc: -len(kc[0]),
    )


merchant_words, industry_words = table("merchant"), table("industry")


def longest(words, text: str):
    name = text.replace(" ", "").upper()
    for keyword, category in words:
        if keyword in name and (not (keyword.isascii() and len(keyword) <= 3) or name.startswith(keyword)):
            return category
    return None


def categorize(merchant: str, industry: str) -> str:
    return longest(merchant_words, merchant) or longest(industry_words, industry) or "uncategorized"


pairs = frame[["이용가맹점", "업종"]].drop_duplicates()
categories = {(m, i): categorize(m, i) for m, i in zip(pairs["이용가맹점"], pairs["업종"])}
frame["category"] = [categories[(m, i)] for m, i in zip(frame["이용가맹점"], frame["업종"])]
spend = frame[frame["취소여부"] != "Y"].groupby("category")["amount"].sum()
elapsed = time.perf_counter() - started
print(f"pandas: {len(frame)} lines in {elapsed:.2f} s = {len(frame) / elapsed:,.0f} lines/s; "
      f"spend {int(spend.sum())}, uncategorized {int(spend.get('uncategorized', 0))}, categories {len(spend)}")
