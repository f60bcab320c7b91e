"""tools/get_flops.py: any segmentor or classifier config, ``--shape``, the minGRU op counted."""
import pytest
from mmengine.config import Config

from tools.get_flops import count, input_shape, main

from ..helpers import ROOT

SEG = f'{ROOT}/configs/quickstart_upernet_visiongru_ti_sample.py'
CLS = f'{ROOT}/configs/quickstart_visiongru_ti_sample_cls.py'
TI = dict(dims=(72, 144, 288, 576), depths=(2, 2, 8, 2))


def min_gru_elements(height, width, dims, depths):
    """Elements of h over every 2DGRU block of a VisionGRU: L tokens x 2C hidden channels
    (expansion 2) x 2 directions per block, stage s at stride 4 * 2**s."""
    total = 0
    for s, (dim, depth) in enumerate(zip(dims, depths)):
        tokens = -(-height // (4 * 2**s)) * -(-width // (4 * 2**s))
        total += depth * tokens * 2 * dim * 2
    return total


def test_shape_defaults_to_the_configs_crop_size():
    assert input_shape(Config.fromfile(SEG), []) == (96, 96)
    assert input_shape(Config.fromfile(CLS), []) == (224, 224)
    assert input_shape(Config.fromfile(CLS), [64, 32]) == (64, 32)
    with pytest.raises(ValueError, match='one side or H W'):
        input_shape(Config.fromfile(CLS), [1, 2, 3])


@pytest.mark.parametrize('config', [SEG, CLS], ids=['segmentor', 'classifier'])
def test_counts_the_min_gru_op_of_segmentor_and_classifier(config):
    result = count(Config.fromfile(config), (64, 32))
    elements = min_gru_elements(64, 32, **TI)
    # one multiply-add per element of h for the scan, 8 element-wise ops for its gates
    assert result['macs_min_gru'] == 9 * elements
    assert result['macs_paper'] < result['macs_full'] - result['macs_min_gru']
    assert not any('min_gru' in op for op in result['uncounted'])
    assert result['params'] > 29_639_952  # the backbone and a head


def test_prints_like_mmsegs_get_flops(capsys):
    main([CLS, '--shape', '32', '--cfg-options', 'model.head.num_classes=10'])
    out = capsys.readouterr().out
    assert 'Input shape: (1, 3, 32, 32)' in out
    # VisionGRU-Ti and a linear head of 576 x 10 + 10
    assert 'Params: 29.646 M (29,645,722)' in out
