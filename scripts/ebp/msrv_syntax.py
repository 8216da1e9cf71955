#!/usr/bin/env python3
"""Fails on Rust syntax newer than the kernel's minimum rustc.

Only one rustc can be installed here, and a newer one accepts syntax the
kernel's minimum (scripts/min-tool-version.sh rustc) rejects.  clippy's MSRV
lints catch library APIs that are too new, not syntax; this catches the
syntax: each construct below, stabilised after the minimum, is an error in
the given files, outside comments and string literals.

Usage: msrv_syntax.py --min 1.78.0 FILE...
Prints one line per finding (FILE:LINE: what, since which version) and
exits 1 if there is any.
"""
import argparse
import re
import sys

# (first stable version, what, pattern on code with comments and strings
# blanked out)
CONSTRUCTS = [
    ((1, 79), 'inline const block `const { ... }` in an expression',
     re.compile(r'(?<![\w:])(?:=|\(|,|\[|=>|return|;|\{)\s*const\s*\{')),
    ((1, 80), 'exclusive range pattern `a..b =>`',
     re.compile(r'\b\w+\s*\.\.\s*\w+\s*(?:\||=>)')),
    ((1, 81), '`#[expect(...)]` lint attribute',
     re.compile(r'#!?\[\s*expect\s*\(')),
    ((1, 82), '`&raw const` / `&raw mut` raw borrow',
     re.compile(r'&\s*raw\s+(?:const|mut)\b')),
    ((1, 82), '`unsafe extern` block',
     re.compile(r'\bunsafe\s+extern\s*(?:"[^"]*"\s*)?\{')),
    ((1, 82), '`#[unsafe(...)]` attribute',
     re.compile(r'#!?\[\s*unsafe\s*\(')),
    ((1, 82), '`use<..>` precise capturing',
     re.compile(r'\+\s*use\s*<|impl\s+use\s*<')),
    ((1, 88), '`let` chain in `if`/`while`',
     re.compile(r'\b(?:if|while)\s+let\b[^{;]*&&\s*let\b')),
]


def blank(src):
    """src with comments, string and char literals replaced by spaces
    (newlines kept, so line numbers stay)."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith('//', i):
            j = src.find('\n', i)
            j = n if j < 0 else j
        elif src.startswith('/*', i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith('/*', j):
                    depth, j = depth + 1, j + 2
                elif src.startswith('*/', j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
        elif c == '"' or (c in 'bc' and src.startswith('"', i + 1)):
            j = src.index('"', i) + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == '\\' else 1
            j += 1
        elif c == 'r' and re.match(r'r#*"', src[i:]):
            hashes = re.match(r'r(#*)"', src[i:]).group(1)
            j = src.find('"' + hashes, i + len(hashes) + 2) + 1 + len(hashes)
        elif c == "'" and re.match(r"'(?:\\.|[^\\'])'", src[i:i + 4] + ' '):
            j = i + len(re.match(r"'(?:\\.[^']*|[^\\'])'", src[i:]).group(0))
        else:
            out.append(c)
            i += 1
            continue
        out.append(re.sub(r'[^\n]', ' ', src[i:j]))
        i = j
    return ''.join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--min', required=True, help='minimum rustc, e.g. 1.78.0')
    ap.add_argument('files', nargs='+')
    args = ap.parse_args()
    minimum = tuple(int(x) for x in args.min.split('.')[:2])

    found = 0
    for path in args.files:
        code = blank(open(path).read())
        for since, what, pattern in CONSTRUCTS:
            if since <= minimum:
                continue
            for m in pattern.finditer(code):
                line = code.count('\n', 0, m.start()) + 1
                print(f'{path}:{line}: {what} is stable only since rustc '
                      f'{since[0]}.{since[1]}; the kernel supports '
                      f'{args.min}')
                found += 1
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
