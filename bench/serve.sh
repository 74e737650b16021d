#!/usr/bin/env bash
# CPC ad-serving benchmark (docs/benchmarks.md):
# 1. wrk on loopback against one `adpool demo` process (release build): GET /healthz (a trivial
#    endpoint of the same server) and GET /serve/ads, one after the other in the same run;
# 2. the in-process example: server-side latency of the ad query (p50 / p99), and valid clicks
#    charged durably.
# Usage: bench/serve.sh [DURATION_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/adpool-target}"
duration="${1:-20}"
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
cargo build --release -p adpool
cargo build --release -p adpool-web --example serve_bench
bin="$CARGO_TARGET_DIR/release/adpool"
scratch=$(mktemp -d)
port=18181
(cd "$scratch" && ADPOOL_LOG=warn ADPOOL_SERVE_RATE_LIMIT_PER_SECOND=0 exec "$bin" demo --bind "127.0.0.1:$port" >demo.log 2>&1) &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$scratch"' EXIT
for _ in $(seq 1 120); do grep -q "X-Adpool-Key" "$scratch/demo.log" 2>/dev/null && break; sleep 0.5; done
grep -q "X-Adpool-Key" "$scratch/demo.log" || { cat "$scratch/demo.log"; echo "the demo did not start" >&2; exit 1; }
key=$(grep -o 'adk_[0-9a-f]*' "$scratch/demo.log" | head -n 1)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F)"
echo
echo "=== wrk GET /healthz ==="
wrk -t2 -c64 -d"${duration}s" --latency "http://127.0.0.1:$port/healthz"
echo
echo "=== wrk GET /serve/ads (4 ads, signed click URLs) ==="
wrk -t2 -c64 -d"${duration}s" --latency -H "X-Adpool-Key: $key" \
  "http://127.0.0.1:$port/serve/ads?placement=home_top&category=camping&n=4&user=u1"
kill $server
wait $server 2>/dev/null || true
echo
echo "=== in-process: server time of the query, durable clicks ==="
"$CARGO_TARGET_DIR/release/examples/serve_bench"
