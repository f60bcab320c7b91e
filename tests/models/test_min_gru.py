import pytest
import torch
import torch.nn.functional as F

from mmseg_visiongru.models import GRU2DBlock, MinGRU
from mmseg_visiongru.models.min_gru import min_gru_scan
from mmseg_visiongru.ops.reference import min_gru_log_space


def min_gru_per_step(m: MinGRU, y):
    """minGRU written step by step from its equations, always scanning forward."""
    hidden, gate = m.to_hidden_and_gate(y).chunk(2, dim=-1)
    z = torch.sigmoid(gate)
    g = torch.where(hidden >= 0, hidden + 0.5, torch.sigmoid(hidden))
    h, states = torch.zeros_like(hidden[:, 0]), []
    for t in range(y.shape[1]):
        h = (1 - z[:, t]) * h + z[:, t] * g[:, t]
        states.append(h)
    return m.to_out(torch.stack(states, dim=1))


def test_min_gru_matches_per_step_equations():
    torch.manual_seed(0)
    m = MinGRU(6).double()
    y = torch.randn(2, 300, 6, dtype=torch.float64)
    torch.testing.assert_close(m(y), min_gru_per_step(m, y), rtol=1e-10, atol=1e-10)


def test_reverse_min_gru_is_flip_scan_flip():
    torch.manual_seed(0)
    m = MinGRU(6, reverse=True).double()
    y = torch.randn(2, 300, 6, dtype=torch.float64)
    torch.testing.assert_close(m(y), min_gru_per_step(m, y.flip(1)).flip(1))


def test_min_gru_matches_released_log_space_formula():
    torch.manual_seed(0)
    m = MinGRU(8).double()
    y = 3 * torch.randn(2, 200, 8, dtype=torch.float64)
    hidden, gate = m.to_hidden_and_gate(y).chunk(2, dim=-1)
    torch.testing.assert_close(m(y), m.to_out(min_gru_log_space(hidden, gate)))


def test_2dgru_block_matches_direct_reference():
    torch.manual_seed(0)
    H, W, C = 5, 7, 8
    block = GRU2DBlock(C).double()
    for p in block.parameters():  # move off the default init so every term matters
        p.data.normal_(0, 0.3)
    x = torch.randn(2, H * W, C, dtype=torch.float64)

    y = F.layer_norm(x, (C, ), block.norm.weight, block.norm.bias)
    y = y.transpose(1, 2).reshape(2, C, H, W)
    y = F.conv2d(y, block.dw_conv.weight, block.dw_conv.bias, padding=1, groups=C)
    y = y.flatten(2).transpose(1, 2)
    ref = x + min_gru_per_step(block.min_gru_1, y) + \
        min_gru_per_step(block.min_gru_2, y.flip(1)).flip(1)
    mlp_in = F.layer_norm(ref, (C, ), block.norm2.weight, block.norm2.bias)
    ref = ref + block.projection2(F.gelu(block.projection1(mlp_in)))

    torch.testing.assert_close(block(x, (H, W)), ref, rtol=1e-10, atol=1e-10)


def test_block_gradients_flow_to_every_parameter():
    torch.manual_seed(0)
    block = GRU2DBlock(8)
    block(torch.randn(2, 12, 8), (3, 4)).square().mean().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_min_gru_gradients_match_autograd_through_per_step_equations():
    # The minGRU op keeps only hidden and gate and recomputes the rest in backward.
    for reverse in (False, True):
        torch.manual_seed(0)
        m = MinGRU(6, reverse=reverse).double()
        for p in m.parameters():
            p.data.normal_(0, 0.5)
        y = torch.randn(2, 57, 6, dtype=torch.float64, requires_grad=True)
        grads = torch.autograd.grad(m(y).square().sum(), [y, *m.parameters()])
        ref = min_gru_per_step(m, y.flip(1)).flip(1) if reverse else min_gru_per_step(m, y)
        ref_grads = torch.autograd.grad(ref.square().sum(), [y, *m.parameters()])
        for g, r in zip(grads, ref_grads):
            torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-10)


@pytest.fixture(params=['compiled kernel', 'torch ops'])
def scan_path(request, monkeypatch):
    """Runs a test on the CPU kernel and on the torch-op path (what CUDA and half precision
    take)."""
    from mmseg_visiongru.models import min_gru
    if request.param == 'torch ops':
        monkeypatch.setattr(min_gru, '_compiled', lambda proj: False)
    else:
        assert min_gru._compiled(torch.zeros(1, 1, 2))
    return request.param


@pytest.mark.parametrize('reverse', [(False, ), (True, ), (False, True), (True, False, True)])
def test_min_gru_scan_gradcheck(scan_path, reverse):
    torch.manual_seed(0)
    proj = 2 * torch.randn(2, 9, 2 * 3 * len(reverse), dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda p: min_gru_scan(p, reverse), proj.requires_grad_())


@pytest.mark.parametrize('reverse', [(False, ), (False, True)])
def test_min_gru_scan_each_direction_is_one_min_gru(scan_path, reverse):
    # The directions are independent minGRUs on their own channels; I = 300 spans two of the
    # kernel's channel blocks.
    torch.manual_seed(0)
    I = 300
    m = MinGRU(4).double()
    proj = 3 * torch.randn(2, 70, 2 * I * len(reverse), dtype=torch.float64)
    h = min_gru_scan(proj, reverse)
    for k, r in enumerate(reverse):
        hidden, gate = proj[..., 2 * I * k:2 * I * (k + 1)].chunk(2, dim=-1)
        ref = min_gru_log_space(hidden.flip(1), gate.flip(1)).flip(1) if r else \
            min_gru_log_space(hidden, gate)
        torch.testing.assert_close(h[..., I * k:I * (k + 1)], ref)
    with pytest.raises(ValueError, match=r'2 \* I \* 2'):
        min_gru_scan(torch.zeros(1, 4, 6), (False, True))


def test_compiled_float32_kernel_matches_torch_ops(monkeypatch):
    # Its vectorised exp and float32 gates against torch's, forward and backward.
    from mmseg_visiongru.models import min_gru
    torch.manual_seed(0)
    proj = (4 * torch.randn(2, 1000, 2 * 300 * 2)).requires_grad_()
    grad_h = torch.randn(2, 1000, 300 * 2)
    h, = [min_gru_scan(proj, (False, True))]
    grad, = torch.autograd.grad(h, proj, grad_h)
    monkeypatch.setattr(min_gru, '_compiled', lambda proj: False)
    h_ref = min_gru_scan(proj, (False, True))
    grad_ref, = torch.autograd.grad(h_ref, proj, grad_h)
    torch.testing.assert_close(h, h_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grad, grad_ref, rtol=1e-4, atol=1e-4)


def test_2dgru_block_runs_both_directions_as_its_two_min_grus():
    torch.manual_seed(0)
    block = GRU2DBlock(8).double()
    y = torch.randn(2, 30, 8, dtype=torch.float64)
    torch.testing.assert_close(block.bidirectional_min_gru(y),
                               block.min_gru_1(y) + block.min_gru_2(y))


def test_min_gru_half_precision_accumulates_in_float32():
    torch.manual_seed(0)
    m = MinGRU(8)
    y = torch.randn(1, 4096, 8, requires_grad=True)
    ref = m(y)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = m(y)
    out.float().sum().backward()
    assert out.dtype == torch.bfloat16 and torch.isfinite(y.grad).all()
    assert ((out.float() - ref).norm() / ref.norm()).item() < 2e-2


def test_min_gru_scan_takes_non_contiguous_inputs():
    torch.manual_seed(0)
    proj = torch.randn(2, 68, 5).requires_grad_()
    out = min_gru_scan(proj.transpose(1, 2), (False, True))  # (2, 5, 68): strided
    ref = min_gru_scan(proj.transpose(1, 2).contiguous(), (False, True))
    torch.testing.assert_close(out, ref)
    out.sum().backward()
    assert torch.isfinite(proj.grad).all()
