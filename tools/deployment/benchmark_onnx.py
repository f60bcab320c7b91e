"""ONNX Runtime (CPU execution provider) against PyTorch eager (this package's C++ minGRU kernel),
side by side in one run: first ``min_gru_scan`` alone (the exported Scan against the op: error
and time at 16,384 and 65,536 tokens), then the segmentor: export time and file size, and per
input size the latency (median of the repeats after a warm-up) and peak memory of batch-1
inference.

    python -m tools.deployment.benchmark_onnx [--config CONFIG] [--sizes 512 1024]
                                              [--threads 2] [--repeats 3]

Each runtime runs in its own process per size, both alive, their runs alternating (a warm-up
round first) so that they share the machine's noise: the model (random weights: the time does
not depend on them) or the session is built, one 64 px run loads the code, then the peak
resident set size is reset (/proc/self/clear_refs) and the runs measured.  "peak" is the
process's VmHWM over the runs, "added" that minus the resident size before them.  Both
runtimes get the same number of threads (torch.set_num_threads, ONNX Runtime's intra-op
threads).
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time

import torch

CONFIG = 'configs/upernet_visiongru_ti_ade20k.py'
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _status_mib(key: str) -> float:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1]) / 1024
    raise KeyError(key)


def build_segmentor(config: str):
    """The config's segmentor, randomly initialised, eval mode, SyncBN as BN."""
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import MODELS, init_default_scope
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    return revert_sync_batchnorm(MODELS.build(cfg.model)).eval()


def scan_table(threads: int, repeats: int, lengths=(16384, 65536)) -> None:
    """min_gru_scan of VisionGRU-Ti's first stage (144 channels per direction, both directions,
    batch 1) exported once with dynamic batch and length, against the op in PyTorch."""
    from mmseg_visiongru.deploy import OnnxModel, export_onnx
    from mmseg_visiongru.ops import min_gru_scan
    from tools.analysis.timing import interleaved

    class Scan(torch.nn.Module):

        def forward(self, inputs):
            return min_gru_scan(inputs, (False, True))

    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'scan.onnx')
        export_onnx(Scan().eval(), torch.randn(2, 37, 576), path, {0: 'batch', 1: 'length'})
        session = OnnxModel(path, num_threads=threads)
        print('| tokens L | max rel. error vs the op (fp32) | vs float64 | ONNX Runtime (ms) | '
              'PyTorch C++ kernel (ms) |')
        print('|---:|---:|---:|---:|---:|')
        for length in lengths:
            proj = torch.randn(1, length, 576, generator=torch.Generator().manual_seed(0))
            onnx_h = torch.from_numpy(session(proj)[0]).double()
            errors = [((onnx_h - ref.double()).abs().max() / ref.abs().max()).item()
                      for ref in (min_gru_scan(proj, (False, True)),
                                  min_gru_scan(proj.double(), (False, True)))]
            times = interleaved({'onnx': lambda: session(proj),
                                 'torch': lambda: min_gru_scan(proj, (False, True))}, repeats)
            ms = [1e3 * statistics.median(t) for t in times.values()]
            print(f'| {length:,} | {errors[0]:.1e} | {errors[1]:.1e} | {ms[0]:.1f} | '
                  f'{ms[1]:.1f} |', flush=True)


def worker(runtime: str, target: str, size: int, threads: int) -> None:
    """Build ``runtime`` (``torch``: the config ``target``; ``onnxruntime``: the file
    ``target``), then on each ``run`` line of stdin run batch 1 at ``size`` x ``size`` and reply
    its seconds; on ``stop`` reply the memory in MiB (see the module docstring) and exit."""
    torch.set_num_threads(threads)
    if runtime == 'torch':
        from mmseg_visiongru.deploy.export import SegmentorExport
        model = SegmentorExport(build_segmentor(target))

        def infer(x):
            with torch.no_grad():
                return model(x)
    else:
        from mmseg_visiongru.deploy import OnnxModel
        infer = OnnxModel(target, num_threads=threads)
    infer(torch.randn(1, 3, 64, 64))
    x = torch.randn(1, 3, size, size)
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # reset VmHWM to the current resident size
    before = _status_mib('VmRSS')
    _reply(ready=True)
    for line in sys.stdin:
        if line.strip() == 'stop':
            peak = _status_mib('VmHWM')
            return _reply(peak_mib=peak, added_mib=peak - before)
        start = time.perf_counter()
        infer(x)
        _reply(seconds=time.perf_counter() - start)


def _reply(**msg) -> None:
    print('@@' + json.dumps(msg), flush=True)


class Worker:
    """A worker process, driven line by line."""

    def __init__(self, runtime: str, target: str, size: int, threads: int):
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'tools.deployment.benchmark_onnx', '--threads',
             str(threads), '--worker', runtime, target, str(size)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
        self.ask(None)

    def ask(self, command) -> dict:
        if command:
            self.proc.stdin.write(command + '\n')
            self.proc.stdin.flush()
        for line in self.proc.stdout:
            if line.startswith('@@'):
                return json.loads(line[2:])
        raise RuntimeError(f'benchmark worker {self.proc.args} exited {self.proc.wait()}')


def compare_at(size: int, targets: dict, threads: int, repeats: int) -> None:
    """Both runtimes alive, their runs alternating (so they share the machine's noise): the
    median of ``repeats`` runs after a warm-up round, and the memory."""
    workers = {name: Worker(kind, target, size, threads)
               for name, (kind, target) in targets.items()}
    times = {name: [] for name in workers}
    for _ in range(repeats + 1):
        for name, w in workers.items():
            times[name].append(w.ask('run')['seconds'])
    seconds = {}
    for name, w in workers.items():
        memory = w.ask('stop')
        w.proc.wait()
        seconds[name] = statistics.median(times[name][1:])
        print(f'| 1x3x{size}x{size} | {name} | {seconds[name]:.2f} | '
              f'{memory["peak_mib"]:.0f} | {memory["added_mib"]:.0f} |', flush=True)
    torch_s, ort_s = seconds.values()
    print(f'| | ONNX Runtime / PyTorch | {ort_s / torch_s:.2f}x | | |', flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--sizes', type=int, nargs='+', default=[512, 1024])
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--worker', nargs=3, metavar=('RUNTIME', 'TARGET', 'SIZE'),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        runtime, target, size = args.worker
        return worker(runtime, target, int(size), args.threads)

    from mmseg_visiongru.deploy import export_module, export_onnx
    torch.set_num_threads(args.threads)
    scan_table(args.threads, max(args.repeats, 5))
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'segmentor.onnx')
        module, names = export_module(build_segmentor(args.config))
        seconds = export_onnx(module, torch.randn(2, 3, 512, 512), path, output_names=names)
        print(f'\nExport (dynamic batch, height and width; opset 20): {seconds:.1f} s, file '
              f'{osp.getsize(path) / 2**20:.1f} MiB\n')
        print('| input | runtime | latency (s) | peak RSS (MiB) | added by the runs (MiB) |')
        print('|---|---|---:|---:|---:|')
        targets = {'PyTorch eager (C++ kernel)': ('torch', args.config),
                   'ONNX Runtime (CPU EP)': ('onnxruntime', path)}
        for size in args.sizes:
            compare_at(size, targets, args.threads, args.repeats)


if __name__ == '__main__':
    main()
