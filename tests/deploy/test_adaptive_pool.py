"""Adaptive average pooling exported once with dynamic sizes equals PyTorch's at every size,
including sizes the bins do not divide (where an exported nn.AdaptiveAvgPool2d is wrong)."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg_visiongru.deploy import ExactAdaptiveAvgPool2d, OnnxModel, export_onnx
from mmseg_visiongru.deploy.adaptive_pool import replace_adaptive_avg_pools

BINS = (1, 2, 3, 6)  # UperNet's and PSPNet's pyramid


class Pyramid(nn.Module):

    def __init__(self, pool=nn.AdaptiveAvgPool2d):
        super().__init__()
        self.pools = nn.ModuleList(pool(b) for b in BINS)

    def forward(self, inputs):
        return tuple(p(inputs) for p in self.pools)


@pytest.mark.parametrize('size', [(25, 31), (6, 6), (7, 13), (1, 5), (64, 128)])
def test_eager_equals_adaptive_avg_pool(size):
    x = torch.randn(2, 3, *size, dtype=torch.float64)
    for b in BINS + ((2, 5), (None, 3)):
        expected = F.adaptive_avg_pool2d(x, b)
        torch.testing.assert_close(ExactAdaptiveAvgPool2d(b)(x), expected, rtol=0, atol=1e-12)


def test_replace_adaptive_avg_pools():
    model = nn.Sequential(Pyramid(), nn.Conv2d(3, 3, 1))
    assert replace_adaptive_avg_pools(model) == len(BINS)
    assert all(isinstance(p, ExactAdaptiveAvgPool2d) for p in model[0].pools)
    assert [p.output_size for p in model[0].pools] == [(b, b) for b in BINS]


def test_exported_once_exact_at_every_size(tmp_path):
    path = str(tmp_path / 'pyramid.onnx')
    export_onnx(Pyramid(ExactAdaptiveAvgPool2d).eval(), torch.randn(2, 3, 25, 31), path)
    # sizes the bins divide or not, smaller than the bins, other batches
    session = OnnxModel(path)
    for batch, *size in [(2, 25, 31), (1, 40, 50), (3, 36, 36), (1, 3, 5), (1, 7, 7)]:
        x = torch.randn(batch, 3, *size)
        for out, b in zip(session(x), BINS):
            torch.testing.assert_close(torch.from_numpy(out), F.adaptive_avg_pool2d(x, b),
                                       rtol=1e-6, atol=1e-6)
