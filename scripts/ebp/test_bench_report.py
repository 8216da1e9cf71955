#!/usr/bin/env python3
"""Checks of bench_report.py on made-up consoles: the pairing of Rust and C
boots by round, the ratios, the verdicts on the targets, and what happens
to a boot that failed.  make test runs it (no kernel needed)."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_report  # noqa: E402


def console(metrics, cdf=None, rc=0, error=None):
    lines = ['booting...', 'EBP-BEGIN bench']
    lines += [f'metric {k} {v} ns' for k, v in metrics.items()]
    for mode, qs in (cdf or {}).items():
        lines.append(f'cdf {mode} ' + ' '.join(str(q) for q in qs))
    if error:
        lines.append(f'# error: {error}')
    lines += [f'EBP-END bench rc={rc} secs=3', 'EBP-DONE']
    return '\r\n'.join(lines) + '\r\n'


class Report(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.logs = self.dir.name

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, text):
        with open(os.path.join(self.logs, name), 'w') as f:
            f.write(text)

    def test_ratios_pair_boots_of_the_same_round(self):
        # Round 2's C boot is slow: pairing by round keeps it with round 2.
        for r, (rust, c) in enumerate([(101, 100), (202, 200), (303, 300)], 1):
            self.write(f'icount-rust-{r}.log', console({'ioctl.get': rust}))
            self.write(f'icount-c-{r}.log', console({'ioctl.get': c}))
        boots, problems = bench_report.load(self.logs, 3)
        self.assertEqual([p for p in problems if p.startswith('icount')], [])
        s = bench_report.summary(bench_report.pairs(boots, 'icount', 'ioctl.get'))
        self.assertAlmostEqual(s['median'], 1.01)
        self.assertAlmostEqual(s['min'], 1.01)
        self.assertEqual(s['n'], 3)
        self.assertEqual(s['c'], 200)
        self.assertAlmostEqual(s['c_spread'], 2.0)

    def test_a_failed_boot_is_left_out_and_named(self):
        self.write('icount-rust-1.log', console({'ioctl.get': 110}))
        self.write('icount-c-1.log', console({'ioctl.get': 100}))
        self.write('icount-rust-2.log', console({'ioctl.get': 5}, rc=1,
                                                error='ioctl.get returned -22, not 0'))
        self.write('icount-c-2.log', console({'ioctl.get': 100}))
        boots, problems = bench_report.load(self.logs, 2)
        self.assertEqual(len(problems), 1 + 2 * 2)  # rust 2, and no wall boots
        self.assertIn('icount boot 2 of rust', problems[0])
        self.assertIn('returned -22', problems[0])
        ps = bench_report.pairs(boots, 'icount', 'ioctl.get')
        self.assertEqual(ps, [(110, 100)])

    def test_an_unfinished_boot_is_a_problem(self):
        self.write('icount-rust-1.log', 'EBP-BEGIN bench\nmetric ioctl.get 1 ns\n')
        _, _, problem = bench_report.parse_log(os.path.join(self.logs, 'icount-rust-1.log'))
        self.assertIn('did not finish', problem)

    def test_p99_target_compares_gains_over_no_busy_polling(self):
        def lat(none, epoll, sysctl):
            s = lambda v: {'p99': {'rust': v, 'c': v}}
            return {'none': s(none), 'epoll-50-8-0': s(epoll), 'sysctl-50': s(sysctl)}
        # Gains 95 and 100: within 10%.
        (_, ge, gs, _, ok), = bench_report.p99_target(lat(300, 205, 200), 'rust')
        self.assertEqual((ge, gs, ok), (95, 100, True))
        # Gains 80 and 100: missed.
        (_, _, _, _, ok), = bench_report.p99_target(lat(300, 220, 200), 'rust')
        self.assertFalse(ok)

    def test_cdf_is_the_mean_of_each_quantile(self):
        for r, qs in ((1, [10, 20, 30]), (2, [30, 40, 50])):
            self.write(f'wall-rust-{r}.log', console({'rtt.none.p99': qs[-1]}, {'none': qs}))
            self.write(f'wall-c-{r}.log', console({'rtt.none.p99': qs[-1]}, {'none': qs}))
        boots, _ = bench_report.load(self.logs, 2)
        self.assertEqual(bench_report.mean_quantiles(boots, 'rust', 'none'), [20, 30, 40])


def main():
    """Runs the checks; with --counts FILE also writes "PASSED FAILED 0"
    there for test.sh, and prints a PASS/FAIL line per check."""
    counts = None
    if len(sys.argv) == 3 and sys.argv[1] == '--counts':
        counts = sys.argv[2]
        del sys.argv[1:]
    result = unittest.TextTestRunner(verbosity=0, stream=sys.stderr).run(
        unittest.defaultTestLoader.loadTestsFromTestCase(Report))
    bad = {t.id() for t, _ in result.failures + result.errors}
    for name in unittest.defaultTestLoader.getTestCaseNames(Report):
        verdict = 'FAIL' if any(b.endswith(name) for b in bad) else 'PASS'
        print(f'{verdict} [host] bench_report: {name[5:]}')
    if counts:
        with open(counts, 'w') as f:
            f.write(f'{result.testsRun - len(bad)} {len(bad)} 0\n')
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
