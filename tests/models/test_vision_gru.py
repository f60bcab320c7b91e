import pytest
import torch
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmseg.registry import MODELS as MMSEG_MODELS
from torch import Tensor
from torch.overrides import TorchFunctionMode

from mmseg_visiongru.models import VisionGRU

SMALL = dict(embed_dims=16, depths=[1, 1, 2, 1])


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('arch,expected', [('tiny', 29_639_952), ('base', 86_074_352)])
def test_parameter_counts_match_released_model(arch, expected):
    assert n_params(VisionGRU(arch)) == expected


@pytest.mark.parametrize('size,expected', [
    ((512, 512), [(128, 128), (64, 64), (32, 32), (16, 16)]),
    ((513, 517), [(129, 130), (65, 65), (33, 33), (17, 17)]),
    ((33, 65), [(9, 17), (5, 9), (3, 5), (2, 3)]),
])
def test_tiny_output_shapes_and_strides(size, expected):
    model = VisionGRU('tiny').eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *size))
    assert [tuple(o.shape) for o in outs] == [
        (1, c, *hw) for c, hw in zip([72, 144, 288, 576], expected)]
    assert all(o.is_contiguous() and torch.isfinite(o).all() for o in outs)


@pytest.mark.parametrize('size', [(1, 1), (31, 33), (2000, 30)])
def test_tiny_and_extreme_sizes(size):
    model = VisionGRU(SMALL).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *size))
    expected = [(-(-size[0] // s), -(-size[1] // s)) for s in (4, 8, 16, 32)]
    assert [tuple(o.shape[2:]) for o in outs] == expected
    assert all(torch.isfinite(o).all() for o in outs)


def test_out_indices_and_out_norm():
    model = VisionGRU(SMALL, out_indices=(1, -1), out_norm=True)
    outs = model(torch.randn(2, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [32, 128]
    assert set(model.out_norms) == {'1', '3'}
    # Each returned map is normalised over channels.
    torch.testing.assert_close(outs[1].mean(1), torch.zeros_like(outs[1][:, 0]), atol=1e-4,
                               rtol=0)


@pytest.mark.parametrize('registry', [MMSEG_MODELS, MMPRETRAIN_MODELS])
def test_builds_from_config_dict_in_both_registries(registry):
    model = registry.build(dict(type='VisionGRU', arch='tiny', out_indices=(3, )))
    assert isinstance(model, VisionGRU) and model.out_indices == [3]


def test_frozen_stages_really_freeze():
    torch.manual_seed(0)
    model = VisionGRU(SMALL, frozen_stages=2)
    model.init_weights()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    assert not model.stem.training and not model.stages[1].training
    assert model.stages[2].training
    optim = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    sum(o.square().mean() for o in model(torch.randn(2, 3, 64, 64))).backward()
    optim.step()
    frozen = ('stem.', 'stages.0.', 'stages.1.', 'downsamples.0.')
    for key, value in model.state_dict().items():
        changed = not torch.equal(value, before[key])
        assert changed != key.startswith(frozen), key


def test_with_cp_gives_identical_outputs_and_gradients():
    torch.manual_seed(0)
    plain = VisionGRU(SMALL)
    ckpt = VisionGRU(SMALL, with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 48, 40)
    results = []
    for model in (plain, ckpt):
        outs = model(x)
        sum(o.square().mean() for o in outs).backward()
        results.append((outs, [p.grad for p in model.parameters()]))
    for a, b in zip(results[0][0] + tuple(results[0][1]), results[1][0] + tuple(results[1][1])):
        assert torch.equal(a, b)


def test_drop_path_is_off_by_default_and_stochastic_when_set():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    model = VisionGRU(SMALL).train()
    assert torch.equal(model(x)[-1], model(x)[-1])
    model = VisionGRU(SMALL, drop_path_rate=0.5).train()
    assert not torch.equal(model(x)[-1], model(x)[-1])
    model.eval()
    assert torch.equal(model(x)[-1], model(x)[-1])


def test_bad_input_is_named():
    model = VisionGRU(SMALL)
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\).*\(2, 4, 32, 32\)'):
        model(torch.randn(2, 4, 32, 32))
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\).*\(3, 32, 32\)'):
        model(torch.randn(3, 32, 32))
    with pytest.raises(ValueError, match='empty batch'):
        model(torch.randn(0, 3, 32, 32))
    with pytest.raises(ValueError, match='floating point images, got torch.uint8'):
        model(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))
    for bad in (float('nan'), float('inf')):
        x = torch.randn(1, 3, 32, 32)
        x[0, 1, 5, 7] = bad
        with pytest.raises(ValueError, match='NaN or Inf'):
            model(x)
    with pytest.raises(KeyError, match='small'):
        VisionGRU('small')
    with pytest.raises(ValueError, match='depths'):
        VisionGRU(dict(embed_dims=16, depths=[1, 1]))
    with pytest.raises(ValueError, match='out_indices'):
        VisionGRU(SMALL, out_indices=(4, ))
    with pytest.raises(ValueError, match='frozen_stages'):
        VisionGRU(SMALL, frozen_stages=5)


class HostReads(TorchFunctionMode):
    """Records each call that copies a tensor's values to the host (a GPU synchronisation)."""
    READS = (Tensor.__bool__, Tensor.item, Tensor.tolist, Tensor.__float__, Tensor.__int__,
             Tensor.cpu, Tensor.numpy)

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in self.READS:
            self.calls.append(func.__name__)
        return func(*args, **(kwargs or {}))


def test_input_values_are_read_on_the_cpu_only():
    model, x = VisionGRU(SMALL), torch.randn(1, 3, 32, 32)
    with HostReads() as reads:
        model._check_input(x)
    assert reads.calls == ['__bool__']  # the NaN/Inf check, seen by the recorder
    # Off the CPU (the meta device: no values at all, so any read would also raise), a NaN
    # input goes through the whole forward without one read.
    with torch.device('meta'):
        model = VisionGRU(SMALL)
    x = torch.full((2, 3, 32, 32), float('nan'), device='meta', requires_grad=True)
    with HostReads() as reads:
        outs = model(x)
    assert reads.calls == []
    assert [tuple(o.shape) for o in outs] == [(2, 16 * 2**i, 8 // 2**i, 8 // 2**i)
                                              for i in range(4)]

