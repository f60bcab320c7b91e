"""End to end: the real UperNet + VisionGRU-Ti config trains, checkpoints, resumes, tests,
infers, and runs distributed on CPU processes, with our tools and the upstream mmseg ones."""
import os.path as osp
import re
import shutil
from glob import glob

import mmseg
import numpy as np
import pytest
import torch
from PIL import Image

from mmseg_visiongru.models import VisionGRU

from ..helpers import CONFIG, PYTHON, losses, run, run_fails, small_run_options

UPSTREAM_TOOLS = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools')


def miou(output):
    values = re.findall(r'mIoU: ([0-9.]+)', output)
    assert values, output[-3000:]
    return float(values[-1])


def test_real_ti_config_trains_and_loss_falls(trained):
    values = list(losses(trained).values())
    assert len(values) == 24
    assert sum(values[-4:]) / 4 < 0.8 * sum(values[:4]) / 4, values
    assert osp.isfile(osp.join(trained, 'iter_24.pth'))


def test_test_tool_reports_miou_table_and_overlays(trained, ade_sample, tmp_path):
    show_dir = tmp_path / 'show'
    out = run(PYTHON, 'tools/test.py', CONFIG, osp.join(trained, 'iter_24.pth'), '--work-dir',
              str(tmp_path / 'test'), '--show-dir', str(show_dir), '--cfg-options',
              *small_run_options(ade_sample, 24))
    assert 'per class results' in out and '| Class |' in out.replace('  ', ' ') or 'IoU' in out
    assert 0 < miou(out) <= 100
    assert len(glob(str(show_dir / '**' / '*.png'), recursive=True)) == 4


def test_resume_continues_from_the_last_checkpoint(trained, ade_sample, tmp_path):
    work_dir = tmp_path / 'resume'
    work_dir.mkdir()
    out = run(PYTHON, 'tools/train.py', CONFIG, '--work-dir', str(work_dir), '--resume',
              osp.join(trained, 'iter_12.pth'), '--cfg-options',
              *small_run_options(ade_sample, 24)[:-1], 'default_hooks.logger.interval=4')
    assert 'resumed epoch: 0, iter: 12' in out
    assert osp.isfile(work_dir / 'iter_24.pth') and not osp.isfile(work_dir / 'iter_12.pth')


def test_infer_writes_overlays_and_label_maps_and_skips_unreadable_images(
        trained, ade_sample, tmp_path):
    images = tmp_path / 'images'
    shutil.copytree(osp.join(ade_sample, 'images', 'validation'), images)
    (images / 'broken.jpg').write_bytes(b'\xff\xd8 not a jpeg')
    out = run_fails(PYTHON, 'tools/infer.py', str(images), '--config', CONFIG,
                    '--checkpoint', osp.join(trained, 'iter_24.pth'), '--out', str(tmp_path))
    assert f'1 of 5 images could not be read and were skipped: {images / "broken.jpg"}' in out
    overlays = sorted(glob(str(tmp_path / 'overlays' / '*.png')))
    labels = sorted(glob(str(tmp_path / 'labels' / '*.png')))
    assert len(overlays) == len(labels) == 4
    label = np.array(Image.open(labels[0]))
    assert label.shape == (64, 64) and label.max() < 150
    assert np.array(Image.open(overlays[0])).shape == (64, 64, 3)


@pytest.mark.slow
def test_test_tool_refuses_a_classification_checkpoint(ade_sample, tmp_path):
    with torch.device('meta'):
        backbone = VisionGRU('tiny', out_indices=(3, )).state_dict()
    state = {f'backbone.{k}': v for k, v in backbone.items()}
    state.update({'head.fc.weight': torch.empty(1000, 576), 'head.fc.bias': torch.empty(1000)})
    # Every tensor a zero-strided view of one element: the file holds shapes only.
    torch.save({'meta': {}, 'state_dict': {k: torch.zeros(()).expand(v.shape)
                                           for k, v in state.items()}}, tmp_path / 'cls.pth')
    out = run_fails(PYTHON, 'tools/test.py', CONFIG, str(tmp_path / 'cls.pth'), '--work-dir',
                    str(tmp_path), '--cfg-options', *small_run_options(ade_sample, 24))
    assert "ValueError: Checkpoint '" in out and 'does not match the model (EncoderDecoder)' in out
    assert "Likely fix: the checkpoint is a classifier's, the model a segmentor" in out
    assert 'per class results' not in out


@pytest.mark.slow
def test_upstream_mmseg_tools_run_our_config(trained, ade_sample, tmp_path):
    # custom_imports registers VisionGRU; importing our package lets torch's safe loader read
    # the iter_N.pth that mmengine wrote.
    options = small_run_options(ade_sample, 2)
    run(PYTHON, osp.join(UPSTREAM_TOOLS, 'train.py'), CONFIG, '--work-dir',
        str(tmp_path / 'up'), '--cfg-options', *options)
    out = run(PYTHON, osp.join(UPSTREAM_TOOLS, 'test.py'), CONFIG,
              osp.join(trained, 'iter_24.pth'), '--work-dir', str(tmp_path / 'uptest'),
              '--cfg-options', *options)
    assert 0 < miou(out) <= 100


@pytest.mark.slow
def test_two_process_cpu_distributed(ade_sample, tmp_path):
    out = run('bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', str(tmp_path),
              '--cfg-options', *small_run_options(ade_sample, 2), 'train_dataloader.batch_size=2',
              timeout=900)
    assert "'world_size': 2" in out or 'world_size: 2' in out or 'Distributed training: True' \
        in out
    assert osp.isfile(tmp_path / 'iter_2.pth')
    out = run('bash', 'tools/dist_test.sh', CONFIG, str(tmp_path / 'iter_2.pth'), '2',
              '--work-dir', str(tmp_path / 'test'), '--cfg-options',
              *small_run_options(ade_sample, 2))
    assert 0 <= miou(out) <= 100


@pytest.mark.slow
def test_missing_data_root_is_named(tmp_path):
    out = run_fails(PYTHON, 'tools/train.py', CONFIG, '--work-dir', str(tmp_path),
                    '--cfg-options', 'model.backbone.init_cfg=None',
                    'train_dataloader.dataset.data_root=/nonexistent/ade')
    assert "data_root '/nonexistent/ade' does not exist" in out
