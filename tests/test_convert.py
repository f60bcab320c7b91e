"""Checkpoints in the authors' released layout convert into ours and give the same outputs."""
import os.path as osp

import pytest
import torch
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

from mmseg_visiongru.checkpoint import load_pretrained
from mmseg_visiongru.convert import arch_of, convert, official_parameter_names
from mmseg_visiongru.models import VisionGRU
from tools.analysis.released_layout import ReleasedVisionGRU

from .helpers import PYTHON, run, run_fails

SMALL = dict(embed_dims=16, depths=[1, 1, 2, 1])


@pytest.fixture(scope='module')
def released():
    torch.manual_seed(0)
    model = ReleasedVisionGRU(16, SMALL['depths'], num_classes=7).double()
    for p in model.parameters():  # off the default init, so every weight matters
        p.data.normal_(0, 0.2)
    return model


def formats(model):
    state = model.state_dict()
    yield 'plain', state
    yield 'compiled+ddp', {f'module._orig_mod.{k}': v for k, v in state.items()}
    yield 'vig+nested', {'model': {f'vig.{k}': v for k, v in state.items()}, 'epoch': 3}
    yield 'state_dict', {'state_dict': state, 'optimizer': {}}
    yield 'torch_ema', {'decay': 0.9999, 'num_updates': 10, 'collected_params': None,
                        'shadow_params': [p.detach().clone() for p in model.parameters()]}


def test_official_parameter_order_matches_released_module(released):
    assert official_parameter_names(SMALL['depths'], with_fc=True) == \
        [name for name, _ in released.named_parameters()]


@pytest.mark.parametrize('fmt', ['plain', 'compiled+ddp', 'vig+nested', 'state_dict',
                                 'torch_ema'])
def test_converted_backbone_and_classifier_give_released_outputs(released, fmt):
    checkpoint = dict(formats(released))[fmt]
    state = convert(checkpoint, SMALL, with_head=True)
    ours = VisionGRU(SMALL).double()
    ours.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()
                          if k.startswith('backbone.')}, strict=True)
    x = torch.randn(2, 3, 45, 62, dtype=torch.float64)
    with torch.no_grad():
        for a, b in zip(ours(x), released.features(x)):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)
        classifier = MMPRETRAIN_MODELS.build(dict(
            type='ImageClassifier', backbone=dict(type='VisionGRU', arch=SMALL, out_indices=(3, )),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=7, in_channels=128))).double()
        classifier.load_state_dict(state, strict=True)
        torch.testing.assert_close(classifier(x, mode='tensor'), released(x))


def test_unknown_key_is_an_error(released):
    state = dict(released.state_dict(), **{'pos_embed': torch.zeros(1)})
    with pytest.raises(KeyError, match='pos_embed'):
        convert(state, SMALL)


@pytest.mark.parametrize('arch,width,depths', [('tiny', 72, [2, 2, 8, 2]),
                                              ('base', 104, [2, 2, 15, 2])])
def test_arch_is_inferred_from_the_shapes_in_every_format(arch, width, depths):
    with torch.device('meta'):
        released = ReleasedVisionGRU(width, depths)
    for fmt, checkpoint in formats(released):
        assert arch_of(convert(checkpoint)) == arch, fmt
    other = 'base' if arch == 'tiny' else 'tiny'
    with pytest.raises(ValueError, match=f"holds VisionGRU arch='{arch}', not arch='{other}'"):
        convert(released.state_dict(), other)
    assert arch_of(convert(dict(formats(released))['torch_ema'], arch)) == arch
    with pytest.raises(ValueError, match="shadow params fits no VisionGRU arch among "
                       f"\\['{other}'\\]"):
        convert(dict(formats(released))['torch_ema'], other)


def test_cli_infers_tiny_and_rejects_another_arch(tmp_path):
    torch.manual_seed(0)
    released = ReleasedVisionGRU(72, [2, 2, 8, 2])
    src, dst = tmp_path / 'released.pth', tmp_path / 'ours.pth'
    torch.save({'model': {f'module.{k}': v for k, v in released.state_dict().items()}}, src)
    out = run(PYTHON, 'tools/model_converters/visiongru2mmseg.py', str(src), str(dst), '--cls')
    assert "loads strictly into VisionGRU arch='tiny' and its ImageNet classifier" in out
    model = VisionGRU('tiny')
    load_pretrained(model, str(dst), prefix='backbone.')
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[-1], released.features(x)[-1], rtol=1e-4,
                                   atol=1e-4)
    out = run_fails(PYTHON, 'tools/model_converters/visiongru2mmseg.py', str(src),
                    str(tmp_path / 'base.pth'), '--arch', 'base')
    assert "ValueError: The checkpoint holds VisionGRU arch='tiny', not arch='base'" in out
    assert not osp.exists(tmp_path / 'base.pth')


@pytest.mark.slow
def test_cli_infers_base(tmp_path):
    with torch.device('meta'):
        shapes = ReleasedVisionGRU(104, [2, 2, 15, 2]).state_dict()
    src, dst = tmp_path / 'released_b.pth', tmp_path / 'ours_b.pth'
    # Zero-strided views of one element: the shapes of VisionGRU-B in a file of a few KB.
    torch.save({k: torch.zeros(()).expand(v.shape) for k, v in shapes.items()}, src)
    out = run(PYTHON, 'tools/model_converters/visiongru2mmseg.py', str(src), str(dst))
    assert "loads strictly into VisionGRU arch='base'" in out
