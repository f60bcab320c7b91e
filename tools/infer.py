"""Segment images with a trained model, writing colour overlays and raw label maps.

    python tools/infer.py IMG_OR_DIR --config CFG --checkpoint CKPT --out DIR

Writes ``DIR/overlays/<name>.png`` (prediction blended over the image) and
``DIR/labels/<name>.png`` (uint8 class indices of the model, 0..num_classes-1; for ADE20K models
trained with ``reduce_zero_label`` that is the ADE label minus one).
"""
import argparse
import os
import os.path as osp

import mmcv
import numpy as np
from mmengine.utils import scandir
from mmseg.apis import MMSegInferencer

import mmseg_visiongru  # noqa: F401  (registers VisionGRU; lets torch read our checkpoints)

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('inputs', help='an image file or a folder of images')
    parser.add_argument('--config', required=True, help='model config file')
    parser.add_argument('--checkpoint', required=True, help='trained checkpoint')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--device', default='cpu', help='e.g. cpu or cuda:0')
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


def main():
    args = parse_args()
    images = list_images(args.inputs)
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} {path!r} does not exist')
    inferencer = MMSegInferencer(model=args.config, weights=args.checkpoint, device=args.device)
    for sub in ('overlays', 'labels'):
        os.makedirs(osp.join(args.out, sub), exist_ok=True)
    for path in images:
        result = inferencer(path, return_vis=True, opacity=args.opacity)
        name = osp.splitext(osp.relpath(path, args.inputs) if osp.isdir(args.inputs)
                            else osp.basename(path))[0].replace(os.sep, '_') + '.png'
        mmcv.imwrite(result['visualization'][..., ::-1], osp.join(args.out, 'overlays', name))
        mmcv.imwrite(result['predictions'].astype(np.uint8), osp.join(args.out, 'labels', name))
    print(f'{len(images)} images: overlays in {osp.join(args.out, "overlays")}, label maps in '
          f'{osp.join(args.out, "labels")}')


if __name__ == '__main__':
    main()
