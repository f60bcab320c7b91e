"""Train a segmentor (mmseg) or a classifier (mmpretrain) from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--cfg-options k=v]

The config's ``default_scope`` decides which library builds it.  Distributed: tools/dist_train.sh
(torchrun, one or several nodes) or tools/slurm_train.sh.  At the end of a distributed run every
rank prints a digest of its parameters and rank 0 checks that all ranks agree (the replicas were
kept in step by the averaged gradients); a mismatch is an error.
"""
import argparse
import hashlib
import os
import os.path as osp
import re

import torch
from mmengine.config import Config, DictAction
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmseg_visiongru.engine import adapt_to_cpu
from mmseg_visiongru.preflight import check_config


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--resume', nargs='?', const='auto', metavar='CKPT',
        help='resume from CKPT, or from the latest checkpoint in the work dir if none is given')
    parser.add_argument('--amp', action='store_true', help='mixed precision training (GPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by actual batch / auto_scale_lr.base_batch_size')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_cfg.max_iters=100')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='how the processes were started (set by the dist/slurm scripts)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def latest_checkpoint(work_dir):
    """The newest ``iter_N.pth`` / ``epoch_N.pth`` in ``work_dir`` (complete, since checkpoints
    are written atomically), or None."""
    names = os.listdir(work_dir) if osp.isdir(work_dir) else []
    steps = {int(m.group(2)): name for name in names
             if (m := re.fullmatch(r'(iter|epoch)_(\d+)\.pth', name))}
    return osp.join(work_dir, steps[max(steps)]) if steps else None


def parameter_digest(model):
    """sha256 over the model's parameters (names and values, in name order): equal digests,
    equal weights.  Buffers are left out: BN running statistics are per process where SyncBN is
    not available (CPU)."""
    if is_model_wrapper(model):
        model = model.module
    digest = hashlib.sha256()
    for name, param in sorted(model.named_parameters()):
        digest.update(name.encode())
        digest.update(param.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def check_replicas(model):
    """Every rank prints its parameter digest; rank 0 raises if the ranks disagree."""
    world_size = get_world_size()
    if world_size == 1:
        return
    rank, digest = get_rank(), parameter_digest(model)
    print(f'rank {rank}/{world_size}: parameter digest {digest}', flush=True)
    digests = all_gather_object(digest)
    if rank == 0:
        if len(set(digests)) > 1:
            raise RuntimeError('the ranks ended with different weights: ' + ', '.join(
                f'rank {r} {d[:12]}' for r, d in enumerate(digests)))
        print(f'parameters identical on all {world_size} ranks', flush=True)


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.load_from = latest_checkpoint(cfg.work_dir)
        cfg.resume = cfg.load_from is not None
        print(f'resuming from {cfg.load_from}' if cfg.resume else
              f'no checkpoint in {cfg.work_dir}: starting from scratch')
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    check_config(cfg, loaders=('train_dataloader', 'val_dataloader'))
    adapt_to_cpu(cfg, args.launcher)
    model = Runner.from_cfg(cfg).train()
    check_replicas(model)


if __name__ == '__main__':
    main()
