#!/usr/bin/env python3
"""Judge a virtme-ng run of make test (vng-guest.sh's output).

The guest must have booted the kernel we built (its release, and the Rust
entry point in its kallsyms, or none for the C variant), and what it ran
must pass: the demo and the upstream selftest as they do in our own
initramfs, epoll_bp_virtio on the two virtio-net ports of --network loop.
Writes "PASSED FAILED SKIPPED" to --counts, like results.py, whose parsing
it shares.
"""

import argparse
import re
import sys
from pathlib import Path

from results import Tally, check_tap, split_log

# Sections whose diagnostics ("# ..." lines) are shown: their numbers.
SHOWN = {'selftest:epoll_bp_virtio'}
HARNESS = re.compile(r'^# +(RUN|OK|FAIL|SKIP|Starting|Totals|PASSED|FAILED)\b')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--log', required=True, type=Path, help="vng's output")
    ap.add_argument('--rc', required=True, type=int, help="vng's exit status")
    ap.add_argument('--variant', choices=['rust', 'c'], default='rust',
                    help='the kernel vng booted: the Rust one has ep_busy_poll_set_params')
    ap.add_argument('--uname', required=True,
                    help='"uname -r -v" of the kernel vng was to boot: release, build '
                    'number and time')
    ap.add_argument('--kunit-dir', required=True, type=Path,
                    help='tools/testing/kunit of the kernel tree')
    ap.add_argument('--counts', required=True, type=Path)
    args = ap.parse_args()

    sys.path.insert(0, str(args.kunit_dir))
    import kunit_parser  # pylint: disable=import-outside-toplevel

    tally = Tally('vng' if args.variant == 'rust' else 'vng-c')
    text = args.log.read_text(errors='replace') if args.log.exists() else ''
    lines = [line.rstrip('\r') for line in text.splitlines()]
    _, sections = split_log(lines)

    def fact(key: str) -> str:
        return next((line.split(None, 1)[1] if ' ' in line else ''
                     for line in lines if line.startswith(key + ' ')), '')

    tally.check('vng ran the command and returned its status 0', args.rc == 0,
                f'exit status {args.rc}')
    tally.check('the guest finished the command', 'EBP-DONE' in lines)
    uname = fact('EBP-KERNEL')
    tally.check('the guest ran the kernel just built (uname -r -v)', uname == args.uname,
                f'the guest says {uname!r}, the build is {args.uname!r}')
    if args.variant == 'rust':
        tally.check('the guest kernel has the Rust ep_busy_poll_set_params',
                    fact('EBP-KALLSYMS') == '1',
                    f'/proc/kallsyms matches: {fact("EBP-KALLSYMS") or "none"}')
    else:
        tally.check('the guest kernel has no Rust ep_busy_poll_set_params (C variant)',
                    fact('EBP-KALLSYMS') == '0',
                    f'/proc/kallsyms matches: {fact("EBP-KALLSYMS") or "none"}')
    for name in fact('EBP-PLAN').split():
        if name not in sections:
            tally.check(f'{name} ran', False, 'no output framed for it')
            continue
        body, rc, secs = sections[name]
        print(f'---- [{tally.variant}] {name}: ran {secs} s in the guest')
        if name in SHOWN:
            print('\n'.join(f'    | {line}' for line in body
                            if line.startswith('# ') and not HARNESS.match(line)))
        if name.startswith('selftest:'):
            check_tap(tally, name, body, kunit_parser)
        else:
            print('\n'.join(f'    | {line}' for line in body))
        tally.check(f'{name} exited 0', rc == 0, f'exit status {rc}')
    if not fact('EBP-PLAN'):
        tally.check('the guest announced its plan', False, 'no EBP-PLAN line')

    args.counts.write_text(f'{tally.passed} {len(tally.failed)} {tally.skipped}\n')
    print(f'[{tally.variant}] {tally.passed} passed, {len(tally.failed)} failed, '
          f'{tally.skipped} skipped')
    return 1 if tally.failed else 0


if __name__ == '__main__':
    sys.exit(main())
