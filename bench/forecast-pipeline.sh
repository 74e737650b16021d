#!/usr/bin/env bash
# Benchmark of the forecast-pool pipeline (issue 3): generate N forecast rows, then time
# `forecast import` + `inventory build-standard` + `inventory build-unit` and report peak memory.
#
#   bench/forecast-pipeline.sh [ROWS] [DATABASE_URL]
#
# ROWS defaults to 1,000,000. Without DATABASE_URL it uses a fresh SQLite file in a scratch
# folder; with a postgres:// URL it expects an empty database. Builds the release binary first.
set -euo pipefail
rows=${1:-1000000}
database_url=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/adpool-target}"
(cd "$root" && cargo build --release --locked -p adpool -q)
bin="$CARGO_TARGET_DIR/release/adpool"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"

# 6 parts x 31 days x 24 hours per meta_id, media of 60 meta_ids, a quarter of the hours left
# out so days differ; impressions from a fixed linear congruential sequence (reproducible).
awk -v rows="$rows" 'BEGIN {
  print "media,meta_id,part,date,hour,impressions";
  split("PC_VOD PC_LIVE MOBILE_VOD MOBILE_LIVE APP_VOD CTV", parts, " ");
  n = 0; seed = 12345;
  for (media = 0; n < rows; media++)
    for (meta = 0; meta < 60 && n < rows; meta++)
      for (p = 1; p <= 6 && n < rows; p++)
        for (day = 1; day <= 31 && n < rows; day++)
          for (hour = 0; hour < 24 && n < rows; hour++) {
            if ((hour * 7 + day + meta) % 4 == 0) continue;
            seed = (seed * 1103515245 + 12345) % 2147483648;
            printf "M%03d,M%03d-P%03d,%s,2026-12-%02d,%d,%d\n", media, media, meta, parts[p], day, hour, seed % 9000;
            n++;
          }
}' > forecast.csv

export RUST_LOG=error
if [ -n "$database_url" ]; then export ADPOOL_DATABASE_URL="$database_url"; fi
"$bin" user create --email bench@rep.kr --org "Bench Rep" --password "correct horse battery" > /dev/null
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); database: ${database_url:-sqlite (scratch file)}"
start=$(date +%s%N)
/usr/bin/time -f "  import:         %e s, peak RSS %M KB" "$bin" forecast import forecast.csv | head -n 1
/usr/bin/time -f "  build-standard: %e s, peak RSS %M KB" "$bin" inventory build-standard --month 2026-12
"$bin" inventory confirm --month 2026-12 > /dev/null
/usr/bin/time -f "  build-unit:     %e s, peak RSS %M KB" "$bin" inventory build-unit --month 2026-12
end=$(date +%s%N)
millis=$(( (end - start) / 1000000 ))
echo "end to end: $rows rows in ${millis} ms = $(( rows * 1000 / (millis > 0 ? millis : 1) )) rows/s (file $(du -h forecast.csv | cut -f1))"
