"""install.sh's choices, through `--dry-run` (installs nothing): which Python (PYTHON, >= 3.11),
how many compile jobs (MAX_JOBS, default the core count), which mmcv wheel cache."""
import os
import shutil
import subprocess
import sys

import pytest

from ..helpers import ROOT

# install.sh and what its stamp hashes.
FILES = ['install.sh', 'setup.py', 'tools/build_mmcv.sh', 'requirements',
         'mmseg_visiongru/ops/csrc']


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
