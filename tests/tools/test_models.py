"""The analysis tools' model table: the authors' layout as a backbone matches ours."""
import torch

from tools.analysis import models


def test_authors_backbone_has_our_shapes_and_parameters():
    torch.manual_seed(0)
    ours, authors = models.build('visiongru-ti', 64), models.build('visiongru-ti-authors', 64)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert [f.shape for f in ours(x)] == [f.shape for f in authors(x)]
    assert sum(p.numel() for p in ours.parameters()) == \
        sum(p.numel() for p in authors.parameters())

