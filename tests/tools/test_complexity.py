"""The MAC counting of tools.analysis.complexity against hand-computed counts."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.analysis import FlopAnalyzer

from mmseg_visiongru.models import VisionGRU
from mmseg_visiongru.ops import MIN_GRU_SCAN_OP, candidate
from tools.analysis import complexity

ARCH = dict(embed_dims=16, depths=[1, 1, 2, 1])
SIZE = 64


def analytic(arch, size, mlp_ratio=4, expansion=2):
    """(conv + linear MACs, scan MACs) of a VisionGRU on a size x size image, by hand."""
    C = arch['embed_dims']
    side = -(-size // 2)
    macs = 3 * 9 * (C // 2) * side**2  # stem conv 3 -> C/2, stride 2
    side = -(-side // 2)
    macs += (C // 2) * 9 * C * side**2  # stem conv C/2 -> C, stride 2
    scan = 0
    for i, depth in enumerate(arch['depths']):
        c = C * 2**i
        if i:
            side = -(-side // 2)
            macs += (c // 2) * 9 * c * side**2  # downsample conv
        tokens, inner = side**2, expansion * c
        gru = c * 2 * inner + inner * c  # to_hidden_and_gate + to_out
        block = 9 * c + 2 * gru + 2 * mlp_ratio * c * c  # dw conv, two minGRUs, MLP
        macs += depth * block * tokens
        scan += depth * 2 * inner * tokens  # one MAC per channel and step, two scans
    return macs, scan


@pytest.fixture(scope='module')
def tiny():
    torch.manual_seed(0)
    return VisionGRU(ARCH, init_cfg=None).eval(), (torch.randn(1, 3, SIZE, SIZE),)


def test_scan_op_name_and_handle(tiny):
    model, inputs = tiny
    plain = FlopAnalyzer(model, inputs).unsupported_ops_warnings(False)
    without_scan = plain.total()
    assert plain.unsupported_ops()[MIN_GRU_SCAN_OP] == sum(ARCH['depths'])  # one per block

    _, scan = analytic(ARCH, SIZE)
    assert scan == 34816
    with_scan = plain.set_op_handle(MIN_GRU_SCAN_OP, complexity.scan_macs).total()
    assert with_scan - without_scan == scan * (1 + complexity.GATING_OPS)
    analyzer = complexity.flop_analyzer(model, inputs)
    assert analyzer.by_operator()['scan'] == scan
    assert not analyzer.unsupported_ops()


def test_paper_convention_is_conv_plus_linear(tiny):
    model, inputs = tiny
    counts = complexity.flop_analyzer(model, inputs).by_operator()
    macs, scan = analytic(ARCH, SIZE)
    assert complexity.paper_macs(counts) == macs == counts['conv'] + counts['linear']
    # Full: + scan + 8 element-wise ops per minGRU hidden element (3 sigmoid, neg, ge, add,
    # where, mul), counted as if they were separate torch ops, + residual adds, GELUs and
    # LayerNorms.
    assert counts['gating'] == 8 * scan
    hidden, gate = torch.randn(2, 1, 5, 6)
    traced = FlopAnalyzer(Gates(), (hidden, gate)).unsupported_ops_warnings(False)
    separate = traced.set_op_handle(**{f'aten::{op}': complexity.pointwise_ops
                                       for op in complexity.POINTWISE_OPS}).by_operator()
    assert sum(separate.values()) == 8 * hidden.numel()
    assert sum(counts.values()) > macs + 9 * scan


class Gates(nn.Module):
    """minGRU's gates as separate torch ops: the scan's a = 1 - z and b = z g(hidden)."""

    def forward(self, hidden, gate):
        z = gate.sigmoid()
        return (-gate).sigmoid(), z * candidate(hidden)


class Attention(nn.Module):

    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v)


def test_sdpa_handle():
    B, H, N, d = 2, 3, 10, 8
    q, k, v = torch.randn(3, B, H, N, d)
    plain = FlopAnalyzer(Attention(), (q, k, v)).unsupported_ops_warnings(False)
    assert plain.total() == 0 and complexity.SDPA_OP in plain.unsupported_ops()
    counts = complexity.flop_analyzer(Attention(), (q, k, v)).by_operator()
    assert counts == {'attention': 2 * B * N**2 * (H * d), 'softmax': B * H * N**2}
    # Cross-attention with another key length and value width: N*S*(E + Ev) per head.
    k, v = torch.randn(B, H, 12, d), torch.randn(B, H, 12, 5)
    counts = complexity.flop_analyzer(Attention(), (q, k, v)).by_operator()
    assert counts['attention'] == B * H * N * 12 * (d + 5)


def test_deit_small_attention_is_counted():
    model = complexity.build('deit-s', 64)
    counts = complexity.flop_analyzer(model, (torch.randn(1, 3, 64, 64),)).by_operator()
    tokens = (64 // 16)**2 + 1
    assert counts['attention'] == 12 * 2 * tokens**2 * 384
