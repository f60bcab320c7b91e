"""configs/metafile.yml (MMSegmentation's metafile schema), model-index.yml (what `mim` reads)
and docs/model_zoo.md: the model-index check passes, names are config names, every config
exists, numbers are numbers, only real datasets, every figure names its source, and the page
shows the metafile's figures."""
import os.path as osp
import re

import pytest
import yaml
from modelindex.load_model_index import load

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


def test_model_index_passes_its_check():
    # `python -m modelindex check` always exits 0; the errors are what load().check returns.
    index = load(osp.join(ROOT, 'model-index.yml'))
    assert index.check(silent=True) == []
    assert len(index.models) == 4


def test_names_are_config_names_and_metadata_numbers_are_numbers(metafile):
    for model in metafile['Models']:
        assert model['Config'] == f'configs/{model["Name"]}.py'
        metadata = model['Metadata']
        assert isinstance(metadata['Parameters'], int), metadata['Parameters']
        assert isinstance(metadata['Batch Size'], int)
        assert isinstance(metadata.get('Lr schd', metadata.get('Epochs')), int)
        assert isinstance(metadata.get('Memory (GB)', 0.0), float)


def test_only_models_of_real_datasets(metafile):
    """The quickstart's generated-data result stays in the README, out of the zoo."""
    datasets = {r['Dataset'] for m in metafile['Models'] for r in m['Results']}
    assert datasets == {'ADE20K', 'ImageNet-1k'}
    assert all(m['Metadata']['Training Data'] in ('ADE20K', 'ImageNet-1k')
               for m in metafile['Models'])


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


def test_model_zoo_page_shows_the_metafile(metafile):
    with open(osp.join(ROOT, 'docs', 'model_zoo.md')) as f:
        zoo = f.read()
    for model in metafile['Models']:
        assert model['Config'] in zoo, model['Config']
        for result in model['Results']:
            for value in result['Metrics'].values():
                assert f'{value}' in zoo, (model['Name'], value)
