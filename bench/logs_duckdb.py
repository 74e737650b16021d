"""The four ad-log reports with DuckDB (and, with --pandas, with pandas) from the same files,
for bench/logs.sh. Prints wall seconds, peak RSS and control totals to compare with adpool."""
import resource
import sys
import time

folder, meta, engine = sys.argv[1], sys.argv[2], sys.argv[3]
started = time.time()

if engine == "duckdb":
    import duckdb
    con = duckdb.connect()
    con.execute(f"CREATE TABLE media AS SELECT * FROM read_csv('{meta}/media.csv')")
    con.execute(f"CREATE TABLE inventory AS SELECT * FROM read_csv('{meta}/inventory.csv')")
    con.execute(f"""
        CREATE TABLE ev AS
        SELECT strftime(make_timestamp((ts + 32400) * 1000000), '%Y-%m-%d') AS date,
               ev, mid,
               coalesce(ads[1].aid, 0) AS aid, coalesce(ads[1]._god, 0) AS god, coalesce(ads[1].did, 0) AS did,
               lower(dev) AS dev, lower(app) AS app,
               CAST(round(coalesce(rev, 0) * 1000) AS BIGINT) AS rev_milli
        FROM read_json('{folder}/*.jsonl.gz', format = 'newline_delimited',
             columns = {{ts: 'BIGINT', ev: 'VARCHAR', mid: 'VARCHAR', ads: 'STRUCT(aid BIGINT, _god BIGINT, did BIGINT)[]', dev: 'VARCHAR', app: 'VARCHAR', rev: 'DOUBLE'}})
    """)
    con.execute("""
        CREATE TABLE enriched AS
        SELECT e.*, coalesce(m.org_id, 0) AS org, coalesce(m.media_share_bp, 0) AS share,
               CASE WHEN e.dev = 'pc' THEN 'PC' WHEN e.dev IN ('mobile', 'tablet') THEN 'MOBILE'
                    ELSE coalesce(i.device, 'ALL') END AS device,
               CASE WHEN e.app = 'web' THEN 'WEB' WHEN e.app = 'ios' THEN 'IOS'
                    WHEN e.app IN ('aos', 'android') THEN 'AOS' ELSE 'ALL' END AS appc
        FROM ev e LEFT JOIN media m ON m.media_key = e.mid LEFT JOIN inventory i ON i.inventory_id = e.aid
    """)
    perf = con.execute("""SELECT date, org, mid, aid, god, did, count(*) FILTER (ev = 'imp'), count(*) FILTER (ev = 'clk'), sum(rev_milli)
        FROM enriched WHERE ev IN ('imp', 'clk') GROUP BY ALL""").fetchall()
    req = con.execute("""SELECT date, org, mid, aid, device, appc, count(*) FILTER (ev = 'req'), count(*) FILTER (ev = 'res'), count(*) FILTER (ev = 'psb')
        FROM enriched WHERE ev IN ('req', 'res', 'psb') GROUP BY ALL""").fetchall()
    demand = con.execute("""SELECT date, did, count(*) FILTER (ev = 'imp'), count(*) FILTER (ev = 'clk'), sum(rev_milli)
        FROM enriched WHERE ev IN ('imp', 'clk') GROUP BY ALL""").fetchall()
    media = con.execute("""SELECT date, org, mid, device, count(*) FILTER (ev = 'imp'), count(*) FILTER (ev = 'clk'), sum(rev_milli),
        sum(rev_milli * share // 10000 + CASE WHEN (rev_milli * share) % 10000 > 5000 OR ((rev_milli * share) % 10000 = 5000 AND share >= 5000) THEN 1 ELSE 0 END) AS media_part
        FROM enriched WHERE ev IN ('imp', 'clk') GROUP BY ALL""").fetchall()
    events = con.execute("SELECT count(*) FROM ev").fetchone()[0]
    revenue = sum(r[8] for r in perf)
    media_revenue = sum(r[7] for r in media)
    rows = (len(perf), len(req), len(demand), len(media))
else:
    import glob
    import numpy as np
    import pandas as pd
    frames = [pd.read_json(f, lines=True, compression="gzip") for f in sorted(glob.glob(f"{folder}/*.jsonl.gz"))]
    df = pd.concat(frames, ignore_index=True)
    media_meta = pd.read_csv(f"{meta}/media.csv")
    inv = pd.read_csv(f"{meta}/inventory.csv")
    first = df["ads"].map(lambda a: a[0] if isinstance(a, list) and a else {})
    df["aid"] = first.map(lambda a: a.get("aid", 0))
    df["god"] = first.map(lambda a: a.get("_god", 0))
    df["did"] = first.map(lambda a: a.get("did", 0))
    df["date"] = pd.to_datetime(df["ts"] + 32400, unit="s").dt.strftime("%Y-%m-%d")
    df["rev_milli"] = (df["rev"].fillna(0) * 1000).round().astype("int64")
    df = df.merge(media_meta, how="left", left_on="mid", right_on="media_key").merge(inv, how="left", left_on="aid", right_on="inventory_id")
    df["org"] = df["org_id"].fillna(0).astype("int64")
    df["share"] = df["media_share_bp"].fillna(0).astype("int64")
    dev = df["dev"].fillna("").str.lower()
    df["devc"] = np.where(dev == "pc", "PC", np.where(dev.isin(["mobile", "tablet"]), "MOBILE", df["device"].fillna("ALL")))
    app = df["app"].fillna("").str.lower()
    df["appc"] = np.select([app == "web", app == "ios", app.isin(["aos", "android"])], ["WEB", "IOS", "AOS"], "ALL")
    df["imp"] = (df["ev"] == "imp").astype("int64")
    df["clk"] = (df["ev"] == "clk").astype("int64")
    for e in ("req", "res", "psb"):
        df[e] = (df["ev"] == e).astype("int64")
    exact = df["rev_milli"] * df["share"]
    rem = exact % 10000
    df["media_part"] = exact // 10000 + ((rem > 5000) | ((rem == 5000) & (df["share"] >= 5000))).astype("int64")
    d = df[df["ev"].isin(["imp", "clk"])]
    perf = d.groupby(["date", "org", "mid", "aid", "god", "did"]).agg(imp=("imp", "sum"), clk=("clk", "sum"), rev=("rev_milli", "sum"))
    req = df[df["ev"].isin(["req", "res", "psb"])].groupby(["date", "org", "mid", "aid", "devc", "appc"])[["req", "res", "psb"]].sum()
    demand = d.groupby(["date", "did"])[["imp", "clk", "rev_milli"]].sum()
    media = d.groupby(["date", "org", "mid", "devc"])[["imp", "clk", "rev_milli", "media_part"]].sum()
    events = len(df)
    revenue = int(perf["rev"].sum())
    media_revenue = int(media["media_part"].sum())
    rows = (len(perf), len(req), len(demand), len(media))

seconds = time.time() - started
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{engine}: {events} events in {seconds:.2f} s = {events / seconds:,.0f} events/s, peak RSS {peak_mb:.0f} MB; "
      f"rows {rows}; revenue {revenue} milli-won, media part {media_revenue}")
