"""The ``'torch'`` backend of ``min_gru_scan``: gates and a doubling scan in plain PyTorch ops,
on any device, with the analytic backward (the fallback where no kernel serves)."""
from typing import List, Sequence, Tuple

import torch
from torch import Tensor

from ..backend import ACCUMULATE_IN_FLOAT32
from ..linear_scan import linear_scan_grads, scan_doubling
from .naive import candidate


def directions(proj: Tensor, k: int) -> List[Tuple[Tensor, Tensor]]:
    """The (hidden, gate) views of each of the ``k`` directions in ``proj`` (B, L, 2 * I * k)."""
    return [p.chunk(2, dim=-1) for p in proj.chunk(k, dim=-1)]


def gates_and_scan(hidden: Tensor, gate: Tensor,
                   reverse: bool) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """``z = sigmoid(gate)``, ``a = 1 - z`` (as ``sigmoid(-gate)``: no cancellation near z = 1),
    ``g(hidden)`` and ``h = scan(a, z * g)``, in float32 for half-precision inputs."""
    if gate.dtype in ACCUMULATE_IN_FLOAT32:
        hidden, gate = hidden.float(), gate.float()
    z, a, g = gate.sigmoid(), (-gate).sigmoid(), candidate(hidden)
    return z, a, g, scan_doubling(a, z * g, None, reverse)


def forward(proj: Tensor, reverse: Sequence[bool]) -> Tensor:
    """(B, L, 2 * I * K) -> h (B, L, I * K)."""
    return torch.cat([gates_and_scan(hidden, gate, r)[-1]
                      for (hidden, gate), r in zip(directions(proj, len(reverse)), reverse)],
                     dim=-1).to(proj.dtype)


def backward(proj: Tensor, grad_h: Tensor, reverse: Sequence[bool]) -> Tensor:
    """The gradient with respect to ``proj``, recomputing the gates and ``h``."""
    grads = []
    for (hidden, gate), r, grad_h_k in zip(directions(proj, len(reverse)), reverse,
                                            grad_h.chunk(len(reverse), dim=-1)):
        z, a, g, h = gates_and_scan(hidden, gate, r)
        grad_a, grad_b, _ = linear_scan_grads(a, h, grad_h_k.to(a.dtype), None, r)
        # a = sigmoid(-gate) and b = z * g: da/dgate = -z * a, db/dgate = z * a * g,
        # db/dg = z; g' = 1 for hidden >= 0 and sigmoid' = g * (1 - g) below.
        grads += [grad_b * z * torch.where(hidden >= 0, 1., g * (1 - g)),
                  z * a * (grad_b * g - grad_a)]
    return torch.cat(grads, dim=-1).to(proj.dtype)
