"""The launchers: a real two-node job through tools/dist_train.sh (two node invocations on this
machine, one process each, over gloo), the srun commands of tools/slurm_{train,test}.sh
(MMSegmentation 1.2.2's arguments and variables), the Python they pick, and the warning for a
batch other than the config's."""
import hashlib
import os
import os.path as osp
import re
import shutil
import socket
import stat
import subprocess
from glob import glob

import pytest
import torch

import mmseg_visiongru  # noqa: F401  (lets torch's safe loader read mmengine checkpoints)

from ..helpers import CONFIG, PYTHON, ROOT, run_fails, small_run_options

BN_BUFFERS = ('.running_mean', '.running_var', '.num_batches_tracked')


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def parameter_digest(state_dict):
    """The digest tools/train.py prints, computed independently from a checkpoint."""
    digest = hashlib.sha256()
    for name in sorted(k for k in state_dict if not k.endswith(BN_BUFFERS)):
        digest.update(name.encode())
        digest.update(state_dict[name].contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def test_two_nodes_train_one_model_and_rank0_alone_writes_checkpoints(ade_sample, tmp_path):
    """NNODES=2: node 0 and node 1 each start one process; they form one job of world size 2,
    gradients are averaged across the nodes (both end with the same weights although each saw
    other images), and only node 0 (rank 0) writes checkpoints."""
    port = str(free_port())
    options = small_run_options(ade_sample, 4) + [
        'train_dataloader.batch_size=2', 'train_cfg.val_interval=1000']
    procs, logs = [], []
    try:
        for node in (0, 1):
            logs.append(tmp_path / f'node{node}.log')
            env = dict(os.environ, NNODES='2', NODE_RANK=str(node), MASTER_ADDR='127.0.0.1',
                       PORT=port, PYTHON=PYTHON, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1')
            with open(logs[-1], 'w') as log:
                procs.append(subprocess.Popen(
                    ['bash', 'tools/dist_train.sh', CONFIG, '1', '--work-dir',
                     str(tmp_path / f'node{node}'), '--cfg-options', *options],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        codes = [proc.wait(timeout=600) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    out = [log.read_text() for log in logs]
    assert codes == [0, 0], f'exit codes {codes}\nnode 0:\n{out[0][-4000:]}\nnode 1:\n{out[1][-4000:]}'

    digests = [re.findall(rf'rank {rank}/2: parameter digest ([0-9a-f]{{64}})', out[rank])
               for rank in (0, 1)]
    assert len(digests[0]) == len(digests[1]) == 1, out
    assert digests[0] == digests[1]
    assert 'parameters identical on all 2 ranks' in out[0]

    # Checkpoints: on node 0 only, each written once; node 1's work dir has none.
    assert sorted(map(osp.basename, glob(str(tmp_path / 'node0' / '*.pth')))) == [
        'iter_2.pth', 'iter_4.pth']
    assert out[0].count('Saving checkpoint at 4 iterations') == 1
    assert glob(str(tmp_path / 'node1' / '**' / '*.pth'), recursive=True) == []
    assert 'Saving checkpoint' not in out[1]
    # ... and rank 0's last checkpoint holds the weights both ranks ended with.
    state_dict = torch.load(tmp_path / 'node0' / 'iter_4.pth', map_location='cpu',
                            weights_only=True)['state_dict']
    assert parameter_digest(state_dict) == digests[0][0]


def test_dist_scripts_check_their_arguments():
    out = run_fails('env', 'NNODES=2', 'NODE_RANK=2', 'bash', 'tools/dist_train.sh', CONFIG, '1')
    assert 'NODE_RANK < NNODES' in out
    out = run_fails('bash', 'tools/dist_test.sh', CONFIG, 'x.pth', 'two')
    assert "GPUS must be a number, got 'two'" in out
    out = run_fails('env', 'PYTHON=/nonexistent/python', 'bash', 'tools/dist_train.sh', CONFIG, '1')
    assert "no Python at '/nonexistent/python'" in out
    assert 'usage: ' in run_fails('bash', 'tools/slurm_train.sh', 'partition', 'job')


@pytest.fixture
def fake_srun(tmp_path):
    """An `srun` on PATH that records its arguments (one per line) and the PYTHONPATH it got;
    calling it returns those and the launcher's stderr."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    record = tmp_path / 'srun.args'
    srun = bin_dir / 'srun'
    srun.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {record}\n'
                    f'echo "$PYTHONPATH" > {record}.pythonpath\n')
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)

    def call(script, *args, **env):
        environ = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}', **env)
        for key in ('GPUS', 'GPUS_PER_NODE', 'CPUS_PER_TASK', 'SRUN_ARGS', 'PYTHON'):
            if key not in env:
                environ.pop(key, None)
        proc = subprocess.run(['bash', f'tools/{script}', *args], cwd=ROOT, env=environ,
                              check=True, stderr=subprocess.PIPE, text=True)
        return (record.read_text().splitlines(),
                (tmp_path / 'srun.args.pythonpath').read_text(), proc.stderr)
    return call


def test_slurm_train_builds_the_srun_command(fake_srun):
    args, pythonpath, _ = fake_srun(
        'slurm_train.sh', 'gpu', 'visiongru-ti', CONFIG, '--work-dir', 'work_dirs/ti', '--amp',
        '--cfg-options', 'train_cfg.max_iters=80000',
        GPUS='16', GPUS_PER_NODE='8', CPUS_PER_TASK='6', SRUN_ARGS='--time=2-00:00:00 --exclusive',
        PYTHON='/opt/env/bin/python')
    assert args == [
        '-p', 'gpu', '--job-name=visiongru-ti', '--gres=gpu:8', '--ntasks=16',
        '--ntasks-per-node=8', '--cpus-per-task=6', '--kill-on-bad-exit=1',
        '--time=2-00:00:00', '--exclusive',
        '/opt/env/bin/python', '-u', osp.join(ROOT, 'tools', 'train.py'), CONFIG,
        '--launcher=slurm', '--work-dir', 'work_dirs/ti', '--amp',
        '--cfg-options', 'train_cfg.max_iters=80000']
    assert pythonpath.split(':')[0].strip() == ROOT


def test_slurm_defaults_and_test_script(fake_srun):
    """MMSegmentation 1.2.2's defaults: 4 GPUs, 4 per node, 5 CPUs per task."""
    args, _, _ = fake_srun('slurm_train.sh', 'gpu', 'job', CONFIG, PYTHON='/opt/env/bin/python')
    assert args[2:8] == ['--job-name=job', '--gres=gpu:4', '--ntasks=4', '--ntasks-per-node=4',
                         '--cpus-per-task=5', '--kill-on-bad-exit=1']
    assert args[8:] == ['/opt/env/bin/python', '-u', osp.join(ROOT, 'tools', 'train.py'),
                        CONFIG, '--launcher=slurm']
    # Fewer GPUs than a node has: one node with that many; the repository's .venv if present.
    args, _, _ = fake_srun('slurm_test.sh', 'gpu', 'eval', CONFIG, 'iter_160000.pth', '--tta',
                           '--out', 'preds', GPUS='2')
    assert args == [
        '-p', 'gpu', '--job-name=eval', '--gres=gpu:2', '--ntasks=2', '--ntasks-per-node=2',
        '--cpus-per-task=5', '--kill-on-bad-exit=1', osp.join(ROOT, '.venv', 'bin', 'python'),
        '-u', osp.join(ROOT, 'tools', 'test.py'), CONFIG, 'iter_160000.pth', '--launcher=slurm',
        '--tta', '--out', 'preds']
    assert 'GPUS_PER_NODE must be a positive number' in run_fails(
        'env', 'GPUS_PER_NODE=0', 'bash', 'tools/slurm_test.sh', 'gpu', 'eval', CONFIG, 'x.pth')


def test_a_batch_other_than_the_configs_is_warned(fake_srun):
    """The Ti config is tuned for 8 GPUs x 2 images: 4 GPUs get a warning naming the fix;
    --auto-scale-lr (which rescales the lr) or the right count do not."""
    _, _, err = fake_srun('slurm_train.sh', 'gpu', 'job', CONFIG, PYTHON=PYTHON)
    assert ('WARNING: 4 GPUs x 2 images per GPU = a batch of 8, but '
            f'{CONFIG} is tuned for a batch of 16') in err
    assert 'add --auto-scale-lr to scale the lr, or use 8 GPUs' in err
    _, _, err = fake_srun('slurm_train.sh', 'gpu', 'job', CONFIG, '--auto-scale-lr',
                          PYTHON=PYTHON)
    assert 'WARNING' not in err
    _, _, err = fake_srun('slurm_train.sh', 'gpu', 'job', CONFIG, '--cfg-options',
                          'train_dataloader.batch_size=4', PYTHON=PYTHON, GPUS='4')
    assert 'WARNING' not in err


def test_without_a_venv_the_python_on_path_runs(tmp_path):
    """A checkout in a user's own environment (no .venv, no PYTHON): `python` from PATH, as
    MMSegmentation's scripts use."""
    repo = tmp_path / 'repo'
    (repo / 'tools').mkdir(parents=True)
    for name in ('dist_train.sh', 'launch.sh'):
        shutil.copy(osp.join(ROOT, 'tools', name), repo / 'tools' / name)
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    record = tmp_path / 'python.args'
    python = bin_dir / 'python'
    python.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {record}\n')
    python.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != 'PYTHON'}
    env['PATH'] = f'{bin_dir}:{env["PATH"]}'
    subprocess.run(['bash', 'tools/dist_train.sh', 'cfg.py', '2'], cwd=repo, env=env, check=True)
    args = record.read_text().splitlines()
    assert args[:2] == ['-m', 'torch.distributed.run'] and '--nproc_per_node=2' in args
    assert args[-3:] == ['cfg.py', '--launcher', 'pytorch']
