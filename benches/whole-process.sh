#!/usr/bin/env bash
# Whole-process figure: `idlink run --once` over ../shared/bench/gen-logs'
# Postfix (1 M lines) and Okta (200 k events) workloads into a file sink,
# measured with /usr/bin/time -v (user + sys CPU seconds, peak RSS), as the
# peer figures in ../shared/bench/README.md were.
#
#   benches/whole-process.sh [postfix|okta]...   (default: postfix)
#
# IDLINK_BENCH_DATA: where the generated inputs are (default bench-data/);
# IDLINK_BENCH_ENRICH=off: the same run with `enabled = false` under
# [enrich] (the figure the peers compare with: they do not enrich);
# IDLINK_BENCH_KEEP=DIR: keep each run's output as DIR/<workload>.ndjson
# (to compare the events of two builds); IDLINK_BENCH_BIN=PATH: measure that
# binary (an older build, for before/after) instead of building this tree;
# IDLINK_BENCH_PGO=1: build and measure the profile-optimised release binary
# (scripts/pgo-release.sh) instead of the plain one; CARGO_TARGET_DIR is
# honoured.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=$(cd ../shared && pwd)
data=${IDLINK_BENCH_DATA:-bench-data}
mkdir -p "$data"
[ -s "$data/postfix.log" ] && [ -s "$data/okta.ndjson" ] || \
    python3 "$shared/bench/gen-logs" --out "$data" --seed 42
if [ -n "${IDLINK_BENCH_BIN:-}" ]; then
    bin=$IDLINK_BENCH_BIN
elif [ -n "${IDLINK_BENCH_PGO:-}" ]; then
    bin=$(bash scripts/pgo-release.sh | tail -n 1)
else
    cargo build --release --quiet
    bin=${CARGO_TARGET_DIR:-target}/release/idlink
fi
case ${IDLINK_BENCH_ENRICH:-on} in
    on) enabled=true ;;
    off) enabled=false ;;
    *) echo "IDLINK_BENCH_ENRICH must be on or off"; exit 2 ;;
esac
for workload in "${@:-postfix}"; do
    case $workload in
        postfix) parser=postfix; file=postfix.log ;;
        okta) parser=okta; file=okta.ndjson ;;
        *) echo "unknown workload $workload"; exit 2 ;;
    esac
    run=$(mktemp -d)
    cat > "$run/bench.toml" <<TOML
data_dir = "$run/data"
[enrich]
enabled = $enabled
local_domains = ["example.com", "corp.example.com", "example.org"]
[sources.bench]
type = "file"
include = ["$(realpath "$data")/$file"]
parser = "$parser"
[sinks.out]
type = "file"
inputs = ["bench"]
path = "$run/out.ndjson"
TOML
    /usr/bin/time -v "$bin" run --once --config "$run/bench.toml" 2> "$run/time.txt"
    user=$(awk -F': ' '/User time/ {print $2}' "$run/time.txt")
    sys=$(awk -F': ' '/System time/ {print $2}' "$run/time.txt")
    rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$run/time.txt")
    lines=$(wc -l < "$data/$file")
    events=$(wc -l < "$run/out.ndjson")
    python3 - "$workload" "$enabled" "$user" "$sys" "$rss" "$lines" "$events" <<'PY'
import sys
w, enabled, user, sys_, rss, lines, events = sys.argv[1:]
enrich = "on" if enabled == "true" else "off"
cpu = float(user) + float(sys_)
print(f"{w} (enrichment {enrich}): {lines} input records -> {events} OCSF events; CPU {cpu:.2f} s "
      f"(user {user}, sys {sys_}); {int(lines)/cpu:,.0f} records per CPU-second; "
      f"peak RSS {int(rss)/1024:.1f} MiB")
PY
    if [ -n "${IDLINK_BENCH_KEEP:-}" ]; then
        mkdir -p "$IDLINK_BENCH_KEEP"
        mv "$run/out.ndjson" "$IDLINK_BENCH_KEEP/$workload.ndjson"
    fi
    rm -rf "$run"
done
