"""Analysis tools: measurements of VisionGRU against DeiT-S and Swin-T, run from the repository
root as modules, e.g. ``.venv/bin/python -m tools.analysis.complexity``.

Commands: ``complexity`` (parameters, GMACs), ``latency_memory`` (time and peak memory against
input size on the CPU, the UperNet training step, a profile), ``step_table`` (training step,
eval and memory per backbone and shape: the GPU table), ``benchmark_scan`` (the minGRU op's
backends), ``compare_swin`` (UperNet + VisionGRU-Ti against UperNet + Swin-T trained from
scratch).

Shared: ``models`` (the one model table), ``report`` (markdown tables), ``timing`` (a run, a
timer), ``released_layout`` (the authors' model layout).
"""
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
