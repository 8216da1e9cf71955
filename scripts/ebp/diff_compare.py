#!/usr/bin/env python3
"""Compare the differential ioctl streams of two kernels.

epoll_bp_diff prints "EBP-DIFF bits=B seed=S calls=N digest=D" every 1000
calls.  Each (bits, seed) stream is one test: it passes when both consoles
hold the same, non-empty, digest sequence.  On a difference it names the
seed and the first checkpoint that differs, and how to replay those calls.
Writes "PASSED FAILED SKIPPED" to --counts.
"""

import argparse
import re
import sys
from pathlib import Path
from typing import Dict, List, Tuple

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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--rust', required=True, type=Path, help='console of the Rust kernel')
    ap.add_argument('--c', required=True, type=Path, help='console of the C kernel')
    ap.add_argument('--counts', required=True, type=Path)
    args = ap.parse_args()

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
              f'(rust has {len(a)} checkpoints, c {len(b)}); replay them on each kernel with '
              f'epoll_bp_diff -s {seed} -n {at} -v')
    if not rust and not c:
        failed += 1
        print('FAIL [rust=c] differential: no EBP-DIFF lines in either console')
    print(f'[rust=c] {calls} ioctl calls compared')
    args.counts.write_text(f'{passed} {failed} 0\n')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
