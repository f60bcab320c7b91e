"""Train/eval consistency of UperNet + VisionGRU-Ti (the trainability benchmark): what the model
learns in train mode (BatchNorm on batch statistics) must survive eval mode (running
statistics), on the images it trained on, and carry to held-out images."""
import inspect
import os.path as osp

import mmseg
import pytest
from mmengine.config import Config

from mmseg_visiongru.models import VisionGRU
from tools.analysis import trainability

ITERS = 160


@pytest.fixture(scope='module')
def assessed(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('trainability'))
    data_root = trainability.make_data('context', out, num_train=32, num_val=8, size=64)
    cfg = trainability.run_config('visiongru-ti', data_root, seed=0, iters=ITERS, size=64)
    checkpoint, loss, _ = trainability.train(cfg, f'{out}/work', ITERS)
    return loss, trainability.assess(cfg, checkpoint)


@pytest.mark.slow
def test_eval_mode_keeps_what_train_mode_learnt(assessed):
    loss, result = assessed
    train_mode, eval_mode = result['batch_stats_own'], result['eval_own']
    # It learnt something: far above the 1/3 of pixels a constant "wall" gets right.
    assert train_mode['aAcc'] > 80, (loss, result)
    assert abs(train_mode['aAcc'] - eval_mode['aAcc']) <= 2, result
    assert result['eval_held_out']['aAcc'] > train_mode['aAcc'] - 10, result


def test_variant_configs():
    """Every variant is the quickstart recipe plus its own change, as its name says."""
    base = trainability.run_config('visiongru-ti', 'data', seed=0, iters=100, size=64)
    assert set(trainability.MODELS) >= {'visiongru-ti', 'swin-t', 'visiongru-ti-out-norm',
                                        'visiongru-ti-trunc-init', 'visiongru-ti-lr2x'}
    assert base.model.backbone.type == 'VisionGRU' and base.model.backbone.init_cfg is None
    assert base.train_cfg.max_iters == 100 and base.randomness.seed == 0

    def backbone(name):
        return trainability.run_config(name, 'data', seed=0, iters=100, size=64).model.backbone

    assert backbone('visiongru-ti-out-norm').out_norm is True
    default_init = inspect.signature(VisionGRU).parameters['init_cfg'].default
    assert backbone('visiongru-ti-trunc-init').init_cfg == list(default_init)
    lr2x = trainability.run_config('visiongru-ti-lr2x', 'data', seed=0, iters=100, size=64)
    assert lr2x.optim_wrapper.optimizer.lr == 2 * base.optim_wrapper.optimizer.lr
    swin = trainability.run_config('swin-t', 'data', seed=0, iters=100, size=64)
    upstream = Config.fromfile(osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs',
                                        '_base_', 'models', 'upernet_swin.py')).model.backbone
    assert swin.model.backbone.to_dict() == dict(upstream.to_dict(), drop_path_rate=0.)
    assert swin.model.decode_head.in_channels == [96, 192, 384, 768]
    assert swin.optim_wrapper.paramwise_cfg.custom_keys['absolute_pos_embed'] == \
        dict(decay_mult=0.)
