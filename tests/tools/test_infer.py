"""tools/infer.py: the device defaults to CUDA where available; unreadable images are named."""
import sys

import mmcv
import numpy as np
import torch

from tools import infer


def test_device_defaults_to_cuda_where_available(monkeypatch):
    monkeypatch.setattr(sys, 'argv', ['infer.py', 'in', '--config', 'c.py', '--checkpoint',
                                      'c.pth', '--out', 'o'])
    for available, device in ((True, 'cuda'), (False, 'cpu')):
        monkeypatch.setattr(torch.cuda, 'is_available', lambda: available)
        assert infer.parse_args().device == device


def test_unreadable_images_are_told_apart(tmp_path):
    mmcv.imwrite(np.zeros((4, 4, 3), np.uint8), str(tmp_path / 'good.png'))
    (tmp_path / 'broken.jpg').write_bytes(b'\xff\xd8 not a jpeg')
    (tmp_path / 'empty.png').write_bytes(b'')
    assert infer.unreadable(str(tmp_path / 'good.png')) is None
    assert infer.unreadable(str(tmp_path / 'broken.jpg'))
    assert infer.unreadable(str(tmp_path / 'empty.png'))
