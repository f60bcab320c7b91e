"""The VisionGRU-Ti / Swin-T comparison trains both with one recipe and reports each seed."""
import pytest

from tools.analysis import compare_swin


def without_backbone(cfg):
    """The run config as a dict, less what differs between the backbones by design."""
    d = cfg.to_dict()
    model = d['model']
    del model['backbone'], model['decode_head']['in_channels'], model['auxiliary_head'][
        'in_channels']
    d['optim_wrapper'].pop('paramwise_cfg')
    return d


def test_the_two_models_share_every_setting_but_the_backbone():
    ti, swin = (compare_swin.run_config(m, 'data', seed=3, iters=100, size=48)
                for m in compare_swin.CONFIGS)
    assert ti.model.backbone.type == 'VisionGRU' and swin.model.backbone.type == \
        'SwinTransformer'
    assert swin.model.decode_head.in_channels == [96, 192, 384, 768]
    assert without_backbone(ti) == without_backbone(swin)
    assert ti.randomness == dict(seed=3) and ti.train_cfg.max_iters == 100
    assert ti.param_scheduler[1].end == 100 and ti.param_scheduler[0].end == 20
    assert ti.val_dataloader.dataset.pipeline[1].scale == (96, 48)


@pytest.mark.slow
def test_a_short_comparison_runs_end_to_end(tmp_path, capsys):
    args = ['--seeds', '0', '--iters', '4', '--size', '32', '--num-train', '4', '--num-val', '2',
            '--out', str(tmp_path)]
    compare_swin.main(args)
    out = capsys.readouterr().out
    rows = {line.split('|')[1].strip(): line for line in out.splitlines()
            if line.startswith('| ') and 'model' not in line and '---' not in line}
    assert set(rows) == {'visiongru-ti', 'swin-t'}
    for line in rows.values():
        assert 0 <= float(line.split('|')[2]) <= 100
    # A second call reads the finished runs back instead of training again.
    compare_swin.main(args)
    assert capsys.readouterr().out == out
