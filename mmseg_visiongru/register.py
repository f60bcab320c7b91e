"""Registration of this package's modules in the OpenMMLab registries.

The model core (``mmseg_visiongru.models``) needs torch and mmengine only.  MMSegmentation and
mmpretrain are imported here, and only here: ``VisionGRU`` is registered in the ``MODELS``
registry of each that is installed, and ``CheckSegLabels`` (an mmcv transform) in
MMSegmentation's ``TRANSFORMS``.  The hooks go into mmengine's root ``HOOKS``, which the
registries of both libraries search.
"""
import importlib
import warnings
from types import ModuleType
from typing import Optional

from mmengine.fileio import register_backend
from mmengine.registry import HOOKS, MODEL_WRAPPERS, Registry

from .engine import (AtomicLocalBackend, CPUDistributedDataParallel, NonFiniteLossHook,
                     SafeCheckpointHook)
from .models import VisionGRU


def _registry_module(package: str) -> Optional[ModuleType]:
    """``package.registry``, or None when ``package`` is not installed (a warning when it is
    installed but does not import for want of another package)."""
    try:
        return importlib.import_module(f'{package}.registry')
    except ModuleNotFoundError as e:
        if e.name != package:
            warnings.warn(f'VisionGRU is not registered in {package}: {e}')
        return None


def _register(registry: Registry, module: type) -> None:
    registry.register_module(module=module, force=True)


def register_all_modules() -> None:
    """Register ``VisionGRU`` (mmseg and mmpretrain ``MODELS``), ``CheckSegLabels`` (mmseg
    ``TRANSFORMS``), ``CPUDistributedDataParallel`` (mmengine ``MODEL_WRAPPERS``),
    ``SafeCheckpointHook`` and ``NonFiniteLossHook`` (mmengine ``HOOKS``) and the
    ``atomic_local`` file backend (:class:`AtomicLocalBackend`).  Called by
    ``import mmseg_visiongru``; calling it again changes nothing."""
    _register(MODEL_WRAPPERS, CPUDistributedDataParallel)
    _register(HOOKS, SafeCheckpointHook)
    _register(HOOKS, NonFiniteLossHook)
    register_backend('atomic_local', AtomicLocalBackend, force=True)
    mmseg = _registry_module('mmseg')
    if mmseg is not None:
        from .transforms import CheckSegLabels
        _register(mmseg.MODELS, VisionGRU)
        _register(mmseg.TRANSFORMS, CheckSegLabels)
    mmpretrain = _registry_module('mmpretrain')
    if mmpretrain is not None:
        _register(mmpretrain.MODELS, VisionGRU)
