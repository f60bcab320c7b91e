"""The CPU latency/memory sweep (tools.analysis.latency_memory): interleaved runs per size,
measured peak memory, the 'does not fit' paths and the scaling fit (no timed assertions)."""
from argparse import Namespace

import pytest
import torch

from tools.analysis import latency_memory

KEYS = {'model', 'mode', 'size', 'pixels', 'batch', 'status', 'n', 'median_s', 'peak_mib',
        'note'}


def options(**kw):
    return Namespace(**dict(dict(repeats=1, mem_cap_gib=4., long_seconds=15.,
                                 threads=torch.get_num_threads(),
                                 batch=1), **kw))


def test_one_size_measured_in_turn():
    rows = latency_memory.measure(64, [('visiongru-ti', 'train'), ('visiongru-ti', 'eval')],
                                  options())
    assert [(r['model'], r['mode'], r['size'], r['pixels']) for r in rows] == \
        [('visiongru-ti', 'train', 64, 64 * 64), ('visiongru-ti', 'eval', 64, 64 * 64)]
    for row in rows:
        assert set(row) == KEYS
        assert row['status'] == 'ok', row['note']
        assert row['n'] == 1 and row['median_s'] > 0 and row['peak_mib'] > 0
    assert rows[0]['peak_mib'] > rows[1]['peak_mib']  # training keeps the activations


@pytest.mark.slow
def test_a_run_over_the_memory_cap_does_not_fit():
    (row, ) = latency_memory.measure_apart(64, [("visiongru-ti", "eval")], options(mem_cap_gib=0))
    assert row['status'] == 'memory', row['note']
    assert row['n'] == 0 and row['median_s'] is None and row['peak_mib'] is None


def test_what_did_not_fit_is_not_started_at_larger_sizes(monkeypatch):
    started = []

    def fake(size, entries, args):
        started.append((size, entries))
        return [dict(model=m, mode=mode, size=size, pixels=size * size, batch=1, n=1, median_s=1.,
                     peak_mib=1., status='memory' if (m, size) == ('deit-s', 512) else 'ok',
                     note='') for m, mode in entries]

    monkeypatch.setattr(latency_memory, 'measure_apart', fake)
    rows = latency_memory.sweep(options(sizes=[1024, 256, 512], models=['visiongru-ti', 'deit-s'],
                                        modes=['eval']))
    assert started == [(256, [('visiongru-ti', 'eval'), ('deit-s', 'eval')]),
                       (512, [('visiongru-ti', 'eval'), ('deit-s', 'eval')]),
                       (1024, [('visiongru-ti', 'eval')])]
    assert rows[-1]['status'] == 'ok' and rows[-2]['status'] == 'skipped'


def test_exponents_and_tables():
    rows = [dict(model=m, mode='eval', size=s, pixels=s * s, batch=1, status='ok', n=1,
                 median_s=k * s * s,
                 peak_mib=k * s**4, note='')
            for m, k in (('visiongru-ti', 1e-6), ('deit-s', 2e-6)) for s in (256, 512, 1024)]
    assert abs(latency_memory.exponent(rows, 'visiongru-ti', 'eval', 'median_s') - 1) < 1e-9
    assert abs(latency_memory.exponent(rows, 'deit-s', 'eval', 'peak_mib', 512) - 2) < 1e-9
    rows.append(dict(rows[-1], size=2048, pixels=2048**2, status='memory', n=0, median_s=None,
                     peak_mib=None, note='x'))
    text = latency_memory.tables(rows, ['visiongru-ti', 'deit-s'])
    lines = [' '.join(line.split()) for line in text.splitlines()]
    assert '| 1024 | 1.05 (1) | 2.10 (1) | 1099512 | 2199023 | 2.00 | 2.00 |' in lines
    assert '| 2048 | | n/f (memory) | | n/f (memory) | | |' in lines
    assert '| deit-s | eval | 1.00 | 1.00 | 2.00 | 2.00 | 1024 | 2048: memory x |' in lines
