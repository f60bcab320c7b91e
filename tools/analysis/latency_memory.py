"""Latency and peak memory of VisionGRU against DeiT-S and Swin-T: on the CPU against input size
(batch 1), the UperNet training step and a profile; on a GPU, the step table.

    .venv/bin/python -m tools.analysis.latency_memory [--models M ...] [--sizes S ...]
        [--modes eval train] [--repeats N] [--out DIR] [--throughput] [--profile]
    .venv/bin/python -m tools.analysis.latency_memory --device cuda [--models M ...]
        [--shapes 512x16 1024x4 2048x1] [--repeats 8] [--warmup 2] [--compile]

CPU (the default): ``eval`` is the forward in eval mode under ``no_grad``; ``train`` is forward +
backward (of the mean of the outputs) in train mode.  Each (model, size, mode) runs in its own
process, the models of one size interleaved (``tools.analysis.cpu_worker``: peak RSS, the
``RLIMIT_AS`` budget ``--mem-cap-gib``, the time budget ``--max-seconds``); sizes that cannot fit
are predicted and skipped (``tools.analysis.sweep``).  ``--throughput``: UperNet + VisionGRU-Ti
vs UperNet + Swin-T training steps (``tools.analysis.upernet_step``); ``--profile``:
torch.profiler of the Ti step and backbone (``tools.analysis.profiling``).

``--device cuda``, or ``--shapes`` on any device: the step table (``tools.analysis.step_table``):
training step fp32 and bf16 autocast, eval fp32 and peak training memory per model and shape,
CUDA-event timing and ``torch.cuda.max_memory_allocated``.  It builds only backbones that need
no mmseg and no compiled mmcv ops.
"""
import argparse
import os
import os.path as osp
import time
from datetime import date

import torch

from . import step_table
from .models import BACKBONES, NAMES
from .report import write_csv, write_text
from .sweep import load, plot, sweep, tables

MODELS = ['visiongru-ti', 'deit-s', 'swin-t']
SIZES = [256, 384, 512, 768, 1024, 1536, 2048]
EXTRA_SIZES = [3072]  # VisionGRU only
MODES = ['eval', 'train']


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cpu', help='cpu (the size sweep) or cuda (the '
                        'step table)')
    parser.add_argument('--models', nargs='+', metavar='MODEL',
                        help=f'first is the reference of the sweep\'s ratios (CPU default: '
                        f'{" ".join(MODELS)}; step table default: {" ".join(step_table.MODELS)};'
                        f' any of {", ".join(NAMES)}; in the step table MODEL:BACKEND forces '
                        'the minGRU op\'s backend, e.g. visiongru-ti:torch)')
    parser.add_argument('--out', default='work_dirs/latency_memory')
    parser.add_argument('--repeats', type=int, help='timed runs (after the warm-up; CPU '
                        'default 3, step table default 8)')
    sweep_args = parser.add_argument_group('CPU sweep')
    sweep_args.add_argument('--sizes', nargs='+', type=int, default=SIZES, metavar='SIDE')
    sweep_args.add_argument('--extra-sizes', nargs='*', type=int, default=EXTRA_SIZES,
                            metavar='SIDE', help='more sizes for VisionGRU models only')
    sweep_args.add_argument('--modes', nargs='+', default=MODES, choices=MODES)
    sweep_args.add_argument('--long-seconds', type=float, default=15.,
                            help='a warm-up run longer than this is the only run')
    sweep_args.add_argument('--max-seconds', type=float, default=300.,
                            help='time budget per run')
    sweep_args.add_argument('--mem-cap-gib', type=float, default=18.,
                            help='memory budget per run')
    sweep_args.add_argument('--threads', type=int, default=1,
                            help='torch threads per process (1: robust on a shared machine)')
    sweep_args.add_argument('--no-sweep', action='store_true', help='skip the size sweep')
    sweep_args.add_argument('--from-csv', metavar='CSV',
                            help='no sweep: rebuild its tables and plots from a CSV it wrote')
    sweep_args.add_argument('--throughput', action='store_true', help='UperNet training steps')
    sweep_args.add_argument('--profile', action='store_true', help='torch.profiler of Ti')
    table_args = parser.add_argument_group('step table')
    table_args.add_argument('--shapes', nargs='+', type=step_table.parse_shape,
                            metavar='SIDExBATCH', help='default with --device cuda: '
                            + ' '.join(f'{s}x{b}' for s, b in step_table.SHAPES))
    table_args.add_argument('--warmup', type=int, default=2, help='untimed runs first')
    table_args.add_argument('--compile', action='store_true', help='torch.compile each model')
    args = parser.parse_args(argv)
    known = list(BACKBONES) if args.shapes or args.device != 'cpu' else NAMES
    for spec in args.models or []:
        if spec.partition(':')[0] not in known:
            parser.error(f'unknown model {spec!r} here; choose from {", ".join(known)}')
    return args


def run_step_table(args) -> str:
    shapes = args.shapes or step_table.SHAPES
    rows = step_table.sweep(args.models or step_table.MODELS, shapes, args.device,
                            args.repeats or 8, args.warmup, args.compile)
    write_csv(rows, osp.join(args.out, 'step_table.csv'))
    return '\n'.join([
        f'{step_table.environment(args.device)}; {date.today()}',
        step_table.table(rows)])


def run_cpu(args, start) -> list:
    from .profiling import profile_cases
    from .upernet_step import throughput, throughput_table
    torch.set_num_threads(args.threads)
    report = [f'torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} CPUs; '
              f'{date.today()}']
    if args.from_csv or not args.no_sweep:
        args.models, args.repeats = args.models or MODELS, args.repeats or 3
        rows = load(args.from_csv) if args.from_csv else sweep(args)
        write_csv(rows, osp.join(args.out, 'latency_memory.csv'))
        report.append(tables(rows, args.models))
        plot(rows, 'median_s', 'seconds per run (median)',
             osp.join(args.out, 'latency_memory_time.png'))
        plot(rows, 'peak_mib', 'peak RSS above the built model (MiB)',
             osp.join(args.out, 'latency_memory_memory.png'))
        if not args.from_csv:
            report.append(f'\nSweep: {time.perf_counter() - start:.0f} s')
    if args.throughput:
        t0 = time.perf_counter()
        rows = throughput(repeats=args.repeats or 3)
        report += ['\nUperNet training steps, 512 crop, batch 2 (medians, interleaved):\n',
                   throughput_table(rows), f'\nThroughput: {time.perf_counter() - t0:.0f} s']
    if args.profile:
        t0 = time.perf_counter()
        report += ['\n## Profile', profile_cases(),
                   f'\nProfile: {time.perf_counter() - t0:.0f} s']
    return report


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    if args.shapes or args.device != 'cpu':
        report = [run_step_table(args)]
    else:
        report = run_cpu(args, start)
    report.append(f'\nTotal: {time.perf_counter() - start:.0f} s')
    text = '\n'.join(report)
    print(text)
    write_text(osp.join(args.out, 'latency_memory.md'), text + '\n')


if __name__ == '__main__':
    main()
