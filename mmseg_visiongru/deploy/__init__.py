"""Deployment: standard ONNX export of the segmentor, the classifier and the backbone, and
inference in ONNX Runtime (needs requirements/deploy.txt: onnx, onnxruntime, onnxscript).

``min_gru_onnx``: the ONNX translation of ``min_gru_scan``; ``adaptive_pool``: adaptive pooling
exact at every exported size; ``export``: building, exporting and checking; ``runtime``: an ONNX
Runtime session with its input checked; ``segmentor``: an exported segmentor as an
MMSegmentation model, for the evaluators.
"""
from .adaptive_pool import ExactAdaptiveAvgPool2d, replace_adaptive_avg_pools
from .export import check_model, check_opset, compare, export_module, export_onnx, load_model
from .min_gru_onnx import CUSTOM_TRANSLATION_TABLE, min_gru_scan_onnx
from .runtime import OnnxModel

__all__ = [
    'CUSTOM_TRANSLATION_TABLE', 'ExactAdaptiveAvgPool2d', 'OnnxModel', 'check_model',
    'check_opset', 'compare', 'export_module', 'export_onnx', 'load_model', 'min_gru_scan_onnx',
    'replace_adaptive_avg_pools'
]
