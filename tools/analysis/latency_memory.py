"""Latency and peak memory of VisionGRU against DeiT-S and Swin-T (or of UperNets) on the CPU
against input size, with their scaling exponents and plots.

    .venv/bin/python -m tools.analysis.latency_memory [--models M ...] [--sizes S ...]
        [--modes eval train] [--batch B] [--repeats N] [--mem-cap-gib G] [--threads T] [--out DIR]

``eval`` is the forward under ``no_grad``, ``train`` forward + backward (``timing.run``).  Each
size is timed in a fresh process: every model is built and run once on a 64 px input (what first
calls load), then every (model, mode) runs in turn, round by round after a warm-up round, so the
models share the machine's noise; one whose warm-up took over ``--long-seconds`` runs once.

Peak memory is measured, not estimated, in a second fresh process with glibc's mmap threshold
fixed (a freed tensor leaves the RSS at once, whatever ran before): before each run the peak
resident set (``VmHWM``) is reset to the RSS through ``/proc/self/clear_refs``; the run's peak
is ``VmHWM`` minus that RSS.  Runs are under ``RLIMIT_AS`` = the address space after the builds
+ ``--mem-cap-gib``: a run needing more fails (``n/f (memory)``); a process that dies is ``n/f
(crash)``.  Sizes run small first; what did not fit is not started at larger sizes.
"""
import argparse
import ctypes
import multiprocessing
import os.path as osp
import resource
import statistics
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

from .models import NAMES, build
from .report import loglog, markdown, save
from .timing import environment, run, seconds

MODELS = ['visiongru-ti', 'deit-s', 'swin-t']
SIZES = [256, 512, 1024, 2048]
MODES = ['eval', 'train']


def _row(model, mode, size, batch, **values) -> dict:
    return dict(dict(model=model, mode=mode, size=size, pixels=size * size, batch=batch, n=0,
                     median_s=None, peak_mib=None, status='ok', note=''), **values)


def _kib(key: str) -> int:
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ':'))


def measure(size: int, entries: list, args, memory=False) -> list:
    """Rows (status, runs ``n``, ``median_s``, ``peak_mib``) of the (model, mode) ``entries``
    at ``size``, run in turn: a warm-up round and the timed rounds or, for ``memory``, one round
    with glibc's mmap threshold fixed first (so a freed tensor leaves the RSS at once)."""
    torch.set_num_threads(args.threads)
    libc = ctypes.CDLL('libc.so.6')
    if memory:
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
    torch.manual_seed(0)
    models = {name: build(name, size) for name in dict.fromkeys(n for n, _ in entries)}
    for name, mode in entries:  # loads what first calls load
        models[name].train(mode == 'train')
        run(models[name], torch.randn(args.batch, 3, 64, 64), mode)
    x = torch.randn(args.batch, 3, size, size)
    libc.malloc_trim(0)
    limits = resource.getrlimit(resource.RLIMIT_AS)
    cap = _kib('VmSize') * 1024 + int(args.mem_cap_gib * 2**30)
    rows = {e: _row(*e, size, args.batch, times=[]) for e in entries}
    try:
        resource.setrlimit(resource.RLIMIT_AS, (cap, limits[1]))
        for round_ in range(1 if memory else args.repeats + 1):  # round 0 warms up
            for (name, mode), row in rows.items():
                if row['status'] != 'ok' or round_ and row['times'][0] > args.long_seconds:
                    continue
                model = models[name]
                model.train(mode == 'train')
                libc.malloc_trim(0)
                with open('/proc/self/clear_refs', 'w') as f:
                    f.write('5')  # VmHWM := VmRSS
                base = _kib('VmRSS')
                try:
                    row['times'].append(seconds(lambda: run(model, x, mode)))
                except (RuntimeError, MemoryError) as err:
                    msg = (str(err).strip().splitlines() or [repr(err)])[-1]
                    if not isinstance(err, MemoryError) and 'alloc' not in msg:
                        raise
                    model.zero_grad(set_to_none=True)
                    row.update(status='memory', note=msg[:120])
                    continue
                row['peak_mib'] = (_kib('VmHWM') - base) / 1024
    finally:
        resource.setrlimit(resource.RLIMIT_AS, limits)
    for row in rows.values():
        times = row.pop('times')
        times = times[1:] or times  # a single (long) run counts, warm-up included
        if row['status'] == 'ok':
            row.update(n=len(times), median_s=statistics.median(times))
    return list(rows.values())


def measure_apart(size: int, entries: list, args) -> list:
    """:func:`measure` of the times, then of the memory, each in a fresh process: the allocator
    and the address-space cap start clean, and a crash costs this size only."""
    timed, peaks = [], []
    for memory, out in ((False, timed), (True, peaks)):
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('spawn')) as pool:
            try:
                out += pool.submit(measure, size, entries, args, memory).result()
            except Exception as err:  # the process died, or its setup failed
                out += [_row(*e, size, args.batch, status='crash', note=str(err)[:120])
                        for e in entries]
    return [t if t['status'] != 'ok' else dict(p, n=t['n'], median_s=t['median_s'])
            for t, p in zip(timed, peaks)]


def _points(rows, model, mode, key, min_size=0):
    return [(r['pixels'], r[key]) for r in rows if (r['model'], r['mode']) == (model, mode)
            and r['status'] == 'ok' and r['size'] >= min_size and r[key] > 0]


def exponent(rows, model, mode, key, min_size=0):
    """Least-squares slope of log(``key``) against log(pixels)."""
    pts = _points(rows, model, mode, key, min_size)
    return float(np.polyfit(*np.log(np.array(pts)).T, 1)[0]) if len(pts) > 1 else None


def sweep(args) -> list:
    """Every model and mode of ``args`` at each size, small first; what did not fit at one size
    is not started at the next."""
    rows = []
    for size in sorted(args.sizes):
        failed = {(r['model'], r['mode']) for r in rows if r['status'] != 'ok'}
        entries = [(m, mode) for m in args.models for mode in args.modes]
        rows += [_row(*e, size, args.batch, status='skipped', note='a smaller size did not fit')
                 for e in entries if e in failed]
        rows += measure_apart(size, [e for e in entries if e not in failed], args)
        for r in (r for r in rows if r['size'] == size):
            print(f'{size:5d} {r["model"]:13s} {r["mode"]:5s} {r["status"]:8s} n={r["n"]} '
                  f'{r["median_s"] or 0:.3f} s {r["peak_mib"] or 0:.0f} MiB {r["note"]}',
                  flush=True)
    return rows


def tables(rows, models) -> str:
    """Per mode: seconds (runs) and MiB per size, ratios to the first model; then exponents."""
    at = {(r['model'], r['mode'], r['size']): r for r in rows}
    ok = {k: r for k, r in at.items() if r['status'] == 'ok'}
    modes = list(dict.fromkeys(r['mode'] for r in rows))

    def cell(k, fmt):
        return fmt.format(**ok[k]) if k in ok else f'n/f ({at[k]["status"]})' if k in at else ''

    out = []
    for mode in modes:
        table = []
        for size in sorted({r['size'] for r in rows if r['mode'] == mode}):
            keys = [(m, mode, size) for m in models]
            table.append([size] + [cell(k, '{median_s:.2f} ({n})') for k in keys] + [
                cell(k, '{peak_mib:.0f}') for k in keys] + [
                f'{ok[k][v] / ok[keys[0]][v]:.2f}' if k in ok and ok.get(keys[0], {}).get(v)
                else ''
                for v in ('median_s', 'peak_mib') for k in keys[1:]])
        what = 'forward, no_grad' if mode == 'eval' else 'forward + backward'
        out += [f'\n**{mode}** ({what}, batch {rows[0]["batch"]}): median seconds (runs), peak '
                f'MiB above the built models; ratios = model / {models[0]}\n', markdown(
                    ['size'] + [f'{m} s' for m in models] + [f'{m} MiB' for m in models]
                    + [f'{m} {v} x' for v in ('time', 'mem') for m in models[1:]], table, 0)]
    fits = []
    for mode in modes:
        for m in models:
            bad = [r for r in rows if (r['model'], r['mode']) == (m, mode) and r['status'] != 'ok']
            fits.append([m, mode] + [
                '' if e is None else f'{e:.2f}' for v in ('median_s', 'peak_mib')
                for e in (exponent(rows, m, mode, v, lo) for lo in (0, 512))] + [
                max((k[2] for k in ok if k[:2] == (m, mode)), default='-'),
                f'{bad[0]["size"]}: {bad[0]["status"]} {bad[0]["note"]}'.strip() if bad else ''])
    out += ['\nScaling exponents (log-log least squares against pixels; "all" = every size '
            'that ran, ">=512" = sizes 512 and up):\n', markdown(
                ['model', 'mode', 'time exp. all', 'time exp. >=512', 'memory exp. all',
                 'memory exp. >=512', 'largest size run whole', 'first that did not'], fits, 2)]
    return '\n'.join(out)


def plot(rows, key, ylabel, path) -> None:
    """Log-log ``key`` against pixels, one colour per model, solid eval, dashed train."""
    series = {}
    for i, model in enumerate(dict.fromkeys(r['model'] for r in rows)):
        for mode, fmt in (('eval', 'o-'), ('train', 's--')):
            pts = _points(rows, model, mode, key)
            if pts:
                series[f'{model} {mode}'] = (*zip(*pts), f'C{i}{fmt}')
    p = np.array([min(r['pixels'] for r in rows), max(r['pixels'] for r in rows)])
    ymin = min((r[key] for r in rows if r['status'] == 'ok' and r[key]), default=1.)
    series['slope 1 (linear)'] = (p, ymin * p / p[0], 'k:')
    loglog(series, f'pixels (square input, batch {rows[0]["batch"]})', ylabel, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', default=MODELS, choices=NAMES, metavar='MODEL',
                        help=f'the first is the reference of the ratios (default: '
                        f'{" ".join(MODELS)}; any of {", ".join(NAMES)})')
    parser.add_argument('--sizes', nargs='+', type=int, default=SIZES, metavar='SIDE')
    parser.add_argument('--modes', nargs='+', default=MODES, choices=MODES)
    parser.add_argument('--batch', type=int, default=1, help='2 for UperNets (BN in training)')
    parser.add_argument('--long-seconds', type=float, default=15.,
                        help='a warm-up run longer than this is the only run')
    parser.add_argument('--repeats', type=int, default=3, help='timed runs after the warm-up')
    parser.add_argument('--mem-cap-gib', type=float, default=18., help='memory budget per run')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads (1: robust on a shared machine)')
    parser.add_argument('--out', default='work_dirs/latency_memory')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = sweep(args)
    text = f'{environment()}\n{tables(rows, args.models)}'
    print(text)
    save(osp.join(args.out, 'latency_memory.md'), text + '\n')
    plot(rows, 'median_s', 'seconds per run (median)',
         osp.join(args.out, 'latency_memory_time.png'))
    plot(rows, 'peak_mib', 'peak RSS above the built models (MiB)',
         osp.join(args.out, 'latency_memory_memory.png'))


if __name__ == '__main__':
    main()
