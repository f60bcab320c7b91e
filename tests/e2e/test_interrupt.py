"""A training run killed at any moment loses nothing: checkpoints are atomic, and a resumed run
ends exactly where an uninterrupted one does."""
import os
import os.path as osp
import signal
import subprocess
import time

import pytest
import torch

import mmseg_visiongru  # noqa: F401  (lets torch.load read mmengine checkpoints)
from mmseg_visiongru.engine import AtomicLocalBackend

from ..helpers import CONFIG, PYTHON, ROOT, losses, run, small_run_options

ITERS = 8


@pytest.fixture(scope='module')
def deterministic_config(ade_sample, tmp_path_factory):
    """The real Ti config on sample data, without randomness that a checkpoint cannot hold
    (augmentation, dropout): what remains is seeded and replayed on resume."""
    path = tmp_path_factory.mktemp('cfg') / 'deterministic.py'
    path.write_text(f'''
_base_ = '{osp.join(ROOT, CONFIG)}'
pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=pipeline))
model = dict(decode_head=dict(dropout_ratio=0.), auxiliary_head=dict(dropout_ratio=0.))
randomness = dict(seed=0, deterministic=True)
''')
    return str(path)


def options(ade_sample):
    shrunk = [o for o in small_run_options(ade_sample, ITERS)
              if not o.startswith(('train_dataloader.dataset.pipeline', 'train_cfg.val_interval',
                                   'default_hooks.checkpoint.interval'))]
    return shrunk + ['default_hooks.checkpoint.interval=2',
                     'default_hooks.checkpoint.max_keep_ckpts=1', 'train_cfg.val_interval=100']


def weights(path):
    return torch.load(path)['state_dict']


def test_killed_run_resumes_to_the_same_result(deterministic_config, ade_sample, tmp_path):
    whole, killed = str(tmp_path / 'whole'), str(tmp_path / 'killed')
    run(PYTHON, 'tools/train.py', deterministic_config, '--work-dir', whole, '--cfg-options',
        *options(ade_sample))

    proc = subprocess.Popen(
        [PYTHON, 'tools/train.py', deterministic_config, '--work-dir', killed,
         '--cfg-options', *options(ade_sample)], cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not osp.exists(osp.join(killed, 'iter_4.pth')) and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # mid-iteration 5 or 6, or mid-save of iter_6
    proc.wait()
    assert not osp.exists(osp.join(killed, f'iter_{ITERS}.pth'))

    out = run(PYTHON, 'tools/train.py', deterministic_config, '--work-dir', killed, '--resume',
              '--cfg-options', *options(ade_sample))
    assert 'resuming from' in out
    final_whole = weights(osp.join(whole, f'iter_{ITERS}.pth'))
    final_killed = weights(osp.join(killed, f'iter_{ITERS}.pth'))
    assert final_whole.keys() == final_killed.keys()
    for key in final_whole:
        assert torch.equal(final_whole[key], final_killed[key]), key
    whole_losses, killed_losses = losses(whole), losses(killed)
    assert sorted(whole_losses) == list(range(1, ITERS + 1))
    for step, loss in killed_losses.items():
        assert loss == whole_losses[step], step


def test_same_seed_gives_identical_losses(ade_sample, tmp_path):
    # The real (randomly augmented) pipeline, 20 iterations, twice with one seed.
    runs = []
    for name in ('a', 'b'):
        work_dir = str(tmp_path / name)
        run(PYTHON, 'tools/train.py', CONFIG, '--work-dir', work_dir, '--cfg-options',
            *small_run_options(ade_sample, 20), 'randomness.deterministic=True',
            'default_hooks.checkpoint.interval=20')
        runs.append(losses(work_dir))
    assert len(runs[0]) == 20 and runs[0] == runs[1]


def test_interrupted_save_leaves_no_checkpoint(tmp_path, monkeypatch):
    target = tmp_path / 'iter_6.pth'

    def crash(fd):
        raise KeyboardInterrupt('killed while saving')

    monkeypatch.setattr(os, 'fsync', crash)
    with pytest.raises(KeyboardInterrupt):
        AtomicLocalBackend().put(b'x' * 1000, str(target))
    assert not target.exists()
    (tmp_path / 'iter_4.pth').write_bytes(b'complete')
    from tools import train
    assert train.latest_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_4.pth')
    assert train.latest_checkpoint(str(tmp_path / 'missing')) is None
