"""Fixtures shared by the tests: the generated sample data and one trained segmentor."""
import os

import pytest
import torch

# Without a GPU the Triton kernels run in Triton's interpreter on CPU tensors.  The flag is read
# when a kernel module is imported, so it is set here, before any test module imports one.
if not torch.cuda.is_available():
    os.environ.setdefault('TRITON_INTERPRET', '1')

from tools.make_sample_data import make_ade20k

from .helpers import CONFIG, PYTHON, run, small_run_options

TRAIN_ITERS = 24


@pytest.fixture(scope='session')
def ade_sample(tmp_path_factory):
    """A small generated ADE20K-layout dataset (8 training, 4 validation scenes, 64 px)."""
    out = tmp_path_factory.mktemp('ade_sample')
    make_ade20k(str(out), seed=0, num_train=8, num_val=4, size=64)
    return str(out)


@pytest.fixture(scope='session')
def trained(ade_sample, tmp_path_factory):
    """The work dir of UperNet + VisionGRU-Ti (``helpers.CONFIG``) trained by tools/train.py for
    ``TRAIN_ITERS`` iterations on ``ade_sample`` with ``small_run_options``: ``iter_12.pth``,
    ``iter_24.pth``, ``last_checkpoint`` and the logs.  Shared by every test that needs a trained
    model; treat it as read-only."""
    work_dir = str(tmp_path_factory.mktemp('trained'))
    run(PYTHON, 'tools/train.py', CONFIG, '--work-dir', work_dir, '--cfg-options',
        *small_run_options(ade_sample, TRAIN_ITERS))
    return work_dir
