"""Parameters and multiply-accumulates (GMACs) of VisionGRU, DeiT-S, Swin-T and UperNet.

    .venv/bin/python -m tools.analysis.complexity [--models M ...] [--sizes S ...] [--out DIR]
        [--plot PNG]

One torch.jit trace per model and square input size (batch 1), counted by mmengine's
``FlopAnalyzer`` with handles for what it leaves out: the minGRU op (``scan_macs``), attention
(``sdpa_macs``) and element-wise ops.  Two conventions side by side: ``paper`` (convolutions and
matrix products, as the paper's Fig. 1) and ``full`` (everything); docs/complexity.md defines
them.  UperNet counts the inference forward; its parameters include the auxiliary head.
"""
import argparse
import os.path as osp
import time
from collections import Counter
from math import prod

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.analysis.jit_handles import get_shape

from mmseg_visiongru.ops import MIN_GRU_SCAN_OP

from .models import NAMES, SEGMENTORS, build
from .report import loglog, markdown, save
from .timing import environment

SDPA_OP = 'aten::scaled_dot_product_attention'
MAC_OPS = {'conv', 'linear', 'matmul', 'mm', 'bmm', 'addmm', 'einsum', 'attention'}
POINTWISE_OPS = ('add', 'add_', 'sub', 'rsub', 'mul', 'mul_', 'div', 'neg', 'sigmoid', 'gelu',
                 'relu', 'relu_', 'softmax', 'where', 'ge', 'ne')
FREE_OPS = ('pad', 'fill_', 'im2col', 'feature_dropout', 'cat')  # data movement only

DEFAULT_MODELS = ['visiongru-ti', 'visiongru-b', 'deit-s', 'swin-t', 'upernet-visiongru-ti']
SIZES = [224, 512, 640, 738, 1024, 1248]
# The paper's Fig. 1 (GFLOPs, i.e. GMACs, of the backbones).
FIG1 = {'visiongru-ti': {512: 25.6, 640: 40.0, 738: 55.1, 1024: 102.3, 1248: 151.9},
        'deit-s': {1248: 432.3}}


def _numel(value) -> int:
    shape = get_shape(value)
    return prod(shape) if shape is not None else 0


# The element-wise ops per element of h inside the minGRU op, as separate torch ops would count
# them: z = sigmoid(gate); 1 - z = sigmoid(neg(gate)); g = where(hidden >= 0, hidden + 0.5,
# sigmoid(hidden)); b = z * g.
GATING_OPS = 8


def scan_macs(inputs, outputs) -> Counter:
    """The minGRU op: one multiply-add per element of its output ``h`` (the scan), and
    ``GATING_OPS`` element-wise ops per element for its gates."""
    n = _numel(outputs[0])
    return Counter({'scan': n, 'gating': GATING_OPS * n})


def sdpa_macs(inputs, outputs) -> Counter:
    """``scaled_dot_product_attention(q, k, v)``: N*S*E for Q K^T plus N*S*Ev for A V per batch
    and head, and N*S for the softmax."""
    q, k, v = (get_shape(x) for x in inputs[:3])
    scores = prod(q[:-1]) * k[-2]
    return Counter({'attention': scores * (q[-1] + v[-1]), 'softmax': scores})


def pointwise_ops(inputs, outputs) -> int:
    """One op per output element."""
    return _numel(outputs[0])


def flop_analyzer(model: nn.Module, inputs) -> FlopAnalyzer:
    """mmengine's ``FlopAnalyzer`` with the scan, attention and element-wise handles."""
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.set_op_handle(**{f'aten::{op}': pointwise_ops for op in POINTWISE_OPS})
    analyzer.set_op_handle(**{f'aten::{op}': None for op in FREE_OPS})
    analyzer.set_op_handle(MIN_GRU_SCAN_OP, scan_macs, SDPA_OP, sdpa_macs)
    return analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)


def paper_macs(counts: Counter) -> int:
    """Multiply-accumulates of convolutions and matrix products only."""
    return sum(v for k, v in counts.items() if k in MAC_OPS)


def measure(name: str, size: int) -> dict:
    """Parameters and both MAC counts of one model at one size."""
    torch.manual_seed(0)
    model = build(name, size)
    analyzer = flop_analyzer(model, (torch.randn(1, 3, size, size),))
    counts = analyzer.by_operator()
    return dict(model=name, size=size, pixels=size * size,
                params_m=parameter_count(model)[''] / 1e6, gmacs_paper=paper_macs(counts) / 1e9,
                gmacs_full=sum(counts.values()) / 1e9,
                gmacs_scan_gating=(counts['scan'] + counts['gating']) / 1e9,
                uncounted=' '.join(sorted(analyzer.unsupported_ops())))


def table(rows) -> str:
    """Markdown: each row against the paper's Fig. 1, the VisionGRU-Ti / DeiT-S ratio at 1248."""
    cells = []
    for r in rows:
        fig1 = FIG1.get(r['model'], {}).get(r['size'])
        cells.append([r['model'], r['size']] + [f'{r[k]:.2f}' for k in (
            'params_m', 'gmacs_paper', 'gmacs_full', 'gmacs_scan_gating')] + [fig1] + [
            f'{100 * (r[k] / fig1 - 1):+.2f}%' if fig1 else '' for k in ('gmacs_paper',
                                                                          'gmacs_full')])
    lines = [markdown(['model', 'size', 'params (M)', 'GMACs paper', 'GMACs full',
                       'of which scan+gating', 'Fig. 1', 'paper vs Fig. 1', 'full vs Fig. 1'],
                      cells)]
    at = {(r['model'], r['size']): r for r in rows}
    if ('visiongru-ti', 1248) in at and ('deit-s', 1248) in at:
        ti, deit = at['visiongru-ti', 1248], at['deit-s', 1248]
        lines.append(f'\nVisionGRU-Ti / DeiT-S at 1248: '
                     f'{ti["gmacs_paper"] / deit["gmacs_paper"]:.3f} (paper convention), '
                     f'{ti["gmacs_full"] / deit["gmacs_full"]:.3f} (full); '
                     f'Fig. 1: {151.9 / 432.3:.3f}')
    lines += [f'\nOps left uncounted in {r["model"]} at {r["size"]}: {r["uncounted"]}'
              for r in rows if r['uncounted']]
    return '\n'.join(lines)


def plot(rows, path: str) -> None:
    """GMACs (paper convention) against pixels, log-log, one line per model (dashed: UperNet)."""
    series = {model: ([r['pixels'] for r in rows if r['model'] == model],
                      [r['gmacs_paper'] for r in rows if r['model'] == model],
                      'o--' if model in SEGMENTORS else 'o-')
              for model in dict.fromkeys(r['model'] for r in rows)}
    points = [(s * s, g) for fig1 in FIG1.values() for s, g in fig1.items()]
    series['Fig. 1 (paper)'] = (*zip(*points), 'kx')
    loglog(series, 'pixels (square input)', 'GMACs (conv + matmul)', path,
           'Complexity vs input size, batch 1')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', default=DEFAULT_MODELS,
                        choices=NAMES, metavar='MODEL', help=f'any of {", ".join(NAMES)}')
    parser.add_argument('--sizes', nargs='+', type=int, default=SIZES, metavar='SIDE',
                        help='square input sides in pixels')
    parser.add_argument('--out', default='work_dirs/complexity', help='folder for the table')
    parser.add_argument('--plot', help='PNG path (default: OUT/complexity_gmacs.png)')
    args = parser.parse_args()
    start = time.perf_counter()
    rows = [measure(name, size) for name in args.models for size in args.sizes]
    text = f'{table(rows)}\n\nTotal: {time.perf_counter() - start:.0f} s, {environment()}'
    print(f'\n{text}')
    save(osp.join(args.out, 'complexity.md'), text + '\n')
    plot(rows, args.plot or osp.join(args.out, 'complexity_gmacs.png'))


if __name__ == '__main__':
    main()
