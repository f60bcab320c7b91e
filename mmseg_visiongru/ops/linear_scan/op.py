"""The first-order linear recurrence ``h_t = a_t * h_{t-1} + b_t`` over the sequence dimension
of (B, L, D) tensors, exact (no log-space tricks), in either direction, with a hand-written
backward that is itself a linear scan run the other way.

Backends (``mmseg_visiongru.ops.backend``): ``'cpp'``, one sequential pass over the data on the
CPU; ``'torch'``, a log-depth doubling scan in plain PyTorch on any device.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from ..backend import ACCUMULATE_IN_FLOAT32, kernels_cpu, resolve

SUPPORTED = ('cpp', 'torch')


def scan_doubling(a: Tensor, b: Tensor, h0: Optional[Tensor] = None,
                  reverse: bool = False) -> Tensor:
    """Device-agnostic scan by recursive doubling (Hillis-Steele): log2(L) steps of O(B*L*D).

    Each step composes every element with the one ``step`` positions before it,
    ``(a, b)_t <- (a_t * a_{t-step}, a_t * b_{t-step} + b_t)``.  Only products of the ``a_t`` are
    formed (no division, no logarithm), so it is as exact as the sequential loop.
    """
    if reverse:
        a, b = a.flip(1), b.flip(1)
    if h0 is not None:
        b = torch.cat([torch.addcmul(b[:, :1], a[:, :1], h0[:, None]), b[:, 1:]], dim=1)
    length, step = a.shape[1], 1
    while step < length:
        b = torch.cat([b[:, :step], torch.addcmul(b[:, step:], a[:, step:], b[:, :-step])], 1)
        a = torch.cat([a[:, :step], a[:, step:] * a[:, :-step]], dim=1)
        step *= 2
    return b.flip(1) if reverse else b


def scan(a: Tensor, b: Tensor, h0: Optional[Tensor], reverse: bool, backend: str) -> Tensor:
    """The forward scan on ``backend`` (no autograd, no dtype handling)."""
    if backend == 'cpp':
        return kernels_cpu.linear_scan(a.contiguous(), b.contiguous(),
                                a.new_empty(0) if h0 is None else h0.contiguous(), reverse)
    return scan_doubling(a, b, h0, reverse)


def linear_scan_grads(a: Tensor, h: Tensor, grad_h: Tensor, h0: Optional[Tensor] = None,
                      reverse: bool = False,
                      backend: str = 'torch') -> Tuple[Tensor, Tensor, Optional[Tensor]]:
    """Gradients of ``h = scan(a, b, h0)`` with respect to ``a``, ``b`` and ``h0`` (None without
    ``h0``), from ``a``, the forward result ``h`` and ``grad_h``, all (B, L, D).

    In forward order ``dL/db_t = dL/dh_t + a_{t+1} * dL/db_{t+1}``: the same recurrence run the
    other way with ``a`` moved one step (the element rolled around the end multiplies the scan's
    zero initial state, so it never matters); then ``dL/da_t = dL/db_t * h_{t-1}`` with
    ``h_{-1} = h0`` (or 0) and ``dL/dh0 = a_0 * dL/db_0``.
    """
    shift = 1 if reverse else -1
    grad_b = scan(a.roll(shift, 1), grad_h, None, not reverse, backend)
    h_prev = h.roll(-shift, 1)
    first = -1 if reverse else 0
    h_prev[:, first] = 0 if h0 is None else h0
    grad_h0 = None if h0 is None else a[:, first] * grad_b[:, first]
    return grad_b * h_prev, grad_b, grad_h0


class _LinearScan(torch.autograd.Function):

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, h0: Optional[Tensor], reverse: bool,
                backend: str) -> Tensor:
        h = scan(a, b, h0, reverse, backend)
        ctx.save_for_backward(a, h, h0)
        ctx.reverse, ctx.backend = reverse, backend
        return h

    @staticmethod
    def backward(ctx, grad_h: Tensor):
        a, h, h0 = ctx.saved_tensors
        grad_a, grad_b, grad_h0 = linear_scan_grads(a, h, grad_h, h0, ctx.reverse, ctx.backend)
        return grad_a, grad_b, grad_h0 if ctx.needs_input_grad[2] else None, None, None


def linear_scan(a: Tensor, b: Tensor, h0: Optional[Tensor] = None, reverse: bool = False,
                backend: Optional[str] = None) -> Tensor:
    """Solve ``h_t = a_t * h_{t-1} + b_t`` along dim 1.

    Args:
        a (Tensor): Decay coefficients, shape (B, L, D).
        b (Tensor): Inputs, shape (B, L, D).
        h0 (Tensor, optional): Initial state h_{-1}, shape (B, D). Defaults to zeros.
        reverse (bool): Run from t = L-1 down to 0, i.e. ``h_t = a_t * h_{t+1} + b_t``
            (with h_L = h0). Defaults to False.
        backend (str, optional): ``'cpp'`` or ``'torch'``; None picks cpp for CPU tensors.

    Returns:
        Tensor: h, shape (B, L, D), in the dtype of ``b``.  float16/bfloat16 inputs are
        accumulated in float32.
    """
    if a.dim() != 3 or a.shape != b.shape:
        raise ValueError('linear_scan expects a and b of one shape (B, L, D), got '
                         f'{tuple(a.shape)} and {tuple(b.shape)}')
    if h0 is not None and h0.shape != (a.shape[0], a.shape[2]):
        raise ValueError(f'linear_scan expects h0 of shape (B, D) = '
                         f'{(a.shape[0], a.shape[2])}, got {tuple(h0.shape)}')
    out_dtype = b.dtype
    dtype = torch.promote_types(a.dtype, b.dtype)
    if dtype in ACCUMULATE_IN_FLOAT32:
        dtype = torch.float32
    a, b = a.to(dtype).contiguous(), b.to(dtype).contiguous()
    if h0 is not None:
        h0 = h0.to(dtype).contiguous()
    backend = resolve('linear_scan', a, backend, SUPPORTED)
    return _LinearScan.apply(a, b, h0, reverse, backend).to(out_dtype)
