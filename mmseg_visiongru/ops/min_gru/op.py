"""minGRU's gates and scan, the op the model calls.

``proj`` (B, L, 2 * I * K) holds ``[hidden_k, gate_k]`` for each of K directions; the result
(B, L, I * K) is ``[h_1, ..., h_K]`` with

    z_t = sigmoid(gate_t),  h_t = (1 - z_t) * h_{t-1} + z_t * g(hidden_t),  h_{-1} = 0,

run from the last token to the first for the directions flagged in ``reverse``.  Exact: a
linear scan, no log-space approximation; half-precision input accumulates in float32.

Backends (``mmseg_visiongru.ops.backend``): ``'cpp'`` (CPU kernel, csrc/min_gru_scan.cpp),
``'triton'`` (GPU kernels, triton.py), ``'torch'`` (plain PyTorch ops, doubling.py).  On torch
>= 2.4 the forward and the backward are registered as ``torch.library`` custom ops, so
``torch.compile`` keeps the op in its graph as one node (no graph break); on older torch the
same functions run as an autograd Function.  ``cpp`` and ``torch`` keep only
``proj`` for backward and recompute ``h``; ``triton`` reads the forward's ``h``, which the
output projection that consumes it keeps alive anyway.
"""
from typing import List, Optional, Sequence

import torch
from torch import Tensor

from ..backend import resolve
from ..csrc import kernels
from . import doubling

# The name the op registers under (torch.library, torch >= 2.4): what traces and profiles show.
MIN_GRU_SCAN_OP = 'mmseg_visiongru::min_gru_scan'


def _triton():
    from . import triton  # imported on first use: Triton and its interpreter flag are optional
    return triton


def _forward_impl(proj: Tensor, reverse: List[int], backend: str) -> Tensor:
    if backend == 'cpp':
        return kernels().min_gru_scan_forward(proj.contiguous(), [bool(r) for r in reverse])
    if backend == 'triton':
        return _triton().forward(proj, reverse)
    return doubling.forward(proj, reverse)


def _backward_impl(proj: Tensor, h: Optional[Tensor], grad_h: Tensor, reverse: List[int],
                   backend: str) -> Tensor:
    if backend == 'cpp':
        return kernels().min_gru_scan_backward(proj.contiguous(), grad_h.contiguous(),
                                               [bool(r) for r in reverse])
    if backend == 'triton':
        return _triton().backward(proj, h, grad_h, reverse)
    return doubling.backward(proj, grad_h, reverse)


class _MinGRUScan(torch.autograd.Function):
    """The op as an autograd Function: what runs on torch < 2.4, which has no
    ``torch.library.custom_op`` (torch.compile then breaks its graph at the op)."""

    @staticmethod
    def forward(ctx, proj: Tensor, reverse: List[int], backend: str) -> Tensor:
        h = _forward_impl(proj, reverse, backend)
        ctx.reverse, ctx.backend = reverse, backend
        ctx.save_for_backward(proj, h if backend == 'triton' else None)
        return h

    @staticmethod
    def backward(ctx, grad_h: Tensor):
        proj, h = ctx.saved_tensors
        return _backward_impl(proj, h, grad_h.to(proj.dtype), ctx.reverse, ctx.backend), None, None


if hasattr(torch.library, 'custom_op'):  # torch >= 2.4: one node in torch.compile's graph
    _forward = torch.library.custom_op(MIN_GRU_SCAN_OP, mutates_args=())(_forward_impl)
    _backward = torch.library.custom_op(f'{MIN_GRU_SCAN_OP}_backward',
                                        mutates_args=())(_backward_impl)

    @_forward.register_fake
    def _(proj: Tensor, reverse: List[int], backend: str) -> Tensor:
        return proj.new_empty(*proj.shape[:2], proj.shape[2] // 2)

    @_backward.register_fake
    def _(proj: Tensor, h: Optional[Tensor], grad_h: Tensor, reverse: List[int],
          backend: str) -> Tensor:
        return torch.empty_like(proj)

    def _setup_context(ctx, inputs, output):
        proj, reverse, backend = inputs
        ctx.reverse, ctx.backend = reverse, backend
        ctx.save_for_backward(proj, output if backend == 'triton' else None)

    def _grad(ctx, grad_h: Tensor):
        proj, h = ctx.saved_tensors
        return _backward(proj, h, grad_h.to(proj.dtype), ctx.reverse, ctx.backend), None, None

    _forward.register_autograd(_grad, setup_context=_setup_context)
else:
    _forward = _MinGRUScan.apply


def min_gru_scan(proj: Tensor, reverse: Sequence[bool] = (False, ),
                 backend: Optional[str] = None) -> Tensor:
    """minGRU's gates and scan of ``len(reverse)`` directions (see the module docstring).

    Args:
        proj (Tensor): ``[hidden_1, gate_1, ..., hidden_K, gate_K]``, (B, L, 2 * I * K).
        reverse (Sequence[bool]): Per direction, scan from the last token. Defaults to one
            forward direction.
        backend (str, optional): ``'cpp'``, ``'triton'`` or ``'torch'``; None picks the fastest
            that serves ``proj`` (``set_backend`` overrides it for a block of code).

    Returns:
        Tensor: h, (B, L, I * K), in ``proj``'s dtype.
    """
    if proj.dim() != 3 or not reverse or proj.shape[-1] % (2 * len(reverse)):
        raise ValueError(f'min_gru_scan expects (B, L, 2 * I * {len(reverse)}) for '
                         f'{len(reverse)} directions, got {tuple(proj.shape)}')
    if not proj.is_floating_point():
        raise ValueError(f'min_gru_scan expects a floating point tensor, got {proj.dtype}')
    # The flags go to the custom op as ints: torch.jit.trace (mmengine's FLOP counter) cannot
    # trace a list of bools.
    return _forward(proj, [int(bool(r)) for r in reverse], resolve('min_gru_scan', proj, backend))
