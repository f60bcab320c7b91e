"""The step table: training step (fp32, bf16 autocast), eval and peak training memory of
backbones at a few (size, batch) shapes, on one device, in one process.

    python -m tools.analysis.step_table [--device cuda] [--models M ...]
        [--shapes 512x16 1024x4 2048x1] [--repeats 8] [--warmup 2] [--compile] [--out DIR]

A training step is forward + backward of ``sum(mean(out_i))`` (``tools.analysis.timing.run``),
no optimizer; eval is the forward under ``no_grad``.  Each is the median of ``repeats`` runs after
``warmup`` runs, timed with CUDA events on CUDA (``perf_counter`` elsewhere).  Peak memory is
``torch.cuda.max_memory_allocated`` over the training runs, counted from the start of the case
(model, input and gradients included); it is not measured on other devices.

A model name may carry a backend, ``visiongru-ti:torch``: the model then runs with
``mmseg_visiongru.ops.set_backend('torch')`` (the minGRU op's plain PyTorch path) instead of the
default backend (Triton on CUDA, the compiled kernel on the CPU).  Only mmpretrain backbones,
the core of ``mmseg_visiongru`` and the authors' layout are built: no mmseg, no mmcv ops.
"""
import argparse
import os.path as osp
import platform
from datetime import date
from typing import List, Optional, Sequence, Tuple

import torch

from .models import BACKBONES, build
from .report import write_csv, write_table, write_text
from .timing import repeat, run, summary

SHAPES = [(512, 16), (1024, 4), (2048, 1)]
MODELS = ['visiongru-ti', 'visiongru-ti:torch', 'visiongru-b', 'visiongru-ti-authors',
          'swin-t', 'deit-s']
RUNS = [('train', 'fp32'), ('train', 'bf16'), ('eval', 'fp32')]
AUTOCAST = {'fp32': None, 'bf16': torch.bfloat16}
REFERENCE = 'swin-t'


def parse_model(spec: str) -> Tuple[str, Optional[str]]:
    """``'visiongru-ti:torch'`` -> ``('visiongru-ti', 'torch')``; no backend -> None."""
    name, _, backend = spec.partition(':')
    if name not in BACKBONES:
        raise ValueError(f'Unknown backbone {name!r}; choose from {list(BACKBONES)}')
    return name, backend or None


def parse_shape(spec: str) -> Tuple[int, int]:
    """``'512x16'`` -> (512, 16): square side, batch."""
    size, batch = spec.lower().split('x')
    return int(size), int(batch)


def measure(spec: str, size: int, batch: int, device='cuda', repeats=8, warmup=2,
            compile_model=False) -> List[dict]:
    """One row per (mode, precision) of ``RUNS`` for the model ``spec`` at one shape."""
    from mmseg_visiongru.ops import set_backend
    name, backend = parse_model(spec)
    cuda = torch.device(device).type == 'cuda'
    torch.manual_seed(0)
    model = build(name, size).to(device)
    forward = torch.compile(model) if compile_model else model
    x = torch.randn(batch, 3, size, size, device=device)
    rows = []
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    for mode, precision in RUNS:
        row = dict(model=spec, size=size, batch=batch, mode=mode, precision=precision,
                   status='ok', n=0, median_s=None, min_s=None, peak_gib=None)
        model.train(mode == 'train')
        try:
            with set_backend(backend):
                times = repeat(lambda: run(forward, x, mode, AUTOCAST[precision]), repeats,
                               warmup, device)
            row.update(summary(times))
        except torch.cuda.OutOfMemoryError:
            row['status'] = 'memory'
            model.zero_grad(set_to_none=True)
        if cuda and mode == 'train':
            if row['status'] == 'ok':
                row['peak_gib'] = torch.cuda.max_memory_allocated(device) / 2**30
            torch.cuda.reset_peak_memory_stats(device)
        rows.append(row)
        print(f'{spec:22s} {size:5d}x{batch:<3d} {mode:5s} {precision:4s} {row["status"]:6s} '
              + (f'{1e3 * row["median_s"]:9.1f} ms' if row['median_s'] else ''), flush=True)
    del model, forward, x
    if cuda:
        torch.cuda.empty_cache()
    return rows


def sweep(models: Sequence[str] = MODELS, shapes: Sequence[Tuple[int, int]] = SHAPES,
          device='cuda', repeats=8, warmup=2, compile_model=False) -> List[dict]:
    """:func:`measure` of every model at every shape, shape by shape."""
    return [row for size, batch in shapes for spec in models
            for row in measure(spec, size, batch, device, repeats, warmup, compile_model)]


def _pivot(rows, size, batch, reference) -> List[dict]:
    """One row per model at one shape: the three runs' ms, peak GiB, ratios to ``reference``."""
    out = {}
    for r in rows:
        if (r['size'], r['batch']) != (size, batch):
            continue
        key = f'{r["mode"]} {r["precision"]}'
        row = out.setdefault(r['model'], dict(model=r['model']))
        row[key] = 'n/f (memory)' if r['status'] != 'ok' else f'{1e3 * r["median_s"]:.1f}'
        row[f'{key} s'] = r['median_s']
        if r['mode'] == 'train':
            row[f'{r["precision"]} GiB'] = r['peak_gib']
    ref = out.get(reference, {})
    for row in out.values():
        row['memory'] = ' / '.join('-' if row.get(f'{p} GiB') is None else
                                   f'{row[f"{p} GiB"]:.1f}' for p in ('fp32', 'bf16'))
        for mode, precision in RUNS:
            key = f'{mode} {precision} s'
            ok = row.get(key) and ref.get(key)
            row[f'{mode} {precision} x'] = f'{row[key] / ref[key]:.2f}' if ok else ''
    return list(out.values())


def table(rows, reference=REFERENCE) -> str:
    """Markdown, one table per shape: median ms of each run, peak training GiB, and each time
    as a multiple of ``reference``'s."""
    out = []
    for size, batch in dict.fromkeys((r['size'], r['batch']) for r in rows):
        columns = ['model'] + [(f'{m} {p}', f'{"training step" if m == "train" else m} {p} ms',
                                '{:>}') for m, p in RUNS]
        columns.append(('memory', 'peak train GiB fp32 / bf16', '{:>}'))
        columns += [(f'{m} {p} x', f'{m} {p} x {reference}', '{:>}') for m, p in RUNS]
        pivot = _pivot(rows, size, batch, reference)
        out += [f'\n{size}x{size}, batch {batch} (medians):\n', write_table(pivot, columns)]
        out += [_per_backend(pivot, row) for row in pivot if ':' in row['model']]
    return '\n'.join(out)


def _per_backend(pivot, row) -> str:
    """One line: a model forced onto a backend against the same model on the default."""
    default = next((r for r in pivot if r['model'] == row['model'].partition(':')[0]), None)
    if default is None:
        return ''
    ratios = [f'{m} {p} {row[f"{m} {p} s"] / default[f"{m} {p} s"]:.2f}x'
              for m, p in RUNS if row.get(f'{m} {p} s') and default.get(f'{m} {p} s')]
    return f'\n{row["model"]} / {default["model"]} (default backend): ' + ', '.join(ratios)


def environment(device) -> str:
    """One line: device name, torch (and Triton) version, fp32 matmul precision."""
    name = torch.cuda.get_device_name(device) if torch.device(device).type == 'cuda' else \
        f'{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads'
    try:
        import triton
        extra = f', triton {triton.__version__}'
    except ImportError:
        extra = ''
    return (f'{name}, torch {torch.__version__}{extra}, float32 matmul precision '
            f'{torch.get_float32_matmul_precision()}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--models', nargs='+', default=MODELS, metavar='MODEL',
                        help=f'any of {", ".join(BACKBONES)}; MODEL:BACKEND forces the minGRU '
                        "op's backend, e.g. visiongru-ti:torch")
    parser.add_argument('--shapes', nargs='+', type=parse_shape, default=SHAPES,
                        metavar='SIDExBATCH')
    parser.add_argument('--repeats', type=int, default=8, help='timed runs')
    parser.add_argument('--warmup', type=int, default=2, help='untimed runs first')
    parser.add_argument('--compile', action='store_true', help='torch.compile each model')
    parser.add_argument('--out', default='work_dirs/step_table')
    args = parser.parse_args(argv)
    for spec in args.models:
        if spec.partition(':')[0] not in BACKBONES:
            parser.error(f'unknown model {spec!r}; choose from {", ".join(BACKBONES)}')
    rows = sweep(args.models, args.shapes, args.device, args.repeats, args.warmup, args.compile)
    write_csv(rows, osp.join(args.out, 'step_table.csv'))
    text = f'{environment(args.device)}; {date.today()}\n{table(rows)}'
    write_text(osp.join(args.out, 'step_table.md'), text + '\n')
    print(text)


if __name__ == '__main__':
    main()
