"""torch.compile captures the backbone whole: the minGRU op is one custom op, not a graph break."""
import pytest
import torch

from mmseg_visiongru.models import VisionGRU

# Below torch 2.4 the op is an autograd Function, which dynamo does not capture whole.
pytestmark = pytest.mark.skipif(not hasattr(torch.library, 'custom_op'),
                                reason='torch.library.custom_op needs torch >= 2.4')

SMALL = dict(embed_dims=8, depths=[1, 1, 2, 1])


def test_backbone_has_no_graph_break():
    torch.manual_seed(0)
    model = VisionGRU(SMALL)
    explanation = torch._dynamo.explain(model)(torch.randn(2, 3, 64, 48))
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1


def test_compiled_backbone_trains_like_eager():
    torch.manual_seed(0)
    model = VisionGRU(SMALL)
    x = torch.randn(2, 3, 64, 48)
    compiled = torch.compile(model, fullgraph=True, backend='aot_eager')
    outs = compiled(x)
    sum(o.mean() for o in outs).backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    ref = model(x)
    sum(o.mean() for o in ref).backward()
    for out, expected in zip(outs, ref):
        torch.testing.assert_close(out, expected)
    for grad, p in zip(grads, model.parameters()):
        torch.testing.assert_close(grad, p.grad)
