"""minGRU (Feng et al., 2024): a GRU whose gates do not see the previous state."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg_visiongru.ops import linear_scan


def candidate(hidden: Tensor) -> Tensor:
    """The candidate state g(u): u + 0.5 for u >= 0, sigmoid(u) below (positive, continuous)."""
    return torch.where(hidden >= 0, hidden + 0.5, hidden.sigmoid())


class MinGRU(nn.Module):
    """minGRU over a token sequence.

    ``hidden, gate = W x``; ``z = sigmoid(gate)``;
    ``h_t = (1 - z_t) * h_{t-1} + z_t * g(hidden_t)``, ``h_{-1} = 0``; output ``W_out h``.

    Args:
        dim (int): Token channels C.
        expansion (int): Hidden width is ``expansion * C``. Defaults to 2.
        reverse (bool): Scan from the last token to the first. Defaults to False.

    Shape:
        (B, L, C) -> (B, L, C).
    """

    def __init__(self, dim: int, expansion: int = 2, reverse: bool = False):
        super().__init__()
        inner = dim * expansion
        self.reverse = reverse
        self.to_hidden_and_gate = nn.Linear(dim, inner * 2, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        # Two products with the halves of one weight: the same values as chunking one product,
        # without concatenating the two halves' gradients in backward.
        w_hidden, w_gate = self.to_hidden_and_gate.weight.chunk(2)
        hidden, gate = F.linear(x, w_hidden), F.linear(x, w_gate)
        z = gate.sigmoid()
        # 1 - z_t is computed as sigmoid(-gate): the same value, without cancellation near z = 1.
        h = linear_scan((-gate).sigmoid(), z * candidate(hidden), reverse=self.reverse)
        return self.to_out(h)

    def extra_repr(self) -> str:
        return f'reverse={self.reverse}'
