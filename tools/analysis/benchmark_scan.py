"""Forward+backward speed and error of the linear scan against its baselines, in one process.

    .venv/bin/python tools/analysis/benchmark_scan.py

For each shape, inputs come from a minGRU (a = 1 - z, b = z * g(hidden), random gates), so the
log-space scan, which needs b > 0, runs on the same numbers.  Times are medians over repeats;
errors are max |h - h_ref| / max |h_ref| of the float32 forward against a float64 loop.

Then minGRU's gates and scan of both directions of a 2DGRU block (``min_gru_scan``): the
compiled CPU kernel against the same op on torch ops (the path CUDA and half precision take),
interleaved, with the error of each against the float64 kernel.
"""
import argparse
import statistics
import time

import torch

from mmseg_visiongru.models import min_gru
from mmseg_visiongru.models.min_gru import candidate, min_gru_scan
from mmseg_visiongru.ops import linear_scan, scan_doubling
from mmseg_visiongru.ops.reference import scan_log_space, scan_loop

SHAPES = {
    'B=2, L=16384, D=64': (2, 16384, 64),
    # Stage 1 of VisionGRU-Ti on a 512x512 image: 128x128 tokens, minGRU width 2 * 72.
    'stage 1 @ 512x512 (B=2, L=16384, D=144)': (2, 16384, 144),
}


# (B, L, I) of minGRU's gates and scan in a 2DGRU block of VisionGRU-Ti at 512 x 512, batch 1.
GATE_SHAPES = {'stage 1 (L=16384, I=144)': (1, 16384, 144),
               'stage 3 (L=1024, I=576)': (1, 1024, 576)}


def min_gru_inputs(B, L, D):
    gen = torch.Generator().manual_seed(0)
    gate, hidden = torch.randn(2, B, L, D, generator=gen)
    z = gate.sigmoid()
    return 1 - z, z * candidate(hidden)


def fwd_bwd_seconds(fn, leaves, repeats):
    times = []
    for _ in range(repeats + 1):  # the first run warms up
        for leaf in leaves:
            leaf.grad = None
        start = time.perf_counter()
        fn(*leaves).sum().backward()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--loop-repeats', type=int, default=1)
    args = parser.parse_args()
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads')
    for title, shape in SHAPES.items():
        a, b = min_gru_inputs(*shape)
        ref = scan_loop(a.double(), b.double())
        methods = {
            'linear_scan (ours)': (linear_scan, (a, b)),
            'doubling scan (ours, non-CPU path)': (scan_doubling, (a, b)),
            'log-space scan': (scan_log_space, (a.log(), b.log())),
            'sequential loop': (scan_loop, (a, b)),
        }
        print(f'\n{title}')
        print(f'{"method":36s} {"fwd+bwd ms":>11s} {"vs loop":>9s} {"vs log":>8s} '
              f'{"rel. error":>11s}')
        rows = {}
        for name, (fn, inputs) in methods.items():
            leaves = [t.clone().requires_grad_() for t in inputs]
            repeats = args.loop_repeats if fn is scan_loop else args.repeats
            with torch.no_grad():
                err = ((fn(*inputs).double() - ref).abs().max() / ref.abs().max()).item()
            rows[name] = (fwd_bwd_seconds(fn, leaves, repeats), err)
        loop_s, log_s = rows['sequential loop'][0], rows['log-space scan'][0]
        for name, (seconds, err) in rows.items():
            print(f'{name:36s} {seconds * 1e3:11.2f} {loop_s / seconds:8.1f}x '
                  f'{log_s / seconds:7.1f}x {err:11.2e}')

    gates_and_scan(args.repeats)


def gates_and_scan(repeats):
    compiled = min_gru._compiled
    torch_ops = {'compiled kernel (CPU)': compiled, 'torch ops': lambda proj: False}
    print('\nminGRU gates + scan, both directions of a block (min_gru_scan), fwd+bwd')
    print(f'{"shape":26s} {"path":22s} {"fwd+bwd ms":>11s} {"vs torch ops":>13s} '
          f'{"rel. error":>11s}')
    for title, (B, L, I) in GATE_SHAPES.items():
        proj = 3 * torch.randn(B, L, 4 * I, generator=torch.Generator().manual_seed(0))
        ref = min_gru_scan(proj.double(), (False, True))
        leaf = proj.clone().requires_grad_()
        times, errors = {name: [] for name in torch_ops}, {}
        try:
            for name, path in torch_ops.items():
                min_gru._compiled = path
                with torch.no_grad():
                    h = min_gru_scan(proj, (False, True)).double()
                errors[name] = ((h - ref).abs().max() / ref.abs().max()).item()
            for _ in range(repeats + 1):  # interleaved; the first round warms up
                for name, path in torch_ops.items():
                    min_gru._compiled = path
                    leaf.grad = None
                    start = time.perf_counter()
                    min_gru_scan(leaf, (False, True)).sum().backward()
                    times[name].append(time.perf_counter() - start)
        finally:
            min_gru._compiled = compiled
        base = statistics.median(times['torch ops'][1:])
        for name in torch_ops:
            seconds = statistics.median(times[name][1:])
            print(f'{title:26s} {name:22s} {seconds * 1e3:11.2f} {base / seconds:12.2f}x '
                  f'{errors[name]:11.2e}')


if __name__ == '__main__':
    main()
