"""The UperNet training step on the CPU: UperNet + VisionGRU-Ti against UperNet + Swin-T (512
crop, batch 2, the segmentor's own ``loss`` on random ``SegDataSample`` labels, AdamW step),
interleaved in one process (``python -m tools.analysis.latency_memory --throughput``)."""
import statistics
import time

import torch

from .models import segmentor
from .report import write_table

MODELS = ['upernet-visiongru-ti', 'upernet-swin-t']


def fake_batch(batch, size, num_classes):
    """Random images and SegDataSamples with random labels."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for _ in range(batch):
        sample = SegDataSample(metainfo=dict(img_shape=(size, size), pad_shape=(size, size),
                                             ori_shape=(size, size)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, size, size)))
        samples.append(sample)
    return torch.randn(batch, 3, size, size), samples


def train_step(seg, opt, batch) -> dict:
    """One step: the segmentor's loss (decode + auxiliary heads), backward, AdamW step."""
    t0 = time.perf_counter()
    loss, _ = seg.parse_losses(seg.loss(*batch))
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    opt.step()
    opt.zero_grad(set_to_none=True)
    t3 = time.perf_counter()
    return dict(forward=t1 - t0, backward=t2 - t1, optimizer=t3 - t2, step=t3 - t0)


def throughput(names=MODELS, repeats=3, batch=2, size=512) -> list:
    """Training-step time and images/s of UperNets, interleaved in this process."""
    torch.manual_seed(0)
    segs = {n: segmentor(n, size).train() for n in names}
    opts = {n: torch.optim.AdamW(s.parameters(), lr=6e-5, weight_decay=.01)
            for n, s in segs.items()}
    batches = {n: fake_batch(batch, size, s.decode_head.num_classes) for n, s in segs.items()}
    times = {n: [] for n in names}
    for rep in range(repeats + 1):  # round 0 warms up
        for n in names:
            times[n].append(train_step(segs[n], opts[n], batches[n]))
            print(f'  {n} step {rep}: {times[n][-1]["step"]:.2f} s', flush=True)
    rows = []
    for n in names:
        med = {k: statistics.median(t[k] for t in times[n][1:]) for k in times[n][0]}
        rows.append(dict(model=n, batch=batch, size=size, n=repeats, **med,
                         images_per_s=batch / med['step'], vs=med['step'] / rows[0]['step']
                         if rows else 1.))
    return rows


def throughput_table(rows) -> str:
    return write_table(rows, [
        'model', ('forward', 'forward (loss) s', '{:.2f}'), ('backward', 'backward s', '{:.2f}'),
        ('optimizer', 'optimizer s', '{:.2f}'), ('step', 'step s', '{:.2f}'),
        ('images_per_s', 'images/s', '{:.3f}'),
        ('vs', f'step time vs {rows[0]["model"]}', '{:.2f}')])
