"""VisionGRU: a hierarchical backbone of 2DGRU blocks with strides 4, 8, 16 and 32."""
from typing import Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from ..checkpoint import load_pretrained
from .gru2d_block import GRU2DBlock

if hasattr(torch.compiler, 'is_compiling'):
    _is_compiling = torch.compiler.is_compiling
else:  # torch < 2.3
    from torch._dynamo import is_compiling as _is_compiling


class ConvDownsample(nn.Module):
    """Conv3x3 stride 2 (padding 1, so sizes round up) then LayerNorm(eps 1e-6) over channels.

    Shape:
        (B, C_in, H, W) -> (B, C_out, ceil(H / 2), ceil(W / 2)).
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1)
        self.norm = nn.LayerNorm(out_channels, eps=1e-6)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(x)
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class VisionGRU(BaseModule):
    """VisionGRU backbone (Yin et al., "VisionGRU: A Linear-Complexity RNN Model for Efficient
    Image Analysis").

    A two-convolution stem (stride 4) and four stages of 2DGRU blocks of widths C, 2C, 4C, 8C,
    with a Conv3x3 stride-2 + LayerNorm downsample between stages.  Needs torch and mmengine
    only; ``import mmseg_visiongru`` registers it as ``VisionGRU`` in the MMSegmentation and
    mmpretrain ``MODELS`` registries (see :func:`mmseg_visiongru.register_all_modules`).

    Args:
        arch (str | dict): ``'tiny'`` / ``'base'`` (see ``arch_settings``), or a dict with
            ``embed_dims`` (C) and ``depths`` (four ints).
        in_channels (int): Image channels. Defaults to 3.
        out_indices (Sequence[int]): Stages whose feature maps are returned, as NCHW tensors at
            strides 4, 8, 16, 32. Defaults to all four.
        frozen_stages (int): Freeze the stem and the first ``frozen_stages`` stages (with their
            downsamples); 0 freezes nothing. Defaults to 0.
        drop_path_rate (float): Stochastic depth, rising linearly over the blocks.
            Defaults to 0 (the released model).
        mlp_ratio (int): MLP width ratio of the blocks. Defaults to 4.
        expansion (int): minGRU expansion. Defaults to 2.
        out_norm (bool): Add a LayerNorm to each returned feature map (not in the released
            model). Defaults to False.
        with_cp (bool): Gradient checkpointing of each block. Defaults to False.
        init_cfg (dict | list[dict], optional): Initialization config, e.g.
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.
    """
    arch_settings = {
        'tiny': dict(embed_dims=72, depths=[2, 2, 8, 2]),
        'base': dict(embed_dims=104, depths=[2, 2, 15, 2]),
    }
    num_stages = 4

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = 0,
                 drop_path_rate: float = 0.,
                 mlp_ratio: int = 4,
                 expansion: int = 2,
                 out_norm: bool = False,
                 with_cp: bool = False,
                 init_cfg=(dict(type='TruncNormal', layer='Linear', std=.02, bias=0.),
                           dict(type='Constant', layer='LayerNorm', val=1., bias=0.))):
        super().__init__(init_cfg=list(init_cfg) if isinstance(init_cfg, tuple) else init_cfg)
        if isinstance(arch, str):
            if arch not in self.arch_settings:
                raise KeyError(f'Unknown VisionGRU arch {arch!r}; choose from '
                               f'{sorted(self.arch_settings)} or pass a dict')
            arch = self.arch_settings[arch]
        if set(arch) != {'embed_dims', 'depths'} or len(arch['depths']) != self.num_stages:
            raise ValueError('A custom VisionGRU arch needs exactly embed_dims (int) and depths '
                             f'({self.num_stages} ints), got {arch}')
        self.embed_dims = arch['embed_dims']
        self.depths = list(arch['depths'])
        self.in_channels = in_channels
        self.channels = [self.embed_dims * 2**i for i in range(self.num_stages)]
        self.out_indices = [i % self.num_stages for i in out_indices]
        if not all(-self.num_stages <= i < self.num_stages for i in out_indices):
            raise ValueError(f'out_indices must lie in [-4, 4), got {out_indices}')
        if not 0 <= frozen_stages <= self.num_stages:
            raise ValueError(f'frozen_stages must lie in [0, 4], got {frozen_stages}')
        self.frozen_stages = frozen_stages

        C = self.embed_dims
        self.stem = nn.Sequential(ConvDownsample(in_channels, C // 2), nn.GELU(),
                                  ConvDownsample(C // 2, C))
        self.downsamples = nn.ModuleList(
            ConvDownsample(c, 2 * c) for c in self.channels[:-1])
        rates = iter(torch.linspace(0, drop_path_rate, sum(self.depths), device='cpu').tolist())
        self.stages = nn.ModuleList()
        for c, depth in zip(self.channels, self.depths):
            self.stages.append(nn.ModuleList(
                GRU2DBlock(c, mlp_ratio, expansion, next(rates), with_cp)
                for _ in range(depth)))
        self.out_norms = nn.ModuleDict({
            str(i): nn.LayerNorm(self.channels[i], eps=1e-6)
            for i in self.out_indices
        } if out_norm else {})
        self._freeze_stages()

    def init_weights(self):
        """Initialise, loading a ``Pretrained`` checkpoint strictly (mmengine would only warn
        about missing or unexpected keys)."""
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            load_pretrained(self, cfg['checkpoint'], prefix=cfg.get('prefix'))
            self._is_init = True
        else:
            super().init_weights()

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(B, in_channels, H, W) -> feature maps (B, C_i, ceil(H / s_i), ceil(W / s_i)) for
        each stage i in ``out_indices``, with s_i = 4, 8, 16, 32."""
        self._check_input(x)
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            if i > 0:
                x = self.downsamples[i - 1](x)
            B, C, H, W = x.shape
            tokens = x.flatten(2).transpose(1, 2)
            for block in stage:
                tokens = block(tokens, (H, W))
            x = tokens.transpose(1, 2).reshape(B, C, H, W)
            if i in self.out_indices:
                out = x
                if str(i) in self.out_norms:
                    out = self.out_norms[str(i)](x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
                outs.append(out.contiguous())
        return tuple(outs)

    def _check_input(self, x: Tensor) -> None:
        """Fail on unusable input before any expensive work.

        Shape, size and dtype are metadata.  NaN/Inf is looked for on the CPU only: on an
        accelerator the answer would have to be copied to the host, stalling every step.  Nor
        under torch.compile, where branching on a tensor's value would break the graph.
        """
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'VisionGRU expects (B, {self.in_channels}, H, W) images, got '
                             f'{tuple(x.shape)}')
        if x.numel() == 0:
            raise ValueError(f'VisionGRU got an empty batch of shape {tuple(x.shape)}')
        if not x.is_floating_point():
            raise ValueError(f'VisionGRU expects floating point images, got {x.dtype} '
                             '(normalise them first, e.g. with the data preprocessor)')
        if x.device.type == 'cpu' and not _is_compiling() and \
                not torch.isfinite(x).all():
            raise ValueError('VisionGRU input contains NaN or Inf')

    def _freeze_stages(self):
        frozen = [self.stem] if self.frozen_stages > 0 else []
        for i in range(self.frozen_stages):
            frozen += [self.stages[i]] + ([self.downsamples[i - 1]] if i > 0 else [])
            if str(i) in self.out_norms:
                frozen.append(self.out_norms[str(i)])
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        return self
