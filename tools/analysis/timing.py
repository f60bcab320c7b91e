"""What one measured run is, and how it is timed.

A run of a backbone is ``eval`` (forward under ``no_grad``) or ``train`` (forward, then backward
of ``sum(mean(out_i))`` over its outputs, gradients set to None afterwards), optionally under
autocast.  On CUDA a run is timed with CUDA events around it (the host waits for the end event);
on other devices with ``time.perf_counter``.
"""
import statistics
import time
from typing import Callable, Dict, List, Optional

import torch


def run(model, x, mode: str, autocast: Optional[torch.dtype] = None) -> None:
    """One ``eval`` or ``train`` run of ``model`` on ``x``, under autocast to ``autocast``."""
    with torch.autocast(x.device.type, dtype=autocast, enabled=autocast is not None):
        if mode == 'eval':
            with torch.no_grad():
                model(x)
        else:
            outs = model(x)
            outs = outs if isinstance(outs, (tuple, list)) else (outs, )
            sum(o.float().mean() for o in outs).backward()
    model.zero_grad(set_to_none=True)


def seconds(fn: Callable[[], object], device='cpu') -> float:
    """Wall time of ``fn()`` on ``device``: CUDA events there, ``perf_counter`` elsewhere."""
    if torch.device(device).type == 'cuda':
        start, end = (torch.cuda.Event(enable_timing=True) for _ in range(2))
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def repeat(fn: Callable[[], object], repeats: int, warmup: int, device='cpu') -> List[float]:
    """Seconds of ``repeats`` runs of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)
    return [seconds(fn, device) for _ in range(repeats)]


def interleaved(runs: Dict[str, Callable[[], object]], device: str,
                repeats: int) -> Dict[str, float]:
    """Median seconds of each run, the runs alternating round by round after a warm-up round
    (so they share the machine's noise)."""
    times = {name: [] for name in runs}
    for _ in range(repeats + 1):
        for name, fn in runs.items():
            times[name].append(seconds(fn, device))
    return {name: statistics.median(t[1:]) for name, t in times.items()}


def summary(times: List[float]) -> dict:
    """``n``, ``median_s`` and ``min_s`` of a list of seconds."""
    return dict(n=len(times), median_s=statistics.median(times), min_s=min(times))
