"""torch's safe loader reads mmengine checkpoints, and nothing beyond them."""
import argparse
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from mmseg_visiongru.engine import allow_mmengine_checkpoints


def test_mmengine_checkpoints_load_with_torch_safe_loader(tmp_path):
    hub = MessageHub.get_instance('test_safe_loading')
    hub.update_scalar('train/loss', np.float64(1.5))
    hub.update_scalar('train/loss', 0.5)
    path = tmp_path / 'ckpt.pth'
    torch.save({'meta': {'seed': np.int64(3)}, 'message_hub': hub.state_dict(),
                'state_dict': {'w': torch.ones(2)}}, path)
    ckpt = torch.load(path)  # weights_only=True by default
    assert ckpt['message_hub']['log_scalars']['train/loss'].mean() == 1.0
    assert ckpt['meta']['seed'] == 3


class _GetattrPayload:

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return getattr, (self.owner, self.name)


@pytest.mark.parametrize('owner,name', [(HistoryBuffer, 'update'), (HistoryBuffer, '__init__'),
                                        (np.ndarray, 'tofile')])
def test_safe_loader_still_refuses_other_getattr(tmp_path, owner, name):
    path = tmp_path / 'evil.pth'
    torch.save({'x': _GetattrPayload(owner, name)}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


def test_allowlist_names_the_mmengine_types_and_calling_again_adds_nothing():
    before = set(torch.serialization.get_safe_globals())
    allow_mmengine_checkpoints()
    assert set(torch.serialization.get_safe_globals()) == before
    names = {f'{g.__module__}.{g.__qualname__}' for g in before if not isinstance(g, tuple)}
    assert {'numpy.ndarray', 'numpy.dtypes.Float64DType',
            'mmengine.logging.history_buffer.HistoryBuffer'} <= names
    assert ('mmseg_visiongru.engine.safe_loading.history_buffer_method',
            'builtins.getattr') in {(f'{g[0].__module__}.{g[0].__qualname__}', g[1])
                                    for g in before if isinstance(g, tuple)}


def test_numpy_1_and_argparse_metadata_load(tmp_path):
    # A checkpoint as numpy 1.x pickles it: numpy 2's module path renamed to numpy 1.x's
    # (the legacy format keeps the pickle uncompressed, so the bytes can be edited).
    path = tmp_path / 'old.pth'
    torch.save({'meta': {'seed': np.int64(3), 'hist': np.arange(3.),
                         'args': argparse.Namespace(lr=0.1, work_dir='w')},
                'state_dict': {'w': torch.ones(2)}}, path, _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    assert b'numpy._core.multiarray' in data
    path.write_bytes(data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray'))
    meta = torch.load(path)['meta']  # weights_only=True by default
    assert meta['seed'] == 3 and meta['hist'].tolist() == [0., 1., 2.]
    assert meta['args'] == argparse.Namespace(lr=0.1, work_dir='w')
