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


@pytest.fixture(scope='module')
def seg_cfg():
    return Config.fromfile(SEG)


def test_shape_defaults_to_the_configs_crop_size(seg_cfg):
    assert input_shape(seg_cfg, []) == (96, 96)
    assert input_shape(Config(dict(model=dict())), []) == (224, 224)
    assert input_shape(seg_cfg, [64, 32]) == (64, 32)
    assert input_shape(seg_cfg, [48]) == (48, 48)
    with pytest.raises(ValueError, match='one side or H W'):
        input_shape(seg_cfg, [1, 2, 3])


def test_counts_the_min_gru_op_of_a_segmentor(seg_cfg):
    result = count(seg_cfg, (64, 32))
    elements = min_gru_elements(64, 32, **TI)
    # one multiply-add per element of h for the scan, 8 element-wise ops for its gates
    assert result['macs_min_gru'] == 9 * elements
    assert result['macs_paper'] < result['macs_full'] - result['macs_min_gru']
    assert result['uncounted'] == []
    assert result['params'] > 29_639_952  # VisionGRU-Ti and the UperNet heads


def test_a_classifier_from_the_command_line(capsys):
    main([CLS, '--shape', '32', '--cfg-options', 'model.head.num_classes=10'])
    out = capsys.readouterr().out
    assert 'Input shape: (1, 3, 32, 32)' in out
    # VisionGRU-Ti and a linear head of 576 x 10 + 10
    assert 'Params: 29.646 M (29,645,722)' in out
    # 9 ops per element of the minGRU op's output, in GMACs
    assert f'of which the minGRU op: {9 * min_gru_elements(32, 32, **TI) / 1e9:.3f}' in out
    assert 'Not counted: nothing' in out
