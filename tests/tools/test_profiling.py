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
    scan = 'minGRU scan op (gates + scan, both directions)'
    for part in (scan, profiling.MIN_GRU, 'MLP fc1', 'dwconv 3x3', profiling.STEM):
        forward, backward = parts[part]
        assert forward > 0 and backward > 0, (part, parts)
    # Only the loss and the hooks' bookkeeping are outside the labelled parts.
    assert parts.get(profiling.REST, [0, 0])[0] < 0.1 * sum(f for f, _ in parts.values())
    assert not any('bidirectional_min_gru' in vars(m) for m in model.modules())  # undone


class Head(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x)

    def loss(self, x):
        return self.forward(x).square().mean()  # not through __call__: no module hooks


def test_heads_are_labelled_through_their_methods():
    seg = torch.nn.Module()
    seg.decode_head = Head()
    undo = profiling.label_modules(seg)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        seg.decode_head.loss(torch.randn(1, 3, 32, 32)).backward()
    undo()
    forward, backward = profiling.by_part(prof)[profiling.HEADS]
    assert forward > 0 and backward > 0
    assert 'loss' not in vars(seg.decode_head) and 'forward' not in vars(seg.decode_head)
