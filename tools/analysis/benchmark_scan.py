"""Speed, bandwidth and error of ``min_gru_scan`` (the gates and scans of both directions of a
2DGRU block) on every backend that serves the device, against the authors' formulation (log
space, autograd) and, where ``fla-core`` is installed, flash-linear-attention's ``chunk_hgrn``.

    .venv/bin/python -m tools.analysis.benchmark_scan [--device cuda] [--repeats N] [--smoke]

Methods run interleaved round by round (``timing.interleaved``); times are medians.  GB/s is on
the op's unavoidable traffic (forward: read ``proj``, write ``h``; backward: read ``proj`` and
``dL/dh``, write ``dL/dproj``); the error is max |h - h_ref| / max |h_ref| against float64.
"""
import argparse
import statistics
from typing import Callable, Dict

import torch
import torch.nn.functional as F

from mmseg_visiongru.ops import BACKENDS, candidate, min_gru_log_space, min_gru_scan
from mmseg_visiongru.ops.backend import why_not

from .report import markdown
from .timing import environment, interleaved

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


def gates_and_scan(device: str, repeats: int, shapes: Dict[str, tuple]) -> str:
    """Markdown: every method at every shape, forward and forward + backward."""
    methods, rows = gate_methods(device), []
    for title, (B, L, I) in shapes.items():
        proj = (3 * torch.randn(B, L, 4 * I, generator=torch.Generator().manual_seed(0)))
        proj = proj.to(device).requires_grad_()
        ref = min_gru_scan(proj.detach().double(), (False, True), backend='torch')
        with torch.no_grad():
            error = {n: ((fn(proj).double() - ref).abs().max() / ref.abs().max()).item()
                     for n, fn in methods.items()}

        def forward(fn):
            return torch.no_grad()(lambda: fn(proj))

        def forward_backward(fn):
            def run():
                fn(proj).sum().backward()
                proj.grad = None
            return run

        fwd, both = ({n: statistics.median(t) for n, t in interleaved(
            {n: make(fn) for n, fn in methods.items()}, repeats, device=device).items()}
            for make in (forward, forward_backward))
        traffic = proj.element_size() * B * L * I * (4 + 2)  # read proj, write h
        rows += [[title, name, f'{fwd[name] * 1e3:.2f}', f'{traffic / fwd[name] / 1e9:.1f}',
                  f'{both[name] * 1e3:.2f}', f'{traffic * 8 / 3 / both[name] / 1e9:.1f}',
                  f'{both["min_gru_scan [torch]"] / both[name]:.2f}x', f'{error[name]:.1e}']
                 for name in methods]
    return markdown(['shape', 'method', 'fwd ms', 'fwd GB/s', 'fwd+bwd ms', 'fwd+bwd GB/s',
                     'fwd+bwd vs torch', 'rel. error'], rows, 2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--smoke', action='store_true', help='tiny shapes (checks the script)')
    args = parser.parse_args(argv)
    print(f'{environment(args.device)}\n\nminGRU gates + scan, both directions of a block\n')
    print(gates_and_scan(args.device, args.repeats,
                         SMOKE_GATE_SHAPES if args.smoke else GATE_SHAPES[args.device]))


if __name__ == '__main__':
    main()
