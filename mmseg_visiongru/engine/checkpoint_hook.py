"""A ``CheckpointHook`` whose kept checkpoints survive a kill at any instant.

mmengine 0.10.7's ``CheckpointHook`` removes the oldest kept checkpoint *before* it writes the
new one: with ``max_keep_ckpts=1``, a run killed during a save keeps no checkpoint at all.  Our
configs use :class:`SafeCheckpointHook` instead::

    default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook',
                                         backend_args=dict(backend='atomic_local')))
"""
import os
import os.path as osp
import re
from collections import deque

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper

# Hint shared with NonFiniteLossHook: what usually makes weights or losses non-finite.
NON_FINITE_HINT = ('Likely causes: a learning rate too high for this batch size '
                   '(optim_wrapper.optimizer.lr; --auto-scale-lr), float16 overflow under '
                   '--amp (train without it, or with bfloat16), or NaN/Inf in the input data')


def last_good_checkpoint(runner) -> str:
    """The newest checkpoint this run saved or resumed from, or a sentence saying none."""
    return runner.message_hub.get_info('last_ckpt') or 'none (no checkpoint saved yet)'


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments), made safe against kills and NaN.

    * Retention (``max_keep_ckpts``): the oldest checkpoint is removed only after the new one
      is complete, in place and named by ``last_checkpoint``.  A kill at any instant leaves at
      least the previous checkpoint, and ``last_checkpoint`` naming a complete file.
    * ``last_checkpoint`` is written to a temporary file and renamed into place.
    * Before training, temporary files of saves that were killed (``<name>.pth.tmp<pid>`` of
      :class:`AtomicLocalBackend`, ``last_checkpoint.tmp<pid>``; the pid no longer running) are
      removed from the checkpoint folder.
    * Weights holding NaN or Inf are never saved: a ``FloatingPointError`` names the tensors
      and the last good checkpoint.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if is_main_process() and osp.isdir(self.out_dir):
            for name in sorted(os.listdir(self.out_dir)):
                match = re.fullmatch(r'(.+\.pth|last_checkpoint)\.tmp(\d+)', name)
                if match and not _pid_running(int(match.group(2))):
                    os.remove(osp.join(self.out_dir, name))
                    runner.logger.info(f'Removed {name}, left by a save that was killed')

    def check_finite(self, runner, step: int) -> None:
        """Raise ``FloatingPointError`` if a weight of the model holds NaN or Inf (one
        device-to-host read, at save time only)."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state = {k: v for k, v in model.state_dict().items() if v.is_floating_point()}
        finite = torch.stack([torch.isfinite(v).all() for v in state.values()]).cpu()
        if finite.all():
            return
        bad = [k for k, ok in zip(state, finite.tolist()) if not ok]
        shown = ', '.join(bad[:3]) + (', ...' if len(bad) > 3 else '')
        raise FloatingPointError(
            f'Not saving the checkpoint of {"epoch" if self.by_epoch else "iteration"} {step}: '
            f'{len(bad)} of {len(state)} weight tensors hold NaN or Inf ({shown}). Training '
            f'stopped; the last good checkpoint: {last_good_checkpoint(runner)}. '
            f'{NON_FINITE_HINT}')

    def _save_checkpoint_with_step(self, runner, step, meta):
        self.check_finite(runner, step)
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            steps = [*self.keep_ckpt_ids, step]
            outdated = steps[:-self.max_keep_ckpts]
            self.keep_ckpt_ids = deque(steps[-self.max_keep_ckpts:], self.max_keep_ckpts)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, filename, self.file_client_args, save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
            backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return

        record = osp.join(runner.work_dir, 'last_checkpoint')
        tmp = f'{record}.tmp{os.getpid()}'
        with open(tmp, 'w') as f:
            f.write(self.last_ckpt)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, record)
        for old in outdated:  # only now: the new checkpoint is complete and recorded
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # checkpoints saved by DeepSpeed are folders
                self.file_backend.rmtree(path)
