"""VisionGRU as the authors' released code builds it, written independently of
``mmseg_visiongru.models``: the released module layout (``tokenizer``, ``snake_gru``, ``fc``) and
minGRU in log space.  The benchmarks' "authors' code" baseline, and the converter tests' source
of checkpoints in the released layout."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg_visiongru.ops import min_gru_log_space


class ChannelsLastLN(nn.LayerNorm):

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ReleasedMinGRU(nn.Module):

    def __init__(self, dim):
        super().__init__()
        self.to_hidden_and_gate = nn.Linear(dim, 4 * dim, bias=False)
        self.to_out = nn.Linear(2 * dim, dim, bias=False)

    def forward(self, x):
        hidden, gate = self.to_hidden_and_gate(x).chunk(2, dim=-1)
        return self.to_out(min_gru_log_space(hidden, gate))


class ReleasedBlock(nn.Module):

    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.dw_conv = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.min_gru_1 = ReleasedMinGRU(dim)
        self.min_gru_2 = ReleasedMinGRU(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.projection1 = nn.Linear(dim, 4 * dim)
        self.projection2 = nn.Linear(4 * dim, dim)

    def forward(self, x, H, W):
        B, L, C = x.shape
        y = self.norm(x).transpose(1, 2).reshape(B, C, H, W)
        y = self.dw_conv(y).flatten(2).transpose(1, 2)
        x = x + self.min_gru_1(y) + torch.flip(self.min_gru_2(torch.flip(y, [1])), [1])
        return x + self.projection2(F.gelu(self.projection1(self.norm2(x))))


class Tokenizer(nn.Module):

    def __init__(self, C):
        super().__init__()
        self.conv1 = nn.Conv2d(3, C // 2, 3, 2, 1)
        self.norm1 = ChannelsLastLN(C // 2, eps=1e-6)
        self.conv2 = nn.Conv2d(C // 2, C, 3, 2, 1)
        self.norm2 = ChannelsLastLN(C, eps=1e-6)

    def forward(self, x):
        return self.norm2(self.conv2(F.gelu(self.norm1(self.conv1(x)))))


class SnakeGRU(nn.Module):

    def __init__(self, C, depths):
        super().__init__()
        dims = [C * 2**i for i in range(4)]
        self.layers = nn.ModuleList(
            nn.ModuleList(ReleasedBlock(d) for _ in range(n)) for d, n in zip(dims, depths))
        for k in range(3):
            setattr(self, f'conv{k + 1}', nn.Conv2d(dims[k], dims[k + 1], 3, 2, 1))
        for k in range(3):
            setattr(self, f'norm{k + 1}', ChannelsLastLN(dims[k + 1], eps=1e-6))

    def forward(self, x):
        feats = []
        for s, blocks in enumerate(self.layers):
            if s:
                x = getattr(self, f'norm{s}')(getattr(self, f'conv{s}')(x))
            B, C, H, W = x.shape
            t = x.flatten(2).transpose(1, 2)
            for block in blocks:
                t = block(t, H, W)
            x = t.transpose(1, 2).reshape(B, C, H, W)
            feats.append(x)
        return feats


class ReleasedVisionGRU(nn.Module):
    """The released classifier; with ``num_classes=None``, a backbone of four stage outputs."""

    def __init__(self, C, depths, num_classes=1000):
        super().__init__()
        self.tokenizer = Tokenizer(C)
        self.snake_gru = SnakeGRU(C, depths)
        if num_classes:
            self.fc = nn.Linear(8 * C, num_classes)

    def features(self, x):
        return self.snake_gru(self.tokenizer(x))

    def forward(self, x):
        if not hasattr(self, 'fc'):
            return tuple(self.features(x))
        return self.fc(self.features(x)[-1].mean((2, 3)))
