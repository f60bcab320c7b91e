"""CheckSegLabels: annotations that cannot be the image's label map are errors naming the file;
the configs' pipelines keep image and annotation aligned whatever the image's EXIF orientation."""
import numpy as np
import pytest
from mmengine.config import Config
from mmseg.registry import TRANSFORMS
from PIL import Image

import mmseg_visiongru  # noqa: F401  (registers CheckSegLabels)
from mmseg_visiongru.transforms import CheckSegLabels

from .helpers import ROOT


def test_label_values_out_of_range():
    check = CheckSegLabels(num_classes=150)
    ok = np.array([[0, 149], [255, 3]], dtype=np.uint8)
    assert check({'gt_seg_map': ok})['gt_seg_map'] is ok
    bad = np.array([[0, 150], [200, 255]], dtype=np.uint8)
    with pytest.raises(ValueError, match=r'a\.png: label values \[150, 200\] are outside'):
        check({'gt_seg_map': bad, 'seg_map_path': 'a.png', 'reduce_zero_label': True})
    assert 'gt_seg_map' not in check({'img': ok})  # inference pipelines pass through


def load(cfg_pipeline, image, annotation):
    """Run the loading steps of a config's pipeline, and CheckSegLabels, on one pair of files."""
    steps = [t for t in cfg_pipeline if t['type'] in ('LoadImageFromFile', 'LoadAnnotations',
                                                        'CheckSegLabels')]
    results = dict(img_path=str(image), seg_map_path=str(annotation), reduce_zero_label=True,
                   seg_fields=[])
    for step in steps:
        results = TRANSFORMS.build(step)(results)
    return results


@pytest.fixture(scope='module')
def pipeline():
    return Config.fromfile(f'{ROOT}/configs/upernet_visiongru_ti_ade20k.py').train_pipeline


def scene(tmp_path, orientation=1):
    """A 48x64 (height x width) image whose left half is bright, with its annotation (class 2
    on the left half, 1 on the right, before reduce_zero_label), the image tagged with an EXIF
    orientation."""
    pixels = np.zeros((48, 64, 3), np.uint8)
    pixels[:, :32] = 250
    label = np.ones((48, 64), np.uint8)
    label[:, :32] = 2
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(tmp_path / 'a.jpg', exif=exif, quality=95)
    Image.fromarray(label).save(tmp_path / 'a.png')
    return tmp_path / 'a.jpg', tmp_path / 'a.png'


@pytest.mark.parametrize('orientation', [1, 6])  # 6: "rotate 90 degrees to display"
def test_image_and_annotation_align_whatever_the_exif_orientation(tmp_path, pipeline,
                                                                   orientation):
    results = load(pipeline, *scene(tmp_path, orientation))
    assert results['img'].shape == (48, 64, 3) and results['gt_seg_map'].shape == (48, 64)
    bright = results['img'].mean(axis=2) > 128
    np.testing.assert_array_equal(bright, results['gt_seg_map'] == 1)


def test_annotation_of_another_size_is_named(tmp_path, pipeline):
    image, annotation = scene(tmp_path)
    Image.fromarray(np.ones((40, 64), np.uint8)).save(annotation)
    with pytest.raises(ValueError, match=rf'{annotation}: the annotation is 40x64 \(height x '
                       rf'width\), its image {image} 48x64: they must align pixel for pixel'):
        load(pipeline, image, annotation)
    # Rotated by its EXIF tag alone (as LoadImageFromFile does by default), the image no longer
    # fits its annotation: the check says so.
    image, annotation = scene(tmp_path, orientation=6)
    rotating = [dict(t, color_type='color') if t['type'] == 'LoadImageFromFile' else t
                for t in pipeline]
    with pytest.raises(ValueError, match=r'annotation is 48x64 .* 64x48: .*color_ignore_orient'):
        load(rotating, image, annotation)


def test_rgb_annotation_names_the_palette_fix(tmp_path, pipeline):
    image, annotation = scene(tmp_path)
    Image.fromarray(np.zeros((48, 64, 3), np.uint8)).save(annotation)
    with pytest.raises(ValueError, match=rf'{annotation}: the annotation has shape \(48, 64, 3\),'
                       r' not \(height, width\).*map each palette colour to its class index'):
        load(pipeline, image, annotation)
