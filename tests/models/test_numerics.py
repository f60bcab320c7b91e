"""Numerics at the edges: saturated gates over long sequences, and half-precision autocast of
VisionGRU-Ti at 1024x1024 (65,536 tokens in stage 1)."""
import pytest
import torch

from mmseg_visiongru.models import MinGRU, VisionGRU
from mmseg_visiongru.models.min_gru import min_gru_scan
from mmseg_visiongru.ops.min_gru.doubling import scan_doubling, scan_grads

L = 65536


@pytest.mark.parametrize('gate', [-60., 60.])
def test_min_gru_gradients_stay_finite_when_gates_saturate(gate):
    # z -> 0 (a = 1: the state is carried unchanged over all 65,536 steps) and z -> 1 (a = 0).
    torch.manual_seed(0)
    m = MinGRU(4)
    with torch.no_grad():
        m.to_hidden_and_gate.weight[8:] = 0  # the gate half of the projection
    x = torch.randn(1, L, 4, requires_grad=True)
    hidden_gate = m.to_hidden_and_gate(x)
    hidden_gate = hidden_gate + torch.cat([torch.zeros(8), torch.full((8, ), gate)])
    h = min_gru_scan(hidden_gate)  # the op MinGRU runs, with the gates saturated
    h.square().mean().backward()
    assert torch.isfinite(h).all() and torch.isfinite(x.grad).all()
    assert torch.isfinite(m.to_hidden_and_gate.weight.grad).all()


def test_scan_gradients_finite_for_exact_zero_and_one_decays():
    a = torch.randint(0, 2, (2, L, 3)).float()
    b = torch.randn(2, L, 3)
    h = scan_doubling(a, b, reverse=True)
    grad_a, grad_b = scan_grads(a, h, torch.randn_like(h), reverse=True)
    assert torch.isfinite(grad_a).all() and torch.isfinite(grad_b).all()


@pytest.mark.slow
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_autocast_ti_at_1024(dtype):
    torch.manual_seed(0)
    model = VisionGRU('tiny', out_indices=(0, 3))
    x = torch.randn(1, 3, 1024, 1024)
    ref = model(x)
    with torch.autocast('cpu', dtype=dtype):
        outs = model(x)
        sum(o.float().square().mean() for o in outs).backward()
    for stage, o, r in zip((1, 4), outs, ref):
        assert torch.isfinite(o).all()
        deviation = ((o.float() - r).norm() / r.norm()).item()
        print(f'{dtype} autocast, stage {stage}: relative deviation from float32 {deviation:.2e}')
        assert deviation < 0.05, deviation
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
