"""The ``'triton'`` backend of ``min_gru_scan``: minGRU's gates and scan fused in Triton kernels.

A program owns one sequence and a block of ``BD`` channels of one direction and walks its tokens
in tiles of ``BT`` (channel-contiguous rows, so loads and stores are coalesced): it computes
``z = sigmoid(gate)``, ``a = 1 - z`` and ``g(hidden)`` in registers (one exponential per input
and one division for all three), scans the tile with ``tl.associative_scan`` under
``(a1, b1) o (a2, b2) = (a1 a2, a2 b1 + b2)`` and carries the state to the next tile.  The
tile loop is software-pipelined (``tl.range(..., num_stages)``: the next tiles' loads are in
flight, as ``cp.async`` copies, while one is scanned).  A reversed direction walks its token
indices backwards (no flipped copies).  States and gradients accumulate in float32 (float64 for
float64 input); ``proj`` is read once and ``h`` written once.  Tile, channels per program, warps
and stages per shape are in ``CONFIGS``, chosen with ``tools/analysis/kernel_report.py``.

When the sequences and channel blocks alone leave multiprocessors idle (few large images), each
sequence is cut into chunks: a first pass writes each chunk's decay product and end state, a
short pass carries the state across chunks, and the full pass starts every chunk from it.

The backward runs against the scan order, ``dL/db_t = dL/dh_t + a_{t+1} dL/db_{t+1}`` (the same
tile scan), reads ``h`` (saved by the op: the output projection keeps it anyway) for
``dL/dgate_t = dL/db_t z_t (g_t - h_t)`` (``= dL/db_t z_t (1 - z_t) (g_t - h_{t-1})``), and
writes ``dL/dproj`` by the chain rule through the gates.
"""
import functools
from typing import NamedTuple, Optional, Sequence, Tuple

import torch
import triton
import triton.language as tl
from torch import Tensor

LOG2E = tl.constexpr(1.4426950408889634)  # exp(x) = exp2(x * LOG2E)


@triton.jit
def _combine(a1, b1, a2, b2):
    """``h -> a1 h + b1`` followed by ``h -> a2 h + b2``."""
    return a1 * a2, a2 * b1 + b2


@triton.jit
def _last_row(x, BT: tl.constexpr):
    """Row ``BT - 1`` of a (BT, BD) tile, as (BD,)."""
    return tl.sum(tl.where(tl.arange(0, BT)[:, None] == BT - 1, x, 0.), axis=0)


@triton.jit
def _gates(hidden, gate):
    """``z = sigmoid(gate)``, ``1 - z``, ``g(hidden)`` and ``g'(hidden)`` (tiles shaped as the
    inputs) from one exponential per input and one division for the three sigmoids (no
    overflow: each exponential is of a number <= 0).

    With ``e = exp(-|gate|)``, ``f = exp(min(hidden, 0))`` (0 above 0) and
    ``r = 1 / ((1 + e) (1 + f))``: ``z = n_z (1 + f) r`` and ``1 - z = n_a (1 + f) r`` with
    ``(n_z, n_a) = (1, e)`` for ``gate >= 0`` else ``(e, 1)``; below 0, ``g = f (1 + e) r`` and
    ``g' = g (1 - g) = g (1 + e) r``.  Returns z, 1 - z, g, g' (g' = 1 at and above 0)."""
    e = tl.exp2(-tl.abs(gate) * LOG2E)
    below = hidden < 0
    f = tl.where(below, tl.exp2(tl.minimum(hidden, 0.) * LOG2E), 0.)
    one_plus_e = 1. + e
    r = 1. / (one_plus_e * (1. + f))
    s = (1. + f) * r  # 1 / (1 + e)
    up = gate >= 0
    z = tl.where(up, s, e * s)
    a = tl.where(up, e * s, s)
    g_below = f * one_plus_e * r
    g = tl.where(below, g_below, hidden + 0.5)
    return z, a, g, tl.where(below, g_below * one_plus_e * r, 1.)


@triton.jit
def _decay(gate):
    """``1 - sigmoid(gate) = sigmoid(-gate)`` from one exponential and one division."""
    e = tl.exp2(-tl.abs(gate) * LOG2E)
    s = 1. / (1. + e)
    return tl.where(gate >= 0, e * s, s)


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
                    CARRY_IN: tl.constexpr, SUMMARY: tl.constexpr, STAGES: tl.constexpr):
    """Program (channel block of direction k, chunk c, sequence).  ``REVERSE`` has bit k set
    for a reversed direction.  SUMMARY: write the chunk's decay product and end state (from a
    zero state) to ``summary`` (2, B, NC, I * K) instead of ``h``; CARRY_IN: start from
    ``carry_in`` (B, NC, I * K).  The tile loads of the next ``STAGES - 1`` tiles are in flight
    while one is scanned."""
    reverse, d_mask, proj_at, h_at, state, carry, start, end = _program(
        carry_in, L, I, CHUNK, REVERSE, K, BD, ACC, CARRY_IN)
    proj_row, h_row = 2 * I * K, I * K
    hidden_ptr = proj + proj_at
    h_ptr = h + h_at
    decay = tl.full([BD], 1., ACC)
    for p0 in tl.range(start, end, BT, num_stages=STAGES):
        p = p0 + tl.arange(0, BT)  # positions in scan order
        t = tl.where(reverse == 1, L - 1 - p, p).to(tl.int64)[:, None]
        inside = (p < end)[:, None]
        mask = inside & d_mask[None, :]
        hidden = tl.load(hidden_ptr + t * proj_row, mask=mask, other=0.).to(ACC)
        gate = tl.load(hidden_ptr + t * proj_row + I, mask=mask, other=0.).to(ACC)
        z, a, g, _ = _gates(hidden, gate)
        a = tl.where(inside, a, 1.)
        b = tl.where(inside, z * g, 0.)
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
                     CARRY_IN: tl.constexpr, SUMMARY: tl.constexpr, STAGES: tl.constexpr):
    """As ``_forward_kernel``, for the gradient: chunk c covers the steps r = c * CHUNK, ...
    against the scan order (scan position p = L - 1 - r); the carried state is dL/db."""
    reverse, d_mask, proj_at, h_at, state, carry, start, end = _program(
        carry_in, L, I, CHUNK, REVERSE, K, BD, ACC, CARRY_IN)
    step = 1 - 2 * reverse  # t(p + 1) - t(p)
    proj_row, h_row = 2 * I * K, I * K
    hidden_ptr, grad_hidden_ptr = proj + proj_at, grad_proj + proj_at
    h_ptr, grad_h_ptr = h + h_at, grad_h + h_at
    decay = tl.full([BD], 1., ACC)
    for r0 in tl.range(start, end, BT, num_stages=STAGES):
        r = r0 + tl.arange(0, BT)
        p = L - 1 - r
        t = tl.where(reverse == 1, L - 1 - p, p).to(tl.int64)[:, None]
        inside = (r < end)[:, None]
        mask = inside & d_mask[None, :]
        has_next = mask & (p + 1 < L)[:, None]
        gate_next = tl.load(hidden_ptr + (t + step) * proj_row + I, mask=has_next,
                            other=0.).to(ACC)
        a_next = tl.where(inside, tl.where(has_next, _decay(gate_next), 0.), 1.)
        dh = tl.load(grad_h_ptr + t * h_row, mask=mask, other=0.).to(ACC)
        a_cum, grad_b = tl.associative_scan((a_next, dh), 0, _combine)
        grad_b += a_cum * carry[None, :]
        if SUMMARY:
            decay *= _last_row(a_cum, BT)
        else:
            hidden = tl.load(hidden_ptr + t * proj_row, mask=mask, other=0.).to(ACC)
            gate = tl.load(hidden_ptr + t * proj_row + I, mask=mask, other=0.).to(ACC)
            h_t = tl.load(h_ptr + t * h_row, mask=mask, other=0.).to(ACC)
            z, _, g, g_prime = _gates(hidden, gate)
            # h_t = (1 - z) h_{t-1} + z g: dh_t/dg = z, dh_t/dgate = z (1 - z) (g - h_{t-1})
            # = z (g - h_t).
            grad_z = grad_b * z
            out = grad_proj.dtype.element_ty
            tl.store(grad_hidden_ptr + t * proj_row, (grad_z * g_prime).to(out), mask=mask)
            tl.store(grad_hidden_ptr + t * proj_row + I, (grad_z * (g - h_t)).to(out),
                     mask=mask)
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


class Config(NamedTuple):
    """A launch configuration of one pass: tokens per tile, channels per program, warps,
    pipeline stages (tiles whose loads are in flight), and the programs resident per
    multiprocessor that the chunking rule counts on (tests/ops/test_min_gru_triton.py checks
    it against the compiled kernels' registers and shared memory)."""
    BT: int
    BD: int
    warps: int
    stages: int
    resident: int


# (most channels I, most tokens L; None: any) -> forward and backward configs, the first row
# that fits wins; chosen with tools/analysis/kernel_report.py (VisionGRU-Ti: I = 144, 288, 576,
# 1152).  16 channels: 288 programs at stage 1 of 512 x 512, batch 16 (32: 160 programs, and 28
# of the 132 SMs run two); 3 stages hide the loads (2 leave a wait exposed each tile); the
# backward's 64-token tiles spill a register at 3 stages in float32, 32-token ones do not; at
# I = 1152 the backward's 32 channels halve the programs (and chunks at 2048 x 2048); its
# shared memory fits 3 programs per A100 SM.
CONFIGS = (
    ((576, None), Config(64, 16, 4, 3, 4), Config(32, 16, 4, 3, 4)),
    ((None, None), Config(64, 16, 4, 3, 4), Config(32, 32, 4, 3, 3)),
)


def config_for(I: int, L: int, backward: bool = False) -> Config:
    """The config of ``CONFIGS`` for width ``I`` and length ``L``, of the forward or backward."""
    for (max_i, max_l), *configs in CONFIGS:
        if (max_i is None or I <= max_i) and (max_l is None or L <= max_l):
            return configs[backward]
    raise ValueError(f'min_gru_scan (triton): no launch config for I={I}, L={L} in CONFIGS')


class Plan(NamedTuple):
    """A launch: grid (K * channel blocks, chunks, B), width I, chunk length in tokens, and the
    kernels' constexprs and launch options."""
    grid: Tuple[int, int, int]
    I: int
    chunk: int
    meta: dict


def default_num_chunks(multiprocessors: Optional[int], programs: int, length: int,
                       config: Config) -> int:
    """Chunks per sequence: one while the (sequence, channel block) programs leave no
    multiprocessor idle (a chunked pass reads ``proj`` twice), else enough to fill every
    multiprocessor with ``config.resident`` programs (chunks of at least 16 tiles).  Always
    one off the GPU (``multiprocessors`` None: the interpreter)."""
    if multiprocessors is None or programs >= multiprocessors:
        return 1
    return max(1, min(triton.cdiv(config.resident * multiprocessors, programs),
                      length // (16 * config.BT)))


def plan(B: int, L: int, width: int, reverse: Sequence[bool], dtype: torch.dtype,
         multiprocessors: Optional[int], backward: bool = False,
         num_chunks: Optional[int] = None, config: Optional[Config] = None) -> Plan:
    """The launch of the forward or backward for ``proj`` (B, L, width) of ``dtype`` on a GPU
    with ``multiprocessors`` (None off the GPU); ``num_chunks`` overrides
    ``default_num_chunks``, ``config`` ``config_for``."""
    K = len(reverse)
    I = width // (2 * K)
    config = config or config_for(I, L, backward)
    blocks = K * triton.cdiv(I, config.BD)
    if num_chunks is None:
        num_chunks = default_num_chunks(multiprocessors, B * blocks, L, config)
    chunk = triton.cdiv(triton.cdiv(L, num_chunks), config.BT) * config.BT
    num_chunks = triton.cdiv(L, chunk)
    if B > 65535 or num_chunks > 65535:
        raise ValueError(f'min_gru_scan (triton): batch {B} or chunk count {num_chunks} is over '
                         "the grid's 65535; split the batch")
    meta = dict(REVERSE=sum(1 << k for k, r in enumerate(reverse) if r), K=K,
                BT=config.BT, BD=config.BD, STAGES=config.stages,
                ACC=tl.float64 if dtype == torch.float64 else tl.float32,
                num_warps=config.warps)
    return Plan((blocks, num_chunks, B), I, chunk, meta)


def _plan(proj: Tensor, reverse: Sequence[bool], backward: bool, num_chunks: Optional[int],
          config: Optional[Config]):
    """The launch for ``proj`` and its chunk state buffers (None for one chunk)."""
    sms = _multiprocessors(proj.device) if proj.device.type == 'cuda' else None
    p = plan(*proj.shape, reverse, proj.dtype, sms, backward, num_chunks, config)
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


def forward(proj: Tensor, reverse: Sequence[bool], num_chunks: Optional[int] = None,
            config: Optional[Config] = None) -> Tensor:
    """(B, L, 2 * I * K) -> h (B, L, I * K) in ``proj``'s dtype; ``num_chunks`` overrides
    ``default_num_chunks``, ``config`` the forward's config in ``CONFIGS``."""
    proj = proj.contiguous()
    B, L, width = proj.shape
    h = proj.new_empty(B, L, width // 2)
    if h.numel() == 0:
        return h
    (grid, I, chunk, meta), buffers = _plan(proj, reverse, False, num_chunks, config)
    if buffers is not None:
        _forward_kernel[grid](proj, h, h, buffers[1], L, I, chunk, CARRY_IN=False,
                              SUMMARY=True, **meta)
        _carry_across_chunks(buffers, grid)
    _forward_kernel[grid](proj, h, h if buffers is None else buffers[0], h, L, I, chunk,
                          CARRY_IN=buffers is not None, SUMMARY=False, **meta)
    return h


def backward(proj: Tensor, h: Tensor, grad_h: Tensor, reverse: Sequence[bool],
             num_chunks: Optional[int] = None, config: Optional[Config] = None) -> Tensor:
    """The gradient with respect to ``proj`` (B, L, 2 * I * K), from ``proj``, the forward's
    ``h`` and ``grad_h`` (B, L, I * K); ``num_chunks`` and ``config`` (the backward's) as in
    ``forward``."""
    proj, h, grad_h = proj.contiguous(), h.contiguous(), grad_h.contiguous()
    grad_proj = torch.empty_like(proj)
    if grad_proj.numel() == 0:
        return grad_proj
    (grid, I, chunk, meta), buffers = _plan(proj, reverse, True, num_chunks, config)
    L = proj.shape[1]
    if buffers is not None:
        _backward_kernel[grid](proj, h, grad_h, grad_proj, h, buffers[1], L, I, chunk,
                               CARRY_IN=False, SUMMARY=True, **meta)
        _carry_across_chunks(buffers, grid)
    _backward_kernel[grid](proj, h, grad_h, grad_proj, h if buffers is None else buffers[0], h,
                           L, I, chunk, CARRY_IN=buffers is not None, SUMMARY=False, **meta)
    return grad_proj
