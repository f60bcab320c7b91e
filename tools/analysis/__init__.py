"""Measurements of VisionGRU against DeiT-S and Swin-T, one command per measurement, run from the
repository root as ``.venv/bin/python -m tools.analysis.<command>``: ``complexity``,
``latency_memory``, ``profiling``, ``step_table`` (the GPU table), ``benchmark_scan``,
``compare_swin``, ``kernel_report``.  Shared: ``models`` (the one model table), ``report``,
``timing``, ``released_layout`` (the authors' model layout)."""
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
