#!/usr/bin/env bash
# The release binary, optimised with a profile of its own runs (PGO).
#
#   scripts/pgo-release.sh        # prints the binary's path on its last line
#
# Three steps, each in its own target folder so that they never rebuild one
# another: an instrumented release build; training runs that record which
# branches and calls are hot; a release build that lays the code out and
# inlines by that profile. The binary reads and writes exactly what the plain
# release build does (CI compares their output); it spends fewer
# instructions per event.
#
# The training covers every path an installed agent takes, so that no parser
# or sink is compiled as cold code:
#   - ../shared/bench/gen-logs with seed 7 (a different draw from the seed-42
#     inputs the benchmarks measure): 40 k Okta events and 200 k Postfix lines
#     through `idlink run` into a file sink, with enrichment and without;
#   - every sample in ../shared/samples (each source's events and framings)
#     through `idlink parse`, and through `idlink run` with enrichment;
#   - the demo, and the Okta events into ../shared/bench/http-sink through
#     the Splunk HEC and HTTP sinks, gzip and uncompressed.
#
# Needs llvm-profdata from the toolchain's `llvm-tools` component (added with
# rustup when missing). CARGO_TARGET_DIR is honoured; the binary lands in
# $CARGO_TARGET_DIR/pgo/release/idlink, the merged profile in
# $CARGO_TARGET_DIR/pgo/idlink-<checksum>.profdata.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
shared=$(cd "${IDLINK_SHARED:-$root/../shared}" && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$target"
target=$(cd "$target" && pwd)

host=$(rustc -vV | sed -n 's/^host: //p')
profdata="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
if [ ! -x "$profdata" ]; then
    rustup component add llvm-tools >&2
fi

work=$(mktemp -d)
sink_pid=
cleanup() {
    [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

say() { printf 'pgo: %s\n' "$*" >&2; }

# The profiles' folder is in the build's flags: a fixed one keeps the
# instrumented build from being redone on every run.
profiles="$target/pgo-generate/profiles"
say "instrumented build"
CARGO_ENCODED_RUSTFLAGS="-Cprofile-generate=$profiles" CARGO_TARGET_DIR="$target/pgo-generate" \
    cargo build --release --quiet
gen="$target/pgo-generate/release/idlink"
# Build scripts and proc macros were instrumented too: only the agent's own
# runs make the profile.
rm -rf "$profiles"

say "training"
python3 "$shared/bench/gen-logs" --out "$work/in" --seed 7 \
    --postfix-lines 200000 --okta-events 40000 >/dev/null
head -n 10000 "$work/in/okta.ndjson" > "$work/in/okta-10k.ndjson"

# quiet LOG CMD...: CMD with its output dropped and its stderr kept in
# $work/LOG.log, shown when it fails.
quiet() {
    local log="$work/$1.log"
    shift
    "$@" >/dev/null 2>"$log" || {
        cat "$log" >&2
        exit 1
    }
}

# run NAME ENRICH: `idlink run --once` over the sources and sinks written
# to $work/NAME.body (TOML), with enrichment on or off.
run() {
    local name=$1 enabled=$2
    {
        echo "data_dir = \"$work/$name.data\""
        echo "[enrich]"
        echo "enabled = $enabled"
        echo 'local_domains = ["example.com", "corp.example.com", "example.org"]'
        cat "$work/$name.body"
    } > "$work/$name.toml"
    quiet "$name" "$gen" run --once --config "$work/$name.toml"
}

# file_source ID PARSER FILE...: the TOML of a file source.
file_source() {
    local id=$1 parser=$2 list
    shift 2
    list=$(printf '"%s",' "$@")
    printf '[sources.%s]\ntype = "file"\ninclude = [%s]\nparser = "%s"\n' "$id" "${list%,}" "$parser"
}

# The benchmark's two workloads.
for enabled in true false; do
    for w in okta:okta.ndjson postfix:postfix.log; do
        parser=${w%%:*}
        {
            file_source in "$parser" "$work/in/${w#*:}"
            printf '[sinks.out]\ntype = "file"\ninputs = ["in"]\npath = "%s"\n' "$work/out-$parser-$enabled.ndjson"
        } > "$work/$parser-$enabled.body"
        run "$parser-$enabled" "$enabled"
    done
done

# Every source's samples, by `parse` and by `run`.
declare -A samples=()
while read -r source path; do
    samples[$source]+="$path"$'\n'
done < <(bash "$root/scripts/sample-files.sh" "$gen" "$shared/samples")
: > "$work/samples.body"
ids=
for source in "${!samples[@]}"; do
    mapfile -t paths <<< "${samples[$source]%$'\n'}"
    quiet "parse-$source" "$gen" parse --source "$source" "${paths[@]}"
    file_source "$source" "$source" "${paths[@]}" >> "$work/samples.body"
    ids="$ids\"$source\","
done
printf '[sinks.out]\ntype = "file"\ninputs = [%s]\npath = "%s"\n' "${ids%,}" "$work/out-samples.ndjson" \
    >> "$work/samples.body"
run samples true

# The demo, its paths made absolute.
sed "s#pipelines/demo/#$root/pipelines/demo/#g; s#demo-out/#$work/demo-out/#g" \
    "$root/pipelines/demo.toml" > "$work/demo.toml"
quiet demo "$gen" run --once --config "$work/demo.toml"

# The HTTP sinks, into the benchmark's receiver.
# A port another program holds makes the receiver exit: try a few.
for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    python3 "$shared/bench/http-sink" --port "$port" --ready-file "$work/sink.ready" >/dev/null 2>&1 &
    sink_pid=$!
    while kill -0 "$sink_pid" 2>/dev/null && [ ! -e "$work/sink.ready" ]; do sleep 0.1; done
    [ -e "$work/sink.ready" ] && break
    sink_pid=
done
[ -n "$sink_pid" ] || { echo "pgo: http-sink did not start" >&2; exit 1; }
for compression in gzip none; do
    {
        file_source in okta "$work/in/okta-10k.ndjson"
        cat <<TOML
[sinks.splunk]
type = "splunk_hec"
inputs = ["in"]
endpoint = "http://127.0.0.1:$port"
token = "training"
compression = "$compression"
[sinks.http]
type = "http"
inputs = ["in"]
endpoint = "http://127.0.0.1:$port/ingest"
compression = "$compression"
TOML
    } > "$work/http-$compression.body"
    run "http-$compression" true
done

say "merging $(find "$profiles" -name '*.profraw' | wc -l) profiles"
"$profdata" merge -o "$work/idlink.profdata" "$profiles"
# Named by its checksum: cargo does not look into the file a flag names, so
# a new profile has to change the flags to be built with.
mkdir -p "$target/pgo"
sum=$(cksum < "$work/idlink.profdata" | cut -d' ' -f1)
profile="$target/pgo/idlink-$sum.profdata"
rm -f "$target"/pgo/idlink-*.profdata
cp "$work/idlink.profdata" "$profile"

say "optimised build"
CARGO_ENCODED_RUSTFLAGS="-Cprofile-use=$profile" CARGO_TARGET_DIR="$target/pgo" \
    cargo build --release --quiet
echo "$target/pgo/release/idlink"
