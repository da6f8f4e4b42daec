#!/usr/bin/env bash
# Whole-process figure: `idlink run --once` over ../shared/bench/gen-logs'
# Postfix (1 M lines) and Okta (200 k events) workloads into a file sink,
# measured with /usr/bin/time -v (user + sys CPU seconds, peak RSS), as the
# peer figures in ../shared/bench/README.md were.
#
#   benches/whole-process.sh [postfix|okta]...   (default: postfix)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=$(cd ../shared && pwd)
data=${IDLINK_BENCH_DATA:-bench-data}
mkdir -p "$data"
[ -s "$data/postfix.log" ] && [ -s "$data/okta.ndjson" ] || \
    python3 "$shared/bench/gen-logs" --out "$data" --seed 42
cargo build --release --quiet
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
    /usr/bin/time -v target/release/idlink run --once --config "$run/bench.toml" 2> "$run/time.txt"
    user=$(awk -F': ' '/User time/ {print $2}' "$run/time.txt")
    sys=$(awk -F': ' '/System time/ {print $2}' "$run/time.txt")
    rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$run/time.txt")
    lines=$(wc -l < "$data/$file")
    events=$(wc -l < "$run/out.ndjson")
    python3 - "$workload" "$user" "$sys" "$rss" "$lines" "$events" <<'PY'
import sys
w, user, sys_, rss, lines, events = sys.argv[1:]
cpu = float(user) + float(sys_)
print(f"{w}: {lines} input records -> {events} OCSF events; CPU {cpu:.2f} s "
      f"(user {user}, sys {sys_}); {int(lines)/cpu:,.0f} records per CPU-second; "
      f"peak RSS {int(rss)/1024:.1f} MiB")
PY
    rm -rf "$run"
done
