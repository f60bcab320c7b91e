"""Analysis tools: measurements of VisionGRU against DeiT-S and Swin-T, run from the repository
root as modules, e.g. ``.venv/bin/python -m tools.analysis.complexity``.

Commands: ``complexity`` (parameters, GMACs), ``latency_memory`` (time and peak memory against
input size on the CPU, the UperNet training step, a profile; ``--device cuda``: the GPU step
table), ``trainability`` (UperNet trained from scratch side by side), ``context_probe`` (linear
probes of the context task's cue), ``benchmark_scan`` (the scan kernels).

Shared: ``models`` (the one model table), ``report`` (markdown and CSV), ``timing`` (a step, a
timer), ``released_layout`` (the authors' model layout).
"""
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
