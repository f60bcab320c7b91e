"""Distributed runs of GPU recipes on CPU-only machines (mmengine 0.10.7 assumes CUDA)."""
import atexit
import datetime
import os
import subprocess

import torch
from mmengine.model import MMDistributedDataParallel

# How long a collective waits for a peer before the job ends: longer than a validation or a
# checkpoint save takes, far shorter than gloo's default of 30 minutes.
DIST_TIMEOUT_S = 600


def dist_timeout(cfg) -> float:
    """Seconds a collective waits for a peer: ``env_cfg.dist_cfg.timeout``, else
    :data:`DIST_TIMEOUT_S`."""
    return ((cfg.get('env_cfg') or {}).get('dist_cfg') or {}).get('timeout') or DIST_TIMEOUT_S


class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for CPU processes: mmengine always passes
    ``device_ids=[LOCAL_RANK]``, which torch's DDP rejects for a module on the CPU."""

    def __init__(self, module, device_ids=None, **kwargs):
        super().__init__(module=module, device_ids=None, **kwargs)


def _sync_bn_to_bn(node):
    if isinstance(node, dict):
        return {k: 'BN' if k == 'type' and v == 'SyncBN' else _sync_bn_to_bn(v)
                for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(_sync_bn_to_bn(v) for v in node)
    return node


def torch_env_from_slurm() -> None:
    """Set torch's ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``MASTER_ADDR``/``MASTER_PORT``
    from the task's Slurm variables (as mmengine's Slurm launch does before it starts NCCL), so
    an ``srun`` task can open the ``env://`` gloo group; values already set are kept."""
    node = subprocess.run(['scontrol', 'show', 'hostnames', os.environ['SLURM_NODELIST']],
                          capture_output=True, text=True, check=True).stdout.split()[0]
    for name, value in [('RANK', os.environ['SLURM_PROCID']),
                        ('WORLD_SIZE', os.environ['SLURM_NTASKS']),
                        ('LOCAL_RANK', os.environ['SLURM_LOCALID']), ('MASTER_ADDR', node),
                        ('MASTER_PORT', '29500')]:
        os.environ.setdefault(name, value)


def close_process_group() -> None:
    """After a finished run: every rank done with its collectives before any closes the group
    (a rank closing while a peer still talks to it aborts that peer under gloo)."""
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def _destroy_group() -> None:
    """Close the process group at exit, unless the tool has closed it already."""
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def adapt_to_cpu(cfg, launcher: str) -> None:
    """Make a GPU recipe run on CPU processes (no-op where CUDA is available).

    mmengine 0.10.7 initialises every ``pytorch`` launch with ``torch.cuda.set_device`` and wraps
    the model with ``device_ids``, and torch's SyncBN refuses CPU tensors once a process group
    exists.  So on a CPU-only machine: SyncBN becomes BN (identical in one process), a ``gloo``
    process group is created here (from the Slurm variables under ``srun``; the Runner then
    skips its own ``init_dist``) and destroyed at exit (left to interpreter shutdown, its
    threads could abort a finished run), and the model is wrapped by
    :class:`CPUDistributedDataParallel`.  The group's timeout is the config's
    ``env_cfg.dist_cfg.timeout`` (seconds, as mmengine passes it to NCCL on a GPU machine;
    :data:`DIST_TIMEOUT_S` if unset): a collective that waits longer for a stuck rank fails.
    """
    if torch.cuda.is_available():
        return
    cfg.model = _sync_bn_to_bn(cfg.model)
    if launcher != 'none':
        if launcher == 'slurm':
            torch_env_from_slurm()
        torch.distributed.init_process_group(
            backend='gloo', timeout=datetime.timedelta(seconds=dist_timeout(cfg)))
        atexit.register(_destroy_group)
        cfg.model_wrapper_cfg = dict(type='CPUDistributedDataParallel', broadcast_buffers=False)
