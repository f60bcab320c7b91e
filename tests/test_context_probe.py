"""The linear probe of tools/analysis/context_probe.py finds a cue that is there, and only then."""
import torch

from .conftest import load_tool

context_probe = load_tool('analysis/context_probe')


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
