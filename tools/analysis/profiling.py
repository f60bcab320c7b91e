"""Where the CPU time of VisionGRU-Ti goes: torch.profiler of UperNet + VisionGRU-Ti at 512 and
of the backbone at 1024, by op (torch.profiler's table) and by part of the 2DGRU block.

    .venv/bin/python -m tools.analysis.profiling [--size 1024] [--threads T]

Forward: each part runs inside a ``record_function`` range, entered by module hooks or around a
method (the block's ``bidirectional_min_gru``, the heads' ``forward``).  Backward: each autograd
node's work is charged to the part whose forward op created the node (the profiler's sequence
numbers link the two).  The minGRU op (``MIN_GRU_SCAN_OP``) is a part of its own.
"""
import argparse
import functools

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from mmseg_visiongru.ops import MIN_GRU_SCAN_OP

from .models import build
from .report import markdown
from .timing import environment, run

MIN_GRU = 'minGRU projections (both directions)'
PARTS = {'norm': 'LayerNorm (norm)', 'dw_conv': 'dwconv 3x3', 'norm2': 'LayerNorm (norm2)',
         'projection1': 'MLP fc1', 'act': 'GELU', 'projection2': 'MLP fc2',
         'min_gru_1': MIN_GRU, 'min_gru_2': MIN_GRU}
GLUE = 'block glue (norm reshape, transposes, residual adds)'
HEADS, STEM, REST = 'UperNet heads', 'stem + downsamples', 'rest (loss, glue between parts)'
SCAN = 'minGRU scan op (gates + scan, both directions)'
LABELS = set(PARTS.values()) | {GLUE, HEADS, STEM}
BACKWARD_NODE = 'autograd::engine::evaluate_function: '


def label_modules(model):
    """Put the 2DGRU blocks (their glue), their parts, the stem and downsamples and the UperNet
    heads into labelled profiler ranges.  Returns a function that undoes it."""
    from mmseg_visiongru.models import GRU2DBlock
    undo = []

    def hook(module, label):
        ranges = []
        undo.extend(h.remove for h in (
            module.register_forward_pre_hook(
                lambda *_: ranges.append(record_function(label).__enter__())),
            module.register_forward_hook(lambda *_: ranges.pop().__exit__(None, None, None))))

    def wrap(module, method, label):
        fn = getattr(module, method)

        @functools.wraps(fn)
        def labelled(*args, **kwargs):
            with record_function(label):
                return fn(*args, **kwargs)

        setattr(module, method, labelled)
        undo.append(functools.partial(delattr, module, method))

    for name, module in model.named_modules():
        if isinstance(module, GRU2DBlock):
            hook(module, GLUE)
            for part, label in PARTS.items():
                hook(getattr(module, part), label)
            wrap(module, 'bidirectional_min_gru', MIN_GRU)
        elif name.endswith('stem') or name.split('.')[-2:-1] == ['downsamples']:
            hook(module, STEM)
        elif name.split('.')[-1] in ('decode_head', 'auxiliary_head'):
            wrap(module, 'forward', HEADS)  # called as head.forward(): no module hooks
    return lambda: [f() for f in undo]


def _ancestor(event, test):
    while event is not None and not test(event):
        event = event.cpu_parent
    return event


def by_part(prof) -> dict:
    """{part: [forward ms, backward ms]} of self CPU time; the scan op split out of its part."""
    events = prof.events()
    part_of, created = {}, {}
    for ev in events:
        if _ancestor(ev, lambda e: e.name.startswith(BACKWARD_NODE)) is None:
            label = _ancestor(ev, lambda e: e.name in LABELS)
            part = label.name if label is not None else REST
            if _ancestor(ev, lambda e: e.name == MIN_GRU_SCAN_OP) is not None:
                part = SCAN
            part_of[ev.id] = part
            if ev.sequence_nr >= 0 and ev.name not in LABELS:
                created[(ev.thread, ev.sequence_nr)] = part  # the last op with the number
    out = {}
    for ev in events:
        node = _ancestor(ev, lambda e: e.name.startswith(BACKWARD_NODE))
        if node is None:
            part, column = part_of[ev.id], 0
        else:
            part, column = created.get((node.fwd_thread, node.sequence_nr), REST), 1
        out.setdefault(part, [0., 0.])[column] += ev.self_cpu_time_total / 1e3
    return dict(sorted(out.items(), key=lambda kv: -sum(kv[1])))


def report(title, prof) -> str:
    """The top ops (torch.profiler's table) and the split by part of one profiled run."""
    parts = by_part(prof)
    total = sum(map(sum, parts.values()))
    return '\n'.join([
        f'\n### {title}\n', f'Total self CPU time {total / 1e3:.2f} s.\n',
        prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=15),
        '\nBy part (self CPU time of the ops inside each part; backward charged to the part '
        'whose forward created the autograd node):\n',
        markdown(['part', 'forward ms', 'backward ms', '% of total'],
                 [[k, f'{f:.0f}', f'{b:.0f}', f'{100 * (f + b) / total:.1f}']
                  for k, (f, b) in parts.items()])])


def profile_cases(size=1024, upernet_size=512) -> None:
    """Profile UperNet + VisionGRU-Ti's forward + backward at ``upernet_size`` (batch 2: BN in
    training) and the Ti backbone's eval forward and forward + backward at ``size`` (batch 1);
    one warm-up run, one profiled run each, each printed."""
    torch.manual_seed(0)
    upernet, backbone = build('upernet-visiongru-ti', upernet_size), build('visiongru-ti', size)
    cases = {f'UperNet + VisionGRU-Ti, forward + backward (train), {upernet_size}, batch 2':
             (upernet, torch.randn(2, 3, upernet_size, upernet_size), 'train'),
             f'VisionGRU-Ti backbone, forward (eval, no_grad), {size}, batch 1':
             (backbone, torch.randn(1, 3, size, size), 'eval'),
             f'VisionGRU-Ti backbone, forward + backward (train), {size}, batch 1':
             (backbone, torch.randn(1, 3, size, size), 'train')}
    for title, (model, x, mode) in cases.items():
        model.train(mode == 'train')
        run(model, x, mode)  # warm-up
        undo = label_modules(model)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            run(model, x, mode)
        undo()
        print(report(title, prof), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, default=1024, help="the backbone's input side")
    parser.add_argument('--threads', type=int, default=1, help='torch threads')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(environment())
    profile_cases(args.size)


if __name__ == '__main__':
    main()
