"""Export a trained model of a config to a standard ONNX file, checked and optionally verified.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --output-file F.onnx
        [--shape H W] [--dynamic-export] [--opset-version 20] [--verify]
        [--output {logits,labels}] [--backbone-only] [--cfg-options k=v ...]

A segmentation config exports its segmentor (whole-image inference without the auxiliary head:
logits at the input size, or ``--output labels``, their argmax), a classification config its
classifier (class scores), ``--backbone-only`` the backbone's feature maps.  The input is a
float32 (B, 3, H, W) batch normalised as the config's data preprocessor does (its mean, std and
channel order are written into the file's metadata).  The file holds standard ONNX ops only and
passes ``onnx.checker`` with full check.  ``--verify`` runs it in ONNX Runtime against PyTorch,
at three sizes with ``--dynamic-export``.
"""
import argparse
import json
import os
import os.path as osp

import torch
from mmengine.config import DictAction

from mmseg_visiongru.deploy import (OnnxModel, check_opset, compare, export_module, export_onnx,
                                    load_model)
from mmseg_visiongru.deploy.export import DEFAULT_OPSET, IMAGE_DIMS, OUTPUTS

# --verify: PyTorch and ONNX Runtime agree when the logits (or scores, or features) differ by
# at most this much relative to their largest magnitude, and the label maps on this fraction.
MAX_REL_ERROR = 1e-4
MIN_LABEL_AGREEMENT = 0.9999


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint of that config (loaded strictly)')
    parser.add_argument('--output-file', default='tmp.onnx', help='the ONNX file to write')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help="input size traced (the fixed size without --dynamic-export); "
                        "default: the config's crop_size, else 512 x 512 (224 x 224 for a "
                        'classifier)')
    parser.add_argument('--dynamic-export', action='store_true',
                        help='dynamic batch, height and width')
    parser.add_argument('--opset-version', type=int, default=DEFAULT_OPSET,
                        help=f'ONNX opset (default {DEFAULT_OPSET})')
    parser.add_argument('--output', choices=OUTPUTS, default='logits',
                        help='what a segmentor outputs: logits (B, classes, H, W), the default '
                        'and what test_onnx.py evaluates, or labels (B, 1, H, W) int64')
    parser.add_argument('--backbone-only', action='store_true',
                        help="export the backbone's feature maps alone")
    parser.add_argument('--verify', action='store_true',
                        help='compare ONNX Runtime with PyTorch on random inputs')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. model.decode_head.num_classes=19')
    return parser.parse_args()


def input_size(cfg, args):
    if args.shape:
        return tuple(args.shape)
    if cfg.get('default_scope') == 'mmpretrain':
        return (224, 224)
    crop = cfg.get('crop_size', (512, 512))
    return tuple(crop) if isinstance(crop, (tuple, list)) else (crop, crop)


def metadata(cfg, args, model_name):
    """What a user of the file needs from the config: preprocessing and the output."""
    pre = cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor') or {}
    return {
        'mean': json.dumps(list(pre.get('mean', []))),
        'std': json.dumps(list(pre.get('std', []))),
        'rgb': str(bool(pre.get('bgr_to_rgb', pre.get('to_rgb', False)))),
        'output': 'features' if model_name == 'backbone' else args.output,
        'config': osp.basename(args.config),
    }


def verify_sizes(batch, height, width, dynamic):
    """The example size and, for a dynamic file, two more batches and sizes that no stride or
    pooling bin divides."""
    sizes = [(batch, height, width)]
    if dynamic:
        sizes += [(1, height * 3 // 2 + 1, width * 3 // 2 + 3),
                  (3, height // 2 + 5, width // 2 + 1)]
    return sizes


def verify(module, path, channels, sizes, labels):
    session = OnnxModel(path)
    for batch, height, width in sizes:
        images = torch.randn(batch, channels, height, width)
        with torch.no_grad():
            expected = module(images)
        expected = list(expected) if isinstance(expected, tuple) else [expected]
        stats = compare(expected, session(images), labels)
        print(f'verify {batch}x{channels}x{height}x{width}: ' +
              ', '.join(f'{k} {v:.3g}' for k, v in stats.items()))
        if stats['max_rel_error'] > MAX_REL_ERROR or \
                stats.get('label_agreement', 1.) < MIN_LABEL_AGREEMENT:
            os.remove(path)
            raise SystemExit(f'{path} differed from PyTorch at {batch}x{height}x{width} beyond '
                             f'max_rel_error {MAX_REL_ERROR} / label_agreement '
                             f'{MIN_LABEL_AGREEMENT}, and was removed')


def main():
    args = parse_args()
    check_opset(args.opset_version)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not exist')
    cfg, model = load_model(args.config, args.checkpoint, args.cfg_options)
    model_name = 'backbone' if args.backbone_only else 'model'
    module, output_names = export_module(model, model_name, args.output)
    height, width = input_size(cfg, args)
    channels = getattr(model.backbone, 'in_channels', 3)
    batch = 2 if args.dynamic_export else 1
    example = torch.randn(batch, channels, height, width)
    os.makedirs(osp.dirname(osp.abspath(args.output_file)), exist_ok=True)
    seconds = export_onnx(module, example, args.output_file,
                          IMAGE_DIMS if args.dynamic_export else None, args.opset_version,
                          output_names, metadata(cfg, args, model_name))
    size = osp.getsize(args.output_file) / 2**20
    shape = 'dynamic (batch, height, width)' if args.dynamic_export else \
        f'{batch}x{channels}x{height}x{width}'
    print(f'wrote {args.output_file}: {size:.1f} MiB, opset {args.opset_version}, input '
          f'{shape}, outputs {output_names}, exported in {seconds:.1f} s; onnx.checker '
          '(full check) passed, standard ops only')
    if args.verify:
        verify(module, args.output_file, channels,
               verify_sizes(batch, height, width, args.dynamic_export),
               labels=output_names in (['logits'], ['labels']))


if __name__ == '__main__':
    main()
