#!/usr/bin/env python3
"""Conformance pass: run `idlink parse` over the shared samples of every
source idlink knows, validate every emitted event with ocsf-validate
--strict, and print one table row per source: records, events, mapped
(recognised records), fallback (events of a known vendor event type that is
not mapped yet), invalid. Fails when a source emits an invalid event or its
parse rate is under its bar.

Bars: every source must recognise 100 % of its sample records, except
Postfix, whose samples mix in other programs' lines (sendmail, dovecot, PHP
noise): over all lines it must reach 80 %, and the parser's own sample test
(parsers/tests/samples.rs, part of `cargo test`) holds the lines of Postfix
programs to 99 %.
"""
import argparse
import json
import os
import subprocess
import sys

BARS = {"postfix": 0.80}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--validator", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    sources = subprocess.run([a.bin, "sources"], check=True, capture_output=True,
                             text=True).stdout.split()
    failed = []
    rows = []
    for src in sources:
        files = []
        for name in ("events.log", "events.ndjson"):
            p = os.path.join(a.samples, src, name)
            if os.path.exists(p):
                files.append(p)
        lab = os.path.join(a.samples, "lab-" + src)
        if os.path.isdir(lab):
            files += sorted(os.path.join(lab, f) for f in os.listdir(lab) if f.endswith(".log"))
        if not files:
            rows.append((src, "-", "-", "-", "-", "-", "no samples"))
            continue
        nd = os.path.join(a.out, src + ".ndjson")
        st = os.path.join(a.out, src + ".stats.json")
        with open(nd, "wb") as f:
            subprocess.run([a.bin, "parse", "--source", src, "--stats", st, *files],
                           check=True, stdout=f)
        stats = json.load(open(st))
        v = subprocess.run([a.validator, "--strict", "--json", nd], capture_output=True, text=True)
        try:
            summary = json.loads(v.stdout)
        except json.JSONDecodeError:
            print(v.stdout, v.stderr, file=sys.stderr)
            raise
        invalid = summary.get("invalid", "?")
        fallback = 0
        with open(nd) as f:
            for line in f:
                if '"fallback":true' in line:
                    fallback += 1
        records = stats["records"]
        rate = (records - stats["unparsed"]) / records if records else 1.0
        bar = BARS.get(src, 1.0)
        note = ""
        if invalid != 0:
            note += f"INVALID events ({summary.get('top_errors')}) "
            failed.append(src)
        if rate < bar:
            note += f"parse rate {rate:.2%} under bar {bar:.0%}"
            failed.append(src)
        rows.append((src, records, stats["events"], records - stats["unparsed"], fallback,
                     invalid, f"{rate:.2%} {note}"))
    print(f"{'source':<24} {'records':>8} {'events':>8} {'mapped':>8} {'fallback':>8} "
          f"{'invalid':>8}  rate")
    for r in rows:
        print(f"{r[0]:<24} {r[1]:>8} {r[2]:>8} {r[3]:>8} {r[4]:>8} {r[5]:>8}  {r[6]}")
    if failed:
        print("conformance failed for: " + ", ".join(sorted(set(failed))))
        sys.exit(1)


main()
