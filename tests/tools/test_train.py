"""tools/train.py: ``--resume`` takes the run's own last checkpoint, checked, or stops; option
typos are errors."""
import sys
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

import mmseg_visiongru  # noqa: F401  (lets torch.load read mmengine checkpoints)
from tools import train

from ..helpers import CONFIG, ROOT


def save(path, model, step):
    torch.save({'meta': {'iter': step}, 'state_dict': model.state_dict()}, path)


def test_resume_reads_last_checkpoint_and_checks_the_file(tmp_path):
    assert train.recorded_checkpoint(str(tmp_path / 'new')) is None
    assert train.recorded_checkpoint(str(tmp_path)) is None  # nothing saved yet: from scratch
    model = torch.nn.Linear(2, 1)
    save(tmp_path / 'iter_4.pth', model, 4)
    save(tmp_path / 'iter_6.pth', model, 6)  # another run's, in a reused work dir
    with pytest.raises(FileNotFoundError, match=r"holds iter_4\.pth, iter_6\.pth but no "
                       'last_checkpoint.*--resume PATH'):
        train.recorded_checkpoint(str(tmp_path))
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4.pth'))
    assert train.recorded_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_4.pth')

    (tmp_path / 'last_checkpoint').write_text('/elsewhere/iter_4.pth')  # the work dir moved
    assert train.recorded_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_4.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_8.pth'))
    with pytest.raises(FileNotFoundError, match=r"last_checkpoint names '.*iter_8\.pth', which "
                       'does not exist'):
        train.recorded_checkpoint(str(tmp_path))

    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_6.pth'))
    data = (tmp_path / 'iter_6.pth').read_bytes()
    (tmp_path / 'iter_6.pth').write_bytes(b'')
    with pytest.raises(RuntimeError, match=r"iter_6\.pth' is empty"):
        train.recorded_checkpoint(str(tmp_path))
    (tmp_path / 'iter_6.pth').write_bytes(data[:len(data) // 2])
    with pytest.raises(RuntimeError, match=r"iter_6\.pth' is truncated"):
        train.recorded_checkpoint(str(tmp_path))


def test_resume_checks_the_model_and_the_schedule(tmp_path):
    runner = SimpleNamespace(model=torch.nn.Linear(2, 1),
                             cfg=Config(dict(train_cfg=dict(max_iters=6))))
    save(tmp_path / 'iter_4.pth', runner.model, 4)
    train.check_resume(runner, str(tmp_path / 'iter_4.pth'))
    save(tmp_path / 'iter_6.pth', runner.model, 6)
    with pytest.raises(ValueError, match=r"iter_6\.pth' is at iter 6 and train_cfg.max_iters is "
                       '6: its run is complete, nothing is left to train'):
        train.check_resume(runner, str(tmp_path / 'iter_6.pth'))
    save(tmp_path / 'wide.pth', torch.nn.Linear(3, 1), 4)
    with pytest.raises(ValueError, match=r"does not match the model \(Linear\): 1 keys of "
                       r"another shape \(e.g. 'weight': \(1, 3\) in the checkpoint"):
        train.check_resume(runner, str(tmp_path / 'wide.pth'))


def test_option_typo_stops_before_anything_is_built(monkeypatch):
    monkeypatch.setattr(sys, 'argv', ['train.py', f'{ROOT}/{CONFIG}', '--cfg-options',
                                      'trian_cfg.max_iters=2'])
    with pytest.raises(ValueError, match="--cfg-options trian_cfg.max_iters=2: the config has "
                       "no 'trian_cfg'; did you mean 'train_cfg'"):
        train.main()
