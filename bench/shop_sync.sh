#!/usr/bin/env bash
# Shop sync benchmark (docs/benchmarks.md): ORDERS orders synced from the fake Cafe24 server
# with its call limit on (40-call bucket draining 2 per second) into a fresh SQLite database;
# prints the achieved share of the rate the limit allows and the database write rate.
# Usage: bench/shop_sync.sh [ORDERS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/adpool-target}"
cargo build --release -p adpool-commerce --example sync_bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F)"
/usr/bin/time -f "peak RSS %M KB" "$CARGO_TARGET_DIR/release/examples/sync_bench" "${1:-100000}"
