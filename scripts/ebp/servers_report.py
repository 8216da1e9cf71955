#!/usr/bin/env python3
"""The make bench-servers report: memcached and redis-server under open-loop
load in virtme-ng guests, per busy-poll mode, on the Rust and the C kernel.

Reads the guests' raw output (results/servers/raw/VARIANT-ROUND.txt, from
scripts/ebp/servers-guest.sh: "EBP-SERVERS-CELL {json}" lines with the raw
counters before and after each cell's window and the load generator's
JSON) and writes README.md (tables, the four hypotheses judged by the rules
below), one plot per server, path and metric, and data.json.  With --check
it judges a smoke run instead (every server answers under every mode, the
params read back as set, the busy-poll counters move) and prints a
PASS/FAIL line per case.
"""
import argparse
import datetime
import json
import os
import re
import statistics
import sys
import tomllib
from dataclasses import dataclass, field

CELL = 'EBP-SERVERS-CELL '
INFO = 'EBP-SERVERS-INFO '
DONE = 'EBP-SERVERS-DONE '
HOST = 'EBP-SERVERS-HOST '

MODES = ['none', 'sysctl', 'epoll', 'epoll-both', 'prefer-defer', 'suspend', 'busy']
LOADS = ['light', 'medium', 'high', 'smoke']
VARIANTS = ['rust', 'c']
PER_EPOLL = ['epoll', 'epoll-both', 'prefer-defer', 'suspend', 'busy']
# The settings each mode must read back (servers-guest.sh, mode_settings):
# sysctl busy_poll/busy_read, NAPI defer/gro/suspend, params of each epoll
# fd usecs/budget/prefer, the load generator's (epoll-both only).
EXPECTED = {
    'none': ('0/0', '0/0/0', '0/0/0', None),
    'sysctl': ('50/50', '0/0/0', '0/0/0', None),
    'epoll': ('0/0', '0/0/0', '50/64/0', None),
    'epoll-both': ('0/0', '0/0/0', '50/64/0', '50/64/0'),
    'prefer-defer': ('0/0', '100/20000/0', '0/64/1', None),
    'suspend': ('0/0', '100/20000/20000000', '0/64/1', None),
    'busy': ('0/0', '100/20000/0', '100000/64/1', None),
}
# The snapshot's fields (servers-guest.sh, snap).
SNAP = ['t_us', 'cpu_ticks', 'by_ticks', 'irq_rx', 'irq_all', 'softirq_cpu1',
        'softirq_all', 'loops', 'timeouts', 'suspensions', 'cpu_us', 'by_us', 'in_segs',
        'by_loops']
# The hypotheses, their rules and thresholds: servers_hypotheses.toml
# (use_rules() loads another file, for the checks).
HYPOTHESES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'servers_hypotheses.toml')
RULES = {}


def use_rules(path=HYPOTHESES):
    """Load the hypotheses file into RULES and return it."""
    with open(path, 'rb') as f:
        RULES.clear()
        RULES.update(tomllib.load(f))
    return RULES


def rule(hid):
    """Hypothesis hid's section of the file."""
    return RULES[hid]


def rule_text(hid, **extra):
    """Hypothesis hid's rule, its numbers filled in."""
    values = {k: x for k, x in {**RULES['common'], **RULES[hid]}.items()
              if isinstance(x, (int, float))}
    return RULES[hid]['rule'].format(**values, **extra)


def lag_fraction():
    """A cell whose median send-lag p99 is above this fraction of its median
    p50 latency measured the generator as much as the server (an open-loop
    generator that falls behind delays requests by itself): it stays in the
    tables, flagged, and out of every verdict."""
    return RULES['common']['lag_fraction']


def missed_fraction():
    """A window that saw fewer TCP segments per request (in the server's
    netns) than this fraction of the median of its table's cells missed the
    load: the cell is left out and named.  (Relative: with pipelining and
    GRO a segment carries several requests at high load, 0.1 per request on
    virtio, about 1 on netdevsim; a missed window sees the bystander's
    trickle alone.)"""
    return RULES['common']['missed_fraction']


use_rules()


# --- parsing -----------------------------------------------------------------

@dataclass
class Boot:
    """One guest's output."""
    variant: str
    round: int
    cells: list = field(default_factory=list)
    info: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    done: bool = False
    problems: list = field(default_factory=list)


def parse_raw(text, variant, rnd):
    """A Boot from a guest's raw output (console noise and \\r allowed)."""
    boot = Boot(variant, rnd)
    boot.info = {'modes': {}, 'capacity': {}, 'servers': [], 'paths': [], 'host': []}
    for line in text.replace('\r', '').split('\n'):
        i = line.find('EBP-SERVERS-')
        if i < 0:
            continue
        line = line[i:]
        if line.startswith(CELL):
            try:
                boot.cells.append(json.loads(line[len(CELL):]))
            except json.JSONDecodeError as e:
                boot.problems.append(f'{variant} round {rnd}: a cell line is not JSON ({e})')
        elif line.startswith(INFO):
            what, _, rest = line[len(INFO):].partition(' ')
            if what == 'kernel':
                boot.info['kernel'] = rest
            elif what == 'settings':
                boot.info['settings'] = rest
            elif what == 'mode':
                name, _, settings = rest.partition(' ')
                boot.info['modes'][name] = settings
            elif what == 'capacity':
                server, path, rate = rest.split()
                boot.info['capacity'][(server, path)] = int(rate)
            elif what == 'failure':
                boot.failures.append(rest)
            elif what == 'path':
                boot.info['paths'].append(rest)
            elif what == 'server':
                boot.info['servers'].append(rest)
        elif line.startswith(HOST):
            boot.info['host'].append(line[len(HOST):])
        elif line.startswith(DONE):
            boot.done = True
            m = re.search(r'secs=(\d+)', line)
            if m:
                boot.info['secs'] = int(m.group(1))
    if not boot.done:
        boot.problems.append(f'{variant} round {rnd}: the guest did not finish '
                             f'(no {DONE.strip()} line): a crash, a timeout or a failed boot')
    for f in boot.failures:
        boot.problems.append(f'{variant} round {rnd}: {f}')
    return boot


def load_raw(directory):
    """Every VARIANT-ROUND.txt in directory, as Boots sorted by round and
    variant."""
    boots = []
    for name in sorted(os.listdir(directory)):
        m = re.fullmatch(r'(\w+)-(\d+)\.txt', name)
        if not m:
            continue
        with open(os.path.join(directory, name), errors='replace') as f:
            boots.append(parse_raw(f.read(), m.group(1), int(m.group(2))))
    boots.sort(key=lambda b: (b.round, VARIANTS.index(b.variant) if b.variant in VARIANTS else 9))
    return boots


# --- arithmetic --------------------------------------------------------------

def per(delta, requests):
    """delta per request; None when the counter is missing (-1) or nothing
    was completed."""
    if delta is None or requests <= 0:
        return None
    return delta / requests


def derive(cell):
    """The metrics of one cell from its raw counters and the generator's
    JSON.  Per-request values divide the counters' deltas by the requests
    completed in their window (achieved rate x window length)."""
    gen = cell.get('gen') or {}
    b = dict(zip(SNAP, cell.get('before') or []))
    a = dict(zip(SNAP, cell.get('after') or []))
    window = (a.get('t_us', 0) - b.get('t_us', 0)) / 1e6

    def delta(k):
        if k not in a or k not in b or a[k] < 0 or b[k] < 0:
            return None
        return a[k] - b[k]

    achieved = gen.get('achieved_rate_rps') or 0.0
    reqs = achieved * window
    tck = cell.get('clk_tck') or 100

    def cpu(us_key, ticks_key):
        if window <= 0:
            return None
        d = delta(us_key)
        if d is not None:
            return d / 1e6 / window * 100
        d = delta(ticks_key)
        return None if d is None else d / tck / window * 100

    lat = lambda k: gen.get(k)
    by_achieved = cell.get('bystander_rate',
                           (cell.get('bystander_gen') or {}).get('achieved_rate_rps'))
    return {
        'offered': cell.get('offered'),
        'achieved': achieved if gen else None,
        'p50': lat('latency_p50_us'),
        'p99': lat('latency_p99_us'),
        'p999': lat('latency_p99_9_us'),
        'errors': gen.get('errors'),
        'missing': gen.get('missing'),
        'completed': gen.get('completed'),
        'send_lag_p99': gen.get('send_lag_p99_us'),
        'window': window,
        'cpu': cpu('cpu_us', 'cpu_ticks'),
        'by_cpu': cpu('by_us', 'by_ticks'),
        'by_achieved': by_achieved,
        'irq_rx': per(delta('irq_rx'), reqs),
        'irq': per(delta('irq_all'), reqs),
        'softirq_cpu1': per(delta('softirq_cpu1'), reqs),
        'softirq': per(delta('softirq_all'), reqs),
        'loops': per(delta('loops'), reqs),
        'timeouts': per(delta('timeouts'), reqs),
        'suspensions': per(delta('suspensions'), reqs),
        'loops_delta': delta('loops'),
        'suspensions_delta': delta('suspensions'),
        'by_loops': per(delta('by_loops'), (by_achieved or 0) * window),
        'by_loops_delta': delta('by_loops'),
        'segs': per(delta('in_segs'), reqs),
    }


def window_missed(m, table_segs):
    """Why a cell's counters cannot be used (their window saw too few of the
    load's TCP segments: under missed_fraction() of table_segs, the median of
    its table), or None."""
    if m['segs'] is not None and table_segs and m['segs'] < missed_fraction() * table_segs:
        return (f'the counters\' window ({m["window"]:.2f} s) saw {m["segs"]:.2f} TCP segments per '
                f'request, against {table_segs:.2f} in the median cell of its table: it missed '
                f'the load')
    return None


def median_or_none(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def aggregate(boots):
    """{(variant, server, path, load, mode): metrics}, each metric the
    median over the rounds (a cell that got no result, or whose window
    missed the load, is left out and named in its boot's problems), with
    'n' the number of rounds."""
    groups, derived = {}, []
    for boot in boots:
        for cell in boot.cells:
            if cell.get('gen'):
                key = (boot.variant, cell['server'], cell['path'], cell['load'], cell['mode'])
                derived.append((boot, key, derive(cell)))
    tables = {}
    for boot, key, m in derived:
        tables.setdefault((boot.variant, boot.round) + key[1:4], []).append(m['segs'])
    for boot, key, m in derived:
        why = window_missed(m, median_or_none(tables[(boot.variant, boot.round) + key[1:4]]))
        if why:
            problem = f'{boot.variant} round {boot.round}: {" ".join(key[1:])}: {why}; left out'
            if problem not in boot.problems:
                boot.problems.append(problem)
            continue
        groups.setdefault(key, []).append(m)
    out = {}
    for key, ms in groups.items():
        agg = {k: median_or_none([m[k] for m in ms]) for k in ms[0]}
        agg['n'] = len(ms)
        agg['round_spread'] = {k: spread_of([m[k] for m in ms]) for k in NOISY}
        agg['lagged'] = lagged(agg)
        out[key] = agg
    return out


# The timed metrics whose noise decides whether a case is resolved.
NOISY = ('p99', 'cpu', 'by_cpu')


def spread_of(xs):
    """The largest over the smallest of the positive values in xs; None
    for fewer than two."""
    xs = [x for x in xs if x is not None and x > 0]
    return max(xs) / min(xs) if len(xs) > 1 else None


def lagged(m):
    """Whether the generator's send-lag p99 is above lag_fraction() of the
    cell's p50 latency (unknown lag: not flagged)."""
    lag, p50 = m.get('send_lag_p99'), m.get('p50')
    return lag is not None and p50 is not None and lag > lag_fraction() * p50


def unlagged(agg):
    """The cells the verdicts may use: those not flagged by lagged()."""
    return {k: m for k, m in agg.items() if not m.get('lagged')}


def ranks(xs):
    """Ranks of xs from 1, ties sharing their mean rank."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def spearman(xs, ys):
    """Spearman's rank correlation of two equally long lists; None for
    fewer than 3 pairs or a constant list."""
    if len(xs) != len(ys) or len(xs) < 3:
        return None
    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        return None
    return sxy / (sxx * syy) ** 0.5


# --- the hypotheses ----------------------------------------------------------

@dataclass
class Verdict:
    id: str
    statement: str
    rule: str
    verdict: str = 'not tested'
    cases: list = field(default_factory=list)   # (label, ok, text); ok None: not resolved
    notes: list = field(default_factory=list)
    earlier: list = field(default_factory=list)  # the file's [[HN.earlier]]


def hypothesis(hid, **extra):
    """A Verdict with hypothesis hid's claim, rule and earlier rules from
    the file."""
    return Verdict(hid, RULES[hid]['claim'], rule_text(hid, **extra),
                   earlier=RULES[hid].get('earlier', []))


def tally(v):
    """holds (every case), fails (none), mixed (k of n), not resolved
    (no case failed and some lie within the noise) or not tested."""
    good = sum(1 for _, ok, _ in v.cases if ok is True)
    bad = sum(1 for _, ok, _ in v.cases if ok is False)
    open_ = len(v.cases) - good - bad
    if not v.cases:
        v.verdict = 'not tested'
    elif open_ == len(v.cases):
        v.verdict = 'not resolved'
    elif open_ and not bad:
        v.verdict = f'not resolved ({good} of {len(v.cases)} cases hold, {open_} within the noise)'
    elif not open_ and good == len(v.cases):
        v.verdict = 'holds'
    elif not open_ and not good:
        v.verdict = 'fails'
    else:
        v.verdict = (f'mixed ({good} of {len(v.cases)} cases'
                     + (f' hold, {open_} within the noise)' if open_ else ')'))
    return v


def within(measured, limit, noise, at_most=True):
    """Case verdict of "measured <= limit" (or >= with at_most False) under
    a noise factor f >= 1: True or False when measured lies outside
    limit / f .. limit x f, None (not resolved) inside."""
    f = max(noise or 1.0, 1.0)
    if measured <= limit / f:
        return at_most
    if measured > limit * f:
        return not at_most
    return None


def both(*oks):
    """A case of several comparisons: False if any fails, else None if any
    is not resolved, else True."""
    if any(ok is False for ok in oks):
        return False
    if any(ok is None for ok in oks):
        return None
    return True


def tables_of(agg):
    """The (variant, server, path, load) tables present, sorted."""
    keys = {k[:4] for k in agg}
    return sorted(keys, key=lambda k: (VARIANTS.index(k[0]) if k[0] in VARIANTS else 9,
                                       k[1], k[2], LOADS.index(k[3]) if k[3] in LOADS else 9))


NSIM_WHY = ('netdevsim has no device interrupt: it schedules its NAPI from the sender\'s '
            'transmit and ignores what napi_complete_done() answers, so there is nothing '
            'to suspend or defer; its numbers are in the tables, not judged')


def judge_suspend_against(agg, v, load, other, p99_limit, cpu_limit):
    """Cases of v: on virtio at `load`, suspend's p99 and server CPU at most
    p99_limit and cpu_limit times those of mode `other`, in each table that
    has both (within the run's noise: not resolved)."""
    p99_noise, cpu_noise = noise(agg, 'p99'), noise(agg, 'cpu')
    for variant, server, path, tload in tables_of(agg):
        if tload != load or path != 'virtio':
            continue
        s = agg.get((variant, server, path, load, 'suspend'))
        o = agg.get((variant, server, path, load, other))
        if not s or not o or None in (s['p99'], o['p99'], s['cpu'], o['cpu']):
            continue
        ok = both(within(s['p99'] / o['p99'], p99_limit, p99_noise),
                  within(s['cpu'] / o['cpu'], cpu_limit, cpu_noise))
        v.cases.append((f'{variant} {server} {path}', ok,
                        f'p99 {ms(s["p99"])} vs {ms(o["p99"])} ms ({s["p99"] / o["p99"]:.2f}x), '
                        f'CPU {s["cpu"]:.0f}% vs {o["cpu"]:.0f}% ({ratio(s["cpu"], o["cpu"])})'))
    if any(k[2] == 'nsim' for k in agg):
        v.notes.append(f'nsim: {NSIM_WHY}.')


def judge_h1(agg):
    v = hypothesis('H1')
    r = rule('H1')
    judge_suspend_against(agg, v, 'light', 'busy', r['p99_factor'], r['cpu_fraction'])
    return tally(v)


def judge_h2(agg):
    v = hypothesis('H2')
    lim = 1 + rule('H2')['tolerance']
    judge_suspend_against(agg, v, 'high', 'prefer-defer', lim, lim)
    return tally(v)


def ratio_to_none(agg, mode, metric='by_cpu'):
    """[(table, mode's metric / none's)] over the tables (variant, server,
    path, load) that have both."""
    out = []
    for key in tables_of(agg):
        none, m = agg.get(key + ('none',)), agg.get(key + (mode,))
        if none and m and none[metric] and m[metric] is not None:
            out.append((key, m[metric] / none[metric]))
    return out


def judge_h3(agg):
    r = rule('H3')
    limit = 1 + r['margin_rel']
    v = hypothesis('H3', limit=limit, per_epoll=', '.join(PER_EPOLL))
    by_noise = noise(agg, 'by_cpu')
    untested = False
    # Where the run has the bystander's busy-loop counts, they decide the
    # sysctl half (judge_h3_loops) whatever its CPU can resolve.
    counted = any(k[4] == 'sysctl' and m.get('by_loops') is not None for k, m in agg.items())
    for mode in PER_EPOLL:
        rs = ratio_to_none(agg, mode)
        if not rs:
            continue
        med = statistics.median(r for _, r in rs)
        above = sum(1 for _, r in rs if r > limit)
        v.cases.append((mode, within(med, limit, by_noise),
                        f'median {med:.2f}x none over {len(rs)} tables ({above} of them above '
                        f'{limit:g}x, from {min(r for _, r in rs):.2f}x to {max(r for _, r in rs):.2f}x)'))
    rs = ratio_to_none(agg, 'sysctl')
    if rs:
        med = statistics.median(r for _, r in rs)
        # What one busy loop per request would add: rate x 50 us over none's CPU.
        predicted = []
        for key, _ in rs:
            none, s = agg[key + ('none',)], agg[key + ('sysctl',)]
            rate = s['by_achieved'] or 0
            predicted.append(1 + rate * r['sysctl_usecs'] / 1e6 * 100 / none['by_cpu'])
        pmed = statistics.median(predicted)
        text = (f'median {med:.2f}x none over {len(rs)} tables (from {min(r for _, r in rs):.2f}x '
                f'to {max(r for _, r in rs):.2f}x); one busy loop per request predicts {pmed:.2f}x')
        if pmed > limit:
            v.cases.append(('sysctl', within(med, limit, by_noise, at_most=False), text))
        else:
            costs = [m['by_cpu'] / 100 / m['by_achieved'] * 1e6 for k, m in agg.items()
                     if k[4] == 'none' and m['by_cpu'] and m['by_achieved']]
            per_req = (f' (here a median {statistics.median(costs):,.0f} us of its CPU per request)'
                       if costs else '')
            untested = True
            lead = ('Its CPU does not resolve the sysctl half, which its busy loops decide instead'
                    if counted else 'The sysctl half is not tested')
            v.notes.append(f'{lead}: {text}, under the {limit:g}x the rule can '
                           'tell from noise.  Raising the bystander\'s rate does not help, its CPU grows '
                           'with the rate as fast as the cost; the cost shows where one request costs '
                           f'the bystander under {r["sysctl_usecs"] / r["margin_rel"]:.0f} us of CPU, and '
                           f'under TCG it costs far more{per_req}.  On hardware, where a request costs '
                           'tens of us, the same rule can see it.')
    judge_h3_loops(agg, v)
    tally(v)
    if untested and v.cases:
        v.verdict += (' (the sysctl\'s CPU cost is below what one round resolves: its busy loops '
                      'are counted instead)' if counted
                      else ' for the per-epoll modes; the sysctl half not tested')
    return v


def judge_h3_loops(agg, v):
    """H3 by the bystander's own fdinfo counts, where the run has them:
    no busy loop at all under each per-epoll mode (it has no params), and
    some under the sysctl in every table (each of its epoll_wait() calls
    that finds nothing busy polls).  Counts, not times: a single cell
    decides."""
    def loops(mode):
        return [(k, m['by_loops']) for k, m in agg.items()
                if k[4] == mode and m.get('by_loops') is not None]
    for mode in PER_EPOLL:
        ls = loops(mode)
        if ls:
            paid = [k for k, x in ls if x > 0]
            v.cases.append((f'{mode}, busy loops', not paid,
                            f'bystander busy loops per request: {max(x for _, x in ls):.3f} at most '
                            f'over {len(ls)} tables' + (f' ({len(paid)} above 0)' if paid else '')))
    ls = loops('sysctl')
    if not ls:
        return
    free = [k for k, x in ls if x <= 0]
    v.cases.append(('sysctl, busy loops', not free,
                    f'bystander busy loops per request: median {statistics.median(x for _, x in ls):.2f} '
                    f'over {len(ls)} tables, from {min(x for _, x in ls):.2f} to '
                    f'{max(x for _, x in ls):.2f}' + (f'; none in {len(free)}' if free else '')))


# H4: metrics the epoll code decides and the run counts (judged), and the
# timed ones (shown).
H4_JUDGED = (('irq_rx', 'rx irq/req'), ('loops', 'busy loops/req'))
H4_SHOWN = (('cpu', 'server CPU'), ('p99', 'p99'))


def judge_h4(agg):
    v = hypothesis('H4')
    rho = rule('H4')['rho']
    for metric, name in H4_JUDGED + H4_SHOWN:
        rhos = [r for r in (same_shape(agg, *t)[metric] for t in sorted({k[1:4] for k in agg}))
                if r is not None]
        if not rhos:
            continue
        med = statistics.median(rhos)
        text = (f'median rho {med:.2f} over {len(rhos)} tables (from {min(rhos):.2f} to '
                f'{max(rhos):.2f})')
        if (metric, name) in H4_JUDGED:
            v.cases.append((name, med >= rho, text + f'; at least {rho:g} wanted'))
        else:
            v.notes.append(f'{name} (not judged): {text}.')
    if not v.cases:
        v.notes.append('Needs both kernels with at least 3 modes in a table.')
    return tally(v)


def same_shape(agg, server, path, load):
    """{metric: rho} between the kernels for one table, for the metrics of
    H4 (None where fewer than 3 modes have it on both, or one is constant)."""
    out = {}
    for metric, _ in H4_JUDGED + H4_SHOWN:
        modes = [mo for mo in MODES
                 if all(agg.get((va, server, path, load, mo), {}).get(metric) is not None
                        for va in VARIANTS)]
        out[metric] = spearman([agg[('rust', server, path, load, mo)][metric] for mo in modes],
                               [agg[('c', server, path, load, mo)][metric] for mo in modes])
    return out


def judge_all(agg):
    """The four hypotheses on the cells whose generator kept its schedule;
    a hypothesis left without a case for that is not resolved."""
    use = unlagged(agg)
    left_out = len(agg) - len(use)
    verdicts = [judge_h1(use), judge_h2(use), judge_h3(use), judge_h4(use)]
    for v in verdicts:
        if left_out:
            v.notes.append(f'{left_out} of {len(agg)} cells left out: the load generator\'s '
                           f'send-lag p99 was above {lag_fraction():.0%} of the cell\'s p50 latency.')
        if not v.cases and left_out:
            v.verdict = 'not resolved'
    return verdicts


def spread(agg, metric):
    """How far the same cell (server, path, load, mode) lies apart on the two
    kernels: the median and the largest of max/min over the cells measured
    on both, and their number; None without such cells.  The two kernels
    run the same code paths but for the Rust/C epoll part, so this is mostly
    the run's noise (and an upper bound on it where the kernels differ)."""
    rs = []
    for (va, server, path, load, mode), m in agg.items():
        if va != 'rust':
            continue
        o = agg.get(('c', server, path, load, mode))
        a, b = m.get(metric), (o or {}).get(metric)
        if a and b and a > 0 and b > 0:
            rs.append(max(a, b) / min(a, b))
    if not rs:
        return None
    return statistics.median(rs), max(rs), len(rs)


def round_spread(agg, metric):
    """The median over the cells measured in more than one round of the
    largest over the smallest of their rounds' values; None without such
    cells."""
    rs = [m.get('round_spread', {}).get(metric) for m in agg.values()]
    rs = [r for r in rs if r is not None]
    return statistics.median(rs) if rs else None


def noise(agg, metric):
    """The run's noise in metric, as a factor: the larger of the median
    kernel-to-kernel spread of the same cell and its median round-to-round
    spread (1.0 when the run measures neither)."""
    k = spread(agg, metric)
    return max(k[0] if k else 1.0, round_spread(agg, metric) or 1.0)


def noise_text(agg):
    parts = []
    for metric, name in (('p99', 'p99'), ('p50', 'p50'), ('cpu', 'server CPU')):
        s = spread(agg, metric)
        if s:
            parts.append(f'{name} {s[0]:.2f}x (up to {s[1]:.1f}x)')
    rounds = []
    for metric, name in (('p99', 'p99'), ('cpu', 'server CPU'), ('by_cpu', 'bystander CPU')):
        r = round_spread(agg, metric)
        if r:
            rounds.append(f'{name} {r:.2f}x')
    if not parts and not rounds:
        return ''
    out = []
    if parts:
        out.append('How far apart the same cell lies on the two kernels (median of the larger '
                   'over the smaller, over every cell measured on both): ' + ', '.join(parts)
                   + '.  The kernels differ only in the Rust or C epoll code, so this is mostly '
                   'the run\'s noise.')
    if rounds:
        out.append('Between the rounds of the same cell on one kernel (median of the larger over '
                   'the smaller): ' + ', '.join(rounds) + '.')
    out.append('The noise factor f of a case\'s metric is the larger of the two: '
               + ', '.join(f'{m} {noise(agg, m):.2f}' for m in NOISY) + '.')
    return '  '.join(out)


# --- text --------------------------------------------------------------------

def ms(us):
    return '-' if us is None else f'{us / 1000:.1f}'


def ratio(a, b):
    return f'{a / b:.2f}x' if b else 'n/a'


def fmt(x, kind):
    if x is None:
        return '-'
    if kind == 'ms':
        return ms(x)
    if kind == 'lag':
        return ms(x)
    if kind == 'pct':
        return f'{x:.0f}'
    if kind == 'pct1':
        return f'{x:.1f}'
    if kind == 'rate':
        return f'{x:,.0f}'
    if kind == 'per':
        return f'{x:.3f}' if x < 10 else f'{x:.1f}'
    return str(x)


# The table's columns: (header, metric, kind).
COLUMNS = [
    ('achieved req/s', 'achieved', 'rate'),
    ('p50 ms', 'p50', 'ms'),
    ('p99 ms', 'p99', 'ms'),
    ('p99.9 ms', 'p999', 'ms'),
    ('send lag p99 ms', 'send_lag_p99', 'lag'),
    ('server CPU %', 'cpu', 'pct'),
    ('bystander CPU %', 'by_cpu', 'pct1'),
    ('rx irq/req', 'irq_rx', 'per'),
    ('NET_RX/req', 'softirq', 'per'),
    ('busy loops/req', 'loops', 'per'),
    ('suspensions/req', 'suspensions', 'per'),
    ('bystander busy loops/req', 'by_loops', 'per'),
]


def table(agg, server, path, load, variants):
    """A markdown table: rows the modes, each value "rust / c"."""
    lines = ['| mode | ' + ' | '.join(h for h, _, _ in COLUMNS) + ' |',
             '|---|' + '---:|' * len(COLUMNS)]
    any_row = False
    for mode in MODES:
        ms_ = [agg.get((va, server, path, load, mode)) for va in variants]
        if not any(ms_):
            continue
        any_row = True
        cells = []
        for _, metric, kind in COLUMNS:
            if metric == 'irq_rx' and path == 'nsim':
                cells.append('n/a')
                continue
            cells.append(' / '.join((fmt(m[metric], kind) + (' !' if kind == 'lag' and m['lagged']
                                                              else '')) if m else '-'
                                    for m in ms_))
        lines.append(f'| {mode} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) if any_row else ''


def offered_text(agg, server, path, load, variants):
    rates = sorted({agg[(va, server, path, load, mo)]['offered'] for va in variants
                    for mo in MODES if (va, server, path, load, mo) in agg})
    return ' and '.join(f'{r:,}' for r in rates) + ' req/s'


def shape_line(agg, server, path, load):
    row = same_shape(agg, server, path, load)
    judged = [row[m] for m, _ in H4_JUDGED if row[m] is not None]
    if not judged:
        return ''
    same = all(r >= rule('H4')['rho'] for r in judged)
    f = lambda x: 'n/a' if x is None else f'{x:.2f}'
    return (f'Same shape? {"yes" if same else "no"}: the modes ranked on both kernels by '
            + ', '.join(f'{name} (rho {f(row[m])})' for m, name in H4_JUDGED)
            + f' (judged: at least {rule("H4")["rho"]:g}); by '
            + ', '.join(f'{name} (rho {f(row[m])})' for m, name in H4_SHOWN) + ' (shown).')


CASE_WORD = {True: 'yes', False: 'no', None: 'not resolved'}


def earlier_text(earlier, indent):
    """Markdown lines for rules changed after results: each earlier rule
    with the run it judged and the verdict it gave there."""
    if not earlier:
        return []
    out = [f'{indent}- Re-ruled after results; the earlier rules, each with its verdict:']
    for e in earlier:
        out.append(f'{indent}  - {e["in_force"]}: {e["rule"]}.  On {e["run"]}: '
                   f'**{e["verdict"]}**.  Changed: {e["why"]}.')
    return out


def report(boots, agg, verdicts, plots):
    variants = [v for v in VARIANTS if any(b.variant == v for b in boots)]
    rounds = max((b.round for b in boots), default=0)
    n_cells = sum(len(b.cells) for b in boots)
    out = ['# Servers under load: memcached and redis-server per busy-poll mode', '',
           f'Made by `make bench-servers` (scripts/ebp/bench-servers.sh, servers-guest.sh, '
           f'servers_report.py) on {datetime.date.today().isoformat()}: {len(boots)} boots '
           f'({", ".join(variants)}; {rounds} round{"s" if rounds != 1 else ""}), {n_cells} cells. '
           'Unmodified Debian memcached (`-t 2`) and redis-server in a virtme-ng guest '
           '(2 CPUs, TCG: no KVM here), the server and its bystander on CPU 1, the load '
           'generator (epoll-bp-load, open loop, 4 connections, 90% gets) on CPU 0; each mode '
           'is switched live on the running server with epoll-bp, no restart.', '']
    for b in boots:
        out.append(f'- {b.variant} round {b.round}: kernel {b.info.get("kernel", "?")}; '
                   f'{len(b.cells)} cells in {b.info.get("secs", "?")} s of guest time; '
                   f'{b.info.get("settings", "")}'
                   + ''.join(f'; host {h}' for h in b.info['host']))
    out += ['', '## Modes', '',
            '| mode | what is set (sysctl: net.core.busy_poll and busy_read; usecs/budget/prefer: '
            'every server epoll fd; defer, gro, suspend: the server port\'s NAPI) |', '|---|---|']
    modes = {}
    for b in boots:
        modes.update(b.info['modes'])
    for mode in MODES:
        if mode in modes:
            out.append(f'| {mode} | {modes[mode]} |')
    out += ['', 'prefer-defer is suspend without irq-suspend-timeout, so H2 isolates the '
            'suspension; busy is prefer-defer with a 100 ms busy loop, which spins between '
            'requests.  epoll-both: the load generator does not set params itself, so epoll-bp '
            'sets them on its epoll fd too (usecs 50, budget 64) during its warmup: both ends '
            'busy poll.  The sysctl is global: under it the load generator and the bystander '
            'busy poll as well, which is its point.', '']
    out += ['## Loads', '', 'Per server and path, a short ramp in mode none (1.3 s steps doubling '
            'from 500 req/s, then one step between; a failing step gets a second try) finds the '
            'highest rate with achieved >= 95% of offered, no missing replies or errors and a p50 '
            'at most 5x the lowest of the ramp so far or under 50 ms; light, medium and high are '
            '10%, 40% and 80% of it, on every path (the loads a run had are the tables below).  '
            'The first boot '
            'ramps; later boots get its capacities, so both kernels see the same offered rates. '
            'Under TCG on a shared host the ramp is itself noisy: the capacities move by 2x or more '
            'between runs, and a high load can lie past what a later cell sustains (achieved below '
            'offered in the tables).', '']
    for b in boots:
        for (server, path), cap in sorted(b.info['capacity'].items()):
            out.append(f'- {b.variant} round {b.round}: {server} over {path}: capacity {cap:,} req/s')
    out += ['', '## Hypotheses', '',
            'From the published IRQ-suspension results (Linux 6.13), each judged by the rule given '
            '(all of them in scripts/ebp/servers_hypotheses.toml, fixed before the run).  '
            + rule_text('common') + '.', '']
    out += earlier_text(RULES['common'].get('earlier', []), '') + ['']
    noise = noise_text(agg)
    if noise:
        out += [noise, '']
    for v in verdicts:
        out.append(f'- **{v.id}: {v.verdict}.** {v.statement}  Rule (since '
                   f'{RULES[v.id]["since"]}): {v.rule}.')
        for label, ok, text in v.cases:
            out.append(f'  - {CASE_WORD[ok]}: {label}: {text}')
        for n in v.notes:
            out.append(f'  - {n}')
        out += earlier_text(v.earlier, '  ')
    out += ['', '## What TCG and the devices allow', '',
            '- TCG on a shared 2-CPU host: the guest\'s two vCPUs, QEMU\'s I/O thread and the '
            'host\'s other work share two CPUs, so latency has a floor of milliseconds and its '
            'tail jumps by tens of them at any rate; one round per kernel has no measure of its '
            'own noise (BENCH_SERVERS_ROUNDS=3 gives medians).  Busy polling spins in guest '
            'time, which the host may preempt.  Compare modes within a table, not absolute numbers.',
            '- virtio-net is the path with a real interrupt (the server port\'s input.0 vector, '
            'pinned to CPU 1) that deferral and suspension can hold off; rx irq/req counts it.',
            f'- nsim: {NSIM_WHY}.  NET_RX/req is the softirqs on all CPUs (there they run on the '
            'sender\'s CPU).',
            '- CPU: the threads\' se.sum_exec_runtime (/proc/PID/task/*/sched) over the window, '
            'in % of one CPU (it counts time the host took from a vCPU as run: TCG has no steal '
            'time).  The window runs from 0.1 s after the generator\'s warmup to 0.3 s before its '
            'end, counted from when the server had all its connections established (a launch '
            'takes up to a second or more under TCG on a busy host); a cell whose window saw under '
            'a third of the TCP segments per request of its table\'s median cell missed the load '
            'and is left out (named under Problems).  Per-request counts divide by achieved rate '
            'x window.',
            '- busy loops/req and suspensions/req: the server\'s epoll fdinfo counters '
            '(busy_poll_loops; busy_poll_irq_suspensions counts the epoll_wait() calls that asked '
            'for a suspension, which does something only with irq-suspend-timeout set); '
            'bystander busy loops/req: its epoll fds\' busy_poll_loops per request of its trickle.',
            '- memcached has one epoll instance per worker thread and one for its listener, all '
            'given the same params and all on the one NAPI of the port; mainline recommends one '
            'busy-polling context per NAPI for suspension, so memcached\'s numbers under '
            'prefer-defer, suspend and busy include that contention.  redis has one.', '']
    for server in ('memcached', 'redis'):
        for path in ('virtio', 'nsim'):
            loads = [lo for lo in LOADS if any(k[1:4] == (server, path, lo) for k in agg)]
            if not loads:
                continue
            out += [f'## {server} over {path}', '']
            for name in ('p99', 'cpu', 'irq'):
                f = plots.get((server, path, name))
                if f:
                    out.append(f'![{server} {path} {name}]({f})')
            out.append('')
            for load in loads:
                out += [f'### {load}: {offered_text(agg, server, path, load, variants)} offered',
                        '', f'Each value: {" / ".join(variants)}.  Send lag marked !: above '
                        f'{lag_fraction():.0%} of the p50, left out of the verdicts.', '',
                        table(agg, server, path, load, variants), '']
                s = shape_line(agg, server, path, load)
                if s:
                    out += [s, '']
    problems = [p for b in boots for p in b.problems]
    if problems:
        out += ['## Problems', ''] + [f'- {p}' for p in problems] + ['']
    out += ['Every number: data.json (per cell, derived) and raw/ (what the guests printed).', '']
    return '\n'.join(out)


# --- plots -------------------------------------------------------------------

def plot_all(agg, out):
    """One SVG per server, path and metric; {(server, path, metric): file}."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        print('note: no matplotlib (apt-get install python3-matplotlib, make deps): no plots',
              file=sys.stderr)
        return {}
    files = {}
    colors = {m: plt.get_cmap('tab10')(i) for i, m in enumerate(MODES)}
    styles = {'rust': '-', 'c': '--'}
    for server, path in sorted({k[1:3] for k in agg}):
        for metric, ylabel, log in (('p99', 'p99 latency (ms, log)', True),
                                    ('cpu', 'server CPU (% of one CPU)', False)):
            fig, ax = plt.subplots(figsize=(7, 4.5))
            drawn, rates = False, set()
            for mode in MODES:
                for va in VARIANTS:
                    pts = sorted((m['offered'], m[metric]) for k, m in agg.items()
                                 if k[:3] == (va, server, path) and k[4] == mode
                                 and k[3] != 'smoke' and m[metric] is not None)
                    if not pts:
                        continue
                    drawn = True
                    rates.update(x for x, _ in pts)
                    ys = [y / 1000 if metric == 'p99' else y for _, y in pts]
                    ax.plot([x for x, _ in pts], ys, styles.get(va, ':'), marker='o', ms=3,
                            color=colors[mode], label=f'{mode} ({va})')
            if not drawn:
                plt.close(fig)
                continue
            ax.set_xscale('log')
            if log:
                ax.set_yscale('log')
            plain = matplotlib.ticker.FuncFormatter(lambda x, _: f'{x:,.0f}' if x >= 10 else f'{x:g}')
            ax.set_xticks(sorted(rates))
            if log:
                ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 2, 5)))
            for axis in (ax.xaxis, ax.yaxis):
                axis.set_major_formatter(plain)
                axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_xlabel('offered load (req/s, log)')
            ax.set_ylabel(ylabel)
            ax.set_title(f'{server} over {path}: {ylabel.split(" (")[0]} per mode '
                         '(solid Rust, dashed C)', fontsize=10)
            ax.grid(True, which='both', alpha=0.3)
            ax.legend(fontsize=6, ncol=2)
            fig.tight_layout()
            name = f'{server}-{path}-{metric}.svg'
            fig.savefig(os.path.join(out, name))
            plt.close(fig)
            files[(server, path, metric)] = name
        # Interrupts per request (virtio), NET_RX softirqs per request (nsim).
        metric = 'irq_rx' if path == 'virtio' else 'softirq'
        what = ('server port rx interrupts per request' if path == 'virtio'
                else 'NET_RX softirqs per request (netdevsim: no device interrupt)')
        loads = [lo for lo in LOADS if lo != 'smoke'
                 and any(k[1:4] == (server, path, lo) for k in agg)]
        if not loads:
            continue
        fig, ax = plt.subplots(figsize=(8, 4.5))
        width = 0.8 / (len(loads) * len(VARIANTS))
        for j, lo in enumerate(loads):
            for vi, va in enumerate(VARIANTS):
                xs, ys = [], []
                for i, mode in enumerate(MODES):
                    m = agg.get((va, server, path, lo, mode))
                    if m and m[metric] is not None:
                        xs.append(i + (j * len(VARIANTS) + vi) * width - 0.4 + width / 2)
                        ys.append(m[metric])
                if xs:
                    ax.bar(xs, ys, width, label=f'{lo} ({va})', alpha=1.0 if va == 'rust' else 0.55,
                           color=plt.get_cmap('tab10')(j), hatch='' if va == 'rust' else '//')
        ax.set_xticks(range(len(MODES)))
        ax.set_xticklabels(MODES, fontsize=8)
        ax.set_ylabel(what.split(' (')[0])
        ax.set_title(f'{server} over {path}: {what}', fontsize=10)
        ax.grid(True, axis='y', alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        name = f'{server}-{path}-irq.svg'
        fig.savefig(os.path.join(out, name))
        plt.close(fig)
        files[(server, path, 'irq')] = name
    return files


# --- the smoke check ---------------------------------------------------------

def check(boots):
    """[(ok, line)]: per boot, server, path and mode, whether the server
    answered (replies, no errors or missing ones), the settings read back
    as the mode sets them, and the busy-poll counters moved as they should
    (none: no busy loop; every other mode: some; suspend: suspensions; the
    bystander: busy loops under the sysctl only)."""
    results = []
    for boot in boots:
        if not boot.done:
            results.append((False, f'[{boot.variant}] servers: the guest did not finish: '
                                   + '; '.join(boot.failures or ['no EBP-SERVERS-DONE line'])))
        for f in boot.failures:
            results.append((False, f'[{boot.variant}] servers: guest failure: {f}'))
        for cell in boot.cells:
            label = f'[{boot.variant}] servers: {cell["server"]} {cell["path"]} {cell["mode"]}'
            results.append(check_cell(cell, label))
    return results


def check_cell(cell, label):
    why = []
    gen = cell.get('gen')
    m = derive(cell)
    if not gen:
        return False, f'{label}: no result from the load generator'
    if not gen.get('completed'):
        why.append('no replies')
    if gen.get('errors'):
        why.append(f'{gen["errors"]} error replies')
    if gen.get('missing'):
        why.append(f'{gen["missing"]} missing replies')
    want = EXPECTED.get(cell['mode'])
    if want:
        sysctl, napi, params, client = want
        if cell.get('sysctl') != sysctl:
            why.append(f'sysctl {cell.get("sysctl")}, not {sysctl}')
        if cell.get('napi') != napi:
            why.append(f'napi {cell.get("napi")}, not {napi}')
        bad = {fd: p for fd, p in (cell.get('params') or {}).items() if p != params}
        if not cell.get('params'):
            why.append('no epoll fd of the server read back')
        elif bad:
            why.append(f'params {bad}, not {params}')
        if client and cell.get('client_params') != client:
            why.append(f'load generator params {cell.get("client_params")}, not {client}')
    loops, susp = m['loops_delta'], m['suspensions_delta']
    if loops is not None:
        if cell['mode'] == 'none' and loops:
            why.append(f'{loops} busy loops without busy polling')
        if cell['mode'] != 'none' and not loops:
            why.append('no busy loop counted')
        if cell['mode'] == 'suspend' and not susp:
            why.append('no suspension counted')
    by = m['by_loops_delta']
    if by is not None:
        if cell['mode'] == 'sysctl' and not by:
            why.append('the bystander did not busy poll under the sysctl')
        if cell['mode'] != 'sysctl' and by:
            why.append(f'{by} busy loops of the bystander, which has no params')
    counters = ('no busy-poll counters in fdinfo' if loops is None
                else f'{loops} busy loops, {susp} suspensions')
    if by is not None:
        counters += f'; bystander {by} busy loops'
    params = ' '.join(sorted(set((cell.get('params') or {}).values())))
    client = f', load generator {cell["client_params"]}' if cell.get('client_params') else ''
    text = (f'{gen.get("completed")} replies at {cell.get("offered")} req/s, '
            f'p99 {ms(gen.get("latency_p99_us"))} ms; sysctl {cell.get("sysctl")}, '
            f'napi {cell.get("napi")}, params {params}{client}; {counters}')
    if why:
        return False, f'{label}: {"; ".join(why)} ({text})'
    return True, f'{label}: {text}'


# --- main --------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--raw', required=True, help='directory of VARIANT-ROUND.txt files')
    ap.add_argument('--out', help='where README.md, the plots and data.json go')
    ap.add_argument('--check', action='store_true', help='judge a smoke run instead')
    ap.add_argument('--counts', help='with --check: write "PASSED FAILED 0" here')
    ap.add_argument('--hypotheses', default=HYPOTHESES,
                    help='the hypotheses and their rules (default: %(default)s)')
    args = ap.parse_args()
    use_rules(args.hypotheses)
    boots = load_raw(args.raw)
    if not boots:
        print(f'error: no VARIANT-ROUND.txt in {args.raw}: run make bench-servers', file=sys.stderr)
        return 1
    if args.check:
        results = check(boots)
        for ok, line in results:
            print(f'{"PASS" if ok else "FAIL"} {line}')
        bad = sum(1 for ok, _ in results if not ok)
        if args.counts:
            with open(args.counts, 'w') as f:
                f.write(f'{len(results) - bad} {bad} 0\n')
        return 1 if bad or not results else 0
    if not args.out:
        ap.error('--out is needed unless --check')
    os.makedirs(args.out, exist_ok=True)
    agg = aggregate(boots)
    verdicts = judge_all(agg)
    plots = plot_all(agg, args.out)
    with open(os.path.join(args.out, 'README.md'), 'w') as f:
        f.write(report(boots, agg, verdicts, plots))
    data = {
        'boots': [{'variant': b.variant, 'round': b.round, 'kernel': b.info.get('kernel'),
                   'settings': b.info.get('settings'), 'host': b.info['host'],
                   'capacity': {f'{s} {p}': c for (s, p), c in b.info['capacity'].items()},
                   'failures': b.failures, 'done': b.done,
                   'cells': [dict(derive(c), server=c['server'], path=c['path'], mode=c['mode'],
                                  load=c['load']) for c in b.cells if c.get('gen')]}
                  for b in boots],
        'verdicts': [{'id': v.id, 'verdict': v.verdict, 'rule': v.rule, 'earlier': v.earlier,
                      'cases': [{'case': la, 'ok': ok, 'text': t} for la, ok, t in v.cases],
                      'notes': v.notes} for v in verdicts],
    }
    with open(os.path.join(args.out, 'data.json'), 'w') as f:
        json.dump(data, f, indent=1)
    for v in verdicts:
        print(f'    {v.id}: {v.verdict}', file=sys.stderr)
    print(f'    report: {os.path.join(args.out, "README.md")}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
