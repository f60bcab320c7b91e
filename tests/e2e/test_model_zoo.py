"""configs/metafile.yml (MMSegmentation's metafile schema) and the README's Model zoo: every
config exists, every figure names its source, and the README shows the metafile's figures."""
import os.path as osp
import re

import pytest
import yaml

from ..helpers import ROOT

SOURCES = ('paper, Table ', "authors' release", 'measured here: ')


@pytest.fixture(scope='module')
def metafile():
    with open(osp.join(ROOT, 'configs', 'metafile.yml')) as f:
        return yaml.safe_load(f)


def test_schema_and_configs(metafile):
    collections = {c['Name'] for c in metafile['Collections']}
    names = [m['Name'] for m in metafile['Models']]
    assert len(names) == len(set(names)), names
    for model in metafile['Models']:
        assert {'Name', 'In Collection', 'Config', 'Metadata', 'Results', 'Weights'} <= set(model)
        assert model['In Collection'] in collections
        assert osp.isfile(osp.join(ROOT, model['Config'])), model['Config']
        assert isinstance(model['Results'], list)


def test_every_figure_names_its_source(metafile):
    results = [r for m in metafile['Models'] for r in m['Results']]
    assert results
    for result in results:
        assert {'Task', 'Dataset', 'Metrics', 'Source'} <= set(result), result
        assert result['Metrics'] and all(isinstance(v, (int, float))
                                         for v in result['Metrics'].values()), result
        assert result['Source'].startswith(SOURCES), result['Source']
        if result['Source'].startswith('measured here'):
            # when, on what, and the command that reproduces it
            assert re.search(r'\d{4}-\d{2}-\d{2}', result['Source']), result['Source']
            assert re.search(r'`[^`]+`', result['Source']), result['Source']


def test_readme_model_zoo_shows_the_metafile(metafile):
    with open(osp.join(ROOT, 'README.md')) as f:
        readme = f.read()
    assert '## Model zoo' in readme
    zoo = readme.split('## Model zoo', 1)[1].split('\n## ', 1)[0]
    for model in metafile['Models']:
        assert model['Config'] in zoo, model['Config']
        for result in model['Results']:
            for value in result['Metrics'].values():
                assert f'{value}' in zoo, (model['Name'], value)
