import importlib.util
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_tool(name):
    """Import tools/<name>.py (tools/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(*args, timeout=600):
    """Run a command from the repo root; return stdout+stderr, failing loudly with the log."""
    env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='2')
    proc = subprocess.run(list(args), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise AssertionError(f'{" ".join(args)} exited {proc.returncode}:\n{out[-6000:]}')
    return out


def run_fails(*args, timeout=300):
    """Run a command that must fail; return its output."""
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    proc = subprocess.run(list(args), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode != 0, f'{" ".join(args)} should have failed:\n{proc.stdout[-3000:]}'
    return proc.stdout + proc.stderr


@pytest.fixture(scope='session')
def ade_sample(tmp_path_factory):
    """A small generated ADE20K-layout dataset."""
    out = tmp_path_factory.mktemp('ade_sample')
    load_tool('make_sample_data').make_ade20k(str(out), seed=0, num_train=8, num_val=4, size=64)
    return str(out)


PYTHON = sys.executable
