import torch
import torch.nn.functional as F

from mmseg_visiongru.models import GRU2DBlock, MinGRU
from mmseg_visiongru.ops import min_gru_log_space


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
