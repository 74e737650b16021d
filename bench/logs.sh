#!/usr/bin/env bash
# Ad-log analytics benchmark (docs/benchmarks.md): EVENTS events in gzip JSON lines, analyzed end
# to end by adpool (list, read, decompress, parse, aggregate, upsert into SQLite) and, from the
# same files, the same four reports computed by DuckDB and by pandas, each in the same run.
# Usage: bench/logs.sh [EVENTS] [FILES]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
events="${1:-5000000}"
files="${2:-50}"
cargo build --release -p adpool
cargo build --release -p adpool-logs --example generate_logs
python=$(bench_python duckdb pandas)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$CARGO_TARGET_DIR/release/examples/generate_logs" "$scratch" "$events" "$files"
du -sh "$scratch/logs"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F)"
bin="$CARGO_TARGET_DIR/release/adpool"
# adpool twice, each on a fresh database: the default batch of 10 files per transaction, and
# all 50 files in one transaction.
for batch in 10 50; do
  export ADPOOL_DATABASE_URL="sqlite://$scratch/bench-$batch.db"
  (cd "$scratch" && "$bin" user create --email bench@example.kr --org Bench --role admin --password "benchmark password" >/dev/null)
  (cd "$scratch" && "$bin" logs metadata import --media media.csv --inventory inventory.csv)
  echo "=== adpool logs analyze --batch-size $batch ==="
  /usr/bin/time -f "adpool: %e s wall, peak RSS %M KB" "$bin" logs analyze --source "$scratch/logs" --batch-size "$batch" 2>&1 | grep -v "^unknown"
  (cd "$scratch" && "$bin" report export media --format json | "$python" -c "import json,sys; r=json.load(sys.stdin); print('adpool media rows', len(r), 'revenue', sum(round(float(x['revenue'])*1000) for x in r), 'media part', sum(round(float(x['media_revenue'])*1000) for x in r))")
done
echo "=== DuckDB ==="
"$python" bench/logs_duckdb.py "$scratch/logs" "$scratch" duckdb
echo "=== pandas ==="
"$python" bench/logs_duckdb.py "$scratch/logs" "$scratch" pandas
