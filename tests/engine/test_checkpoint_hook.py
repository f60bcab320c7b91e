"""SafeCheckpointHook: a save killed at any instant keeps the previous checkpoint, temporary files
of killed saves are removed at the next start, and NaN/Inf weights are never saved."""
import itertools
import math
import os
import subprocess

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmseg_visiongru.engine import AtomicLocalBackend, SafeCheckpointHook

from ..helpers import ROOT, Toy

RUNS = itertools.count()  # each Runner gets its own logger and message hub


def train(work_dir, hook='SafeCheckpointHook', max_iters=6, **runner_args):
    """Train :class:`Toy` for ``max_iters`` iterations, saving every 2 and keeping one."""
    # A Runner makes its default scope the process's current one: restore the previous one.
    with DefaultScope.overwrite_default_scope('mmengine'):
        runner = Runner(
            model=Toy(), work_dir=str(work_dir), experiment_name=f'checkpoint_hook_{next(RUNS)}',
            train_dataloader=dict(dataset=[dict(inputs=torch.ones(2))] * 4, batch_size=2,
                                  sampler=dict(type='DefaultSampler', shuffle=False)),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            train_cfg=dict(by_epoch=False, max_iters=max_iters),
            default_hooks=dict(checkpoint=dict(
                type=hook, interval=2, by_epoch=False, max_keep_ckpts=1,
                backend_args=dict(backend='atomic_local'))), **runner_args)
        runner.train()
    return runner


def dead_pid():
    proc = subprocess.Popen(['true'])
    proc.wait()
    return proc.pid


def checkpoints(work_dir):
    return sorted(f for f in os.listdir(work_dir) if '.pth' in f)


@pytest.mark.parametrize('hook,kept', [('SafeCheckpointHook', ['iter_2.pth']),
                                       ('CheckpointHook', [])])  # mmengine's own loses it
def test_kill_during_a_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch, hook, kept):
    put, pid = AtomicLocalBackend.put, dead_pid()

    def killed_while_writing_iter_4(self, obj, filepath):
        if not filepath.endswith('iter_4.pth'):
            return put(self, obj, filepath)
        with open(f'{filepath}.tmp{pid}', 'wb') as f:  # what SIGKILL leaves mid-write
            f.write(obj[:len(obj) // 2])
        raise KeyboardInterrupt('killed')

    monkeypatch.setattr(AtomicLocalBackend, 'put', killed_while_writing_iter_4)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path, hook)
    assert checkpoints(tmp_path) == sorted(kept + [f'iter_4.pth.tmp{pid}'])
    if kept:
        assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_2.pth')
        assert torch.load(tmp_path / 'iter_2.pth')['meta']['iter'] == 2

    # Resuming removes the temporary file and ends with the newest checkpoint alone.
    monkeypatch.setattr(AtomicLocalBackend, 'put', put)
    if kept:
        train(tmp_path, resume=True, load_from=str(tmp_path / 'iter_2.pth'))
        assert checkpoints(tmp_path) == ['iter_6.pth']
        assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_6.pth')


def test_temporary_files_of_running_saves_are_kept(tmp_path):
    live = tmp_path / 'iter_2.pth.tmp1'  # pid 1 always runs
    live.write_bytes(b'being written')
    train(tmp_path, max_iters=2)
    assert checkpoints(tmp_path) == ['iter_2.pth', live.name]


def test_non_finite_weights_are_never_saved(tmp_path):
    runner = train(tmp_path, max_iters=2)
    hook = next(h for h in runner.hooks if isinstance(h, SafeCheckpointHook))
    runner.model.linear.weight.data[0, 1] = math.nan
    with pytest.raises(FloatingPointError) as error:
        hook._save_checkpoint(runner)
    assert str(error.value).startswith(
        'Not saving the checkpoint of iteration 3: 1 of 2 weight tensors hold NaN or Inf '
        f'(linear.weight). Training stopped; the last good checkpoint: {tmp_path}/iter_2.pth. '
        'Likely causes: a learning rate too high')
    assert checkpoints(tmp_path) == ['iter_2.pth']


@pytest.mark.parametrize('config', ['upernet_visiongru_ti_ade20k', 'visiongru_ti_in1k'])
def test_configs_use_the_safe_hooks(config):  # the other configs inherit them
    cfg = Config.fromfile(f'{ROOT}/configs/{config}.py')
    assert cfg.default_hooks.checkpoint.type == 'SafeCheckpointHook'
    assert dict(type='NonFiniteLossHook') in cfg.custom_hooks
