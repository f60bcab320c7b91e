"""The step table (tools.analysis.step_table) run on the CPU: the same functions with
perf_counter timing instead of CUDA events, tiny shapes."""
import pytest

from tools.analysis import step_table

from ..helpers import PYTHON, run


def test_parse_shape():
    assert step_table.parse_shape('1024x4') == (1024, 4)


def test_measure_every_run():
    rows = step_table.measure('visiongru-ti', 32, 1, device='cpu', repeats=1, warmup=0)
    assert [(r['mode'], r['precision']) for r in rows] == step_table.RUNS
    for row in rows:
        assert row['status'] == 'ok' and row['n'] == 1 and row['median_s'] > 0
        assert row['peak_gib'] is None  # measured on CUDA only


def test_table_from_rows():
    def rows(model, ms, gib):
        return [dict(model=model, size=512, batch=16, mode=m, precision=p, status='ok', n=8,
                     median_s=ms / 1e3, peak_gib=gib if m == 'train' else None)
                for m, p in step_table.RUNS]

    failed = dict(rows('deit-s', 1, 1)[0], status='memory', median_s=None, peak_gib=None)
    text = step_table.table(rows('visiongru-ti', 80, 9.5) + rows('swin-t', 64, 9.4) + [failed])
    lines = [' '.join(line.split()) for line in text.splitlines()]
    assert '512x512, batch 16 (medians):' in lines
    assert '| visiongru-ti | 80.0 | 80.0 | 80.0 | 9.5 / 9.5 | 1.25 | 1.25 | 1.25 |' in lines
    assert '| swin-t | 64.0 | 64.0 | 64.0 | 9.4 / 9.4 | 1.00 | 1.00 | 1.00 |' in lines
    assert '| deit-s | n/f (memory) | n/f (memory) | n/f (memory) | - / - | | | |' in lines


@pytest.mark.slow
def test_cli_on_the_cpu_without_mmcv_ops(tmp_path):
    """The whole command in a process where mmcv's compiled ops are missing (as on a GPU machine
    with mmcv-lite): it must not need mmseg's models.  Every default model but VisionGRU-B (the
    same class as Ti, twice the build time)."""
    hide = ("import sys; sys.modules['mmcv._ext'] = None; "
            "from tools.analysis.step_table import main; main(sys.argv[1:]); "
            "assert 'mmseg.models' not in sys.modules")
    models = [m for m in step_table.MODELS if m != 'visiongru-b']
    out = run(PYTHON, '-c', hide, '--device', 'cpu', '--shapes', '32x1', '--models', *models,
              '--repeats', '1', '--warmup', '0', '--out', str(tmp_path))
    text = (tmp_path / 'step_table.md').read_text()
    assert text.strip() in out
    assert '32x32, batch 1' in text and 'torch ' in text
    for model in models:
        assert f'| {model} ' in text
    swin = next(' '.join(line.split()) for line in text.splitlines() if '| swin-t ' in line)
    assert swin.endswith(' | 1.00 | 1.00 | 1.00 |'), swin


def test_cli_refuses_segmentors():
    with pytest.raises(SystemExit):
        step_table.main(['--device', 'cpu', '--models', 'upernet-swin-t'])
