"""The CPU latency/memory benchmark (tools.analysis.cpu_worker, .sweep): the worker protocol,
measured peak memory, the 'does not fit' paths and the scaling fit (no timed assertions)."""
import pytest

from tools.analysis import cpu_worker, sweep

KEYS = {'model', 'mode', 'size', 'pixels', 'status', 'n', 'median_s', 'min_s', 'peak_mib',
        'baseline_mib', 'note'}


def test_measure_fits():
    (row, ) = cpu_worker.measure(64, [('visiongru-ti', 'train')], repeats=1, cap_gib=4)
    assert set(row) == KEYS
    assert (row['model'], row['mode'], row['size'], row['pixels']) == \
        ('visiongru-ti', 'train', 64, 64 * 64)
    assert row['status'] == 'ok', row['note']
    assert row['n'] == 1 and row['median_s'] > 0 and row['min_s'] > 0
    assert row['peak_mib'] > 0 and row['baseline_mib'] > 0


@pytest.mark.slow
def test_measure_does_not_fit_under_a_tiny_cap():
    (row, ) = cpu_worker.measure(64, [('visiongru-ti', 'eval')], repeats=0, cap_gib=0)
    assert row['status'] == 'memory', row['note']
    assert row['n'] == 0 and row['median_s'] is None and row['peak_mib'] is None


def test_fit_prediction_and_tables():
    rows = [dict(model=m, mode='eval', size=s, pixels=s * s, status='ok', n=1, median_s=k * s * s,
                 min_s=k * s * s, peak_mib=k * s**4, baseline_mib=1., note='')
            for m, k in (('visiongru-ti', 1e-6), ('deit-s', 2e-6)) for s in (256, 512, 1024)]
    rows.append(dict(rows[-1], size=2048, pixels=2048**2, status='memory', n=0, median_s=None,
                     min_s=None, peak_mib=None, note='x'))
    assert abs(sweep.exponent(rows, 'visiongru-ti', 'eval', 'median_s') - 1) < 1e-9
    assert abs(sweep.exponent(rows, 'deit-s', 'eval', 'peak_mib', 512) - 2) < 1e-9
    assert abs(sweep.predict(rows, 'visiongru-ti', 'eval', 'median_s', 2048**2)
               - 1e-6 * 2048**2) < 1e-9
    text = sweep.tables(rows, ['visiongru-ti', 'deit-s'])
    assert '| 1024 | 1.05 (1) | 2.10 (1) |' in text and 'n/f (memory)' in text
    assert '| deit-s | eval | 1.00 | 1.00 | 2.00 | 2.00 | 1024 | 2048: memory x |' in text
