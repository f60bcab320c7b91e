"""The op of VisionGRU, with its kernels, autograd and naive references beside it.

``min_gru_scan``: minGRU's gates and scan, ``h_t = (1 - z_t) h_{t-1} + z_t g(hidden_t)``, of one
or more directions.  It dispatches to a backend (``cpp``, ``triton``, ``torch``) per tensor, or
as chosen by ``backend=`` / ``set_backend``.
"""
from .backend import BACKENDS, set_backend
from .min_gru import (MIN_GRU_SCAN_OP, candidate, min_gru_log_space, min_gru_scan,
                      min_gru_scan_naive, scan_doubling, scan_log_space, scan_loop)

__all__ = [
    'BACKENDS', 'MIN_GRU_SCAN_OP', 'candidate', 'min_gru_log_space', 'min_gru_scan',
    'min_gru_scan_naive', 'scan_doubling', 'scan_log_space', 'scan_loop', 'set_backend'
]
