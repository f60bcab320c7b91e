"""Speed, memory bandwidth and error of the scan ops against their baselines, in one process.

    .venv/bin/python -m tools.analysis.benchmark_scan                 # CPU
    python -m tools.analysis.benchmark_scan --device cuda             # GPU

``min_gru_scan``, minGRU's gates and scan of both directions of a 2DGRU block, on every
   backend that serves the device, against the authors' formulation (log space, autograd) and,
   where ``fla-core`` is installed, flash-linear-attention's Triton HGRN kernel
   (``chunk_hgrn``: the same recurrence, ``h_t = exp(g_t) h_{t-1} + x_t``, gates computed
   outside, the reversed direction by flipped copies).  Forward and forward+backward, with the
   bandwidth each reaches on the op's unavoidable traffic (forward: read ``proj``, write ``h``;
   backward: read ``proj`` and ``dL/dh``, write ``dL/dproj``).

Methods run interleaved, round by round, after a warm-up round; times are medians (CUDA events
on the GPU).  Errors are max |h - h_ref| / max |h_ref| of the float32 forward against float64.
The tables are printed as markdown.
"""
import argparse
from datetime import date
from typing import Callable, Dict

import torch
import torch.nn.functional as F

from mmseg_visiongru.ops import BACKENDS, candidate, min_gru_log_space, min_gru_scan
from mmseg_visiongru.ops.backend import why_not

from .report import write_table
from .timing import interleaved

# (B, L, I) of minGRU's gates and scan in VisionGRU-Ti's 2DGRU blocks.
GATE_SHAPES = {
    'cpu': {'stage 1 @ 512x512, batch 1 (L=16384, I=144)': (1, 16384, 144),
            'stage 3 @ 512x512, batch 1 (L=1024, I=576)': (1, 1024, 576)},
    'cuda': {'stage 1 @ 512x512, batch 16 (L=16384, I=144)': (16, 16384, 144),
             'stage 3 @ 512x512, batch 16 (L=1024, I=576)': (16, 1024, 576),
             'stage 1 @ 2048x2048, batch 1 (L=262144, I=144)': (1, 262144, 144)},
}
# --smoke: tiny shapes, to check the script itself on any machine.
SMOKE_GATE_SHAPES = {'B=2, L=256, I=8': (2, 256, 8)}


def rel_err(h: torch.Tensor, ref: torch.Tensor) -> float:
    return ((h.double() - ref).abs().max() / ref.abs().max()).item()


def fwd_bwd(fn, *inputs):
    """A run of forward+backward of ``fn`` on fresh leaves of ``inputs``."""
    leaves = [x.detach().requires_grad_() for x in inputs]
    return lambda: fn(*leaves).sum().backward()


def authors_log_space(proj: torch.Tensor) -> torch.Tensor:
    """Both directions as the authors' code runs them: log space, the backward direction on
    flipped copies, autograd for the gradient."""
    forward, backward = [p.chunk(2, dim=-1) for p in proj.chunk(2, dim=-1)]
    flipped = min_gru_log_space(*(x.flip(1) for x in backward)).flip(1)
    return torch.cat([min_gru_log_space(*forward), flipped], dim=-1)


def fla_hgrn(proj: torch.Tensor) -> torch.Tensor:
    """Both directions on flash-linear-attention's ``chunk_hgrn``:
    ``h_t = exp(log(1 - z_t)) h_{t-1} + z_t g(hidden_t)``."""
    from fla.ops.hgrn import chunk_hgrn
    hs = []
    for k, (hidden, gate) in enumerate(p.chunk(2, dim=-1) for p in proj.chunk(2, dim=-1)):
        x, log_a = gate.sigmoid() * candidate(hidden), F.logsigmoid(-gate)
        if k == 1:
            x, log_a = x.flip(1), log_a.flip(1)
        h, _ = chunk_hgrn(x.contiguous(), log_a.contiguous())
        hs.append(h.flip(1) if k == 1 else h)
    return torch.cat(hs, dim=-1)


def gate_methods(device: str) -> Dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    probe = torch.zeros(1, 1, 4, device=device)
    methods = {f'min_gru_scan [{b}]': (lambda p, b=b: min_gru_scan(p, (False, True), backend=b))
               for b in BACKENDS if why_not(b, probe) is None}
    methods["log space (authors' code)"] = authors_log_space
    try:
        import fla.ops.hgrn  # noqa: F401
        methods['fla chunk_hgrn'] = fla_hgrn
    except ImportError:
        print('(fla-core is not installed: no flash-linear-attention baseline)')
    return methods


def gates_and_scan(device: str, repeats: int, shapes: Dict[str, tuple]) -> None:
    methods = gate_methods(device)
    rows = []
    for title, (B, L, I) in shapes.items():
        gen = torch.Generator().manual_seed(0)
        proj = (3 * torch.randn(B, L, 4 * I, generator=gen)).to(device)
        ref = min_gru_scan(proj.double(), (False, True), backend='torch')
        errors = {}
        with torch.no_grad():
            for name, fn in methods.items():
                errors[name] = rel_err(fn(proj), ref)
        del ref

        def forward_only(fn):
            def run():
                with torch.no_grad():
                    fn(proj)
            return run

        fwd = interleaved({n: forward_only(fn) for n, fn in methods.items()}, device, repeats)
        both = interleaved({n: fwd_bwd(fn, proj) for n, fn in methods.items()}, device, repeats)
        size = proj.element_size() * B * L * I
        fwd_bytes, bwd_bytes = size * (4 + 2), size * (4 + 2 + 4)
        rows += [dict(shape=title, method=name, fwd=fwd[name] * 1e3,
                      fwd_gbs=fwd_bytes / fwd[name] / 1e9, both=both[name] * 1e3,
                      both_gbs=(fwd_bytes + bwd_bytes) / both[name] / 1e9,
                      torch=both['min_gru_scan [torch]'] / both[name], error=errors[name])
                 for name in methods]
    print('\nminGRU gates + scan, both directions of a block (GB/s: on the unavoidable '
          'traffic)\n')
    print(write_table(rows, ['shape', 'method', ('fwd', 'fwd ms', '{:.2f}'),
                             ('fwd_gbs', 'GB/s', '{:.1f}'), ('both', 'fwd+bwd ms', '{:.2f}'),
                             ('both_gbs', 'GB/s', '{:.1f}'), ('torch', 'vs torch', '{:.2f}x'),
                             ('error', 'rel. error', '{:.1e}')]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--smoke', action='store_true', help='tiny shapes (checks the script)')
    args = parser.parse_args()
    name = torch.cuda.get_device_name() if args.device == 'cuda' else \
        f'CPU, {torch.get_num_threads()} threads'
    print(f'torch {torch.__version__}, {name}; {date.today()}')
    gates_and_scan(args.device, args.repeats,
                   SMOKE_GATE_SHAPES if args.smoke else GATE_SHAPES[args.device])


if __name__ == '__main__':
    main()
