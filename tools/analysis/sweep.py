"""Latency and peak memory against input size: the size sweep of the CPU benchmark, its
scaling fit, tables and plots (``python -m tools.analysis.latency_memory``).

Sizes run small first.  A size whose time or memory, extrapolated from the last two sizes of
that model and mode (log-log, slope at least 1), exceeds the limits is not started
(``predicted ...``), nor is one above a size that did not fit.
"""
import math
import time

import numpy as np

from .cpu_worker import measure
from .report import write_table

def _points(rows, model, mode, key, min_size=0):
    return [(r['pixels'], r[key]) for r in rows if r['model'] == model and r['mode'] == mode
            and r['status'] == 'ok' and r['size'] >= min_size]


def predict(rows, model, mode, key, pixels):
    """Extrapolate ``key`` to ``pixels`` from the last two sizes that ran (slope >= 1)."""
    pts = _points(rows, model, mode, key)
    if len(pts) < 2:
        return None
    (p0, y0), (p1, y1) = pts[-2:]
    slope = max(1., math.log(y1 / y0) / math.log(p1 / p0)) if y0 > 0 and y1 > 0 else 1.
    return y1 * (pixels / p1)**slope


def exponent(rows, model, mode, key, min_size=0):
    """Least-squares slope of log(key) against log(pixels)."""
    pts = [(p, y) for p, y in _points(rows, model, mode, key, min_size) if y and y > 0]
    if len(pts) < 2:
        return None
    p, y = np.log(np.array(pts)).T
    return float(np.polyfit(p, y, 1)[0])


def _skip(rows, model, mode, size, max_seconds, mem_cap_gib):
    """Why (model, mode) is not started at ``size``: (status, note), or None."""
    done = [r for r in rows if r['model'] == model and r['mode'] == mode]
    t = predict(rows, model, mode, 'median_s', size * size)
    mem = predict(rows, model, mode, 'peak_mib', size * size)
    if any(r['status'] != 'ok' for r in done):
        return 'smaller size did not fit', ''
    if t is not None and t > max_seconds:
        return 'predicted time', f'~{t:.0f} s'
    if mem is not None and mem > mem_cap_gib * 1024:
        return 'predicted memory', f'~{mem / 1024:.1f} GiB'
    return None


def sweep(args) -> list:
    """All models, modes and sizes of ``args``, size by size, skipping what cannot fit."""
    rows = []
    sizes = {m: args.sizes + (args.extra_sizes if m.startswith('visiongru') else [])
             for m in args.models}
    for size in sorted(set(sum(sizes.values(), []))):
        entries = []
        for model in args.models:
            for mode in args.modes:
                if size not in sizes[model]:
                    continue
                skip = _skip(rows, model, mode, size, args.max_seconds, args.mem_cap_gib)
                if skip:
                    rows.append(dict(model=model, mode=mode, size=size, pixels=size * size,
                                     status=skip[0], n=0, median_s=None, min_s=None,
                                     peak_mib=None, baseline_mib=None, note=skip[1]))
                else:
                    entries.append((model, mode))
        start = time.perf_counter()
        rows += measure(size, entries, args.repeats, args.mem_cap_gib, args.max_seconds,
                        args.long_seconds, args.threads)
        for r in rows:
            if r['size'] == size:
                print(f'{size:5d} {r["model"]:13s} {r["mode"]:5s} {r["status"]:10s} n={r["n"]} '
                      f'{_fmt(r["median_s"], "{:.3f} s")} {_fmt(r["peak_mib"], "{:.0f} MiB")} '
                      f'{r["note"]}', flush=True)
        print(f'  size {size}: {time.perf_counter() - start:.0f} s', flush=True)
    return rows


def _fmt(value, fmt):
    return '' if value is None else fmt.format(value)


def _cell(row, key, fmt):
    if row is None:
        return ''
    if row['status'] != 'ok':
        return f'n/f ({row["status"]})'
    return fmt.format(row[key])


def _size_row(at, models, mode, size):
    """One size of a mode's table: each model's seconds (runs) and MiB, ratios to the first."""
    get = {m: at.get((m, mode, size)) for m in models}
    ref, out = get[models[0]], dict(size=size)
    for m in models:
        runs = f' ({get[m]["n"]})' if get[m] and get[m]['status'] == 'ok' else ''
        out[f'{m} s'] = _cell(get[m], 'median_s', '{:.2f}') + runs
        out[f'{m} MiB'] = _cell(get[m], 'peak_mib', '{:.0f}')
    for key, what in (('median_s', 'time'), ('peak_mib', 'mem')):
        for m in models[1:]:
            a = get[m]
            ok = a and ref and a['status'] == ref['status'] == 'ok' and ref[key] > 0
            out[f'{m} {what} x'] = f'{a[key] / ref[key]:.2f}' if ok else ''
    return out


def tables(rows, models) -> str:
    """Markdown: per mode, time and memory per size with ratios to the first model; then
    exponents and the largest size each model handled."""
    at = {(r['model'], r['mode'], r['size']): r for r in rows}
    modes = list(dict.fromkeys(r['mode'] for r in rows))
    columns = (['size'] + [f'{m} s' for m in models] + [f'{m} MiB' for m in models]
               + [f'{m} time x' for m in models[1:]] + [f'{m} mem x' for m in models[1:]])
    out = []
    for mode in modes:
        out.append(f'\n**{mode}** ({"forward, no_grad" if mode == "eval" else "forward + backward"}'
                   f', batch 1): median seconds (runs), peak MiB above the built model; '
                   f'ratios = model / {models[0]}\n')
        sizes = sorted({r['size'] for r in rows if r['mode'] == mode})
        out.append(write_table([_size_row(at, models, mode, s) for s in sizes],
                               [(c, c, '{:>}') for c in columns]))
    out.append('\nScaling exponents (log-log least squares of time / memory against pixels; '
               '"all" = every size that ran, ">=512" = sizes 512 and up):\n')
    fits = []
    for mode in modes:
        for m in models:
            own = [r for r in rows if r['model'] == m and r['mode'] == mode]
            ok = [r['size'] for r in own if r['status'] == 'ok']
            bad = [r for r in own if r['status'] != 'ok']
            fits.append(dict(
                model=m, mode=mode, largest=max(ok) if ok else '-',
                first=f'{bad[0]["size"]}: {bad[0]["status"]} {bad[0]["note"]}'.strip()
                if bad else '',
                **{f'{k} {lo}': exponent(rows, m, mode, k, lo)
                   for k in ('median_s', 'peak_mib') for lo in (0, 512)}))
    out.append(write_table(fits, [
        'model', 'mode', ('median_s 0', 'time exp. all', '{:.2f}'),
        ('median_s 512', 'time exp. >=512', '{:.2f}'), ('peak_mib 0', 'memory exp. all', '{:.2f}'),
        ('peak_mib 512', 'memory exp. >=512', '{:.2f}'),
        ('largest', 'largest size run whole', '{:>}'), ('first', 'first that did not')]))
    return '\n'.join(out)


def plot(rows, key, ylabel, path) -> None:
    """Log-log ``key`` against pixels, one colour per model, solid eval, dashed train."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for i, model in enumerate(dict.fromkeys(r['model'] for r in rows)):
        for mode, style in (('eval', 'o-'), ('train', 's--')):
            pts = _points(rows, model, mode, key)
            if pts:
                ax.plot(*zip(*pts), style, color=f'C{i}', ms=3, label=f'{model} {mode}')
    pixels = [r['pixels'] for r in rows]
    p = np.array([min(pixels), max(pixels)])
    ymin = min(r[key] for r in rows if r['status'] == 'ok' and r[key])
    ax.plot(p, ymin * p / p[0], 'k:', lw=1, label='slope 1 (linear)')
    ax.set(xscale='log', yscale='log', xlabel='pixels (square input, batch 1)', ylabel=ylabel)
    ax.grid(True, which='both', alpha=.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
