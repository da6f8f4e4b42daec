#!/usr/bin/env bash
# The sample files of every source an idlink binary knows, one
# "SOURCE PATH" line each: the events and framings in SAMPLES/SOURCE/ and
# the mail lab's logs in SAMPLES/lab-SOURCE/.
#
#   scripts/sample-files.sh BIN SAMPLES
set -euo pipefail
bin=$1
samples=$2
known=$("$bin" sources)
for dir in "$samples"/*/; do
    source=$(basename "$dir")
    source=${source#lab-}
    grep -qx "$source" <<< "$known" || continue
    find "$dir" -maxdepth 1 -type f \( -name 'events.*' -o -name 'framing-*.json' -o -name '*.log' \) \
        | sort | sed "s|^|$source |"
done
