from .doubling import scan_doubling
from .naive import candidate, min_gru_log_space, min_gru_scan_naive, scan_log_space, scan_loop
from .op import MIN_GRU_SCAN_OP, min_gru_scan

__all__ = [
    'MIN_GRU_SCAN_OP', 'candidate', 'min_gru_log_space', 'min_gru_scan', 'min_gru_scan_naive',
    'scan_doubling', 'scan_log_space', 'scan_loop'
]
