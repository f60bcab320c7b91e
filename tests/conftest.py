"""Fixtures shared by the tests."""
import pytest

from tools.make_sample_data import make_ade20k


@pytest.fixture(scope='session')
def ade_sample(tmp_path_factory):
    """A small generated ADE20K-layout dataset."""
    out = tmp_path_factory.mktemp('ade_sample')
    make_ade20k(str(out), seed=0, num_train=8, num_val=4, size=64)
    return str(out)
