"""The analysis tools' one writer: markdown tables and CSV files."""
from tools.analysis.report import write_table


def test_table_cells_alignment_and_file(tmp_path):
    rows = [dict(model='a', ms=1.234, note=None), dict(model='b', ms=None, note='x')]
    path = tmp_path / 'sub' / 't.md'
    text = write_table(rows, ['model', ('ms', 'time ms', '{:.1f}'), ('note', 'note', '{:>}'),
                              ('twice', 'twice', lambda r: f'{2 * (r["ms"] or 0):.0f}')],
                       path=str(path))
    assert text.splitlines() == ['| model | time ms | note | twice |', '|---|---:|---:|---:|',
                                 '| a | 1.2 |  | 2 |', '| b |  | x | 0 |']
    assert path.read_text() == text + '\n'
