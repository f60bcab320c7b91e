"""What one measured run is, how it is timed, and the line that says on what."""
import importlib.metadata
import importlib.util
import os
import platform
import time
from datetime import date
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


def interleaved(runs: Dict[str, Callable[[], object]], repeats: int, warmup: int = 1,
                device='cpu') -> Dict[str, List[float]]:
    """Seconds of ``repeats`` timed runs of each of ``runs`` after ``warmup`` untimed rounds, the
    runs alternating round by round (so they share the machine's noise)."""
    times = {name: [] for name in runs}
    for _ in range(warmup + repeats):
        for name, fn in runs.items():
            times[name].append(seconds(fn, device))
    return {name: t[warmup:] for name, t in times.items()}


def environment(device='cpu') -> str:
    """One line: the device, torch and Triton versions, the date."""
    where = torch.cuda.get_device_name(device) if torch.device(device).type == 'cuda' else \
        f'{platform.machine()} CPU ({os.cpu_count()} cores), {torch.get_num_threads()} threads'
    triton = importlib.util.find_spec('triton') and importlib.metadata.version('triton')
    return f'{where}, torch {torch.__version__}, triton {triton or "-"}; {date.today()}'
