"""Stochastic depth (Huang et al., 2016) for residual branches, in plain PyTorch."""
import torch.nn as nn
from torch import Tensor


class DropPath(nn.Module):
    """Zero a residual branch for a random subset of the samples while training, and scale
    the kept ones by ``1 / (1 - drop_prob)``; the identity in eval.

    Args:
        drop_prob (float): Probability of dropping a sample's branch. Defaults to 0.1.

    Shape:
        (B, ...) -> (B, ...).
    """

    def __init__(self, drop_prob: float = 0.1):
        super().__init__()
        if not 0 <= drop_prob < 1:
            raise ValueError(f'drop_prob must lie in [0, 1), got {drop_prob}')
        self.drop_prob = drop_prob

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.drop_prob == 0:
            return x
        keep_prob = 1 - self.drop_prob
        mask = x.new_empty((x.shape[0], ) + (1, ) * (x.dim() - 1)).bernoulli_(keep_prob)
        return x * mask.div_(keep_prob)

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob}'
