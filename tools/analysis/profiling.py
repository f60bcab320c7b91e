"""Where the CPU time of VisionGRU-Ti goes: torch.profiler of the UperNet training step at 512
and of the backbone at 1024, split by op and by part of the 2DGRU block
(``python -m tools.analysis.latency_memory --no-sweep --profile``).

Forward: each labelled part runs inside a ``torch.profiler.record_function`` range (entered by
module hooks, or around a method: the block's ``bidirectional_min_gru``, the heads' ``forward``
and ``loss``).  Backward: each autograd node's
work is charged to the part whose forward op created the node (the profiler's sequence numbers
link the two).  The minGRU scan is the op ``mmseg_visiongru::min_gru_scan`` (and its
``_backward``), as ``mmseg_visiongru.ops.min_gru_scan`` registers it with ``torch.library``.
"""
import functools

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from .complexity import SCAN_OP
from .models import build, segmentor
from .report import write_table
from .timing import run
from .upernet_step import fake_batch, train_step

GLUE = 'block glue (norm reshape, transposes, residual adds)'
MIN_GRU = 'minGRU projections (both directions)'
PARTS = {'norm': 'LayerNorm (norm)', 'dw_conv': 'dwconv 3x3', 'norm2': 'LayerNorm (norm2)',
         'projection1': 'MLP fc1', 'act': 'GELU', 'projection2': 'MLP fc2',
         'min_gru_1': MIN_GRU, 'min_gru_2': MIN_GRU}
HEADS = 'UperNet heads'
STEM = 'stem + downsamples'
REST = 'rest (loss, optimizer, ...)'
LABELS = set(PARTS.values()) | {GLUE, HEADS, STEM}
BACKWARD_NODE = 'autograd::engine::evaluate_function: '
LAYOUT_OPS = ('aten::copy_', 'aten::clone', 'aten::contiguous', 'aten::roll', 'aten::flip',
              'aten::cat', 'aten::permute', 'aten::transpose', 'aten::reshape', 'aten::view',
              'aten::as_strided', 'aten::_unsafe_view', 'aten::split', 'aten::chunk')


def _labelled(fn, label):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with record_function(label):
            return fn(*args, **kwargs)

    return wrapper


def label_modules(model) -> list:
    """Put the forward of the 2DGRU blocks (their glue), their parts, the stem and downsamples
    and the UperNet heads (with their losses) into labelled profiler ranges.  Returns a function
    that undoes it."""
    from mmseg_visiongru.models import GRU2DBlock
    undo = []

    def add(module, label):
        ranges = []

        def enter(*_):
            ranges.append(record_function(label).__enter__())

        def leave(*_):
            ranges.pop().__exit__(None, None, None)

        undo.extend(h.remove for h in (module.register_forward_pre_hook(enter),
                                       module.register_forward_hook(leave)))

    def wrap(module, method, label):
        if hasattr(module, method):
            setattr(module, method, _labelled(getattr(module, method), label))
            undo.append(functools.partial(delattr, module, method))

    for name, module in model.named_modules():
        if isinstance(module, GRU2DBlock):
            add(module, GLUE)
            for part, label in PARTS.items():
                add(getattr(module, part), label)
            wrap(module, 'bidirectional_min_gru', MIN_GRU)
        elif name.endswith('stem') or name.split('.')[-2:-1] == ['downsamples']:
            add(module, STEM)
        elif name in ('decode_head', 'auxiliary_head'):
            # The segmentor calls head.loss(), which calls self.forward(): no module hooks.
            wrap(module, 'forward', HEADS)
            wrap(module, 'loss', HEADS)
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
            if _ancestor(ev, lambda e: e.name == SCAN_OP) is not None:
                part = 'minGRU scan op (gates + scan, both directions)'
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


def top_ops(prof, n=15):
    """The n ops of most self CPU time: (name, ms, %, calls); total ms; layout ops' ms."""
    avg = sorted((e for e in prof.key_averages() if e.key not in LABELS),
                 key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in prof.key_averages()) / 1e3
    layout = sum(e.self_cpu_time_total for e in avg if e.key in LAYOUT_OPS) / 1e3
    return [dict(op=f'`{e.key}`', ms=e.self_cpu_time_total / 1e3,
                 pct=100 * e.self_cpu_time_total / 1e3 / total, calls=e.count)
            for e in avg[:n]], total, layout


def report(title, prof) -> str:
    """Markdown: the top ops and the split by part of one profiled run."""
    top, total, layout = top_ops(prof)
    parts = [dict(part=k, fwd=f, bwd=b, pct=100 * (f + b) / total)
             for k, (f, b) in by_part(prof).items()]
    return '\n'.join([
        f'\n### {title}\n', f'Total self CPU time {total / 1e3:.2f} s; layout ops '
        f'({", ".join(o[6:] for o in LAYOUT_OPS)}) {layout:.0f} ms '
        f'({100 * layout / total:.1f}%).\n',
        write_table(top, ['op', ('ms', 'self CPU ms', '{:.0f}'), ('pct', '%', '{:.1f}'),
                          ('calls', 'calls', '{:d}')]),
        '\nBy part (self CPU time of the ops inside each part; backward charged to the part '
        'whose forward created the autograd node):\n',
        write_table(parts, ['part', ('fwd', 'forward ms', '{:.0f}'),
                            ('bwd', 'backward ms', '{:.0f}'), ('pct', '% of total', '{:.1f}')])])


def profile_cases(size=1024, step_size=512, step_batch=2) -> str:
    """Profile the Ti UperNet training step (``step_size``, batch ``step_batch``) and the Ti
    backbone at ``size`` (batch 1, eval forward and train forward + backward); one warm-up
    run, one profiled run each."""
    torch.manual_seed(0)
    seg = segmentor('upernet-visiongru-ti', step_size).train()
    opt = torch.optim.AdamW(seg.parameters(), lr=6e-5)
    batch = fake_batch(step_batch, step_size, seg.decode_head.num_classes)
    backbone = build('visiongru-ti', size)
    x = torch.randn(1, 3, size, size)
    cases = {f'UperNet + VisionGRU-Ti, train step (fwd + bwd + AdamW), {step_size}, batch '
             f'{step_batch}': (seg, True, lambda: train_step(seg, opt, batch)),
             f'VisionGRU-Ti backbone, forward (eval, no_grad), {size}, batch 1':
             (backbone, False, lambda: run(backbone, x, 'eval')),
             f'VisionGRU-Ti backbone, forward + backward (train), {size}, batch 1':
             (backbone, True, lambda: run(backbone, x, 'train'))}
    out = []
    for title, (model, training, fn) in cases.items():
        model.train(training)
        fn()  # warm-up
        undo = label_modules(model)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
        undo()
        out.append(report(title, prof))
        print(out[-1], flush=True)
    return '\n'.join(out)
