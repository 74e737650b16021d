#!/usr/bin/env bash
# Scale-out benchmark (docs/benchmarks.md, docs/deployment.md): adpool api processes on one
# PostgreSQL, Redis and NATS JetStream, measured with wrk on loopback in one run:
# 1. one api process (+ one worker): ad queries, then the query + click mix;
# 2. three api processes (+ the worker): the same;
# then the Redis round trips per click, and how long the worker took to settle the clicks.
# Usage: bench/scale-out.sh [DURATION_SECONDS]   (PostgreSQL, Redis, NATS on their local ports)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
duration="${1:-15}"
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
cargo build --release -p adpool --bin adpool --example scale_out_seed
bin="$CARGO_TARGET_DIR/release/adpool"
pg="postgres://postgres@127.0.0.1:5432"
psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS adpool_bench_scale" -c "CREATE DATABASE adpool_bench_scale"
namespace="bench$(date +%s)"
key=$("$CARGO_TARGET_DIR/release/examples/scale_out_seed" "$pg/adpool_bench_scale")
scratch=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  redis-cli --scan --pattern "$namespace:*" | xargs -r redis-cli del >/dev/null
  rm -rf "$scratch"
}
trap cleanup EXIT
export ADPOOL_DATABASE_URL="$pg/adpool_bench_scale" ADPOOL_REDIS_URL=redis://127.0.0.1:6379 \
  ADPOOL_NATS_URL=nats://127.0.0.1:4222 ADPOOL_NAMESPACE="$namespace" ADPOOL_LOG=warn \
  ADPOOL_SERVE_RATE_LIMIT_PER_SECOND=0 ADPOOL_CPC_MAX_USERS_PER_CLIENT=0 \
  ADPOOL_EVENT_LOG_FOLDER="" ADPOOL_COMMERCE_KEY=$(printf '0%.0s' $(seq 1 64))
start() { # role port
  (cd "$scratch" && exec "$bin" serve --role "$1" --bind "127.0.0.1:$2" >"$1-$2.log" 2>&1) &
  pids+=($!)
}
wait_api() {
  for _ in $(seq 1 100); do
    curl -sf -H "X-Adpool-Key: $key" "http://127.0.0.1:$1/serve/ads?placement=home_top&n=1" | grep -q click_url && return
    sleep 0.2
  done
  echo "api on $1 not serving" >&2; cat "$scratch"/*.log >&2; exit 1
}
settled() { psql "$pg/adpool_bench_scale" -tAc "SELECT COUNT(*) FROM consumed_events WHERE consumer = 'clicks'"; }
evalsha() { redis-cli info commandstats | grep -o 'cmdstat_evalsha:calls=[0-9]*' | cut -d= -f2 || echo 0; }
redis_calls() { redis-cli info commandstats | grep -o 'calls=[0-9]*' | cut -d= -f2 | paste -sd+ | bc; }
# After a click run: clicks settled (each one ad-events message), their rate over the run, the
# Redis commands per click (the charge script, and everything else the processes sent meanwhile:
# counters, ranking polls), and how long the worker needed after wrk stopped.
report_clicks() {
  local stopped=$(date +%s.%N) last=-1 now
  while now=$(settled); [ "$now" != "$last" ]; do last=$now; sleep 2; done
  local clicks=$(( now - before_clicks ))
  local took=$(echo "$(date +%s.%N) - $stopped - 2" | bc)
  echo "  clicks: $clicks ($(( clicks / duration ))/s over the run), settled into the ledger by the worker within $took s after wrk stopped"
  echo "  Redis per click: $(echo "scale=2; ($(evalsha) - $before_eval) / $clicks" | bc) round trips (EVALSHA of the charge script); $(echo "scale=2; ($(redis_calls) - $before_redis) / $clicks" | bc) commands counted by Redis, the script's own GET/EXISTS/DECRBY/SET and the processes' counter and ranking traffic included"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F)"
start worker 18190
start api 18191
wait_api 18191
query="/serve/ads?placement=home_top&category=camping&n=4&user=u1"

# Three wrk processes (one thread, 22 connections each) in both phases: in the first all three
# load the one api process, in the second each loads its own; one wrk thread tops out near 35k
# requests/s here, so fewer generators would measure wrk, not adpool.
load() { # name, ports..., then wrk arguments after --
  local name=$1; shift
  local ports=()
  while [ "$1" != "--" ]; do ports+=("$1"); shift; done; shift
  local pids=() i=0
  for slot in 1 2 3; do
    local port=${ports[$(( i % ${#ports[@]} ))]}; i=$(( i + 1 ))
    wrk -t1 -c22 -d"${duration}s" --latency "$@" "http://127.0.0.1:$port${path:-}" >"$scratch/$name-$slot.txt" &
    pids+=($!)
  done
  wait "${pids[@]}"
  local total=0
  for slot in 1 2 3; do
    local rps=$(grep -o 'Requests/sec: *[0-9.]*' "$scratch/$name-$slot.txt" | grep -o '[0-9.]*$')
    local p99=$(grep -E '^ +99%' "$scratch/$name-$slot.txt" | awk '{print $2}')
    echo "  wrk $slot -> :${ports[$(( (slot - 1) % ${#ports[@]} ))]}: $rps req/s, p99 $p99"
    total=$(echo "$total + $rps" | bc)
  done
  echo "  total: $total req/s"
}

for phase in 1 3; do
  if [ "$phase" = 3 ]; then
    start api 18192; start api 18193
    wait_api 18192; wait_api 18193
    ports=(18191 18192 18193)
  else
    ports=(18191)
  fi
  echo; echo "=== $phase api process(es): GET /serve/ads (4 ads, signed click URLs) ==="
  path="$query" load "q$phase" "${ports[@]}" -- -H "X-Adpool-Key: $key"
  echo; echo "=== $phase api process(es): query + click mix (each click a fresh token) ==="
  before_clicks=$(settled); before_eval=$(evalsha); before_redis=$(redis_calls)
  ADPOOL_BENCH_KEY=$key path="" load "c$phase" "${ports[@]}" -- -s bench/scale-out-clicks.lua
  report_clicks
done
echo "  NATS: one JetStream publish (awaiting its ack) per click on the api process, one delivery + ack per click on the worker"
