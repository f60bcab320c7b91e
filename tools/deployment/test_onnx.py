"""Evaluate an exported segmentor in ONNX Runtime on a config's test split: the per-class IoU
table and mIoU of tools/test.py, from the same pipeline, preprocessing and evaluator.

    python tools/deployment/test_onnx.py CONFIG F.onnx [--num-threads N] [--work-dir DIR]
                                         [--cfg-options k=v ...]

``F.onnx`` is written by tools/deployment/pytorch2onnx.py from the same config with
``--dynamic-export`` (the test pipeline yields images of many sizes) and ``--output logits``.
"""
import argparse
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmseg_visiongru.deploy.segmentor import ONNXRuntimeSegmentor
from mmseg_visiongru.preflight import check_datasets


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the config the file was exported from')
    parser.add_argument('onnx_file', help='the exported segmentor (.onnx)')
    parser.add_argument('--num-threads', type=int,
                        help="ONNX Runtime's intra-op threads (default: one per core)")
    parser.add_argument('--work-dir', help='where the test log and metrics go')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. test_dataloader.dataset.data_root=DIR')
    return parser.parse_args()


def main():
    args = parse_args()
    if not osp.isfile(args.onnx_file):
        raise FileNotFoundError(f'{args.onnx_file!r} does not exist: write it with '
                                'tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT '
                                '--output-file F.onnx --dynamic-export')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    mode = cfg.model.get('test_cfg', {}).get('mode', 'whole')
    if mode != 'whole':
        raise ValueError(f"the exported segmentor runs whole-image inference; the config's "
                         f"test_cfg.mode is {mode!r}: set model.test_cfg.mode=whole")
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0] + '_onnx')
    cfg.model = dict(
        type=ONNXRuntimeSegmentor.__name__, onnx_file=args.onnx_file,
        data_preprocessor=cfg.model.data_preprocessor,
        align_corners=cfg.model.decode_head.get('align_corners', False),
        num_threads=args.num_threads)
    cfg.load_from = None
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper', 'param_scheduler',
                'val_dataloader', 'val_cfg', 'val_evaluator'):
        cfg[key] = None
    check_datasets(cfg, loaders=('test_dataloader', ))
    Runner.from_cfg(cfg).test()


if __name__ == '__main__':
    main()
