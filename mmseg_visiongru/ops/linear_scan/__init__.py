from .naive import scan_log_space, scan_loop
from .op import linear_scan, linear_scan_grads, scan_doubling

__all__ = ['linear_scan', 'linear_scan_grads', 'scan_doubling', 'scan_log_space', 'scan_loop']
