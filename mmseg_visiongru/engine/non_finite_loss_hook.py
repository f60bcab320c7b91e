"""Stop training at the first NaN or Inf loss."""
import math

from mmengine.hooks import Hook

from .checkpoint_hook import NON_FINITE_HINT, last_good_checkpoint


class NonFiniteLossHook(Hook):
    """Raise ``FloatingPointError`` at the first iteration whose loss is NaN or Inf, naming the
    iteration, every logged loss term, the last good checkpoint and the likely causes.

    It reads the loss mmengine's ``RuntimeInfoHook`` has already copied to the host for the
    log (``train/loss`` in the message hub), so it adds no device synchronisation.  Its
    priority puts it after that hook and before the ``CheckpointHook`` of the same iteration:
    the weights updated by a non-finite loss are not saved.
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        loss = runner.message_hub.get_scalar('train/loss').current()
        if math.isfinite(loss):
            return
        terms = ', '.join(f'{key}={runner.message_hub.get_scalar(f"train/{key}").current():.4g}'
                          for key in (outputs or {}) if 'loss' in key)
        raise FloatingPointError(
            f'The loss is {loss} at iteration {runner.iter + 1} ({terms}). Training stopped; '
            f'the last good checkpoint: {last_good_checkpoint(runner)}. {NON_FINITE_HINT}')
