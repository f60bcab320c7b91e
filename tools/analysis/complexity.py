"""Parameters and multiply-accumulates (GMACs) of VisionGRU, DeiT-S and Swin-T, and of UperNet.

    .venv/bin/python -m tools.analysis.complexity [--models M ...] [--sizes S ...] [--out DIR]

One torch.jit trace per model and square input size (batch 1), counted by mmengine's
``FlopAnalyzer`` extended with handles for what it leaves out:

* ``mmseg_visiongru::min_gru_scan`` (``mmseg_visiongru.ops.min_gru_scan``: minGRU's gates and
  scan ``h_t = a_t * h_{t-1} + b_t`` in one op): one multiply-add per element of ``h``, i.e. per
  channel and scan step, plus the 8 element-wise ops per element that compute ``a = 1 - z`` and
  ``b = z * g(hidden)`` (``gating``);
* ``aten::scaled_dot_product_attention``: ``Q K^T`` and ``A V``, ``2 * N^2 * D`` MACs for N tokens
  of width D (all heads together), plus one op per attention score for the softmax;
* element-wise ops (sigmoid, gelu, add, mul, where, ...): one op per output element.

Two conventions, side by side:

* ``paper``: multiply-accumulates of convolutions and matrix products (linear, matmul,
  attention) only, as in the paper's Fig. 1 (mmengine's defaults less norms, resizing, pooling);
* ``full``: everything above: ``paper`` + scan + element-wise ops + mmengine's default costs of
  norms (LayerNorm 5 per element, BatchNorm 2), resizing and pooling.

Models come from the table in ``tools.analysis.models`` (DeiT-S and Swin-T with ``img_size`` =
input size); UperNet models from their configs, counting the inference forward (backbone, neck,
decode head) while the parameters include the auxiliary head, as Table II of the paper does.
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

from .models import NAMES, SEGMENTORS, build
from .report import write_csv, write_table, write_text

# The name under which mmseg_visiongru.ops.min_gru_scan registers its op (torch.library).
SCAN_OP = 'mmseg_visiongru::min_gru_scan'
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
    analyzer.set_op_handle(SCAN_OP, scan_macs, SDPA_OP, sdpa_macs)
    return analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)


def paper_macs(counts: Counter) -> int:
    """Multiply-accumulates of convolutions and matrix products only."""
    return sum(v for k, v in counts.items() if k in MAC_OPS)


def measure(name: str, size: int) -> dict:
    """Parameters and both MAC counts of one model at one size."""
    start = time.perf_counter()
    torch.manual_seed(0)
    model = build(name, size)
    analyzer = flop_analyzer(model, (torch.randn(1, 3, size, size),))
    counts = analyzer.by_operator()
    fig1 = FIG1.get(name, {}).get(size)
    paper, full = paper_macs(counts) / 1e9, sum(counts.values()) / 1e9
    return dict(model=name, size=size, pixels=size * size,
                params_m=parameter_count(model)[''] / 1e6,
                gmacs_paper=paper, gmacs_full=full,
                gmacs_scan_gating=(counts['scan'] + counts['gating']) / 1e9,
                fig1_gmacs=fig1,
                diff_paper_pct=None if fig1 is None else 100 * (paper / fig1 - 1),
                diff_full_pct=None if fig1 is None else 100 * (full / fig1 - 1),
                uncounted=' '.join(sorted(analyzer.unsupported_ops())),
                seconds=time.perf_counter() - start)


COLUMNS = [('model', 'model', '{}'), ('size', 'size', '{}'), ('params_m', 'params (M)', '{:.2f}'),
           ('gmacs_paper', 'GMACs paper', '{:.2f}'), ('gmacs_full', 'GMACs full', '{:.2f}'),
           ('gmacs_scan_gating', 'of which scan+gating', '{:.2f}'),
           ('fig1_gmacs', 'Fig. 1', '{:.1f}'), ('diff_paper_pct', 'paper vs Fig. 1', '{:+.2f}%'),
           ('diff_full_pct', 'full vs Fig. 1', '{:+.2f}%')]


def markdown(rows) -> str:
    """The results as a markdown table, with the VisionGRU-Ti / DeiT-S ratio at 1248."""
    lines = [write_table(rows, COLUMNS)]
    at = {(r['model'], r['size']): r for r in rows}
    if ('visiongru-ti', 1248) in at and ('deit-s', 1248) in at:
        ti, deit = at['visiongru-ti', 1248], at['deit-s', 1248]
        lines.append(f'\nVisionGRU-Ti / DeiT-S at 1248: '
                     f'{ti["gmacs_paper"] / deit["gmacs_paper"]:.3f} (paper convention), '
                     f'{ti["gmacs_full"] / deit["gmacs_full"]:.3f} (full); '
                     f'Fig. 1: {151.9 / 432.3:.3f}')
    uncounted = {r['model']: r['uncounted'] for r in rows if r['uncounted']}
    for model, ops in uncounted.items():
        lines.append(f'\nOps left uncounted in {model}: {ops}')
    return '\n'.join(lines)


def plot(rows, path: str) -> None:
    """GMACs (paper convention) against pixels, log-log, one line per model (dashed: UperNet)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for model in dict.fromkeys(r['model'] for r in rows):
        own = [r for r in rows if r['model'] == model]
        ax.plot([r['pixels'] for r in own], [r['gmacs_paper'] for r in own],
                'o--' if model in SEGMENTORS else 'o-', ms=3, label=model)
    for i, (model, points) in enumerate(FIG1.items()):
        ax.plot([s * s for s in points], list(points.values()), 'kx', ms=7,
                label='Fig. 1 (paper)' if i == 0 else None)
    ax.set(xscale='log', yscale='log', xlabel='pixels (square input)',
           ylabel='GMACs (conv + matmul)', title='Complexity vs input size, batch 1')
    ax.grid(True, which='both', alpha=.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', default=DEFAULT_MODELS,
                        choices=NAMES, metavar='MODEL', help=f'any of {", ".join(NAMES)}')
    parser.add_argument('--sizes', nargs='+', type=int, default=SIZES, metavar='SIDE',
                        help='square input sides in pixels')
    parser.add_argument('--out', default='work_dirs/complexity', help='folder for CSV + markdown')
    parser.add_argument('--plot', help='PNG path (default: OUT/complexity_gmacs.png)')
    args = parser.parse_args()
    start = time.perf_counter()
    rows = []
    for name in args.models:
        for size in args.sizes:
            rows.append(measure(name, size))
            r = rows[-1]
            print(f'{name} @ {size}: {r["gmacs_paper"]:.2f} / {r["gmacs_full"]:.2f} GMACs '
                  f'({r["seconds"]:.1f} s)', flush=True)
    table = markdown(rows)
    total = time.perf_counter() - start
    print(f'\n{table}\n\nTotal: {total:.0f} s, {torch.get_num_threads()} threads')
    write_csv(rows, osp.join(args.out, 'complexity.csv'))
    write_text(osp.join(args.out, 'complexity.md'), f'{table}\n\nTotal time: {total:.0f} s\n')
    plot(rows, args.plot or osp.join(args.out, 'complexity_gmacs.png'))


if __name__ == '__main__':
    main()
