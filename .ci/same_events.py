#!/usr/bin/env python3
"""Check that two builds wrote the same events.

    same_events.py LO_MS HI_MS A.ndjson B.ndjson [A2 B2 ...]

Each pair must hold the same lines as JSON, in the same order. The one
allowed difference: a record with no time of its own is stamped with the
clock when it is parsed (`time`, and a Postfix message's `start_time` /
`end_time` when it is emitted incomplete), so those top-level members may
differ where both values lie within LO_MS..HI_MS, the wall-clock span of
the runs being compared.
"""
import json
import sys

CLOCK_KEYS = ("time", "start_time", "end_time")


def main():
    lo, hi = int(sys.argv[1]), int(sys.argv[2])
    files = sys.argv[3:]
    if not files or len(files) % 2:
        sys.exit("usage: same_events.py LO_MS HI_MS A B [A2 B2 ...]")
    events = stamped = 0
    for a_path, b_path in zip(files[::2], files[1::2]):
        with open(a_path, encoding="utf-8") as f:
            a_lines = f.read().splitlines()
        with open(b_path, encoding="utf-8") as f:
            b_lines = f.read().splitlines()
        if len(a_lines) != len(b_lines):
            sys.exit(f"{a_path}: {len(a_lines)} events, {b_path}: {len(b_lines)}")
        for n, (a_line, b_line) in enumerate(zip(a_lines, b_lines), 1):
            events += 1
            if a_line == b_line:
                continue
            a, b = json.loads(a_line), json.loads(b_line)
            for k in CLOCK_KEYS:
                if a.get(k) != b.get(k) and all(
                    isinstance(v, int) and lo <= v <= hi for v in (a.get(k), b.get(k))
                ):
                    del a[k], b[k]
            if a != b:
                sys.exit(f"{a_path} and {b_path} differ at line {n}")
            stamped += 1
    print(f"{len(files) // 2} files, {events} events the same "
          f"({stamped} differ only in the parse-time clock)")


if __name__ == "__main__":
    main()
