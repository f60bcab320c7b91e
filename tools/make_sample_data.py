"""Write small, learnable, procedurally generated datasets in the real datasets' layouts.

    python tools/make_sample_data.py --kind ade20k --out data/sample_ade20k
    python tools/make_sample_data.py --kind imagenet --out data/sample_imagenet

``ade20k``: ``images/{training,validation}/*.jpg`` and ``annotations/{...}/*.png`` (uint8, 0 =
ignore, ADE class ids 1..150), for ``ADE20KDataset`` with ``reduce_zero_label=True``.  Scenes are
a wall, a floor and overlapping objects whose class is tied to shape, colour and texture; two
classes share colour and texture and differ only in size, so a pixel's class needs context well
beyond a 3x3 patch.  ``imagenet``: ``{train,val}/<wnid>/*.JPEG`` plus ``meta/{train,val}.txt``
and ``meta/classes.txt`` for mmpretrain's ``ImageNet``.  Deterministic given ``--seed``.
"""
import argparse
import os
import os.path as osp

import numpy as np
from PIL import Image

JPEG_QUALITY = 92

# ADE20K ids of the scene background: wall and floor.
WALL, FLOOR = 1, 4
# ADE20K id -> (name, shape, RGB colour, texture, size range as a fraction of the image side).
# 'box' and 'cabinet' differ only in size.
OBJECTS = {
    13: ('person', 'disk', (200, 40, 40), 'smooth', (0.12, 0.2)),
    20: ('chair', 'rect', (40, 60, 200), 'stripes', (0.2, 0.35)),
    22: ('water', 'triangle', (40, 170, 60), 'noise', (0.2, 0.35)),
    42: ('box', 'rect', (220, 200, 40), 'checker', (0.08, 0.13)),
    11: ('cabinet', 'rect', (220, 200, 40), 'checker', (0.3, 0.42)),
    37: ('lamp', 'disk', (150, 60, 200), 'stripes', (0.1, 0.18)),
}

# ImageNet-layout classes combine these cues (see ``imagenet_cue``).
SHAPES = ('disk', 'rect', 'triangle')
COLOURS = ((200, 40, 40), (40, 60, 200), (40, 170, 60), (220, 200, 40))
TEXTURES = ('smooth', 'stripes', 'checker', 'noise')
MAX_IMAGENET_CLASSES = len(SHAPES) * len(COLOURS) * len(TEXTURES)


def texture(kind, yy, xx, rng):
    """A pattern in [0, 1] over the pixel grid ``yy, xx``."""
    if kind == 'stripes':
        return ((xx + yy) // 3 % 2).astype(np.float32)
    if kind == 'checker':
        return ((xx // 4 + yy // 4) % 2).astype(np.float32)
    if kind == 'noise':
        return rng.random(yy.shape, dtype=np.float32)
    return np.full(yy.shape, 0.5, np.float32)


def shape_mask(shape, dy, dx, r):
    """Pixels inside a disk, square-ish rectangle or upward triangle of radius ``r``.

    ``dy, dx`` are the pixels' offsets from the shape's centre (rotated, for a rotated shape).
    """
    if shape == 'disk':
        return dy**2 + dx**2 <= r * r
    if shape == 'rect':
        return (abs(dy) <= r) & (abs(dx) <= r * 0.8)
    # Below the two slanted edges from the apex at dy = -r, and above the base at dy = r.
    return (dy <= r) & (dy + r >= 2 * abs(dx))


def paint(image, mask, colour, pattern, rng):
    """Fill ``image[mask]`` with a jittered tint of ``colour`` modulated by ``pattern``."""
    tint = np.array(colour, np.float32) * rng.uniform(0.85, 1.15)
    image[mask] = tint * (0.7 + 0.3 * pattern[mask, None])


def finish(image, rng):
    """Per-image brightness jitter and pixel noise, as uint8."""
    image = image * rng.uniform(0.8, 1.2) + rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def ade20k_scene(rng, size):
    """One ``size`` x ``size`` scene: an RGB uint8 image and its uint8 label map."""
    yy, xx = np.mgrid[:size, :size]
    image = np.empty((size, size, 3), np.float32)
    label = np.full((size, size), WALL, np.uint8)
    paint(image, label == WALL, (170, 160, 150), yy / size, rng)
    horizon = int(size * rng.uniform(0.55, 0.75))
    floor = yy >= horizon
    label[floor] = FLOOR
    paint(image, floor, (110, 80, 60), texture('checker', yy, xx, rng), rng)
    # Clutter that is not annotated (label 0, ignored by the loss).
    for _ in range(rng.integers(0, 3)):
        cy, cx = rng.integers(0, size, 2)
        mask = shape_mask('disk', yy - cy, xx - cx, size * 0.05)
        label[mask] = 0
        paint(image, mask, (90, 90, 90), texture('noise', yy, xx, rng), rng)
    chosen = rng.choice(list(OBJECTS), size=rng.integers(2, 5), replace=False)
    for class_id in chosen:  # later objects are drawn on top, in the image and the label
        _, shape, colour, tex, (lo, hi) = OBJECTS[class_id]
        r = rng.uniform(lo, hi) * size / 2
        cy, cx = rng.uniform(r, size - r, 2)
        mask = shape_mask(shape, yy - cy, xx - cx, r)
        label[mask] = class_id
        paint(image, mask, colour, texture(tex, yy, xx, rng), rng)
    return finish(image, rng), label


def make_ade20k(out, seed=0, num_train=48, num_val=12, size=128):
    """Write an ADE20K-layout dataset under ``out``; return a one-line summary."""
    rng = np.random.default_rng(seed)
    for split, count, stem in (('training', num_train, 'train'),
                               ('validation', num_val, 'val')):
        os.makedirs(osp.join(out, 'images', split), exist_ok=True)
        os.makedirs(osp.join(out, 'annotations', split), exist_ok=True)
        for i in range(count):
            image, label = ade20k_scene(rng, size)
            name = f'ADE_{stem}_{i + 1:08d}'
            Image.fromarray(image).save(osp.join(out, 'images', split, name + '.jpg'),
                                        quality=JPEG_QUALITY)
            Image.fromarray(label, mode='L').save(
                osp.join(out, 'annotations', split, name + '.png'))
    return f'{num_train} training and {num_val} validation scenes ({size}x{size}) in {out}'


def imagenet_cue(index):
    """(shape, colour, texture) of class ``index``: distinct for every index below 48."""
    colour = index // 3 % len(COLOURS)
    tex = (colour + index + index // 12) % len(TEXTURES)
    return SHAPES[index % len(SHAPES)], COLOURS[colour], TEXTURES[tex]


def classification_image(rng, class_index, size):
    """One image of class ``class_index``: its shape, randomly placed, scaled and rotated."""
    shape, colour, tex = imagenet_cue(class_index)
    yy, xx = np.mgrid[:size, :size]
    image = rng.normal(128, 30, (size, size, 3)).astype(np.float32)
    r = rng.uniform(0.25, 0.4) * size
    cy, cx = rng.uniform(r * 0.8, size - r * 0.8, 2)
    angle = rng.uniform(-np.pi / 6, np.pi / 6)
    dy, dx = yy - cy, xx - cx
    dy, dx = np.cos(angle) * dy - np.sin(angle) * dx, np.sin(angle) * dy + np.cos(angle) * dx
    paint(image, shape_mask(shape, dy, dx, r), colour, texture(tex, yy, xx, rng), rng)
    return finish(image, rng)


def make_imagenet(out, seed=0, num_classes=10, num_train=24, num_val=6, size=64):
    """Write an ImageNet-layout dataset under ``out`` (counts per class); return a summary."""
    if not 1 <= num_classes <= MAX_IMAGENET_CLASSES:
        raise ValueError(f'num_classes must be in 1..{MAX_IMAGENET_CLASSES}, got {num_classes}')
    rng = np.random.default_rng(seed)
    wnids = [f'n{i:08d}' for i in range(num_classes)]
    os.makedirs(osp.join(out, 'meta'), exist_ok=True)
    with open(osp.join(out, 'meta', 'classes.txt'), 'w') as f:
        f.write(''.join(f'{w}\n' for w in wnids))
    for split, count in (('train', num_train), ('val', num_val)):
        lines = []
        for label, wnid in enumerate(wnids):
            os.makedirs(osp.join(out, split, wnid), exist_ok=True)
            for i in range(count):
                name = f'{wnid}/{wnid}_{i:04d}.JPEG'
                Image.fromarray(classification_image(rng, label, size)).save(
                    osp.join(out, split, name), format='JPEG', quality=JPEG_QUALITY)
                lines.append(f'{name} {label}\n')
        with open(osp.join(out, 'meta', f'{split}.txt'), 'w') as f:
            f.write(''.join(lines))
    return (f'{num_classes} classes x ({num_train} train + {num_val} val) images ({size}x{size})'
            f' in {out}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--kind', required=True, choices=['ade20k', 'imagenet'])
    parser.add_argument('--out', required=True, help='output folder (files are overwritten)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=int, help='training images (per class: imagenet)')
    parser.add_argument('--num-val', type=int, help='validation images (per class: imagenet)')
    parser.add_argument('--size', type=int, help='image side in pixels')
    parser.add_argument('--num-classes', type=int,
                        help=f'imagenet only: number of classes, 1..{MAX_IMAGENET_CLASSES}')
    args = parser.parse_args(argv)
    if args.kind != 'imagenet' and args.num_classes is not None:
        parser.error('--num-classes applies to --kind imagenet only')
    options = {k: v for k, v in vars(args).items()
               if k in ('num_classes', 'num_train', 'num_val', 'size') and v is not None}
    make = make_ade20k if args.kind == 'ade20k' else make_imagenet

    try:
        print(make(args.out, args.seed, **options))
    except ValueError as e:
        parser.error(str(e))


if __name__ == '__main__':
    main()
