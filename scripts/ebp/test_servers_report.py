#!/usr/bin/env python3
"""Checks of servers_report.py on made-up guest output: the per-request
arithmetic, the parsing of a console, the medians over rounds, the rank
correlation, each hypothesis's rule (held, failed, not tested), the smoke
check, and a whole report written from raw files.  No kernel needed:
`python3 scripts/ebp/test_servers_report.py [--counts FILE]`."""
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers_report as sr  # noqa: E402
import unittest_counts  # noqa: E402


def snap(t_s=0.0, cpu_ms=0, by_ms=0, irq_rx=0, irq_all=0, sirq1=0, sirq=0,
         loops=0, timeouts=0, susp=0, ticks=None, by_ticks=None, segs=None, by_loops=None):
    """A snapshot as servers-guest.sh prints it (CPU in ms here; by default
    two TCP segments per request of a 1000 req/s load; without the
    bystander's busy loops, as before it had them, unless given)."""
    return [int(t_s * 1e6), ticks if ticks is not None else cpu_ms // 10,
            by_ticks if by_ticks is not None else by_ms // 10, irq_rx, irq_all, sirq1, sirq,
            loops, timeouts, susp, cpu_ms * 1000, by_ms * 1000,
            segs if segs is not None else int(t_s * 2000)] + ([] if by_loops is None else [by_loops])


def gen(achieved=1000.0, p50=100.0, p99=1000.0, p999=2000.0, errors=0, missing=0,
        completed=None):
    return {'achieved_rate_rps': achieved, 'offered_rate_rps': achieved,
            'latency_p50_us': p50, 'latency_p99_us': p99, 'latency_p99_9_us': p999,
            'errors': errors, 'missing': missing,
            'completed': completed if completed is not None else int(achieved * 2),
            'send_lag_p99_us': 10.0}


def cell(server='memcached', path='virtio', mode='none', load='light', offered=1000,
         before=None, after=None, g=None, by_rate=100.0, **kw):
    sysctl, napi, params, client = sr.EXPECTED[mode]
    c = {'server': server, 'path': path, 'mode': mode, 'load': load, 'offered': offered,
         'sysctl': sysctl, 'napi': napi, 'params': {'6': params, '11': params},
         'clk_tck': 100, 'before': before or snap(), 'after': after or snap(2.0),
         'gen': g if g is not None else gen(), 'bystander_rate': by_rate}
    if client:
        c['client_params'] = client
    c.update(kw)
    return c


def metrics(cpu=None, p99=None, by_cpu=None, by_achieved=100.0, offered=1000, irq_rx=None,
            loops=None, by_loops=None):
    """An aggregated cell as aggregate() makes it, for the judges."""
    m = {k: None for k in sr.derive(cell())}
    m.update(cpu=cpu, p99=p99, by_cpu=by_cpu, by_achieved=by_achieved, offered=offered,
             irq_rx=irq_rx, loops=loops, by_loops=by_loops, n=1)
    return m


def raw(cells, done=True, failures=(), kernel='6.12.0-made-up #1'):
    lines = ['==> running ... under virtme-ng', f'EBP-SERVERS-INFO kernel {kernel}',
             'EBP-SERVERS-INFO mode none sysctl=0 usecs=0',
             'EBP-SERVERS-INFO capacity memcached virtio 10000']
    lines += [f'EBP-SERVERS-INFO failure {f}' for f in failures]
    lines += ['[guest 3s] progress'] + ['EBP-SERVERS-CELL ' + json.dumps(c) for c in cells]
    if done:
        lines.append('EBP-SERVERS-DONE cells=1 failures=0 secs=9')
    return '\r\n'.join(lines) + '\r\n'


class Arithmetic(unittest.TestCase):
    def test_per_request_values_divide_by_the_requests_in_the_window(self):
        # 2 s window at 1000 req/s: 2000 requests.
        c = cell(before=snap(10.0, cpu_ms=100, by_ms=50, irq_rx=10, irq_all=30, sirq1=5,
                             sirq=8, loops=0, timeouts=0, susp=0),
                 after=snap(12.0, cpu_ms=1100, by_ms=70, irq_rx=510, irq_all=1030, sirq1=2005,
                            sirq=4008, loops=1000, timeouts=200, susp=500))
        m = sr.derive(c)
        self.assertAlmostEqual(m['window'], 2.0)
        self.assertAlmostEqual(m['cpu'], 50.0)        # 1000 ms of 2 s
        self.assertAlmostEqual(m['by_cpu'], 1.0)      # 20 ms of 2 s
        self.assertAlmostEqual(m['irq_rx'], 0.25)
        self.assertAlmostEqual(m['irq'], 0.5)
        self.assertAlmostEqual(m['softirq_cpu1'], 1.0)
        self.assertAlmostEqual(m['softirq'], 2.0)
        self.assertAlmostEqual(m['loops'], 0.5)
        self.assertAlmostEqual(m['timeouts'], 0.1)
        self.assertAlmostEqual(m['suspensions'], 0.25)
        self.assertEqual(m['p99'], 1000.0)
        self.assertIsNone(m['by_loops'])               # a run from before the bystander's
        # The bystander's loops per request of its own trickle (100 req/s x 2 s).
        c['before'].append(7)
        c['after'].append(107)
        m = sr.derive(c)
        self.assertEqual(m['by_loops_delta'], 100)
        self.assertAlmostEqual(m['by_loops'], 0.5)

    def test_missing_counters_are_none_and_cpu_falls_back_to_ticks(self):
        b = snap(0.0, irq_rx=-1, irq_all=-1, loops=-1, timeouts=-1, susp=-1, ticks=100)
        a = snap(2.0, irq_rx=-1, irq_all=-1, loops=-1, timeouts=-1, susp=-1, ticks=150)
        b[10] = a[10] = -1000      # no /proc/PID/task/*/sched
        m = sr.derive(cell(path='nsim', before=b, after=a))
        self.assertIsNone(m['irq_rx'])
        self.assertIsNone(m['loops'])
        self.assertIsNone(m['suspensions'])
        self.assertAlmostEqual(m['cpu'], 25.0)        # 50 ticks of 100 Hz in 2 s

    def test_no_replies_no_per_request_values(self):
        m = sr.derive(cell(g=gen(achieved=0.0, completed=0),
                           after=snap(2.0, irq_rx=50)))
        self.assertIsNone(m['irq_rx'])

    def test_medians_over_rounds_and_cells_without_a_result_left_out(self):
        boots = []
        for r, p99 in enumerate([1000.0, 3000.0, 2000.0], 1):
            b = sr.Boot('rust', r)
            b.cells = [cell(g=gen(p99=p99)), cell(mode='sysctl', g={})]
            boots.append(b)
        agg = sr.aggregate(boots)
        m = agg[('rust', 'memcached', 'virtio', 'light', 'none')]
        self.assertEqual(m['p99'], 2000.0)
        self.assertEqual(m['n'], 3)
        self.assertNotIn(('rust', 'memcached', 'virtio', 'light', 'sysctl'), agg)

    def test_a_window_that_missed_the_load_is_left_out_and_named(self):
        # 1000 req/s for 1 s: 200 segments against 2 per request (2000) in
        # the table's median cell; 0.7 per request is within a third of it.
        b = sr.Boot('c', 1)
        b.cells = [cell(mode='epoll', before=snap(0.0, segs=100), after=snap(1.0, segs=300)),
                   cell(mode='busy', before=snap(0.0, segs=0), after=snap(1.0, segs=700)),
                   cell(mode='none'), cell(mode='sysctl'), cell(mode='suspend')]
        agg = sr.aggregate([b])
        self.assertNotIn(('c', 'memcached', 'virtio', 'light', 'epoll'), agg)
        self.assertIn(('c', 'memcached', 'virtio', 'light', 'busy'), agg)
        self.assertIn(('c', 'memcached', 'virtio', 'light', 'none'), agg)
        self.assertEqual(len(b.problems), 1)
        self.assertIn('saw 0.20 TCP segments per request, against 2.00', b.problems[0])
        self.assertIn('memcached virtio light epoll', b.problems[0])

    def test_spearman(self):
        self.assertAlmostEqual(sr.spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1.0)
        self.assertAlmostEqual(sr.spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1.0)
        self.assertEqual(sr.ranks([5, 1, 5, 3]), [3.5, 1.0, 3.5, 2.0])
        self.assertIsNone(sr.spearman([1, 2], [1, 2]))
        self.assertIsNone(sr.spearman([1, 1, 1], [1, 2, 3]))


class Parsing(unittest.TestCase):
    def test_console_noise_and_markers_inside_lines(self):
        text = raw([cell()]).replace('EBP-SERVERS-CELL', '\x1b[0mEBP-SERVERS-CELL', 1)
        b = sr.parse_raw(text, 'rust', 1)
        self.assertEqual(len(b.cells), 1)
        self.assertTrue(b.done)
        self.assertEqual(b.info['kernel'], '6.12.0-made-up #1')
        self.assertEqual(b.info['capacity'], {('memcached', 'virtio'): 10000})
        self.assertEqual(b.problems, [])

    def test_an_unfinished_boot_and_guest_failures_are_problems(self):
        b = sr.parse_raw(raw([cell()], done=False, failures=['napi set on eth0: EPERM']), 'c', 2)
        self.assertEqual(len(b.problems), 2)
        self.assertIn('did not finish', b.problems[0])
        self.assertIn('EPERM', b.problems[1])

    def test_a_broken_cell_line_is_a_problem_not_a_crash(self):
        b = sr.parse_raw('EBP-SERVERS-CELL {"server": \nEBP-SERVERS-DONE\n', 'rust', 1)
        self.assertEqual(b.cells, [])
        self.assertIn('not JSON', b.problems[0])


def table_agg(values, server='memcached', path='virtio', load='light'):
    """{key: metrics} from {(variant, mode): metrics}."""
    return {(va, server, path, load, mo): m for (va, mo), m in values.items()}


class Hypotheses(unittest.TestCase):
    def test_h1_near_busy_latency_at_a_fraction_of_its_cpu(self):
        # Two servers, one per kernel: no cell measured on both, no noise.
        agg = table_agg({('rust', 'suspend'): metrics(cpu=30, p99=1900),
                         ('rust', 'busy'): metrics(cpu=100, p99=1000)})
        agg.update(table_agg({('c', 'suspend'): metrics(cpu=80, p99=1000),
                              ('c', 'busy'): metrics(cpu=100, p99=1000)}, server='redis'))
        v = sr.judge_h1(agg)
        self.assertEqual([ok for _, ok, _ in v.cases], [True, False])   # c: 0.8 > 0.75
        self.assertEqual(v.verdict, 'mixed (1 of 2 cases)')
        v = sr.judge_h1(table_agg({('rust', 'suspend'): metrics(cpu=30, p99=2100),
                                   ('rust', 'busy'): metrics(cpu=100, p99=1000)}))
        self.assertEqual(v.verdict, 'fails')                               # 2.1x the p99

    def test_a_cell_whose_generator_lagged_is_flagged_and_left_out(self):
        # Send-lag p99 10 us: fine against a p50 of 100 us (10% is the line),
        # flagged against one of 99 us.
        self.assertFalse(sr.lagged({'send_lag_p99': 10.0, 'p50': 100.0}))
        self.assertTrue(sr.lagged({'send_lag_p99': 10.0, 'p50': 99.0}))
        self.assertFalse(sr.lagged({'send_lag_p99': None, 'p50': 99.0}))
        good = {('rust', 'suspend'): metrics(cpu=30, p99=1000),
                ('rust', 'busy'): metrics(cpu=100, p99=1000)}
        for m in good.values():
            m.update(p50=100.0, send_lag_p99=5.0, lagged=False)
        agg = table_agg(good)
        self.assertEqual(sr.judge_all(agg)[0].verdict, 'holds')
        # The same cells with the generator 20 ms behind: H1 has no case
        # left, and says why.
        for m in agg.values():
            m['send_lag_p99'] = 20000.0
            m['lagged'] = sr.lagged(m)
        v = sr.judge_all(agg)[0]
        self.assertEqual(v.verdict, 'not resolved')
        self.assertIn('2 of 2 cells left out', v.notes[-1])
        # And the table shows it.
        t = sr.table(agg, 'memcached', 'virtio', 'light', ['rust'])
        self.assertIn('send lag p99 ms', t)
        self.assertIn('20.0 !', t)

    def test_h1_and_h2_are_not_judged_on_netdevsim(self):
        agg = table_agg({('rust', 'suspend'): metrics(cpu=30, p99=1000),
                         ('rust', 'busy'): metrics(cpu=100, p99=1000)}, path='nsim')
        v = sr.judge_h1(agg)
        self.assertEqual(v.verdict, 'not tested')
        self.assertIn('netdevsim has no device interrupt', v.notes[0])
        agg = table_agg({('rust', 'suspend'): metrics(cpu=30, p99=1000),
                         ('rust', 'prefer-defer'): metrics(cpu=30, p99=1000)},
                        path='nsim', load='high')
        self.assertEqual(sr.judge_h2(agg).verdict, 'not tested')

    def test_h2_at_least_as_good_as_deferral_within_the_tolerance(self):
        agg = table_agg({('rust', 'suspend'): metrics(cpu=55, p99=1100),
                         ('rust', 'prefer-defer'): metrics(cpu=50, p99=1000)}, load='high')
        self.assertEqual(sr.judge_h2(agg).verdict, 'holds')                # 1.10x both
        agg = table_agg({('rust', 'suspend'): metrics(cpu=56, p99=900),
                         ('rust', 'prefer-defer'): metrics(cpu=50, p99=1000)}, load='high')
        self.assertEqual(sr.judge_h2(agg).verdict, 'fails')                # CPU 1.12x
        # Light load is H1's, not H2's.
        agg = table_agg({('rust', 'suspend'): metrics(cpu=90, p99=900),
                         ('rust', 'prefer-defer'): metrics(cpu=50, p99=1000)}, load='light')
        self.assertEqual(sr.judge_h2(agg).verdict, 'not tested')

    def test_h3_the_bystander_pays_for_the_sysctl_only(self):
        # The median over the tables of mode / none, limit 1.25x; 1000 req/s
        # x 50 us = 5 pp on none's 10%: the sysctl is predicted at 1.5x.
        values = {}
        for load, by in (('light', 1.2), ('medium', 1.3), ('high', 1.0)):
            values[('rust', 'none', load)] = metrics(by_cpu=10.0, by_achieved=1000.0)
            values[('rust', 'sysctl', load)] = metrics(by_cpu=16.0, by_achieved=1000.0)
            for m in sr.PER_EPOLL:
                values[('rust', m, load)] = metrics(by_cpu=10.0 * by)
        agg = {('rust' if k[0] == 'rust' else 'c', 'memcached', 'virtio', k[2], k[1]): m
               for k, m in values.items()}
        v = sr.judge_h3(agg)
        self.assertEqual(v.verdict, 'holds')              # medians 1.2x; sysctl 1.6x
        self.assertEqual(len(v.cases), len(sr.PER_EPOLL) + 1)
        self.assertIn('median 1.20x none over 3 tables (1 of them above 1.25x', v.cases[0][2])
        self.assertIn('predicts 1.50x', v.cases[-1][2])
        agg[('rust', 'memcached', 'virtio', 'high', 'busy')] = metrics(by_cpu=14.0)
        v = sr.judge_h3(agg)                               # busy: median 1.3x
        self.assertEqual(v.verdict, f'mixed ({len(sr.PER_EPOLL)} of {len(sr.PER_EPOLL) + 1} cases)')

    def test_h3_sysctl_half_not_tested_when_its_cost_is_in_the_noise(self):
        # 100 req/s x 50 us = 0.5 pp on none's 2%: predicted 1.25x, not above.
        values = {('rust', 'none'): metrics(by_cpu=2.0, by_achieved=100.0),
                  ('rust', 'sysctl'): metrics(by_cpu=2.1, by_achieved=100.0),
                  ('rust', 'epoll'): metrics(by_cpu=2.0)}
        v = sr.judge_h3(table_agg(values))
        self.assertEqual(v.verdict, 'holds for the per-epoll modes; the sysctl half not tested')
        self.assertEqual(len(v.cases), 1)
        self.assertIn('The sysctl half is not tested', v.notes[0])
        self.assertIn('predicts 1.25x', v.notes[0])

    def test_h3_by_the_bystanders_busy_loops(self):
        # CPU as in the noise test above (sysctl half not resolved by CPU);
        # the counts decide it: none under per-epoll modes, some under sysctl.
        values = {('rust', 'none'): metrics(by_cpu=2.0, by_achieved=100.0, by_loops=0.0),
                  ('rust', 'sysctl'): metrics(by_cpu=2.1, by_achieved=100.0, by_loops=0.9),
                  ('rust', 'epoll'): metrics(by_cpu=2.0, by_loops=0.0),
                  ('rust', 'suspend'): metrics(by_cpu=2.0, by_loops=0.0)}
        v = sr.judge_h3(table_agg(values))
        self.assertEqual([c[0] for c in v.cases],
                         ['epoll', 'suspend', 'epoll, busy loops', 'suspend, busy loops',
                          'sysctl, busy loops'])
        self.assertEqual(v.verdict, 'holds (the sysctl\'s CPU cost is below what one round '
                                    'resolves: its busy loops are counted instead)')
        self.assertIn('median 0.90 over 1 tables', v.cases[-1][2])
        self.assertIn('Its CPU does not resolve the sysctl half, which its busy loops decide',
                      v.notes[0])
        # One busy loop of the bystander under a per-epoll mode is payment.
        values[('rust', 'suspend')] = metrics(by_cpu=2.0, by_loops=0.01)
        v = sr.judge_h3(table_agg(values))
        self.assertEqual([ok for _, ok, _ in v.cases], [True, True, True, False, True])
        self.assertIn('(1 above 0)', v.cases[3][2])
        # No busy loop under the sysctl in one table fails that half.
        values[('rust', 'suspend')] = metrics(by_cpu=2.0, by_loops=0.0)
        agg = table_agg(values)
        agg.update(table_agg({('c', 'none'): metrics(by_cpu=2.0, by_loops=0.0),
                              ('c', 'sysctl'): metrics(by_cpu=2.0, by_loops=0.0)}))
        v = sr.judge_h3(agg)
        self.assertFalse(v.cases[-1][1])
        self.assertIn('none in 1', v.cases[-1][2])

    def test_h4_same_ranking_of_the_modes_on_both_kernels(self):
        # Judged on the counted metrics; CPU and p99 (reversed here) only shown.
        values = {}
        for i, mode in enumerate(['none', 'epoll', 'suspend', 'busy']):
            values[('rust', mode)] = metrics(cpu=10 + 20 * i, p99=1000 - 100 * i,
                                             irq_rx=1.0 / (i + 1), loops=0.1 * i)
            values[('c', mode)] = metrics(cpu=80 - 20 * i, p99=100 + 100 * i,
                                          irq_rx=1.1 / (i + 1), loops=0.12 * i)
        v = sr.judge_h4(table_agg(values))
        self.assertEqual(v.verdict, 'holds')
        self.assertEqual([c[0] for c in v.cases], ['rx irq/req', 'busy loops/req'])
        self.assertIn('server CPU (not judged): median rho -1.00', v.notes[0])
        line = sr.shape_line(table_agg(values), 'memcached', 'virtio', 'light')
        self.assertIn('Same shape? yes', line)
        self.assertIn('p99 (rho -1.00) (shown)', line)
        for i, mode in enumerate(['none', 'epoll', 'suspend', 'busy']):
            values[('c', mode)]['loops'] = 0.3 - 0.1 * i
        v = sr.judge_h4(table_agg(values))
        self.assertEqual([ok for _, ok, _ in v.cases], [True, False])      # loops reversed
        self.assertIn('Same shape? no', sr.shape_line(table_agg(values), 'memcached',
                                                      'virtio', 'light'))
        self.assertEqual(sr.judge_h4(table_agg({('rust', 'none'): metrics(cpu=1, p99=1)})).verdict,
                         'not tested')


class Noise(unittest.TestCase):
    def test_spread_of_the_same_cell_on_the_two_kernels(self):
        agg = table_agg({('rust', 'none'): metrics(cpu=10, p99=1000),
                         ('c', 'none'): metrics(cpu=20, p99=1100),
                         ('rust', 'busy'): metrics(cpu=90, p99=3000),
                         ('c', 'busy'): metrics(cpu=90, p99=1000),
                         ('rust', 'epoll'): metrics(cpu=50, p99=1000)})
        med, top, n = sr.spread(agg, 'p99')
        self.assertEqual(n, 2)
        self.assertAlmostEqual(med, (1.1 + 3.0) / 2)
        self.assertAlmostEqual(top, 3.0)
        self.assertEqual(sr.spread(agg, 'cpu')[:2], (1.5, 2.0))
        self.assertIn('p99 2.05x (up to 3.0x)', sr.noise_text(agg))
        self.assertEqual(sr.noise_text(table_agg({('rust', 'none'): metrics(cpu=1, p99=1)})), '')


class NotResolved(unittest.TestCase):
    """A case whose ratio lies within the run's noise of its limit is not
    resolved, either way."""

    def h2(self, c_cpu, c_defer=50, rounds=None):
        # The same high-load table on both kernels: suspend's CPU 1.2x
        # prefer-defer's on the Rust kernel (tolerance 1.1x).
        agg = table_agg({('rust', 'suspend'): metrics(cpu=60, p99=1000),
                         ('rust', 'prefer-defer'): metrics(cpu=50, p99=1000),
                         ('c', 'suspend'): metrics(cpu=c_cpu, p99=1000),
                         ('c', 'prefer-defer'): metrics(cpu=c_defer, p99=1000)}, load='high')
        for m in agg.values():
            m['round_spread'] = {'cpu': rounds}
        return sr.judge_h2(agg)

    def test_a_miss_inside_the_kernel_to_kernel_spread_is_not_resolved(self):
        # Rust 1.2x, C 1.25x: the same cells 1.2x and 1.25x apart on the
        # two kernels, f = 1.225, so both lie inside 1.1 / f .. 1.1 x f.
        v = self.h2(c_cpu=50, c_defer=40)
        self.assertEqual([ok for _, ok, _ in v.cases], [None, None])
        self.assertEqual(v.verdict, 'not resolved')

    def test_a_miss_outside_the_spread_fails(self):
        # The kernels agree within 1.02x: Rust's 1.2x and C's 1.196x miss.
        v = self.h2(c_cpu=61, c_defer=51)
        self.assertEqual([ok for _, ok, _ in v.cases], [False, False])
        self.assertEqual(v.verdict, 'fails')

    def test_round_to_round_spread_counts_too(self):
        v = self.h2(c_cpu=61, c_defer=51, rounds=1.5)
        self.assertEqual(v.verdict, 'not resolved')

    def test_hold_and_within_the_noise(self):
        v = sr.Verdict('H0', 'claim', 'rule', cases=[('a', True, ''), ('b', None, '')])
        self.assertEqual(sr.tally(v).verdict, 'not resolved (1 of 2 cases hold, 1 within the noise)')
        v.cases.append(('c', False, ''))
        self.assertEqual(sr.tally(v).verdict, 'mixed (1 of 3 cases hold, 1 within the noise)')


class RulesFile(unittest.TestCase):
    """The hypotheses, their thresholds and their earlier rules come from
    servers_hypotheses.toml."""

    def tearDown(self):
        sr.use_rules()

    def test_thresholds_come_from_the_file(self):
        agg = table_agg({('rust', 'suspend'): metrics(cpu=30, p99=1900),
                         ('rust', 'busy'): metrics(cpu=100, p99=1000)})
        self.assertEqual(sr.judge_h1(agg).verdict, 'holds')
        with open(sr.HYPOTHESES) as f:
            text = f.read()
        self.assertIn('p99_factor = 2.0\n', text)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'h.toml')
            with open(path, 'w') as f:
                f.write(text.replace('p99_factor = 2.0\n', 'p99_factor = 1.5\n'))
            sr.use_rules(path)
            v = sr.judge_h1(agg)
        self.assertEqual(v.verdict, 'fails')
        self.assertIn('suspend p99 <= 1.5 x busy p99', v.rule)

    def test_every_hypothesis_has_a_claim_a_rule_and_a_date(self):
        for hid in ('H1', 'H2', 'H3', 'H4'):
            for key in ('claim', 'rule', 'since'):
                self.assertTrue(sr.RULES[hid].get(key), f'{hid}.{key}')
            for e in sr.RULES[hid].get('earlier', []):
                self.assertEqual(sorted(e), ['in_force', 'rule', 'run', 'verdict', 'why'])

    def test_the_report_shows_each_earlier_rule_beside_its_verdict(self):
        # H3 and H4 were re-ruled after the first results.
        self.assertTrue(sr.RULES['H3']['earlier'] and sr.RULES['H4']['earlier'])
        v = sr.hypothesis('H4')
        lines = sr.earlier_text(v.earlier, '  ')
        self.assertEqual(len(lines), 1 + len(sr.RULES['H4']['earlier']))
        for e, line in zip(v.earlier, lines[1:]):
            self.assertIn(e['rule'], line)
            self.assertIn(f'**{e["verdict"]}**', line)


class Smoke(unittest.TestCase):
    def test_a_good_cell_passes(self):
        ok, line = sr.check_cell(cell(mode='suspend', after=snap(2.0, loops=40, susp=30)), 'x')
        self.assertTrue(ok, line)
        self.assertIn('40 busy loops, 30 suspensions', line)
        ok, line = sr.check_cell(cell(mode='sysctl', before=snap(by_loops=0),
                                      after=snap(2.0, loops=40, by_loops=12)), 'x')
        self.assertTrue(ok, line)
        self.assertIn('40 busy loops, 0 suspensions; bystander 12 busy loops', line)

    def test_what_fails(self):
        cases = [
            (cell(g=gen(errors=3)), '3 error replies'),
            (cell(g=gen(missing=2)), '2 missing replies'),
            (cell(g={}), 'no result'),
            (cell(mode='epoll', params={'6': '50/64/0', '11': '0/0/0'},
                  after=snap(2.0, loops=5)), "params {'11': '0/0/0'}"),
            (cell(mode='sysctl', sysctl='0/0', after=snap(2.0, loops=5)), 'sysctl 0/0'),
            (cell(mode='none', after=snap(2.0, loops=5)), '5 busy loops without busy polling'),
            (cell(mode='epoll', after=snap(2.0, loops=0)), 'no busy loop counted'),
            (cell(mode='suspend', after=snap(2.0, loops=9, susp=0)), 'no suspension counted'),
            (cell(mode='epoll-both', client_params=None, after=snap(2.0, loops=3)),
             'load generator params None'),
            (cell(mode='sysctl', before=snap(by_loops=4), after=snap(2.0, loops=5, by_loops=4)),
             'the bystander did not busy poll under the sysctl'),
            (cell(mode='epoll', before=snap(by_loops=4), after=snap(2.0, loops=5, by_loops=6)),
             '2 busy loops of the bystander, which has no params'),
        ]
        for c, why in cases:
            ok, line = sr.check_cell(c, 'x')
            self.assertFalse(ok, why)
            self.assertIn(why, line)

    def test_a_kernel_without_counters_is_judged_on_the_rest(self):
        b = snap(0.0, loops=-1, timeouts=-1, susp=-1)
        ok, line = sr.check_cell(cell(mode='busy', before=b, after=snap(2.0, loops=-1,
                                                                       timeouts=-1, susp=-1)), 'x')
        self.assertTrue(ok, line)
        self.assertIn('no busy-poll counters', line)

    def test_an_unfinished_boot_fails_the_check(self):
        results = sr.check([sr.parse_raw(raw([cell()], done=False), 'rust', 1)])
        self.assertEqual([ok for ok, _ in results], [False, True])


class Whole(unittest.TestCase):
    def test_report_from_raw_files(self):
        with tempfile.TemporaryDirectory() as d:
            rawdir, out = os.path.join(d, 'raw'), os.path.join(d, 'out')
            os.makedirs(rawdir)
            for variant, k in (('rust', 1.0), ('c', 1.1)):
                cells = [cell(mode=m, load=lo, offered=r,
                              after=snap(2.0, cpu_ms=int(200 * (i + 1) * k), by_ms=40,
                                         irq_rx=100 * (7 - i), loops=0 if m == 'none' else 50),
                              g=gen(achieved=float(r), p99=1000.0 * (7 - i) * k))
                         for lo, r in (('light', 1000), ('high', 8000))
                         for i, m in enumerate(sr.MODES)]
                with open(os.path.join(rawdir, f'{variant}-1.txt'), 'w') as f:
                    f.write(raw(cells))
            argv = sys.argv
            sys.argv = ['servers_report.py', '--raw', rawdir, '--out', out]
            try:
                with contextlib.redirect_stderr(io.StringIO()):
                    self.assertEqual(sr.main(), 0)
            finally:
                sys.argv = argv
            text = open(os.path.join(out, 'README.md')).read()
            self.assertIn('### light: 1,000 req/s offered', text)
            self.assertIn('| suspend | 1,000 / 1,000 | 0.1 / 0.1 | 2.0 / 2.2 |', text)
            self.assertIn('Same shape? yes', text)
            self.assertIn('**H4: holds.**', text)
            data = json.load(open(os.path.join(out, 'data.json')))
            self.assertEqual(len(data['boots']), 2)
            self.assertEqual(len(data['boots'][0]['cells']), 14)
            self.assertEqual([v['id'] for v in data['verdicts']], ['H1', 'H2', 'H3', 'H4'])


CLASSES = (Arithmetic, Parsing, Hypotheses, Noise, NotResolved, RulesFile, Smoke, Whole)


if __name__ == '__main__':
    sys.exit(unittest_counts.main(CLASSES, 'servers_report'))
