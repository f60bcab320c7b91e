"""minGRU (Feng et al., 2024): a GRU whose gates do not see the previous state."""
from typing import Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmseg_visiongru.ops.linear_scan import (_ACCUMULATE_IN_FLOAT32, _ext, _scan,
                                             linear_scan_grads)


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


def _compiled(proj: Tensor) -> bool:
    """Whether the fused CPU kernel runs ``proj`` (CUDA and half precision take torch ops)."""
    return proj.device.type == 'cpu' and proj.dtype in (torch.float32, torch.float64) and \
        _ext is not None


def _directions(proj: Tensor, reverse: Tuple[bool, ...]):
    """The (hidden, gate) views of each direction in ``proj``."""
    return [p.chunk(2, dim=-1) for p in proj.chunk(len(reverse), dim=-1)]


class _MinGRUScan(torch.autograd.Function):
    """minGRU's gates and scan for K directions at once: ``proj`` (B, L, 2 * I * K) holds
    ``[hidden_k, gate_k]`` for each direction k, the result (B, L, I * K) is ``[h_1, ..., h_K]``
    with ``h_t = (1 - z_t) * h_{t-1} + z_t * g(hidden_t)``, ``h_{-1} = 0``, run backwards for the
    directions flagged in ``reverse``.

    Only ``proj`` is kept for backward, which recomputes the gates and ``h`` (one more scan)
    instead of autograd keeping z, 1 - z, sigmoid(hidden), g and h.  On the CPU one compiled
    kernel does the gates and the scan of every direction in one pass (two in backward).
    """

    @staticmethod
    def forward(ctx, proj: Tensor, reverse: Tuple[bool, ...]) -> Tensor:
        ctx.save_for_backward(proj)
        ctx.reverse = reverse
        if _compiled(proj):
            return _ext.min_gru_scan_forward(proj.contiguous(), list(reverse))
        return torch.cat([_gates_and_scan(hidden, gate, r)[-1]
                          for (hidden, gate), r in zip(_directions(proj, reverse), reverse)],
                         dim=-1).to(proj.dtype)

    @staticmethod
    def backward(ctx, grad_h: Tensor):
        proj, = ctx.saved_tensors
        if _compiled(proj):
            grad = _ext.min_gru_scan_backward(proj.contiguous(), grad_h.contiguous(),
                                              list(ctx.reverse))
            return grad, None
        grads = []
        for (hidden, gate), r, grad_h_k in zip(_directions(proj, ctx.reverse), ctx.reverse,
                                                grad_h.chunk(len(ctx.reverse), dim=-1)):
            z, a, g, h = _gates_and_scan(hidden, gate, r)
            grad_a, grad_b, _ = linear_scan_grads(a, h, grad_h_k.to(a.dtype), None, r)
            # a = sigmoid(-gate) and b = z * g: da/dgate = -z * a, db/dgate = z * a * g,
            # db/dg = z; g' = 1 for hidden >= 0 and sigmoid' = g * (1 - g) below.
            grads += [grad_b * z * torch.where(hidden >= 0, 1., g * (1 - g)),
                      z * a * (grad_b * g - grad_a)]
        return torch.cat(grads, dim=-1).to(proj.dtype), None


def min_gru_scan(proj: Tensor, reverse: Tuple[bool, ...] = (False, )) -> Tensor:
    """minGRU's gates and scan of ``len(reverse)`` directions, see ``_MinGRUScan``.

    Shape:
        proj: (B, L, 2 * I * K) -> h: (B, L, I * K), K = ``len(reverse)``.
    """
    if proj.dim() != 3 or proj.shape[-1] % (2 * len(reverse)):
        raise ValueError(f'min_gru_scan expects (B, L, 2 * I * {len(reverse)}) for '
                         f'{len(reverse)} directions, got {tuple(proj.shape)}')
    return _MinGRUScan.apply(proj, tuple(reverse))


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
        return self.to_out(min_gru_scan(self.to_hidden_and_gate(x), (self.reverse, )))

    def extra_repr(self) -> str:
        return f'reverse={self.reverse}'
