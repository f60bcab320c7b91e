"""Naive references of the linear scan: the recurrence as written, and the log-space scan
of minGRU code (Heinsen 2023).  For tests and benchmarks."""
from typing import Optional

import torch
from torch import Tensor


def scan_loop(a: Tensor, b: Tensor, h0: Optional[Tensor] = None,
              reverse: bool = False) -> Tensor:
    """The recurrence exactly as written: one step per position (autograd-friendly)."""
    h = torch.zeros_like(b[:, 0]) if h0 is None else h0
    steps = range(a.shape[1] - 1, -1, -1) if reverse else range(a.shape[1])
    out = [None] * a.shape[1]
    for t in steps:
        h = a[:, t] * h + b[:, t]
        out[t] = h
    return torch.stack(out, dim=1)


def scan_log_space(log_a: Tensor, log_b: Tensor) -> Tensor:
    """The log-space scan common in minGRU code (Heinsen 2023), for a > 0 and b > 0.

    ``h_t = exp(a*_t + logcumsumexp(log b - a*)_t)`` with ``a* = cumsum(log a)``.
    """
    a_star = torch.cumsum(log_a, dim=1)
    return torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim=1))
