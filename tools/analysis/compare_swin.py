"""UperNet + VisionGRU-Ti against UperNet + Swin-T, trained from scratch with the same recipe on
the generated scenes: held-out mIoU per seed.

    .venv/bin/python -m tools.analysis.compare_swin [--seeds S ...] [--iters N] [--size PX]
        [--num-train N] [--num-val N] [--jobs J] [--out DIR]

The recipe is the quickstart's (configs/quickstart_upernet_visiongru_ti_sample.py) on whole
``--size`` px images; Swin-T's is configs/analysis/upernet_swin_t_sample.py.  Each run is
``tools/train.py`` in its own process with an equal share of the cores, ``--jobs`` at a time; its
final validation is its result.  Finished runs are read back, not re-run.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from glob import glob

import numpy as np
from mmengine.config import Config

from tools.make_sample_data import make_ade20k

from . import ROOT
from .report import markdown

CONFIGS = {
    'visiongru-ti': osp.join(ROOT, 'configs', 'quickstart_upernet_visiongru_ti_sample.py'),
    'swin-t': osp.join(ROOT, 'configs', 'analysis', 'upernet_swin_t_sample.py'),
}


def run_config(model: str, data_root: str, seed: int, iters: int, size: int) -> Config:
    """The quickstart recipe for ``model`` on whole ``size`` px images of ``data_root``."""
    cfg = Config.fromfile(CONFIGS[model])
    cfg.model.data_preprocessor.size = (size, size)
    cfg.train_dataloader.dataset.pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='CheckSegLabels', num_classes=cfg.num_classes),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PhotoMetricDistortion'),
        dict(type='PackSegInputs'),
    ]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
        if loader != 'train_dataloader':  # evaluate at the training size
            cfg[loader].dataset.pipeline[1].scale = (2 * size, size)
    cfg.randomness = dict(seed=seed)
    warm_up = max(1, min(cfg.param_scheduler[0].end, iters // 5))
    cfg.param_scheduler[0].end = cfg.param_scheduler[1].begin = warm_up
    cfg.param_scheduler[1].end = iters
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=iters)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=iters)
    cfg.default_hooks.logger.interval = 10
    return cfg


def result(work_dir: str) -> dict:
    """The final validation of a finished run (``{}`` if there is none) and its training loss
    (mean of the last 10% of the logged values)."""
    records = []
    for scalars in sorted(glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(scalars) as f:
            records += [json.loads(line) for line in f]
    metrics = [r for r in records if 'mIoU' in r]
    if not metrics:
        return {}
    losses = [r['loss'] for r in records if 'loss' in r]
    return dict(mIoU=metrics[-1]['mIoU'], aAcc=metrics[-1]['aAcc'],
                loss=float(np.mean(losses[-max(1, len(losses) // 10):])))


def train(cfg: Config, work_dir: str, threads: int) -> dict:
    """Train ``cfg`` with tools/train.py into ``work_dir`` (log: ``train.log``); its result."""
    os.makedirs(work_dir, exist_ok=True)
    cfg.dump(osp.join(work_dir, 'config.py'))
    with open(osp.join(work_dir, 'train.log'), 'w') as log:
        proc = subprocess.run(
            [sys.executable, osp.join(ROOT, 'tools', 'train.py'),
             osp.join(work_dir, 'config.py'), '--work-dir', work_dir], cwd=ROOT, stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONWARNINGS='ignore'))
    if proc.returncode:
        raise RuntimeError(f'training failed, see {osp.join(work_dir, "train.log")}')
    return result(work_dir)


def table(results: dict, seeds: list) -> str:
    """Markdown, one row per model: held-out mIoU per seed, their mean, aAcc and training loss."""
    rows = [[model] + [f'{results[model, s]["mIoU"]:.1f}' for s in seeds] + [
        f'{np.mean([results[model, s][k] for s in seeds]):{fmt}}'
        for k, fmt in (('mIoU', '.1f'), ('aAcc', '.1f'), ('loss', '.3f'))] for model in CONFIGS]
    return markdown(['model'] + [f'mIoU seed {s}' for s in seeds] +
                    ['mIoU mean', 'aAcc mean', 'train loss (last 10%)'], rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1])
    parser.add_argument('--iters', type=int, default=1200)
    parser.add_argument('--size', type=int, default=64, help='image side in pixels')
    parser.add_argument('--num-train', type=int, default=200)
    parser.add_argument('--num-val', type=int, default=40)
    parser.add_argument('--jobs', type=int, default=2, help='runs at a time')
    parser.add_argument('--out', default='work_dirs/compare_swin')
    args = parser.parse_args(argv)
    out = osp.abspath(args.out)
    data_root = osp.join(out, f'data_{args.size}px')
    if not osp.isdir(osp.join(data_root, 'annotations', 'validation')):
        make_ade20k(data_root, num_train=args.num_train, num_val=args.num_val, size=args.size)
    threads = max(1, len(os.sched_getaffinity(0)) // args.jobs)
    runs = {(model, seed): osp.join(out, f'{model}_seed{seed}_{args.iters}it_{args.size}px')
            for seed in args.seeds for model in CONFIGS}  # interleaved: they share the noise

    # Configs are built here, one at a time: mmengine's config loader is not thread-safe.
    todo = {(model, seed): run_config(model, data_root, seed, args.iters, args.size)
            for model, seed in runs if not result(runs[model, seed])}

    def finished_or_train(key):
        return train(todo[key], runs[key], threads) if key in todo else result(runs[key])

    with ThreadPoolExecutor(args.jobs) as pool:  # each thread waits on one child process
        results = dict(zip(runs, pool.map(finished_or_train, runs)))
    print(f'{args.iters} iterations, {args.size} px, {args.num_train} training / '
          f'{args.num_val} held-out scenes; held-out mIoU (%) in eval mode')
    print(table(results, args.seeds))


if __name__ == '__main__':
    main()
