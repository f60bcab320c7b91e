"""tools/make_sample_data.py: layouts, label values, learnable cues and determinism."""
import hashlib
import itertools
import os.path as osp
from glob import glob

import numpy as np
import pytest
from PIL import Image

from tools import make_sample_data as sample_data

# Every ADE20K id a scene may contain, with the colour it is painted in.
CLASS_COLOURS = {sample_data.WALL: (170, 160, 150), sample_data.FLOOR: (110, 80, 60),
                 **{k: v[2] for k, v in sample_data.OBJECTS.items()}}
BOX, CABINET = 42, 11  # the pair that shares shape, colour and texture, and differs in size


def digest(folder):
    """SHA-256 over the relative paths and bytes of every file under ``folder``."""
    h = hashlib.sha256()
    for path in sorted(glob(osp.join(folder, '**', '*.*'), recursive=True)):
        h.update(osp.relpath(path, folder).encode())
        with open(path, 'rb') as f:
            h.update(f.read())
    return h.hexdigest()


def stems(paths):
    return [osp.splitext(osp.basename(p))[0] for p in paths]


def ade_pairs(root, split):
    """(image, label) arrays of one split, checking that images and annotations pair up."""
    images = sorted(glob(osp.join(root, 'images', split, '*.jpg')))
    labels = sorted(glob(osp.join(root, 'annotations', split, '*.png')))
    assert stems(images) == stems(labels)
    pairs = []
    for image_path, label_path in zip(images, labels):
        image, label = Image.open(image_path), Image.open(label_path)
        assert (image.mode, label.mode) == ('RGB', 'L')
        pairs.append((np.array(image), np.array(label)))
    return pairs


@pytest.fixture(scope='module')
def ade(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('ade'))
    sample_data.make_ade20k(out, seed=0, num_train=12, num_val=4, size=64)
    return out


def test_ade20k_layout(ade):
    for split, stem, count in (('training', 'train', 12), ('validation', 'val', 4)):
        names = stems(glob(osp.join(ade, 'images', split, '*.jpg')))
        assert sorted(names) == [f'ADE_{stem}_{i:08d}' for i in range(1, count + 1)]
        for image, label in ade_pairs(ade, split):
            assert image.shape == (64, 64, 3) and label.shape == (64, 64)


def test_ade20k_label_values(ade):
    seen = set()
    for split in ('training', 'validation'):
        for _, label in ade_pairs(ade, split):
            values = set(np.unique(label).tolist())
            assert values <= {0} | set(CLASS_COLOURS) and max(values) <= 150
            assert len(values - {0}) >= 2
            seen |= values
    assert seen >= set(CLASS_COLOURS)


def test_ade20k_label_matches_what_is_drawn():
    """Each object pixel's hue is its labelled class's colour: the label follows the z-order."""
    ids = list(CLASS_COLOURS)
    colours = np.array([CLASS_COLOURS[i] for i in ids], np.float64)
    colours /= np.linalg.norm(colours, axis=1, keepdims=True)
    rng = np.random.default_rng(1)
    hits = total = 0
    for _ in range(20):
        image, label = sample_data.ade20k_scene(rng, 64)
        assert image.dtype == label.dtype == np.uint8
        pixels = image.reshape(-1, 3).astype(np.float64)
        nearest = np.array(ids)[np.argmax(pixels @ colours.T, axis=1)].reshape(label.shape)
        nearest[nearest == BOX] = CABINET  # same colour: told apart by size only
        objects = np.isin(label, list(sample_data.OBJECTS))
        hits += (nearest == np.where(label == BOX, CABINET, label))[objects].sum()
        total += objects.sum()
    assert total > 0 and hits / total > 0.999


def test_ade20k_classes_are_told_apart_by_colour_or_size(ade):
    colours, areas = {}, {}
    for image, label in ade_pairs(ade, 'training'):
        for v in set(np.unique(label).tolist()) - {0}:
            colours.setdefault(v, []).append(image[label == v].mean(0))
            areas.setdefault(v, []).append((label == v).sum())
    means = {v: np.mean(c, 0) for v, c in colours.items()}
    for a, b in itertools.combinations(sorted(means), 2):
        if {a, b} != {BOX, CABINET}:
            assert np.linalg.norm(means[a] - means[b]) > 30, (a, b)
    assert sample_data.OBJECTS[BOX][1:4] == sample_data.OBJECTS[CABINET][1:4]
    assert 4 * np.median(areas[BOX]) < np.median(areas[CABINET])


@pytest.mark.parametrize('kind', ['ade20k', 'imagenet'])
def test_same_seed_same_bytes_other_seed_differs(kind, tmp_path):
    for name, seed in (('a', 0), ('b', 0), ('c', 1)):
        sample_data.main(['--kind', kind, '--out', str(tmp_path / name), '--seed', str(seed),
                          '--num-train', '2', '--num-val', '1', '--size', '32'])
    assert digest(tmp_path / 'a') == digest(tmp_path / 'b') != digest(tmp_path / 'c')


def test_imagenet_layout_and_meta(tmp_path, capsys):
    sample_data.main(['--kind', 'imagenet', '--out', str(tmp_path), '--num-classes', '3',
                      '--num-train', '4', '--num-val', '2', '--size', '32'])
    assert len(capsys.readouterr().out.strip().splitlines()) == 1
    classes = (tmp_path / 'meta' / 'classes.txt').read_text().splitlines()
    assert classes == ['n00000000', 'n00000001', 'n00000002']
    for split, count in (('train', 4), ('val', 2)):
        folder = tmp_path / split
        assert sorted(p.name for p in folder.iterdir()) == classes
        written = {osp.relpath(p, folder) for p in glob(str(folder / '*' / '*'))}
        listed = {}
        for line in (tmp_path / 'meta' / f'{split}.txt').read_text().splitlines():
            name, label = line.split(' ')
            listed[name] = int(label)
        assert set(listed) == written and len(written) == 3 * count
        for name, label in listed.items():
            assert name.endswith('.JPEG') and name.split('/')[0] == classes[label]
            image = Image.open(folder / name)
            assert (image.format, image.mode, image.size) == ('JPEG', 'RGB', (32, 32))


def test_imagenet_classes_have_distinct_cues():
    limit = sample_data.MAX_IMAGENET_CLASSES
    assert len({sample_data.imagenet_cue(i) for i in range(limit)}) == limit
    with pytest.raises(ValueError, match='num_classes'):
        sample_data.make_imagenet('unused', num_classes=limit + 1)


def test_cli_rejects_num_classes_for_ade20k(tmp_path):
    with pytest.raises(SystemExit) as error:
        sample_data.main(['--kind', 'ade20k', '--out', str(tmp_path), '--num-classes', '3'])
    assert error.value.code == 2
