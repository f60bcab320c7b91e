"""The ``'triton'`` backend of ``min_gru_scan``: minGRU's gates and scan fused in Triton kernels.

A program owns one sequence and a block of ``BLOCK_D`` channels of one direction and walks its
tokens in tiles of ``BLOCK_T`` (channel-contiguous rows, so loads and stores are coalesced): it
computes ``z = sigmoid(gate)``, ``a = 1 - z = sigmoid(-gate)`` and ``g(hidden)`` in registers,
scans the tile with ``tl.associative_scan`` under ``(a1, b1) o (a2, b2) = (a1 a2, a2 b1 + b2)``
and carries the state to the next tile.  A reversed direction walks its token indices backwards
(no flipped copies).  States and gradients accumulate in float32 (float64 for float64 input);
``proj`` is read once and ``h`` written once.

When the sequences and channel blocks alone are too few to fill the GPU (few large images),
each sequence is cut into chunks: a first pass writes each chunk's decay product and end state,
a short pass carries the state across chunks, and the full pass starts every chunk from it.

The backward runs against the scan order, ``dL/db_t = dL/dh_t + a_{t+1} dL/db_{t+1}`` (the same
tile scan), reads ``h`` (saved by the op: the output projection keeps it anyway) for
``dL/da_t = dL/db_t h_{t-1}``, and writes ``dL/dproj`` by the chain rule through the gates.
"""
import functools
from typing import NamedTuple, Optional, Sequence, Tuple

import torch
import triton
import triton.language as tl
from torch import Tensor

BLOCK_T = 64  # tokens per tile
BLOCK_D = 32  # channels per tile: 128-byte rows in float32


@triton.jit
def _combine(a1, b1, a2, b2):
    """``h -> a1 h + b1`` followed by ``h -> a2 h + b2``."""
    return a1 * a2, a2 * b1 + b2


@triton.jit
def _last_row(x, BT: tl.constexpr):
    """Row ``BT - 1`` of a (BT, BD) tile, as (BD,)."""
    return tl.sum(tl.where(tl.arange(0, BT)[:, None] == BT - 1, x, 0.), axis=0)


@triton.jit
def _program(carry_in, L, I, CHUNK, REVERSE, K: tl.constexpr, BD: tl.constexpr,
             ACC: tl.constexpr, CARRY_IN: tl.constexpr):
    """What program (channel block of direction k, chunk c, sequence) works on: whether k is
    reversed (bit k of ``REVERSE``), its channel mask (BD,), the offsets of its hidden channels
    in a ``proj`` row and of its channels in an ``h`` row (1, BD) at token 0 of its sequence,
    its offset (BD,) in the chunk buffers (B, NC, I * K), the state it starts from (``carry_in``
    or zero), and the first and the end step of its chunk."""
    blocks = tl.cdiv(I, BD)
    k = tl.program_id(0) // blocks
    d = (tl.program_id(0) % blocks) * BD + tl.arange(0, BD)
    c = tl.program_id(1)
    seq = tl.program_id(2).to(tl.int64)
    d_mask = d < I
    proj_at = seq * L * 2 * I * K + k * 2 * I + d[None, :]
    h_at = seq * L * I * K + k * I + d[None, :]
    state = (seq * tl.num_programs(1) + c) * I * K + k * I + d
    if CARRY_IN:
        carry = tl.load(carry_in + state, mask=d_mask, other=0.).to(ACC)
    else:
        carry = tl.zeros([BD], ACC)
    start = c * CHUNK
    return (REVERSE >> k) & 1, d_mask, proj_at, h_at, state, carry, start, \
        tl.minimum(start + CHUNK, L)


@triton.jit
def _store_summary(summary, state, decay, carry, d_mask, ROW):
    """A chunk's decay product and end state into ``summary`` (2, B, NC, ROW)."""
    tl.store(summary + state, decay, mask=d_mask)
    tl.store(summary + tl.num_programs(2) * tl.num_programs(1) * ROW + state, carry, mask=d_mask)


@triton.jit
def _forward_kernel(proj, h, carry_in, summary, L, I, CHUNK, REVERSE,
                    K: tl.constexpr, BT: tl.constexpr, BD: tl.constexpr, ACC: tl.constexpr,
                    CARRY_IN: tl.constexpr, SUMMARY: tl.constexpr):
    """Program (channel block of direction k, chunk c, sequence).  ``REVERSE`` has bit k set
    for a reversed direction.  SUMMARY: write the chunk's decay product and end state (from a
    zero state) to ``summary`` (2, B, NC, I * K) instead of ``h``; CARRY_IN: start from
    ``carry_in`` (B, NC, I * K)."""
    reverse, d_mask, proj_at, h_at, state, carry, start, end = _program(
        carry_in, L, I, CHUNK, REVERSE, K, BD, ACC, CARRY_IN)
    proj_row, h_row = 2 * I * K, I * K
    hidden_ptr = proj + proj_at
    h_ptr = h + h_at
    decay = tl.full([BD], 1., ACC)
    for p0 in range(start, end, BT):
        p = p0 + tl.arange(0, BT)  # positions in scan order
        t = tl.where(reverse == 1, L - 1 - p, p).to(tl.int64)[:, None]
        mask = (p < end)[:, None] & d_mask[None, :]
        hidden = tl.load(hidden_ptr + t * proj_row, mask=mask, other=0.).to(ACC)
        gate = tl.load(hidden_ptr + t * proj_row + I, mask=mask, other=0.).to(ACC)
        g = tl.where(hidden >= 0, hidden + 0.5, tl.sigmoid(hidden))
        a = tl.where(mask, tl.sigmoid(-gate), 1.)
        b = tl.where(mask, tl.sigmoid(gate) * g, 0.)
        a_cum, b_cum = tl.associative_scan((a, b), 0, _combine)
        h_tile = a_cum * carry[None, :] + b_cum
        if SUMMARY:
            decay *= _last_row(a_cum, BT)
        else:
            tl.store(h_ptr + t * h_row, h_tile.to(h.dtype.element_ty), mask=mask)
        carry = _last_row(h_tile, BT)
    if SUMMARY:
        _store_summary(summary, state, decay, carry, d_mask, h_row)


@triton.jit
def _backward_kernel(proj, h, grad_h, grad_proj, carry_in, summary, L, I, CHUNK, REVERSE,
                     K: tl.constexpr, BT: tl.constexpr, BD: tl.constexpr, ACC: tl.constexpr,
                     CARRY_IN: tl.constexpr, SUMMARY: tl.constexpr):
    """As ``_forward_kernel``, for the gradient: chunk c covers the steps r = c * CHUNK, ...
    against the scan order (scan position p = L - 1 - r); the carried state is dL/db."""
    reverse, d_mask, proj_at, h_at, state, carry, start, end = _program(
        carry_in, L, I, CHUNK, REVERSE, K, BD, ACC, CARRY_IN)
    step = 1 - 2 * reverse  # t(p + 1) - t(p)
    proj_row, h_row = 2 * I * K, I * K
    hidden_ptr, grad_hidden_ptr = proj + proj_at, grad_proj + proj_at
    h_ptr, grad_h_ptr = h + h_at, grad_h + h_at
    decay = tl.full([BD], 1., ACC)
    for r0 in range(start, end, BT):
        r = r0 + tl.arange(0, BT)
        p = L - 1 - r
        t = tl.where(reverse == 1, L - 1 - p, p).to(tl.int64)[:, None]
        mask = (r < end)[:, None] & d_mask[None, :]
        has_next = mask & (p + 1 < L)[:, None]
        gate_next = tl.load(hidden_ptr + (t + step) * proj_row + I, mask=has_next,
                            other=0.).to(ACC)
        a_next = tl.where(mask, tl.where(has_next, tl.sigmoid(-gate_next), 0.), 1.)
        dh = tl.load(grad_h_ptr + t * h_row, mask=mask, other=0.).to(ACC)
        a_cum, grad_b = tl.associative_scan((a_next, dh), 0, _combine)
        grad_b += a_cum * carry[None, :]
        if SUMMARY:
            decay *= _last_row(a_cum, BT)
        else:
            hidden = tl.load(hidden_ptr + t * proj_row, mask=mask, other=0.).to(ACC)
            gate = tl.load(hidden_ptr + t * proj_row + I, mask=mask, other=0.).to(ACC)
            h_prev = tl.load(h_ptr + (t - step) * h_row, mask=mask & (p >= 1)[:, None],
                             other=0.).to(ACC)
            z, a = tl.sigmoid(gate), tl.sigmoid(-gate)
            g = tl.where(hidden >= 0, hidden + 0.5, tl.sigmoid(hidden))
            # a = sigmoid(-gate), b = z g: da/dgate = -z a, db/dgate = z a g, db/dg = z,
            # dL/da = dL/db h_prev; g' = 1 for hidden >= 0, g (1 - g) below.
            grad_hidden = grad_b * z * tl.where(hidden >= 0, 1., g * (1 - g))
            grad_gate = z * a * grad_b * (g - h_prev)
            out = grad_proj.dtype.element_ty
            tl.store(grad_hidden_ptr + t * proj_row, grad_hidden.to(out), mask=mask)
            tl.store(grad_hidden_ptr + t * proj_row + I, grad_gate.to(out), mask=mask)
        carry = _last_row(grad_b, BT)
    if SUMMARY:
        _store_summary(summary, state, decay, carry, d_mask, h_row)


@triton.jit
def _carry_kernel(summary, carry_in, NC, ROW, BD: tl.constexpr):
    """Carry the states across chunks: ``carry_in[b, 0] = 0``,
    ``carry_in[b, c] = decay[b, c - 1] * carry_in[b, c - 1] + end[b, c - 1]``."""
    d = tl.program_id(0) * BD + tl.arange(0, BD)
    seq = tl.program_id(1).to(tl.int64)
    mask = d < ROW
    second = tl.num_programs(1) * NC * ROW
    state = tl.zeros([BD], summary.dtype.element_ty)
    for c in range(0, NC):
        offset = (seq * NC + c) * ROW + d
        tl.store(carry_in + offset, state, mask=mask)
        decay = tl.load(summary + offset, mask=mask, other=0.)
        state = decay * state + tl.load(summary + second + offset, mask=mask, other=0.)


@functools.lru_cache
def _multiprocessors(device: torch.device) -> int:
    return torch.cuda.get_device_properties(device).multi_processor_count


class Plan(NamedTuple):
    """A launch: grid (K * channel blocks, chunks, B), width I, chunk length in tokens, and
    the kernels' constexprs and launch options."""
    grid: Tuple[int, int, int]
    I: int
    chunk: int
    meta: dict


def default_num_chunks(multiprocessors: Optional[int], programs: int, length: int) -> int:
    """Chunks per sequence: one while the (sequence, channel block) programs fill every
    multiprocessor, else enough for about two programs per multiprocessor (chunks of at least
    16 tiles).  Always one off the GPU (``multiprocessors`` None: the interpreter)."""
    if multiprocessors is None or programs >= multiprocessors:
        return 1
    return max(1, min(triton.cdiv(2 * multiprocessors, programs),
                      triton.cdiv(length, 16 * BLOCK_T)))


def plan(B: int, L: int, width: int, reverse: Sequence[bool], dtype: torch.dtype,
         multiprocessors: Optional[int], num_chunks: Optional[int] = None) -> Plan:
    """The launch for ``proj`` (B, L, width) of ``dtype`` on a GPU with ``multiprocessors``
    (None off the GPU); ``num_chunks`` overrides ``default_num_chunks``."""
    K = len(reverse)
    I = width // (2 * K)
    blocks = K * triton.cdiv(I, BLOCK_D)
    if num_chunks is None:
        num_chunks = default_num_chunks(multiprocessors, B * blocks, L)
    chunk = triton.cdiv(triton.cdiv(L, num_chunks), BLOCK_T) * BLOCK_T
    num_chunks = triton.cdiv(L, chunk)
    if B > 65535 or num_chunks > 65535:
        raise ValueError(f'min_gru_scan (triton): batch {B} or chunk count {num_chunks} is over '
                         "the grid's 65535; split the batch")
    meta = dict(REVERSE=sum(1 << k for k, r in enumerate(reverse) if r), K=K,
                BT=BLOCK_T, BD=BLOCK_D,
                ACC=tl.float64 if dtype == torch.float64 else tl.float32,
                num_warps=4, num_stages=3)
    return Plan((blocks, num_chunks, B), I, chunk, meta)


def _plan(proj: Tensor, reverse: Sequence[bool], num_chunks: Optional[int]):
    """The launch for ``proj`` and its chunk state buffers (None for one chunk)."""
    sms = _multiprocessors(proj.device) if proj.device.type == 'cuda' else None
    p = plan(*proj.shape, reverse, proj.dtype, sms, num_chunks)
    buffers = None
    if p.grid[1] > 1:
        B, NC, acc = p.grid[2], p.grid[1], torch.float64 if proj.dtype == torch.float64 \
            else torch.float32
        buffers = (proj.new_empty(B, NC, p.I * len(reverse), dtype=acc),
                   proj.new_empty(2, B, NC, p.I * len(reverse), dtype=acc))
    return p, buffers


def _carry_across_chunks(buffers, grid) -> None:
    carry_in, summary = buffers
    row = carry_in.shape[-1]
    _carry_kernel[(triton.cdiv(row, 128), grid[2])](summary, carry_in, grid[1], row, BD=128)


def forward(proj: Tensor, reverse: Sequence[bool], num_chunks: Optional[int] = None) -> Tensor:
    """(B, L, 2 * I * K) -> h (B, L, I * K) in ``proj``'s dtype; ``num_chunks`` overrides
    ``default_num_chunks``."""
    proj = proj.contiguous()
    B, L, width = proj.shape
    h = proj.new_empty(B, L, width // 2)
    if h.numel() == 0:
        return h
    (grid, I, chunk, meta), buffers = _plan(proj, reverse, num_chunks)
    if buffers is not None:
        _forward_kernel[grid](proj, h, h, buffers[1], L, I, chunk, CARRY_IN=False,
                              SUMMARY=True, **meta)
        _carry_across_chunks(buffers, grid)
    _forward_kernel[grid](proj, h, h if buffers is None else buffers[0], h, L, I, chunk,
                          CARRY_IN=buffers is not None, SUMMARY=False, **meta)
    return h


def backward(proj: Tensor, h: Tensor, grad_h: Tensor, reverse: Sequence[bool],
             num_chunks: Optional[int] = None) -> Tensor:
    """The gradient with respect to ``proj`` (B, L, 2 * I * K), from ``proj``, the forward's
    ``h`` and ``grad_h`` (B, L, I * K)."""
    proj, h, grad_h = proj.contiguous(), h.contiguous(), grad_h.contiguous()
    grad_proj = torch.empty_like(proj)
    if grad_proj.numel() == 0:
        return grad_proj
    (grid, I, chunk, meta), buffers = _plan(proj, reverse, num_chunks)
    L = proj.shape[1]
    if buffers is not None:
        _backward_kernel[grid](proj, h, grad_h, grad_proj, h, buffers[1], L, I, chunk,
                               CARRY_IN=False, SUMMARY=True, **meta)
        _carry_across_chunks(buffers, grid)
    _backward_kernel[grid](proj, h, grad_h, grad_proj, h if buffers is None else buffers[0], h,
                           L, I, chunk, CARRY_IN=buffers is not None, SUMMARY=False, **meta)
    return grad_proj
