"""The ops of VisionGRU, each with its kernels, autograd and a naive reference beside it.

``linear_scan``: ``h_t = a_t h_{t-1} + b_t``; ``min_gru_scan``: minGRU's gates and scan of one
or more directions.  Both dispatch to a backend (``cpp``, ``triton``, ``torch``) per tensor, or
as chosen by ``backend=`` / ``set_backend``.
"""
from .backend import BACKENDS, set_backend
from .linear_scan import linear_scan, scan_doubling, scan_log_space, scan_loop
from .min_gru import candidate, min_gru_log_space, min_gru_scan, min_gru_scan_naive

__all__ = [
    'BACKENDS', 'candidate', 'linear_scan', 'min_gru_log_space', 'min_gru_scan',
    'min_gru_scan_naive', 'scan_doubling', 'scan_log_space', 'scan_loop', 'set_backend'
]
