"""minGRU (Feng et al., 2024): a GRU whose gates do not see the previous state."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg_visiongru.ops.linear_scan import _ACCUMULATE_IN_FLOAT32, _scan, linear_scan_grads


def candidate(hidden: Tensor) -> Tensor:
    """The candidate state g(u): u + 0.5 for u >= 0, sigmoid(u) below (positive, continuous)."""
    return torch.where(hidden >= 0, hidden + 0.5, hidden.sigmoid())


def _gates_and_scan(hidden: Tensor, gate: Tensor,
                    reverse: bool) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """``z = sigmoid(gate)``, ``a = 1 - z`` (as ``sigmoid(-gate)``: no cancellation near z = 1),
    ``g(hidden)`` and ``h = scan(a, z * g)``, in float32 for half-precision inputs."""
    if gate.dtype in _ACCUMULATE_IN_FLOAT32:
        hidden, gate = hidden.float(), gate.float()
    z, a, g = gate.sigmoid(), (-gate).sigmoid(), candidate(hidden)
    return z, a, g, _scan(a, z * g, None, reverse)


class _MinGRUScan(torch.autograd.Function):
    """``h_t = (1 - z_t) * h_{t-1} + z_t * g(hidden_t)``, ``h_{-1} = 0``, keeping only ``hidden``
    and ``gate`` for backward: the gates and ``h`` are recomputed there (one more scan), instead
    of autograd keeping z, 1 - z, sigmoid(hidden), g and h (five tensors of the same shape)."""

    @staticmethod
    def forward(ctx, hidden: Tensor, gate: Tensor, reverse: bool) -> Tensor:
        ctx.save_for_backward(hidden, gate)
        ctx.reverse = reverse
        return _gates_and_scan(hidden, gate, reverse)[-1].to(hidden.dtype)

    @staticmethod
    def backward(ctx, grad_h: Tensor):
        hidden, gate = ctx.saved_tensors
        z, a, g, h = _gates_and_scan(hidden, gate, ctx.reverse)
        grad_a, grad_b, _ = linear_scan_grads(a, h, grad_h.to(a.dtype), None, ctx.reverse)
        # a = sigmoid(-gate) and b = z * g: da/dgate = -z * a, db/dgate = z * a * g, db/dg = z;
        # g' = 1 for hidden >= 0 and sigmoid' = g * (1 - g) below.
        grad_gate = z * a * (grad_b * g - grad_a)
        grad_hidden = grad_b * z * torch.where(hidden >= 0, 1., g * (1 - g))
        return grad_hidden.to(hidden.dtype), grad_gate.to(gate.dtype), None


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
        return self.to_out(_MinGRUScan.apply(hidden, gate, self.reverse))

    def extra_repr(self) -> str:
        return f'reverse={self.reverse}'
