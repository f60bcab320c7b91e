"""The linear probe of tools.analysis.context_probe finds a cue that is there, and only then."""
import torch

from tools.analysis import context_probe


def test_probe_reads_a_linear_cue_and_not_noise():
    gen = torch.Generator().manual_seed(0)
    labels = (torch.rand(240, generator=gen) > 0.5).double()
    noise = torch.randn(240, 64, generator=gen, dtype=torch.float64)
    with_cue = noise.clone()
    with_cue[:, 7] += 3 * (2 * labels - 1)  # one channel moves with the label, under noise
    train, test = slice(0, 200), slice(200, 240)
    assert context_probe.probe_accuracy(with_cue[train], labels[train], with_cue[test],
                                        labels[test]) >= 0.9
    assert context_probe.probe_accuracy(noise[train], labels[train], noise[test],
                                        labels[test]) <= 0.7


def test_swap_ceiling_recolours_only_the_ceiling_to_the_other_cue():
    colours = context_probe.cue_colours()
    seg = torch.zeros(4, 4, dtype=torch.long)
    seg[0] = 5  # the ceiling's row
    inputs = torch.full((3, 4, 4), 100, dtype=torch.uint8)
    inputs[:, 0] = colours['rock'].flip(0).round().to(torch.uint8)[:, None]  # BGR
    swapped = context_probe.swap_ceiling(inputs, seg, is_rock=True, ceiling=5)
    assert torch.equal(swapped[:, 1:], inputs[:, 1:])
    expected = colours['cushion'].flip(0).round().to(torch.uint8)[:, None].expand(3, 4)
    assert (swapped[:, 0].int() - expected.int()).abs().max() <= 2
    back = context_probe.swap_ceiling(swapped, seg, is_rock=False, ceiling=5)
    assert (back.int() - inputs.int()).abs().max() <= 2


def test_swap_sensitivity_is_zero_when_blind_and_grows_with_the_change():
    gen = torch.Generator().manual_seed(0)
    at_disks = torch.randn(40, 16, generator=gen, dtype=torch.float64)
    assert context_probe.swap_sensitivity(at_disks, at_disks) == 0
    shift = torch.zeros(16, dtype=torch.float64)
    shift[3] = 1.
    small = context_probe.swap_sensitivity(at_disks, at_disks + 0.1 * shift)
    large = context_probe.swap_sensitivity(at_disks, at_disks + 2 * shift)
    assert 0 < small < large and abs(large / small - 20) < 1e-6
