"""Segment images with a trained model, writing colour overlays and raw label maps.

    python tools/infer.py IMG_OR_DIR --config CFG --checkpoint CKPT --out DIR [--device DEV]

Writes ``DIR/overlays/<name>.png`` (prediction blended over the image) and
``DIR/labels/<name>.png`` (uint8 class indices of the model, 0..num_classes-1; for ADE20K models
trained with ``reduce_zero_label`` that is the ADE label minus one).  The checkpoint is compared
with the model and loaded strictly.  Images that cannot be read are listed and skipped, the
others processed; the exit status is then 1.  ``--device`` defaults to ``cuda`` where CUDA is
available, else ``cpu``.
"""
import argparse
import os
import os.path as osp
import sys

import mmcv
import numpy as np
import torch
from mmengine.utils import scandir
from mmseg.apis import MMSegInferencer
from mmseg.registry import DATASETS

import mmseg_visiongru  # noqa: F401  (registers VisionGRU; lets torch read our checkpoints)
from mmseg_visiongru.checkpoint import load_checkpoint_strict

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('inputs', help='an image file or a folder of images')
    parser.add_argument('--config', required=True, help='model config file')
    parser.add_argument('--checkpoint', required=True, help='trained checkpoint')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                        help='e.g. cpu or cuda:0 (default: cuda if available, else cpu)')
    parser.add_argument('--opacity', type=float, default=0.5, help='overlay opacity')
    return parser.parse_args()


def list_images(inputs):
    if osp.isfile(inputs):
        return [inputs]
    if not osp.isdir(inputs):
        raise FileNotFoundError(f'input {inputs!r} is neither an image nor a folder')
    images = sorted(osp.join(inputs, f) for f in scandir(
        inputs, suffix=IMAGE_SUFFIXES, recursive=True, case_sensitive=False))
    if not images:
        raise ValueError(f'no images ({", ".join(IMAGE_SUFFIXES)}) in folder {inputs!r}')
    return images


def unreadable(path):
    """Why ``path`` cannot be decoded as an image, or None if it can."""
    try:
        if mmcv.imread(path) is None:
            return 'not an image'
    except Exception as e:  # truncated or foreign files raise from the decoder
        return f'{type(e).__name__}: {e}'
    return None


class StrictSegInferencer(MMSegInferencer):
    """``MMSegInferencer`` whose weights are loaded by :func:`load_checkpoint_strict`, with
    class names and palette from the checkpoint's ``dataset_meta`` (else the config's
    dataset)."""

    def __init__(self, config, checkpoint, device):
        self.checkpoint = checkpoint
        super().__init__(model=config, weights=None, device=device)

    def _load_weights_to_model(self, model, checkpoint, cfg):
        meta = (load_checkpoint_strict(model, self.checkpoint).get('meta') or {}).get(
            'dataset_meta') or DATASETS.get(cfg.test_dataloader.dataset.type).METAINFO
        model.dataset_meta = {'classes': meta['classes'], 'palette': meta['palette']}


def main():
    args = parse_args()
    images = list_images(args.inputs)
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} {path!r} does not exist')
    inferencer = StrictSegInferencer(args.config, args.checkpoint, args.device)
    for sub in ('overlays', 'labels'):
        os.makedirs(osp.join(args.out, sub), exist_ok=True)
    skipped = []
    for path in images:
        reason = unreadable(path)
        if reason:
            print(f'skipped {path}: {reason}', flush=True)
            skipped.append(path)
            continue
        result = inferencer(path, return_vis=True, opacity=args.opacity)
        name = osp.splitext(osp.relpath(path, args.inputs) if osp.isdir(args.inputs)
                            else osp.basename(path))[0].replace(os.sep, '_') + '.png'
        mmcv.imwrite(result['visualization'][..., ::-1], osp.join(args.out, 'overlays', name))
        mmcv.imwrite(result['predictions'].astype(np.uint8), osp.join(args.out, 'labels', name))
    print(f'{len(images) - len(skipped)} images: overlays in {osp.join(args.out, "overlays")}, '
          f'label maps in {osp.join(args.out, "labels")}')
    if skipped:
        print(f'{len(skipped)} of {len(images)} images could not be read and were skipped: '
              + ', '.join(skipped), file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
