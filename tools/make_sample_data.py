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

# ADE20K ids and names of the classes the scenes use; (shape, RGB colour, texture, size range as
# a fraction of the image side).  'box' and 'cabinet' differ only in size.
WALL, FLOOR = 1, 4
OBJECTS = {
    13: ('person', 'disk', (200, 40, 40), 'smooth', (0.12, 0.2)),
    20: ('car', 'rect', (40, 60, 200), 'stripes', (0.2, 0.35)),
    22: ('painting', 'triangle', (40, 170, 60), 'noise', (0.2, 0.35)),
    42: ('box', 'rect', (220, 200, 40), 'checker', (0.08, 0.13)),
    11: ('cabinet', 'rect', (220, 200, 40), 'checker', (0.3, 0.42)),
    37: ('lamp', 'disk', (150, 60, 200), 'stripes', (0.1, 0.18)),
}


def texture(kind, yy, xx, rng):
    """A pattern in [0, 1] over the grid."""
    if kind == 'stripes':
        return ((xx + yy) // 3 % 2).astype(np.float32)
    if kind == 'checker':
        return ((xx // 4 + yy // 4) % 2).astype(np.float32)
    if kind == 'noise':
        return rng.random(yy.shape, dtype=np.float32)
    return np.full(yy.shape, 0.5, np.float32)


def shape_mask(shape, yy, xx, cy, cx, r):
    if shape == 'disk':
        return (yy - cy)**2 + (xx - cx)**2 <= r * r
    if shape == 'rect':
        return (abs(yy - cy) <= r) & (abs(xx - cx) <= r * 0.8)
    # An upward triangle: below the two slanted edges and above the base.
    return (yy <= cy + r) & (yy - cy + r >= 2 * abs(xx - cx))


def paint(image, mask, colour, pattern, rng):
    tint = np.array(colour, np.float32) * rng.uniform(0.85, 1.15)
    image[mask] = tint * (0.7 + 0.3 * pattern[mask, None])


def ade20k_scene(rng, size):
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
        mask = shape_mask('disk', yy, xx, *rng.integers(0, size, 2), size * 0.05)
        label[mask] = 0
        paint(image, mask, (90, 90, 90), texture('noise', yy, xx, rng), rng)
    ids = list(OBJECTS)
    chosen = rng.choice(ids, size=rng.integers(2, 5), replace=False)
    for class_id in chosen:  # later objects are drawn on top
        _, shape, colour, tex, (lo, hi) = OBJECTS[class_id]
        r = rng.uniform(lo, hi) * size / 2
        cy, cx = rng.uniform(r, size - r, 2)
        mask = shape_mask(shape, yy, xx, cy, cx, r)
        label[mask] = class_id
        paint(image, mask, colour, texture(tex, yy, xx, rng), rng)
    image = image * rng.uniform(0.8, 1.2) + rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), label


def make_ade20k(out, seed=0, num_train=48, num_val=12, size=128):
    rng = np.random.default_rng(seed)
    for split, count, stem in (('training', num_train, 'train'),
                               ('validation', num_val, 'val')):
        os.makedirs(osp.join(out, 'images', split), exist_ok=True)
        os.makedirs(osp.join(out, 'annotations', split), exist_ok=True)
        for i in range(count):
            image, label = ade20k_scene(rng, size)
            name = f'ADE_{stem}_{i + 1:08d}'
            Image.fromarray(image).save(osp.join(out, 'images', split, name + '.jpg'), quality=92)
            Image.fromarray(label, mode='L').save(
                osp.join(out, 'annotations', split, name + '.png'))
    return f'{num_train} training and {num_val} validation scenes ({size}x{size}) in {out}'


def classification_image(rng, class_index, size):
    shapes, colours = ('disk', 'rect', 'triangle'), [(200, 40, 40), (40, 60, 200),
                                                     (40, 170, 60), (220, 200, 40)]
    textures = ('smooth', 'stripes', 'checker', 'noise')
    shape = shapes[class_index % 3]
    colour = colours[class_index // 3 % 4]
    tex = textures[(class_index // 3 + class_index) % 4]
    yy, xx = np.mgrid[:size, :size]
    image = rng.normal(128, 30, (size, size, 3)).astype(np.float32)
    r = rng.uniform(0.25, 0.4) * size
    cy, cx = rng.uniform(r * 0.8, size - r * 0.8, 2)
    paint(image, shape_mask(shape, yy, xx, cy, cx, r), colour, texture(tex, yy, xx, rng), rng)
    image = image * rng.uniform(0.8, 1.2) + rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def make_imagenet(out, seed=0, num_classes=10, num_train=24, num_val=6, size=64):
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
                    osp.join(out, split, name), format='JPEG', quality=92)
                lines.append(f'{name} {label}\n')
        with open(osp.join(out, 'meta', f'{split}.txt'), 'w') as f:
            f.write(''.join(lines))
    return (f'{num_classes} classes x ({num_train} train + {num_val} val) images ({size}x{size})'
            f' in {out}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--kind', required=True, choices=['ade20k', 'imagenet'])
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=int, help='training images (per class: imagenet)')
    parser.add_argument('--num-val', type=int, help='validation images (per class: imagenet)')
    parser.add_argument('--size', type=int, help='image side in pixels')
    parser.add_argument('--num-classes', type=int, default=10, help='imagenet only')
    args = parser.parse_args(argv)
    given = {k: v for k, v in (('num_train', args.num_train), ('num_val', args.num_val),
                               ('size', args.size)) if v is not None}
    if args.kind == 'ade20k':
        print(make_ade20k(args.out, args.seed, **given))
    else:
        print(make_imagenet(args.out, args.seed, args.num_classes, **given))


if __name__ == '__main__':
    main()
