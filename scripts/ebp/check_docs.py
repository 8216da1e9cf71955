#!/usr/bin/env python3
"""Checks of this repository's Documentation/: every .rst page parses as
reStructuredText without warnings (docutils; Sphinx-only roles are not
used), and every page is listed in the toctree of its directory's index.rst
after our patch to it.  An existing page we patch (FILE.rst.patch, such as
filesystems/proc.rst) must still parse, in the patched tree; index.rst
files are left out, since their toctree is Sphinx-only.  Upstream pages
use Sphinx's cross-reference roles (networking/napi.rst's :ref:), so for
patched pages only, :ref: and :doc: are accepted and read as literal
text; our own pages must still do without them.  Prints a PASS/FAIL line
per check; with --counts FILE writes "PASSED FAILED 0" there for
test.sh."""
import argparse
import contextlib
import os
import re
import sys

import docutils.core
import docutils.utils
from docutils import nodes
from docutils.parsers.rst import roles

# Sphinx's cross-reference roles, which upstream pages use and plain
# docutils does not know.
SPHINX_XREF_ROLES = ('ref', 'doc')


def sphinx_xref(name, rawtext, text, lineno, inliner, options=None, content=None):
    """A Sphinx cross reference, read as its literal text."""
    return [nodes.literal(rawtext, text)], []


@contextlib.contextmanager
def sphinx_xref_roles():
    """Accept the Sphinx cross-reference roles while the block runs."""
    for name in SPHINX_XREF_ROLES:
        roles.register_local_role(name, sphinx_xref)
    try:
        yield
    finally:
        for name in SPHINX_XREF_ROLES:
            roles._roles.pop(name, None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--repo', required=True, help='this repository')
    ap.add_argument('--tree', required=True, help='the patched kernel tree')
    ap.add_argument('--counts')
    args = ap.parse_args()

    passed = failed = 0

    def check(name, ok, why=''):
        nonlocal passed, failed
        print(f"{'PASS' if ok else 'FAIL'} [host] docs: {name}" + ('' if ok else f': {why}'))
        passed += ok
        failed += not ok

    def parses(path, rel):
        try:
            docutils.core.publish_doctree(
                open(path).read(), source_path=rel,
                settings_overrides={'report_level': 2, 'halt_level': 2,
                                    'warning_stream': sys.stderr})
            check(f'{rel} is valid reStructuredText', True)
        except docutils.utils.SystemMessage as e:
            check(f'{rel} is valid reStructuredText', False, str(e))

    docs = os.path.join(args.repo, 'Documentation')
    pages = sorted(os.path.join(d, f) for d, _, fs in os.walk(docs)
                   for f in fs if f.endswith('.rst'))
    patched = sorted(os.path.relpath(os.path.join(d, f[:-len('.patch')]), args.repo)
                     for d, _, fs in os.walk(docs) for f in fs
                     if f.endswith('.rst.patch') and f != 'index.rst.patch')
    with sphinx_xref_roles():
        for rel in patched:
            parses(os.path.join(args.tree, rel), rel + ' (patched)')
    for page in pages:
        rel = os.path.relpath(page, args.repo)
        parses(page, rel)
        index = os.path.join(args.tree, os.path.dirname(rel), 'index.rst')
        name = os.path.splitext(os.path.basename(rel))[0]
        listed = os.path.exists(index) and re.search(
            rf'^\s+{re.escape(name)}\s*$', open(index).read(), re.M)
        check(f'{rel} is in the toctree of {os.path.relpath(index, args.tree)}',
              bool(listed), 'add it to the index.rst patch')
    if not pages:
        check('Documentation/ has pages', False, 'none found')
    if args.counts:
        with open(args.counts, 'w') as f:
            f.write(f'{passed} {failed} 0\n')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
