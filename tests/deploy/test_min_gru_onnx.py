"""The ONNX translation of min_gru_scan, exported with dynamic batch and length and run in ONNX
Runtime, against the op in PyTorch and the float64 token-by-token reference."""
import onnx
import pytest
import torch
import torch.nn as nn

from mmseg_visiongru.deploy import OnnxModel, check_model, export_onnx
from mmseg_visiongru.ops import min_gru_scan, min_gru_scan_naive

# One direction (the scan's output as is) and two (forward and backward in one Scan).
DIRECTIONS = [(True, ), (False, True)]
I = 4


class Scan(nn.Module):
    """min_gru_scan as a module to export."""

    def __init__(self, reverse):
        super().__init__()
        self.reverse = reverse

    def forward(self, inputs):
        return min_gru_scan(inputs, self.reverse)


def make_proj(B, L, K, seed=0):
    """Gates around -3 (1 - z near 0.95): a long memory, the hardest case for rounding."""
    g = torch.Generator().manual_seed(seed)
    proj = torch.randn(B, L, 2 * I * K, generator=g)
    for k in range(K):
        proj[..., (2 * k + 1) * I:(2 * k + 2) * I] -= 3
    return proj


def rel_err(x, ref):
    return ((torch.as_tensor(x).double() - ref.double()).abs().max() / ref.abs().max()).item()


@pytest.fixture(scope='module', params=DIRECTIONS, ids=['bwd', 'both'])
def exported(request, tmp_path_factory):
    """(reverse, path) of min_gru_scan exported with dynamic batch and length."""
    path = str(tmp_path_factory.mktemp('min_gru_onnx') / 'scan.onnx')
    export_onnx(Scan(request.param).eval(), make_proj(2, 37, len(request.param)), path,
                dynamic_dims={0: 'batch', 1: 'length'})
    return request.param, path


def all_nodes(graph):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.HasField('g'):
                yield from all_nodes(attr.g)


def test_standard_ops_and_no_log_space(exported):
    reverse, path = exported
    check_model(path)  # onnx.checker full check, default domain only
    model = onnx.load(path)
    ops = {node.op_type for node in all_nodes(model.graph)}
    assert 'Scan' in ops
    assert not ops & {'Log', 'Exp', 'CumSum', 'Div'}, ops
    assert {o.domain for o in model.opset_import} <= {'', 'ai.onnx'}


@pytest.mark.parametrize('B,L', [(2, 37), (1, 1), (3, 2), (1, 1000)])
def test_matches_pytorch_any_batch_and_length(exported, B, L):
    reverse, path = exported
    proj = make_proj(B, L, len(reverse), seed=L)
    h = OnnxModel(path)(proj)[0]
    assert h.shape == (B, L, I * len(reverse))
    assert rel_err(h, min_gru_scan(proj, reverse)) <= 1e-6
    assert rel_err(h, min_gru_scan_naive(proj.double(), reverse)) <= 1e-6


@pytest.mark.slow
@pytest.mark.parametrize('L', [16384, 65536])
def test_long_sequences(exported, L):
    """fp32 relative error <= 1e-5 against the op in PyTorch (the C++ kernel on the CPU) and
    the float64 op, at image-scale token counts (1024 x 1024 at stride 4: 65,536)."""
    reverse, path = exported
    proj = make_proj(1, L, len(reverse), seed=1)
    h = OnnxModel(path)(proj)[0]
    assert rel_err(h, min_gru_scan(proj, reverse)) <= 1e-5
    assert rel_err(h, min_gru_scan(proj.double(), reverse)) <= 1e-5


@pytest.mark.slow
def test_half_precision_computes_in_float32(tmp_path):
    proj = make_proj(2, 33, 2)
    path = str(tmp_path / 'half.onnx')
    export_onnx(Scan((False, True)).eval(), proj.half(), path,
                dynamic_dims={0: 'batch', 1: 'length'})
    h = OnnxModel(path).session.run(None, {'input': proj.half().numpy()})[0]
    assert h.dtype == 'float16'
    assert rel_err(h, min_gru_scan_naive(proj.half().double(), (False, True))) <= 1e-3
