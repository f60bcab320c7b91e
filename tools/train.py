"""Train a segmentor (mmseg) or a classifier (mmpretrain) from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--cfg-options k=v]

The config's ``default_scope`` decides which library builds it.  ``--resume`` alone continues the
run in the work dir from the checkpoint its ``last_checkpoint`` names; a resumed checkpoint is
checked against the model before anything is loaded, and one at or past the end of the schedule
is an error.  Distributed: tools/dist_train.sh (torchrun, one or several nodes) or
tools/slurm_train.sh.  At the end of a distributed run every rank prints a digest of its
parameters and rank 0 checks that all ranks agree (the replicas were kept in step by the
averaged gradients); a mismatch is an error.
"""
import argparse
import hashlib
import os
import os.path as osp
import re
import zipfile

import torch
from mmengine.config import Config, DictAction
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmseg_visiongru.checkpoint import check_fits, read_checkpoint
from mmseg_visiongru.engine import adapt_to_cpu
from mmseg_visiongru.engine.cpu_distributed import close_process_group, dist_timeout
from mmseg_visiongru.preflight import check_config, check_options


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--resume', nargs='?', const='auto', metavar='CKPT',
        help="resume from CKPT, or from the one the work dir's last_checkpoint names")
    parser.add_argument('--amp', action='store_true', help='mixed precision training (GPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by actual batch / auto_scale_lr.base_batch_size')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_cfg.max_iters=100')
    parser.add_argument('--allow-new-keys', action='store_true',
                        help='let --cfg-options add top-level keys close to existing ones '
                        '(otherwise taken for typos)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='how the processes were started (set by the dist/slurm scripts)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def recorded_checkpoint(work_dir):
    """The checkpoint the run in ``work_dir`` saved last, as its ``last_checkpoint`` names it,
    checked to be a complete file; None when ``work_dir`` holds no checkpoint at all."""
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        names = sorted(name for name in (os.listdir(work_dir) if osp.isdir(work_dir) else [])
                       if re.fullmatch(r'(iter|epoch)_\d+\.pth', name))
        if names:
            raise FileNotFoundError(
                f'--resume: {work_dir!r} holds {", ".join(names)} but no last_checkpoint '
                'naming the one its run saved last: name the checkpoint to resume from with '
                '--resume PATH')
        return None
    with open(record) as f:
        path = f.read().strip()
    if path and not osp.isfile(path) and osp.isfile(osp.join(work_dir, osp.basename(path))):
        path = osp.join(work_dir, osp.basename(path))  # the work dir was moved
    if not path or not osp.isfile(path):
        raise FileNotFoundError(
            f'--resume: {record} names {path!r}, which does not exist: name a checkpoint with '
            '--resume PATH, or start anew in another --work-dir')
    check_complete(path)
    return path


def check_complete(path):
    """Raise if ``path`` is not a complete checkpoint file (torch's zip format)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'--resume: checkpoint {path!r} does not exist')
    if not zipfile.is_zipfile(path):
        what = 'empty' if osp.getsize(path) == 0 else 'truncated or not a torch checkpoint'
        raise RuntimeError(f'--resume: checkpoint {path!r} is {what}: resume from an earlier '
                           'one with --resume PATH')


def check_resume(runner, path):
    """Before ``runner.train()`` resumes from ``path``: its weights fit the model (shapes read
    through a memory map), and it is not already at or past the end of the schedule."""
    checkpoint = read_checkpoint(path, mmap=True)
    check_fits(runner.model, checkpoint, path)
    meta, loop = checkpoint.get('meta') or {}, runner.cfg.train_cfg
    for unit, end in (('iter', 'max_iters'), ('epoch', 'max_epochs')):
        if end in loop and meta.get(unit, 0) >= loop[end]:
            raise ValueError(
                f'--resume: {path!r} is at {unit} {meta[unit]} and train_cfg.{end} is '
                f'{loop[end]}: its run is complete, nothing is left to train. Test it with '
                f'tools/test.py, or raise train_cfg.{end} to train on')


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
        check_options(cfg, args.cfg_options, args.allow_new_keys)
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
        cfg.load_from = recorded_checkpoint(cfg.work_dir)
        cfg.resume = cfg.load_from is not None
        print(f'resuming from {cfg.load_from}' if cfg.resume else
              f'no checkpoint in {cfg.work_dir}: starting from scratch')
    elif args.resume:
        check_complete(args.resume)
        cfg.resume, cfg.load_from = True, args.resume
    check_config(cfg, loaders=('train_dataloader', 'val_dataloader'))
    adapt_to_cpu(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    if cfg.get('resume') and cfg.get('load_from'):
        check_resume(runner, cfg.load_from)
    try:
        model = runner.train()
    except RuntimeError as e:
        # gloo says 'timed out' or, when the wait ends inside a transfer, 'Application timeout
        # caused pair closure'.
        if get_world_size() > 1 and any(w in str(e).lower() for w in ('timed out', 'timeout')):
            raise RuntimeError(
                f'rank {get_rank()}/{get_world_size()}: a collective timed out after '
                f'{dist_timeout(cfg)} s (env_cfg.dist_cfg.timeout): another rank is stuck or has '
                'died; the launcher ends the job') from e
        raise
    check_replicas(model)
    close_process_group()


if __name__ == '__main__':
    main()
