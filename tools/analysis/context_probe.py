"""Where does the context task's cue get lost?  Linear probes of the rock / cushion label on each
backbone stage's features and on the UperNet head's, at the disk positions and over the whole map,
and how much those features at the disks move when the ceiling's colour is swapped.

    .venv/bin/python -m tools.analysis.context_probe [--init] WORK_DIR [WORK_DIR ...]

Each WORK_DIR is a finished ``context`` run of ``tools.analysis.trainability`` (its config.py and
last checkpoint).  The disks of an image all share one class, told only by the ceiling colour, so
each image is one sample: a stage's feature vector "at the disks" is its map averaged over the
disk pixels (the label mask resized to the map by area), "global" is the map's mean.  One logistic
regression per stage (standardised features, L2 weight 1e-2, L-BFGS, float64) is fit on the
training images and scored on the held-out images; the classes are balanced, chance is 50%.
A model that carries the ceiling's colour to the disks shows it in the "at the disks" columns.

Swap sensitivity: each held-out image is run again with its ceiling recoloured to the other
cue's colour (pixel-wise ratio of the two cue colours, so brightness and noise stay); per map, the
mean distance between the two "at the disks" vectors over their mean distance from the images'
average (the spread that the rest of the scene causes).  0: the disks do not see the ceiling.
With ``--init`` the runs' models are measured as initialised (seed 0) instead of as trained: how
much of the cue reaches the disks before any learning, i.e. the signal that learning starts from.
"""
import argparse
import functools
import logging
import os.path as osp

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import MMLogger

import mmseg_visiongru  # noqa: F401 (registers VisionGRU and lets torch read our checkpoints)
from tools.make_sample_data import CONTEXT_CUES

from .report import write_table

CLASSES = ('rock', 'cushion')  # the context task's disk classes, told apart by the ceiling
PROBED = ('stage 1', 'stage 2', 'stage 3', 'stage 4', 'head')


@functools.lru_cache(maxsize=None)
def cue_colours():
    """{'rock': RGB, 'cushion': RGB} of the ceiling, as tools/make_sample_data.py paints it."""
    names = {35: 'rock', 40: 'cushion'}  # ADE20K ids
    return {names[k]: torch.tensor(v, dtype=torch.float64) for k, v in CONTEXT_CUES.items()}


def swap_ceiling(inputs, seg, is_rock, ceiling):
    """``inputs`` (3, H, W) uint8 BGR with the ceiling pixels (``seg == ceiling``) recoloured
    from this image's cue colour to the other one's."""
    colours = cue_colours()
    this, other = (colours['rock'], colours['cushion'])[::1 if is_rock else -1]
    ratio = (other / this).flip(0)[:, None]  # RGB -> BGR
    out = inputs.double()
    mask = seg == ceiling
    out[:, mask] = (out[:, mask] * ratio).clamp(0, 255).round()
    return out.to(inputs.dtype)


def disk_means(maps, disks):
    """Each (1, C, h, w) map averaged over the disk pixels (mask resized by area): (C, )."""
    out = []
    for fmap in maps:
        fmap = fmap[0].double()
        weight = F.interpolate(disks[None, None], fmap.shape[-2:], mode='area')[0]
        out.append((fmap * weight).sum((1, 2)) / weight.sum())
    return out


def features(model, dataset, swapped=False):
    """(at the disks, global): a (N, C) tensor per probed map; labels (N, ): 1 for rock; with
    ``swapped`` also "at the disks" of the images with the other ceiling colour."""
    rock, cushion = (dataset.metainfo['classes'].index(c) for c in CLASSES)
    ceiling = dataset.metainfo['classes'].index('ceiling')
    head = {}
    hook = model.decode_head.fpn_bottleneck.register_forward_hook(
        lambda module, args, out: head.update(out=out))
    at_disks, means, at_disks_swapped = ([[] for _ in PROBED] for _ in range(3))
    labels = []

    def run(sample):
        data = model.data_preprocessor(pseudo_collate([sample]), False)
        maps = list(model.extract_feat(data['inputs']))
        model.decode_head(maps)
        return maps + [head['out']]

    try:
        with torch.no_grad():
            for i in range(len(dataset)):
                sample = dataset[i]
                seg = sample['data_samples'].gt_sem_seg.data[0]
                disks = ((seg == rock) | (seg == cushion)).double()
                if not disks.any():
                    continue
                labels.append(float((seg == rock).sum() > (seg == cushion).sum()))
                maps = run(sample)
                for j, (fmap, disk_mean) in enumerate(zip(maps, disk_means(maps, disks))):
                    at_disks[j].append(disk_mean)
                    means[j].append(fmap[0].double().mean((1, 2)))
                if swapped:
                    sample['inputs'] = swap_ceiling(sample['inputs'], seg, labels[-1], ceiling)
                    for j, disk_mean in enumerate(disk_means(run(sample), disks)):
                        at_disks_swapped[j].append(disk_mean)
    finally:
        hook.remove()
    return ([torch.stack(r) for r in at_disks], [torch.stack(r) for r in means],
            [torch.stack(r) for r in at_disks_swapped] if swapped else None,
            torch.tensor(labels, dtype=torch.float64))


def swap_sensitivity(at_disks, at_disks_swapped):
    """Mean distance of the disks' features between the two ceiling colours, over their mean
    distance from the images' average: (N, C), (N, C) -> float."""
    change = (at_disks - at_disks_swapped).norm(dim=1).mean()
    spread = (at_disks - at_disks.mean(0)).norm(dim=1).mean()
    return (change / spread).item()


def probe_accuracy(x_train, y_train, x_test, y_test, weight_decay=1e-2):
    """Held-out accuracy of an L2-regularised logistic regression fit on (x_train, y_train)."""
    mean, std = x_train.mean(0), x_train.std(0) + 1e-8
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    w = torch.zeros(x_train.shape[1], dtype=x_train.dtype, requires_grad=True)
    b = torch.zeros(1, dtype=x_train.dtype, requires_grad=True)
    optimizer = torch.optim.LBFGS([w, b], max_iter=500, line_search_fn='strong_wolfe')

    def closure():
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(x_train @ w + b, y_train) + \
            weight_decay * w.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return ((x_test @ w + b > 0).double() == y_test).double().mean().item()


def load_model(work_dir, init=False):
    """The run's trained model, or with ``init`` its model as initialised with seed 0."""
    from mmseg.apis import init_model
    from mmseg.registry import MODELS
    cfg = Config.fromfile(osp.join(work_dir, 'config.py'))
    if init:
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        model.init_weights()
        model.cfg = cfg
        return model.eval()
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = osp.join(work_dir, osp.basename(f.read().strip()))
    return init_model(cfg, checkpoint, device='cpu').eval()


def probe_run(work_dir, init=False):
    """One run's held-out probe accuracies (%), {'at the disks': [...], 'global': [...]}, and
    swap sensitivities, {'swap sensitivity': [...]}, one value per probed map."""
    from mmseg.registry import DATASETS
    model = load_model(work_dir, init)
    cfg = model.cfg
    MMLogger.get_current_instance().setLevel(logging.WARNING)

    def split(name, swapped=False):
        return features(model, DATASETS.build(dict(cfg.test_dataloader.dataset, data_prefix=dict(
            img_path=f'images/{name}', seg_map_path=f'annotations/{name}'))), swapped)

    (train_disks, train_means, _, y_train), (test_disks, test_means, test_swapped, y_test) = \
        split('training'), split('validation', swapped=True)
    accuracies = {
        'at the disks': [100 * probe_accuracy(a, y_train, b, y_test)
                         for a, b in zip(train_disks, test_disks)],
        'global': [100 * probe_accuracy(a, y_train, b, y_test)
                   for a, b in zip(train_means, test_means)],
    }
    return accuracies, {'swap sensitivity': [
        swap_sensitivity(a, b) for a, b in zip(test_disks, test_swapped)]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR')
    parser.add_argument('--init', action='store_true',
                        help='measure the runs\' models as initialised, not as trained')
    args = parser.parse_args()
    accuracy_rows, sensitivity_rows = [], []
    for work_dir in args.work_dirs:
        run = osp.basename(osp.normpath(work_dir)) + (' (at init)' if args.init else '')
        accuracies, sensitivities = probe_run(work_dir, args.init)
        accuracy_rows += [dict(zip(PROBED, values), run=run, where=where)
                          for where, values in accuracies.items()]
        sensitivity_rows += [dict(zip(PROBED, values), run=run)
                             for values in sensitivities.values()]
    print('Held-out accuracy (%) of linear probes of rock vs cushion (chance 50)\n')
    print(write_table(accuracy_rows, ['run', 'where'] + [(p, p, '{:.0f}') for p in PROBED]))
    print('\nSwap sensitivity at the disks (change with the other ceiling colour / spread over '
          'images; 0 = blind to the ceiling)\n')
    print(write_table(sensitivity_rows, ['run'] + [(p, p, '{:.3f}') for p in PROBED]))


if __name__ == '__main__':
    main()
