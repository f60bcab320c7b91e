"""The analysis tools' writer: markdown tables through prettytable, text files."""
from tools.analysis.report import markdown, save


def test_markdown_cells_alignment_and_file(tmp_path):
    text = markdown(['model', 'time ms', 'note'], [['a', '1.2', None], ['bb', 10, 'x']])
    assert text.splitlines() == ['| model | time ms | note |',
                                 '| :-----|-------: |----: |',
                                 '| a     |     1.2 |      |',
                                 '| bb    |      10 |    x |']
    assert markdown(['size', 'n'], [[1, 2]], left=0).splitlines()[1] == '|----: |-: |'
    path = tmp_path / 'sub' / 't.md'
    save(str(path), text)
    assert path.read_text() == text
