"""Latency and peak memory of VisionGRU against DeiT-S and Swin-T on the CPU against input size
(batch 1), the UperNet training step and a profile.

    .venv/bin/python -m tools.analysis.latency_memory [--models M ...] [--sizes S ...]
        [--modes eval train] [--repeats N] [--out DIR] [--throughput] [--profile]

``eval`` is the forward in eval mode under ``no_grad``; ``train`` is forward +
backward (of the mean of the outputs) in train mode.  Each (model, size, mode) runs in its own
process, the models of one size interleaved (``tools.analysis.cpu_worker``: peak RSS, the
``RLIMIT_AS`` budget ``--mem-cap-gib``, the time budget ``--max-seconds``); sizes that cannot fit
are predicted and skipped (``tools.analysis.sweep``).  ``--throughput``: UperNet + VisionGRU-Ti
vs UperNet + Swin-T training steps (``tools.analysis.upernet_step``); ``--profile``:
torch.profiler of the Ti step and backbone (``tools.analysis.profiling``).  The GPU's
counterpart is ``tools.analysis.step_table``.
"""
import argparse
import os
import os.path as osp
import time
from datetime import date

import torch

from .models import NAMES
from .report import write_csv, write_text
from .sweep import plot, sweep, tables

MODELS = ['visiongru-ti', 'deit-s', 'swin-t']
SIZES = [256, 384, 512, 768, 1024, 1536, 2048]
EXTRA_SIZES = [3072]  # VisionGRU only
MODES = ['eval', 'train']


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', default=MODELS, choices=NAMES, metavar='MODEL',
                        help=f'the first is the reference of the ratios (default: '
                        f'{" ".join(MODELS)}; any of {", ".join(NAMES)})')
    parser.add_argument('--out', default='work_dirs/latency_memory')
    parser.add_argument('--repeats', type=int, default=3, help='timed runs after the warm-up')
    parser.add_argument('--sizes', nargs='+', type=int, default=SIZES, metavar='SIDE')
    parser.add_argument('--extra-sizes', nargs='*', type=int, default=EXTRA_SIZES,
                        metavar='SIDE', help='more sizes for VisionGRU models only')
    parser.add_argument('--modes', nargs='+', default=MODES, choices=MODES)
    parser.add_argument('--long-seconds', type=float, default=15.,
                        help='a warm-up run longer than this is the only run')
    parser.add_argument('--max-seconds', type=float, default=300., help='time budget per run')
    parser.add_argument('--mem-cap-gib', type=float, default=18., help='memory budget per run')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads per process (1: robust on a shared machine)')
    parser.add_argument('--no-sweep', action='store_true', help='skip the size sweep')
    parser.add_argument('--throughput', action='store_true', help='UperNet training steps')
    parser.add_argument('--profile', action='store_true', help='torch.profiler of Ti')
    return parser.parse_args(argv)


def main(argv=None):
    from .profiling import profile_cases
    from .upernet_step import throughput, throughput_table
    args = parse_args(argv)
    start = time.perf_counter()
    torch.set_num_threads(args.threads)
    report = [f'torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} CPUs; '
              f'{date.today()}']
    if not args.no_sweep:
        rows = sweep(args)
        write_csv(rows, osp.join(args.out, 'latency_memory.csv'))
        report.append(tables(rows, args.models))
        plot(rows, 'median_s', 'seconds per run (median)',
             osp.join(args.out, 'latency_memory_time.png'))
        plot(rows, 'peak_mib', 'peak RSS above the built model (MiB)',
             osp.join(args.out, 'latency_memory_memory.png'))
    if args.throughput:
        report += ['\nUperNet training steps, 512 crop, batch 2 (medians, interleaved):\n',
                   throughput_table(throughput(repeats=args.repeats))]
    if args.profile:
        report += ['\n## Profile', profile_cases()]
    report.append(f'\nTotal: {time.perf_counter() - start:.0f} s')
    text = '\n'.join(report)
    print(text)
    write_text(osp.join(args.out, 'latency_memory.md'), text + '\n')


if __name__ == '__main__':
    main()
