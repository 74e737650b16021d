#!/usr/bin/env bash
# Spending-insight benchmark (docs/benchmarks.md): LINES card-statement lines in CP949, imported
# and categorized by adpool (decode, find the header, parse, hash, categorize, insert into
# SQLite in one transaction) and, from the same file, read and categorized by pandas.
# Usage: bench/insight.sh [LINES]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
lines="${1:-1000000}"
cargo build --release -p adpool
cargo build --release -p adpool-insight --example generate_statement
python=$(bench_python pandas)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$CARGO_TARGET_DIR/release/examples/generate_statement" "$scratch" "$lines"
du -h "$scratch/statement.csv"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F)"
bin="$CARGO_TARGET_DIR/release/adpool"
export ADPOOL_DATABASE_URL="sqlite://$scratch/bench.db"
(cd "$scratch" && "$bin" user create --email bench@example.kr --org Bench --role admin --password "benchmark password" >/dev/null)
echo "=== adpool insight import ==="
(cd "$scratch" && /usr/bin/time -f "adpool: %e s wall, peak RSS %M KB" "$bin" insight import statement.csv)
(cd "$scratch" && sqlite3 bench.db "SELECT 'adpool: spend ' || SUM(amount) || ', uncategorized ' || SUM(CASE WHEN category = 'uncategorized' THEN amount ELSE 0 END) || ', categories ' || COUNT(DISTINCT category) FROM insight_transactions WHERE kind <> 'cancelled'")
echo "=== the same file again (every line a duplicate) ==="
(cd "$scratch" && /usr/bin/time -f "adpool: %e s wall, peak RSS %M KB" "$bin" insight import statement.csv)
echo "=== pandas ==="
/usr/bin/time -f "pandas: %e s wall, peak RSS %M KB" "$python" bench/insight_pandas.py "$scratch"
