"""The step table: training step (fp32, bf16 autocast), eval and peak training memory of
backbones at a few (size, batch) shapes, on one device, in one process.

    python -m tools.analysis.step_table [--device cuda] [--models M ...]
        [--shapes 512x16 1024x4 2048x1] [--repeats 8] [--warmup 2] [--compile] [--out DIR]

A training step is forward + backward (``timing.run``), no optimizer.  Times are medians after
``warmup`` runs (CUDA events on CUDA).  Peak memory is ``torch.cuda.max_memory_allocated`` over
the training runs (model, input and gradients included; CUDA only).  Only backbones are built:
no mmseg, no mmcv ops.
"""
import argparse
import os.path as osp
import statistics
from typing import List, Tuple

import torch

from .models import BACKBONES, build
from .report import markdown, save
from .timing import environment, interleaved, run

SHAPES = [(512, 16), (1024, 4), (2048, 1)]
MODELS = ['visiongru-ti', 'visiongru-b', 'visiongru-ti-authors', 'swin-t', 'deit-s']
RUNS = [('train', 'fp32'), ('train', 'bf16'), ('eval', 'fp32')]
AUTOCAST = {'fp32': None, 'bf16': torch.bfloat16}
REFERENCE = 'swin-t'


def parse_shape(spec: str) -> Tuple[int, int]:
    """``'512x16'`` -> (512, 16): square side, batch."""
    size, batch = spec.lower().split('x')
    return int(size), int(batch)


def measure(name: str, size: int, batch: int, device='cuda', repeats=8, warmup=2,
            compile_model=False) -> List[dict]:
    """One row per (mode, precision) of ``RUNS`` for the model ``name`` at one shape."""
    cuda = torch.device(device).type == 'cuda'
    torch.manual_seed(0)
    model = build(name, size).to(device)
    forward = torch.compile(model) if compile_model else model
    x = torch.randn(batch, 3, size, size, device=device)
    rows = []
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    for mode, precision in RUNS:
        row = dict(model=name, size=size, batch=batch, mode=mode, precision=precision,
                   status='ok', n=0, median_s=None, peak_gib=None)
        model.train(mode == 'train')
        try:
            (times, ) = interleaved({name: lambda: run(forward, x, mode, AUTOCAST[precision])},
                                    repeats, warmup, device).values()
            row.update(n=len(times), median_s=statistics.median(times))
        except torch.cuda.OutOfMemoryError:
            row['status'] = 'memory'
            model.zero_grad(set_to_none=True)
        if cuda and mode == 'train':
            if row['status'] == 'ok':
                row['peak_gib'] = torch.cuda.max_memory_allocated(device) / 2**30
            torch.cuda.reset_peak_memory_stats(device)
        rows.append(row)
        print(f'{name:22s} {size:5d}x{batch:<3d} {mode:5s} {precision:4s} {row["status"]:6s} '
              + (f'{1e3 * row["median_s"]:9.1f} ms' if row['median_s'] else ''), flush=True)
    del model, forward, x
    torch._dynamo.reset()  # no compiled code (or its memory) carried to the next model
    if cuda:
        torch.cuda.empty_cache()
    return rows


def table(rows, reference=REFERENCE) -> str:
    """Markdown, one table per shape: median ms of each run, peak training GiB, and each time
    as a multiple of ``reference``'s."""
    out = []
    for size, batch in dict.fromkeys((r['size'], r['batch']) for r in rows):
        at = {(r['model'], r['mode'], r['precision']): r for r in rows
              if (r['size'], r['batch']) == (size, batch)}
        cells = []
        for model in dict.fromkeys(k[0] for k in at):
            times, refs = ([at.get((m, *run), {}).get('median_s') for run in RUNS]
                           for m in (model, reference))
            gib = [at.get((model, 'train', p), {}).get('peak_gib') for p in AUTOCAST]
            cells.append([model] + ['n/f (memory)' if t is None else f'{1e3 * t:.1f}'
                                    for t in times]
                         + [' / '.join('-' if g is None else f'{g:.1f}' for g in gib)]
                         + [f'{t / r:.2f}' if t and r else '' for t, r in zip(times, refs)])
        out += [f'\n{size}x{size}, batch {batch} (medians):\n', markdown(
            ['model'] + [f'{"training step" if m == "train" else m} {p} ms' for m, p in RUNS]
            + ['peak train GiB fp32 / bf16'] + [f'{m} {p} x {reference}' for m, p in RUNS],
            cells)]
    return '\n'.join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--models', nargs='+', default=MODELS, choices=BACKBONES,
                        metavar='MODEL', help=f'any of {", ".join(BACKBONES)}')
    parser.add_argument('--shapes', nargs='+', type=parse_shape, default=SHAPES,
                        metavar='SIDExBATCH')
    parser.add_argument('--repeats', type=int, default=8, help='timed runs')
    parser.add_argument('--warmup', type=int, default=2, help='untimed runs first')
    parser.add_argument('--compile', action='store_true', help='torch.compile each model')
    parser.add_argument('--out', default='work_dirs/step_table')
    args = parser.parse_args(argv)
    rows = [row for size, batch in args.shapes for name in args.models for row in measure(
        name, size, batch, args.device, args.repeats, args.warmup, args.compile)]
    text = f'{environment(args.device)}\n{table(rows)}'
    save(osp.join(args.out, 'step_table.md'), text + '\n')
    print(text)


if __name__ == '__main__':
    main()
