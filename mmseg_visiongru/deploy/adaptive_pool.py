"""Adaptive average pooling that exports exactly at every input size.

torch's ONNX export decomposes ``adaptive_avg_pool2d`` into an ``AveragePool`` whose kernel is
fixed at the traced size (or a gather branch chosen by the traced size), so an exported PPM of
UperNet/PSPNet is wrong at other sizes, without an error.  Here the pooling is two products with
averaging matrices built from the input's size at run time,

    Y = P_H X P_W^T,  P_n[i, j] = 1 / (e_i - s_i) for s_i <= j < e_i,
    s_i = floor(i n / b),  e_i = ceil((i + 1) n / b),

the windows ATen's adaptive pooling uses, so it equals ``F.adaptive_avg_pool2d`` (to float
rounding) at every size, including sizes its bins do not divide.
"""
import torch
import torch.nn as nn
from torch import Tensor
from torch.nn.modules.utils import _pair


def pooling_matrix(n: int, bins: int, like: Tensor) -> Tensor:
    """The (bins, n) averaging matrix of adaptive pooling of a length-``n`` axis into
    ``bins`` windows, in ``like``'s dtype and device."""
    i = torch.arange(bins, device=like.device).unsqueeze(1)
    j = torch.arange(n, device=like.device).unsqueeze(0)
    start, end = (i * n) // bins, ((i + 1) * n + bins - 1) // bins
    window = ((j >= start) & (j < end)).to(like.dtype)
    return window / window.sum(dim=1, keepdim=True)


class ExactAdaptiveAvgPool2d(nn.Module):
    """``nn.AdaptiveAvgPool2d(output_size)`` as averaging-matrix products, exact under export
    at any input size.

    Shape:
        (B, C, H, W) -> (B, C, b_H, b_W).
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = _pair(output_size)

    def forward(self, x: Tensor) -> Tensor:
        bins_h, bins_w = (x.shape[-2 + i] if b is None else b
                          for i, b in enumerate(self.output_size))
        if (bins_h, bins_w) == (1, 1):
            return x.mean(dim=(-2, -1), keepdim=True)
        rows = pooling_matrix(x.shape[-2], bins_h, x)
        cols = pooling_matrix(x.shape[-1], bins_w, x)
        return rows @ x @ cols.transpose(0, 1)

    def extra_repr(self) -> str:
        return f'output_size={self.output_size}'


def replace_adaptive_avg_pools(model: nn.Module) -> int:
    """Swap every ``nn.AdaptiveAvgPool2d`` in ``model`` (in place) for
    :class:`ExactAdaptiveAvgPool2d`; returns how many were swapped."""
    swapped = 0
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.AdaptiveAvgPool2d):
                setattr(parent, name, ExactAdaptiveAvgPool2d(child.output_size))
                swapped += 1
    return swapped
