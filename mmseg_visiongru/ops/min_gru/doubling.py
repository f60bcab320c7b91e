"""The ``'torch'`` backend of ``min_gru_scan``: gates and a doubling scan in plain PyTorch ops,
on any device, with the analytic backward (the fallback where no kernel serves)."""
from typing import List, Sequence, Tuple

import torch
from torch import Tensor

from ..backend import ACCUMULATE_IN_FLOAT32
from .naive import candidate


def scan_doubling(a: Tensor, b: Tensor, reverse: bool = False) -> Tensor:
    """``h_t = a_t h_{t-1} + b_t`` along dim 1 of (B, L, D) by recursive doubling
    (Hillis-Steele), from ``h = 0``: log2(L) steps of O(B L D).

    Each step composes every element with the one ``step`` positions before it,
    ``(a, b)_t <- (a_t a_{t-step}, a_t b_{t-step} + b_t)``.  Only products of the ``a_t`` are
    formed (no division, no logarithm), so it is as exact as the sequential loop.
    """
    if reverse:
        a, b = a.flip(1), b.flip(1)
    length, step = a.shape[1], 1
    while step < length:
        b = torch.cat([b[:, :step], torch.addcmul(b[:, step:], a[:, step:], b[:, :-step])], 1)
        a = torch.cat([a[:, :step], a[:, step:] * a[:, :-step]], dim=1)
        step *= 2
    return b.flip(1) if reverse else b


def scan_grads(a: Tensor, h: Tensor, grad_h: Tensor, reverse: bool) -> Tuple[Tensor, Tensor]:
    """Gradients of ``h = scan_doubling(a, b)`` with respect to ``a`` and ``b``, from ``a``, the
    forward result ``h`` and ``grad_h``, all (B, L, D).

    In forward order ``dL/db_t = dL/dh_t + a_{t+1} dL/db_{t+1}``: the same recurrence run the
    other way with ``a`` moved one step (the element rolled around the end multiplies the scan's
    zero initial state, so it never matters); then ``dL/da_t = dL/db_t h_{t-1}``, ``h_{-1} = 0``.
    """
    shift = 1 if reverse else -1
    grad_b = scan_doubling(a.roll(shift, 1), grad_h, not reverse)
    h_prev = h.roll(-shift, 1)
    h_prev[:, -1 if reverse else 0] = 0
    return grad_b * h_prev, grad_b


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
    return z, a, g, scan_doubling(a, z * g, reverse)


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
        grad_a, grad_b = scan_grads(a, h, grad_h_k.to(a.dtype), r)
        # a = sigmoid(-gate) and b = z * g: da/dgate = -z * a, db/dgate = z * a * g,
        # db/dg = z; g' = 1 for hidden >= 0 and sigmoid' = g * (1 - g) below.
        grads += [grad_b * z * torch.where(hidden >= 0, 1., g * (1 - g)),
                  z * a * (grad_b * g - grad_a)]
    return torch.cat(grads, dim=-1).to(proj.dtype)
