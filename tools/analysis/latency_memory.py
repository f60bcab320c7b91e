"""Latency and peak memory of VisionGRU-Ti, DeiT-S and Swin-T against input size (CPU, batch 1).

    .venv/bin/python tools/analysis/latency_memory.py [--models M ...] [--sizes S ...]
        [--modes eval train] [--repeats N] [--out DIR] [--throughput] [--profile]

Modes: ``eval`` is the forward in eval mode under ``no_grad``; ``train`` is forward + backward
(of the mean of the outputs) in train mode, gradients set to None after each run.

Each (model, size, mode) runs in a fresh worker process (this script with ``--worker``) that
builds the model with ``build`` of tools/analysis/complexity.py.  At one size all workers are
alive together and the parent asks them in turn to run once (round-robin per repeat; the first
round warms up), so the models share the machine's noise.  A worker whose warm-up run took over
``--long-seconds`` is not repeated: its one run is its time.

Peak memory is measured, not estimated: the worker's peak resident set size (``VmHWM`` of
/proc/self/status, reset to the current RSS through /proc/self/clear_refs after the build) minus
its RSS after the build, i.e. what the runs add on top of the built model and input, as the OS
sees it (tensors plus whatever the allocator keeps).

Does not fit: the worker runs under ``RLIMIT_AS`` = its address space after the build +
``--mem-cap-gib``, so a run needing more fails cleanly with an allocation error (``memory``); a
run longer than ``--max-seconds`` is killed (``time``); a size whose time or memory, extrapolated
from the last two sizes of that model and mode (log-log, slope at least 1), exceeds these limits
is not started (``predicted ...``), nor is one above a size that did not fit.

``--throughput``: training steps of UperNet + VisionGRU-Ti vs UperNet + Swin-T (512 crop,
batch 2, the segmentor's own ``loss`` on random ``SegDataSample`` labels, AdamW step).
``--profile``: torch.profiler (CPU) of that Ti step and of the Ti backbone forward at 1024.
"""
import argparse
import csv
import ctypes
import importlib.util
import json
import math
import os
import os.path as osp
import queue
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_spec = importlib.util.spec_from_file_location(
    'complexity', osp.join(ROOT, 'tools', 'analysis', 'complexity.py'))
complexity = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(complexity)

MODELS = ['visiongru-ti', 'deit-s', 'swin-t']
SIZES = [256, 384, 512, 768, 1024, 1536, 2048]
EXTRA_SIZES = [3072]  # VisionGRU only
MODES = ['eval', 'train']
BUILD_TIMEOUT = 600


# ----------------------------------------------------------------------------- worker side
def _status_kib(key: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    raise KeyError(key)


def _reply(**msg) -> None:
    print('@@' + json.dumps(msg), flush=True)


def run_once(model, x, mode: str) -> float:
    """Seconds for one forward (eval) or forward + backward (train)."""
    start = time.perf_counter()
    if mode == 'eval':
        with torch.no_grad():
            model(x)
    else:
        outs = model(x)
        outs = outs if isinstance(outs, (tuple, list)) else (outs, )
        sum(o.float().mean() for o in outs).backward()
    seconds = time.perf_counter() - start
    model.zero_grad(set_to_none=True)
    return seconds


def worker(spec: dict) -> None:
    """Build one model; run it once per 'run' line on stdin, replying seconds and peak MiB."""
    torch.set_num_threads(spec['threads'])
    torch.manual_seed(0)
    model = complexity.build(spec['model'], spec['size'])
    model.train(spec['mode'] == 'train')
    x = torch.randn(1, 3, spec['size'], spec['size'])
    libc = ctypes.CDLL('libc.so.6')
    libc.malloc_trim(0)
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # VmHWM := VmRSS
    base = _status_kib('VmRSS')
    cap = _status_kib('VmSize') * 1024 + int(spec['cap_gib'] * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    _reply(baseline_mib=base / 1024)
    for line in sys.stdin:
        if line.strip() != 'run':
            break
        try:
            seconds = run_once(model, x, spec['mode'])
        except (RuntimeError, MemoryError) as err:
            msg = str(err).strip().splitlines()[-1] if str(err).strip() else repr(err)
            if not isinstance(err, MemoryError) and 'alloc' not in msg and 'memory' not in msg:
                raise
            _reply(error='memory', msg=msg[:160])
            return
        libc.malloc_trim(0)
        _reply(seconds=seconds, peak_mib=(_status_kib('VmHWM') - base) / 1024)


# ----------------------------------------------------------------------------- parent side
class Worker:
    """A ``--worker`` subprocess for one (model, size, mode), talked to line by line."""

    def __init__(self, model, size, mode, cap_gib, threads):
        spec = dict(model=model, size=size, mode=mode, cap_gib=cap_gib, threads=threads)
        self.log = tempfile.TemporaryFile('w+')
        env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS=str(threads))
        self.proc = subprocess.Popen(
            [sys.executable, osp.abspath(__file__), '--worker', json.dumps(spec)], cwd=ROOT,
            env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith('@@'):
                self.lines.put(json.loads(line[2:]))
        self.lines.put(None)  # end of output

    def request(self, command, timeout: float) -> dict:
        """Send ``command`` (None: just wait for the next reply); error dict on timeout/exit."""
        if command:
            try:
                self.proc.stdin.write(command + '\n')
                self.proc.stdin.flush()
            except BrokenPipeError:
                pass
        try:
            reply = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.close()
            return dict(error='time', msg=f'killed after {timeout:.0f} s')
        if reply is None:  # the worker died: under RLIMIT_AS, usually from lack of memory
            self.proc.wait()
            self.log.seek(0)
            tail = (self.log.read().strip().splitlines() or [''])[-1][:160]
            self.close()
            oom = any(k in tail for k in ('memory', 'alloc', 'Thread creation failed'))
            return dict(error='memory' if oom else 'crash',
                        msg=f'exit {self.proc.returncode}: {tail}')
        return reply

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=20)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        if not self.log.closed:
            self.log.close()


def measure(size: int, entries, repeats=3, cap_gib=18., max_seconds=300., long_seconds=15.,
            threads=1) -> list:
    """Time and peak memory of each (model, mode) in ``entries`` at ``size``, interleaved.

    Returns one row per entry: ``status`` ('ok', 'memory', 'time' or 'crash'), ``n`` runs timed,
    ``median_s``, ``min_s``, ``peak_mib`` (max over runs), ``baseline_mib``, ``note``."""
    workers = {e: Worker(e[0], size, e[1], cap_gib, threads) for e in entries}
    rows = {e: dict(model=e[0], mode=e[1], size=size, pixels=size * size, status='ok', n=0,
                    median_s=None, min_s=None, peak_mib=None, baseline_mib=None, note='',
                    times=[]) for e in entries}

    def ask(e, command, timeout):
        reply = workers[e].request(command, timeout)
        row = rows[e]
        if 'error' in reply:
            row.update(status=reply['error'], note=reply['msg'])
            return False
        if 'seconds' in reply:
            row['times'].append(reply['seconds'])
            row['peak_mib'] = max(row['peak_mib'] or 0., reply['peak_mib'])
        else:
            row['baseline_mib'] = reply['baseline_mib']
        return True

    live = [e for e in entries if ask(e, None, BUILD_TIMEOUT)]
    for rep in range(repeats + 1):  # round 0 warms up
        for e in live:
            if rows[e]['status'] == 'ok' and (rep == 0 or rows[e]['times'][0] <= long_seconds):
                ask(e, 'run', max_seconds)
    for e, worker_ in workers.items():
        worker_.close()
        row = rows[e]
        times = row.pop('times')
        if row['status'] == 'ok':
            times = times[1:] or times  # a single (long) run counts, warm-up included
            row.update(n=len(times), median_s=statistics.median(times), min_s=min(times))
    return list(rows.values())


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


def sweep(args) -> list:
    """All models, modes and sizes, size by size (small first), skipping what cannot fit."""
    rows = []
    sizes = {m: args.sizes + (args.extra_sizes if m.startswith('visiongru') else [])
             for m in args.models}
    for size in sorted(set(sum(sizes.values(), []))):
        entries = []
        for model in args.models:
            for mode in args.modes:
                if size not in sizes[model]:
                    continue
                done = [r for r in rows if r['model'] == model and r['mode'] == mode]
                t = predict(rows, model, mode, 'median_s', size * size)
                mem = predict(rows, model, mode, 'peak_mib', size * size)
                skip = None
                if any(r['status'] != 'ok' for r in done):
                    skip = ('smaller size did not fit', '')
                elif t is not None and t > args.max_seconds:
                    skip = ('predicted time', f'~{t:.0f} s')
                elif mem is not None and mem > args.mem_cap_gib * 1024:
                    skip = ('predicted memory', f'~{mem / 1024:.1f} GiB')
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


# ----------------------------------------------------------------------------- reports
def read_csv(path) -> list:
    """The rows of a ``latency_memory.csv``, typed as :func:`sweep` returns them."""
    types = dict(size=int, pixels=int, n=int, median_s=float, min_s=float, peak_mib=float,
                 baseline_mib=float)
    with open(path, newline='') as f:
        return [{k: (types[k](v) if v != '' else None) if k in types else v
                 for k, v in row.items()} for row in csv.DictReader(f)]


def _fmt(value, fmt):
    return '' if value is None else fmt.format(value)


def _cell(row, key, fmt):
    if row is None:
        return ''
    if row['status'] != 'ok':
        return f'n/f ({row["status"]})'
    return fmt.format(row[key])


def tables(rows, models) -> str:
    """Markdown: per mode, time and memory per size with ratios to the first model; then
    exponents and the largest size each model handled."""
    at = {(r['model'], r['mode'], r['size']): r for r in rows}
    ref, others = models[0], models[1:]
    out = []
    for mode in dict.fromkeys(r['mode'] for r in rows):
        out.append(f'\n**{mode}** ({"forward, no_grad" if mode == "eval" else "forward + backward"}'
                   f', batch 1): median seconds (runs), peak MiB above the built model; '
                   f'ratios = model / {ref}\n')
        head = (['size'] + [f'{m} s' for m in models] + [f'{m} MiB' for m in models]
                + [f'{m} time x' for m in others] + [f'{m} mem x' for m in others])
        out += ['| ' + ' | '.join(head) + ' |', '|---:' * len(head) + '|']
        for size in sorted({r['size'] for r in rows if r['mode'] == mode}):
            get = {m: at.get((m, mode, size)) for m in models}
            cells = [str(size)]
            cells += [_cell(get[m], 'median_s', '{:.2f}') + (f' ({get[m]["n"]})' if get[m] and
                      get[m]['status'] == 'ok' else '') for m in models]
            cells += [_cell(get[m], 'peak_mib', '{:.0f}') for m in models]
            for key in ('median_s', 'peak_mib'):
                for m in others:
                    a, b = get[m], get[ref]
                    ok = a and b and a['status'] == b['status'] == 'ok' and b[key] > 0
                    cells.append(f'{a[key] / b[key]:.2f}' if ok else '')
            out.append('| ' + ' | '.join(cells) + ' |')
    out += ['\nScaling exponents (log-log least squares of time / memory against pixels; '
            '"all" = every size that ran, ">=512" = sizes 512 and up):\n',
            '| model | mode | time exp. all | time exp. >=512 | memory exp. all | '
            'memory exp. >=512 | largest size run whole | first that did not |',
            '|---|---|---:|---:|---:|---:|---:|---|']
    for mode in dict.fromkeys(r['mode'] for r in rows):
        for m in models:
            own = [r for r in rows if r['model'] == m and r['mode'] == mode]
            ok = [r['size'] for r in own if r['status'] == 'ok']
            bad = [r for r in own if r['status'] != 'ok']
            exps = [exponent(rows, m, mode, k, lo) for k in ('median_s', 'peak_mib')
                    for lo in (0, 512)]
            first = f'{bad[0]["size"]}: {bad[0]["status"]} {bad[0]["note"]}'.strip() if bad \
                else ''
            out.append(f'| {m} | {mode} | ' + ' | '.join(_fmt(e, '{:.2f}') for e in exps)
                       + f' | {max(ok) if ok else "-"} | {first} |')
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
    p = np.array([256**2, 3072**2])
    ymin = min(r[key] for r in rows if r['status'] == 'ok' and r[key])
    ax.plot(p, ymin * p / p[0], 'k:', lw=1, label='slope 1 (linear)')
    ax.set(xscale='log', yscale='log', xlabel='pixels (square input, batch 1)', ylabel=ylabel)
    ax.grid(True, which='both', alpha=.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


# ----------------------------------------------------------------------------- UperNet
def segmentor(name: str):
    """A UperNet (eval-mode wrapper of complexity.build unwrapped) with SyncBN as plain BN."""
    from mmengine.model import revert_sync_batchnorm
    return revert_sync_batchnorm(complexity.build(name, 512).segmentor)


def fake_batch(batch, size, num_classes):
    """Random images and SegDataSamples with random labels."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for _ in range(batch):
        sample = SegDataSample(metainfo=dict(img_shape=(size, size), pad_shape=(size, size),
                                             ori_shape=(size, size)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, size, size)))
        samples.append(sample)
    return torch.randn(batch, 3, size, size), samples


def train_step(seg, opt, batch) -> dict:
    """One step: the segmentor's loss (decode + auxiliary heads), backward, AdamW step."""
    t0 = time.perf_counter()
    loss, _ = seg.parse_losses(seg.loss(*batch))
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    opt.step()
    opt.zero_grad(set_to_none=True)
    t3 = time.perf_counter()
    return dict(forward=t1 - t0, backward=t2 - t1, optimizer=t3 - t2, step=t3 - t0)


def throughput(names, repeats=3, batch=2, size=512) -> list:
    """Training-step time and images/s of UperNets, interleaved in this process."""
    torch.manual_seed(0)
    segs = {n: segmentor(n).train() for n in names}
    opts = {n: torch.optim.AdamW(s.parameters(), lr=6e-5, weight_decay=.01)
            for n, s in segs.items()}
    batches = {n: fake_batch(batch, size, s.decode_head.num_classes) for n, s in segs.items()}
    times = {n: [] for n in names}
    for rep in range(repeats + 1):  # round 0 warms up
        for n in names:
            times[n].append(train_step(segs[n], opts[n], batches[n]))
            print(f'  {n} step {rep}: {times[n][-1]["step"]:.2f} s', flush=True)
    rows = []
    for n in names:
        med = {k: statistics.median(t[k] for t in times[n][1:]) for k in times[n][0]}
        rows.append(dict(model=n, batch=batch, size=size, n=repeats, **med,
                         images_per_s=batch / med['step']))
    return rows


def throughput_table(rows) -> str:
    ref = rows[0]
    lines = ['| model | forward (loss) s | backward s | optimizer s | step s | images/s | '
             f'step time vs {ref["model"]} |', '|---|---:|---:|---:|---:|---:|---:|']
    for r in rows:
        lines.append(f'| {r["model"]} | {r["forward"]:.2f} | {r["backward"]:.2f} | '
                     f'{r["optimizer"]:.2f} | {r["step"]:.2f} | {r["images_per_s"]:.3f} | '
                     f'{r["step"] / ref["step"]:.2f} |')
    return '\n'.join(lines)


# ----------------------------------------------------------------------------- profile
GLUE = 'block glue (norm reshape, transposes, residual adds)'
PARTS = {'norm': 'LayerNorm (norm)', 'dw_conv': 'dwconv 3x3', 'min_gru_1': 'minGRU forward',
         'min_gru_2': 'minGRU reverse', 'norm2': 'LayerNorm (norm2)', 'projection1': 'MLP fc1',
         'act': 'GELU', 'projection2': 'MLP fc2'}
HEADS = 'UperNet heads (forward only)'
STEM = 'stem + downsamples'
LABELS = set(PARTS.values()) | {GLUE, HEADS, STEM}
LAYOUT_OPS = ('aten::copy_', 'aten::clone', 'aten::contiguous', 'aten::roll', 'aten::flip',
              'aten::cat', 'aten::permute', 'aten::transpose', 'aten::reshape', 'aten::view',
              'aten::as_strided', 'aten::_unsafe_view', 'aten::split', 'aten::chunk')


def _label_modules(model) -> list:
    """Profiler ranges around the 2DGRU block (its glue), its sub-modules and the stem and
    downsamples, in forward and (through full backward hooks) backward; around the UperNet
    heads in forward only (their tuple inputs get no backward hook).  Returns the handles."""
    from mmseg_visiongru.models.gru2d_block import GRU2DBlock
    handles = []

    def add(module, label, backward=True):
        stack = []

        def enter(*_):
            stack.append(torch.ops.profiler._record_function_enter_new(label, None))

        def leave(*_):
            torch.ops.profiler._record_function_exit._RecordFunction(stack.pop())

        handles.extend([module.register_forward_pre_hook(enter),
                        module.register_forward_hook(leave)])
        if backward:
            handles.extend([module.register_full_backward_pre_hook(enter),
                            module.register_full_backward_hook(leave)])

    for name, module in model.named_modules():
        if isinstance(module, GRU2DBlock):
            add(module, GLUE)
            for part, label in PARTS.items():
                add(getattr(module, part), label)
        elif name.split('.')[-1] in ('stem', 'downsamples'):
            add(module, STEM)
        elif name in ('decode_head', 'auxiliary_head'):
            add(module, HEADS, backward=False)
    return handles


def _by_part(prof) -> dict:
    """Self CPU time (ms) of every op, summed by its innermost labelled range; the scan
    kernels (_LinearScan and its backward) are split out of their minGRU."""
    out = {}
    for ev in prof.events():
        parent = ev
        while parent is not None and parent.name not in LABELS:
            parent = parent.cpu_parent
        part = parent.name if parent is not None else \
            'rest (heads backward, loss, optimizer, ...)'
        if ev.name.startswith('_LinearScan'):
            part = f'{part}: scan kernel' + (' (backward)' if 'Backward' in ev.name else '')
        out[part] = out.get(part, 0.) + ev.self_cpu_time_total / 1e3
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _top_ops(prof, n=15):
    """The n ops of most self CPU time: (name, ms, %, calls); total ms; layout ops' ms."""
    avg = sorted((e for e in prof.key_averages() if e.key not in LABELS),
                 key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in prof.key_averages()) / 1e3
    layout = sum(e.self_cpu_time_total for e in avg if e.key in LAYOUT_OPS) / 1e3
    return [(e.key, e.self_cpu_time_total / 1e3, 100 * e.self_cpu_time_total / 1e3 / total,
             e.count) for e in avg[:n]], total, layout


def profile_cases() -> str:
    """Profile the Ti UperNet training step at 512 (batch 2) and the Ti backbone at 1024
    (batch 1, eval forward and train forward + backward); one warm-up run, one profiled run."""
    from torch.profiler import ProfilerActivity, profile
    torch.manual_seed(0)
    seg = segmentor('upernet-visiongru-ti').train()
    opt = torch.optim.AdamW(seg.parameters(), lr=6e-5)
    batch = fake_batch(2, 512, seg.decode_head.num_classes)
    backbone = complexity.build('visiongru-ti', 1024)
    x = torch.randn(1, 3, 1024, 1024)
    cases = {'UperNet + VisionGRU-Ti, train step (fwd + bwd + AdamW), 512, batch 2':
             (seg, lambda: train_step(seg, opt, batch)),
             'VisionGRU-Ti backbone, forward (eval, no_grad), 1024, batch 1':
             (backbone, lambda: run_once(backbone.eval(), x, 'eval')),
             'VisionGRU-Ti backbone, forward + backward (train), 1024, batch 1':
             (backbone, lambda: run_once(backbone.train(), x, 'train'))}
    out = []
    for title, (model, fn) in cases.items():
        fn()  # warm-up
        handles = _label_modules(model)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
        for h in handles:
            h.remove()
        top, total, layout = _top_ops(prof)
        out += [f'\n### {title}\n', f'Total self CPU time {total / 1e3:.2f} s; layout ops '
                f'({", ".join(o[6:] for o in LAYOUT_OPS)}) {layout:.0f} ms '
                f'({100 * layout / total:.1f}%).\n',
                '| op | self CPU ms | % | calls |', '|---|---:|---:|---:|']
        out += [f'| `{k}` | {ms:.0f} | {pct:.1f} | {c} |' for k, ms, pct, c in top]
        out += ['\nBy part of the 2DGRU block (self CPU time of the ops inside each '
                'sub-module, forward and backward):\n', '| part | ms | % |', '|---|---:|---:|']
        out += [f'| {k} | {ms:.0f} | {100 * ms / total:.1f} |'
                for k, ms in _by_part(prof).items()]
        print(out[-1], flush=True)
    return '\n'.join(out)


# ----------------------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    parser.add_argument('--models', nargs='+', default=MODELS, choices=list(complexity.BACKBONES)
                        + list(complexity.SEGMENTORS), metavar='MODEL',
                        help='first is the reference of the ratios (default: %(default)s)')
    parser.add_argument('--sizes', nargs='+', type=int, default=SIZES, metavar='SIDE')
    parser.add_argument('--extra-sizes', nargs='*', type=int, default=EXTRA_SIZES,
                        metavar='SIDE', help='more sizes for VisionGRU models only')
    parser.add_argument('--modes', nargs='+', default=MODES, choices=MODES)
    parser.add_argument('--repeats', type=int, default=3, help='timed runs after the warm-up')
    parser.add_argument('--long-seconds', type=float, default=15.,
                        help='a warm-up run longer than this is the only run')
    parser.add_argument('--max-seconds', type=float, default=300., help='time budget per run')
    parser.add_argument('--mem-cap-gib', type=float, default=18., help='memory budget per run')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads per process (1: robust on a shared machine)')
    parser.add_argument('--out', default='work_dirs/latency_memory')
    parser.add_argument('--no-sweep', action='store_true', help='skip the size sweep')
    parser.add_argument('--from-csv', metavar='CSV',
                        help='no sweep: rebuild its tables and plots from a CSV it wrote')
    parser.add_argument('--throughput', action='store_true', help='UperNet training steps')
    parser.add_argument('--profile', action='store_true', help='torch.profiler of Ti')
    args = parser.parse_args()
    if args.worker:
        return worker(json.loads(args.worker))
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    start = time.perf_counter()
    report = [f'torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} CPUs']
    if args.from_csv or not args.no_sweep:
        rows = read_csv(args.from_csv) if args.from_csv else sweep(args)
        with open(osp.join(args.out, 'latency_memory.csv'), 'w', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        report.append(tables(rows, args.models))
        plot(rows, 'median_s', 'seconds per run (median)',
             osp.join(args.out, 'latency_memory_time.png'))
        plot(rows, 'peak_mib', 'peak RSS above the built model (MiB)',
             osp.join(args.out, 'latency_memory_memory.png'))
        if not args.from_csv:
            report.append(f'\nSweep: {time.perf_counter() - start:.0f} s')
    if args.throughput:
        t0 = time.perf_counter()
        rows = throughput(['upernet-visiongru-ti', 'upernet-swin-t'], args.repeats)
        report += ['\nUperNet training steps, 512 crop, batch 2 (medians, interleaved):\n',
                   throughput_table(rows), f'\nThroughput: {time.perf_counter() - t0:.0f} s']
    if args.profile:
        t0 = time.perf_counter()
        report += ['\n## Profile', profile_cases(),
                   f'\nProfile: {time.perf_counter() - t0:.0f} s']
    report.append(f'\nTotal: {time.perf_counter() - start:.0f} s')
    text = '\n'.join(report)
    print(text)
    with open(osp.join(args.out, 'latency_memory.md'), 'w') as f:
        f.write(text + '\n')


if __name__ == '__main__':
    main()
