"""The backbone on a GPU (skipped without one): no host synchronisation, bf16 autocast at
1024 x 1024 against float64, torch.compile (Inductor) against eager."""
import pytest
import torch

from mmseg_visiongru.models import VisionGRU
from mmseg_visiongru.ops import set_backend

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')


def test_training_step_never_waits_for_the_gpu():
    torch.manual_seed(0)
    model = VisionGRU('tiny').cuda()
    x = torch.randn(2, 3, 256, 256, device='cuda')
    sum(o.mean() for o in model(x)).backward()  # compiles the kernels
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')  # any host synchronisation raises
    try:
        sum(o.mean() for o in model(x)).backward()
    finally:
        torch.cuda.set_sync_debug_mode('default')
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_bf16_autocast_at_1024_against_float64():
    # 65,536 tokens per stage-1 sequence; each stage's output within 1e-2 of float64.
    torch.manual_seed(0)
    model = VisionGRU('tiny').cuda()
    x = torch.randn(1, 3, 1024, 1024, device='cuda')
    with torch.no_grad(), set_backend('torch'):
        ref = model.double()(x.double())
    model.float()
    with torch.autocast('cuda', dtype=torch.bfloat16):
        outs = model(x)
        sum(o.float().square().mean() for o in outs).backward()
    for stage, (o, r) in enumerate(zip(outs, ref), 1):
        assert torch.isfinite(o).all(), stage
        deviation = ((o.double() - r).norm() / r.norm()).item()
        print(f'bf16 autocast, stage {stage}: relative deviation from float64 {deviation:.2e}')
        assert deviation < 1e-2, (stage, deviation)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_inductor_compiled_backbone_matches_eager():
    torch.manual_seed(0)
    model = VisionGRU('tiny').cuda()
    x = torch.randn(2, 3, 256, 256, device='cuda')
    compiled = torch.compile(model, fullgraph=True)
    for out, ref in zip(compiled(x), model(x)):
        torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)
