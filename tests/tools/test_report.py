"""The analysis tools' one writer: markdown tables and CSV files."""
from tools.analysis.report import read_csv, write_csv, write_table


def test_table_cells_alignment_and_file(tmp_path):
    rows = [dict(model='a', ms=1.234, note=None), dict(model='b', ms=None, note='x')]
    path = tmp_path / 'sub' / 't.md'
    text = write_table(rows, ['model', ('ms', 'time ms', '{:.1f}'), ('note', 'note', '{:>}'),
                              ('twice', 'twice', lambda r: f'{2 * (r["ms"] or 0):.0f}')],
                       path=str(path))
    assert text.splitlines() == ['| model | time ms | note | twice |', '|---|---:|---:|---:|',
                                 '| a | 1.2 |  | 2 |', '| b |  | x | 0 |']
    assert path.read_text() == text + '\n'


def test_csv_types_and_empty_cells(tmp_path):
    rows = [dict(name='a', n=3, x=0.5), dict(name='', n=None, x=None)]
    write_csv(rows, tmp_path / 'r.csv')
    assert read_csv(tmp_path / 'r.csv', dict(n=int, x=float)) == rows
    assert read_csv(tmp_path / 'r.csv')[0] == dict(name='a', n='3', x='0.5')
