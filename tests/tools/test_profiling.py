"""The profile split (tools.analysis.profiling): forward ranges by module, backward charged to
the part whose forward created the autograd node, the minGRU op found by its public name."""
import torch
from torch.profiler import ProfilerActivity, profile

from mmseg_visiongru.models import VisionGRU
from tools.analysis import profiling
from tools.analysis.timing import run


def test_by_part_splits_forward_and_backward():
    torch.manual_seed(0)
    model = VisionGRU(dict(embed_dims=16, depths=[1, 1, 2, 1]), init_cfg=None).train()
    x = torch.randn(1, 3, 64, 64)
    undo = profiling.label_modules(model)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run(model, x, 'train')
    undo()
    parts = profiling.by_part(prof)
    for part in (profiling.SCAN, profiling.MIN_GRU, 'MLP fc1', 'dwconv 3x3', profiling.STEM):
        forward, backward = parts[part]
        assert forward > 0 and backward > 0, (part, parts)
    # Only the loss and the hooks' bookkeeping are outside the labelled parts.
    assert parts.get(profiling.REST, [0, 0])[0] < 0.1 * sum(f for f, _ in parts.values())
    assert not any('bidirectional_min_gru' in vars(m) for m in model.modules())  # undone


def test_heads_are_labelled_though_called_by_method():
    seg = torch.nn.Module()
    seg.segmentor = torch.nn.Module()
    seg.segmentor.decode_head = torch.nn.Conv2d(3, 4, 3)
    undo = profiling.label_modules(seg)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        # As mmseg's segmentors call it: head.forward(x), not through __call__ (no module hooks).
        seg.segmentor.decode_head.forward(torch.randn(1, 3, 32, 32)).sum().backward()
    undo()
    forward, backward = profiling.by_part(prof)[profiling.HEADS]
    assert forward > 0 and backward > 0
    assert 'forward' not in vars(seg.segmentor.decode_head)
