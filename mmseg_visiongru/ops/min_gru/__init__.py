from .naive import candidate, min_gru_log_space, min_gru_scan_naive
from .op import min_gru_scan

__all__ = ['candidate', 'min_gru_log_space', 'min_gru_scan', 'min_gru_scan_naive']
