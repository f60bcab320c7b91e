"""Convert a checkpoint of the authors' released VisionGRU code into ours.

    python tools/model_converters/visiongru2mmseg.py SRC DST [--arch tiny|base] [--cls]

The arch (tiny, base, or other widths and depths) is read from SRC's shapes; ``--arch`` only
asserts it.  SRC may be a plain state dict, nested under ``state_dict``/``model``, carry ``_orig_mod.`` /
``module.`` / ``vig.`` prefixes, or be a ``torch_ema`` file (``shadow_params``).  DST has
``backbone.*`` keys (for ``init_cfg=dict(type='Pretrained', prefix='backbone.')`` in the
segmentation configs) and, with ``--cls``, ``head.fc.*`` for the mmpretrain classifier.  The
result is checked by loading it strictly into the model it is meant for.
"""
import argparse

import torch
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

from mmseg_visiongru.checkpoint import load_pretrained
from mmseg_visiongru.convert import arch_of, convert
from mmseg_visiongru.models import VisionGRU


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='checkpoint written by the released code')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument('--arch', choices=sorted(VisionGRU.arch_settings),
                        help='fail unless SRC holds this arch (default: convert what it holds)')
    parser.add_argument('--cls', action='store_true',
                        help='keep the classifier (head.fc) for the mmpretrain ImageClassifier')
    return parser.parse_args()


def main():
    args = parse_args()
    # The released files hold only tensors (and torch_ema's floats/ints): load them safely.
    checkpoint = torch.load(args.src, map_location='cpu', weights_only=True)
    state_dict = convert(checkpoint, args.arch, with_head=args.cls)
    arch = arch_of(state_dict)
    torch.save({'meta': {'converted_from': args.src}, 'state_dict': state_dict}, args.dst)
    if args.cls:
        if 'head.fc.weight' not in state_dict:
            raise KeyError(f'--cls: {args.src} has no classifier (fc) weights')
        num_classes, channels = state_dict['head.fc.weight'].shape
        classifier = MMPRETRAIN_MODELS.build(dict(
            type='ImageClassifier',
            backbone=dict(type='VisionGRU', arch=arch, out_indices=(3, )),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=channels)))
        classifier.load_state_dict(state_dict, strict=True)
    load_pretrained(VisionGRU(arch), args.dst, prefix='backbone.')
    print(f'wrote {args.dst}: {len(state_dict)} tensors, loads strictly into VisionGRU '
          f'arch={arch!r}' + (' and its ImageNet classifier' if args.cls else ''))


if __name__ == '__main__':
    main()
