"""Export a segmentor, a classifier or a bare VisionGRU backbone of a config to standard ONNX.

The model is captured by torch's default exporter (``torch.export``, then ONNX), with
``min_gru_scan`` translated by :mod:`.min_gru_onnx` and every adaptive average pooling swapped
for the exact form of :mod:`.adaptive_pool`.  What is exported (input: ``(B, C, H, W)`` float32
images normalised as the config's data preprocessor does):

- a segmentor (``EncoderDecoder``): the decode head's logits resized bilinearly to the input size,
  ``(B, num_classes, H, W)``, or their argmax, ``(B, 1, H, W)`` int64 (the auxiliary head is
  left out: it plays no part in inference);
- a classifier (mmpretrain ``ImageClassifier``): the class scores ``(B, num_classes)``;
- the backbone alone: its feature maps, one output per stage in ``out_indices``.
"""
import copy
import os
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, init_default_scope
from torch import Tensor

from ..checkpoint import load_checkpoint_strict
from .adaptive_pool import replace_adaptive_avg_pools
from .min_gru_onnx import CUSTOM_TRANSLATION_TABLE, MIN_OPSET

# The newest opset the export passes onnx.checker's full check with (at 26, onnx 1.23's shape
# inference types the Scan's outputs wrongly; ONNX Runtime 1.31 refuses 27).
MAX_OPSET = 25
DEFAULT_OPSET = 20
OUTPUTS = ('logits', 'labels')
IMAGE_DIMS = {0: 'batch', 2: 'height', 3: 'width'}


def check_opset(opset: int) -> None:
    """Raise a ValueError naming the usable range when ``opset`` cannot express the model."""
    if opset < MIN_OPSET:
        raise ValueError(f'opset {opset} is too old for this export: torch\'s exporter writes '
                         f'opset-{MIN_OPSET} ops and cannot convert them to older opsets (it '
                         f'would write an opset-{MIN_OPSET} file anyway); pass --opset-version '
                         f'{MIN_OPSET} or newer (default {DEFAULT_OPSET})')
    if opset > MAX_OPSET:
        raise ValueError(f'opset {opset} is newer than this export supports (<= {MAX_OPSET}); '
                         f'pass --opset-version {MAX_OPSET} or older (default {DEFAULT_OPSET})')


def load_model(config: str, checkpoint: str,
               cfg_options: Optional[dict] = None) -> Tuple[Config, nn.Module]:
    """Build ``config``'s model on the CPU in eval mode (SyncBN as BN) and load ``checkpoint``
    into it strictly (:func:`mmseg_visiongru.checkpoint.load_checkpoint_strict`: a checkpoint
    that does not fit the config is an error naming the mismatch, never a partial load)."""
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    # The checkpoint holds every weight: do not also read the backbone's pretrained file.
    cfg.model.get('backbone', {}).pop('init_cfg', None)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    load_checkpoint_strict(model, checkpoint)
    return cfg, model.eval()


class SegmentorExport(nn.Module):
    """An ``EncoderDecoder``'s whole-image inference: backbone, (neck,) decode head, logits
    resized to the input (what ``predict`` computes before removing padding).

    Shape:
        (B, C, H, W) -> logits (B, num_classes, H, W), or labels (B, 1, H, W) int64.
    """

    def __init__(self, segmentor: nn.Module, output: str = 'logits'):
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f'output must be one of {OUTPUTS}, got {output!r}')
        self.segmentor, self.output = segmentor, output

    def forward(self, inputs: Tensor) -> Tensor:
        head = self.segmentor.decode_head
        logits = head(self.segmentor.extract_feat(inputs))
        logits = F.interpolate(logits, size=inputs.shape[2:], mode='bilinear',
                               align_corners=head.align_corners)
        return logits.argmax(dim=1, keepdim=True) if self.output == 'labels' else logits


class ClassifierExport(nn.Module):
    """An mmpretrain ``ImageClassifier``'s class scores (before softmax).

    Shape:
        (B, C, H, W) -> (B, num_classes).
    """

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    def forward(self, inputs: Tensor) -> Tensor:
        return self.classifier(inputs, mode='tensor')


class BackboneExport(nn.Module):
    """A backbone's feature maps as a tuple (one ONNX output each)."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        return tuple(self.backbone(inputs))


def export_module(model: nn.Module, model_name: str = 'model', output: str = 'logits',
                  ) -> Tuple[nn.Module, List[str]]:
    """The module to export for a built ``model`` (segmentor, classifier, or its backbone with
    ``model_name='backbone'``) and its output names.  The model is copied, not changed."""
    model = copy.deepcopy(model).eval()
    replace_adaptive_avg_pools(model)
    if model_name == 'backbone':
        outs = getattr(model.backbone, 'out_indices', None)
        names = [f'stage{i}' for i in outs] if outs is not None else None
        return BackboneExport(model.backbone).eval(), names
    if hasattr(model, 'decode_head'):
        return SegmentorExport(model, output).eval(), [output]
    if hasattr(model, 'head'):
        return ClassifierExport(model).eval(), ['scores']
    raise TypeError(f'Cannot export {type(model).__name__}: expected an MMSegmentation '
                    'segmentor (with a decode_head) or an mmpretrain classifier (with a head)')


def export_onnx(module: nn.Module, example: Tensor, path: str,
                dynamic_dims: Optional[Dict[int, str]] = IMAGE_DIMS, opset: int = DEFAULT_OPSET,
                output_names: Optional[Sequence[str]] = None,
                metadata: Optional[Dict[str, str]] = None) -> float:
    """Export ``module`` traced at ``example`` to the single file ``path``, check it
    (:func:`check_model`; a file that fails is removed) and return the export's seconds.

    Args:
        dynamic_dims (dict, optional): The input's dynamic dims and their names; None: every
            dim fixed. Defaults to batch, height and width of (B, C, H, W) images. A dynamic
            dim must be >= 2 in ``example`` (torch.export fixes a size of 1).
        opset (int): ONNX opset, see :func:`check_opset`.
        output_names (list[str], optional): Names of the outputs.
        metadata (dict, optional): Written into the file's ``metadata_props``.
    """
    check_opset(opset)
    ones = [d for d in (dynamic_dims or {}) if example.shape[d] < 2]
    if ones:
        raise ValueError(f'Dynamic dims {ones} of the example {tuple(example.shape)} must be '
                         '>= 2 (torch.export fixes a size of 1)')
    start = time.perf_counter()
    program = torch.onnx.export(
        module, (example, ), dynamo=True, opset_version=opset,
        custom_translation_table=CUSTOM_TRANSLATION_TABLE, input_names=['input'],
        output_names=list(output_names) if output_names else None,
        dynamic_shapes={'inputs': dynamic_dims} if dynamic_dims else None,
        external_data=False, verbose=False)
    for key, value in (metadata or {}).items():
        program.model.metadata_props[key] = value
    program.save(path, external_data=False)
    seconds = time.perf_counter() - start
    try:
        check_model(path, opset)
    except Exception:
        os.remove(path)  # no file that fails its checks is left behind
        raise
    return seconds


def check_model(path: str, opset: Optional[int] = None) -> None:
    """``onnx.checker`` with full check (shape inference included), standard ops only (every
    node, in the graph and its subgraphs, in the default domain, no local functions) and, when
    given, the default domain's ``opset``."""
    onnx.checker.check_model(path, full_check=True)
    model = onnx.load(path, load_external_data=False)
    written = {o.domain: o.version for o in model.opset_import}.get('')
    if opset is not None and written != opset:
        raise RuntimeError(f'{path} was written with opset {written}, not the {opset} asked for')
    domains = {node.domain for node in _nodes(model.graph)} - {'', 'ai.onnx'}
    if domains or model.functions:
        raise RuntimeError(f'{path} uses non-standard ops (domains {sorted(domains)}, '
                           f'{len(model.functions)} local functions): other runtimes could not '
                           'read it')


def _nodes(graph: onnx.GraphProto):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField('g') else []) + list(attr.graphs):
                yield from _nodes(sub)


def compare(expected: Sequence[Tensor], actual: Sequence[np.ndarray],
            labels: bool = False) -> Dict[str, float]:
    """How far ONNX Runtime's outputs are from PyTorch's: ``max_rel_error``, the largest
    ``max|actual - expected| / max|expected|`` over the float outputs, and with ``labels``
    (a segmentor's (B, classes, H, W) logits or (B, 1, H, W) labels) ``label_agreement``, the
    fraction of pixels given the same label."""
    stats = {'max_rel_error': 0.0}
    for ref, out in zip(expected, actual):
        ref = ref.detach().cpu().numpy()
        if ref.shape != out.shape:
            raise AssertionError(f'ONNX output shape {out.shape} != PyTorch {ref.shape}')
        if np.issubdtype(ref.dtype, np.floating):
            scale = max(float(np.abs(ref).max()), np.finfo(np.float32).tiny)
            stats['max_rel_error'] = max(stats['max_rel_error'],
                                         float(np.abs(out - ref).max()) / scale)
        if labels:
            if np.issubdtype(ref.dtype, np.floating):
                ref, out = ref.argmax(1), out.argmax(1)
            stats['label_agreement'] = float((ref == out).mean())
    return stats
