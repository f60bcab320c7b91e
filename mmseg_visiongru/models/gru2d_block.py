"""The 2DGRU block: a bidirectional minGRU token mixer and an MLP, each residual."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from torch import Tensor

from ..ops import min_gru_scan
from .drop_path import DropPath
from .min_gru import MinGRU


class GRU2DBlock(nn.Module):
    """2DGRU block on raster-ordered tokens.

    ``y = DWConv3x3(LN(x))``; ``x = x + minGRU_fwd(y) + minGRU_bwd(y)`` where the second minGRU
    scans the raster sequence from its end (both H and W reversed); then
    ``x = x + Linear(GELU(Linear(LN(x))))``.

    Args:
        dim (int): Channels C.
        mlp_ratio (int): MLP hidden width is ``mlp_ratio * C``. Defaults to 4.
        expansion (int): minGRU expansion. Defaults to 2.
        drop_path (float): Stochastic depth rate of both residual branches. Defaults to 0.
        with_cp (bool): Recompute the block in backward to save memory. Defaults to False.

    Shape:
        x: (B, H*W, C) with ``hw_shape = (H, W)`` -> (B, H*W, C).
    """

    def __init__(self, dim: int, mlp_ratio: int = 4, expansion: int = 2,
                 drop_path: float = 0., with_cp: bool = False):
        super().__init__()
        self.with_cp = with_cp
        self.norm = nn.LayerNorm(dim)
        self.dw_conv = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.min_gru_1 = MinGRU(dim, expansion)
        self.min_gru_2 = MinGRU(dim, expansion, reverse=True)
        self.norm2 = nn.LayerNorm(dim)
        self.projection1 = nn.Linear(dim, dim * mlp_ratio)
        self.act = nn.GELU()
        self.projection2 = nn.Linear(dim * mlp_ratio, dim)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def _forward(self, x: Tensor, hw_shape: Tuple[int, int]) -> Tensor:
        B, L, C = x.shape
        # The conv sees the tokens as a channels-last (B, C, H, W) view, and its channels-last
        # output is read back as tokens: no layout copies on the way in or out.
        y = self.norm(x).view(B, *hw_shape, C).permute(0, 3, 1, 2)
        y = self.dw_conv(y).permute(0, 2, 3, 1).reshape(B, L, C)
        x = x + self.drop_path(self.bidirectional_min_gru(y))
        return x + self.drop_path(self.projection2(self.act(self.projection1(self.norm2(x)))))

    def bidirectional_min_gru(self, y: Tensor) -> Tensor:
        """``min_gru_1(y) + min_gru_2(y)`` as one input product, one scan call for both
        directions and one output product: (B, L, C) -> (B, L, C)."""
        w_in = torch.cat([self.min_gru_1.to_hidden_and_gate.weight,
                          self.min_gru_2.to_hidden_and_gate.weight])
        w_out = torch.cat([self.min_gru_1.to_out.weight, self.min_gru_2.to_out.weight], dim=1)
        h = min_gru_scan(F.linear(y, w_in), (self.min_gru_1.reverse, self.min_gru_2.reverse))
        return F.linear(h, w_out)

    def forward(self, x: Tensor, hw_shape: Tuple[int, int]) -> Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._forward, x, hw_shape, use_reentrant=False)
        return self._forward(x, hw_shape)
