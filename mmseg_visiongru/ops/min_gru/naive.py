"""Naive references of minGRU's gates and scan, for tests and benchmarks: the recurrence as
written, one step per token, and the log-space formulation of the authors' code."""
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def scan_loop(a: Tensor, b: Tensor, reverse: bool = False) -> Tensor:
    """``h_t = a_t h_{t-1} + b_t`` along dim 1 of (B, L, D) exactly as written, one step per
    token, from ``h = 0`` (autograd-friendly)."""
    h = torch.zeros_like(b[:, 0])
    steps = range(a.shape[1] - 1, -1, -1) if reverse else range(a.shape[1])
    out = [None] * a.shape[1]
    for t in steps:
        h = a[:, t] * h + b[:, t]
        out[t] = h
    return torch.stack(out, dim=1)


def scan_log_space(log_a: Tensor, log_b: Tensor) -> Tensor:
    """The log-space scan of minGRU code (Heinsen 2023), for a > 0 and b > 0:
    ``h_t = exp(a*_t + logcumsumexp(log b - a*)_t)`` with ``a* = cumsum(log a)``."""
    a_star = torch.cumsum(log_a, dim=1)
    return torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim=1))


def candidate(hidden: Tensor) -> Tensor:
    """The candidate state ``g(u)``: ``u + 0.5`` for u >= 0, ``sigmoid(u)`` below (positive,
    continuous)."""
    return torch.where(hidden >= 0, hidden + 0.5, hidden.sigmoid())


def min_gru_scan_naive(proj: Tensor, reverse: Sequence[bool] = (False, )) -> Tensor:
    """``h_t = (1 - z_t) * h_{t-1} + z_t * g(hidden_t)`` token by token for each direction,
    differentiable by autograd; run it in float64 as the ground truth.

    Shape:
        proj: (B, L, 2 * I * K), ``[hidden_k, gate_k]`` per direction k -> h: (B, L, I * K).
    """
    hs = []
    for k, p in enumerate(proj.chunk(len(reverse), dim=-1)):
        hidden, gate = p.chunk(2, dim=-1)
        z = torch.sigmoid(gate)
        hs.append(scan_loop(1 - z, z * candidate(hidden), reverse=reverse[k]))
    return torch.cat(hs, dim=-1)


def min_gru_log_space(hidden: Tensor, gate: Tensor) -> Tensor:
    """minGRU's hidden states as the authors' released code computes them, in log space
    (forward direction; (B, L, I) each -> (B, L, I))."""
    log_coeffs = -F.softplus(gate)  # log(1 - z)
    log_z = -F.softplus(-gate)  # log(z)
    log_g = torch.where(hidden >= 0, (F.relu(hidden) + 0.5).log(), -F.softplus(-hidden))
    return scan_log_space(log_coeffs, log_z + log_g)
