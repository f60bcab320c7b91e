"""The model core builds and runs with torch and mmengine alone: MMSegmentation, mmpretrain and
mmcv hidden from the interpreter (a meta-path finder refuses them)."""
from ..helpers import PYTHON, run

HIDE = '''
import importlib.abc
import sys

HIDDEN = {hidden!r}


class Refuse(importlib.abc.MetaPathFinder):

    def find_spec(self, name, path=None, target=None):
        if name.partition('.')[0] in HIDDEN:
            raise ModuleNotFoundError(f'No module named {{name!r}} (hidden)', name=name)
        return None


sys.meta_path.insert(0, Refuse())
'''

CORE = '''
import warnings

import torch

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    from mmseg_visiongru.models import ConvDownsample, GRU2DBlock, MinGRU, VisionGRU
    import mmseg_visiongru  # noqa: F401

torch.manual_seed(0)
model = VisionGRU(dict(embed_dims=16, depths=[1, 1, 2, 1]), drop_path_rate=0.1)
model.init_weights()
outs = model(torch.randn(2, 3, 40, 36))
sum(o.mean() for o in outs).backward()
print('shapes', [tuple(o.shape) for o in outs])
print('loaded', sorted({name.partition('.')[0] for name in sys.modules} & HIDDEN))
print('warned', [str(w.message) for w in caught if 'not registered' in str(w.message)])
'''


def test_core_imports_and_runs_without_mmseg_mmpretrain_mmcv():
    out = run(PYTHON, '-c', HIDE.format(hidden={'mmseg', 'mmpretrain', 'mmcv'}) + CORE)
    assert 'shapes [(2, 16, 10, 9), (2, 32, 5, 5), (2, 64, 3, 3), (2, 128, 2, 2)]' in out
    assert 'loaded []' in out
    assert 'warned []' in out  # packages that are not installed are skipped quietly


def test_a_package_missing_a_dependency_is_not_registered_with_a_warning():
    out = run(PYTHON, '-c', HIDE.format(hidden={'mmcv'}) + CORE)
    assert 'shapes [(2, 16, 10, 9)' in out
    assert "VisionGRU is not registered in mmseg: No module named 'mmcv" in out
    assert "VisionGRU is not registered in mmpretrain: No module named 'mmcv" in out
