"""The backend choice and the CPU kernel's build on first use: one build per machine, a lock
that a killed build cannot leave held, a one-time warning naming why the slower path runs, and
the op as an autograd Function (what runs on torch < 2.4) equal to the custom op."""
import fcntl
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import time
import warnings
from types import SimpleNamespace

import pytest
import torch

from mmseg_visiongru.ops import backend, csrc, min_gru_scan, min_gru_scan_naive
from mmseg_visiongru.ops.min_gru import op

from ..helpers import ROOT

# A process that loads the kernel from the cache in MMSEG_VISIONGRU_CACHE and reports it; it
# imports the loader alone (torch, not the OpenMMLab packages the package registers with).
LOAD = ('import importlib.util as u; spec = u.spec_from_file_location("csrc", '
        f'"{osp.join(osp.dirname(csrc.__file__), "__init__.py")}"); csrc = u.module_from_spec(spec); '
        'spec.loader.exec_module(csrc); k = csrc.kernels(); print("loaded", k is not None); '
        'print("reason", csrc.why_missing())')


@pytest.fixture
def fresh_loader(monkeypatch, tmp_path):
    """csrc as in a new process whose kernel cache is an empty ``tmp_path/cache``."""
    monkeypatch.setenv('MMSEG_VISIONGRU_CACHE', str(tmp_path / 'cache'))
    for name, value in (('_tried', False), ('_module', None), ('_reason', None)):
        monkeypatch.setattr(csrc, name, value)
    return tmp_path / 'cache'


def load_in_subprocess(cache, timeout=120, **env):
    environ = dict(os.environ, MMSEG_VISIONGRU_CACHE=str(cache), OMP_NUM_THREADS='1', **env)
    return subprocess.Popen([sys.executable, '-c', LOAD], cwd=ROOT, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def waits_for_a_lock(pid, timeout=60):
    """Whether process ``pid`` blocks on a file lock within ``timeout`` s (Linux /proc/locks
    marks a waiter with '->')."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open('/proc/locks') as f:
            if any('->' in line and f' {pid} ' in line for line in f):
                return True
        time.sleep(0.1)
    return False


def test_the_kernel_is_built_here_and_serves_cpu_tensors():
    kernels = csrc.kernels()
    assert kernels is not None, csrc.why_missing()
    assert osp.isfile(osp.join(csrc.build_dir(), f'{csrc.NAME}.so'))
    assert backend.kernels_cpu is kernels
    assert backend.resolve('min_gru_scan', torch.zeros(1), None) == 'cpp'


def test_no_compiler_warns_once_and_runs_the_torch_path(fresh_loader, monkeypatch):
    monkeypatch.setenv('CXX', '/nonexistent/c++')
    proj = torch.randn(2, 9, 12, dtype=torch.float64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        h = min_gru_scan(proj, (False, True))
        min_gru_scan(proj, (False, True))
    messages = [str(w.message) for w in caught if 'CPU kernel' in str(w.message)]
    assert len(messages) == 1, messages
    assert "no C++ compiler: '/nonexistent/c++' is not on PATH" in messages[0]
    assert 'plain-PyTorch path' in messages[0]
    assert backend.resolve('min_gru_scan', proj, None) == 'torch'
    with pytest.raises(ValueError, match="backend 'cpp' cannot run here: .*no C\\+\\+ compiler"):
        min_gru_scan(proj, (False, True), backend='cpp')
    torch.testing.assert_close(h, min_gru_scan_naive(proj, (False, True)))
    assert not osp.exists(fresh_loader / 'kernels')  # nothing half-made is left to trip on


def test_a_lock_left_by_a_killed_build_is_not_waited_for(fresh_loader):
    """A process killed while it held the build lock leaves the lock file, not the lock; the
    next process takes it at once (here it finds the failure the killed build recorded)."""
    folder = csrc.build_dir()
    os.makedirs(folder)
    holder = subprocess.Popen([
        sys.executable, '-c',
        'import fcntl, sys, time; f = open(sys.argv[1], "w"); fcntl.flock(f, fcntl.LOCK_EX); '
        'print("locked", flush=True); time.sleep(600)', osp.join(folder, 'build.lock')
    ], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == 'locked'
    with open(osp.join(folder, 'failed.txt'), 'w') as f:
        f.write('the compile failed: RuntimeError: error: expected ;')
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    start = time.monotonic()
    with pytest.warns(UserWarning, match='expected ;.*an earlier build; remove .*failed.txt'):
        assert csrc.kernels() is None
    assert time.monotonic() - start < 5


def test_concurrent_first_uses_wait_for_one_build_and_load_it(tmp_path):
    """While one process holds the build lock, another waits, then loads what the first
    published instead of compiling again (one build per machine, not one per rank)."""
    built = osp.join(csrc.build_dir(), f'{csrc.NAME}.so')
    assert osp.isfile(built), csrc.why_missing()
    cache = tmp_path / 'cache'
    folder = csrc.build_dir().replace(csrc.cache_dir(), str(cache), 1)
    os.makedirs(folder)
    with open(osp.join(folder, 'build.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        waiter = load_in_subprocess(cache)
        assert waits_for_a_lock(waiter.pid), 'the second process never asked for the lock'
        shutil.copyfile(built, osp.join(folder, f'{csrc.NAME}.so'))
    out, _ = waiter.communicate(timeout=60)
    assert 'loaded True' in out, out
    assert 'compiling' not in out, out


def test_triton_needs_torch_2_4_and_triton_3(monkeypatch):
    monkeypatch.setattr(backend.importlib.metadata, 'version', lambda name: '3.8.0')
    monkeypatch.setattr(torch, '__version__', '2.14.1+cu130')
    assert backend._triton_problem() is None
    monkeypatch.setattr(torch, '__version__', '2.1.2+cu121')
    assert backend._triton_problem() == ('the Triton kernels need torch >= 2.4 and Triton >= 3.0, '
                                         'found torch 2.1.2+cu121 and Triton 3.8.0')


def test_a_gpu_without_usable_triton_runs_torch_with_one_warning(monkeypatch):
    problem = 'the Triton kernels need torch >= 2.4 and Triton >= 3.0, found torch 2.1.2'
    monkeypatch.setattr(backend, 'TRITON_PROBLEM', problem)
    monkeypatch.setattr(backend, '_warned_gpu_fallback', False)
    cuda = SimpleNamespace(device=torch.device('cuda'), dtype=torch.float32)
    with pytest.warns(UserWarning, match='plain-PyTorch path on the GPU: the Triton kernels'):
        assert backend.resolve('min_gru_scan', cuda, None) == 'torch'
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert backend.resolve('min_gru_scan', cuda, None) == 'torch'
    with pytest.raises(ValueError, match="backend 'triton' cannot run here: the Triton"):
        backend.resolve('min_gru_scan', cuda, 'triton')


@pytest.mark.parametrize('name', ['cpp', 'torch'])
def test_autograd_function_equals_the_custom_op(name):
    proj = torch.randn(1, 7, 2 * 2 * 2, dtype=torch.float64, requires_grad=True)
    h = op._MinGRUScan.apply(proj, [0, 1], name)
    torch.testing.assert_close(h, min_gru_scan(proj, (False, True), backend=name))
    torch.autograd.gradcheck(lambda p: op._MinGRUScan.apply(p, [0, 1], name), (proj, ))


@pytest.mark.slow
def test_a_build_killed_midway_is_redone_once(tmp_path):
    """A first use killed while it compiles (torch's own lock file left in the build folder)
    does not hang the next one, which builds and publishes the kernel; a third process loads
    it without compiling."""
    cache = tmp_path / 'cache'
    first = load_in_subprocess(cache)
    for line in first.stdout:  # torch may print a line of its own first
        if 'compiling the CPU kernel once' in line:
            break
    time.sleep(5)
    first.kill()
    first.wait()
    second = load_in_subprocess(cache)
    out, _ = second.communicate(timeout=600)
    assert 'loaded True' in out and out.count('compiling the CPU kernel once') == 1, out
    third = load_in_subprocess(cache)
    out, _ = third.communicate(timeout=120)
    assert 'loaded True' in out and 'compiling' not in out, out
