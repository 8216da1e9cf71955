"""Run unittest classes the way test.sh counts them.

`python3 test_X.py [--counts FILE]` in each of our report checks: one
PASS/FAIL line per check on stdout, "PASSED FAILED 0" in FILE for test.sh
to add up, unittest's own report on stderr.
"""

import sys
import unittest


def main(classes, label):
    """Runs every check of CLASSES, printing "VERDICT [host] LABEL: name";
    returns the exit status (0 when all passed)."""
    counts = None
    if len(sys.argv) == 3 and sys.argv[1] == '--counts':
        counts = sys.argv[2]
        del sys.argv[1:]
    loader = unittest.defaultTestLoader
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in classes)
    result = unittest.TextTestRunner(verbosity=0, stream=sys.stderr).run(suite)
    # A test's id() is "module.Class.test_name".
    bad = {t.id().split('.', 1)[1] for t, _ in result.failures + result.errors}
    for c in classes:
        for name in loader.getTestCaseNames(c):
            verdict = 'FAIL' if f'{c.__name__}.{name}' in bad else 'PASS'
            print(f'{verdict} [host] {label}: {name[5:]}')
    if counts:
        with open(counts, 'w') as f:
            f.write(f'{result.testsRun - len(bad)} {len(bad)} 0\n')
    return 0 if result.wasSuccessful() else 1
