#!/usr/bin/env python3
"""Compare the differential ioctl streams of two kernels.

epoll_bp_diff prints "EBP-DIFF bits=B seed=S calls=N digest=D" every 1000
calls.  Each (bits, seed) stream is one test: it passes when both consoles
hold the same, non-empty, digest sequence.  On a difference it names the
seed and the first checkpoint that differs, and writes "BITS SEED CALLS"
to --replay so the caller can rerun that stream call by call on both kernels
(epoll_bp_diff -v); --calls then compares those two consoles and prints the
first call whose outcome differs.  Writes "PASSED FAILED SKIPPED" to --counts.
"""

import argparse
import re
import sys
from pathlib import Path
from typing import Dict, List, Tuple

CALL = re.compile(r'^EBP-DIFF-CALL .* call=(\d+) .*$')
LINE = re.compile(r'^EBP-DIFF bits=(\d+) seed=(\d+) calls=(\d+) digest=([0-9a-f]+)\s*$')
Stream = Dict[Tuple[int, int], List[Tuple[int, str]]]


def streams(log: Path) -> Stream:
    out: Stream = {}
    for line in log.read_text(errors='replace').splitlines():
        m = LINE.match(line.strip())
        if m:
            bits, seed, calls, digest = m.groups()
            out.setdefault((int(bits), int(seed)), []).append((int(calls), digest))
    return out


def first_different_call(rust: Path, c: Path) -> int:
    """Prints the first call whose verbose record differs between consoles."""
    def calls(log: Path) -> List[str]:
        return [line.strip() for line in log.read_text(errors='replace').splitlines()
                if CALL.match(line.strip())]
    a, b = calls(rust), calls(c)
    for x, y in zip(a, b):
        if x != y:
            print(f'first diverging call:\n  rust: {x}\n  c:    {y}')
            return 1
    if len(a) != len(b):
        print(f'the replays differ in length: rust {len(a)} calls, c {len(b)}')
        return 1
    print(f'the replays agree on all {len(a)} calls: the difference did not repeat')
    return 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--rust', required=True, type=Path, help='console of the Rust kernel')
    ap.add_argument('--c', required=True, type=Path, help='console of the C kernel')
    ap.add_argument('--counts', type=Path)
    ap.add_argument('--replay', type=Path, help='where to write the first failing stream')
    ap.add_argument('--calls', action='store_true', help='compare two verbose replays')
    args = ap.parse_args()
    if args.calls:
        return first_different_call(args.rust, args.c)

    rust, c = streams(args.rust), streams(args.c)
    passed = failed = 0
    calls = 0
    for key in sorted(set(rust) | set(c)):
        bits, seed = key
        a, b = rust.get(key, []), c.get(key, [])
        name = f'differential {bits}-bit seed {seed}'
        if a and a == b:
            passed += 1
            calls += a[-1][0]
            print(f'PASS [rust=c] {name}: {a[-1][0]} calls, same outcomes')
            continue
        failed += 1
        first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        at = (a + b)[first][0] if first < len(a + b) else 0
        print(f'FAIL [rust=c] {name}: outcomes differ first in calls {max(at - 999, 1)}..{at} '
              f'(rust has {len(a)} checkpoints, c {len(b)})')
        if args.replay and not args.replay.exists():
            args.replay.write_text(f'{bits} {seed} {at}\n')
    if not rust and not c:
        failed += 1
        print('FAIL [rust=c] differential: no EBP-DIFF lines in either console')
    print(f'[rust=c] {calls} calls compared')
    if args.counts:
        args.counts.write_text(f'{passed} {failed} 0\n')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
