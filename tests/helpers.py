"""Helpers shared by the tests: paths, running the tools as subprocesses, the small-run options,
the relative error, a toy model."""
import json
import os
import os.path as osp
import subprocess
import sys
from glob import glob

import torch
from mmengine.model import BaseModel

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PYTHON = sys.executable


def run(*args, timeout=600):
    """Run a command from the repo root; return stdout+stderr, failing loudly with the log."""
    env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='2')
    proc = subprocess.run(list(args), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise AssertionError(f'{" ".join(args)} exited {proc.returncode}:\n{out[-6000:]}')
    return out


def run_fails(*args, timeout=300):
    """Run a command that must fail; return its output."""
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    proc = subprocess.run(list(args), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode != 0, f'{" ".join(args)} should have failed:\n{proc.stdout[-3000:]}'
    return proc.stdout + proc.stderr


CONFIG = 'configs/upernet_visiongru_ti_ade20k.py'


def small_run_options(data_root, iters):
    """The real Ti config, shrunk: sample data, 64 px crops, a schedule of `iters` steps."""
    warm_up = max(1, iters // 6)
    return [
        'model.backbone.init_cfg=None',
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        'model.data_preprocessor.size=(64,64)',
        'train_dataloader.dataset.pipeline.3.scale=(128,64)',
        'train_dataloader.dataset.pipeline.4.crop_size=(64,64)',
        'val_dataloader.dataset.pipeline.1.scale=(128,64)',
        'test_dataloader.dataset.pipeline.1.scale=(128,64)',
        'randomness.seed=0',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
        'optim_wrapper.optimizer.lr=0.0005',
        'param_scheduler.0.start_factor=0.1', f'param_scheduler.0.end={warm_up}',
        f'param_scheduler.1.begin={warm_up}', f'param_scheduler.1.end={iters}',
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters // 2}', 'default_hooks.logger.interval=1',
    ]


def losses(work_dir):
    """{iteration: loss} logged by every run under ``work_dir`` (a resumed run continues it)."""
    records = []
    for scalars in sorted(glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(scalars) as f:
            records += [r for r in map(json.loads, f) if 'loss' in r]
    return {r['iter']: r['loss'] for r in records}


def rel_err(x, ref):
    """``max |x - ref| / max |ref|`` in float64 (``x`` may be a NumPy array)."""
    ref = torch.as_tensor(ref).double()
    return ((torch.as_tensor(x).double() - ref).abs().max() / ref.abs().max()).item()


class Toy(BaseModel):
    """A one-layer mmengine model whose loss is its squared output, for Runner-level tests."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        return dict(loss=out.square().mean()) if mode == 'loss' else out
