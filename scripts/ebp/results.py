#!/usr/bin/env python3
"""Judge one test boot from its serial console log.

Each check below is one test; KUnit cases and kselftest cases count one each,
parsed by the kernel's own KUnit/KTAP parser (tools/testing/kunit).  Prints a
line per test and writes "PASSED FAILED SKIPPED" to --counts for the caller to add up.
"""

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Tuple

# Rust entry points that must be in the Rust kernel and nowhere else.
RUST_SYMBOLS = ['ep_busy_poll_set_params', 'ep_busy_poll_get_params',
                'ep_busy_poll_on', 'ep_busy_poll_params', 'ep_busy_poll_loop_end',
                'ep_busy_poll_napi', 'ep_busy_poll_suspend', 'ep_busy_poll_resume',
                'ep_busy_poll_release']
# The C ioctl handler the Rust code replaces.
C_ONLY_SYMBOL = 'ep_eventpoll_bp_ioctl'
KUNIT_SUITE = 'epoll_busy_poll_rust'
# Reports from the kernel: oops, BUG, WARN (lockdep's too), sanitizers,
# hung tasks and RCU stalls (INFO:), kmemleak's console notice.
SPLAT = re.compile(r'(Oops:|BUG:|WARNING:|Kernel panic|kernel BUG at|'
                   r'general protection fault|Call Trace:|UBSAN:|KASAN:|'
                   r'KCSAN:|INFO: |kmemleak: .*suspected memory leak)')
# Where a report ends: its "end trace" line or the closing rule of a
# sanitizer report.
REPORT_END = re.compile(r'(---\[ end trace|^\[?[ \d.\]]*={20,})')
REPORT_MAX_LINES = 200
# KCSAN's title names the functions of the two racing accesses.  Races in
# other subsystems (netdevsim, NAPI core, IPIs) show up because the tests
# drive them; they are printed and counted as skips, not failures.
KCSAN_RACE = re.compile(r'BUG: KCSAN: data-race in (.*)$')
OURS = re.compile(r'epoll|eventpoll|^_*ep_')
BEGIN = re.compile(r'^EBP-BEGIN (\S+)\s*$')
END = re.compile(r'^EBP-END (\S+) rc=(\d+)(?: secs=(\d+))?\s*$')


@dataclass
class Tally:
    variant: str
    passed: int = 0
    skipped: int = 0
    failed: List[str] = field(default_factory=list)

    def check(self, name: str, ok: bool, why: str = '') -> None:
        if ok:
            self.passed += 1
            print(f'PASS [{self.variant}] {name}')
        else:
            self.failed.append(name)
            print(f'FAIL [{self.variant}] {name}' + (f': {why}' if why else ''))

    def skip(self, name: str, why: str) -> None:
        self.skipped += 1
        print(f'SKIP [{self.variant}] {name}: {why}')


Section = Tuple[List[str], int, int]


def split_log(lines: List[str]) -> Tuple[List[str], Dict[str, Section]]:
    """The kernel's part (before userspace ran) and each framed section:
    its lines, exit status and seconds."""
    kernel: List[str] = []
    sections: Dict[str, Section] = {}
    current = None
    body: List[str] = []
    for line in lines:
        line = line.rstrip('\r\n')
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            current, body = begin.group(1), []
        elif end and current == end.group(1):
            sections[current] = (body, int(end.group(2)), int(end.group(3) or 0))
            current = None
        elif current:
            body.append(line)
        elif not sections:
            kernel.append(line)
    return kernel, sections


def reports(lines: List[str]) -> List[List[str]]:
    """Each kernel report in the log, whole: from its first line (with
    the rule above it, for sanitizers) to its end, at most
    REPORT_MAX_LINES lines."""
    found: List[List[str]] = []
    i = 0
    while i < len(lines):
        # The fuzzer echoes reports ("# kernel: ..."): count the original.
        if not SPLAT.search(lines[i]) or lines[i].startswith('# kernel'):
            i += 1
            continue
        start = i - 1 if i and REPORT_END.search(lines[i - 1]) else i
        end = i + 1
        while end < len(lines) and end - start < REPORT_MAX_LINES:
            end += 1
            if REPORT_END.search(lines[end - 1]) or lines[end - 1].startswith('EBP-'):
                break
        found.append(lines[start:end])
        i = end
    return found


def upstream_race(title: str) -> str:
    """For a KCSAN data-race report whose racing functions are all outside
    the code under test (epoll), those functions; else ''.  Other reports
    (KASAN, UBSAN, lockdep, WARN, BUG, kmemleak) always count."""
    m = KCSAN_RACE.search(title)
    if not m:
        return ''
    funcs = [f.split('+')[0].strip() for f in m.group(1).split(' / ')]
    return '' if any(OURS.search(f) for f in funcs) else ' / '.join(funcs)


def leaf_tests(test) -> list:
    if not test.subtests:
        return [test]
    return [leaf for sub in test.subtests for leaf in leaf_tests(sub)]


def skip_reason(log: List[str]) -> str:
    """Why a case skipped: the text after SKIP on the last log line that has
    it (the harness's "#      SKIP      why", KTAP's "# SKIP why"), else
    the last log line."""
    for line in reversed(log):
        m = re.search(r'\bSKIP\b:?\s*(.*)', line)
        if m and m.group(1).strip():
            return m.group(1).strip()
    return ' '.join(log[-1:]) or 'skipped'


def check_tap(tally: Tally, label: str, lines: List[str], kunit_parser) -> list:
    """Parses KTAP/TAP with kunit_parser; one test per leaf case.  Returns
    the top-level tests (the suites, for KUnit)."""
    root = kunit_parser.parse_run_tests(lines)
    leaves = [t for t in leaf_tests(root) if t is not root]
    tally.check(f'{label}: TAP output parsed with at least one case',
                bool(leaves) and root.status != kunit_parser.TestStatus.FAILURE_TO_PARSE_TESTS)
    for t in leaves:
        if t.status == kunit_parser.TestStatus.SKIPPED:
            tally.skip(f'{label}: {t.name}', skip_reason(t.log))
        else:
            tally.check(f'{label}: {t.name}',
                        t.status == kunit_parser.TestStatus.SUCCESS, t.status.name)
    return root.subtests


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--variant', required=True, choices=['rust', 'c', 'kasan', 'kcsan'],
                    help='kasan and kcsan are debug builds of the Rust kernel')
    ap.add_argument('--log', required=True, type=Path)
    ap.add_argument('--system-map', required=True, type=Path)
    ap.add_argument('--kunit-dir', required=True, type=Path,
                    help='tools/testing/kunit of the kernel tree')
    ap.add_argument('--counts', required=True, type=Path)
    args = ap.parse_args()

    sys.path.insert(0, str(args.kunit_dir))
    import kunit_parser  # pylint: disable=import-outside-toplevel

    tally = Tally(args.variant)
    lines = args.log.read_text(errors='replace').splitlines()
    kernel, sections = split_log(lines)

    tally.check('guest booted, ran its job and powered off',
                any(line.startswith('EBP-DONE') for line in lines))
    found, upstream = [], {}
    for report in reports(lines):
        title = next(line for line in report if SPLAT.search(line))
        why = upstream_race(title)
        label = 'kernel report outside the code under test' if why else 'kernel report'
        print(f'---- [{args.variant}] {label}:')
        print('\n'.join(f'    | {line}' for line in report))
        if why:
            upstream[why] = upstream.get(why, 0) + 1
        else:
            found.append(report)
    for why, count in upstream.items():
        tally.skip(f'KCSAN: {why}', f'a data race outside fs/eventpoll.c and the Rust '
                   f'code, reported {count} time(s), printed above')
    tally.check('console has no oops, WARN, BUG or sanitizer/lockdep/kmemleak report',
                not found, f'{len(found)} reports, printed above')

    symbols = set(line.split()[-1] for line in
                  args.system_map.read_text().splitlines() if line.strip())
    if args.variant != 'c':
        missing = [s for s in RUST_SYMBOLS if s not in symbols]
        tally.check('System.map has the Rust entry points', not missing,
                    f'missing {missing}')
        tally.check(f'System.map has no C {C_ONLY_SYMBOL}',
                    C_ONLY_SYMBOL not in symbols)
        suites = check_tap(tally, 'kunit', kernel, kunit_parser)
        tally.check(f'KUnit suite {KUNIT_SUITE} ran',
                    any(s.name == KUNIT_SUITE and s.subtests for s in suites))
    else:
        present = [s for s in RUST_SYMBOLS if s in symbols]
        tally.check('System.map has no Rust entry points', not present,
                    f'found {present}')
        print(f'note [{args.variant}] KUnit suite {KUNIT_SUITE} not run: '
              'it tests the Rust code, which this variant does not build')

    for line in lines:
        if line.startswith('EBP-SKIP '):
            name, _, why = line[len('EBP-SKIP '):].partition(': ')
            tally.skip(name, why.strip())
    plan = next((line.split()[1:] for line in lines
                 if line.startswith('EBP-PLAN ')), [])
    tally.check('the guest announced its test plan', bool(plan))
    outcomes: Dict[str, List[Tuple[str, str]]] = {}
    for name in plan:
        if name not in sections:
            tally.check(f'{name} ran', False, 'no output framed for it in the log')
            continue
        body, rc, secs = sections[name]
        print(f'---- [{args.variant}] {name}: ran {secs} s in the guest')
        if name.startswith('selftest:'):
            root = kunit_parser.Test()
            root.subtests = check_tap(tally, name, body, kunit_parser)
            outcomes[name] = [(t.name, t.status.name) for t in leaf_tests(root)]
        elif name == 'demo' or rc:
            print('\n'.join(f'    | {line}' for line in body))
        tally.check(f'{name} exited 0', rc == 0, f'exit status {rc}')

    # A 32-bit build must answer exactly as its 64-bit twin.
    for name in outcomes:
        if name.endswith('_32') and name[:-3] in outcomes:
            same = outcomes[name] == outcomes[name[:-3]]
            tally.check(f'{name} has the results of {name[:-3]}', same,
                        f'{outcomes[name]} != {outcomes[name[:-3]]}')

    args.counts.write_text(f'{tally.passed} {len(tally.failed)} {tally.skipped}\n')
    print(f'[{args.variant}] {tally.passed} passed, {len(tally.failed)} failed, '
          f'{tally.skipped} skipped')
    return 1 if tally.failed else 0


if __name__ == '__main__':
    sys.exit(main())
