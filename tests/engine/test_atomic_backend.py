"""Checkpoints are written atomically by the 'atomic_local' file backend that the configs select
for the checkpoint hook; mmengine's own LocalBackend is left as it is."""
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.registry import DefaultScope
from mmengine.runner import Runner, save_checkpoint

from mmseg_visiongru.engine import AtomicLocalBackend

from ..helpers import ROOT, Toy

ATOMIC = dict(backend='atomic_local')


def crash(fd):
    raise KeyboardInterrupt('killed while saving')


def test_put_is_all_or_nothing(tmp_path, monkeypatch):
    target = tmp_path / 'new' / 'iter_6.pth'
    backend = AtomicLocalBackend()
    backend.put(b'complete', str(target))
    assert target.read_bytes() == b'complete'
    monkeypatch.setattr(os, 'fsync', crash)
    with pytest.raises(KeyboardInterrupt):
        backend.put(b'x' * 1000, str(target))
    assert target.read_bytes() == b'complete'
    assert os.listdir(target.parent) == ['iter_6.pth']  # no temporary file left behind


def test_interrupted_save_checkpoint_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(os, 'fsync', crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({'state_dict': {'w': torch.ones(3)}}, str(tmp_path / 'iter_2.pth'),
                        backend_args=ATOMIC)
    assert os.listdir(tmp_path) == []


def test_other_local_writes_are_mmengine_s_own(tmp_path):
    assert LocalBackend.put.__module__ == 'mmengine.fileio.backends.local_backend'
    assert type(get_file_backend(str(tmp_path))) is LocalBackend


def test_checkpoint_hook_writes_through_the_backend(tmp_path, monkeypatch):
    written, put = [], AtomicLocalBackend.put

    def recording_put(self, obj, filepath):
        written.append(osp.basename(filepath))
        put(self, obj, filepath)

    monkeypatch.setattr(AtomicLocalBackend, 'put', recording_put)
    # A Runner makes its default scope ('mmengine') the current one for the whole process;
    # restore the previous scopes afterwards, or later builds in mmseg's and mmpretrain's
    # registries would look in mmengine's.
    with DefaultScope.overwrite_default_scope('mmengine'):
        runner = Runner(
            model=Toy(), work_dir=str(tmp_path),
            train_dataloader=dict(dataset=[dict(inputs=torch.ones(2))] * 4, batch_size=2,
                                  sampler=dict(type='DefaultSampler', shuffle=False)),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
            train_cfg=dict(by_epoch=False, max_iters=2),
            default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1,
                                               by_epoch=False, backend_args=ATOMIC)))
        runner.train()
    assert written == ['iter_1.pth', 'iter_2.pth']
    assert torch.load(tmp_path / 'iter_2.pth')['meta']['iter'] == 2  # torch's safe loader


@pytest.mark.parametrize('config', [
    'upernet_visiongru_ti_ade20k', 'upernet_visiongru_b_ade20k', 'visiongru_ti_in1k',
    'visiongru_b_in1k', 'quickstart_upernet_visiongru_ti_sample',
    'quickstart_visiongru_ti_sample_cls'
])
def test_configs_select_the_atomic_backend(config):
    cfg = Config.fromfile(f'{ROOT}/configs/{config}.py')
    assert cfg.default_hooks.checkpoint.backend_args == ATOMIC
