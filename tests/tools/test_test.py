"""tools/test.py: --show / --wait-time / --show-dir switch on the visualisation hook."""
import pytest
from mmengine.config import Config

from tools.test import set_visualization

from ..helpers import CONFIG, ROOT


def test_show_and_show_dir_draw_every_prediction():
    cfg = Config.fromfile(f'{ROOT}/{CONFIG}')
    before = cfg.default_hooks.visualization.copy()
    set_visualization(cfg)
    assert cfg.default_hooks.visualization == before
    set_visualization(cfg, show=True, wait_time=0.5)
    hook = cfg.default_hooks.visualization
    assert (hook.draw, hook.interval, hook.show, hook.wait_time) == (True, 1, True, 0.5)
    assert 'save_dir' not in cfg.visualizer
    set_visualization(cfg, show_dir='overlays')
    assert cfg.visualizer.save_dir == 'overlays'
    cfg.default_hooks.visualization = None
    with pytest.raises(ValueError, match='--show and --show-dir need a segmentation config'):
        set_visualization(cfg, show=True)
