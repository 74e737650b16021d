#!/usr/bin/env bash
# Benchmark of the proposal workbook (issue 5): the same LINES-line proposal written by adpool
# (rust_xlsxwriter, release build) and by openpyxl (bench/proposal_openpyxl.py), RUNS times each
# in the same run; prints the median time, the peak resident memory of each process and the
# speed-up. Installs openpyxl with pip when missing.
#
#   bench/proposal.sh [LINES] [RUNS]      (defaults: 1000 lines, 20 runs)
set -euo pipefail
lines=${1:-1000}
runs=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/adpool-target}"
python3 -c "import openpyxl" 2>/dev/null || python3 -m pip install -q openpyxl
(cd "$root" && cargo build --release --locked -p adpool-inventory --example proposal_bench -q)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

rust=$("$CARGO_TARGET_DIR/release/examples/proposal_bench" "$lines" "$runs" "$scratch")
python=$(python3 "$root/bench/proposal_openpyxl.py" "$scratch/proposal.json" "$runs" \
  "$scratch/proposal-openpyxl.xlsx")
echo "$rust"
echo "$python"
median() { sed -E 's/.*median_ms=([0-9.]+).*/\1/' <<<"$1"; }
awk -v r="$(median "$rust")" -v p="$(median "$python")" \
  'BEGIN { printf "speed-up: %.1fx (openpyxl median / rust median)\n", p / r }'
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr); python $(python3 -c 'import openpyxl, platform; print(platform.python_version(), "openpyxl", openpyxl.__version__)')"
