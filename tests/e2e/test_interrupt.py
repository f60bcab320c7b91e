"""Faults during training, end to end with the real UperNet + VisionGRU-Ti config: a kill while a
checkpoint is written, a NaN loss, a resume from the wrong checkpoint, a stuck rank.  Each costs
training runs (the slow group); each fault is also tested in-process in the default group
(tests/engine/, tests/tools/test_train.py)."""
import os
import os.path as osp
import re
import signal
import subprocess
import time

import pytest
import torch

import mmseg_visiongru  # noqa: F401  (lets torch.load read mmengine checkpoints)

from ..helpers import CONFIG, PYTHON, ROOT, losses, run, run_fails, small_run_options

pytestmark = pytest.mark.slow
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


def stop_during_a_save(proc, work_dir):
    """SIGSTOP ``proc`` while it writes a checkpoint after iter_2 (its temporary file there,
    the checkpoint not yet): return the checkpoint's name."""
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        names = os.listdir(work_dir) if osp.isdir(work_dir) else []
        temps = [n for n in names if re.fullmatch(r'iter_([4-9]|\d\d+)\.pth\.tmp\d+', n)]
        if temps:
            proc.send_signal(signal.SIGSTOP)
            target = temps[0].split('.tmp')[0]
            names = os.listdir(work_dir)
            if temps[0] in names and target not in names:
                return target
            proc.send_signal(signal.SIGCONT)  # the save completed in between: the next one
        time.sleep(0.005)
    raise AssertionError('no checkpoint save was caught in progress')


def test_kill_during_a_save_keeps_the_last_checkpoint_and_resumes_to_the_same_result(
        deterministic_config, ade_sample, tmp_path):
    whole, killed = str(tmp_path / 'whole'), str(tmp_path / 'killed')
    run(PYTHON, 'tools/train.py', deterministic_config, '--work-dir', whole, '--cfg-options',
        *options(ade_sample))

    proc = subprocess.Popen(
        [PYTHON, 'tools/train.py', deterministic_config, '--work-dir', killed,
         '--cfg-options', *options(ade_sample)], cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    target = stop_during_a_save(proc, killed)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # max_keep_ckpts=1: the previous checkpoint is kept, complete, and recorded.
    previous = f'iter_{int(target[5:-4]) - 2}.pth'
    names = os.listdir(killed)
    assert target not in names and any(n.startswith(f'{target}.tmp') for n in names)
    assert previous in names
    with open(osp.join(killed, 'last_checkpoint')) as f:
        assert f.read() == osp.join(killed, previous)
    assert weights(osp.join(killed, previous)).keys() == weights(
        osp.join(whole, f'iter_{ITERS}.pth')).keys()

    out = run(PYTHON, 'tools/train.py', deterministic_config, '--work-dir', killed, '--resume',
              '--cfg-options', *options(ade_sample))
    assert f'resuming from {osp.join(killed, previous)}' in out
    assert not [n for n in os.listdir(killed) if '.tmp' in n]  # removed at the start
    final_whole = weights(osp.join(whole, f'iter_{ITERS}.pth'))
    final_killed = weights(osp.join(killed, f'iter_{ITERS}.pth'))
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


def test_nan_loss_by_learning_rate_stops_training_and_saves_no_nan(ade_sample, tmp_path):
    out = run_fails(PYTHON, 'tools/train.py', CONFIG, '--work-dir', str(tmp_path),
                    '--cfg-options', *small_run_options(ade_sample, 24),
                    'default_hooks.checkpoint.interval=2', 'optim_wrapper.optimizer.lr=1000.')
    stop = re.search(r'FloatingPointError: (The loss is (nan|inf) at iteration (\d+)|Not saving '
                     r'the checkpoint of iteration (\d+))', out)
    assert stop, out[-3000:]
    assert 'Likely causes: a learning rate too high' in out
    saved = sorted(n for n in os.listdir(tmp_path) if n.endswith('.pth'))
    for name in saved:
        assert int(name[5:-4]) < int(stop.group(3) or stop.group(4))
        assert all(torch.isfinite(v).all() for v in weights(tmp_path / name).values()), name
    assert f'last good checkpoint: {tmp_path / saved[-1]}' in out if saved else \
        'last good checkpoint: none' in out


def test_resume_from_a_finished_run_or_another_model_is_refused(trained, ade_sample, tmp_path):
    # A reused work dir whose last_checkpoint names a checkpoint at the end of the schedule.
    (tmp_path / 'last_checkpoint').write_text(osp.join(trained, 'iter_24.pth'))
    out = run_fails(PYTHON, 'tools/train.py', CONFIG, '--work-dir', str(tmp_path), '--resume',
                    '--cfg-options', *small_run_options(ade_sample, 24))
    assert "iter_24.pth' is at iter 24 and train_cfg.max_iters is 24: its run is complete" in out
    out = run_fails(PYTHON, 'tools/train.py', CONFIG, '--work-dir', str(tmp_path / 'other'),
                    '--resume', osp.join(trained, 'iter_12.pth'), '--cfg-options',
                    *small_run_options(ade_sample, 24), 'model.decode_head.channels=128')
    assert 'Likely fix: decode_head: channels=512 in the checkpoint, 128 in the model' in out
    assert 'in check_resume' in out  # refused before mmengine loads weights or optimizer


def rank_pids(parent):
    """{RANK: pid} of the torchrun workers under process ``parent``."""
    found, todo = {}, [parent]
    while todo:
        pid = todo.pop()
        try:
            with open(f'/proc/{pid}/task/{pid}/children') as f:
                todo += [int(c) for c in f.read().split()]
            with open(f'/proc/{pid}/environ', 'rb') as f:
                env = dict(v.split(b'=', 1) for v in f.read().split(b'\0') if b'=' in v)
        except FileNotFoundError:
            continue
        if b'RANK' in env and b'torchrun' not in open(f'/proc/{pid}/cmdline', 'rb').read():
            found.setdefault(int(env[b'RANK']), pid)
    return found


def test_stuck_rank_ends_the_job_within_the_timeout(ade_sample, tmp_path):
    timeout = 20
    proc = subprocess.Popen(
        ['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', str(tmp_path),
         '--cfg-options', *small_run_options(ade_sample, 200), 'train_dataloader.batch_size=2',
         f'env_cfg.dist_cfg.timeout={timeout}'], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env=dict(os.environ, PORT='29531'))
    deadline = time.time() + 300
    while not any(n.endswith('.log') for _, _, files in os.walk(tmp_path) for n in files):
        assert time.time() < deadline and proc.poll() is None, proc.communicate()[0][-3000:]
        time.sleep(1)
    time.sleep(5)  # training under way
    pids = rank_pids(proc.pid)
    assert sorted(pids) == [0, 1], pids
    os.kill(pids[1], signal.SIGSTOP)
    stopped = time.time()
    try:
        out, _ = proc.communicate(timeout=timeout + 90)
    finally:
        os.kill(pids[1], signal.SIGKILL) if osp.exists(f'/proc/{pids[1]}') else None
    assert proc.returncode != 0
    assert time.time() - stopped < timeout + 90
    assert re.search(r'rank 0/2: .*timed out', out, re.IGNORECASE | re.DOTALL), out[-3000:]
