#!/usr/bin/env python3
"""Regenerate the series' NN-name.diff files from the overlaid tree.

scripts/ebp/patch.sh builds the series from scripts/ebp/series/: the
"Files:" lines of NN-name.txt name the files patch NN brings in, in their
final form, and NN-name.diff holds what patch NN adds to files that an
earlier patch brought in; patch.sh takes each .diff back off the final
tree (patch -R), from the last patch to the first, to get the tree
before it.  This script writes those .diff files.

It runs overlay.sh, then starts from the final files in the overlaid tree
($EBP_CACHE/src/linux) and takes the patches off again, from the last to
the first, with the STEPS below: STEPS[patch][file] turns the file as that
patch leaves it into the file as the patch before leaves it.  The
difference is the patch's part of the file.  Each step is a short list of
operations, applied in order:

  Drop(text, n=1)      remove text, which occurs exactly n times
  Sub(new, old, n=1)   the text `new` (n times) was `old` before
  DropRe(regex, n=1)   remove exactly n matches of a regex (re.M)
  DropC(regex, n=1)    remove the C definition, declaration or statement
                       starting on each of exactly n lines where regex
                       matches (re.M; it may go on over the next lines),
                       with its comment, an EXPORT_SYMBOL after it and a
                       blank line that it leaves doubled
  Unifdef(sym)         resolve #ifdef/#ifndef sym as if sym were undefined
  Absent(*texts)       change nothing; fail if any of texts remains
  ...within=regex      (on Drop, Sub, DropRe) only inside the first match
                       of regex, e.g. one MAINTAINERS entry

An operation that does not find its text the expected number of times, a
step for a patch that is not in the series or that comes before the patch
bringing the file in, or an Absent() that still finds something is
reported as "could not place", with the file, patch and operation, and
then nothing is written: edit the code or the step and run this again.
The overlay files that no "Files:" line or excluded.txt places are
reported too (patch.sh fails on them).

Steps name patches by their name without the number (net-irq-suspend for
03-net-irq-suspend.txt), so renumbering the series needs no change here.
Files that no step names need no .diff: the patch that brings them in is
the only one to change them.

Usage: scripts/ebp/series_diffs.py [--check] [--no-overlay]
  --check       write nothing; exit 1 if a .diff file is not up to date
  --no-overlay  do not run overlay.sh first (patch.sh has just run it)
EBP_CACHE selects the cache, as for the other scripts.  Python 3 stdlib only.
"""

import difflib
import fnmatch
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERIES = os.path.join(ROOT, 'scripts', 'ebp', 'series')
CACHE = os.environ.get('EBP_CACHE') or os.path.join(ROOT, '.cache')


class Unplaced(Exception):
    """An operation that does not fit the file as it is."""


def _region(text, within):
    """The (start, end) of the part of text an operation works on."""
    if within is None:
        return 0, len(text)
    m = re.search(within, text, re.M)
    if not m:
        raise Unplaced(f'region {within!r} not found')
    return m.span()


def _short(s, width=70):
    s = repr(s)
    return s if len(s) <= width else s[:width - 3] + '...'


class Drop:
    def __init__(self, text, n=1, within=None):
        self.text, self.n, self.within = text, n, within

    def __call__(self, text):
        return Sub(self.text, '', self.n, self.within)(text)

    def __repr__(self):
        return f'Drop({_short(self.text)})'


class Sub:
    def __init__(self, new, old, n=1, within=None):
        self.new, self.old, self.n, self.within = new, old, n, within

    def __call__(self, text):
        a, b = _region(text, self.within)
        part = text[a:b]
        found = part.count(self.new)
        if found != self.n:
            raise Unplaced(f'found {found} times, expected {self.n}')
        return text[:a] + part.replace(self.new, self.old) + text[b:]

    def __repr__(self):
        return f'Sub({_short(self.new)} -> {_short(self.old, 30)})'


class DropRe:
    def __init__(self, regex, n=1, within=None):
        self.regex, self.n, self.within = regex, n, within

    def __call__(self, text):
        a, b = _region(text, self.within)
        part, found = re.subn(self.regex, '', text[a:b], flags=re.M)
        if found != self.n:
            raise Unplaced(f'matched {found} times, expected {self.n}')
        return text[:a] + part + text[b:]

    def __repr__(self):
        return f'DropRe({_short(self.regex)})'


def func(name):
    """A regex for the first line of a top-level C definition of name."""
    return rf'^(?:[A-Za-z_].*[\s*])?{re.escape(name)}\('


def _c_extent(lines, i, comment):
    """The lines [start, end) of the C construct whose first line is i."""
    start = i
    # A function's return type on the line(s) before its name.
    if not lines[i][0].isspace():
        while start > 0:
            prev = lines[start - 1].rstrip()
            if (not prev or prev[0] in '#/*} \t' or
                    prev.endswith((';', '}', '*/', '{', ')', ','))):
                break
            start -= 1
    # To the closing brace, or to the ';' of a statement without braces.
    depth, braced, end = 0, False, None
    for j in range(i, len(lines)):
        depth += lines[j].count('{') - lines[j].count('}')
        braced = braced or '{' in lines[j]
        if (braced and depth <= 0) or (not braced and lines[j].rstrip().endswith(';')):
            end = j + 1
            break
    if end is None:
        raise Unplaced(f'no end of the construct at line {i + 1}')
    if end < len(lines) and re.match(r'EXPORT_SYMBOL(_GPL)?\(', lines[end]):
        end += 1
    # The comment right above it.
    if comment and start > 0 and lines[start - 1].rstrip().endswith('*/'):
        k = start - 1
        while k >= 0 and not lines[k].lstrip().startswith('/*'):
            k -= 1
        if k < 0:
            raise Unplaced(f'no start of the comment above line {i + 1}')
        start = k

    def blank(k):
        return 0 <= k < len(lines) and not lines[k].strip()

    # One blank line goes with it if it would otherwise leave two, or a
    # blank line after an opening or before a closing line.
    before = lines[start - 1].rstrip() if start > 0 else ''
    after = lines[end].strip() if end < len(lines) else ''
    if blank(end) and (start == 0 or blank(start - 1) or before.endswith('{')):
        end += 1
    elif blank(start - 1) and (end == len(lines) or after == '}' or after.startswith('#endif')):
        start -= 1
    return start, end


class DropC:
    def __init__(self, regex, n=1, comment=True):
        self.regex, self.n, self.comment = regex, n, comment

    def __call__(self, text):
        lines = text.splitlines(True)
        hits = sorted({text.count('\n', 0, m.start()) for m in re.finditer(self.regex, text, re.M)})
        if len(hits) != self.n:
            raise Unplaced(f'matches on {len(hits)} lines, expected {self.n}')
        for i in reversed(hits):
            a, b = _c_extent(lines, i, self.comment)
            del lines[a:b]
        return ''.join(lines)

    def __repr__(self):
        return f'DropC({_short(self.regex)})'


class Unifdef:
    """#ifdef sym / #ifndef sym / #if [!]defined(sym) and their #else, as if
    sym were undefined; sym anywhere else in a conditional is unplaced."""

    def __init__(self, sym):
        self.sym = sym

    def __call__(self, text):
        sym = re.escape(self.sym)
        simple = re.compile(rf'(?:(ifdef|ifndef)\s+{sym}|if\s+(!?)\s*defined\s*\(?\s*{sym}\s*\)?)'
                            r'\s*(?:/\*.*\*/)?\s*$')
        out, stack = [], []  # per open conditional: None (not ours) or [taken]
        for no, line in enumerate(text.splitlines(True), 1):
            m = re.match(r'\s*#\s*(\w+)(.*)', line)
            d, arg = (m.group(1), m.group(2)) if m else (None, '')
            emitting = all(f is None or f[0] for f in stack)
            if d in ('if', 'ifdef', 'ifndef', 'elif'):
                ours = simple.match(d + arg) if d != 'elif' else None
                if ours:
                    stack.append([ours.group(1) == 'ifndef' or ours.group(2) == '!'])
                    continue
                if re.search(rf'\b{sym}\b', arg):
                    raise Unplaced(f'line {no}: {self.sym} in a condition this cannot resolve')
                if d != 'elif':
                    stack.append(None)
            elif d == 'else' and stack and stack[-1] is not None:
                stack[-1][0] = not stack[-1][0]
                continue
            elif d == 'endif':
                if not stack:
                    raise Unplaced(f'line {no}: #endif without #if')
                if stack.pop() is not None:
                    continue
            if emitting:
                out.append(line)
        if stack:
            raise Unplaced('unterminated conditional')
        return ''.join(out)

    def __repr__(self):
        return f'Unifdef({self.sym})'


class Absent:
    def __init__(self, *texts):
        self.texts = texts

    def __call__(self, text):
        left = [t for t in self.texts if t in text]
        if left:
            lines = [str(text[:text.index(t)].count('\n') + 1) for t in left]
            raise Unplaced(f'still there: {", ".join(map(repr, left))} (lines {", ".join(lines)})')
        return text

    def __repr__(self):
        return f'Absent({", ".join(map(repr, self.texts))})'


# STEPS[patch][file]: from the file as the patch leaves it to the file
# before the patch.  Patches by name without their number.
STEPS = {
    # irq_suspend_timeout and what uses it.
    'net-irq-suspend': {
        'include/linux/netdevice.h': [
            DropRe(r'^\tunsigned long\t+irq_suspend_timeout;\n'),
            Absent('irq_suspend'),
        ],
        'net/core/dev.h': [
            DropC(func('napi_get_irq_suspend_timeout')),
            DropC(func('napi_set_irq_suspend_timeout')),
            Absent('irq_suspend'),
        ],
        'net/core/dev.c': [
            DropC(func('napi_suspend_irqs')),
            DropC(func('napi_disabled')),
            DropC(func('napi_resume_irqs')),
            Drop('\t/*\n\t * The instance is disabled, so napi_suspend_irqs() no longer arms its\n'
                 '\t * timer; cancel anything armed before, as the driver may free it next.\n'
                 '\t */\n\thrtimer_cancel(&napi->timer);\n'),
            # netif_napi_add_weight()
            Drop('\tnapi_set_irq_suspend_timeout(napi, 0);\n'),
            Absent('irq_suspend', 'suspend_irqs', 'resume_irqs'),
        ],
        'net/core/netdev-genl.c': [
            Sub(' ||\n\t    nla_put_uint(rsp, NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT,\n'
                '\t\t\t napi_get_irq_suspend_timeout(napi)))\n', ')\n'),
            DropC(r'^\tif \(tb\[NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT\]\)', comment=False),
            Absent('IRQ_SUSPEND', 'irq_suspend'),
        ],
        'net/core/netdev-genl-gen.c': [
            Sub('[NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT + 1]', '[NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT + 1]'),
            Sub('.maxattr\t= NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT,',
                '.maxattr\t= NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT,'),
            DropRe(r'^\t\[NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT\] = .*\n'),
            Absent('IRQ_SUSPEND'),
        ],
        'include/uapi/linux/netdev.h': [
            Drop('\tNETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT,\n'),
            Absent('IRQ_SUSPEND'),
        ],
        'tools/include/uapi/linux/netdev.h': [
            Drop('\tNETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT,\n'),
            Absent('IRQ_SUSPEND'),
        ],
        'Documentation/netlink/specs/netdev.yaml': [
            DropRe(r'^      -\n        name: irq-suspend-timeout\n(?: {8,}.*\n)*'),
            Drop('            - irq-suspend-timeout\n', n=2),
            Absent('irq-suspend'),
        ],
    },
    # No napi-set before it.
    'netdev-genl-napi-set': {
        'net/core/dev.h': [
            Sub(" * its device's values (netif_napi_add_weight()); netdev netlink's napi-set\n"
                " * changes one instance, the device's sysfs files change all of them.\n"
                " * Readers in the datapath take no lock.\n",
                " * its device's values (netif_napi_add_weight()); the device's sysfs files\n"
                " * change all of them.  Readers in the datapath take no lock.\n"),
            Absent('napi-set'),
        ],
        'net/core/dev.c': [
            Sub("; napi-set changes them later.\n", ".\n"),
            Absent('napi-set'),
        ],
    },
    # The ioctls under ep->mtx (C variant).
    'eventpoll-params-under-mtx': {
        'fs/eventpoll.c': [
            Drop('\t\t/*\n\t\t * One set at a time, and gets under the same lock: a get sees\n'
                 '\t\t * the three values of one set, never a mix of two.  The busy\n'
                 '\t\t * loop reads them without it.\n\t\t */\n\t\tmutex_lock(&ep->mtx);\n'),
            Sub('epoll_params.prefer_busy_poll);\n\t\tmutex_unlock(&ep->mtx);\n\t\treturn 0;\n',
                'epoll_params.prefer_busy_poll);\n\t\treturn 0;\n'),
            Sub('\t\tmemset(&epoll_params, 0, sizeof(epoll_params));\n\t\tmutex_lock(&ep->mtx);\n',
                '\t\tmemset(&epoll_params, 0, sizeof(epoll_params));\n'),
            Sub('READ_ONCE(ep->prefer_busy_poll);\n\t\tmutex_unlock(&ep->mtx);\n\t\tif (copy_to_user',
                'READ_ONCE(ep->prefer_busy_poll);\n\t\tif (copy_to_user'),
        ],
    },
    # The 6.13 on-rule: prefer_busy_poll turns busy polling on.
    'eventpoll-prefer-busy-poll': {
        'fs/eventpoll.c': [
            Sub('\treturn !!READ_ONCE(ep->busy_poll_usecs) ||\n'
                '\t       READ_ONCE(ep->prefer_busy_poll) ||\n'
                '\t       net_busy_loop_on();\n',
                '\treturn !!READ_ONCE(ep->busy_poll_usecs) || net_busy_loop_on();\n'),
        ],
    },
    # IRQ suspension in the C variant.
    'eventpoll-suspend-irqs': {
        'fs/eventpoll.c': [
            DropC(func('ep_suspend_napi_irqs'), n=2),
            DropC(func('ep_resume_napi_irqs'), n=2),
            Drop('\t\tif (prefer_busy_poll)\n\t\t\tnapi_resume_irqs(napi_id);\n'),
            Drop('\tep_resume_napi_irqs(ep);\n'),
            Sub('\t\t\tif (res) {\n\t\t\t\tif (res > 0)\n\t\t\t\t\tep_suspend_napi_irqs(ep);\n'
                '\t\t\t\treturn res;\n\t\t\t}\n',
                '\t\t\tif (res)\n\t\t\t\treturn res;\n'),
            Absent('suspend_irqs', 'resume_irqs', 'suspend_napi_irqs', 'resume_napi_irqs'),
        ],
    },
    # The fdinfo lines (C).
    'eventpoll-fdinfo': {
        'fs/eventpoll.c': [
            DropC(func('ep_show_busy_poll')),
            Drop('#ifdef CONFIG_NET_RX_BUSY_POLL\n#endif\n\n'),
            Drop('#ifdef CONFIG_NET_RX_BUSY_POLL\n\tep_show_busy_poll(m, ep);\n#endif\n'),
            # The counters of the C variant.
            DropRe(r'^\t/\* busy loops started, .*\n(?:\tatomic_long_t busy_poll_\w+;\n){3}'),
            Drop('\t\tatomic_long_inc(&ep->busy_poll_loops);\n'),
            Drop('\t\tatomic_long_inc(&ep->busy_poll_timeouts);\n'),
            Sub('\tif (napi_id >= MIN_NAPI_ID && READ_ONCE(ep->prefer_busy_poll)) {\n'
                '\t\tatomic_long_inc(&ep->busy_poll_irq_suspensions);\n'
                '\t\tnapi_suspend_irqs(napi_id);\n\t}\n',
                '\tif (napi_id >= MIN_NAPI_ID && READ_ONCE(ep->prefer_busy_poll))\n'
                '\t\tnapi_suspend_irqs(napi_id);\n'),
            Absent('ep_show_busy_poll', 'busy_poll_usecs:', 'busy_poll_loops',
                   'busy_poll_timeouts', 'irq_suspensions'),
        ],
    },
    'rust-jump-label': {
        'MAINTAINERS': [
            Drop('F:\trust/helpers/jump_label.c\n'),
            Drop('F:\trust/kernel/jump_label.rs\n'),
        ],
        'rust/kernel/lib.rs': [Drop('pub mod jump_label;\n')],
        'rust/bindings/bindings_helper.h': [
            DropRe(r'^#include <linux/jump_label.*\.h>\n'),
        ],
    },
    'rust-net-busy-poll': {
        'MAINTAINERS': [Drop('F:\trust/kernel/net/busy_poll.rs\n')],
        'rust/bindings/bindings_helper.h': [
            Drop('#include <linux/netdevice.h>\n'),
            Drop('#include <net/busy_poll.h>\n'),
        ],
    },
    'rust-kunit-tests': {
        'MAINTAINERS': [Drop('F:\trust/macros/kunit.rs\n')],
        # kernel::kunit::vm_mmap() takes its PROT_* and MAP_* flags from it.
        'rust/bindings/bindings_helper.h': [Drop('#include <linux/mman.h>\n')],
        'rust/macros/lib.rs': [
            Drop('mod kunit;\n'),
            DropRe(r'^/// Runs the `#\[test\]` functions of a module as the KUnit suite `name`\.\n'
                   r'(?:///.*\n)*#\[proc_macro_attribute\]\n'
                   r'pub fn kunit_tests\(attr: TokenStream, ts: TokenStream\) -> TokenStream \{\n'
                   r'    kunit::kunit_tests\(attr, ts\)\n\}\n\n'),
        ],
    },
    # The Rust variant: its #ifdef branches, header and MAINTAINERS lines.
    'eventpoll-rust': {
        # Under the VFS entry (which has fs/* already).
        'MAINTAINERS': [
            Drop('F:\tfs/eventpoll_busy_poll/\n'),
            Drop('F:\tinclude/linux/eventpoll_busy_poll.h\n'),
            Absent('eventpoll_busy_poll'),
        ],
        'rust/bindings/bindings_helper.h': [
            Drop('#include <linux/eventpoll.h>\n'),
            Drop('#include <linux/eventpoll_busy_poll.h>\n'),
        ],
        'fs/eventpoll.c': [
            Unifdef('CONFIG_EPOLL_BUSY_POLL_RUST'),
            Drop('#include <linux/eventpoll_busy_poll.h>\n'),
            Absent('EPOLL_BUSY_POLL_RUST', 'ep_busy_poll', 'busy_poll_used', 'eventpoll_busy_poll'),
        ],
    },
    'kunit': {
        'fs/eventpoll_busy_poll.rs': [
            Drop('#[cfg(CONFIG_EPOLL_BUSY_POLL_RUST_KUNIT_TEST)]\n'
                 '#[path = "eventpoll_busy_poll/kunit.rs"]\nmod kunit;\n\n'),
            Absent('KUNIT', 'mod kunit'),
        ],
        'fs/eventpoll_busy_poll/Kconfig': [
            DropRe(r'(?s)\nconfig EPOLL_BUSY_POLL_RUST_KUNIT_TEST\n.*\Z'),
            Absent('KUNIT'),
        ],
    },
    'documentation': {
        # napi.rst (patch napi-documentation) points to the page from here on.
        'Documentation/networking/napi.rst': [
            DropRe(r'^An epoll instance can carry its own busy polling parameters.*\n(?:.+\n)*\n'),
            Absent('epoll_busy_poll'),
        ],
    },
}


def read_series():
    """[(number, name, [Files: patterns])] in order."""
    patches = []
    for f in sorted(os.listdir(SERIES)):
        m = re.fullmatch(r'(\d\d)-(.+)\.txt', f)
        if not m or m.group(1) == '00':
            continue
        pats = []
        with open(os.path.join(SERIES, f)) as fh:
            for line in fh:
                if not line.strip():
                    break
                if line.startswith('Files:'):
                    pats += line[len('Files:'):].split()
        patches.append((int(m.group(1)), m.group(2), pats))
    return patches


def udiff(path, a, b):
    for text in (a, b):
        if text and not text.endswith('\n'):
            raise Unplaced('no newline at the end of the file')
    return ''.join(difflib.unified_diff(a.splitlines(True), b.splitlines(True),
                                        'a/' + path, 'b/' + path, n=3))


def main(argv):
    check = '--check' in argv
    if not set(argv) <= {'--check', '--no-overlay'}:
        sys.exit(__doc__)
    if '--no-overlay' not in argv:
        subprocess.run([os.path.join(ROOT, 'scripts', 'ebp', 'overlay.sh')], check=True,
                       stdout=subprocess.DEVNULL)
    src = os.path.join(CACHE, 'src', 'linux')
    with open(os.path.join(CACHE, 'src', 'overlay.list')) as fh:
        overlay = fh.read().split()
    with open(os.path.join(SERIES, 'excluded.txt')) as fh:
        excluded = {ln.split()[0] for ln in fh if ln.strip() and not ln.startswith('#')}

    patches = read_series()
    number = {name: k for k, name, _ in patches}
    full = {name: f'{k:02d}-{name}' for k, name, _ in patches}
    owner, unplaced = {}, []
    for k, name, pats in patches:
        for pat in pats:
            for f in overlay:
                if fnmatch.fnmatchcase(f, pat):
                    owner.setdefault(f, k)
    for f in overlay:
        if f not in owner and f not in excluded:
            unplaced.append(f'{f}: in no Files: line of a patch and not in excluded.txt')

    # Per file, the steps from the last patch back.
    per_file = {}
    for name, files in STEPS.items():
        if name not in number:
            unplaced.append(f'STEPS names the patch {name!r}, which the series does not have')
            continue
        for path, ops in files.items():
            per_file.setdefault(path, []).append((number[name], name, ops))
    diffs = {name: [] for _, name, _ in patches}
    for path, steps in per_file.items():
        if path not in overlay:
            unplaced.append(f'{path}: has steps but is not in the overlay')
            continue
        with open(os.path.join(src, path)) as fh:
            text = fh.read()
        for k, name, ops in sorted(steps, reverse=True):
            where = f'{path}, patch {full[name]}'
            if owner.get(path, k) >= k:
                unplaced.append(f'{where}: the file comes in with patch '
                                f'{owner.get(path)}, not before')
                continue
            before = text
            for op in ops:
                try:
                    before = op(before)
                except Unplaced as e:
                    unplaced.append(f'{where}: {op!r}: {e}')
            if before == text:
                unplaced.append(f'{where}: the step changes nothing')
                continue
            diffs[name].append(udiff(path, before, text))
            text = before

    if unplaced:
        print('could not place:', file=sys.stderr)
        for u in unplaced:
            print('  ' + u, file=sys.stderr)
        print('nothing written', file=sys.stderr)
        return 1

    stale = []
    wanted = {}
    for _, name, _ in patches:
        if diffs[name]:
            wanted[full[name] + '.diff'] = ''.join(diffs[name])
    present = {f for f in os.listdir(SERIES) if f.endswith('.diff')}
    for f in sorted(present | set(wanted)):
        path = os.path.join(SERIES, f)
        have = open(path).read() if f in present else None
        want = wanted.get(f)
        if have == want:
            continue
        stale.append(f)
        if check:
            continue
        if want is None:
            os.remove(path)
        else:
            with open(path, 'w') as fh:
                fh.write(want)
    for f, text in wanted.items():
        files = [ln[len('+++ b/'):] for ln in text.splitlines() if ln.startswith('+++ b/')]
        print(f'{f}: {len(text.splitlines())} lines: {" ".join(files)}')
    if check:
        if stale:
            print(f'out of date: {" ".join(stale)}: run scripts/ebp/series_diffs.py',
                  file=sys.stderr)
        return 1 if stale else 0
    print(f'{len(stale)} .diff files written or removed' if stale else 'all .diff files were up to date')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
