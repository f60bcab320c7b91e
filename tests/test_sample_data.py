import hashlib
import os.path as osp
from glob import glob

import numpy as np
from PIL import Image

from .conftest import load_tool

make_sample_data = load_tool('make_sample_data')


def digest(folder):
    h = hashlib.sha256()
    for path in sorted(glob(osp.join(folder, '**', '*.*'), recursive=True)):
        h.update(osp.relpath(path, folder).encode())
        h.update(open(path, 'rb').read())
    return h.hexdigest()


def test_ade20k_layout_labels_and_cues(tmp_path):
    make_sample_data.make_ade20k(str(tmp_path), seed=0, num_train=6, num_val=2, size=64)
    images = sorted(glob(str(tmp_path / 'images' / 'training' / '*.jpg')))
    labels = sorted(glob(str(tmp_path / 'annotations' / 'training' / '*.png')))
    assert len(images) == len(labels) == 6
    assert len(glob(str(tmp_path / 'images' / 'validation' / '*.jpg'))) == 2
    colour_by_class = {}
    for image_path, label_path in zip(images, labels):
        assert osp.basename(image_path)[:-4] == osp.basename(label_path)[:-4]
        image, label = np.array(Image.open(image_path)), np.array(Image.open(label_path))
        assert label.dtype == np.uint8 and label.shape == image.shape[:2] == (64, 64)
        values = set(np.unique(label).tolist())
        assert values <= set(range(151)) and len(values - {0}) >= 2
        for v in values - {0}:
            colour_by_class.setdefault(v, []).append(image[label == v].mean(0))
    means = np.array([np.mean(c, 0) for c in colour_by_class.values()])
    # Classes look different: every pair of class colour means is apart.
    gaps = np.linalg.norm(means[:, None] - means[None], axis=-1)
    assert len(means) >= 4 and np.sort(gaps, axis=None)[len(means)] > 5


def test_deterministic_given_seed(tmp_path):
    for name, seed in (('a', 0), ('b', 0), ('c', 1)):
        make_sample_data.make_ade20k(str(tmp_path / name), seed=seed, num_train=2, num_val=1,
                                     size=32)
    assert digest(tmp_path / 'a') == digest(tmp_path / 'b') != digest(tmp_path / 'c')


def test_imagenet_layout_and_meta(tmp_path):
    make_sample_data.main(['--kind', 'imagenet', '--out', str(tmp_path), '--num-classes', '3',
                           '--num-train', '2', '--num-val', '1', '--size', '32'])
    classes = (tmp_path / 'meta' / 'classes.txt').read_text().split()
    assert classes == ['n00000000', 'n00000001', 'n00000002']
    for split, count in (('train', 2), ('val', 1)):
        lines = (tmp_path / 'meta' / f'{split}.txt').read_text().splitlines()
        assert len(lines) == 3 * count
        for line in lines:
            name, label = line.split()
            assert osp.isfile(tmp_path / split / name)
            assert name.split('/')[0] == classes[int(label)]
