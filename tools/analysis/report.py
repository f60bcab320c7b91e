"""The one writer of the analysis tools' results: markdown tables and CSV files.

A column is ``(key, title, fmt)``: ``fmt`` is a format string (``'{:.2f}'``) or a function of the
row returning the cell's text; a plain string ``key`` is ``(key, key, '{}')``.  A missing or
``None`` value is an empty cell.  Columns formatted ``'{}'`` are left-aligned, the others right
(``'{:>}'``: text, right-aligned).
"""
import csv
import os
import os.path as osp
from typing import Callable, Iterable, List, Optional, Sequence, Union

Column = Union[str, tuple]


def _column(column: Column) -> tuple:
    if isinstance(column, str):
        return column, column, '{}'
    key, title, *fmt = column
    return key, title, fmt[0] if fmt else '{}'


def cell(row: dict, key: str, fmt: Union[str, Callable] = '{}') -> str:
    """One table cell: ``fmt(row)`` or ``fmt.format(row[key])``; empty for a missing value."""
    if callable(fmt):
        return fmt(row)
    value = row.get(key)
    return '' if value is None else fmt.format(value)


def write_table(rows: Iterable[dict], columns: Sequence[Column],
                path: Optional[str] = None) -> str:
    """Markdown table of ``rows``; also written to ``path`` (folders made) when given."""
    columns = [_column(c) for c in columns]
    lines = ['| ' + ' | '.join(title for _, title, _ in columns) + ' |',
             '|' + ''.join('---|' if fmt == '{}' else '---:|' for _, _, fmt in columns)]
    lines += ['| ' + ' | '.join(cell(row, key, fmt) for key, _, fmt in columns) + ' |'
              for row in rows]
    text = '\n'.join(lines)
    if path:
        write_text(path, text + '\n')
    return text


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path``, making its folder."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


def write_csv(rows: Sequence[dict], path: str, fields: Optional[List[str]] = None) -> None:
    """``rows`` as CSV, one column per key (of the first row unless ``fields``); None is empty."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=fields or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
