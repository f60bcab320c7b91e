"""minGRU (Feng et al., 2024): a GRU whose gates do not see the previous state."""
import torch.nn as nn
from torch import Tensor

from ..ops import min_gru_scan


class MinGRU(nn.Module):
    """minGRU over a token sequence.

    ``hidden, gate = W x``; ``z = sigmoid(gate)``;
    ``h_t = (1 - z_t) * h_{t-1} + z_t * g(hidden_t)``, ``h_{-1} = 0``; output ``W_out h``.
    The gates and the scan are the op ``mmseg_visiongru.ops.min_gru_scan``.

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
        return self.to_out(min_gru_scan(self.to_hidden_and_gate(x), (self.reverse, )))

    def extra_repr(self) -> str:
        return f'reverse={self.reverse}'
