#!/usr/bin/env python3
"""Check the rustdoc output of fs/eventpoll_busy_poll.rs (rustdoc.sh --ours).

rustdoc.sh already fails on any warning; this checks that the output holds
what a reader looks for: a page for each function fs/eventpoll.c calls and
for the rules and state modules, each with its doc text, and the crate page
with the crate's own documentation.  Writes "PASSED FAILED SKIPPED" to
--counts.
"""

import argparse
import re
import sys
from pathlib import Path

# What fs/eventpoll.c calls, and the modules the design section names.
ENTRY_POINTS = ['ep_busy_poll_set_params', 'ep_busy_poll_get_params', 'ep_busy_poll_on',
                'ep_busy_poll_loop_end', 'ep_busy_poll_napi', 'ep_busy_poll_params',
                'ep_busy_poll_suspend', 'ep_busy_poll_resume', 'ep_busy_poll_release']
PAGES = {f'fn.{name}.html': name for name in ENTRY_POINTS}
PAGES.update({'rules/index.html': 'rules', 'state/index.html': 'state',
              'state/struct.BusyPoll.html': 'BusyPoll', 'index.html': 'crate'})


def doc_text(html: str) -> str:
    """The text of the first docblock of a rustdoc page, tags stripped."""
    m = re.search(r'<div class="docblock[^"]*">(.*?)</div>', html, re.S)
    return re.sub(r'<[^>]+>', '', m.group(1)).strip() if m else ''


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--rc', required=True, type=int, help="rustdoc.sh's exit status")
    ap.add_argument('--html', required=True, type=Path,
                    help='the rustdoc output directory (holds eventpoll_busy_poll/)')
    ap.add_argument('--counts', required=True, type=Path)
    args = ap.parse_args()

    passed, failed = 0, 0

    def check(name: str, ok: bool, why: str = '') -> None:
        nonlocal passed, failed
        passed, failed = passed + ok, failed + (not ok)
        print(f'{"PASS" if ok else "FAIL"} [host] rustdoc: {name}' +
              ('' if ok or not why else f': {why}'))

    check('rustdoc.sh --ours documented the crate without a warning', args.rc == 0,
          f'exit status {args.rc}, see its output above')
    crate = args.html / 'eventpoll_busy_poll'
    for page, item in PAGES.items():
        path = crate / page
        text = doc_text(path.read_text(errors='replace')) if path.exists() else ''
        check(f'{item} has a page with its documentation ({page})',
              len(text) >= 20, 'page missing' if not path.exists() else
              f'doc text too short: {text!r}')

    args.counts.write_text(f'{passed} {failed} 0\n')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
