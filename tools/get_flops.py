"""Parameters and FLOPs (multiply-accumulates) of the model of any segmentor or classifier config.

    python tools/get_flops.py CONFIG [--shape H [W]] [--cfg-options KEY=VALUE ...]

The inference forward at batch 1 is traced once and counted by mmengine's ``FlopAnalyzer`` with
the handles of ``tools.analysis.complexity``: the minGRU op (one multiply-add per element of
its output plus its gating), attention, and element-wise ops.  Two totals: the paper's
convention (convolutions and matrix products only, as Fig. 1 of the VisionGRU paper and
MMSegmentation's ``get_flops.py``) and the full count; the parameters are the whole model's
(auxiliary heads included).  A segmentor counts backbone, neck and decode head
(``mode='tensor'``); a classifier backbone, neck and head.  ``--shape`` defaults to the config's
``crop_size``, else 224.
"""
import argparse
import importlib
import os.path as osp
import sys
from collections import Counter
from typing import Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import parameter_count
from mmengine.config import Config, DictAction
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, init_default_scope

if __package__ in (None, ''):  # run as a script: the checkout's tools.analysis
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from tools.analysis.complexity import flop_analyzer, paper_macs, scan_macs  # noqa: E402

# The minGRU op as torch.jit traces it on torch < 2.4, where it is an autograd Function.
SCAN_FUNCTION_OP = 'prim::PythonOp._MinGRUScan'


class TensorForward(nn.Module):
    """A segmentor's or classifier's inference forward on a batch of images (no data samples,
    no post-processing)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        return self.model(inputs, mode='tensor')


def input_shape(cfg: Config, shape: Sequence[int]) -> Tuple[int, int]:
    """(H, W) from ``--shape`` (one side: a square), else the config's crop size, else 224."""
    if not shape:
        crop = cfg.get('crop_size', 224)
        shape = [crop] if isinstance(crop, int) else list(crop)
    if len(shape) not in (1, 2) or min(shape) < 1:
        raise ValueError(f'--shape takes one side or H W, got {list(shape)}')
    return (shape[0], shape[-1])


def build(cfg: Config) -> nn.Module:
    """The config's model in its registry scope (``default_scope``: mmseg or mmpretrain),
    without pretrained weights, SyncBN as BN, in eval mode."""
    scope = cfg.get('default_scope', 'mmseg')
    importlib.import_module(f'{scope}.registry')
    for name in cfg.get('custom_imports', {}).get('imports', []):
        importlib.import_module(name)
    init_default_scope(scope)
    if cfg.model.get('backbone', {}).get('init_cfg') is not None:
        cfg.model.backbone.init_cfg = None
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.eval()
    return model


def count(cfg: Config, shape: Tuple[int, int]) -> dict:
    """Parameters and MAC counts of the config's model on one (1, 3, H, W) input."""
    model = build(cfg)
    with torch.no_grad():
        analyzer = flop_analyzer(TensorForward(model), (torch.randn(1, 3, *shape), ))
        analyzer.set_op_handle(SCAN_FUNCTION_OP, scan_macs)
        counts: Counter = analyzer.by_operator()
    return dict(
        params=parameter_count(model)[''],
        macs_paper=paper_macs(counts),
        macs_full=sum(counts.values()),
        macs_min_gru=counts['scan'] + counts['gating'],
        uncounted=sorted(analyzer.unsupported_ops()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a segmentor (mmseg) or classifier (mmpretrain) config')
    parser.add_argument('--shape', type=int, nargs='+', default=[],
                        help='input size: H W, or one side for a square')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, KEY=VALUE')
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    shape = input_shape(cfg, args.shape)
    result = count(cfg, shape)
    line = '=' * 30
    print(f'{line}\nConfig: {args.config}\nInput shape: (1, 3, {shape[0]}, {shape[1]})\n'
          f'GFLOPs (paper: conv and matmul MACs): {result["macs_paper"] / 1e9:.3f}\n'
          f'GFLOPs (full): {result["macs_full"] / 1e9:.3f}, of which the minGRU op: '
          f'{result["macs_min_gru"] / 1e9:.3f}\n'
          f'Params: {result["params"] / 1e6:.3f} M ({result["params"]:,})\n'
          f'Not counted: {" ".join(result["uncounted"]) or "nothing"}\n{line}')


if __name__ == '__main__':
    main()
