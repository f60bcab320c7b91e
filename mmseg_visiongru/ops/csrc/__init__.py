"""The CPU kernel of ``min_gru_scan`` (the C++ sources beside this file), compiled on first use.

The package ships the sources, not a binary, so it builds with no torch at install time and
the kernel always matches the torch it runs with.  :func:`kernels` compiles them once per
machine with ``torch.utils.cpp_extension`` into

    ${MMSEG_VISIONGRU_CACHE:-~/.cache/mmseg-visiongru}/kernels/<key>/

where ``<key>`` hashes the sources, the flags, torch's build and the Python ABI, and every later
process (each rank of a distributed job too) only loads the library from there.  Concurrent
first uses wait for one build on an ``flock`` lock, which the operating system releases when its
holder dies, so a killed build never leaves a lock behind; the library is published by an
atomic rename, so a killed build never leaves half a library either.  Where the kernel cannot be
built (no C++ compiler, a compile error), a one-time warning names why, and the op runs its
plain-PyTorch path on the CPU.
"""
import fcntl
import hashlib
import os
import os.path as osp
import platform
import shutil
import sys
import warnings
from importlib.util import module_from_spec, spec_from_file_location
from types import ModuleType
from typing import Optional

import torch

NAME = 'mmseg_visiongru_kernels_cpu'
SOURCES = ('bindings.cpp', 'min_gru_scan.cpp')
HEADERS = ('ops.h', )
# -fno-trapping-math lets the compiler vectorize the selects of min_gru_scan.cpp.
CFLAGS = ['-O3', '-fopenmp', '-fno-trapping-math']
LDFLAGS = ['-fopenmp']
FALLBACK = ('min_gru_scan runs its plain-PyTorch path on the CPU instead (about 10x slower in '
            'training)')

_HERE = osp.dirname(osp.abspath(__file__))
_module: Optional[ModuleType] = None
_reason: Optional[str] = None
_tried = False


def cache_dir() -> str:
    """Where the built kernels are kept: ``$MMSEG_VISIONGRU_CACHE``, else
    ``$XDG_CACHE_HOME/mmseg-visiongru`` (``~/.cache/mmseg-visiongru``)."""
    default = osp.join(os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'),
                       'mmseg-visiongru')
    return os.environ.get('MMSEG_VISIONGRU_CACHE') or default


def build_dir() -> str:
    """This machine's folder for the kernel that matches the sources and the running torch."""
    digest = hashlib.sha256()
    for name in SOURCES + HEADERS:
        with open(osp.join(_HERE, name), 'rb') as f:
            digest.update(f.read())
    digest.update(' '.join([
        *CFLAGS, *LDFLAGS, torch.__version__, str(torch.version.git_version),
        sys.implementation.cache_tag, platform.machine()
    ]).encode())
    return osp.join(cache_dir(), 'kernels', f'{NAME}-{digest.hexdigest()[:16]}')


def _import(path: str) -> ModuleType:
    spec = spec_from_file_location(NAME, path)
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build(folder: str, library: str) -> ModuleType:
    """Compile the sources in ``folder/build`` and publish the library as ``library``."""
    from torch.utils.cpp_extension import load

    work = osp.join(folder, 'build')
    os.makedirs(work, exist_ok=True)
    # torch's own lock file, left behind by a build killed under it; ours is held, so no
    # build of this kernel is running.
    if osp.exists(osp.join(work, 'lock')):
        os.remove(osp.join(work, 'lock'))
    print(f'mmseg_visiongru: compiling the CPU kernel once for this machine into {folder} '
          '(a minute or two)', file=sys.stderr, flush=True)
    module = load(NAME, [osp.join(_HERE, name) for name in SOURCES], extra_cflags=CFLAGS,
                  extra_ldflags=LDFLAGS, build_directory=work)
    partial = f'{library}.partial'
    shutil.copyfile(osp.join(work, f'{NAME}.so'), partial)
    os.replace(partial, library)
    return module


def _load() -> ModuleType:
    folder = build_dir()
    library = osp.join(folder, f'{NAME}.so')
    if osp.exists(library):
        return _import(library)
    compiler = os.environ.get('CXX', 'c++')
    if shutil.which(compiler) is None:
        raise RuntimeError(f'no C++ compiler: {compiler!r} is not on PATH (install one with '
                           'OpenMP, e.g. g++, or set CXX)')
    os.makedirs(folder, exist_ok=True)
    failed = osp.join(folder, 'failed.txt')
    with open(osp.join(folder, 'build.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released by the OS when the holder exits or dies
        if osp.exists(library):  # built by the process we waited for
            return _import(library)
        if osp.exists(failed):  # one failed compile per machine, not one per process
            with open(failed) as f:
                raise RuntimeError(f'{f.read()} (an earlier build; remove {failed} to retry)')
        try:
            return _build(folder, library)
        except Exception as e:
            message = ' '.join(str(e).split())[-600:]
            with open(failed, 'w') as f:
                f.write(f'the compile failed: {type(e).__name__}: {message}')
            raise RuntimeError(f'the compile failed: {type(e).__name__}: {message}') from e


def kernels() -> Optional[ModuleType]:
    """The compiled CPU kernel (built on the first call of this machine), or None where it
    cannot be built; that case warns once, naming why (:func:`why_missing`)."""
    global _module, _reason, _tried
    if not _tried:
        _tried = True
        try:
            _module = _load()
        except Exception as e:
            _reason = str(e)
            warnings.warn(f'mmseg_visiongru: the CPU kernel is not available: {_reason}; '
                          f'{FALLBACK}.')
    return _module


def why_missing() -> Optional[str]:
    """Why :func:`kernels` is None (None while it is available or not yet tried)."""
    return _reason
