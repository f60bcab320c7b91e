"""Installing: install.sh's choices through `--dry-run` (installs nothing: which Python, how many
compile jobs, which mmcv wheel cache); pip's own builds into a user's environment that already
has torch and the OpenMMLab stack (`slow`); and the classic stack, torch 2.1-2.3 (`classic`, run
with MMSEG_VISIONGRU_CLASSIC_PYTHON set, docs/install.md)."""
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import pytest

from ..helpers import ROOT

# install.sh and what its stamp hashes.
FILES = ['install.sh', 'pyproject.toml', 'tools/build_mmcv.sh', 'requirements',
         'mmseg_visiongru/ops/csrc']
# The tests that need no mmcv, mmseg or mmpretrain: what the classic stack must pass.
CLASSIC_TESTS = ['tests/ops', 'tests/models/test_min_gru.py', 'tests/models/test_numerics.py',
                 'tests/models/test_compile.py',
                 'tests/models/test_plain_pytorch.py::'
                 'test_core_imports_and_runs_without_mmseg_mmpretrain_mmcv']


@pytest.fixture
def checkout(tmp_path):
    """A copy of the installer's inputs, without a .venv."""
    for name in FILES:
        src, dst = os.path.join(ROOT, name), tmp_path / 'repo' / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, dst)
    return tmp_path / 'repo'


def fake_python(folder, version):
    """A stand-in interpreter that only reports its version, as install.sh asks it."""
    path = folder / f'python{version}'
    path.write_text(f'#!/bin/sh\necho {version}\n')
    path.chmod(0o755)
    return str(path)


def dry_run(checkout, **env):
    environ = {k: v for k, v in os.environ.items() if k not in ('PYTHON', 'MAX_JOBS')}
    environ.update(env, MMSEG_VISIONGRU_CACHE=str(checkout.parent / 'cache'))
    proc = subprocess.run(['bash', 'install.sh', '--dry-run'], cwd=checkout, env=environ,
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout + proc.stderr


def test_defaults(checkout):
    code, out = dry_run(checkout)
    assert code == 0, out
    assert f'MAX_JOBS:   {len(os.sched_getaffinity(0))}' in out  # the cores this process may use
    assert 'to be created' in out and 'would install' in out
    assert '(Python 3.' in out


def test_python_and_jobs_are_chosen(checkout, tmp_path):
    code, out = dry_run(checkout, PYTHON=sys.executable, MAX_JOBS='3')
    version = '%d.%d' % sys.version_info[:2]
    assert code == 0, out
    assert f'python:     {sys.executable} (Python {version})' in out
    assert 'MAX_JOBS:   3' in out
    # Any Python >= 3.11: the mmcv wheel is cached per Python.
    code, out = dry_run(checkout, PYTHON=fake_python(tmp_path, '3.13'))
    assert code == 0, out
    assert '(Python 3.13)' in out and 'mmcv-2.1.0-torch2.14.1-cp313' in out


def test_unusable_choices_are_refused(checkout, tmp_path):
    code, out = dry_run(checkout, PYTHON=fake_python(tmp_path, '3.10'))
    assert code != 0 and 'Python >= 3.11 is needed' in out and 'is 3.10' in out
    code, out = dry_run(checkout, PYTHON=str(tmp_path / 'nonexistent'))
    assert code != 0 and 'is not a working Python' in out
    code, out = dry_run(checkout, MAX_JOBS='many')
    assert code != 0 and "MAX_JOBS must be a positive number, got 'many'" in out
    proc = subprocess.run(['bash', 'install.sh', '--yes'], cwd=checkout, capture_output=True,
                          text=True)
    assert proc.returncode == 2 and 'usage: bash install.sh [--dry-run]' in proc.stderr


def test_existing_venv_keeps_its_python(checkout, tmp_path):
    venv_bin = checkout / '.venv' / 'bin'
    venv_bin.mkdir(parents=True)
    shutil.copy(fake_python(tmp_path, '3.12'), venv_bin / 'python')
    code, out = dry_run(checkout)
    assert code == 0 and '(Python 3.12)' in out and '(exists)' in out, out
    code, out = dry_run(checkout, PYTHON=fake_python(tmp_path, '3.13'))
    assert code != 0 and 'was made with Python 3.12' in out and 'Remove' in out


@pytest.fixture(scope='module')
def user_env(tmp_path_factory):
    """A venv that sees the packages of this repository's environment (torch, mmengine, the
    OpenMMLab stack) through a .pth file, as a user's own environment has them, and not this
    package; and a copy of the package's sources to install from."""
    tmp = tmp_path_factory.mktemp('user_env')
    subprocess.run([sys.executable, '-m', 'venv', str(tmp / 'venv')], check=True)
    python = str(tmp / 'venv' / 'bin' / 'python')
    stack = tmp / 'stack'
    stack.mkdir()
    ours = ('mmseg_visiongru', 'mmseg-visiongru', '__editable__')
    site = sysconfig.get_paths()['purelib']
    for name in os.listdir(site):
        if not name.replace('_', '-').startswith(tuple(o.replace('_', '-') for o in ours)):
            os.symlink(os.path.join(site, name), stack / name)
    user_site = subprocess.check_output(
        [python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], text=True)
    with open(os.path.join(user_site.strip(), 'stack.pth'), 'w') as f:
        f.write(f'{stack}\n')
    src = tmp / 'src'
    src.mkdir()
    for name in ('pyproject.toml', 'README.md', 'LICENSE'):
        shutil.copy(os.path.join(ROOT, name), src / name)
    shutil.copytree(os.path.join(ROOT, 'mmseg_visiongru'), src / 'mmseg_visiongru',
                    ignore=shutil.ignore_patterns('__pycache__', '*.so'))
    return python, src


def pip(python, *args):
    proc = subprocess.run([python, '-m', 'pip', '--disable-pip-version-check', *args],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def imports_and_runs(python, tmp_path):
    """Where the package imports from, and that the op runs on the CPU kernel."""
    return subprocess.check_output([python, '-c', (
        'import torch, mmseg_visiongru; from mmseg_visiongru.ops.backend import resolve; '
        'print(mmseg_visiongru.__file__, torch.__version__, '
        'resolve("min_gru_scan", torch.zeros(1), None))')], cwd=tmp_path, text=True).split()


@pytest.mark.slow
def test_pip_install_wheel_and_editable_with_build_isolation(user_env, tmp_path):
    """pip's default build isolation builds the package without torch, and installing it keeps
    the environment's torch; the CPU kernel comes from the per-machine cache."""
    python, src = user_env
    import torch
    out = pip(python, 'wheel', '--no-deps', '-w', str(tmp_path / 'dist'), str(src))
    wheel, = glob.glob(str(tmp_path / 'dist' / 'mmseg_visiongru-*.whl'))
    assert wheel.endswith('-py3-none-any.whl'), wheel  # sources, no binary: any torch
    assert 'mmseg_visiongru/ops/csrc/min_gru_scan.cpp' in zipfile.ZipFile(wheel).namelist()

    out = pip(python, 'install', str(src))
    assert 'Successfully installed mmseg-visiongru-0.1.0' in out
    assert 'torch' not in out.split('Successfully installed')[1], out
    where, version, backend = imports_and_runs(python, tmp_path)
    assert where.startswith(str(tmp_path.parent)) and 'site-packages' in where
    assert version == torch.__version__ and backend == 'cpp'

    pip(python, 'uninstall', '-y', 'mmseg-visiongru')
    pip(python, 'install', '-e', str(src))
    where, version, backend = imports_and_runs(python, tmp_path)
    assert where == str(src / 'mmseg_visiongru' / '__init__.py')
    assert version == torch.__version__ and backend == 'cpp'


@pytest.mark.classic
def test_classic_stack_passes_the_core_tests():
    """The model core, its CPU kernel and the op's autograd on torch 2.1-2.3: the tests that
    need no mmcv/mmseg/mmpretrain, run by MMSEG_VISIONGRU_CLASSIC_PYTHON."""
    python = os.environ.get('MMSEG_VISIONGRU_CLASSIC_PYTHON')
    if not python:
        pytest.skip('set MMSEG_VISIONGRU_CLASSIC_PYTHON to a Python with torch 2.1-2.3, mmengine '
                    'and pytest (docs/install.md, "The classic stack")')
    version = subprocess.check_output(
        [python, '-c', 'import torch; print(torch.__version__)'], text=True).strip()
    assert tuple(int(v) for v in version.split('+')[0].split('.')[:2]) < (2, 4), version
    proc = subprocess.run([python, '-m', 'pytest', '-p', 'no:cacheprovider', '-q',
                           '-m', 'not slow', *CLASSIC_TESTS], cwd=ROOT, capture_output=True,
                          text=True, timeout=1800,
                          env=dict(os.environ, OMP_NUM_THREADS='2', PYTHONPATH=ROOT))
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert ' passed' in proc.stdout and ' failed' not in proc.stdout
