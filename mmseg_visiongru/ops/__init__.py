from .linear_scan import linear_scan, scan_doubling

__all__ = ['linear_scan', 'scan_doubling']
