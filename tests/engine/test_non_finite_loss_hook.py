"""NonFiniteLossHook stops training at the first NaN/Inf loss, before its weights are saved."""
import math
import os

import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from ..helpers import Toy


def test_training_stops_at_the_first_nan_loss_and_saves_nothing_after_it(tmp_path):
    # Batches of 2 in order: the third batch holds a NaN input, so the loss of iteration 3 is
    # NaN and every weight after its update too.
    data = [dict(inputs=torch.ones(2))] * 4 + [dict(inputs=torch.full((2, ), math.nan))] * 2
    with DefaultScope.overwrite_default_scope('mmengine'):
        runner = Runner(
            model=Toy(), work_dir=str(tmp_path), experiment_name='non_finite_loss_hook',
            train_dataloader=dict(dataset=data, batch_size=2,
                                  sampler=dict(type='DefaultSampler', shuffle=False)),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            train_cfg=dict(by_epoch=False, max_iters=6),
            default_hooks=dict(checkpoint=dict(type='SafeCheckpointHook', interval=1,
                                               by_epoch=False)),
            custom_hooks=[dict(type='NonFiniteLossHook')])
        with pytest.raises(FloatingPointError) as error:
            runner.train()
    assert str(error.value).startswith(
        'The loss is nan at iteration 3 (loss=nan). Training stopped; the last good '
        f'checkpoint: {tmp_path}/iter_2.pth. Likely causes: a learning rate too high')
    assert '--amp' in str(error.value)
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth')) == [
        'iter_1.pth', 'iter_2.pth']
    assert runner.iter == 2  # the loop stopped inside iteration 3
