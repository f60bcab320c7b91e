"""One model at one size in its own process, with peak memory as the OS sees it.

``measure(size, entries)`` starts one worker process per (model, mode) (this module,
``python -m tools.analysis.cpu_worker SPEC``), all alive together, and asks them in turn to run
once (round-robin per repeat; the first round warms up), so the models share the machine's noise.
A worker whose warm-up run took over ``long_seconds`` is not repeated: its one run is its time.

Peak memory is measured, not estimated: the worker's peak resident set size (``VmHWM`` of
/proc/self/status, reset to the current RSS through /proc/self/clear_refs after the build) minus
its RSS after the build, i.e. what the runs add on top of the built model and input, as the OS
sees it (tensors plus whatever the allocator keeps).  One run on a 64 px input comes before that
baseline: the first call of an op loads code (libraries, torch.library's machinery, 150 MiB for
the minGRU op), once per process, not per pixel.

Does not fit: the worker runs under ``RLIMIT_AS`` = its address space after the build +
``cap_gib``, so a run needing more fails cleanly with an allocation error (``memory``); a run
longer than ``max_seconds`` is killed (``time``).
"""
import ctypes
import json
import os
import queue
import resource
import statistics
import subprocess
import sys
import tempfile
import threading

import torch

from . import ROOT
from .models import build
from .timing import run, seconds

BUILD_TIMEOUT = 600


def _status_kib(key: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    raise KeyError(key)


def _reply(**msg) -> None:
    print('@@' + json.dumps(msg), flush=True)


def worker(spec: dict) -> None:
    """Build one model; run it once per 'run' line on stdin, replying seconds and peak MiB."""
    torch.set_num_threads(spec['threads'])
    torch.manual_seed(0)
    model = build(spec['model'], spec['size'])
    model.train(spec['mode'] == 'train')
    run(model, torch.randn(1, 3, 64, 64), spec['mode'])  # loads what first calls load
    x = torch.randn(1, 3, spec['size'], spec['size'])
    libc = ctypes.CDLL('libc.so.6')
    libc.malloc_trim(0)
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # VmHWM := VmRSS
    base = _status_kib('VmRSS')
    cap = _status_kib('VmSize') * 1024 + int(spec['cap_gib'] * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    _reply(baseline_mib=base / 1024)
    for line in sys.stdin:
        if line.strip() != 'run':
            break
        try:
            took = seconds(lambda: run(model, x, spec['mode']))
        except (RuntimeError, MemoryError) as err:
            msg = str(err).strip().splitlines()[-1] if str(err).strip() else repr(err)
            if not isinstance(err, MemoryError) and 'alloc' not in msg and 'memory' not in msg:
                raise
            _reply(error='memory', msg=msg[:160])
            return
        libc.malloc_trim(0)
        _reply(seconds=took, peak_mib=(_status_kib('VmHWM') - base) / 1024)


class Worker:
    """A worker process for one (model, size, mode), talked to line by line."""

    def __init__(self, model, size, mode, cap_gib, threads):
        spec = dict(model=model, size=size, mode=mode, cap_gib=cap_gib, threads=threads)
        self.log = tempfile.TemporaryFile('w+')
        env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS=str(threads))
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'tools.analysis.cpu_worker', json.dumps(spec)], cwd=ROOT,
            env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith('@@'):
                self.lines.put(json.loads(line[2:]))
        self.lines.put(None)  # end of output

    def request(self, command, timeout: float) -> dict:
        """Send ``command`` (None: just wait for the next reply); error dict on timeout/exit."""
        if command:
            try:
                self.proc.stdin.write(command + '\n')
                self.proc.stdin.flush()
            except BrokenPipeError:
                pass
        try:
            reply = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.close()
            return dict(error='time', msg=f'killed after {timeout:.0f} s')
        if reply is None:  # the worker died: under RLIMIT_AS, usually from lack of memory
            self.proc.wait()
            self.log.seek(0)
            tail = (self.log.read().strip().splitlines() or [''])[-1][:160]
            self.close()
            oom = any(k in tail for k in ('memory', 'alloc', 'Thread creation failed'))
            return dict(error='memory' if oom else 'crash',
                        msg=f'exit {self.proc.returncode}: {tail}')
        return reply

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=20)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        if not self.log.closed:
            self.log.close()


def measure(size: int, entries, repeats=3, cap_gib=18., max_seconds=300., long_seconds=15.,
            threads=1) -> list:
    """Time and peak memory of each (model, mode) in ``entries`` at ``size``, interleaved.

    Returns one row per entry: ``status`` ('ok', 'memory', 'time' or 'crash'), ``n`` runs timed,
    ``median_s``, ``min_s``, ``peak_mib`` (max over runs), ``baseline_mib``, ``note``."""
    workers = {e: Worker(e[0], size, e[1], cap_gib, threads) for e in entries}
    rows = {e: dict(model=e[0], mode=e[1], size=size, pixels=size * size, status='ok', n=0,
                    median_s=None, min_s=None, peak_mib=None, baseline_mib=None, note='',
                    times=[]) for e in entries}

    def ask(e, command, timeout):
        reply = workers[e].request(command, timeout)
        row = rows[e]
        if 'error' in reply:
            row.update(status=reply['error'], note=reply['msg'])
            return False
        if 'seconds' in reply:
            row['times'].append(reply['seconds'])
            row['peak_mib'] = max(row['peak_mib'] or 0., reply['peak_mib'])
        else:
            row['baseline_mib'] = reply['baseline_mib']
        return True

    live = [e for e in entries if ask(e, None, BUILD_TIMEOUT)]
    for rep in range(repeats + 1):  # round 0 warms up
        for e in live:
            if rows[e]['status'] == 'ok' and (rep == 0 or rows[e]['times'][0] <= long_seconds):
                ask(e, 'run', max_seconds)
    for e, worker_ in workers.items():
        worker_.close()
        row = rows[e]
        times = row.pop('times')
        if row['status'] == 'ok':
            times = times[1:] or times  # a single (long) run counts, warm-up included
            row.update(n=len(times), median_s=statistics.median(times), min_s=min(times))
    return list(rows.values())


if __name__ == '__main__':
    worker(json.loads(sys.argv[1]))
