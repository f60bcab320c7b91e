"""Evaluate a checkpoint: mIoU with a per-class IoU table (mmseg) or accuracy (mmpretrain).

    python tools/test.py CONFIG CHECKPOINT [--out DIR] [--tta] [--show] [--show-dir DIR]
                         [--work-dir DIR] [--cfg-options k=v]

The checkpoint is compared with the model before anything runs, and loaded strictly: one that
does not fit (a classifier's, another arch, other head widths) is an error naming the likely
fix, never a test of partly loaded weights.  ``--out DIR`` writes each image's predicted label
map as ``DIR/<image name>.png`` in the dataset's label ids (ADE20K: 1-150, as its annotations
and the benchmark server expect).
``--tta``: test-time augmentation, the config's ``tta_pipeline`` (ADE20K configs: six scales and
horizontal flip) merged by its ``tta_model``.  Distributed: tools/dist_test.sh, tools/slurm_test.sh.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmseg_visiongru.checkpoint import load_checkpoint_strict
from mmseg_visiongru.engine import adapt_to_cpu
from mmseg_visiongru.engine.cpu_distributed import close_process_group
from mmseg_visiongru.preflight import check_config, check_options


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where the test log and metrics go')
    parser.add_argument('--show', action='store_true',
                        help='show each prediction in a window (needs a display)')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each prediction is shown with --show')
    parser.add_argument('--show-dir', help='write prediction overlays (PNG) into this folder')
    parser.add_argument('--out', metavar='DIR',
                        help='write the predicted label maps (PNG, one per image) into DIR')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation: the config's tta_pipeline and tta_model")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. test_dataloader.batch_size=2')
    parser.add_argument('--allow-new-keys', action='store_true',
                        help='let --cfg-options add top-level keys close to existing ones '
                        '(otherwise taken for typos)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='how the processes were started (set by the dist/slurm scripts)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def set_output_dir(cfg, out_dir):
    """mmseg's IoUMetric writes ``<image name>.png`` label maps into ``output_dir``."""
    evaluators = cfg.test_evaluator
    for evaluator in evaluators if isinstance(evaluators, list) else [evaluators]:
        if evaluator.get('type') != 'IoUMetric':
            raise ValueError(f"--out needs mmseg's IoUMetric as test_evaluator, got "
                             f"{evaluator.get('type')!r}")
        evaluator.output_dir = out_dir
    os.makedirs(out_dir, exist_ok=True)


def set_visualization(cfg, show=False, wait_time=2., show_dir=None):
    """Draw every prediction with the config's ``SegVisualizationHook``: into a window
    (``show``, each for ``wait_time`` seconds) and/or as PNG overlays into ``show_dir``."""
    if not (show or show_dir):
        return
    hook = cfg.default_hooks.get('visualization')
    if hook is None or hook.type != 'SegVisualizationHook':
        raise ValueError('--show and --show-dir need a segmentation config with a '
                         'SegVisualizationHook in default_hooks')
    hook.update(draw=True, interval=1)
    if show:
        hook.update(show=True, wait_time=wait_time)
    if show_dir:
        cfg.visualizer.save_dir = show_dir


def use_tta(cfg):
    """Test with the config's ``tta_pipeline``, merged by its ``tta_model`` (mmseg's test.py
    ``--tta``)."""
    missing = [key for key in ('tta_model', 'tta_pipeline') if not cfg.get(key)]
    if missing:
        raise ValueError(f"--tta needs {' and '.join(missing)} in the config")
    if cfg.test_dataloader.get('batch_size', 1) != 1:
        raise ValueError('--tta tests one image at a time: test_dataloader.batch_size must be 1, '
                         f'got {cfg.test_dataloader.batch_size}')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        check_options(cfg, args.cfg_options, args.allow_new_keys)
        cfg.merge_from_dict(args.cfg_options)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not exist')
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    # Testing needs no training/validation data (mmseg's visualization hook would otherwise
    # build the training set just to read the iteration count).
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper', 'param_scheduler',
                'val_dataloader', 'val_cfg', 'val_evaluator'):
        cfg[key] = None
    # The checkpoint holds every weight: do not also load the backbone's pretrained file.
    cfg.model.get('backbone', {}).pop('init_cfg', None)
    set_visualization(cfg, args.show, args.wait_time, args.show_dir)
    if args.out:
        set_output_dir(cfg, args.out)
    check_config(cfg, loaders=('test_dataloader', ))
    if args.tta:
        use_tta(cfg)
    adapt_to_cpu(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    load_checkpoint_strict(runner.model, args.checkpoint)
    runner.test()
    close_process_group()


if __name__ == '__main__':
    main()
