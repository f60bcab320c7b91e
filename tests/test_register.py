"""``import mmseg_visiongru`` registers its modules in every installed OpenMMLab registry."""
from mmengine.fileio import get_file_backend
from mmengine.registry import MODEL_WRAPPERS
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmseg.registry import MODELS as MMSEG_MODELS
from mmseg.registry import TRANSFORMS

from mmseg_visiongru import register_all_modules
from mmseg_visiongru.engine import AtomicLocalBackend, CPUDistributedDataParallel
from mmseg_visiongru.models import VisionGRU
from mmseg_visiongru.transforms import CheckSegLabels


def assert_registered(tmp_path):
    assert MMSEG_MODELS.get('VisionGRU') is VisionGRU
    assert MMPRETRAIN_MODELS.get('VisionGRU') is VisionGRU
    assert TRANSFORMS.get('CheckSegLabels') is CheckSegLabels
    assert MODEL_WRAPPERS.get('CPUDistributedDataParallel') is CPUDistributedDataParallel
    backend = get_file_backend(str(tmp_path), backend_args=dict(backend='atomic_local'))
    assert type(backend) is AtomicLocalBackend


def test_import_registers_every_module_and_again_changes_nothing(tmp_path):
    assert_registered(tmp_path)
    register_all_modules()
    assert_registered(tmp_path)
