"""Train/eval consistency of UperNet + VisionGRU-Ti (the trainability issue): what the model
learns in train mode (BatchNorm on batch statistics) must survive eval mode (running
statistics), on the images it trained on, and carry to held-out images."""
import pytest

from ..helpers import load_tool

ITERS = 160


@pytest.fixture(scope='module')
def assessed(tmp_path_factory):
    trainability = load_tool('analysis/trainability')
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
