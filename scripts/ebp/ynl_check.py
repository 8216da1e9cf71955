#!/usr/bin/env python3
"""Drive the tree's ynl CLI against the running kernel, as a user would.

Runs inside a guest (vng-guest.sh, as root on the host's root filesystem):
makes a netdevsim device with two queues, then uses
tools/net/ynl/cli.py with Documentation/netlink/specs/netdev.yaml, both
from the patched tree, to dump the device's NAPI instances, napi-set one
of them and read it back, and to be refused without CAP_NET_ADMIN.  The
CLI knows the family only from the spec, so this checks that the kernel's
numbering is the spec's.  Prints KTAP for vng_results.py.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

NSIM_ID = 4711
RESULTS = []


def check(name, ok, why=''):
    """One KTAP result."""
    RESULTS.append((name, bool(ok), why))


def ynl(tree, *args, uid=None):
    """cli.py with the tree's netdev spec; (exit status, stdout, stderr)."""
    cmd = [sys.executable, str(tree / 'tools/net/ynl/cli.py'), '--no-schema',
           '--spec', str(tree / 'Documentation/netlink/specs/netdev.yaml'),
           '--output-json', *args]
    if uid is not None:
        # setpriv drops every capability with the uid change.
        cmd = ['setpriv', f'--reuid={uid}', f'--regid={uid}', '--clear-groups',
               '--inh-caps=-all', '--bounding-set=-all', *cmd]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    return p.returncode, p.stdout, p.stderr


def make_device():
    """A netdevsim device with 2 queues, up: its port's name and ifindex."""
    Path('/sys/bus/netdevsim/new_device').write_text(f'{NSIM_ID} 1 2\n')
    net = Path(f'/sys/bus/netdevsim/devices/netdevsim{NSIM_ID}/net')
    for _ in range(50):
        ports = sorted(net.glob('*')) if net.exists() else []
        if ports:
            break
        time.sleep(0.1)
    ifindex = int((ports[0] / 'ifindex').read_text())
    # udev may rename the port meanwhile: go by its ifindex, retry.
    for _ in range(50):
        name = socket.if_indextoname(ifindex)
        if subprocess.run(['ip', 'link', 'set', 'dev', name, 'up'],
                          capture_output=True, check=False).returncode == 0:
            return name, ifindex
        time.sleep(0.1)
    raise OSError(f'could not bring up the netdevsim port (ifindex {ifindex})')


def run(tree):
    """The checks, in the order a user would go."""
    name, ifindex = make_device()
    rc, out, err = ynl(tree, '--dump', 'napi-get', '--json', json.dumps({'ifindex': ifindex}))
    napis = json.loads(out) if rc == 0 else []
    check('napi-get dump by ifindex lists the 2 NAPIs of the device',
          len(napis) == 2 and all(n.get('ifindex') == ifindex for n in napis),
          f'rc {rc}: {out.strip() or err.strip()}')
    check('napi-get reports defer-hard-irqs, gro-flush-timeout, irq-suspend-timeout',
          napis and all({'defer-hard-irqs', 'gro-flush-timeout',
                         'irq-suspend-timeout'} <= set(n) for n in napis), str(napis))
    if len(napis) != 2:
        return
    target, other = napis[0]['id'], napis[1]['id']
    want = {'defer-hard-irqs': 3, 'gro-flush-timeout': 50000,
            'irq-suspend-timeout': 20000000}
    rc, out, err = ynl(tree, '--do', 'napi-set', '--json', json.dumps({'id': target, **want}))
    check('napi-set of one NAPI succeeds', rc == 0, f'rc {rc}: {err.strip()}')
    rc, out, err = ynl(tree, '--do', 'napi-get', '--json', json.dumps({'id': target}))
    got = json.loads(out) if rc == 0 else {}
    check('napi-get of that NAPI shows the values set',
          all(got.get(k) == v for k, v in want.items()), f'rc {rc}: {got or err.strip()}')
    rc, out, err = ynl(tree, '--do', 'napi-get', '--json', json.dumps({'id': other}))
    got = json.loads(out) if rc == 0 else {}
    check('the other NAPI of the device keeps its values',
          rc == 0 and got.get('irq-suspend-timeout') == 0 and got.get('defer-hard-irqs') == 0,
          f'rc {rc}: {got or err.strip()}')
    rc, out, err = ynl(tree, '--do', 'napi-set', '--json',
                       json.dumps({'id': target, 'irq-suspend-timeout': 1}), uid=65534)
    check('napi-set as uid 65534 without capabilities is refused with EPERM',
          rc != 0 and 'Operation not permitted' in out + err, f'rc {rc}: {(out + err).strip()}')
    rc, out, err = ynl(tree, '--do', 'napi-get', '--json', json.dumps({'id': target}))
    got = json.loads(out) if rc == 0 else {}
    check('the refused napi-set changed nothing',
          got.get('irq-suspend-timeout') == want['irq-suspend-timeout'],
          f'rc {rc}: {got or err.strip()}')
    Path('/sys/bus/netdevsim/del_device').write_text(f'{NSIM_ID}\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--tree', required=True, type=Path, help='the patched kernel tree')
    args = ap.parse_args()
    try:
        run(args.tree)
    except (OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
        check('the ynl CLI run completed', False, f'{type(e).__name__}: {e}')
    print('KTAP version 1')
    print(f'1..{len(RESULTS)}')
    for i, (name, ok, why) in enumerate(RESULTS, 1):
        if not ok:
            print(f'# {name}: {why}')
        print(f'{"ok" if ok else "not ok"} {i} {name}')
    return 0 if RESULTS and all(ok for _, ok, _ in RESULTS) else 1


if __name__ == '__main__':
    os.environ.setdefault('PYTHONDONTWRITEBYTECODE', '1')
    sys.exit(main())
