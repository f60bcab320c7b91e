"""How the analysis tools write their results: markdown tables (prettytable), log-log plots,
text files."""
import os
import os.path as osp
from typing import Sequence

from prettytable import PrettyTable, TableStyle


def markdown(fields: Sequence[str], rows: Sequence[Sequence], left: int = 1) -> str:
    """A markdown table of ``rows`` (cells as given, ``None`` empty) under ``fields``: the
    first ``left`` columns aligned left, the others right."""
    table = PrettyTable(list(fields))
    table.set_style(TableStyle.MARKDOWN)
    table.add_rows([['' if cell is None else cell for cell in row] for row in rows])
    table.align = 'r'
    for field in fields[:left]:
        table.align[field] = 'l'
    return table.get_string()


def loglog(series: dict, xlabel: str, ylabel: str, path: str, title: str = '') -> None:
    """A log-log plot of ``series`` (``{label: (x, y, matplotlib format)}``) saved to ``path``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for label, (x, y, fmt) in series.items():
        ax.plot(x, y, fmt, ms=4 if 'x' in fmt else 3, lw=1, label=label)
    ax.set(xscale='log', yscale='log', xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(True, which='both', alpha=.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def save(path: str, text: str) -> None:
    """Write ``text`` to ``path``, making its folder."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
